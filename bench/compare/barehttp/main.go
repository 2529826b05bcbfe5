// Command barehttp is the baseline of bench/compare's prediction load: a
// bare net/http handler, no GraphQL, that decodes {"instances": [[...]]}
// with encoding/json, predicts with the same logistic regression mlgraph
// trains on iris (the ml package), and answers {"predictions": [...]}
// with encoding/json. What mlgraph's GraphQL predict adds on top of this is
// the cost of its API.
//
//	go run ./bench/compare/barehttp -addr 127.0.0.1:9191 -iris testdata/iris.csv
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"

	"mlgraph/internal/csvdata"
	"mlgraph/ml"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9191", "listen address (loopback)")
	iris := flag.String("iris", "testdata/iris.csv", "the iris CSV to train on")
	flag.Parse()
	text, err := os.ReadFile(*iris)
	if err != nil {
		log.Fatal(err)
	}
	cols, _, err := csvdata.Parse(string(text), csvdata.Detect)
	if err != nil {
		log.Fatal(err)
	}
	features, target := cols[:len(cols)-1], cols[len(cols)-1]
	model, err := ml.Train(context.Background(), ml.TrainConfig{Algorithm: "LOGISTIC_REGRESSION"}, features, target)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Instances [][]float64 `json:"instances"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Instances) == 0 {
			http.Error(w, `{"error": "want {\"instances\": [[...]]}"}`, http.StatusBadRequest)
			return
		}
		x := make([]*ml.Column, len(features))
		for j, f := range features {
			num := make([]float64, len(req.Instances))
			for i, row := range req.Instances {
				if len(row) != len(features) {
					http.Error(w, `{"error": "wrong row length"}`, http.StatusBadRequest)
					return
				}
				num[i] = row[j]
			}
			x[j] = ml.NewNumeric(f.Name, num)
		}
		out, err := model.Predict(x)
		if err != nil {
			http.Error(w, `{"error": "predict"}`, http.StatusBadRequest)
			return
		}
		labels := make([]string, len(out.Labels))
		for i, k := range out.Labels {
			labels[i] = model.Classes[k]
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"predictions": labels})
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
