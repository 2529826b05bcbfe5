package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
	"mlgraph/service"
	"mlgraph/store"
)

// TestInternalErrorsAreHidden: a database failure reaches the client as a
// generic INTERNAL_SERVER_ERROR, is logged, and no SQL detail leaks.
func TestInternalErrorsAreHidden(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	srv := httptest.NewServer(NewHandler(service.New(st, service.Options{Logger: log}), log))
	defer srv.Close()
	st.Close() // every query now fails inside database/sql

	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"query":"{ datasets { totalCount } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) != 1 {
		t.Fatalf("response %s: %v", raw, err)
	}
	e := out.Errors[0]
	if e.Extensions["code"] != codeInternal || e.Message != "internal error" {
		t.Errorf("error = %+v; want a generic %s", e, codeInternal)
	}
	if strings.Contains(string(raw), "sql") {
		t.Errorf("response leaks database details: %s", raw)
	}
	if !strings.Contains(logged.String(), "database is closed") {
		t.Errorf("the real error was not logged: %q", logged.String())
	}
}

func TestErrorPresenter(t *testing.T) {
	var logged bytes.Buffer
	present := errorPresenter(slog.New(slog.NewTextHandler(&logged, nil)))
	ctx := context.Background()

	notFound := present(ctx, fmt.Errorf("load: %w", apperr.NotFoundf("model", 7)))
	if notFound.Message != "model 7 not found" || notFound.Extensions["code"] != "NOT_FOUND" {
		t.Errorf("wrapped NOT_FOUND presented as %q %v", notFound.Message, notFound.Extensions)
	}
	internal := present(ctx, errors.New("UNIQUE constraint failed: secret_table.secret_column"))
	if internal.Message != "internal error" || internal.Extensions["code"] != codeInternal || strings.Contains(internal.Error(), "secret") {
		t.Errorf("internal error presented as %q %v", internal.Message, internal.Extensions)
	}
	if !strings.Contains(logged.String(), "secret_table") {
		t.Error("internal error not logged")
	}
}

// TestPanicsBecomeInternalErrors: a panic inside a resolver (here, a
// service without a store) is answered as an internal error, not a crash.
func TestPanicsBecomeInternalErrors(t *testing.T) {
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	srv := httptest.NewServer(NewHandler(service.New(nil, service.Options{Logger: log}), log))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"query":"{ datasets { totalCount } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"code":"`+codeInternal+`"`) || strings.Contains(string(raw), "nil pointer") {
		t.Errorf("panic answered with %s", raw)
	}
	if !strings.Contains(logged.String(), "panic in resolver") {
		t.Errorf("panic not logged: %q", logged.String())
	}
}
