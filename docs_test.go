package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"mlgraph/internal/childserver"
	"mlgraph/internal/testdb"
)

// The documentation as a tested script: every sh and graphql block of
// README.md and docs/modalities.md runs, in order, against a fresh server
// built from this checkout, as a person following the text would run it.
// graphql blocks are sent as they are (a subscription over websocket, until
// it completes); sh blocks run in bash from the repository's root, sharing
// their variables, with localhost:8080 pointing at the test's server and
// `go run .` running the binary built from the same code. A block fails
// the test if it exits non-zero or answers a GraphQL error.
//
// An HTML comment on the line before a block tells the test what to do
// instead of running it:
//
//	<!-- test: server -->         the block starts the server: the test starts it itself
//	<!-- test: skip (reason) -->  not run; the reason is required and shown
//
// MLGRAPH_DOCS_TEST=require (set by .ci/run) turns a missing tool (curl,
// jq, unzip) into a failure rather than a skip.

// docBlock is one fenced code block of a Markdown file.
type docBlock struct {
	file      string
	line      int // of the opening fence
	lang      string
	code      string
	directive string // the "test:" comment before it, if any
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d (%s)", b.file, b.line, b.lang) }

var docDirective = regexp.MustCompile(`^<!--\s*test:\s*(.*?)\s*-->$`)

// docBlocks returns the fenced code blocks of a Markdown file, in order.
func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []docBlock
	var cur *docBlock
	var code strings.Builder
	lastText := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &docBlock{file: path, line: n, lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
			if m := docDirective.FindStringSubmatch(lastText); m != nil {
				cur.directive = m[1]
			}
			code.Reset()
		case cur != nil && trimmed == "```":
			cur.code = code.String()
			blocks = append(blocks, *cur)
			cur, lastText = nil, ""
		case cur != nil:
			code.WriteString(line + "\n")
		case trimmed != "":
			lastText = trimmed
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", path, cur.line)
	}
	return blocks
}

// runnable reports whether a block is one a person is told to run.
func (b docBlock) runnable() bool {
	switch b.lang {
	case "sh", "bash", "shell", "graphql":
		return true
	}
	return false
}

// docSession is a reader's session: one server, one shell's variables.
type docSession struct {
	t      *testing.T
	repo   string
	server *childserver.Server
	shell  *docShell
}

func TestREADME(t *testing.T) { runDoc(t, "README.md") }

// TestModalitiesDoc: its blocks start servers of their own on SQLite, so
// the PostgreSQL run of the suite would only repeat it.
func TestModalitiesDoc(t *testing.T) {
	if os.Getenv(testdb.EnvPostgres) != "" {
		t.Skip("docs/modalities.md runs its own SQLite servers: covered by the SQLite run")
	}
	runDoc(t, filepath.Join("docs", "modalities.md"))
}

func runDoc(t *testing.T, path string) {
	if testing.Short() {
		t.Skip("the documentation runs against a built server: not in -short")
	}
	for _, tool := range []string{"bash", "curl", "jq", "unzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MLGRAPH_DOCS_TEST") == "require" {
				t.Fatalf("%s is needed to run the documentation's blocks", tool)
			}
			t.Skipf("%s is not installed: the documentation's blocks use it (apt-get install curl jq unzip)", tool)
		}
	}
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := childserver.Build(ctx, work)
	if err != nil {
		t.Fatal(err)
	}
	s := &docSession{t: t, repo: repo, shell: newDocShell(t, repo, work, bin)}
	started := time.Now()
	ran := 0
	for _, b := range docBlocks(t, path) {
		if !b.runnable() {
			continue
		}
		switch {
		case b.directive == "server":
			s.startServer(b, bin, work)
		case strings.HasPrefix(b.directive, "skip"):
			reason := strings.Trim(strings.TrimPrefix(b.directive, "skip"), " ():—-")
			if reason == "" {
				t.Errorf("%s: a skipped block must say why: <!-- test: skip (reason) -->", b)
			}
			t.Logf("%s: not run: %s", b, reason)
			continue
		case b.directive != "":
			t.Fatalf("%s: unknown directive %q", b, b.directive)
		case s.server == nil && (b.lang == "graphql" || strings.Contains(b.code, "localhost:8080")):
			t.Fatalf("%s: talks to the server before any block starts it", b)
		case b.lang == "graphql":
			s.graphql(b)
		default:
			s.shell.run(b)
		}
		ran++
		if t.Failed() {
			if s.server != nil {
				t.Logf("server log:\n%s", s.server.LogTail(40))
			}
			t.FailNow() // the blocks after a failed one depend on it
		}
	}
	if ran == 0 {
		t.Fatalf("%s: no block ran", path)
	}
	t.Logf("%s: %d blocks in %v", path, ran, time.Since(started).Round(time.Millisecond))
}

