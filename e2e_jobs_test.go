package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"mlgraph/internal/testdb"
)

// A training long enough to watch and cancel: an MLP on digits that only
// stops at its epoch limit.
func slowTraining(datasetID string, epochs int) map[string]any {
	return map[string]any{"datasetId": datasetID, "target": "target", "algorithm": "MLP", "task": "CLASSIFICATION",
		"split":  map[string]any{"method": "CUSTOM", "column": "split"},
		"params": map[string]any{"hiddenLayerSizes": "32", "maxIter": epochs, "tol": 0, "nIterNoChange": epochs}}
}

const submitTraining = `mutation($input: TrainModelInput!) { trainModel(input: $input) { id status } }`

func (s *testServer) submit(input map[string]any) string {
	s.t.Helper()
	var out struct{ TrainModel struct{ ID, Status string } }
	s.mustDo(submitTraining, map[string]any{"input": input}, &out)
	if out.TrainModel.Status != "QUEUED" {
		s.t.Fatalf("submitted model is %s, want QUEUED", out.TrainModel.Status)
	}
	return out.TrainModel.ID
}

// waitStatus polls a model until its status is one of want (bounded).
func (s *testServer) waitStatus(id string, want ...string) modelJSON {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out struct{ Model modelJSON }
		s.mustDo(`query($id: ID!) { model(id: $id) { id status error } }`, map[string]any{"id": id}, &out)
		for _, w := range want {
			if out.Model.Status == w {
				return out.Model
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("model %s is %s, waited for %v", id, out.Model.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAsyncTrainingAndProgress(t *testing.T) {
	srv := newServer(t)
	digits := srv.createDataset("digits", datasetCSV(t, "digits", true)).ID
	id := srv.submit(slowTraining(digits, 40))
	srv.waitStatus(id, "TRAINING", "READY")
	var during struct {
		Model struct {
			Status   string
			Progress *struct {
				Fraction       float64
				Stage          string
				ElapsedSeconds float64
			}
		}
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { status progress { fraction stage elapsedSeconds } } }`, map[string]any{"id": id}, &during)
	if during.Model.Status == "TRAINING" && (during.Model.Progress == nil || during.Model.Progress.Fraction < 0 || during.Model.Progress.Fraction > 1) {
		t.Errorf("progress while training: %+v", during.Model.Progress)
	}
	done := srv.waitStatus(id, "READY", "FAILED", "CANCELLED")
	if done.Status != "READY" {
		t.Fatalf("model ended %s (%v)", done.Status, done.Error)
	}
	var after struct {
		Model struct{ Progress *struct{ Fraction float64 } }
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { progress { fraction } } }`, map[string]any{"id": id}, &after)
	if after.Model.Progress != nil {
		t.Errorf("a READY model has progress %+v", after.Model.Progress)
	}
}

// wsClient speaks graphql-transport-ws.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
	ctx  context.Context
}

func (s *testServer) dialWS(ctx context.Context) *wsClient {
	s.t.Helper()
	url := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/query"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		s.t.Fatalf("dial %s: %v", url, err)
	}
	c := &wsClient{t: s.t, conn: conn, ctx: ctx}
	payload := map[string]any{}
	if s.key != "" {
		payload["Authorization"] = "Bearer " + s.key
	}
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	if msg := c.read(); msg.Type != "connection_ack" {
		s.t.Fatalf("after connection_init: %+v", msg)
	}
	return c
}

type wsMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := wsjson.Write(c.ctx, c.conn, v); err != nil {
		c.t.Fatalf("websocket write: %v", err)
	}
}

func (c *wsClient) read() wsMessage {
	c.t.Helper()
	for {
		var m wsMessage
		if err := wsjson.Read(c.ctx, c.conn, &m); err != nil {
			c.t.Fatalf("websocket read: %v", err)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m
		}
	}
}

type trainingEvent struct {
	ModelID  string
	Status   string
	Error    *string
	Progress *struct {
		Fraction  float64
		Stage     string
		Iteration *int
		Loss      *float64
	}
	Model struct{ Status string }
}

