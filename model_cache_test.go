package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// mustQuery sends a GraphQL request that must succeed and decodes its
// data into dst.
func mustQuery(t *testing.T, srv *operatedServer, query string, vars map[string]any, dst any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_, out := srv.graphql(string(body), nil)
	if len(out.Errors) > 0 {
		t.Fatalf("errors: %+v", out.Errors)
	}
	if err := json.Unmarshal(out.Data, dst); err != nil {
		t.Fatalf("decode %s: %v", out.Data, err)
	}
}

// TestModelCacheConfig: -model-cache and MLGRAPH_MODEL_CACHE set the model
// cache's memory budget, default 256 MiB, and bad sizes are refused.
func TestModelCacheConfig(t *testing.T) {
	t.Setenv("MLGRAPH_MODEL_CACHE", "")
	if c, err := parseConfig(nil, io.Discard); err != nil || c.modelCache != 256<<20 {
		t.Errorf("default: %d, %v; want 256 MiB", c.modelCache, err)
	}
	if c, err := parseConfig([]string{"-model-cache", "64MiB"}, io.Discard); err != nil || c.modelCache != 64<<20 {
		t.Errorf("-model-cache 64MiB: %d, %v", c.modelCache, err)
	}
	t.Setenv("MLGRAPH_MODEL_CACHE", "1GB")
	if c, err := parseConfig(nil, io.Discard); err != nil || c.modelCache != 1e9 {
		t.Errorf("MLGRAPH_MODEL_CACHE=1GB: %d, %v", c.modelCache, err)
	}
	if c, err := parseConfig([]string{"-model-cache=2GiB"}, io.Discard); err != nil || c.modelCache != 2<<30 {
		t.Errorf("-model-cache=2GiB over MLGRAPH_MODEL_CACHE=1GB: %d, %v", c.modelCache, err)
	}
	t.Setenv("MLGRAPH_MODEL_CACHE", "plenty")
	if _, err := parseConfig(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MLGRAPH_MODEL_CACHE") {
		t.Errorf("MLGRAPH_MODEL_CACHE=plenty: %v", err)
	}
	t.Setenv("MLGRAPH_MODEL_CACHE", "")
	for _, bad := range []string{"0", "-1MiB", "lots", "12XB"} {
		var stderr bytes.Buffer
		_, err := parseConfig([]string{"-model-cache", bad}, &stderr)
		if err == nil {
			t.Errorf("-model-cache %s accepted", bad)
			continue
		}
		for _, f := range []string{"-model-cache", `"` + bad + `"`, "64MiB"} {
			if !strings.Contains(err.Error(), f) || !strings.Contains(stderr.String(), f) {
				t.Errorf("-model-cache %s: error %q (printed %q) does not mention %s", bad, err, stderr.String(), f)
			}
		}
	}
}

// TestModelCacheBudgetIsWired: the budget reaches the service. With one
// byte, every model is over it: predictions work, nothing is kept, and
// /metrics says so; with the default, the model is kept and its bytes
// counted.
func TestModelCacheBudgetIsWired(t *testing.T) {
	const train = `mutation($csv: String!) {
		createDataset(input: {name: "lines", csv: $csv}) { id }
	}`
	for _, tc := range []struct {
		name string
		opts []appOption
		kept bool
	}{
		{"one byte", []appOption{withModelCache(1)}, false},
		{"default", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startOperatedServer(t, append(tc.opts, withAuth("off"))...)
			var d struct{ CreateDataset struct{ ID string } }
			mustQuery(t, srv, train, map[string]any{"csv": "x,y\n1,2\n2,4.1\n3,6\n4,7.9\n5,10\n"}, &d)
			var m struct{ TrainModel struct{ ID, Status string } }
			mustQuery(t, srv, `mutation($d: ID!) { trainModel(wait: true, input: {datasetId: $d, target: "y", algorithm: LINEAR_REGRESSION, split: {method: NONE}}) { id status } }`,
				map[string]any{"d": d.CreateDataset.ID}, &m)
			if m.TrainModel.Status != "READY" {
				t.Fatalf("model %+v", m.TrainModel)
			}
			for range 2 {
				var p struct {
					Predict struct{ Outputs []struct{ Value float64 } }
				}
				mustQuery(t, srv, `mutation($m: ID!) { predict(input: {modelId: $m, save: false, rows: [[6]]}) { outputs { value } } }`,
					map[string]any{"m": m.TrainModel.ID}, &p)
				if len(p.Predict.Outputs) != 1 || p.Predict.Outputs[0].Value < 11 || p.Predict.Outputs[0].Value > 13 {
					t.Errorf("prediction %+v", p.Predict.Outputs)
				}
			}
			_, raw := srv.request("GET", "/metrics", "", nil)
			text := string(raw)
			models, bytes := metricValue(text, "mlgraph_model_cache_models"), metricValue(text, "mlgraph_model_cache_bytes")
			misses := metricValue(text, "mlgraph_model_cache_misses_total")
			if tc.kept && (models != 1 || bytes < 2048 || misses != 0) {
				t.Errorf("default budget: %v models, %v bytes, %v misses; want the model kept since training", models, bytes, misses)
			}
			if !tc.kept && (models != 0 || bytes != 0 || misses != 2) {
				t.Errorf("one-byte budget: %v models, %v bytes, %v misses; want nothing kept, two misses", models, bytes, misses)
			}
		})
	}
}
