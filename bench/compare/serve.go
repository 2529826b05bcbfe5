package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mlgraph/internal/childserver"
	"mlgraph/internal/gqlclient"
)

// server is a prediction server started as a child process on loopback.
type server struct {
	name string
	*childserver.Server
}

// start runs the command that command(addr) makes, its output in dir, and
// waits for GET /healthz to answer 200.
func start(name, dir string, command func(addr string) *exec.Cmd) (*server, error) {
	logName := strings.NewReplacer("/", "-").Replace(name) + ".log"
	child, err := childserver.Start(filepath.Join(dir, logName), command)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := child.WaitHealthy(context.Background(), http.DefaultClient, 90*time.Second); err != nil {
		child.Stop()
		return nil, fmt.Errorf("%s: %w%s", name, err, child.LogTail(20))
	}
	return &server{name: name, Server: child}, nil
}

// graphql posts a GraphQL request and decodes its data into dst.
func graphql(url, query string, vars map[string]any, dst any) error {
	return gqlclient.New(url+"/query").Do(context.Background(), query, vars, dst)
}

// startMlgraph builds and starts the server, then creates the iris model
// that the load predicts with; it returns the model's id.
func startMlgraph(dir, iris string) (*server, string, error) {
	bin, err := childserver.Build(context.Background(), dir)
	if err != nil {
		return nil, "", err
	}
	db := filepath.Join(dir, "predict.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(db + suffix)
	}
	// No API keys, as the Flask server has none; -log-level warn: no
	// access log line per request, as gunicorn writes none by default.
	s, err := start("mlgraph", dir, func(addr string) *exec.Cmd {
		return exec.Command(bin, "-addr", addr, "-db", db, "-auth=off", "-log-level", "warn")
	})
	if err != nil {
		return nil, "", err
	}
	text, err := os.ReadFile(iris)
	if err != nil {
		s.Stop()
		return nil, "", err
	}
	var ds struct{ CreateDataset struct{ ID string } }
	if err := graphql(s.URL, `mutation($csv: String!) { createDataset(input: {name: "iris", csv: $csv}) { id } }`, map[string]any{"csv": string(text)}, &ds); err != nil {
		s.Stop()
		return nil, "", err
	}
	var m struct{ TrainModel struct{ ID, Status string } }
	err = graphql(s.URL, `mutation($id: ID!) { trainModel(input: {datasetId: $id, target: "target", algorithm: LOGISTIC_REGRESSION, split: {method: NONE}}, wait: true) { id status } }`,
		map[string]any{"id": ds.CreateDataset.ID}, &m)
	if err != nil || m.TrainModel.Status != "READY" {
		s.Stop()
		return nil, "", fmt.Errorf("train the iris model: %v %+v", err, m)
	}
	return s, m.TrainModel.ID, nil
}

// startBare builds and starts the bare net/http handler.
func startBare(dir, iris string) (*server, error) {
	bin := filepath.Join(dir, "barehttp")
	if out, err := exec.Command("go", "build", "-o", bin, "./bench/compare/barehttp").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build barehttp: %v\n%s", err, out)
	}
	return start("net/http", dir, func(addr string) *exec.Cmd {
		return exec.Command(bin, "-addr", addr, "-iris", iris)
	})
}

// startFlask starts the reference Flask app under gunicorn with 2
// workers, if gunicorn and Flask are installed.
func startFlask(dir, iris string) (*server, error) {
	if _, err := exec.LookPath("gunicorn"); err != nil {
		return nil, errors.New("gunicorn not installed (apt-get install python3-flask gunicorn)")
	}
	return start("flask", dir, func(addr string) *exec.Cmd {
		cmd := exec.Command("gunicorn", "-w", "2", "-b", addr, "--chdir", "bench/compare", "flask_app:app")
		cmd.Env = append(os.Environ(), "IRIS_CSV="+iris)
		return cmd
	})
}

// loadResult is what a fixed-time load against one endpoint measured.
type loadResult struct {
	Server      string  `json:"server"`
	Scenario    string  `json:"scenario"`
	RowsPerReq  int     `json:"rows_per_request"`
	Connections int     `json:"connections"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	ReqPerSec   float64 `json:"requests_per_second"`
	RowsPerSec  float64 `json:"rows_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	FirstError  string  `json:"first_error,omitempty"`
}

// load posts body to url from conns connections for d (after a short
// warm-up) and measures throughput and latency. An answer is an error
// unless it is 200 without a GraphQL "errors" member.
func load(ctx context.Context, server, scenario, url string, body []byte, rows, conns int, d time.Duration) loadResult {
	transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	r := loadResult{Server: server, Scenario: scenario, RowsPerReq: rows, Connections: conns}
	var mu sync.Mutex
	var latencies []time.Duration
	run := func(until time.Time, record bool) {
		var wg sync.WaitGroup
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				errs, first := 0, ""
				for time.Now().Before(until) && ctx.Err() == nil {
					t0 := time.Now()
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					var answer []byte
					if err == nil {
						answer, err = io.ReadAll(resp.Body)
						resp.Body.Close()
						if err == nil && (resp.StatusCode != http.StatusOK || bytes.Contains(answer, []byte(`"errors"`))) {
							err = fmt.Errorf("status %d: %.200s", resp.StatusCode, answer)
						}
					}
					mine = append(mine, time.Since(t0))
					if err != nil {
						errs++
						if first == "" {
							first = err.Error()
						}
					}
				}
				if !record {
					return
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				r.Errors += errs
				if r.FirstError == "" {
					r.FirstError = first
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	run(time.Now().Add(time.Second), false) // warm-up: connections, caches
	t0 := time.Now()
	run(t0.Add(d), true)
	r.Seconds = time.Since(t0).Seconds()
	r.Requests = len(latencies)
	r.ReqPerSec = float64(r.Requests) / r.Seconds
	r.RowsPerSec = r.ReqPerSec * float64(rows)
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		r.P50ms = float64(latencies[n/2].Microseconds()) / 1000
		r.P99ms = float64(latencies[min(n-1, n*99/100)].Microseconds()) / 1000
	}
	return r
}

// irisRows returns n feature rows cycled from the iris file.
func irisRows(path string, n int) ([][]float64, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")[1:]
	var all [][]float64
	for _, line := range lines {
		cells := strings.Split(line, ",")
		row := make([]float64, 4)
		for j := range row {
			if row[j], err = strconv.ParseFloat(cells[j], 64); err != nil {
				return nil, err
			}
		}
		all = append(all, row)
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = all[(i*37)%len(all)]
	}
	return out, nil
}

// packed is rows as base64 of little-endian float64s, row after row.
func packed(rows [][]float64) string {
	var raw []byte
	for _, row := range rows {
		for _, v := range row {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func csvText(rows [][]float64) string {
	var b strings.Builder
	for _, row := range rows {
		for j, v := range row {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
