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
	"strconv"
	"strings"
	"testing"
)

// BenchmarkPredictGraphQL measures the predict mutation end to end over
// loopback HTTP (a trained logistic regression on iris, predictions not
// saved), with one and with 100 rows per request, sent as rows ([[Float]])
// or as csv text, or as rows saved (each prediction stored, by group
// commit), b.RunParallel clients.
//
//	go test -run '^$' -bench PredictGraphQL -benchtime 3s -cpu 2 .
func BenchmarkPredictGraphQL(b *testing.B) {
	srv := newServer(b)
	iris := srv.createDataset("iris", datasetCSV(b, "iris", false)).ID
	m := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	for _, rows := range []int{1, 100} {
		batch := make([][]float64, rows)
		var text strings.Builder
		for i := range batch {
			batch[i] = []float64{5.1 + float64(i%10)/10, 3.5, 1.4 + float64(i%30)/10, 0.2}
			for j, v := range batch[i] {
				if j > 0 {
					text.WriteByte(',')
				}
				text.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
			text.WriteByte('\n')
		}
		for _, form := range []string{"rows", "csv", "saved"} {
			var body []byte
			switch form {
			case "saved": // rows, and each prediction stored (group commit)
				body, _ = json.Marshal(map[string]any{
					"query":     `mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows}) { id labels } }`,
					"variables": map[string]any{"id": m.ID, "rows": batch},
				})
			case "rows":
				body, _ = json.Marshal(map[string]any{
					"query":     `mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows, save: false}) { labels } }`,
					"variables": map[string]any{"id": m.ID, "rows": batch},
				})
			default:
				body, _ = json.Marshal(map[string]any{
					"query":     `mutation($id: ID!, $csv: String!) { predict(input: {modelId: $id, csv: $csv, save: false}) { labels } }`,
					"variables": map[string]any{"id": m.ID, "csv": text.String()},
				})
			}
			b.Run(fmt.Sprintf("rows=%d/%s", rows, form), func(b *testing.B) {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				b.SetBytes(int64(len(body)))
				// 16 clients on 2 CPUs, as the comparison's 16 connections.
				b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(srv.http.URL+"/query", "application/json", bytes.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkPredictHandler measures the server's own work for a predict
// request: the whole HTTP handler (middleware, GraphQL, prediction,
// response), called in-process without a network or a client, so that
// allocations per request are the server's alone.
//
//	go test -run '^$' -bench PredictHandler -benchmem .
func BenchmarkPredictHandler(b *testing.B) {
	srv := newServer(b)
	iris := srv.createDataset("iris", datasetCSV(b, "iris", false)).ID
	m := srv.train(map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	one := map[string]any{
		"query":     `mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows, save: false}) { labels } }`,
		"variables": map[string]any{"id": m.ID, "rows": [][]float64{{5.1, 3.5, 1.4, 0.2}}},
	}
	var text strings.Builder
	for i := range 100 {
		fmt.Fprintf(&text, "%g,3.5,%g,0.2\n", 5.1+float64(i%10)/10, 1.4+float64(i%30)/10)
	}
	hundred := map[string]any{
		"query":     `mutation($id: ID!, $csv: String!) { predict(input: {modelId: $id, csv: $csv, save: false}) { labels } }`,
		"variables": map[string]any{"id": m.ID, "csv": text.String()},
	}
	var raw []byte
	for i := range 100 {
		for _, v := range []float64{5.1 + float64(i%10)/10, 3.5, 1.4 + float64(i%30)/10, 0.2} {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	}
	packed := map[string]any{
		"query":     `mutation($id: ID!, $p: String!) { predict(input: {modelId: $id, packed: $p, save: false}) { labels } }`,
		"variables": map[string]any{"id": m.ID, "p": base64.StdEncoding.EncodeToString(raw)},
	}
	for _, c := range []struct {
		name string
		body map[string]any
	}{{"rows=1", one}, {"rows=100/csv", hundred}, {"rows=100/packed", packed}} {
		body, _ := json.Marshal(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
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
