// Command models-memory checks that a server holding many trained small
// models stays within a memory budget. It builds the server, starts it on
// a free 127.0.0.1 port with a new SQLite database and -auth=off, creates
// an iris-like dataset (150 rows, 4 features, generated here), trains
// -models small models over GraphQL (logistic regression, trees, forests
// of 10 trees, boosting of 20, k-NN, naive Bayes, linear SVM, linear
// models, k-means), then predicts once with each so that all are in the
// model cache, and reads the server's resident memory (VmRSS, and its
// peak VmHWM, from /proc/PID/status) and the cache's size from /metrics.
// It then restarts the server on the same database and predicts with
// every model again, so that the second figures are those of a server
// that loaded its models from the database, without training's garbage.
//
// It prints the figures of both phases and PASS when every RSS and peak
// RSS is under -limit, else FAIL (exit 1). Linux only (/proc).
//
//	go run ./bench/models-memory
//	go run ./bench/models-memory -models 1000 -limit 200MB -model-cache 256MiB
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mlgraph/internal/bytesize"
	"mlgraph/internal/childserver"
	"mlgraph/internal/gqlclient"
)

type options struct {
	models, clients, workers int
	limit                    int64
	modelCache               string
	timeout                  time.Duration
	keep                     bool
}

func main() {
	var o options
	var limit string
	flag.IntVar(&o.models, "models", 1000, "models to train and hold")
	flag.IntVar(&o.clients, "clients", 2, "concurrent GraphQL clients training and predicting")
	flag.IntVar(&o.workers, "workers", 2, "the server's -workers")
	flag.StringVar(&limit, "limit", "200MB", "largest RSS (and peak RSS) that passes")
	flag.StringVar(&o.modelCache, "model-cache", "", "the server's -model-cache (empty: its default)")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "hard limit on the whole run")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binary, database, logs)")
	flag.Parse()
	var err error
	if o.limit, err = bytesize.Parse(limit); err != nil || o.limit <= 0 || flag.NArg() > 0 || o.models < 1 || o.clients < 1 || o.workers < 1 || o.timeout <= 0 {
		fmt.Fprintln(os.Stderr, "models-memory: want -models, -clients and -workers of at least 1, a -limit such as 200MB, a positive -timeout and no arguments")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, errors.New("-timeout passed"))
	defer cancel()

	dir, err := os.MkdirTemp("", "mlgraph-models-memory-")
	if err != nil {
		return fail(err)
	}
	if o.keep {
		fmt.Println("temporary directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	bin, err := childserver.Build(ctx, dir)
	if err != nil {
		return fail(err)
	}
	c := &client{http: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: o.clients,
	}}} // no Proxy: loopback only

	// launch starts a server on dir's database and points c at it.
	launch := func(name string) (*childserver.Server, error) {
		srv, err := start(o, bin, dir, name)
		if err != nil {
			return nil, err
		}
		if err := srv.WaitHealthy(ctx, c.http, time.Minute); err != nil {
			srv.Stop()
			return nil, fmt.Errorf("%w%s", err, srv.LogTail(20))
		}
		c.base = srv.URL
		return srv, nil
	}

	// Phase 1: train every model, then predict with each.
	srv, err := launch("train")
	if err != nil {
		return fail(err)
	}
	defer srv.Stop()
	began := time.Now()
	datasetID, err := c.createDataset(ctx)
	if err != nil {
		return fail(fmt.Errorf("create the dataset: %w%s", err, srv.LogTail(20)))
	}
	ids, err := c.trainAll(ctx, o, datasetID)
	if err != nil {
		return fail(fmt.Errorf("training: %w%s", err, srv.LogTail(20)))
	}
	trainTime := time.Since(began)
	fmt.Printf("trained %d models in %.1f s (%d clients, -workers %d)\n", len(ids), trainTime.Seconds(), o.clients, o.workers)
	var phases []phase
	p, err := measure(ctx, c, srv, o, ids, "after training and one predict per model")
	if err != nil {
		return fail(fmt.Errorf("%w%s", err, srv.LogTail(20)))
	}
	phases = append(phases, p)
	fmt.Println("server:", srv.Stop())

	// Phase 2: a new process on the same database loads every model.
	srv, err = launch("restart")
	if err != nil {
		return fail(err)
	}
	defer srv.Stop()
	p, err = measure(ctx, c, srv, o, ids, "after a restart and one predict per model (all loaded from the database)")
	if err != nil {
		return fail(fmt.Errorf("%w%s", err, srv.LogTail(20)))
	}
	phases = append(phases, p)
	fmt.Println("server:", srv.Stop())

	passed := true
	for _, p := range phases {
		passed = passed && p.rss < o.limit && p.peak < o.limit
	}
	fmt.Printf("limit: %s (RSS and peak RSS of both phases)\n", mb(o.limit))
	if passed {
		fmt.Println("PASS")
		return 0
	}
	fmt.Println("FAIL")
	return 1
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "models-memory:", err)
	return 1
}

