// Package parity compares mlgraph's algorithms with scikit-learn on the
// datasets in testdata/: the same rows (each dataset's .split file), the
// same model settings, the test metrics side by side. Its test enforces
// the quality bar; bench/parity prints the table the README shows.
package parity

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mlgraph/internal/csvdata"
	"mlgraph/ml"
)

// Tolerance is the quality bar: a test metric may be at most this much
// worse than scikit-learn's.
const Tolerance = 0.02

// Reference is scikit-learn's result for one dataset and model.
type Reference struct {
	Dataset string         `json:"dataset"`
	Task    string         `json:"task"`
	Model   string         `json:"model"`
	Spec    string         `json:"spec"`
	Metrics map[string]any `json:"metrics"`
	FitS    float64        `json:"fit_s"`
}

// Case maps a scikit-learn model name of the reference file to the
// mlgraph algorithm and params that define the same model.
type Case struct {
	Reference string
	Algorithm string
	Params    map[string]any
}

// Cases lists the reference models and their mlgraph equivalents.
func Cases() []Case {
	return []Case{
		{"linear_regression", "LINEAR_REGRESSION", nil},
		{"ridge_a1", "RIDGE", map[string]any{"alpha": 1.0}},
		{"lasso_a0.1", "LASSO", map[string]any{"alpha": 0.1}},
		{"logistic", "LOGISTIC_REGRESSION", nil},
		{"linear_svc", "LINEAR_SVM", nil},
		{"svc_rbf", "SVM", nil},
		{"tree_d8", "DECISION_TREE", map[string]any{"maxDepth": 8}},
		{"forest_100", "RANDOM_FOREST", map[string]any{"nEstimators": 100}},
		{"knn_5", "KNN", map[string]any{"k": 5}},
		{"gaussian_nb", "NAIVE_BAYES", nil},
		{"mlp_64", "MLP", map[string]any{"hiddenLayerSizes": "64", "maxIter": 500}},
	}
}

// Result is one dataset × model comparison.
type Result struct {
	Dataset   string
	Reference string
	Algorithm string
	// Metric is "accuracy" (classification; F1 is checked too) or "r2".
	Metric           string
	Ours, Sklearn    float64
	OursF1, SkF1     float64 // macro F1, classification only
	OursFit, SkFit   time.Duration
	Err              error
	ClassificationF1 bool
}

// Within reports whether the result meets the bar.
func (r Result) Within() bool {
	if r.Err != nil {
		return false
	}
	ok := r.Ours >= r.Sklearn-Tolerance
	if r.ClassificationF1 {
		ok = ok && r.OursF1 >= r.SkF1-Tolerance
	}
	return ok
}

