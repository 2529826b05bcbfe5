package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"mlgraph/internal/childserver"
	"mlgraph/internal/csvdata"
	"mlgraph/ml"
	"mlgraph/service"
	"mlgraph/store"
)

// importResult is mlgraph's import of a CSV file: parsed, summarised,
// encoded and stored in SQLite, ready to train.
type importResult struct {
	Rows      int     `json:"rows"`
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mb"` // above the process's RSS before the import
	Float64MB float64 `json:"float64_mb"`
	StoredMB  float64 `json:"stored_mb"`
}

// importChild runs in a child process of its own (see measureImport), so
// that the peak memory is the import's alone.
func importChild(csvPath, dbDir string) error {
	st, err := store.Open(filepath.Join(dbDir, "import.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, service.Options{Logger: slog.New(slog.DiscardHandler), MaxUploadBytes: 8 << 30})
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	base, _, err := childserver.Memory(os.Getpid())
	if err != nil {
		return err
	}
	start := time.Now()
	d, err := svc.UploadDataset(context.Background(), "import", f, info.Size(), service.CSVOptions{})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	_, peak, err := childserver.Memory(os.Getpid())
	if err != nil {
		return err
	}
	stored := 0.0
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(dbDir, "import.db"+suffix)); err == nil {
			stored += float64(fi.Size()) / 1e6
		}
	}
	return json.NewEncoder(os.Stdout).Encode(importResult{
		Rows: d.RowCount, Seconds: elapsed.Seconds(), PeakRSSMB: float64(peak-base) / 1e6,
		Float64MB: float64(d.RowCount*len(d.Columns)*8) / 1e6, StoredMB: stored,
	})
}

// measureImport imports path in a child process (this program again).
func measureImport(path string) (importResult, error) {
	var r importResult
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	dir, err := os.MkdirTemp("", "mlgraph-compare-import-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(self, "-import-child", path, "-import-db", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return r, fmt.Errorf("import child: %w", err)
	}
	return r, json.Unmarshal(out, &r)
}

// fitSpec is one entry of specs.json.
type fitSpec struct {
	Name      string         `json:"name"`
	File      string         `json:"file"`
	Rows      int            `json:"rows"`
	Task      string         `json:"task"`
	Algorithm string         `json:"algorithm"`
	Params    map[string]any `json:"params"`
	Sklearn   string         `json:"sklearn"`
}

func loadSpecs(path string) ([]fitSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Fits []fitSpec `json:"fits"`
	}
	return file.Fits, json.Unmarshal(raw, &file)
}

// fitResult is the median time of ml.Train over runs: preprocessing
// (imputation, encoding, scaling where the algorithm needs it) and the fit,
// from columns in memory, as scikit-learn's fit takes arrays.
type fitResult struct {
	FitS float64   `json:"fit_s"`
	Runs []float64 `json:"runs"`
	Rows int       `json:"rows"`
	Err  string    `json:"error,omitempty"`
}

// columnsCache keeps each parsed file for the specs that share it.
type columnsCache map[string][]*ml.Column

func (c columnsCache) load(dir, name string) ([]*ml.Column, error) {
	if cols, ok := c[name]; ok {
		return cols, nil
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	cols, _, err := csvdata.ParseReader(io.NewSectionReader(f, 0, info.Size()), info.Size(), csvdata.Detect)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c[name] = cols
	return cols, nil
}

func runFit(ctx context.Context, dir string, cache columnsCache, s fitSpec, runs int) fitResult {
	cols, err := cache.load(dir, s.File)
	if err != nil {
		return fitResult{Err: err.Error()}
	}
	features, target := cols[:len(cols)-1], cols[len(cols)-1]
	n := target.Len()
	if s.Rows > 0 && s.Rows < n {
		rows := make([]int, s.Rows)
		for i := range rows {
			rows[i] = i
		}
		taken := make([]*ml.Column, len(features))
		for j, c := range features {
			taken[j] = c.Take(rows)
		}
		features, target, n = taken, target.Take(rows), s.Rows
	}
	if s.Task == "CLUSTERING" {
		target = nil
	}
	r := fitResult{Rows: n}
	for range runs {
		// The garbage of the last fit (an 800k-row design matrix, say) is
		// collected now, not during this one, as testing.B does.
		runtime.GC()
		start := time.Now()
		_, err := ml.Train(ctx, ml.TrainConfig{Algorithm: s.Algorithm, Task: ml.Task(s.Task), Params: s.Params}, features, target)
		if err != nil {
			return fitResult{Rows: n, Err: err.Error()}
		}
		r.Runs = append(r.Runs, time.Since(start).Seconds())
		if time.Since(start) > 30*time.Second {
			break // one run of a slow fit is enough
		}
	}
	sorted := slices.Clone(r.Runs)
	slices.Sort(sorted)
	r.FitS = sorted[len(sorted)/2]
	return r
}
