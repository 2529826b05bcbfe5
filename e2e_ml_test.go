package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

const metricsFields = `rows r2 accuracy f1 silhouette inertia`

// TestCrossValidationAndImportance: crossValidate reports k folds and
// their summary; featureImportance ranks the features.
func TestCrossValidationAndImportance(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	var out struct {
		TrainModel struct {
			Status          string
			CrossValidation struct {
				Folds, Seed int
				Stratified  bool
				FoldMetrics []struct {
					Rows     int
					Accuracy float64
				}
				Mean, Std struct{ Accuracy float64 }
			}
			FeatureImportance []struct {
				Feature    string
				Importance float64
				Method     string
			}
		}
	}
	srv.mustDo(`mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { status
	  crossValidation { folds seed stratified foldMetrics { rows accuracy } mean { accuracy } std { accuracy } }
	  featureImportance { feature importance method } } }`,
		map[string]any{"input": map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
			"split": map[string]any{"method": "CUSTOM", "column": "split"}, "crossValidate": map[string]any{"folds": 4, "seed": 1}}}, &out)
	cv := out.TrainModel.CrossValidation
	if out.TrainModel.Status != "READY" || cv.Folds != 4 || cv.Seed != 1 || !cv.Stratified || len(cv.FoldMetrics) != 4 {
		t.Fatalf("cross-validation = %+v", cv)
	}
	var sum float64
	for _, f := range cv.FoldMetrics {
		if f.Rows != 30 { // 120 training rows in 4 stratified folds
			t.Errorf("fold scored %d rows, want 30", f.Rows)
		}
		sum += f.Accuracy
	}
	if math.Abs(cv.Mean.Accuracy-sum/4) > 1e-9 || cv.Mean.Accuracy < 0.9 {
		t.Errorf("mean accuracy %v, folds average %v", cv.Mean.Accuracy, sum/4)
	}
	imp := out.TrainModel.FeatureImportance
	if len(imp) != 4 {
		t.Fatalf("feature importance = %+v", imp)
	}
	var total float64
	best := imp[0]
	for _, f := range imp {
		total += f.Importance
		if f.Method != "COEFFICIENT" {
			t.Errorf("%s: method %s, want COEFFICIENT for a linear model", f.Feature, f.Method)
		}
		if f.Importance > best.Importance {
			best = f
		}
	}
	if math.Abs(total-1) > 1e-9 || !strings.HasPrefix(best.Feature, "petal") {
		t.Errorf("importances %+v: want them to sum to 1 with a petal feature first", imp)
	}
}

