package fashion

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mlgraph/internal/images"
	"mlgraph/ml"
)

const fixture = "../../testdata/fashion_small.zip"

// tolerance is the quality bar of internal/parity: a test accuracy may be
// at most this much below scikit-learn's.
const tolerance = 0.02

// TestFixtureMatchesIDX checks the committed fixture against Debian's
// Fashion-MNIST files: every image decodes to exactly its IDX pixels,
// under its class's folder.
func TestFixtureMatchesIDX(t *testing.T) {
	if _, err := os.Stat(DefaultIDXDir); err != nil {
		t.Skipf("Fashion-MNIST is not installed: %v", err)
	}
	d, err := LoadZip(fixture, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]*IDX{}
	for split, name := range map[string]string{"train": "train", "test": "t10k"} {
		if idx[split], err = ReadIDX(DefaultIDXDir, name); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.Rows("train")); n != 250 {
		t.Errorf("%d train rows, want 250", n)
	}
	if n := len(d.Rows("test")); n != 100 {
		t.Errorf("%d test rows, want 100", n)
	}
	for i, p := range d.Paths {
		k, err := strconv.Atoi(strings.TrimSuffix(path.Base(p), ".png"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := idx[d.Splits[i]]
		if label := d.Label.Text(i); label != ClassNames[want.Labels[k]] {
			t.Errorf("%s: label %q, want %q", p, label, ClassNames[want.Labels[k]])
		}
		for j, v := range want.Image(k) {
			if got := d.Features[j].Num[i]; got != float64(v) {
				t.Fatalf("%s: %s is %v, want %d", p, d.Features[j].Name, got, v)
			}
		}
	}
}

// reference is a scikit-learn results file of reference.py (or
// testdata/reference/sklearn.json).
type reference struct {
	Results []referenceResult `json:"results"`
}

// referenceResult is one model's result: reference.py gives Accuracy and
// NIter, sklearn.json Dataset and Metrics.
type referenceResult struct {
	Dataset  string         `json:"dataset"`
	Model    string         `json:"model"`
	Accuracy float64        `json:"accuracy"`
	Metrics  map[string]any `json:"metrics"`
	NIter    int            `json:"n_iter"`
}

func readReference(t *testing.T, file string) reference {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ref
}

// sklearnModels are reference.py's models as mlgraph algorithms.
var sklearnModels = map[string]ml.TrainConfig{
	"mlp_100":    {Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "100"}},
	"mlp_64_500": {Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "64", "maxIter": 500}},
	"mlp_64":     {Algorithm: "MLP", Params: map[string]any{"hiddenLayerSizes": "64", "maxIter": 500}},
	"logistic":   {Algorithm: "LOGISTIC_REGRESSION"},
}

// trainAndScore trains cfg on the train rows and returns the test
// accuracy and the number of epochs (0 if not iterative).
func trainAndScore(t *testing.T, cfg ml.TrainConfig, d *Dataset, train, test []int) (accuracy float64, epochs int) {
	t.Helper()
	x, y := d.Take(train)
	cfg.Task = ml.Classification
	m, err := ml.Train(context.Background(), cfg, x, y)
	if err != nil {
		t.Fatal(err)
	}
	x, y = d.Take(test)
	metrics, err := m.Evaluate(x, y)
	if err != nil {
		t.Fatal(err)
	}
	loss, _ := m.LearningCurves()
	return *metrics.Accuracy, len(loss)
}