// TestTrainingProgressSubscription follows a training over websocket from
// the first event to the last.
func TestTrainingProgressSubscription(t *testing.T) {
	srv := newServer(t)
	digits := srv.createDataset("digits", datasetCSV(t, "digits", true)).ID
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ws := srv.dialWS(ctx)
	defer ws.conn.Close(websocket.StatusNormalClosure, "")

	id := srv.submit(slowTraining(digits, 400))
	ws.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!) { trainingProgress(modelId: $id) { modelId status error progress { fraction stage iteration loss } model { status } } }`,
		"variables": map[string]any{"id": id},
	}})
	var events []trainingEvent
	for {
		msg := ws.read()
		if msg.Type == "complete" {
			break
		}
		if msg.Type != "next" {
			t.Fatalf("unexpected message %s: %s", msg.Type, msg.Payload)
		}
		var payload struct {
			Data   struct{ TrainingProgress trainingEvent }
			Errors []gqlError
		}
		if err := json.Unmarshal(msg.Payload, &payload); err != nil || len(payload.Errors) > 0 {
			t.Fatalf("event %s: %v", msg.Payload, err)
		}
		events = append(events, payload.Data.TrainingProgress)
	}
	if len(events) < 3 {
		t.Fatalf("%d events: %+v", len(events), events)
	}
	last := events[len(events)-1]
	if last.Status != "READY" || last.Model.Status != "READY" || last.ModelID != id {
		t.Errorf("last event %+v, want READY", last)
	}
	fraction, fitting := 0.0, false
	for _, e := range events[:len(events)-1] {
		if e.Status != "QUEUED" && e.Status != "TRAINING" || e.Progress == nil {
			t.Fatalf("event before the end: %+v", e)
		}
		if e.Progress.Fraction < fraction {
			t.Errorf("progress went back from %v to %v", fraction, e.Progress.Fraction)
		}
		fraction = e.Progress.Fraction
		if e.Progress.Stage == "fitting" && e.Progress.Iteration != nil && e.Progress.Loss != nil {
			fitting = true
		}
	}
	if !fitting {
		t.Errorf("no fitting event with iteration and loss among %+v", events)
	}

	// A finished model: one event, then complete.
	ws.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!) { trainingProgress(modelId: $id) { status progress { fraction } } }`,
		"variables": map[string]any{"id": id},
	}})
	if msg := ws.read(); msg.Type != "next" || !strings.Contains(string(msg.Payload), `"READY"`) {
		t.Errorf("subscription to a READY model: %s %s", msg.Type, msg.Payload)
	}
	if msg := ws.read(); msg.Type != "complete" {
		t.Errorf("want complete, got %s", msg.Type)
	}
	// An unknown model: an error with its code.
	ws.send(map[string]any{"id": "3", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { trainingProgress(modelId: "999") { status } }`,
	}})
	if msg := ws.read(); !strings.Contains(string(msg.Payload), "NOT_FOUND") {
		t.Errorf("subscription to an unknown model: %s %s", msg.Type, msg.Payload)
	}
}

func TestCancelTraining(t *testing.T) {
	srv := startServer(t, testdb.New(t), withWorkers(1))
	digits := srv.createDataset("digits", datasetCSV(t, "digits", true)).ID
	running := srv.submit(slowTraining(digits, 100000))
	queued := srv.submit(slowTraining(digits, 10))
	srv.waitStatus(running, "TRAINING")

	const cancelMutation = `mutation($id: ID!) { cancelTraining(id: $id) { id status error } }`
	var out struct{ CancelTraining modelJSON }
	srv.mustDo(cancelMutation, map[string]any{"id": queued}, &out)
	if out.CancelTraining.Status != "CANCELLED" || out.CancelTraining.Error == nil {
		t.Errorf("cancelled queued model: %+v", out.CancelTraining)
	}
	srv.mustDo(cancelMutation, map[string]any{"id": running}, &out)
	if out.CancelTraining.Status != "CANCELLED" || !strings.Contains(*out.CancelTraining.Error, "cancelled") {
		t.Errorf("cancelled running model: %+v", out.CancelTraining)
	}
	srv.mustFail(cancelMutation, map[string]any{"id": running}, "BAD_USER_INPUT", "CANCELLED")
	srv.mustFail(cancelMutation, map[string]any{"id": "999"}, "NOT_FOUND", "model")
	srv.mustFail(predictMutation, map[string]any{"input": map[string]any{"modelId": running, "rows": [][]float64{make([]float64, 64)}}},
		"BAD_USER_INPUT", "CANCELLED")

	// The worker is free again.
	next := srv.submit(map[string]any{"datasetId": digits, "target": "target", "algorithm": "NAIVE_BAYES", "task": "CLASSIFICATION"})
	if m := srv.waitStatus(next, "READY", "FAILED"); m.Status != "READY" {
		t.Errorf("training after a cancellation: %+v", m)
	}
}

// TestQueuedTrainingsSurviveRestart: a graceful stop queues the running
// training again and keeps the queued ones; the next start trains them.
func TestQueuedTrainingsSurviveRestart(t *testing.T) {
	dbPath := testdb.New(t)
	srv := startServer(t, dbPath, withWorkers(1), withShutdownGrace(50*time.Millisecond))
	digits := srv.createDataset("digits", datasetCSV(t, "digits", true)).ID
	long := srv.submit(slowTraining(digits, 100000))
	quick := srv.submit(map[string]any{"datasetId": digits, "target": "target", "algorithm": "KNN", "task": "CLASSIFICATION"})
	srv.waitStatus(long, "TRAINING")
	srv.stop()

	srv = startServer(t, dbPath, withWorkers(1))
	if m := srv.waitStatus(long, "QUEUED", "TRAINING", "FAILED"); m.Status == "FAILED" {
		t.Fatalf("interrupted training FAILED after a graceful stop: %v", m.Error)
	}
	srv.mustDo(`mutation($id: ID!) { cancelTraining(id: $id) { status } }`, map[string]any{"id": long}, &struct{}{})
	if m := srv.waitStatus(quick, "READY", "FAILED", "CANCELLED"); m.Status != "READY" {
		t.Errorf("queued training after restart: %+v", m)
	}
}