// TestTuneModel covers grid and random search.
func TestTuneModel(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	type tuned struct {
		TuneModel struct {
			ID, Status string
			Params     map[string]any
			Metrics    struct{ Accuracy, R2 float64 }
			Tuning     struct {
				Metric    string
				Folds     int
				BestTrial int
				Trials    []struct {
					Params     map[string]any
					Score, Std *float64
					Rank       *int
					Error      *string
				}
			}
		}
	}
	const tune = `mutation($input: TuneModelInput!) { tuneModel(input: $input, wait: true) { id status params metrics { accuracy r2 }
	  tuning { metric folds bestTrial trials { params score std rank error } } } }`
	var grid tuned
	srv.mustDo(tune, map[string]any{"input": map[string]any{
		"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION",
		"split":  map[string]any{"method": "CUSTOM", "column": "split"},
		"params": map[string]any{"maxIter": 500},
		"grid":   map[string]any{"C": []any{0.001, 1, 100}}, "folds": 3,
	}}, &grid)
	m := grid.TuneModel
	if m.Status != "READY" || m.Tuning.Metric != "ACCURACY" || m.Tuning.Folds != 3 || len(m.Tuning.Trials) != 3 {
		t.Fatalf("tuned model = %+v", m)
	}
	best := m.Tuning.Trials[m.Tuning.BestTrial]
	if *best.Rank != 1 || best.Params["C"] != m.Params["C"] || m.Params["maxIter"] != 500.0 {
		t.Errorf("best trial %+v, model params %v", best, m.Params)
	}
	for _, tr := range m.Tuning.Trials {
		if tr.Score == nil || *tr.Score > *best.Score || tr.Params["maxIter"] != 500.0 {
			t.Errorf("trial %+v beats or misses the best %+v", tr, best)
		}
	}
	if *m.Tuning.Trials[0].Score >= *best.Score {
		t.Errorf("C=0.001 (heavy regularisation) should lose: %v vs best %v", *m.Tuning.Trials[0].Score, *best.Score)
	}

	diabetes := srv.createDataset("diabetes", datasetCSV(t, "diabetes", true)).ID
	var random tuned
	srv.mustDo(tune, map[string]any{"input": map[string]any{
		"datasetId": diabetes, "target": "target", "algorithm": "RIDGE", "metric": "RMSE", "seed": 3,
		"split":  map[string]any{"method": "CUSTOM", "column": "split"},
		"random": map[string]any{"n": 5, "ranges": map[string]any{"alpha": map[string]any{"min": 0.001, "max": 10, "log": true}}},
	}}, &random)
	r := random.TuneModel
	if len(r.Tuning.Trials) != 5 || r.Tuning.Metric != "RMSE" {
		t.Fatalf("random search = %+v", r.Tuning)
	}
	for _, tr := range r.Tuning.Trials {
		a := tr.Params["alpha"].(float64)
		if a < 0.001 || a > 10 || *tr.Score < *r.Tuning.Trials[r.Tuning.BestTrial].Score {
			t.Errorf("trial %+v: alpha out of range or lower RMSE than the best", tr)
		}
	}

	bad := func(input map[string]any, fragments ...string) {
		t.Helper()
		base := map[string]any{"datasetId": iris, "target": "target", "algorithm": "LOGISTIC_REGRESSION"}
		for k, v := range input {
			base[k] = v
		}
		srv.mustFail(tune, map[string]any{"input": base}, "BAD_USER_INPUT", fragments...)
	}
	bad(map[string]any{}, "exactly one of grid and random")
	bad(map[string]any{"grid": map[string]any{"C": []any{1}}, "random": map[string]any{"n": 2, "ranges": map[string]any{"C": []any{1}}}}, "exactly one")
	bad(map[string]any{"grid": map[string]any{"C": 1}}, "grid.C")
	bad(map[string]any{"grid": map[string]any{"C": []any{-1, 1}}}, "C")
	bad(map[string]any{"grid": map[string]any{"C": []any{1}}, "metric": "RMSE"}, "RMSE")
	bad(map[string]any{"grid": map[string]any{"C": []any{1}}, "folds": 1}, "folds")
	bad(map[string]any{"random": map[string]any{"n": 2, "ranges": map[string]any{"gamma": []any{1}}}}, `"gamma"`)
	bad(map[string]any{"random": map[string]any{"n": 2, "ranges": map[string]any{"C": map[string]any{"min": 5, "max": 1}}}}, "random.ranges.C")
}

