// Command mlgraph serves mlgraph's GraphQL API: datasets, training and
// predictions, stored in SQLite.
//
//	go run .                     # http://localhost:8080/ (playground), /query, /healthz
//	go run . -addr :9090 -db /var/lib/mlgraph.db
package main

//go:generate go tool gqlgen generate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"

	"mlgraph/graph"
	"mlgraph/service"
	"mlgraph/store"
)

// config is the server's configuration: flags, each defaulting to an
// environment variable.
type config struct {
	addr string
	db   string
}

func parseConfig(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("mlgraph", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", envOr("MLGRAPH_ADDR", ":8080"), "listen address (env MLGRAPH_ADDR)")
	fs.StringVar(&c.db, "db", envOr("MLGRAPH_DB", "mlgraph.db"), "SQLite database file (env MLGRAPH_DB)")
	err := fs.Parse(args)
	return c, err
}

func envOr(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := parseConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
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
	app, err := openApp(ctx, cfg.db, log)
	if err != nil {
		return err
	}
	defer app.close()

	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           app.handler,
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("mlgraph listening", "addr", cfg.addr, "db", cfg.db, "playground", "http://"+displayAddr(cfg.addr)+"/")

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

func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return "localhost" + addr
	}
	return addr
}

// app is the wired server: store, service and HTTP routes.
type app struct {
	store   *store.Store
	handler http.Handler
}

// openApp opens the database, recovers from an unclean stop and wires the
// routes.
func openApp(ctx context.Context, dbPath string, log *slog.Logger) (*app, error) {
	st, err := store.Open(dbPath)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", dbPath, err)
	}
	n, err := st.FailInterruptedModels(ctx, "the server stopped while this model was training")
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("recover interrupted training: %w", err)
	}
	if n > 0 {
		log.Warn("marked interrupted trainings as FAILED", "models", n)
	}
	svc := service.New(st, service.Options{Logger: log})

	mux := http.NewServeMux()
	mux.Handle("/query", graph.NewHandler(svc, log))
	mux.Handle("GET /{$}", playground.Handler("mlgraph", "/query"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := st.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return &app{store: st, handler: mux}, nil
}

func (a *app) close() error { return a.store.Close() }