// startServer starts the server a "server" block starts, on a free port
// and a new database.
func (s *docSession) startServer(b docBlock, bin, work string) {
	if strings.TrimSpace(b.code) != "go run ." {
		s.t.Fatalf("%s: a server block must be `go run .`, not %q", b, b.code)
	}
	srv, err := childserver.Start(filepath.Join(work, "server.log"), func(addr string) *exec.Cmd {
		cmd := exec.Command(bin, "-addr", addr, "-log-level", "warn")
		cmd.Dir = s.repo
		cmd.Env = append(os.Environ(), "MLGRAPH_DB="+s.shell.db)
		return cmd
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { srv.Stop() })
	if err := srv.WaitHealthy(context.Background(), http.DefaultClient, time.Minute); err != nil {
		s.t.Fatalf("%s: %v\n%s", b, err, srv.LogTail(20))
	}
	s.server = srv
	s.shell.addr = srv.Addr
}

// graphql sends a block as the playground would, with the shell's $KEY
// as the API key once the reader has made one (the README says where it
// goes in the playground).
func (s *docSession) graphql(b docBlock) {
	key := s.shell.vars()["KEY"]
	if strings.HasPrefix(strings.TrimSpace(b.code), "subscription") {
		s.subscribe(b, key)
		return
	}
	body, _ := json.Marshal(map[string]any{"query": b.code})
	req, _ := http.NewRequest(http.MethodPost, s.server.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s: %v", b, err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("%s: HTTP %d, not JSON: %v", b, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 || isJSONNull(out.Data) {
		s.t.Errorf("%s: HTTP %d, errors %s\n%s", b, resp.StatusCode, out.Errors, b.code)
		return
	}
	s.t.Logf("%s: %s", b, truncate(string(out.Data), 300))
}

// subscribe runs a subscription block over graphql-transport-ws until the
// server completes it.
func (s *docSession) subscribe(b docBlock, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.server.URL, "http") + "/query"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		s.t.Fatalf("%s: %v", b, err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	init := map[string]any{}
	if key != "" {
		init["Authorization"] = "Bearer " + key
	}
	var msg struct {
		Type    string
		Payload json.RawMessage
	}
	read := func() {
		for {
			if err := wsjson.Read(ctx, conn, &msg); err != nil {
				s.t.Fatalf("%s: %v", b, err)
			}
			if msg.Type != "ping" && msg.Type != "pong" {
				return
			}
		}
	}
	wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": init})
	if read(); msg.Type != "connection_ack" {
		s.t.Fatalf("%s: %s %s", b, msg.Type, msg.Payload)
	}
	wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": b.code}})
	events := 0
	for read(); msg.Type == "next"; read() {
		var p struct{ Errors json.RawMessage }
		json.Unmarshal(msg.Payload, &p)
		if len(p.Errors) > 0 {
			s.t.Errorf("%s: %s", b, p.Errors)
			return
		}
		events++
		s.t.Logf("%s: event %s", b, truncate(string(msg.Payload), 200))
	}
	if msg.Type != "complete" || events == 0 {
		s.t.Errorf("%s: %d events, then %s %s", b, events, msg.Type, msg.Payload)
	}
}

// docShell runs sh blocks in bash, one after another, keeping the
// variables each one sets for the next (as one terminal would).
type docShell struct {
	t          *testing.T
	repo, work string
	dir        string // where the blocks run: links to the checkout's files
	db         string // the database (file or URL) both the server and `go run . keys` use
	addr       string // the server's host:port, for localhost:8080
	state      string // a file of the variables set so far
	goShim     string // a directory with a `go` that runs the built binary for `go run .`
}

func newDocShell(t *testing.T, repo, work, bin string) *docShell {
	// testdb: an SQLite file, or a new PostgreSQL database in CI's second run.
	sh := &docShell{t: t, repo: repo, work: work, db: testdb.New(t), dir: filepath.Join(work, "checkout"),
		state: filepath.Join(work, "shell-state"), goShim: filepath.Join(work, "shim")}
	// The blocks run in a copy of the checkout made of links to its
	// files, so that what they write (report.svg, …) stays out of it.
	if err := os.MkdirAll(sh.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(sh.dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(sh.goShim, 0o755); err != nil {
		t.Fatal(err)
	}
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	shim := fmt.Sprintf("#!/bin/sh\n# go run . is the server's binary, built from this checkout.\nif [ \"$1\" = run ] && [ \"$2\" = . ]; then shift 2; exec %q \"$@\"; fi\nexec %q \"$@\"\n", bin, realGo)
	if err := os.WriteFile(filepath.Join(sh.goShim, "go"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sh.state, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return sh
}

// run runs one block; it must exit 0, and no GraphQL answer it prints may
// hold errors.
func (sh *docShell) run(b docBlock) {
	code := strings.ReplaceAll(b.code, "localhost:8080", sh.addr)
	script := fmt.Sprintf("set -a\n. %q\nset -euo pipefail\n%s\nexport -p > %q\n", sh.state, code, sh.state)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = sh.dir
	cmd.Env = append(os.Environ(), "PATH="+sh.goShim+string(os.PathListSeparator)+os.Getenv("PATH"), "MLGRAPH_DB="+sh.db)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	out := stdout.String()
	if err != nil {
		sh.t.Errorf("%s: %v after %v\n%s\nstdout:\n%s\nstderr:\n%s", b, err, time.Since(start).Round(time.Millisecond), b.code, truncate(out, 3000), truncate(stderr.String(), 3000))
		return
	}
	if strings.Contains(out, `"errors":`) || strings.Contains(out, `"errors" :`) {
		sh.t.Errorf("%s: a GraphQL error:\n%s\n%s", b, b.code, truncate(out, 3000))
		return
	}
	sh.t.Logf("%s: %v: %s", b, time.Since(start).Round(time.Millisecond), truncate(out, 300))
}

// vars returns the variables the blocks have set so far.
func (sh *docShell) vars() map[string]string {
	cmd := exec.Command("bash", "-c", fmt.Sprintf(". %q && env -0", sh.state))
	out, err := cmd.Output()
	if err != nil {
		sh.t.Fatalf("reading the shell's variables: %v", err)
	}
	vars := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return vars
}

func isJSONNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}