// TestCompareModels ranks several algorithms on one split.
func TestCompareModels(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	type board struct {
		CompareModels struct {
			Metric, Task string
			Entries      []struct {
				Rank                   int
				Algorithm              string
				Score                  *float64
				TrainingTimeMs         int
				PredictionMicrosPerRow *float64
				Model                  struct{ ID, Status, Algorithm string }
			}
		}
	}
	const compare = `mutation($input: CompareModelsInput!) { compareModels(input: $input, wait: true) { metric task
	  entries { rank algorithm score trainingTimeMs predictionMicrosPerRow model { id status algorithm } } } }`
	var b board
	srv.mustDo(compare, map[string]any{"input": map[string]any{
		"datasetId": iris, "target": "target", "split": map[string]any{"method": "CUSTOM", "column": "split"},
		"algorithms": []string{"NAIVE_BAYES", "LOGISTIC_REGRESSION", "KNN"}, "metric": "LOG_LOSS",
		"params": map[string]any{"KNN": map[string]any{"k": 7}},
	}}, &b)
	lb := b.CompareModels
	if lb.Metric != "LOG_LOSS" || lb.Task != "CLASSIFICATION" || len(lb.Entries) != 3 {
		t.Fatalf("leaderboard = %+v", lb)
	}
	for i, e := range lb.Entries {
		if e.Rank != i+1 || e.Score == nil || e.PredictionMicrosPerRow == nil || e.Model.Status != "READY" || e.Model.Algorithm != e.Algorithm {
			t.Errorf("entry %d = %+v", i, e)
		}
		if i > 0 && *e.Score < *lb.Entries[i-1].Score {
			t.Errorf("log loss must rise down the board: %v after %v", *e.Score, *lb.Entries[i-1].Score)
		}
	}
	var knn struct {
		Model struct{ Params map[string]any }
	}
	for _, e := range lb.Entries {
		if e.Algorithm == "KNN" {
			srv.mustDo(`query($id: ID!) { model(id: $id) { params } }`, map[string]any{"id": e.Model.ID}, &knn)
		}
	}
	if knn.Model.Params["k"] != 7.0 {
		t.Errorf("KNN params = %v, want k 7", knn.Model.Params)
	}

	// Without algorithms: every algorithm of the task.
	var algos struct {
		Algorithms []struct {
			Name  string
			Tasks []string
		}
	}
	srv.mustDo(`{ algorithms { name tasks } }`, nil, &algos)
	want := 0
	for _, a := range algos.Algorithms {
		for _, task := range a.Tasks {
			if task == "REGRESSION" {
				want++
			}
		}
	}
	diabetes := srv.createDataset("diabetes", datasetCSV(t, "diabetes", true)).ID
	var all board
	srv.mustDo(compare, map[string]any{"input": map[string]any{
		"datasetId": diabetes, "target": "target", "split": map[string]any{"method": "CUSTOM", "column": "split"},
	}}, &all)
	if len(all.CompareModels.Entries) != want || all.CompareModels.Metric != "R2" || all.CompareModels.Task != "REGRESSION" {
		t.Errorf("default comparison: %d entries ranked by %s for %s; want every one of %d regression algorithms by R2",
			len(all.CompareModels.Entries), all.CompareModels.Metric, all.CompareModels.Task, want)
	}

	srv.mustFail(compare, map[string]any{"input": map[string]any{"datasetId": iris, "target": "target",
		"algorithms": []string{"KNN"}, "params": map[string]any{"SVM": map[string]any{}}}}, "BAD_USER_INPUT", "params.SVM")
	srv.mustFail(compare, map[string]any{"input": map[string]any{"datasetId": iris, "target": "target",
		"algorithms": []string{"KNN", "KNN"}}}, "BAD_USER_INPUT", "twice")
	srv.mustFail(compare, map[string]any{"input": map[string]any{"datasetId": iris, "target": "target",
		"algorithms": []string{"LINEAR_REGRESSION"}}}, "BAD_USER_INPUT", "numeric")
}

// TestClustering trains k-means without a target and predicts clusters.
func TestClustering(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", false)).ID
	features := []string{"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"}
	var out struct {
		TrainModel struct {
			ID, Status, Task, Target string
			Error                    *string
			Classes                  []string
			Metrics                  struct {
				Rows                int
				Silhouette, Inertia *float64
				Accuracy            *float64
			}
			FeatureImportance []any
		}
	}
	srv.mustDo(`mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id status error task target classes
	  metrics { rows silhouette inertia accuracy } featureImportance { feature } } }`,
		map[string]any{"input": map[string]any{"datasetId": iris, "algorithm": "KMEANS", "features": features,
			"params": map[string]any{"k": 3, "seed": 1}, "split": map[string]any{"method": "NONE"}}}, &out)
	m := out.TrainModel
	if m.Status != "READY" || m.Task != "CLUSTERING" || m.Target != "" || strings.Join(m.Classes, ",") != "0,1,2" {
		t.Fatalf("k-means model = %+v", m)
	}
	if m.Metrics.Rows != 150 || m.Metrics.Silhouette == nil || *m.Metrics.Silhouette < 0.3 || m.Metrics.Inertia == nil || m.Metrics.Accuracy != nil {
		t.Errorf("clustering metrics = %+v", m.Metrics)
	}
	if m.FeatureImportance != nil {
		t.Errorf("clustering has no feature importance, got %v", m.FeatureImportance)
	}
	// Rows from the three species land in three different clusters.
	p := srv.predict(map[string]any{"modelId": m.ID, "save": false, "rows": [][]float64{{5.1, 3.5, 1.4, 0.2}, {6.0, 2.9, 4.5, 1.4}, {7.2, 3.2, 6.0, 2.2}}})
	seen := map[int]bool{}
	for _, o := range p.Outputs {
		if o.Label == nil {
			t.Fatalf("output %+v has no cluster label", o)
		}
		seen[int((*o.Label)[0]-'0')] = true
	}
	if len(seen) != 3 {
		t.Errorf("three species fell into clusters %v", seen)
	}
	var withCluster struct {
		Predict struct{ Outputs []struct{ Cluster *int } }
	}
	srv.mustDo(`mutation($id: ID!) { predict(input: {modelId: $id, rows: [[5.1, 3.5, 1.4, 0.2]], save: false}) { outputs { cluster } } }`,
		map[string]any{"id": m.ID}, &withCluster)
	if c := withCluster.Predict.Outputs[0].Cluster; c == nil || *c < 0 || *c > 2 {
		t.Errorf("cluster = %v", c)
	}

	const train = `mutation($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id } }`
	srv.mustFail(train, map[string]any{"input": map[string]any{"datasetId": iris, "algorithm": "KMEANS", "target": "target"}},
		"BAD_USER_INPUT", "without a target")
	srv.mustFail(train, map[string]any{"input": map[string]any{"datasetId": iris, "algorithm": "LOGISTIC_REGRESSION"}},
		"BAD_USER_INPUT", "target is required")
}

