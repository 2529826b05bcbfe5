package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"mlgraph/internal/testdb"
	"mlgraph/service"
)

const createKeyMutation = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { id name project scopes prefix rateLimit revokedAt } }
}`

type apiKeyJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Project   string   `json:"project"`
	Scopes    []string `json:"scopes"`
	Prefix    string   `json:"prefix"`
	RateLimit *float64 `json:"rateLimit"`
	RevokedAt *string  `json:"revokedAt"`
}

// createKey makes an API key through the admin mutation (as s's key, or
// with none while authentication is not yet on) and returns its secret.
func (s *testServer) createKey(name, project string, scopes ...string) (string, apiKeyJSON) {
	s.t.Helper()
	input := map[string]any{"name": name, "scopes": scopes}
	if project != "" {
		input["project"] = project
	}
	var out struct {
		CreateApiKey struct {
			Key    string
			ApiKey apiKeyJSON
		}
	}
	s.mustDo(createKeyMutation, map[string]any{"input": input}, &out)
	return out.CreateApiKey.Key, out.CreateApiKey.ApiKey
}

// raw posts a GraphQL request and returns the HTTP answer undecoded.
func (s *testServer) raw(query string, vars map[string]any) (*http.Response, gqlResponse) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := s.send("application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	return resp, out
}

// mustBeUnauthenticated checks that a request is turned away with 401 and
// UNAUTHENTICATED, before any of it runs.
func mustBeUnauthenticated(t *testing.T, c *testServer, query string) {
	t.Helper()
	resp, out := c.raw(query, nil)
	if resp.StatusCode != http.StatusUnauthorized || len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Fatalf("want 401 UNAUTHENTICATED, got %d %+v", resp.StatusCode, out.Errors)
	}
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	if out.Data != nil && string(out.Data) != "null" {
		t.Errorf("data leaked with the error: %s", out.Data)
	}
}

// TestAuthModes: auto mode is open until the first key exists, then needs
// a valid key; required needs one from the start; off never does.
func TestAuthModes(t *testing.T) {
	dsn := testdb.New(t)
	srv := startServer(t, dsn)
	var v struct {
		Viewer struct {
			Authenticated bool
			Project       *string
			Scopes        []string
			AuthMode      string
		}
	}
	const viewer = `{ viewer { authenticated project scopes authMode } }`
	srv.mustDo(viewer, nil, &v)
	if v.Viewer.Authenticated || v.Viewer.AuthMode != "auto" || len(v.Viewer.Scopes) != 4 {
		t.Fatalf("open server's viewer: %+v", v.Viewer)
	}
	srv.createDataset("before keys", "x,target\n1,2\n3,4\n")

	// The first key (the bootstrap: anyone may make it) turns auth on.
	admin, rec := srv.createKey("ops", "", "ADMIN")
	if !strings.HasPrefix(admin, "mlg_") || rec.Project != "default" || !strings.HasPrefix(admin, rec.Prefix) || len(rec.Prefix) >= len(admin)/2 {
		t.Fatalf("key %q, record %+v", admin, rec)
	}
	mustBeUnauthenticated(t, srv, `{ datasets { totalCount } }`)
	mustBeUnauthenticated(t, srv.as("mlg_not-a-key"), `{ datasets { totalCount } }`)
	mustBeUnauthenticated(t, srv.as(admin+"x"), `{ datasets { totalCount } }`)
	mustBeUnauthenticated(t, srv, `mutation { deleteDataset(id: "1") }`)
	// A malformed header is no key either.
	req, _ := http.NewRequest("POST", srv.http.URL+"/query", strings.NewReader(`{"query":"{ viewer { authenticated } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+admin)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Basic scheme: %v %v", resp, err)
	}

	// With the key: the data made before keys belongs to project default.
	c := srv.as(admin)
	c.mustDo(viewer, nil, &v)
	if !v.Viewer.Authenticated || v.Viewer.Project == nil || *v.Viewer.Project != "default" || strings.Join(v.Viewer.Scopes, ",") != "ADMIN" {
		t.Fatalf("viewer with key: %+v", v.Viewer)
	}
	var list struct{ Datasets struct{ TotalCount int } }
	c.mustDo(`{ datasets { totalCount } }`, nil, &list)
	if list.Datasets.TotalCount != 1 {
		t.Errorf("the default project sees %d datasets, want 1", list.Datasets.TotalCount)
	}
	// The playground page, health check and metrics stay open.
	for _, path := range []string{"/", "/healthz", "/metrics"} {
		resp, err := http.Get(srv.http.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", path, resp, err)
		}
	}

	// A restart keeps auth on: it follows from the stored keys.
	srv = srv.restart()
	mustBeUnauthenticated(t, srv, `{ datasets { totalCount } }`)
	srv.as(admin).mustDo(`{ datasets { totalCount } }`, nil, &list)

	// -auth=off: no key needed even though keys exist.
	srv.stop()
	off := startServer(t, dsn, withAuth("off"))
	off.mustDo(`{ datasets { totalCount } }`, nil, &list)
	off.mustDo(viewer, nil, &v)
	if v.Viewer.Authenticated || v.Viewer.AuthMode != "off" {
		t.Errorf("off: %+v", v.Viewer)
	}
	off.stop()

	// -auth=required on a database without keys: nothing is open, not
	// even key creation.
	req2 := startServer(t, testdb.New(t), withAuth("required"))
	mustBeUnauthenticated(t, req2, `{ viewer { authenticated } }`)
	mustBeUnauthenticated(t, req2, `mutation { createApiKey(input: {name: "x", scopes: [ADMIN]}) { key } }`)
}