// TestFixtureMatchesSklearn trains on the fixture's images as the server
// would and compares with scikit-learn on the same pixels
// (testdata/sklearn_small.json, written by reference.py).
func TestFixtureMatchesSklearn(t *testing.T) {
	d, err := LoadZip(fixture, images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := readReference(t, "testdata/sklearn_small.json")
	if len(ref.Results) == 0 {
		t.Fatal("no reference results")
	}
	for _, r := range ref.Results {
		t.Run(r.Model, func(t *testing.T) {
			cfg, ok := sklearnModels[r.Model]
			if !ok {
				t.Fatalf("no mlgraph equivalent of %s", r.Model)
			}
			got, epochs := trainAndScore(t, cfg, d, d.Rows("train"), d.Rows("test"))
			if got < r.Accuracy-tolerance {
				t.Errorf("test accuracy %.4f, scikit-learn %.4f", got, r.Accuracy)
			}
			if epochs > 0 {
				t.Logf("test accuracy %.4f (scikit-learn %.4f); %d epochs (scikit-learn %d)", got, r.Accuracy, epochs, r.NIter)
			} else {
				t.Logf("test accuracy %.4f (scikit-learn %.4f)", got, r.Accuracy)
			}
		})
	}
}

// TestDigitsThroughImages sends the shared digits dataset through the
// image path: each 8×8 row (values 0..16) becomes a gray PNG of the
// values ×15 in a train|test/<digit>/<row>.png zip, which LoadZip reads
// back. The pixels must come back exactly, and since standardisation
// undoes the ×15, MLP and logistic regression trained on them (rows put
// back in CSV order) must do as well as scikit-learn on the CSV
// (testdata/reference/sklearn.json).
func TestDigitsThroughImages(t *testing.T) {
	rows, labels := readDigits(t)
	split := readLines(t, "../../testdata/digits.split")
	zipPath := filepath.Join(t.TempDir(), "digits.zip")
	writeDigitsZip(t, zipPath, rows, labels, split)

	d, err := LoadZip(zipPath, images.Options{Size: 8})
	if err != nil {
		t.Fatal(err)
	}
	// Put rows back in CSV order (the zip lists them by split, label, name).
	var train, test []int
	order := make([]int, len(rows)) // order[csvRow] = dataset row
	for i, p := range d.Paths {
		k, err := strconv.Atoi(strings.TrimSuffix(path.Base(p), ".png"))
		if err != nil {
			t.Fatal(err)
		}
		order[k] = i
		if d.Label.Text(i) != labels[k] {
			t.Fatalf("%s: label %q, want %q", p, d.Label.Text(i), labels[k])
		}
		for j, v := range rows[k] {
			if got := d.Features[j].Num[i]; got != 15*v {
				t.Fatalf("%s: %s is %v, want %v", p, d.Features[j].Name, got, 15*v)
			}
		}
	}
	for k, s := range split {
		if s == "train" {
			train = append(train, order[k])
		} else {
			test = append(test, order[k])
		}
	}

	ref := readReference(t, "../../testdata/reference/sklearn.json")
	for _, model := range []string{"mlp_64", "logistic"} {
		t.Run(model, func(t *testing.T) {
			i := slices.IndexFunc(ref.Results, func(r referenceResult) bool {
				return r.Dataset == "digits" && r.Model == model
			})
			if i < 0 {
				t.Fatalf("sklearn.json has no digits/%s", model)
			}
			want, ok := ref.Results[i].Metrics["accuracy"].(float64)
			if !ok {
				t.Fatalf("sklearn.json digits/%s has no accuracy", model)
			}
			got, epochs := trainAndScore(t, sklearnModels[model], d, train, test)
			if got < want-tolerance {
				t.Errorf("test accuracy %.4f, scikit-learn %.4f", got, want)
			}
			t.Logf("test accuracy %.4f (scikit-learn %.4f); %d epochs (0: not iterative)", got, want, epochs)
		})
	}
}

// readDigits reads testdata/digits.csv: 64 pixel values and a target.
func readDigits(t *testing.T) (rows [][]float64, labels []string) {
	f, err := os.Open("../../testdata/digits.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := append(images.FeatureNames(images.Options{Size: 8}), "target"); !slices.Equal(records[0], want) {
		t.Fatalf("digits.csv header %q, want %q", records[0], want)
	}
	for _, rec := range records[1:] {
		row := make([]float64, 64)
		for j := range row {
			if row[j], err = strconv.ParseFloat(rec[j], 64); err != nil {
				t.Fatal(err)
			}
		}
		rows, labels = append(rows, row), append(labels, rec[64])
	}
	return rows, labels
}

func readLines(t *testing.T, file string) []string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func writeDigitsZip(t *testing.T, file string, rows [][]float64, labels, split []string) {
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for k, row := range rows {
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		for j, v := range row {
			img.Pix[j] = uint8(15 * v)
		}
		w, err := zw.Create(fmt.Sprintf("%s/%s/%04d.png", split[k], labels[k], k))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(w, img); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
