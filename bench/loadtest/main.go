// Command loadtest puts mlgraph under concurrent load on loopback and
// reports how it held up. It builds the server, starts it on a free
// 127.0.0.1 port with a new SQLite database, creates a dataset and a
// logistic regression model, then for -duration runs at once: clients
// predicting (half of them saving their predictions), clients training
// small models, clients uploading CSV files, and, with authentication, one
// client whose key is limited to 5 requests/s (its 429s are expected).
//
// It prints each operation's requests, errors, throughput and p50/p99/max
// latency, and whether SQLite lock contention ("database is locked",
// SQLITE_BUSY) showed in an answer or in the server's log. It exits 1 on
// any unexpected error or lock message.
//
//	go run ./bench/loadtest -duration 30s -predictors 16 -trainers 2 -uploaders 2 -rows 1
//	go run ./bench/loadtest -auth=false -duration 10s -json
//	go run ./bench/loadtest -url http://127.0.0.1:8080/query -key KEY
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"mlgraph/internal/childserver"
)

type options struct {
	duration                        time.Duration
	predictors, trainers, uploaders int
	rowsPerPredict, uploadRows      int
	auth, abuser, jsonOut           bool
	url, key                        string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "how long the clients run")
	flag.IntVar(&o.predictors, "predictors", 16, "clients looping predict; half of them save the predictions")
	flag.IntVar(&o.trainers, "trainers", 2, "clients looping trainModel(wait: true) with small models")
	flag.IntVar(&o.uploaders, "uploaders", 2, "clients looping uploadDataset (multipart), deleting every second dataset")
	flag.IntVar(&o.rowsPerPredict, "rows", 1, "rows per predict request")
	flag.IntVar(&o.uploadRows, "upload-rows", 3000, "rows of each uploaded CSV file")
	flag.BoolVar(&o.auth, "auth", true, "start the server with -auth=required and API keys; false: -auth=off, no keys, no abuser")
	flag.BoolVar(&o.abuser, "abuser", true, "with -auth, also run one client over its key's limit of 5 requests/s")
	flag.StringVar(&o.url, "url", "", "GraphQL endpoint of a server already running on loopback, instead of starting one")
	flag.StringVar(&o.key, "key", "", "API key to send with -url")
	flag.BoolVar(&o.jsonOut, "json", false, "print the summary as JSON")
	flag.Parse()
	if flag.NArg() > 0 || o.duration <= 0 || o.predictors < 0 || o.trainers < 0 || o.uploaders < 0 || o.rowsPerPredict < 1 || o.uploadRows < 1 {
		fmt.Fprintln(os.Stderr, "loadtest: want a positive -duration, -rows and -upload-rows, client counts of 0 or more, and no arguments")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The hard deadline bounds building, setup, the run and its drain, so
	// that a hung server or request never keeps the program running.
	ctx, cancel := context.WithTimeoutCause(ctx, o.duration+10*time.Minute, errors.New("hard deadline passed"))
	defer cancel()

	clients := o.predictors + o.trainers + o.uploaders + 2
	gql := &gqlClient{url: o.url, key: o.key, http: &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        clients,
		MaxIdleConnsPerHost: clients,
		IdleConnTimeout:     30 * time.Second,
	}}} // no Proxy: loopback only
	var srv *server
	if o.url != "" {
		if err := checkLoopback(o.url); err != nil {
			return fail(err)
		}
	} else {
		dir, err := os.MkdirTemp("", "mlgraph-load-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		if srv, gql.abuseKey, err = launch(ctx, o, dir); err != nil {
			return fail(err)
		}
		defer srv.Stop()
		gql.url, gql.key = srv.url, srv.key
	}
	if err := waitHealthy(ctx, gql, srv, time.Minute); err != nil {
		return fail(fmt.Errorf("%w%s", err, srv.logTail(20)))
	}
	f, err := setup(ctx, gql)
	if err != nil {
		return fail(fmt.Errorf("setup: %w%s", err, srv.logTail(20)))
	}
	stats, elapsed := runLoad(ctx, o, gql, f)

	s := summarize(o, stats, elapsed, gql.abuseKey != "")
	if ctx.Err() != nil { // requests cut short were not counted
		s.Interrupted = context.Cause(ctx).Error()
	}
	if srv != nil {
		s.ServerStop, s.LogScanned = srv.Stop(), true
		if s.LockedInLog, s.LockedLogLines, err = scanLog(srv.LogPath); err != nil {
			return fail(fmt.Errorf("reading the server log: %w", err))
		}
	}
	s.Passed = s.Errors == 0 && s.LockedInLog == 0 && s.LockedInAnswers == 0 && s.Interrupted == ""
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s)
	} else {
		printTable(s)
	}
	if !s.Passed {
		return 1
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	return 1
}