// allScopes checks what keys of each scope may do: every operation is
// allowed to its scope (and ADMIN) and FORBIDDEN to the others, and a
// forbidden mutation changes nothing.
func TestScopes(t *testing.T) {
	srv := newServer(t)
	admin, _ := srv.createKey("admin", "", "ADMIN")
	a := srv.as(admin)
	keys := map[string]string{"ADMIN": admin}
	for _, scope := range []string{"READ", "PREDICT", "TRAIN"} {
		keys[scope], _ = a.createKey(strings.ToLower(scope), "", scope)
	}
	ds := a.createDataset("iris", datasetCSV(t, "iris", false))
	m := a.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	row := map[string]any{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}

	// Each operation needs scope (and also, if set, and).
	ops := []struct {
		name, scope, query string
		vars               map[string]any
		and                string
	}{
		{"datasets", "READ", `{ datasets { totalCount } }`, nil, ""},
		{"model", "READ", `query($id: ID!) { model(id: $id) { status } }`, map[string]any{"id": m.ID}, ""},
		{"algorithms", "READ", `{ algorithms { name } }`, nil, ""},
		{"leaderboard", "READ", `query($id: ID!) { leaderboard(modelIds: [$id]) { complete } }`, map[string]any{"id": m.ID}, ""},
		{"predict", "PREDICT", `mutation($id: ID!, $r: JSON!) { predict(input: {modelId: $id, records: [$r]}) { outputs { label } } }`, map[string]any{"id": m.ID, "r": row}, ""},
		{"createDataset", "TRAIN", `mutation { createDataset(input: {name: "t", csv: "a,b\n1,2\n"}) { id } }`, nil, ""},
		{"trainModel", "TRAIN", `mutation($id: ID!) { trainModel(input: {datasetId: $id, target: "target", algorithm: NAIVE_BAYES}, wait: true) { status } }`, map[string]any{"id": ds.ID}, ""},
		{"predictDataset", "TRAIN", `mutation($m: ID!, $d: ID!) { predictDataset(modelId: $m, datasetId: $d) { rowCount } }`, map[string]any{"m": m.ID, "d": ds.ID}, ""},
		{"apiKeys", "ADMIN", `{ apiKeys { id } }`, nil, ""},
		{"createApiKey", "ADMIN", `mutation { createApiKey(input: {name: "k", scopes: [READ]}) { key } }`, nil, ""},
		{"deleteModel", "ADMIN", `mutation { deleteModel(id: "987654") }`, nil, ""},
		// A PREDICT key sees predictions but not the model (and its
		// dataset) behind them.
		{"predict.model", "PREDICT", `mutation($id: ID!, $r: JSON!) { predict(input: {modelId: $id, records: [$r]}) { model { id } } }`, map[string]any{"id": m.ID, "r": row}, "READ"},
	}
	counts := func() string {
		var out struct {
			Datasets struct{ TotalCount int }
			Models   struct{ TotalCount int }
			ApiKeys  []struct{ ID string }
		}
		a.mustDo(`{ datasets { totalCount } models { totalCount } apiKeys { id } }`, nil, &out)
		return strconv.Itoa(out.Datasets.TotalCount) + "/" + strconv.Itoa(out.Models.TotalCount) + "/" + strconv.Itoa(len(out.ApiKeys))
	}
	for _, op := range ops {
		for scope, key := range keys {
			c := srv.as(key)
			allowed := scope == "ADMIN" || scope == op.scope && op.and == ""
			if !allowed {
				missing := op.scope
				if scope == op.scope {
					missing = op.and
				}
				before := counts()
				e := c.mustFail(op.query, op.vars, "FORBIDDEN", missing)
				if strings.Contains(e.Message, m.ID+" ") || strings.Contains(e.Message, "iris") {
					t.Errorf("%s as %s: message %q tells of data", op.name, scope, e.Message)
				}
				if after := counts(); after != before {
					t.Errorf("%s as %s was refused but changed datasets/models/keys from %s to %s", op.name, scope, before, after)
				}
				continue
			}
			out := c.do(op.query, op.vars)
			for _, e := range out.Errors {
				if code := e.Extensions["code"]; code == "FORBIDDEN" || code == "UNAUTHENTICATED" {
					t.Errorf("%s as %s: %s %q", op.name, scope, code, e.Message)
				}
			}
		}
	}
	// The report image needs READ too.
	for scope, want := range map[string]int{"READ": 200, "PREDICT": 403, "": 401} {
		req, _ := http.NewRequest("GET", srv.http.URL+"/models/"+m.ID+"/report.svg", nil)
		if scope != "" {
			req.Header.Set("Authorization", "Bearer "+keys[scope])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("report.svg with %q key: %d, want %d", scope, resp.StatusCode, want)
		}
	}
}

