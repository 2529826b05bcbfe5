package ml

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	names := []string{}
	for _, a := range Algorithms() {
		names = append(names, a.Name)
		if a.Description == "" || len(a.Tasks) == 0 {
			t.Errorf("%s: incomplete description %+v", a.Name, a)
		}
		// Every default must resolve, i.e. be valid for its own spec.
		for _, p := range a.Params {
			if _, err := p.resolve(p.Default); err != nil {
				t.Errorf("%s.%s: default %v invalid: %v", a.Name, p.Name, p.Default, err)
			}
		}
		// Every registered algorithm constructs from its defaults.
		params, err := ResolveParams(a.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		alg, _ := lookupAlgorithm(a.Name)
		if alg.newEstimator(params) == nil {
			t.Errorf("%s: nil estimator", a.Name)
		}
	}
	if !slices.Equal(names, []string{"LINEAR_REGRESSION", "RIDGE", "LASSO", "ELASTIC_NET", "LOGISTIC_REGRESSION", "LINEAR_SVM", "SVM",
		"DECISION_TREE", "RANDOM_FOREST", "GRADIENT_BOOSTING", "KNN", "NAIVE_BAYES", "MLP", "CNN", "KMEANS"}) {
		t.Errorf("algorithms %q", names)
	}

	// The table cannot be modified through a returned value.
	Algorithms()[0].Params[0].Name = "changed"
	info, _ := LookupAlgorithm("LINEAR_REGRESSION")
	if info.Params[0].Name != "fitIntercept" {
		t.Error("modifying Algorithms() changed the registry")
	}
	if info, ok := LookupAlgorithm("LOGISTIC_REGRESSION"); !ok || !info.NeedsScaling || info.Tasks[0] != Classification {
		t.Errorf("LOGISTIC_REGRESSION: %+v", info)
	}
	if _, ok := LookupAlgorithm("NOPE"); ok {
		t.Error("found an unknown algorithm")
	}
}

func TestResolveParams(t *testing.T) {
	got, err := ResolveParams("LOGISTIC_REGRESSION", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"C": 1.0, "maxIter": 1000, "tol": 1e-6, "fitIntercept": true, "penalty": "l2", "l1Ratio": 0.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default %s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("resolved %v, want %v", got, want)
	}

	// JSON number forms: integral floats and json.Number for INT, ints for FLOAT.
	for _, raw := range []map[string]any{
		{"maxIter": 50.0, "C": 2},
		{"maxIter": int64(50), "C": json.Number("2")},
		{"maxIter": json.Number("50"), "C": 2.0, "fitIntercept": nil},
	} {
		got, err := ResolveParams("LOGISTIC_REGRESSION", raw)
		if err != nil {
			t.Fatalf("%v: %v", raw, err)
		}
		if got["maxIter"] != 50 || got["C"] != 2.0 || got["fitIntercept"] != true {
			t.Errorf("%v resolved to %#v", raw, got)
		}
	}

	cases := []struct {
		algorithm string
		raw       map[string]any
		parts     []string
	}{
		{"LOGISTIC_REGRESSION", map[string]any{"alpha": 1.0}, []string{`"alpha"`, "C, maxIter, tol, fitIntercept"}},
		{"LOGISTIC_REGRESSION", map[string]any{"C": 0.0}, []string{"C", "> 0"}},
		{"LOGISTIC_REGRESSION", map[string]any{"C": -1}, []string{"C", "> 0"}},
		{"LOGISTIC_REGRESSION", map[string]any{"C": "big"}, []string{"C", "number", `"big"`}},
		{"LOGISTIC_REGRESSION", map[string]any{"maxIter": 0}, []string{"maxIter", ">= 1"}},
		{"LOGISTIC_REGRESSION", map[string]any{"maxIter": 1.5}, []string{"maxIter", "integer", ">= 1"}},
		{"LOGISTIC_REGRESSION", map[string]any{"maxIter": json.Number("1e400")}, []string{"maxIter"}},
		{"LOGISTIC_REGRESSION", map[string]any{"tol": 0}, []string{"tol", "> 0"}},
		{"LINEAR_REGRESSION", map[string]any{"fitIntercept": "yes"}, []string{"fitIntercept", "boolean"}},
		{"LINEAR_REGRESSION", map[string]any{"C": 1}, []string{`"C"`, "fitIntercept"}},
		{"RANDOM_GUESS", nil, []string{`"RANDOM_GUESS"`, "LINEAR_REGRESSION", "LOGISTIC_REGRESSION"}},
	}
	for _, c := range cases {
		_, err := ResolveParams(c.algorithm, c.raw)
		wantInputError(t, err, c.parts...)
	}
}

func TestTaskSelection(t *testing.T) {
	num, cat := NewNumeric("y", []float64{1}), NewCategorical("y", []int32{0}, []string{"a"})
	for _, c := range []struct {
		algorithm string
		target    *Column
		want      Task
	}{
		{"LINEAR_REGRESSION", cat, Regression}, // single-task algorithms ignore the target type
		{"LOGISTIC_REGRESSION", num, Classification},
	} {
		if got, err := InferTask(c.algorithm, c.target); err != nil || got != c.want {
			t.Errorf("InferTask(%s, %s) = %v, %v; want %v", c.algorithm, c.target.Type, got, err, c.want)
		}
	}
	_, err := InferTask("NOPE", num)
	wantInputError(t, err, `"NOPE"`)

	if err := CheckTask("LOGISTIC_REGRESSION", Classification); err != nil {
		t.Error(err)
	}
	wantInputError(t, CheckTask("LOGISTIC_REGRESSION", Regression), "LOGISTIC_REGRESSION", "REGRESSION", "CLASSIFICATION")
	wantInputError(t, CheckTask("LINEAR_REGRESSION", Classification), "LINEAR_REGRESSION", "CLASSIFICATION")
}