// TestEveryAlgorithmPersists trains every algorithm through GraphQL for
// each task it supports, predicts, restarts the server on the same file and
// checks that the reloaded model predicts exactly the same.
func TestEveryAlgorithmPersists(t *testing.T) {
	srv := newServer(t)
	iris := srv.createDataset("iris", datasetCSV(t, "iris", true)).ID
	diabetes := srv.createDataset("diabetes", datasetCSV(t, "diabetes", true)).ID
	var algos struct {
		Algorithms []struct {
			Name       string
			Tasks      []string
			ImagesOnly bool
		}
	}
	srv.mustDo(`{ algorithms { name tasks imagesOnly } }`, nil, &algos)
	if len(algos.Algorithms) != 15 {
		t.Errorf("%d algorithms, want 15", len(algos.Algorithms))
	}
	type trained struct {
		name, task, id string
		rows           [][]float64
		before         predictionJSON
	}
	irisRows := [][]float64{{5.9, 3.0, 5.1, 1.8}, {5.1, 3.5, 1.4, 0.2}, {6.0, 2.9, 4.5, 1.4}}
	diabetesRows := [][]float64{{0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0, 0.02, -0.01}, {-0.05, -0.04, -0.05, -0.03, 0.01, 0.02, 0.07, -0.04, -0.07, -0.09}}
	var models []trained
	for _, a := range algos.Algorithms {
		if a.ImagesOnly {
			if a.Name != "CNN" {
				t.Errorf("%s is for images only", a.Name)
			}
			continue // TestImageEndToEnd trains it
		}
		for _, task := range a.Tasks {
			input := map[string]any{"algorithm": a.Name, "task": task, "split": map[string]any{"method": "CUSTOM", "column": "split"}}
			params := map[string]any{}
			rows := irisRows
			switch task {
			case "REGRESSION":
				input["datasetId"], input["target"] = diabetes, "target"
				rows = diabetesRows
			case "CLASSIFICATION":
				input["datasetId"], input["target"] = iris, "target"
			case "CLUSTERING":
				input["datasetId"] = iris
				input["features"] = []string{"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"}
				params["k"] = 3
			}
			if a.Name == "RANDOM_FOREST" || a.Name == "GRADIENT_BOOSTING" {
				params["nEstimators"] = 20 // enough to test persistence, quick under -race
			}
			input["params"] = params
			m := srv.train(input)
			if m.Status != "READY" {
				t.Errorf("%s %s: status %s, error %v", a.Name, task, m.Status, m.Error)
				continue
			}
			p := srv.predict(map[string]any{"modelId": m.ID, "rows": rows, "save": false})
			models = append(models, trained{name: a.Name, task: task, id: m.ID, rows: rows, before: p})
		}
	}
	if len(models) != 19 { // 9 regression, 9 classification, 1 clustering
		t.Errorf("%d algorithm × task pairs trained, want 19", len(models))
	}
	srv = srv.restart()
	for _, m := range models {
		after := srv.predict(map[string]any{"modelId": m.id, "rows": m.rows, "save": false})
		for i := range m.before.Outputs {
			b, a := m.before.Outputs[i], after.Outputs[i]
			same := (b.Value == nil) == (a.Value == nil) && (b.Value == nil || *b.Value == *a.Value) &&
				(b.Label == nil) == (a.Label == nil) && (b.Label == nil || *b.Label == *a.Label) &&
				len(b.Probabilities) == len(a.Probabilities)
			for k := range b.Probabilities {
				same = same && b.Probabilities[k] == a.Probabilities[k]
			}
			if !same {
				t.Errorf("%s %s row %d: before restart %+v, after %+v", m.name, m.task, i, b, a)
			}
		}
	}
}

