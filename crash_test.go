package main

// TestCrash kills a real mlgraph process with SIGKILL (os.Process.Kill)
// while it imports a large dataset and while it trains, restarts it on the
// same SQLite file, and checks what the next start sees: an intact
// database, no half-written dataset or model, and the interrupted training
// FAILED with a reason while the one queued behind it is resumed.
//
// The server runs as a child process built from this package (go build),
// on loopback, with its temporary files in the test's temporary directory.
// Every wait is bounded and the child is killed in t.Cleanup.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver, for the checks
)

// The generated dataset: ~110 MB of CSV, 48 MB of float64 column data.
const (
	crashRows = 300_000
	crashCols = 20
)

// crashDeadline bounds the whole test, well below go test's own timeout, so
// that t.Cleanup (which kills the child) always runs.
const crashDeadline = 90 * time.Second

// crashLog collects the child's output, for failure messages.
type crashLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *crashLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *crashLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// crashServer is one mlgraph child process.
type crashServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	logs   *crashLog
	done   chan struct{} // closed once the process has exited and been reaped
	client *http.Client
}

// crashBuild builds the server binary into dir.
func crashBuild(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("crash test: the go command is not on PATH, so the server binary cannot be built")
	}
	bin := filepath.Join(dir, "mlgraph")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// crashFreePort returns a loopback port that was free a moment ago.
func crashFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// crashStart starts the server on db and waits for /healthz. tmp is the
// child's TMPDIR (multipart uploads are spooled there).
func crashStart(t *testing.T, bin, db, tmp string, extra ...string) *crashServer {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port in between
		s, err := crashTryStart(t, bin, db, tmp, extra...)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start server: %v", lastErr)
	return nil
}