// TestProjectIsolation: a key of one project can neither see nor use nor
// delete another project's datasets, models and predictions, and its
// errors are those of ids that do not exist.
func TestProjectIsolation(t *testing.T) {
	srv := newServer(t)
	root, _ := srv.createKey("root", "", "ADMIN")
	r := srv.as(root)
	// Keys of other projects come from the command line; here, from the
	// store directly through the same service call.
	keyOf := func(project string) string {
		secret, _, err := srv.app.service.CreateAPIKey(context.Background(), newKey(project))
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	acme, rival := srv.as(keyOf("acme")), srv.as(keyOf("rival"))

	ds := acme.createDataset("acme-iris", datasetCSV(t, "iris", false))
	m := acme.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "DECISION_TREE"})
	row := map[string]any{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}
	p := acme.predict(map[string]any{"modelId": m.ID, "records": []any{row}})
	if p.ID == nil || m.Status != "READY" {
		t.Fatalf("acme's model %+v, prediction %+v", m.Status, p)
	}
	rivalDS := rival.createDataset("rival-data", "a,target\n1,x\n2,y\n3,x\n4,y\n")

	// An id that exists nowhere, to compare the errors with.
	const nowhere = "999999"
	type probe struct {
		name, query string
		vars        func(id string) map[string]any
		code        string
	}
	model := func(id string) map[string]any { return map[string]any{"id": id} }
	probes := []probe{
		{"model", `query($id: ID!) { model(id: $id) { id } }`, model, "NOT_FOUND"},
		{"predict", `mutation($id: ID!, $r: JSON!) { predict(input: {modelId: $id, records: [$r]}) { id } }`,
			func(id string) map[string]any { return map[string]any{"id": id, "r": row} }, "NOT_FOUND"},
		{"cancelTraining", `mutation($id: ID!) { cancelTraining(id: $id) { id } }`, model, "NOT_FOUND"},
		{"deleteModel", `mutation($id: ID!) { deleteModel(id: $id) }`, model, "NOT_FOUND"},
		{"leaderboard", `query($id: ID!) { leaderboard(modelIds: [$id]) { complete } }`, model, "NOT_FOUND"},
		{"predictDataset(model)", `mutation($id: ID!, $d: ID!) { predictDataset(modelId: $id, datasetId: $d) { id } }`,
			func(id string) map[string]any { return map[string]any{"id": id, "d": rivalDS.ID} }, "NOT_FOUND"},
		{"dataset", `query($id: ID!) { dataset(id: $id) { id } }`, model, "NOT_FOUND"},
		{"deleteDataset", `mutation($id: ID!) { deleteDataset(id: $id) }`, model, "NOT_FOUND"},
		{"trainModel", `mutation($id: ID!) { trainModel(input: {datasetId: $id, target: "target", algorithm: KNN}) { id } }`, model, "NOT_FOUND"},
		{"tuneModel", `mutation($id: ID!) { tuneModel(input: {datasetId: $id, target: "target", algorithm: KNN, grid: {k: [1, 3]}}) { id } }`, model, "NOT_FOUND"},
		{"compareModels", `mutation($id: ID!) { compareModels(input: {datasetId: $id, target: "target", algorithms: [KNN]}) { complete } }`, model, "NOT_FOUND"},
	}
	for _, pr := range probes {
		id := m.ID
		if strings.HasPrefix(pr.name, "dataset") || strings.HasPrefix(pr.name, "deleteDataset") || pr.name == "trainModel" || pr.name == "tuneModel" || pr.name == "compareModels" {
			id = ds.ID
		}
		theirs := rival.do(pr.query, pr.vars(id))
		none := rival.do(pr.query, pr.vars(nowhere))
		if len(theirs.Errors) == 0 || len(none.Errors) == 0 {
			t.Errorf("%s of another project's %s: %s (errors %+v)", pr.name, id, theirs.Data, theirs.Errors)
			continue
		}
		got, want := theirs.Errors[0], none.Errors[0]
		if pr.code != "" && got.Extensions["code"] != pr.code {
			t.Errorf("%s: code %v, want %s (%q)", pr.name, got.Extensions["code"], pr.code, got.Message)
		}
		// The same answer as for an id that does not exist, but for the id.
		if got.Extensions["code"] != want.Extensions["code"] || strings.ReplaceAll(got.Message, id, nowhere) != want.Message {
			t.Errorf("%s: another project's id answers %v %q, a missing id %v %q", pr.name, got.Extensions["code"], got.Message, want.Extensions["code"], want.Message)
		}
	}
	// Lists and counts hold only the caller's own.
	var lists struct {
		Datasets struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
		Models struct{ TotalCount int }
	}
	rival.mustDo(`{ datasets { totalCount edges { node { id } } } models { totalCount } }`, nil, &lists)
	if lists.Datasets.TotalCount != 1 || lists.Datasets.Edges[0].Node.ID != rivalDS.ID || lists.Models.TotalCount != 0 {
		t.Errorf("rival's lists: %+v", lists)
	}
	var byDataset struct{ Models struct{ TotalCount int } }
	rival.mustDo(`query($id: ID!) { models(datasetId: $id) { totalCount } }`, map[string]any{"id": ds.ID}, &byDataset)
	if byDataset.Models.TotalCount != 0 {
		t.Errorf("rival counts %d models of acme's dataset", byDataset.Models.TotalCount)
	}
	// The root key of the default project sees neither.
	r.mustDo(`{ datasets { totalCount edges { node { id } } } models { totalCount } }`, nil, &lists)
	if lists.Datasets.TotalCount != 0 || lists.Models.TotalCount != 0 {
		t.Errorf("default project's lists: %+v", lists)
	}
	// An admin key makes keys of its own project only.
	rival.mustFail(`mutation { createApiKey(input: {name: "x", scopes: [ADMIN], project: "acme"}) { key } }`, nil, "FORBIDDEN", "own project")
	var keyList struct{ ApiKeys []apiKeyJSON }
	rival.mustDo(`{ apiKeys { id project } }`, nil, &keyList)
	if len(keyList.ApiKeys) != 1 || keyList.ApiKeys[0].Project != "rival" {
		t.Errorf("rival's keys: %+v", keyList.ApiKeys)
	}
	rival.mustFail(`mutation { revokeApiKey(id: "1") { id } }`, nil, "NOT_FOUND")
	// Subscriptions: another project's model is not there.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := rival.dialWS(ctx)
	defer ws.conn.Close(websocket.StatusNormalClosure, "")
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { trainingProgress(modelId: $id) { status } }`, "variables": map[string]any{"id": m.ID},
	}})
	if msg := ws.read(); !strings.Contains(string(msg.Payload), "NOT_FOUND") {
		t.Errorf("rival subscribing to acme's model: %s %s", msg.Type, msg.Payload)
	}
	// The report image is not found either.
	req, _ := http.NewRequest("GET", srv.http.URL+"/models/"+m.ID+"/report.svg", nil)
	req.Header.Set("Authorization", "Bearer "+rival.key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("rival's report.svg of acme's model: %v %v", resp, err)
	}

	// Acme's data is all there, untouched, and still works.
	var mine struct {
		Model struct {
			Status      string
			Project     string
			Predictions struct{ TotalCount int }
			Dataset     struct{ ID, Project string }
		}
	}
	acme.mustDo(`query($id: ID!) { model(id: $id) { status project predictions { totalCount } dataset { id project } } }`, map[string]any{"id": m.ID}, &mine)
	if mine.Model.Status != "READY" || mine.Model.Project != "acme" || mine.Model.Predictions.TotalCount != 1 || mine.Model.Dataset.ID != ds.ID || mine.Model.Dataset.Project != "acme" {
		t.Errorf("acme's model after rival's attempts: %+v", mine.Model)
	}
	acme.predict(map[string]any{"modelId": m.ID, "records": []any{row}})
}

// TestRevokeAndRateLimit: a revoked key stops working at once; a key with
// a rate limit gets 429 RATE_LIMITED with Retry-After past it, while other
// keys are unaffected.
func TestRevokeAndRateLimit(t *testing.T) {
	srv := newServer(t)
	admin, _ := srv.createKey("admin", "", "ADMIN")
	a := srv.as(admin)
	reader, rec := a.createKey("reader", "", "READ")
	const q = `{ datasets { totalCount } }`
	var out map[string]any
	srv.as(reader).mustDo(q, nil, &out)
	var revoked struct{ RevokeApiKey apiKeyJSON }
	a.mustDo(`mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, map[string]any{"id": rec.ID}, &revoked)
	if revoked.RevokeApiKey.RevokedAt == nil {
		t.Fatalf("revoke: %+v", revoked)
	}
	mustBeUnauthenticated(t, srv.as(reader), q)

	var limited struct {
		CreateApiKey struct{ Key string }
	}
	a.mustDo(`mutation { createApiKey(input: {name: "slow", scopes: [READ], rateLimit: 2}) { key } }`, nil, &limited)
	slow := srv.as(limited.CreateApiKey.Key)
	ok, refused := 0, 0
	var retryAfter string
	for range 6 {
		resp, body := slow.raw(q, nil)
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
			retryAfter = resp.Header.Get("Retry-After")
			if len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != "RATE_LIMITED" {
				t.Errorf("429 body: %+v", body.Errors)
			}
		default:
			t.Fatalf("status %d: %+v", resp.StatusCode, body.Errors)
		}
	}
	// A burst of 2 (one second's worth), then refusals: six quick requests
	// cannot all be refilled.
	if ok < 2 || refused == 0 || ok+refused != 6 {
		t.Errorf("rate limit 2/s: %d allowed, %d refused", ok, refused)
	}
	if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 2 {
		t.Errorf("Retry-After %q", retryAfter)
	}
	// Another key is not limited by slow's spending.
	for range 10 {
		a.mustDo(q, nil, &out)
	}
	bad := []map[string]any{{"name": "", "scopes": []string{"READ"}}, {"name": "x", "scopes": []string{}}, {"name": "x", "scopes": []string{"READ"}, "rateLimit": -1}}
	for _, input := range bad {
		a.mustFail(createKeyMutation, map[string]any{"input": input}, "BAD_USER_INPUT")
	}
}

