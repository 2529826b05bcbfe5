// Command mlgraph serves mlgraph's GraphQL API: datasets, training and
// predictions, stored in SQLite.
//
//	go run .                     # http://localhost:8080/ (playground), /query, /healthz, /metrics
//	go run . -addr :9090 -db /var/lib/mlgraph.db -log-format json
package main

//go:generate go tool gqlgen generate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mlgraph/graph"
	"mlgraph/internal/bytesize"
	"mlgraph/internal/httpx"
	"mlgraph/internal/playground"
	"mlgraph/internal/telemetry"
	"mlgraph/service"
	"mlgraph/store"
)

// config is the server's configuration: flags, each defaulting to an
// environment variable.
type config struct {
	addr         string
	db           string
	logFormat    string        // telemetry.LogText or telemetry.LogJSON
	logLevel     slog.Level    // records below it are dropped
	corsOrigins  []string      // allowed CORS origins; none: no CORS headers
	workers      int           // trainings at once
	trainTimeout time.Duration // time limit of one training job; 0: none
	maxUpload    int64         // largest dataset upload, in bytes
	modelCache   int64         // memory budget of the model cache, in bytes
	limits       graph.Limits
	authMode     string
	rateLimit    float64 // requests per second per API key (or client without one); 0: none
}

// parseConfig reads the flags in args over the environment defaults and
// checks the values. Errors, and the usage for -h, are written to stderr
// (the flag package's way); main only has to exit.
func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	var level, origins, workers, maxUpload, trainTimeout, modelCache string
	var maxBody, maxComplexity, maxDepth, timeout, introspection, rateLimit string
	fs := flag.NewFlagSet("mlgraph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", envOr("MLGRAPH_ADDR", ":8080"), "listen address (env MLGRAPH_ADDR)")
	fs.StringVar(&c.db, "db", envOr("MLGRAPH_DB", "mlgraph.db"), "SQLite database file, or postgres:// URL of a PostgreSQL database (env MLGRAPH_DB)")
	fs.StringVar(&c.logFormat, "log-format", envOr("MLGRAPH_LOG_FORMAT", telemetry.LogText), "log format: text or json (env MLGRAPH_LOG_FORMAT)")
	fs.StringVar(&level, "log-level", envOr("MLGRAPH_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env MLGRAPH_LOG_LEVEL)")
	fs.StringVar(&origins, "cors-origins", envOr("MLGRAPH_CORS_ORIGINS", ""), "comma-separated origins allowed by CORS, or *; empty: no CORS (env MLGRAPH_CORS_ORIGINS)")
	fs.StringVar(&workers, "workers", envOr("MLGRAPH_WORKERS", strconv.Itoa(runtime.NumCPU())), "trainings run at once; more wait QUEUED (env MLGRAPH_WORKERS)")
	fs.StringVar(&maxUpload, "max-upload", envOr("MLGRAPH_MAX_UPLOAD", "1GiB"), "largest dataset upload, e.g. 500MB or 2GiB (env MLGRAPH_MAX_UPLOAD)")
	fs.StringVar(&modelCache, "model-cache", envOr("MLGRAPH_MODEL_CACHE", "256MiB"), "memory for trained models kept loaded for prediction, e.g. 64MiB or 1GiB; the least recently used are dropped past it (env MLGRAPH_MODEL_CACHE)")
	fs.StringVar(&maxBody, "max-body", envOr("MLGRAPH_MAX_BODY", "16MiB"), "largest request body to /query other than an upload, e.g. 1MB or 16MiB (env MLGRAPH_MAX_BODY)")
	fs.StringVar(&maxComplexity, "max-complexity", envOr("MLGRAPH_MAX_COMPLEXITY", strconv.Itoa(graph.DefaultMaxComplexity)), "largest GraphQL operation complexity; lists cost their length (connections: first) times their elements (env MLGRAPH_MAX_COMPLEXITY)")
	fs.StringVar(&maxDepth, "max-depth", envOr("MLGRAPH_MAX_DEPTH", strconv.Itoa(graph.DefaultMaxDepth)), "deepest GraphQL selection, fragments included (env MLGRAPH_MAX_DEPTH)")
	fs.StringVar(&trainTimeout, "train-timeout", envOr("MLGRAPH_TRAIN_TIMEOUT", "2h"), "time limit of one training job (a FAILED model past it), e.g. 30m; 0: none (env MLGRAPH_TRAIN_TIMEOUT)")
	fs.StringVar(&timeout, "request-timeout", envOr("MLGRAPH_REQUEST_TIMEOUT", graph.DefaultRequestTimeout.String()), "time limit of a GraphQL query or mutation, e.g. 30s; 0: none; subscriptions and started trainings are not bound by it (env MLGRAPH_REQUEST_TIMEOUT)")
	fs.StringVar(&c.authMode, "auth", envOr("MLGRAPH_AUTH", service.AuthAuto), "when requests need an API key: auto (once any key exists), required, or off (development only) (env MLGRAPH_AUTH)")
	fs.StringVar(&rateLimit, "rate-limit", envOr("MLGRAPH_RATE_LIMIT", "0"), "requests per second allowed to each API key without a limit of its own (and to each client address without a key); 0: no limit (env MLGRAPH_RATE_LIMIT)")
	introspection = envOr("MLGRAPH_INTROSPECTION", "true")
	fs.Var(boolText{&introspection}, "introspection", "allow GraphQL introspection (__schema, __type); the playground at / needs it (env MLGRAPH_INTROSPECTION)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		// Such as "-introspection false", which sets nothing.
		err := fmt.Errorf("unexpected argument %q: give values as -flag=value", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		return c, err
	}
	err := c.check(level, origins, workers, maxUpload, trainTimeout, modelCache)
	if err == nil {
		err = c.checkLimits(maxBody, maxComplexity, maxDepth, timeout, introspection)
	}
	if err == nil {
		err = c.checkAuth(rateLimit)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	return c, err
}

// check validates and converts the values that need it: a bad value from
// the environment fails as loudly as one from a flag.
func (c *config) check(level, origins, workers, maxUpload, trainTimeout, modelCache string) error {
	if c.logFormat != telemetry.LogText && c.logFormat != telemetry.LogJSON {
		return fmt.Errorf("invalid -log-format %q (env MLGRAPH_LOG_FORMAT): want %s or %s", c.logFormat, telemetry.LogText, telemetry.LogJSON)
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("invalid -log-level %q (env MLGRAPH_LOG_LEVEL): want debug, info, warn or error", level)
	}
	var err error
	if c.corsOrigins, err = httpx.ParseOrigins(origins); err != nil {
		return fmt.Errorf("invalid -cors-origins (env MLGRAPH_CORS_ORIGINS): %w", err)
	}
	if c.workers, err = strconv.Atoi(workers); err != nil || c.workers < 1 || c.workers > 1024 {
		return fmt.Errorf("invalid -workers %q (env MLGRAPH_WORKERS): want a whole number from 1 to 1024", workers)
	}
	if c.trainTimeout, err = time.ParseDuration(trainTimeout); err != nil || c.trainTimeout < 0 {
		return fmt.Errorf("invalid -train-timeout %q (env MLGRAPH_TRAIN_TIMEOUT): want a duration such as 30m or 2h, or 0 for none", trainTimeout)
	}
	if c.maxUpload, err = bytesize.Parse(maxUpload); err != nil || c.maxUpload < 1 {
		return fmt.Errorf("invalid -max-upload %q (env MLGRAPH_MAX_UPLOAD): want a size such as 500MB or 2GiB", maxUpload)
	}
	if c.modelCache, err = bytesize.Parse(modelCache); err != nil || c.modelCache < 1 {
		return fmt.Errorf("invalid -model-cache %q (env MLGRAPH_MODEL_CACHE): want a size such as 64MiB or 1GiB", modelCache)
	}
	return nil
}

// checkLimits validates and converts the request limits.
func (c *config) checkLimits(maxBody, maxComplexity, maxDepth, timeout, introspection string) error {
	var err error
	if c.limits.MaxBody, err = bytesize.Parse(maxBody); err != nil || c.limits.MaxBody < 1 {
		return fmt.Errorf("invalid -max-body %q (env MLGRAPH_MAX_BODY): want a size such as 1MB or 16MiB", maxBody)
	}
	if c.limits.MaxComplexity, err = strconv.Atoi(maxComplexity); err != nil || c.limits.MaxComplexity < 1 {
		return fmt.Errorf("invalid -max-complexity %q (env MLGRAPH_MAX_COMPLEXITY): want a whole number of at least 1", maxComplexity)
	}
	if c.limits.MaxDepth, err = strconv.Atoi(maxDepth); err != nil || c.limits.MaxDepth < 1 {
		return fmt.Errorf("invalid -max-depth %q (env MLGRAPH_MAX_DEPTH): want a whole number of at least 1", maxDepth)
	}
	if c.limits.RequestTimeout, err = time.ParseDuration(timeout); err != nil || c.limits.RequestTimeout < 0 {
		return fmt.Errorf("invalid -request-timeout %q (env MLGRAPH_REQUEST_TIMEOUT): want a duration such as 30s or 2m, or 0 for none", timeout)
	}
	if c.limits.Introspection, err = strconv.ParseBool(introspection); err != nil {
		return fmt.Errorf("invalid -introspection %q (env MLGRAPH_INTROSPECTION): want true or false", introspection)
	}
	return nil
}

// checkAuth validates the authentication settings.
func (c *config) checkAuth(rateLimit string) error {
	switch c.authMode {
	case service.AuthAuto, service.AuthRequired, service.AuthOff:
	default:
		return fmt.Errorf("invalid -auth %q (env MLGRAPH_AUTH): want auto, required or off", c.authMode)
	}
	var err error
	if c.rateLimit, err = strconv.ParseFloat(rateLimit, 64); err != nil || math.IsNaN(c.rateLimit) || c.rateLimit < 0 || c.rateLimit > 1e6 {
		return fmt.Errorf("invalid -rate-limit %q (env MLGRAPH_RATE_LIMIT): want requests per second from 0 (no limit) to 1000000", rateLimit)
	}
	return nil
}

// boolText is a boolean flag kept as text (-introspection alone means
// true), so that check can reject a bad environment value like a bad flag.
type boolText struct{ p *string }

func (b boolText) String() string {
	if b.p == nil {
		return ""
	}
	return *b.p
}
func (b boolText) Set(v string) error { *b.p = v; return nil }
func (b boolText) IsBoolFlag() bool   { return true }

func envOr(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "keys" {
		os.Exit(runKeys(context.Background(), os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg, err := parseConfig(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	log, err := telemetry.NewLogger(os.Stderr, cfg.logFormat, cfg.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("mlgraph stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then lets in-flight requests finish and
// closes the database.
func run(ctx context.Context, cfg config, log *slog.Logger) error {
	if n, err := removeStaleUploads(os.TempDir(), time.Hour); err != nil {
		log.Warn("removing stale upload files", "err", err)
	} else if n > 0 {
		log.Info("removed upload files left by an interrupted server", "files", n)
	}
	app, err := openApp(ctx, cfg.db, log, withCORSOrigins(cfg.corsOrigins), withWorkers(cfg.workers), withTrainTimeout(cfg.trainTimeout), withMaxUpload(cfg.maxUpload), withModelCache(cfg.modelCache), withLimits(cfg.limits),
		withAuth(cfg.authMode), withRateLimit(cfg.rateLimit))
	if err != nil {
		return err
	}
	defer app.close()
	logAuthMode(ctx, log, app.service)

	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           app.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// net/http's own complaints (bad requests, recovered panics) as log records.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("mlgraph listening", "addr", cfg.addr, "db", store.RedactDSN(cfg.db), "playground", "http://"+displayAddr(cfg.addr)+"/")

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// logAuthMode says at start whether requests need an API key: loudly when
// they do not.
func logAuthMode(ctx context.Context, log *slog.Logger, svc *service.Service) {
	required, err := svc.AuthRequired(ctx)
	switch {
	case err != nil:
		log.Error("cannot tell whether API keys exist: requests will be refused until the database answers", "err", err)
	case svc.AuthMode() == service.AuthOff:
		log.Warn("AUTHENTICATION IS OFF (-auth=off): anyone who can reach this server can read, train, predict and delete everything. For development only.")
	case !required:
		log.Warn("AUTHENTICATION IS OFF until the first API key exists (-auth=auto): anyone who can reach this server can do anything. Make a key with: go run . keys create --scope admin (or mlgraph keys create --scope admin with a built binary)")
	default:
		log.Info("authentication on: requests need an API key", "auth", svc.AuthMode())
	}
}

func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	return addr
}

// app is the wired server: store, service and HTTP routes.
type app struct {
	store   *store.Store
	service *service.Service
	handler http.Handler
	// shutdownGrace is how long running trainings get to finish when the
	// app closes before they are interrupted and queued again.
	shutdownGrace time.Duration
}

// appOptions are openApp's optional settings.
type appOptions struct {
	corsOrigins   []string
	workers       int
	trainTimeout  time.Duration
	maxUpload     int64
	modelCache    int64 // bytes; 0: the service's default
	shutdownGrace time.Duration
	limits        graph.Limits // default: graph.DefaultLimits()
	authMode      string
	rateLimit     float64
}

// withAuth sets when requests need an API key (default auto).
func withAuth(mode string) appOption {
	return func(o *appOptions) { o.authMode = mode }
}

// withRateLimit sets the default requests per second per API key.
func withRateLimit(r float64) appOption {
	return func(o *appOptions) { o.rateLimit = r }
}

// withLimits sets all the GraphQL request limits.
func withLimits(l graph.Limits) appOption {
	return func(o *appOptions) { o.limits = l }
}

// withMaxBody bounds non-upload request bodies to /query, in bytes.
func withMaxBody(n int64) appOption {
	return func(o *appOptions) { o.limits.MaxBody = n }
}

// withMaxComplexity bounds the complexity of GraphQL operations.
func withMaxComplexity(n int) appOption {
	return func(o *appOptions) { o.limits.MaxComplexity = n }
}

// withMaxDepth bounds the depth of GraphQL operations.
func withMaxDepth(n int) appOption {
	return func(o *appOptions) { o.limits.MaxDepth = n }
}

// withRequestTimeout bounds each GraphQL query and mutation; 0: no limit.
func withRequestTimeout(d time.Duration) appOption {
	return func(o *appOptions) { o.limits.RequestTimeout = d }
}

// withIntrospection turns GraphQL introspection on or off.
func withIntrospection(on bool) appOption {
	return func(o *appOptions) { o.limits.Introspection = on }
}

// withWorkers sets how many trainings run at once (default: the CPUs).
func withWorkers(n int) appOption {
	return func(o *appOptions) { o.workers = n }
}

// withTrainTimeout bounds one training job (0: no limit).
func withTrainTimeout(d time.Duration) appOption {
	return func(o *appOptions) { o.trainTimeout = d }
}

// withMaxUpload bounds dataset uploads, in bytes.
func withMaxUpload(n int64) appOption {
	return func(o *appOptions) { o.maxUpload = n }
}

// withModelCache bounds the memory of the model cache, in bytes.
func withModelCache(n int64) appOption {
	return func(o *appOptions) { o.modelCache = n }
}

// withShutdownGrace sets how long running trainings get to finish when the
// app closes (default 30 s).
func withShutdownGrace(d time.Duration) appOption {
	return func(o *appOptions) { o.shutdownGrace = d }
}

type appOption func(*appOptions)

// withCORSOrigins allows cross-origin requests from these origins (see
// httpx.ParseOrigins).
func withCORSOrigins(origins []string) appOption {
	return func(o *appOptions) { o.corsOrigins = origins }
}

// openApp opens the database, recovers from an unclean stop and wires the
// routes and their middleware. It is the one place that builds the handler:
// the tests call it too.
func openApp(ctx context.Context, dbPath string, log *slog.Logger, opts ...appOption) (*app, error) {
	o := appOptions{limits: graph.DefaultLimits()}
	for _, opt := range opts {
		opt(&o)
	}
	// Every log line made with a request's context carries its request id.
	log = telemetry.WithRequestIDs(log)
	st, err := store.Open(dbPath)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.RedactDSN(dbPath), err)
	}
	n, err := st.FailInterruptedModels(ctx, "the server stopped while this model was training")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("recover interrupted training: %w", err)
	}
	if n > 0 {
		log.Warn("marked interrupted trainings as FAILED", "models", n)
	}
	h, svc, err := routes(st, log, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := svc.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return &app{store: st, service: svc, handler: h, shutdownGrace: o.shutdownGrace}, nil
}

// routes builds the service and the HTTP handler: routes, then from the
// outside in: request id, access log, HTTP metrics, CORS, compression.
func routes(st *store.Store, log *slog.Logger, o appOptions) (http.Handler, *service.Service, error) {
	// The app owns its registry (not prometheus' global one), so tests can
	// build several apps in one process.
	reg, err := telemetry.NewRegistry()
	if err != nil {
		return nil, nil, err
	}
	metrics, err := telemetry.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	opMetrics, err := graph.NewOperationMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	httpMetrics, err := httpx.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	compress, err := httpx.Compress()
	if err != nil {
		return nil, nil, err
	}
	svc := service.New(st, service.Options{Logger: log, Telemetry: metrics, Workers: o.workers, TrainTimeout: o.trainTimeout, MaxUploadBytes: o.maxUpload,
		ModelCacheBytes: o.modelCache, AuthMode: o.authMode, RateLimit: o.rateLimit})

	// The API's routes need a key when authentication is on (the report
	// also takes a signed link instead); the playground page, health check
	// and metrics do not.
	authenticate := graph.Authenticate(svc, log)
	mux := http.NewServeMux()
	mux.Handle("/query", authenticate(graph.NewHandler(svc, log, graph.WithExtension(opMetrics), graph.WithLimits(o.limits),
		graph.WithWebsocketOrigins(httpx.WebsocketOriginPatterns(o.corsOrigins)))))
	// The playground (GraphiQL), embedded: it loads nothing from elsewhere.
	page := playground.Handler()
	mux.Handle("GET /{$}", page)
	mux.Handle("GET "+playground.AssetsPath, page)
	mux.Handle("GET /models/{id}/report.svg", graph.ReportHandler(svc, log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	// Compression is the compress middleware's job, for every route alike.
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		DisableCompression: true,
		ErrorLog:           slog.NewLogLogger(log.Handler(), slog.LevelError),
	}))

	var h http.Handler = mux
	h = compress(h)
	h = httpx.CORS(o.corsOrigins)(h)
	h = httpMetrics.Wrap(h, httpx.MuxRoute(mux))
	h = httpx.AccessLog(log, "/healthz", "/metrics")(h)
	h = httpx.RequestID(h)
	return h, svc, nil
}

// close stops the training workers (running trainings get the shutdown
// grace, then are queued again for the next start) and closes the
// database.
func (a *app) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.shutdownGrace)
	defer cancel()
	if err := a.service.Close(ctx); err != nil {
		return err
	}
	return a.store.Close()
}

// removeStaleUploads deletes the temporary files of multipart uploads (the
// GraphQL transport spools each uploaded file to dir/gqlgen-*) that have
// not been written to for maxAge: those of a server that was killed during
// an upload, which nothing else would remove. A file still being received
// is written continuously, so it is never that old.
func removeStaleUploads(dir string, maxAge time.Duration) (int, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "gqlgen-*"))
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, path := range matches {
		info, err := os.Lstat(path)
		if err != nil || !info.Mode().IsRegular() || time.Since(info.ModTime()) < maxAge {
			continue
		}
		if err := os.Remove(path); err == nil {
			removed++
		}
	}
	return removed, nil
}
