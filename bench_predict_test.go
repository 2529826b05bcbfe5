package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// predictBody is one predict request the benchmarks send, named like
// "rows=100/csv", with its rows per request.
type predictBody struct {
	name string
	rows int
	body []byte
}

// predictFixture starts a server, trains a logistic regression on iris and
// makes the request bodies: rows as [[Float]], csv text, packed float64s,
// and rows saved (each prediction stored, by group commit), with 1 and
// 100 rows.
func predictFixture(b *testing.B) (*testServer, []predictBody) {
	srv := newServer(b)
	iris := srv.createDataset("iris", datasetCSV(b, "iris", false)).ID
	m := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	request := func(query string, vars map[string]any) []byte {
		vars["id"] = m.ID
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		return body
	}
	var bodies []predictBody
	for _, n := range []int{1, 100} {
		rows := make([][]float64, n)
		var text strings.Builder
		var raw []byte
		for i := range rows {
			rows[i] = []float64{5.1 + float64(i%10)/10, 3.5, 1.4 + float64(i%30)/10, 0.2}
			for j, v := range rows[i] {
				if j > 0 {
					text.WriteByte(',')
				}
				text.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
			}
			text.WriteByte('\n')
		}
		for form, body := range map[string][]byte{
			"rows": request(`mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows, save: false}) { labels } }`,
				map[string]any{"rows": rows}),
			"csv": request(`mutation($id: ID!, $csv: String!) { predict(input: {modelId: $id, csv: $csv, save: false}) { labels } }`,
				map[string]any{"csv": text.String()}),
			"packed": request(`mutation($id: ID!, $p: String!) { predict(input: {modelId: $id, packed: $p, save: false}) { labels } }`,
				map[string]any{"p": base64.StdEncoding.EncodeToString(raw)}),
			"saved": request(`mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows}) { id labels } }`,
				map[string]any{"rows": rows}),
		} {
			bodies = append(bodies, predictBody{name: fmt.Sprintf("rows=%d/%s", n, form), rows: n, body: body})
		}
	}
	// A map's order is random: the benchmarks run in a fixed one.
	slices.SortFunc(bodies, func(a, b predictBody) int { return strings.Compare(a.name, b.name) })
	return srv, bodies
}

// BenchmarkPredictGraphQL measures the predict mutation end to end over
// loopback HTTP (a trained logistic regression on iris), with one and
// with 100 rows per request in every form (see predictFixture), 16
// b.RunParallel clients.
//
//	go test -run '^$' -bench PredictGraphQL -benchtime 3s -cpu 2 .
func BenchmarkPredictGraphQL(b *testing.B) {
	srv, bodies := predictFixture(b)
	for _, p := range bodies {
		b.Run(p.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetBytes(int64(len(p.body)))
			// 16 clients on 2 CPUs, as the comparison's 16 connections.
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(srv.http.URL+"/query", "application/json", bytes.NewReader(p.body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N*p.rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkPredictHandler measures the server's own work for a predict
// request: the whole HTTP handler (middleware, GraphQL, prediction,
// response), called in-process without a network or a client, so that
// allocations per request are the server's alone.
//
//	go test -run '^$' -bench PredictHandler -benchmem .
func BenchmarkPredictHandler(b *testing.B) {
	srv, bodies := predictFixture(b)
	for _, p := range bodies {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(p.body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				srv.app.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
