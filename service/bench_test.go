package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mlgraph/store"
)

// benchRows is the size of the import and training benchmarks: the
// 1,000,000 × 20 numeric dataset of the performance targets.
const benchRows, benchCols = 1_000_000, 20

// syntheticCSV makes a numeric CSV of rows × cols features plus a target
// that is a noisy linear function of them.
func syntheticCSV(rows, cols int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.Grow(rows * (cols + 1) * 20)
	for j := 0; j < cols; j++ {
		fmt.Fprintf(&b, "x%d,", j)
	}
	b.WriteString("target\n")
	buf := make([]byte, 0, 32)
	for i := 0; i < rows; i++ {
		y := 0.0
		for j := 0; j < cols; j++ {
			v := rng.NormFloat64()
			y += float64(j+1) * v
			buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
			b.Write(buf)
			b.WriteByte(',')
		}
		buf = strconv.AppendFloat(buf[:0], y+rng.NormFloat64(), 'g', -1, 64)
		b.Write(buf)
		b.WriteByte('\n')
	}
	return b.String()
}

func benchService(b *testing.B) (*Service, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	st, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st, Options{})
	if err := svc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		svc.Close(context.Background())
		st.Close()
	})
	return svc, path
}

func fileSize(b *testing.B, paths ...string) int64 {
	var total int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return total
}

// BenchmarkImportDataset measures createDataset's work for a 1M × 20
// numeric CSV: parse (in parallel), infer types, summarise, encode columns,
// store in one transaction. It reports the database size per dataset.
//
//	go test ./service -run '^$' -bench ImportDataset -benchtime 3x -benchmem
func BenchmarkImportDataset(b *testing.B) {
	text := syntheticCSV(benchRows, benchCols)
	svc, path := benchService(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.CreateDataset(context.Background(), "bench", text, CSVOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	svc.store.Close()
	b.ReportMetric(float64(fileSize(b, path, path+"-wal"))/float64(b.N)/1e6, "MB-on-disk/dataset")
	b.ReportMetric(float64(benchRows*(benchCols+1)*8)/1e6, "MB-float64")
}

// BenchmarkUploadDataset is BenchmarkImportDataset for uploadDataset: the
// same CSV streamed from a file (as an upload is) rather than held as
// text.
//
//	go test ./service -run '^$' -bench UploadDataset -benchtime 3x -benchmem
func BenchmarkUploadDataset(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(path, []byte(syntheticCSV(benchRows, benchCols)), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	size := fileSize(b, path)
	svc, _ := benchService(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.UploadDataset(context.Background(), "bench", f, size, CSVOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainOLS measures trainModel with LINEAR_REGRESSION on the 1M × 20
// dataset: load the columns from SQLite, split 80/20, fit, evaluate on both
// sides and save.
//
//	go test ./service -run '^$' -bench TrainOLS -benchtime 3x -benchmem
func BenchmarkTrainOLS(b *testing.B) {
	svc, _ := benchService(b)
	d, err := svc.CreateDataset(context.Background(), "bench", syntheticCSV(benchRows, benchCols), CSVOptions{})
	if err != nil {
		b.Fatal(err)
	}
	req := TrainRequest{DatasetID: FormatID(d.ID), Target: "target", Algorithm: "LINEAR_REGRESSION"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := svc.Train(context.Background(), req, true)
		if err != nil || m.Status != StatusReady {
			b.Fatalf("train: %v (%+v)", err, m)
		}
		b.ReportMetric(float64(*m.TrainingTimeMs), "fit-ms")
	}
}