// LoadReferences reads testdata/reference/sklearn.json.
func LoadReferences(testdata string) ([]Reference, error) {
	raw, err := os.ReadFile(filepath.Join(testdata, "reference", "sklearn.json"))
	if err != nil {
		return nil, err
	}
	var file struct {
		Results []Reference `json:"results"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("parse sklearn.json: %w", err)
	}
	return file.Results, nil
}

// dataset is a parsed CSV with its split.
type dataset struct {
	features    []*ml.Column
	target      *ml.Column
	train, test []int
}

func loadDataset(testdata, name string) (*dataset, error) {
	text, err := os.ReadFile(filepath.Join(testdata, name+".csv"))
	if err != nil {
		return nil, err
	}
	cols, _, err := csvdata.Parse(string(text), csvdata.Detect)
	if err != nil {
		return nil, fmt.Errorf("%s.csv: %w", name, err)
	}
	f, err := os.Open(filepath.Join(testdata, name+".split"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &dataset{features: cols[:len(cols)-1], target: cols[len(cols)-1]}
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		switch strings.TrimSpace(sc.Text()) {
		case "train":
			d.train = append(d.train, i)
		case "test":
			d.test = append(d.test, i)
		default:
			return nil, fmt.Errorf("%s.split line %d: %q", name, i+1, sc.Text())
		}
	}
	if len(d.train)+len(d.test) != d.target.Len() {
		return nil, fmt.Errorf("%s.split has %d lines for %d rows", name, len(d.train)+len(d.test), d.target.Len())
	}
	return d, sc.Err()
}

func take(cols []*ml.Column, rows []int) []*ml.Column {
	out := make([]*ml.Column, len(cols))
	for i, c := range cols {
		out[i] = c.Take(rows)
	}
	return out
}

// Run trains every case on every reference dataset it has a figure for
// and scores it on the test rows. fitRuns > 1 times the fit that many
// times and keeps the median, as the reference does.
func Run(ctx context.Context, testdata string, fitRuns int) ([]Result, error) {
	refs, err := LoadReferences(testdata)
	if err != nil {
		return nil, err
	}
	datasets := map[string]*dataset{}
	var results []Result
	for _, c := range Cases() {
		for _, ref := range refs {
			if ref.Model != c.Reference {
				continue
			}
			d, ok := datasets[ref.Dataset]
			if !ok {
				if d, err = loadDataset(testdata, ref.Dataset); err != nil {
					return nil, err
				}
				datasets[ref.Dataset] = d
			}
			results = append(results, runCase(ctx, c, ref, d, fitRuns))
		}
	}
	return results, nil
}

func runCase(ctx context.Context, c Case, ref Reference, d *dataset, fitRuns int) Result {
	r := Result{Dataset: ref.Dataset, Reference: ref.Model, Algorithm: c.Algorithm, SkFit: time.Duration(ref.FitS * float64(time.Second))}
	task := ml.Regression
	r.Metric = "r2"
	if ref.Task == "classification" {
		task, r.Metric, r.ClassificationF1 = ml.Classification, "accuracy", true
		r.SkF1, _ = ref.Metrics["f1_macro"].(float64)
	}
	r.Sklearn, _ = ref.Metrics[r.Metric].(float64)
	cfg := ml.TrainConfig{Algorithm: c.Algorithm, Task: task, Params: c.Params}
	trainX, trainY := take(d.features, d.train), d.target.Take(d.train)
	var model *ml.Model
	var fits []time.Duration
	for range max(fitRuns, 1) {
		start := time.Now()
		m, err := ml.Train(ctx, cfg, trainX, trainY)
		if err != nil {
			r.Err = err
			return r
		}
		fits = append(fits, time.Since(start))
		model = m
	}
	slices.Sort(fits)
	r.OursFit = fits[len(fits)/2]
	report, err := model.Evaluate(take(d.features, d.test), d.target.Take(d.test))
	if err != nil {
		r.Err = err
		return r
	}
	if task == ml.Classification {
		r.Ours, r.OursF1 = *report.Accuracy, *report.F1
	} else {
		r.Ours = *report.R2
	}
	return r
}

// Markdown renders results as the README's table.
func Markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| dataset | scikit-learn model | mlgraph algorithm | metric | mlgraph | scikit-learn | difference | within 0.02 | fit ms (mlgraph) | fit ms (scikit-learn) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | error: %v | %.3f | | no | | %.1f |\n", r.Dataset, r.Reference, r.Algorithm, r.Metric, r.Err, r.Sklearn, ms(r.SkFit))
			continue
		}
		metric := r.Metric
		ours, sk := fmt.Sprintf("%.3f", r.Ours), fmt.Sprintf("%.3f", r.Sklearn)
		diff := fmt.Sprintf("%+.3f", r.Ours-r.Sklearn)
		if r.ClassificationF1 {
			metric = "accuracy / macro F1"
			ours += fmt.Sprintf(" / %.3f", r.OursF1)
			sk += fmt.Sprintf(" / %.3f", r.SkF1)
			diff += fmt.Sprintf(" / %+.3f", r.OursF1-r.SkF1)
		}
		within := "yes"
		if !r.Within() {
			within = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %.1f |\n",
			r.Dataset, r.Reference, r.Algorithm, metric, ours, sk, diff, within, ms(r.OursFit), ms(r.SkFit))
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