// TestPredictCSV: rows sent as CSV text predict exactly as the same rows
// sent as records, categorical and missing values included, and malformed
// CSV is BAD_USER_INPUT naming the row.
func TestPredictCSV(t *testing.T) {
	srv := newServer(t)
	var csv strings.Builder
	csv.WriteString("x,color,target\n")
	colors := []string{"red", "green", "blue"}
	for i := range 90 {
		label := "no"
		if (i%3 == 0) != (i%7 < 3) {
			label = "yes"
		}
		fmt.Fprintf(&csv, "%d.5,%s,%s\n", i%11, colors[i%3], label)
	}
	ds := srv.createDataset("mixed", csv.String())
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	if strings.Join(m.Features, ",") != "x,color" {
		t.Fatalf("features %v", m.Features)
	}
	records := []any{
		map[string]any{"x": 1.5, "color": "red"},
		map[string]any{"x": 7.25, "color": "blue"},
		map[string]any{"x": nil, "color": "green"},
		map[string]any{"x": 3, "color": nil},
		map[string]any{"x": 2, "color": "purple, with a comma"},
	}
	text := "1.5,red\n7.25,blue\n,green\n3,\r\n2,\"purple, with a comma\"\n"
	const q = `mutation($input: PredictInput!) { predict(input: $input) { id inputs outputs { label probabilities { label probability } } } }`
	var byRecords, byCSV struct {
		Predict struct {
			ID      *string
			Inputs  []map[string]any
			Outputs json.RawMessage
		}
	}
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "records": records}}, &byRecords)
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "csv": text}}, &byCSV)
	if string(byCSV.Predict.Outputs) != string(byRecords.Predict.Outputs) {
		t.Errorf("csv predicts %s, records %s", byCSV.Predict.Outputs, byRecords.Predict.Outputs)
	}
	if got, want := fmt.Sprint(byCSV.Predict.Inputs), fmt.Sprint(byRecords.Predict.Inputs); got != want || byCSV.Predict.ID == nil {
		t.Errorf("csv inputs %s, records inputs %s (id %v)", got, want, byCSV.Predict.ID)
	}
	// The saved prediction reads back with the same inputs.
	var saved struct {
		Model struct {
			Predictions struct {
				Edges []struct {
					Node struct{ Inputs []map[string]any }
				}
			}
		}
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { predictions(first: 1) { edges { node { inputs } } } } }`, map[string]any{"id": m.ID}, &saved)
	if got := fmt.Sprint(saved.Model.Predictions.Edges[0].Node.Inputs); got != fmt.Sprint(byCSV.Predict.Inputs) {
		t.Errorf("saved inputs %s", got)
	}

	// The columnar answers say what outputs says.
	var cols struct {
		Predict struct {
			Outputs []struct {
				Label         string
				Probabilities []struct {
					Label       string
					Probability float64
				}
			}
			Labels        []string
			Values        []float64
			Classes       []string
			Probabilities [][]float64
		}
	}
	srv.mustDo(`mutation($input: PredictInput!) { predict(input: $input) { outputs { label probabilities { label probability } } labels values classes probabilities } }`,
		map[string]any{"input": map[string]any{"modelId": m.ID, "csv": text, "save": false}}, &cols)
	c := cols.Predict
	if len(c.Labels) != 5 || c.Values != nil || strings.Join(c.Classes, ",") != "no,yes" || len(c.Probabilities) != 5 {
		t.Fatalf("columnar answer %+v", c)
	}
	for i, o := range c.Outputs {
		if c.Labels[i] != o.Label {
			t.Errorf("row %d: labels says %s, outputs %s", i, c.Labels[i], o.Label)
		}
		for k, p := range o.Probabilities {
			if p.Label != c.Classes[k] || p.Probability != c.Probabilities[i][k] {
				t.Errorf("row %d class %d: %+v vs %s %v", i, k, p, c.Classes[k], c.Probabilities[i][k])
			}
		}
	}
	reg := srv.train(map[string]any{"datasetId": ds.ID, "target": "x", "algorithm": "LINEAR_REGRESSION", "features": []string{"color"}})
	var values struct {
		Predict struct {
			Outputs       []struct{ Value float64 }
			Values        []float64
			Labels        []string
			Probabilities [][]float64
		}
	}
	srv.mustDo(`mutation($input: PredictInput!) { predict(input: $input) { outputs { value } values labels probabilities } }`,
		map[string]any{"input": map[string]any{"modelId": reg.ID, "csv": "red\nblue\n\"\"\n", "save": false}}, &values)
	if v := values.Predict; len(v.Values) != 3 || v.Labels != nil || v.Probabilities != nil || v.Values[1] != v.Outputs[1].Value {
		t.Errorf("regression's columnar answer %+v", v)
	}

	for _, tc := range []struct{ csv, fragment string }{
		{"1.5,red,extra\n", "csv: row 1 has 3 values; the model expects 2 features"},
		{"1.5,red\n2\n", "csv: row 2 has 1 values"},
		{"1.5,red\n\n2\n", "csv: row 2 (line 3) has 1 values"},
		{"abc,red\n", `csv: row 1, column "x": "abc" is not a number`},
		{"1e400,red\n", `row 1, column "x": "1e400" is not a finite number within ±1e+150`},
		{"1,red\n2e150,red\n", `row 2, column "x": "2e150" is not a finite number within ±1e+150`},
		{"NaN,red\n", "not a finite number"},
		{"", "no rows to predict"},
		{"\n\n", "no rows to predict"},
		{"1,\"red\n", "csv:"},
	} {
		srv.mustFail(q, map[string]any{"input": map[string]any{"modelId": m.ID, "csv": tc.csv}}, "BAD_USER_INPUT", tc.fragment)
	}
	srv.mustFail(q, map[string]any{"input": map[string]any{"modelId": m.ID, "csv": "1,red", "records": records}}, "BAD_USER_INPUT", "exactly one of rows, records, csv and packed")
	srv.mustFail(q, map[string]any{"input": map[string]any{"modelId": m.ID, "csv": strings.Repeat("1,red\n", 20_001)}}, "BAD_USER_INPUT", "the limit is")
}

// TestPredictPacked: rows as base64 little-endian float64s predict as the
// same rows sent as rows; NaN is missing; malformed input is
// BAD_USER_INPUT.
func TestPredictPacked(t *testing.T) {
	srv := newServer(t)
	ds := srv.createDataset("iris", datasetCSV(t, "iris", false))
	m := srv.train(map[string]any{"datasetId": ds.ID, "target": "target", "algorithm": "LOGISTIC_REGRESSION"})
	rows := [][]float64{{5.1, 3.5, 1.4, 0.2}, {6.2, 2.9, 4.3, 1.3}, {7.7, 3.0, 6.1, 2.3}}
	pack := func(rows [][]float64) string {
		var raw []byte
		for _, row := range rows {
			for _, v := range row {
				raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
			}
		}
		return base64.StdEncoding.EncodeToString(raw)
	}
	const q = `mutation($input: PredictInput!) { predict(input: $input) { inputs labels probabilities } }`
	var byRows, byPacked struct {
		Predict struct {
			Inputs        []map[string]any
			Labels        []string
			Probabilities [][]float64
		}
	}
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "rows": rows}}, &byRows)
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "packed": pack(rows)}}, &byPacked)
	if fmt.Sprint(byPacked.Predict) != fmt.Sprint(byRows.Predict) || len(byPacked.Predict.Labels) != 3 {
		t.Errorf("packed %+v, rows %+v", byPacked.Predict, byRows.Predict)
	}
	// NaN is a missing value, imputed as records' null is.
	var withNaN, withNull struct {
		Predict struct{ Probabilities [][]float64 }
	}
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "packed": pack([][]float64{{5.1, math.NaN(), 1.4, 0.2}})}}, &withNaN)
	srv.mustDo(q, map[string]any{"input": map[string]any{"modelId": m.ID, "records": []any{map[string]any{
		"sepal_length_cm": 5.1, "sepal_width_cm": nil, "petal_length_cm": 1.4, "petal_width_cm": 0.2}}}}, &withNull)
	if fmt.Sprint(withNaN.Predict) != fmt.Sprint(withNull.Predict) {
		t.Errorf("NaN %v, null %v", withNaN.Predict, withNull.Predict)
	}
	for _, tc := range []struct{ packed, fragment string }{
		{"not base64!", "packed: not base64"},
		{base64.StdEncoding.EncodeToString(make([]byte, 24)), "24 bytes is not a whole number of rows of 4 float64 features"},
		{pack([][]float64{{1, math.Inf(1), 1, 1}}), `row 1, column "sepal_width_cm": +Inf is not a finite number within ±1e+150`},
		{pack([][]float64{{1, 1, 1, 1}, {1, 1, -1e151, 1}}), `row 2, column "petal_length_cm": -1e+151 is not a finite number`},
		{"", "no rows to predict"},
	} {
		srv.mustFail(q, map[string]any{"input": map[string]any{"modelId": m.ID, "packed": tc.packed}}, "BAD_USER_INPUT", tc.fragment)
	}
}