// phase is what one measurement found.
type phase struct {
	rss, peak int64
}

// measure predicts once with every model, then prints the server's memory
// and the model cache's figures.
func measure(ctx context.Context, c *client, srv *childserver.Server, o options, ids []string, what string) (phase, error) {
	began := time.Now()
	if err := c.predictAll(ctx, o, ids); err != nil {
		return phase{}, fmt.Errorf("predicting: %w", err)
	}
	predictTime := time.Since(began)
	metrics, err := c.metrics(ctx)
	if err != nil {
		return phase{}, err
	}
	rss, peak, err := childserver.Memory(srv.PID())
	if err != nil {
		return phase{}, err
	}
	cached, cacheBytes := metrics["mlgraph_model_cache_models"], metrics["mlgraph_model_cache_bytes"]
	fmt.Printf("\n%s:\n", what)
	fmt.Printf("  models:            %d (predicted with each in %.1f s)\n", len(ids), predictTime.Seconds())
	fmt.Printf("  cached models:     %.0f\n", cached)
	fmt.Printf("  cache bytes:       %s (%.1f KiB per model)\n", mb(int64(cacheBytes)), cacheBytes/math.Max(cached, 1)/1024)
	fmt.Printf("  Go heap in use:    %s (go_memstats_heap_inuse_bytes)\n", mb(int64(metrics["go_memstats_heap_inuse_bytes"])))
	fmt.Printf("  Go runtime total:  %s (go_memstats_sys_bytes)\n", mb(int64(metrics["go_memstats_sys_bytes"])))
	fmt.Printf("  RSS (VmRSS):       %s\n", mb(rss))
	fmt.Printf("  peak RSS (VmHWM):  %s\n", mb(peak))
	verdict := "PASS"
	if rss >= o.limit || peak >= o.limit {
		verdict = "FAIL"
	}
	fmt.Printf("  %s against %s\n", verdict, mb(o.limit))
	return phase{rss: rss, peak: peak}, nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// start runs the server on a free loopback port, on dir's database.
func start(o options, bin, dir, name string) (*childserver.Server, error) {
	return childserver.Start(filepath.Join(dir, "server-"+name+".log"), func(addr string) *exec.Cmd {
		args := []string{"-addr", addr, "-db", filepath.Join(dir, "models.db"), "-auth=off", "-log-format", "json",
			"-workers", strconv.Itoa(o.workers)}
		if o.modelCache != "" {
			args = append(args, "-model-cache", o.modelCache)
		}
		return exec.Command(bin, args...)
	})
}

type client struct {
	http *http.Client
	base string
}

// query sends a GraphQL request; any error in the answer is an error.
func (c *client) query(ctx context.Context, query string, vars map[string]any, into any) error {
	return (&gqlclient.Client{HTTP: c.http, URL: c.base + "/query"}).Do(ctx, query, vars, into)
}

// irisCSV generates an iris-like dataset: three species of 50 flowers,
// four measurements each.
func irisCSV() string {
	r := rand.New(rand.NewPCG(1, 2))
	species := []struct {
		name        string
		mean, sigma [4]float64
	}{
		{"setosa", [4]float64{5.0, 3.4, 1.5, 0.25}, [4]float64{0.35, 0.38, 0.17, 0.1}},
		{"versicolor", [4]float64{5.9, 2.8, 4.3, 1.3}, [4]float64{0.5, 0.3, 0.47, 0.2}},
		{"virginica", [4]float64{6.6, 3.0, 5.55, 2.0}, [4]float64{0.63, 0.32, 0.55, 0.27}},
	}
	var b strings.Builder
	b.WriteString("sepal_length,sepal_width,petal_length,petal_width,species\n")
	for _, s := range species {
		for range 50 {
			for j := range 4 {
				fmt.Fprintf(&b, "%.1f,", math.Max(0.1, s.mean[j]+s.sigma[j]*r.NormFloat64()))
			}
			b.WriteString(s.name + "\n")
		}
	}
	return b.String()
}

func (c *client) createDataset(ctx context.Context) (string, error) {
	var out struct{ CreateDataset struct{ ID string } }
	err := c.query(ctx, `mutation($csv: String!) { createDataset(input: {name: "iris-like", csv: $csv}) { id } }`,
		map[string]any{"csv": irisCSV()}, &out)
	return out.CreateDataset.ID, err
}

var (
	measurements = []string{"sepal_length", "sepal_width", "petal_length", "petal_width"}
	classify     = map[string]any{"target": "species", "features": measurements}
	regress      = map[string]any{"target": "petal_width", "features": measurements[:3]}
	cluster      = map[string]any{"features": measurements}
)

// spec is one kind of model trained in turn.
type spec struct {
	algorithm string
	input     map[string]any // target and features
	params    map[string]any
}

var specs = []spec{
	{"LOGISTIC_REGRESSION", classify, nil},
	{"DECISION_TREE", classify, nil},
	{"KNN", classify, map[string]any{"k": 5}},
	{"NAIVE_BAYES", classify, nil},
	{"RANDOM_FOREST", classify, map[string]any{"nEstimators": 10}},
	{"GRADIENT_BOOSTING", classify, map[string]any{"nEstimators": 20}},
	{"LINEAR_SVM", classify, nil},
	{"LINEAR_REGRESSION", regress, nil},
	{"RIDGE", regress, nil},
	{"DECISION_TREE", regress, nil},
	{"KNN", regress, nil},
	{"RANDOM_FOREST", regress, map[string]any{"nEstimators": 10}},
	{"GRADIENT_BOOSTING", regress, map[string]any{"nEstimators": 20}},
	{"KMEANS", cluster, map[string]any{"k": 3}},
}

// parallel runs f(i) for i in [0, n) on clients goroutines, stopping at
// the first error.
func parallel(ctx context.Context, clients, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// trainAll trains o.models models, cycling through specs with a new split
// seed each, and returns their ids.
func (c *client) trainAll(ctx context.Context, o options, datasetID string) ([]string, error) {
	ids := make([]string, o.models)
	progress := newProgress("trained", o.models)
	err := parallel(ctx, o.clients, o.models, func(ctx context.Context, i int) error {
		s := specs[i%len(specs)]
		input := map[string]any{"datasetId": datasetID, "algorithm": s.algorithm,
			"split": map[string]any{"method": "RANDOM", "testFraction": 0.2, "seed": i}}
		for k, v := range s.input {
			input[k] = v
		}
		if s.params != nil {
			input["params"] = s.params
		}
		var out struct {
			TrainModel struct{ ID, Status, Error string }
		}
		if err := c.query(ctx, `mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id status error } }`,
			map[string]any{"input": input}, &out); err != nil {
			return fmt.Errorf("model %d (%s): %w", i, s.algorithm, err)
		}
		if m := out.TrainModel; m.Status != "READY" {
			return fmt.Errorf("model %s (%s) is %s: %s", m.ID, s.algorithm, m.Status, m.Error)
		}
		ids[i] = out.TrainModel.ID
		progress.add()
		return nil
	})
	return ids, err
}

// predictAll predicts one row with every model (not saved).
func (c *client) predictAll(ctx context.Context, o options, ids []string) error {
	return parallel(ctx, o.clients, len(ids), func(ctx context.Context, i int) error {
		row := []float64{5.8, 2.9, 4.4, 1.4}
		if specs[i%len(specs)].input["target"] == "petal_width" {
			row = row[:3]
		}
		var out struct {
			Predict struct{ Outputs []json.RawMessage }
		}
		err := c.query(ctx, `mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows, save: false}) { outputs { label value } } }`,
			map[string]any{"id": ids[i], "rows": [][]float64{row}}, &out)
		if err == nil && len(out.Predict.Outputs) != 1 {
			err = fmt.Errorf("%d outputs for one row", len(out.Predict.Outputs))
		}
		if err != nil {
			return fmt.Errorf("model %s: %w", ids[i], err)
		}
		return nil
	})
}

// metrics reads the server's Prometheus metrics without labels.
func (c *client) metrics(ctx context.Context) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// progress prints a line every tenth of the work.
type progress struct {
	what      string
	total     int
	done      atomic.Int64
	startedAt time.Time
}

func newProgress(what string, total int) *progress {
	return &progress{what: what, total: total, startedAt: time.Now()}
}

func (p *progress) add() {
	n := int(p.done.Add(1))
	if step := max(p.total/10, 1); n%step == 0 || n == p.total {
		fmt.Printf("  %s %d/%d (%.0f s)\n", p.what, n, p.total, time.Since(p.startedAt).Seconds())
	}
}