// checkLoopback refuses any -url whose host is not this machine.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
			return nil
		}
	}
	return fmt.Errorf("-url %q: want http://127.0.0.1:PORT/query; only loopback hosts (127.0.0.1, ::1, localhost) are allowed", raw)
}

// waitHealthy polls GET /healthz next to the GraphQL endpoint until it
// answers 200, the server exits, or limit passes.
func waitHealthy(ctx context.Context, gql *gqlClient, srv *server, limit time.Duration) error {
	u, _ := url.Parse(gql.url)
	var exited <-chan struct{} // nil, never ready, for a server not started here
	if srv != nil {
		exited = srv.Exited()
	}
	return childserver.WaitHealthy(ctx, gql.http, u.Scheme+"://"+u.Host+"/healthz", exited, limit)
}

type summary struct {
	Target          string     `json:"target"`
	Seconds         float64    `json:"seconds"`
	Clients         string     `json:"clients"`
	Operations      []*opStats `json:"operations"`
	Errors          int        `json:"errors"`
	RateLimited     int        `json:"rateLimitedDeliberate"`
	LockedInAnswers int        `json:"lockedInAnswers"`
	LogScanned      bool       `json:"logScanned"`
	LockedInLog     int        `json:"lockedInLog"`
	LockedLogLines  []string   `json:"lockedLogLines,omitempty"`
	ServerStop      string     `json:"serverStop,omitempty"`
	Interrupted     string     `json:"interrupted,omitempty"`
	Passed          bool       `json:"passed"`
}

func summarize(o options, stats []*opStats, elapsed time.Duration, abuser bool) summary {
	abusers := 0
	if abuser {
		abusers = 1
	}
	s := summary{Target: o.url, Seconds: elapsed.Seconds(), Clients: fmt.Sprintf(
		"%d predictors (%d rows/request), %d trainers, %d uploaders, %d abuser",
		o.predictors, o.rowsPerPredict, o.trainers, o.uploaders, abusers)}
	if s.Target == "" {
		s.Target = "a server started here on SQLite"
	}
	for _, st := range stats {
		if st.Operation == "abuser" && !abuser {
			continue
		}
		st.finish(elapsed)
		s.Operations = append(s.Operations, st)
		s.Errors += st.Errors
		s.RateLimited += st.RateLimited
		s.LockedInAnswers += st.lockedAnswers
	}
	return s
}

func printTable(s summary) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "operation\trequests\terrors\treq/s\tp50 ms\tp99 ms\tmax ms\t")
	for _, op := range s.Operations {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", op.Operation, op.Requests, op.Errors, op.PerSecond, op.P50ms, op.P99ms, op.MaxMs)
	}
	w.Flush()
	for _, op := range s.Operations {
		for _, msg := range op.Samples {
			fmt.Printf("  %s error: %s\n", op.Operation, msg)
		}
	}
	fmt.Println("rate limited (deliberate):", s.RateLimited)
	switch {
	case !s.LogScanned:
		fmt.Printf("database is locked: %d in answers; server log not scanned (-url: the server was not started here)\n", s.LockedInAnswers)
	case s.LockedInLog+s.LockedInAnswers == 0:
		fmt.Println("database is locked: none")
	default:
		fmt.Printf("database is locked: %d in the server log, %d in answers\n", s.LockedInLog, s.LockedInAnswers)
		for _, line := range s.LockedLogLines {
			fmt.Println("  " + line)
		}
	}
	fmt.Printf("clients: %s; %.1f s against %s\n", s.Clients, s.Seconds, s.Target)
	if s.ServerStop != "" {
		fmt.Println("server:", s.ServerStop)
	}
	if s.Interrupted != "" {
		fmt.Println("interrupted:", s.Interrupted)
	}
	if s.Passed {
		fmt.Println("PASS")
	} else {
		fmt.Println("FAIL")
	}
}