// TestWebsocketAuth: subscriptions authenticate in connection_init, and a
// connection without a valid key is closed with 4403.
func TestWebsocketAuth(t *testing.T) {
	srv := newServer(t)
	admin, _ := srv.createKey("admin", "", "ADMIN")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws := srv.as(admin).dialWS(ctx)
	ws.conn.Close(websocket.StatusNormalClosure, "")

	for _, payload := range []map[string]any{{}, {"Authorization": "Bearer mlg_wrong"}} {
		url := "ws" + strings.TrimPrefix(srv.http.URL, "http") + "/query"
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
			t.Fatal(err)
		}
		var msg map[string]any
		err = wsjson.Read(ctx, conn, &msg)
		for err == nil && msg["type"] != "connection_ack" { // a connection_error may come first
			err = wsjson.Read(ctx, conn, &msg)
		}
		if code := websocket.CloseStatus(err); code != 4403 {
			t.Errorf("init payload %v: close status %d (%v), message %v", payload, code, err, msg)
		}
		conn.CloseNow()
	}
}

// TestKeysCommand: the keys command makes, lists and revokes keys in the
// database; a server on it accepts the key, and the database holds only
// its hash.
func TestKeysCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "keys.db")
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runKeys(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errText := run("create", "-db", db, "--scope", "read,predict", "--name", "frontend", "--project", "shop")
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, "mlg_") || strings.Count(out, "\n") != 1 || !strings.Contains(errText, "shown only this once") {
		t.Fatalf("create: %d %q %q", code, out, errText)
	}
	if code, _, errText := run("create", "-db", db, "--scope", "root"); code != 2 || !strings.Contains(errText, `unknown scope "root"`) {
		t.Errorf("bad scope: %d %q", code, errText)
	}
	if code, _, errText := run("create", "-db", db, "--scope", "read", "--project", "a b"); code != 1 || !strings.Contains(errText, `invalid project "a b"`) {
		t.Errorf("bad project: %d %q", code, errText)
	}
	if code, _, _ := run("frobnicate", "-db", db); code != 2 {
		t.Errorf("unknown command: %d", code)
	}
	code, out, _ = run("list", "-db", db)
	if code != 0 || !strings.Contains(out, "frontend") || !strings.Contains(out, "shop") || !strings.Contains(out, "read,predict") || strings.Contains(out, secret) {
		t.Errorf("list: %d\n%s", code, out)
	}

	srv := startServer(t, db)
	var v struct{ Viewer struct{ Project *string } }
	srv.as(secret).mustDo(`{ viewer { project } }`, nil, &v)
	if v.Viewer.Project == nil || *v.Viewer.Project != "shop" {
		t.Errorf("viewer %+v", v.Viewer)
	}
	mustBeUnauthenticated(t, srv, `{ viewer { project } }`)
	srv.stop()

	if code, _, errText := run("revoke", "-db", db, "1"); code != 0 || !strings.Contains(errText, "revoked") {
		t.Fatalf("revoke: %d %q", code, errText)
	}
	srv = startServer(t, db)
	mustBeUnauthenticated(t, srv.as(secret), `{ viewer { project } }`)
	srv.stop()

	// Only the hash is stored: the secret is nowhere in the database files.
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte(secret[4:])) {
			t.Errorf("%s holds the secret", f)
		}
	}
}

// newKey describes an ADMIN key of project.
func newKey(project string) service.NewAPIKey {
	return service.NewAPIKey{Name: project + " admin", Project: project, Scopes: []string{service.ScopeAdmin}}
}

// TestAuthModeIsLogged: a server that lets requests in without a key says
// so at start as a warning; one that needs keys says that.
func TestAuthModeIsLogged(t *testing.T) {
	logged := func(srv *testServer) string {
		var buf bytes.Buffer
		logAuthMode(context.Background(), slog.New(slog.NewTextHandler(&buf, nil)), srv.app.service)
		return buf.String()
	}
	dsn := testdb.New(t)
	srv := startServer(t, dsn, withAuth("off"))
	if got := logged(srv); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "AUTHENTICATION IS OFF (-auth=off)") {
		t.Errorf("-auth=off logs %q", got)
	}
	srv.stop()
	srv = startServer(t, dsn)
	if got := logged(srv); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "until the first API key exists") {
		t.Errorf("-auth=auto without keys logs %q", got)
	}
	srv.createKey("first", "", "ADMIN")
	if got := logged(srv); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "authentication on") {
		t.Errorf("-auth=auto with a key logs %q", got)
	}
}