func crashTryStart(t *testing.T, bin, db, tmp string, extra ...string) (*crashServer, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", crashFreePort(t))
	args := append([]string{"-addr", addr, "-db", db, "-log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	logs := &crashLog{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// A clean environment but for what the binary needs: no MLGRAPH_*
	// variable of the caller's changes its configuration.
	cmd.Env = []string{"TMPDIR=" + tmp, "PATH=" + os.Getenv("PATH"), "HOME=" + tmp}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &crashServer{t: t, cmd: cmd, url: "http://" + addr, logs: logs, done: make(chan struct{}),
		client: &http.Client{Timeout: 60 * time.Second}}
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("server exited at start (%v):\n%s", cmd.ProcessState, logs)
		default:
		}
		resp, err := s.client.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			select {
			case <-s.done: // another process's server answered on that port
				return nil, fmt.Errorf("server exited at start (%v):\n%s", cmd.ProcessState, logs)
			default:
			}
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("no healthy /healthz after 30 s (last: %v):\n%s", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL (on Unix; TerminateProcess elsewhere) and waits until
// the process is gone. Safe to call twice.
func (s *crashServer) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("server pid %d still running 10 s after SIGKILL", s.cmd.Process.Pid)
	}
	s.client.CloseIdleConnections()
}

// gql posts a GraphQL request; it fails the test on a transport error, an
// undecodable answer or GraphQL errors, and decodes data into dst.
func (s *crashServer) gql(query string, vars map[string]any, dst any) {
	s.t.Helper()
	if errs := s.gqlErrors(query, vars, dst); len(errs) > 0 {
		s.t.Fatalf("GraphQL errors: %+v\nquery: %s\nserver log:\n%s", errs, query, s.logs)
	}
}

// gqlErrors is gql returning the GraphQL errors instead of failing on them.
func (s *crashServer) gqlErrors(query string, vars map[string]any, dst any) []gqlError {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := s.client.Post(s.url+"/query", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("post: %v\nserver log:\n%s", err, s.logs)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("decode response (status %d): %v\n%.2000s", resp.StatusCode, err, raw)
	}
	if len(out.Errors) == 0 && dst != nil {
		if err := json.Unmarshal(out.Data, dst); err != nil {
			s.t.Fatalf("decode data: %v\n%.2000s", err, out.Data)
		}
	}
	return out.Errors
}

// waitModel polls a model until its status is one of want (bounded).
func (s *crashServer) waitModel(id string, timeout time.Duration, want ...string) (status, reason string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out struct {
			Model *struct {
				Status string
				Error  *string
			}
		}
		s.gql(`query($id: ID!) { model(id: $id) { status error } }`, map[string]any{"id": id}, &out)
		if out.Model == nil {
			s.t.Fatalf("model %s does not exist", id)
		}
		if out.Model.Error != nil {
			reason = *out.Model.Error
		}
		for _, w := range want {
			if out.Model.Status == w {
				return out.Model.Status, reason
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("model %s is still %s (%q) after %v, want %v", id, out.Model.Status, reason, timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashWriteCSV writes the large numeric dataset to path and returns its
// size.
func crashWriteCSV(t *testing.T, path string) (size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 0, 1<<20)
	for j := 0; j < crashCols; j++ {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, 'c')
		buf = strconv.AppendInt(buf, int64(j), 10)
	}
	buf = append(buf, '\n')
	state := uint64(0x9E3779B97F4A7C15)
	for i := 0; i < crashRows; i++ {
		for j := 0; j < crashCols; j++ {
			if j > 0 {
				buf = append(buf, ',')
			}
			state = state*6364136223846793005 + 1442695040888963407 // a fixed LCG: the same file every run
			buf = strconv.AppendFloat(buf, float64(state>>11)/float64(1<<53)*1000, 'f', 14, 64)
		}
		buf = append(buf, '\n')
		if len(buf) > 900<<10 {
			if _, err := f.Write(buf); err != nil {
				t.Fatal(err)
			}
			size += int64(len(buf))
			buf = buf[:0]
		}
	}
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
	size += int64(len(buf))
	return size
}

// crashCounter counts the bytes read through it: how much of a request
// body the client has sent.
type crashCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c crashCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// crashImportRequest builds a streamed multipart uploadDataset request for
// the CSV file of size bytes (createDataset's JSON body is limited to 16
// MB); sent counts the body bytes the client has sent.
func crashImportRequest(t *testing.T, url, name, csvPath string, size int64, sent *atomic.Int64) *http.Request {
	t.Helper()
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	ops, _ := json.Marshal(map[string]any{"query": uploadMutation, "variables": map[string]any{"name": name, "file": nil}})
	w.WriteField("operations", string(ops))
	w.WriteField("map", `{"0": ["variables.file"]}`)
	if _, err := w.CreateFormFile("0", name+".csv"); err != nil {
		t.Fatal(err)
	}
	prefix := bytes.Clone(b.Bytes())
	b.Reset()
	w.Close()
	suffix := bytes.Clone(b.Bytes())
	body := io.MultiReader(bytes.NewReader(prefix), f, bytes.NewReader(suffix))
	req, err := http.NewRequest(http.MethodPost, url+"/query", crashCounter{r: body, n: sent})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(prefix)) + size + int64(len(suffix))
	req.Header.Set("Content-Type", w.FormDataContentType())
	return req
}

// crashFileState is a file's size and modification time; a zero value if
// it does not exist.
type crashFileState struct {
	size  int64
	mtime time.Time
}

func crashStat(path string) crashFileState {
	fi, err := os.Stat(path)
	if err != nil {
		return crashFileState{}
	}
	return crashFileState{size: fi.Size(), mtime: fi.ModTime()}
}

// crashSettle checkpoints the whole WAL into the database file, beside the
// running server (a PASSIVE checkpoint blocks no one), until no frame is
// left to copy.
func crashSettle(t *testing.T, dbPath string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; ; i++ {
		var busy, logFrames, checkpointed int
		if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		if busy == 0 && checkpointed == logFrames {
			return
		}
		if i == 100 {
			t.Fatalf("the WAL cannot be checkpointed: %d of %d frames after %d tries", checkpointed, logFrames, i)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// crashDBState is what the database file holds, read directly.
type crashDBState struct {
	datasets map[int64]int // id → number of columns
	models   map[int64]struct{ status, reason string }
}

// crashCheckDB opens the database read-only (the server must be dead) and
// checks it: integrity, foreign keys, every dataset with all its column
// blobs and no column without its dataset, and a fitted state exactly for
// the READY models.
func crashCheckDB(t *testing.T, dbPath string) crashDBState {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	strings1 := func(query string) []string {
		t.Helper()
		rows, err := db.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return out
	}
	if got := strings1("PRAGMA integrity_check"); len(got) != 1 || got[0] != "ok" {
		t.Errorf("PRAGMA integrity_check: %q", got)
	}
	if got := strings1("PRAGMA foreign_key_check"); len(got) != 0 {
		t.Errorf("PRAGMA foreign_key_check: %q", got)
	}

	state := crashDBState{datasets: map[int64]int{}, models: map[int64]struct{ status, reason string }{}}
	rows, err := db.Query(`SELECT id, row_count, columns FROM datasets`)
	if err != nil {
		t.Fatal(err)
	}
	rowCounts := map[int64]int{}
	for rows.Next() {
		var id int64
		var rowCount int
		var columns string
		if err := rows.Scan(&id, &rowCount, &columns); err != nil {
			t.Fatal(err)
		}
		var cols []json.RawMessage
		if err := json.Unmarshal([]byte(columns), &cols); err != nil {
			t.Errorf("dataset %d: columns %.200q: %v", id, columns, err)
		}
		state.datasets[id] = len(cols)
		rowCounts[id] = rowCount
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	rows, err = db.Query(`SELECT dataset_id, COUNT(*), MIN(position), MAX(position), MIN(length(data)) FROM dataset_columns GROUP BY dataset_id`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for rows.Next() {
		var id, n, minPos, maxPos, minLen int64
		if err := rows.Scan(&id, &n, &minPos, &maxPos, &minLen); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
		want, ok := state.datasets[id]
		switch {
		case !ok:
			t.Errorf("%d orphan dataset_columns rows of dataset %d, which does not exist", n, id)
		case n != int64(want) || minPos != 0 || maxPos != int64(want-1):
			t.Errorf("dataset %d has %d columns but %d dataset_columns rows (positions %d..%d)", id, want, n, minPos, maxPos)
		case rowCounts[id] > 0 && minLen == 0:
			t.Errorf("dataset %d (%d rows) has an empty column blob", id, rowCounts[id])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for id, n := range state.datasets {
		if n > 0 && !stored[id] {
			t.Errorf("dataset %d has %d columns and no dataset_columns rows", id, n)
		}
	}

	rows, err = db.Query(`SELECT m.id, m.status, m.error, s.model_id IS NOT NULL FROM models m LEFT JOIN model_states s ON s.model_id = m.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var status, reason string
		var hasState bool
		if err := rows.Scan(&id, &status, &reason, &hasState); err != nil {
			t.Fatal(err)
		}
		state.models[id] = struct{ status, reason string }{status, reason}
		if hasState != (status == "READY") {
			t.Errorf("model %d is %s but has a fitted state: %v", id, status, hasState)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if got := strings1(`SELECT COUNT(*) FROM model_states WHERE model_id NOT IN (SELECT id FROM models)`); len(got) != 1 || got[0] != "0" {
		t.Errorf("orphan model_states: %v", got)
	}
	return state
}

// checkDatasets checks through GraphQL that the datasets visible are those
// in the database and that each is complete: its preview answers and, for
// those in train (or all if train is nil), a linear regression on it,
// which reads every column blob, becomes READY.
func (s *crashServer) checkDatasets(db crashDBState, train map[string]bool) []string {
	s.t.Helper()
	var list struct {
		Datasets struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID       string
					Name     string
					RowCount int
					Columns  []struct{ Name string }
				}
			}
		}
	}
	s.gql(`{ datasets(first: 100) { totalCount edges { node { id name rowCount columns { name } } } } }`, nil, &list)
	if list.Datasets.TotalCount != len(db.datasets) || len(list.Datasets.Edges) != len(db.datasets) {
		s.t.Errorf("GraphQL shows %d datasets (totalCount %d), the database holds %d", len(list.Datasets.Edges), list.Datasets.TotalCount, len(db.datasets))
	}
	var ids []string
	for _, e := range list.Datasets.Edges {
		d := e.Node
		ids = append(ids, d.ID)
		if len(d.Columns) == 0 {
			s.t.Errorf("dataset %s (%s) has no columns", d.ID, d.Name)
			continue
		}
		var preview struct {
			Dataset struct{ Preview []map[string]any }
		}
		s.gql(`query($id: ID!) { dataset(id: $id) { preview(first: 1) } }`, map[string]any{"id": d.ID}, &preview)
		if p := preview.Dataset.Preview; len(p) != 1 || len(p[0]) != len(d.Columns) {
			s.t.Errorf("dataset %s (%s, %d columns): preview(first: 1) = %v", d.ID, d.Name, len(d.Columns), p)
		}
		if train != nil && !train[d.ID] {
			continue
		}
		target := d.Columns[len(d.Columns)-1].Name
		var m struct {
			TrainModel struct {
				ID, Status string
				Error      *string
				Split      struct{ TrainRows, TestRows int }
			}
		}
		s.gql(`mutation($input: TrainModelInput!) { trainModel(wait: true, input: $input) { id status error split { trainRows testRows } } }`,
			map[string]any{"input": map[string]any{"datasetId": d.ID, "target": target, "algorithm": "LINEAR_REGRESSION"}}, &m)
		if tm := m.TrainModel; tm.Status != "READY" || tm.Split.TrainRows+tm.Split.TestRows != d.RowCount {
			s.t.Errorf("linear regression on dataset %s (%s): %+v, want READY on %d rows", d.ID, d.Name, tm, d.RowCount)
		}
	}
	return ids
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds the server and uploads ~110 MB seven times")
	}
	start := time.Now()
	dir := t.TempDir()
	childTmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(childTmp, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := crashBuild(t, dir)
	built := time.Now()
	csvPath := filepath.Join(dir, "big.csv")
	size := crashWriteCSV(t, csvPath)
	dbPath := filepath.Join(dir, "crash.db")
	t.Logf("built the server in %v, wrote %d MB of CSV in %v", built.Sub(start).Round(time.Millisecond), size>>20, time.Since(built).Round(time.Millisecond))
	overdue := func() bool { return time.Since(start) > crashDeadline }

	// importOnce uploads the CSV and kills the server when trigger says so
	// (never, if trigger is nil). Nothing else writes while it runs, so the
	// first change of the WAL file is its transaction starting, and the
	// first change of the database file, which only checkpoints write in
	// WAL mode, is the checkpoint that follows its commit.
	type progress struct {
		sent, total int64         // request bytes sent, of
		inTx        time.Duration // since the WAL first changed; 0: it has not
		sinceSent   time.Duration // since the whole body was sent; 0: not yet
		sinceCkpt   time.Duration // since the database file first changed; 0: it has not
		walGrowing  time.Duration // from the first WAL change to the last growth of the WAL file
	}
	since := func(t0, now time.Time) time.Duration {
		if t0.IsZero() {
			return 0
		}
		return max(now.Sub(t0), time.Nanosecond)
	}
	importOnce := func(srv *crashServer, name string, trigger func(progress) bool) (p progress, answered bool) {
		t.Helper()
		var sent atomic.Int64
		req := crashImportRequest(t, srv.url, name, csvPath, size, &sent)
		// What the server wrote before (the checks of the last start
		// train models) is checkpointed now, not by the server's own
		// checkpointer during this import, where it would look like the
		// checkpoint after this import's commit.
		crashSettle(t, dbPath)
		walBefore, dbBefore := crashStat(dbPath+"-wal"), crashStat(dbPath)
		type result struct {
			status int
			body   []byte
			err    error
		}
		answer := make(chan result, 1)
		go func() {
			resp, err := srv.client.Do(req)
			if err != nil {
				answer <- result{err: err}
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			answer <- result{status: resp.StatusCode, body: body, err: err}
		}()
		var txStart, allSent, ckptStart, lastGrowth time.Time
		walSize := walBefore.size
		for {
			now := time.Now()
			wal := crashStat(dbPath + "-wal")
			if txStart.IsZero() && wal != walBefore {
				txStart = now
			}
			if wal.size > walSize {
				walSize, lastGrowth = wal.size, now
			}
			if ckptStart.IsZero() && crashStat(dbPath) != dbBefore {
				ckptStart = now
			}
			p = progress{sent: sent.Load(), total: req.ContentLength}
			if allSent.IsZero() && p.sent == p.total {
				allSent = now
			}
			p.inTx, p.sinceSent, p.sinceCkpt = since(txStart, now), since(allSent, now), since(ckptStart, now)
			if !lastGrowth.IsZero() && !txStart.IsZero() {
				p.walGrowing = lastGrowth.Sub(txStart)
			}
			select {
			case r := <-answer:
				if r.err != nil || r.status != http.StatusOK {
					t.Fatalf("upload %s: status %d, %v: %.1000s\nserver log:\n%s", name, r.status, r.err, r.body, srv.logs)
				}
				var out gqlResponse
				if err := json.Unmarshal(r.body, &out); err != nil || len(out.Errors) > 0 {
					t.Fatalf("upload %s: %v %+v", name, err, out.Errors)
				}
				return p, true
			default:
			}
			if trigger != nil && trigger(p) {
				srv.kill()
				<-answer // the request fails now that the server is gone
				return p, false
			}
			if overdue() {
				t.Fatalf("upload %s: no answer after %v (%+v)", name, time.Since(start), p)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	// A complete import first: it must survive every crash below, and it
	// times the import's transaction for the kill points: on this new
	// database the WAL file grows while the transaction writes.
	srv := crashStart(t, bin, dbPath, childTmp)
	t0 := time.Now()
	p, _ := importOnce(srv, "complete", nil)
	if p.inTx == 0 {
		t.Fatalf("the complete import never wrote the WAL (%+v)", p)
	}
	txDuration := max(p.walGrowing, time.Millisecond)
	t.Logf("complete import: %v; the WAL grew for %v, the checkpoint started %v after its first write, the answer %v after that",
		time.Since(t0).Round(time.Millisecond), txDuration.Round(time.Millisecond), (p.inTx - p.sinceCkpt).Round(time.Millisecond), p.sinceCkpt.Round(time.Millisecond))
	db := crashCheckDB(t, dbPath)
	verified := map[string]bool{}
	for _, id := range srv.checkDatasets(db, nil) {
		verified[id] = true
	}

	points := []struct {
		name    string
		trigger func(progress) bool
	}{
		{"while the upload is received (40% sent)", func(p progress) bool { return p.sent >= p.total*2/5 }},
		{"while the CSV is parsed (all sent, no write yet)", func(p progress) bool { return p.sinceSent >= 20*time.Millisecond }},
		{"as the transaction starts (first WAL write)", func(p progress) bool { return p.inTx > 0 }},
		{"in the middle of the transaction", func(p progress) bool { return p.inTx >= txDuration*2/5 || p.sinceCkpt > 0 }},
		{"late in the transaction", func(p progress) bool { return p.inTx >= txDuration*9/10 || p.sinceCkpt > 0 }},
		{"during the checkpoint after the commit", func(p progress) bool { return p.sinceCkpt > 0 }},
	}
	committed, rolledBack := len(db.datasets), 0
	var spooledFiles, spooledBytes int64
	for i, point := range points {
		name := fmt.Sprintf("killed-%d", i+1)
		p, answered := importOnce(srv, name, point.trigger)
		phase := "before any write"
		switch {
		case p.sinceCkpt > 0:
			phase = fmt.Sprintf("%v into the checkpoint", p.sinceCkpt.Round(time.Millisecond))
		case p.inTx > 0:
			phase = fmt.Sprintf("%v into the transaction", p.inTx.Round(time.Millisecond))
		}
		if answered {
			// The first three points have hundreds of milliseconds of
			// margin; the later ones, under heavy load, may be overtaken.
			report := t.Logf
			if i < 3 {
				report = t.Errorf
			}
			report("kill %d (%s): the import answered before the kill point; the point was not exercised", i+1, point.name)
		}
		// A killed upload's spooled file (gqlgen's temporary copy of the
		// multipart file) stays behind: count it, and remove it so that
		// the test uses less disk.
		if left, err := os.ReadDir(childTmp); err == nil {
			for _, e := range left {
				if fi, err := e.Info(); err == nil {
					spooledFiles++
					spooledBytes += fi.Size()
				}
				os.RemoveAll(filepath.Join(childTmp, e.Name()))
			}
		}

		// The database as the crash left it: the dataset is all there or
		// not at all.
		db := crashCheckDB(t, dbPath)
		outcome := "not stored"
		switch n := len(db.datasets); {
		case n == committed:
			if p.inTx > 0 {
				rolledBack++
			}
		case n == committed+1:
			outcome = "stored (committed before the kill)"
		default:
			t.Errorf("kill %d: %d datasets in the database, %d before the import", i+1, n, committed)
		}
		t.Logf("kill %d %s: %d/%d MB sent, killed %s: %s", i+1, point.name, p.sent>>20, p.total>>20, phase, outcome)
		if p.sinceCkpt > 0 && len(db.datasets) != committed+1 {
			t.Errorf("kill %d: the database file was being checkpointed, yet the import is not stored", i+1)
		}
		committed = len(db.datasets)

		// What the next start shows; that server takes the next import.
		srv = crashStart(t, bin, dbPath, childTmp)
		train := map[string]bool{}
		for id := range db.datasets {
			if !verified[strconv.FormatInt(id, 10)] {
				train[strconv.FormatInt(id, 10)] = true
			}
		}
		for _, id := range srv.checkDatasets(db, train) {
			verified[id] = true
		}
		if t.Failed() {
			t.Logf("server log:\n%s", srv.logs)
			return
		}
	}
	if rolledBack == 0 {
		t.Errorf("no kill landed inside an import's transaction before its commit")
	}
	t.Logf("imports done at %v; the killed uploads left %d spooled files (%d MB) in the server's TMPDIR",
		time.Since(start).Round(time.Millisecond), spooledFiles, spooledBytes>>20)

	// Training: a slow MLP running, a quick model queued behind it (one
	// worker), then SIGKILL.
	srv = crashStart(t, bin, dbPath, childTmp, "-workers", "1")
	digits, err := os.ReadFile(filepath.Join("testdata", "digits.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ CreateDataset struct{ ID string } }
	srv.gql(createDatasetMutation, map[string]any{"name": "digits", "csv": string(digits)}, &up)
	submit := func(input map[string]any) string {
		t.Helper()
		var out struct{ TrainModel struct{ ID, Status string } }
		srv.gql(submitTraining, map[string]any{"input": input}, &out)
		if out.TrainModel.Status != "QUEUED" {
			t.Fatalf("submitted model %s is %s, want QUEUED", out.TrainModel.ID, out.TrainModel.Status)
		}
		return out.TrainModel.ID
	}
	slow := submit(map[string]any{"datasetId": up.CreateDataset.ID, "target": "target", "algorithm": "MLP", "task": "CLASSIFICATION",
		"params": map[string]any{"hiddenLayerSizes": "64", "maxIter": 100000, "tol": 0, "nIterNoChange": 100000}})
	quick := submit(map[string]any{"datasetId": up.CreateDataset.ID, "target": "target", "algorithm": "NAIVE_BAYES", "task": "CLASSIFICATION"})
	srv.waitModel(slow, 30*time.Second, "TRAINING")
	time.Sleep(200 * time.Millisecond) // well into its epochs
	if status, _ := srv.waitModel(quick, time.Second, "QUEUED", "TRAINING", "READY", "FAILED", "CANCELLED"); status != "QUEUED" {
		t.Fatalf("the model behind the MLP is %s, want QUEUED (one worker)", status)
	}
	srv.kill()

	db = crashCheckDB(t, dbPath)
	slowID, _ := strconv.ParseInt(slow, 10, 64)
	quickID, _ := strconv.ParseInt(quick, 10, 64)
	if db.models[slowID].status != "TRAINING" || db.models[quickID].status != "QUEUED" {
		t.Errorf("after the kill the database holds MLP %+v and the queued model %+v, want TRAINING and QUEUED", db.models[slowID], db.models[quickID])
	}

	srv = crashStart(t, bin, dbPath, childTmp, "-workers", "1")
	status, reason := srv.waitModel(slow, 5*time.Second, "QUEUED", "TRAINING", "READY", "FAILED", "CANCELLED")
	if status != "FAILED" || !strings.Contains(reason, "server stopped") {
		t.Errorf("the MLP killed while training is %s (%q) after the restart, want FAILED because the server stopped", status, reason)
	}
	if status, reason := srv.waitModel(quick, 30*time.Second, "READY", "FAILED", "CANCELLED"); status != "READY" {
		t.Errorf("the model queued behind the MLP ended %s (%q) after the restart, want READY", status, reason)
	}
	var pred struct {
		Predict struct{ Outputs []struct{ Label *string } }
	}
	srv.gql(predictMutation, map[string]any{"input": map[string]any{"modelId": quick, "rows": [][]float64{make([]float64, 64)}}}, &pred)
	if len(pred.Predict.Outputs) != 1 || pred.Predict.Outputs[0].Label == nil {
		t.Errorf("prediction of the resumed model: %+v", pred.Predict)
	}
	errs := srv.gqlErrors(predictMutation, map[string]any{"input": map[string]any{"modelId": slow, "rows": [][]float64{make([]float64, 64)}}}, nil)
	if len(errs) == 0 || errs[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("prediction of the FAILED model: %+v, want BAD_USER_INPUT", errs)
	}
	srv.kill()
	final := crashCheckDB(t, dbPath)
	if m := final.models[slowID]; m.status != "FAILED" {
		t.Errorf("in the database the MLP is %+v, want FAILED", m)
	}

	var statuses []string
	for id, m := range final.models {
		statuses = append(statuses, fmt.Sprintf("%d:%s", id, m.status))
	}
	sort.Strings(statuses)
	t.Logf("done in %v; %d datasets, models %v", time.Since(start).Round(time.Millisecond), len(final.datasets), statuses)
	if t.Failed() {
		t.Logf("last server log:\n%s", srv.logs)
	}
}
