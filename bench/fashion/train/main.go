// Command train reads a labelled image zip as the server does
// (internal/labelzip, internal/images), trains classifiers with ml.Train
// on the train/ images and reports test accuracy and training time as
// JSON, to set beside bench/fashion/reference.py's scikit-learn figures.
//
//	go run ./bench/fashion/makezip -out /tmp/fashion-mnist.zip
//	nice go run ./bench/fashion/train -zip /tmp/fashion-mnist.zip > /tmp/fashion-ours.json
//
// Each -model is NAME=ALGORITHM or NAME=ALGORITHM:{json params} (default:
// see defaultModels); bench/fashion/README.md has the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"mlgraph/bench/fashion"
	"mlgraph/internal/images"
	"mlgraph/ml"
)

// defaultModels: scikit-learn's MLPClassifier defaults with early
// stopping (reference.py's mlp_100_es; seed 0 is random_state=0), the
// tuned network (chosen among candidates by early stopping's validation
// score, see README.md) and logistic regression as reference.py's.
var defaultModels = []string{
	`mlp_100_es=MLP:{"hiddenLayerSizes":"100","earlyStopping":true}`,
	`mlp_256_es20=MLP:{"hiddenLayerSizes":"256","alpha":0.1,"earlyStopping":true,"nIterNoChange":20}`,
	`logistic=LOGISTIC_REGRESSION`,
}

type modelFlags []string

func (m *modelFlags) String() string     { return strings.Join(*m, " ") }
func (m *modelFlags) Set(v string) error { *m = append(*m, v); return nil }

// result is one model's figures, named as reference.py's.
type result struct {
	Model     string         `json:"model"`
	Algorithm string         `json:"algorithm"`
	Params    map[string]any `json:"params"`
	Accuracy  float64        `json:"accuracy"`
	FitS      float64        `json:"fit_s"`
	PredictS  float64        `json:"predict_test_s"`
	Epochs    int            `json:"n_iter,omitempty"`
	EpochS    float64        `json:"epoch_s,omitempty"`
	FinalLoss float64        `json:"final_loss,omitempty"`
	BestScore float64        `json:"best_validation_score,omitempty"`
}

func main() {
	zipPath := flag.String("zip", "/tmp/fashion-mnist.zip", "labelled image zip with train/ and test/")
	size := flag.Int("size", images.DefaultSize, "image size in pixels")
	color := flag.String("color", string(images.Gray), "GRAY or RGB")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the training to this file")
	verbose := flag.Bool("v", false, "log every epoch")
	var models modelFlags
	flag.Var(&models, "model", "NAME=ALGORITHM[:{json params}], repeatable (default: "+strings.Join(defaultModels, " ")+")")
	flag.Parse()
	if len(models) == 0 {
		models = defaultModels
	}

	start := time.Now()
	d, err := fashion.LoadZip(*zipPath, images.Options{Size: *size, Color: images.Color(*color)})
	if err != nil {
		log.Fatal(err)
	}
	loadS := time.Since(start).Seconds()
	trainX, trainY := d.Take(d.Rows("train"))
	testX, testY := d.Take(d.Rows("test"))
	log.Printf("%s: %d train and %d test rows of %d features, loaded in %.1fs on %d cores",
		*zipPath, trainY.Len(), testY.Len(), len(d.Features), loadS, runtime.GOMAXPROCS(0))

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var results []result
	for _, spec := range models {
		r, err := trainOne(spec, trainX, trainY, testX, testY, *verbose)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("%s: accuracy %.4f, fit %.1fs (%d epochs)", r.Model, r.Accuracy, r.FitS, r.Epochs)
		results = append(results, r)
	}
	out := map[string]any{
		"about":      "mlgraph ml.Train on the zip's images as internal/images decodes them; fit on train/, accuracy on test/; fit_s is one fit's wall time",
		"zip":        *zipPath,
		"cpus":       runtime.GOMAXPROCS(0),
		"go":         runtime.Version(),
		"n_train":    trainY.Len(),
		"n_test":     testY.Len(),
		"n_features": len(d.Features),
		"load_s":     round(loadS),
		"results":    results,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		log.Fatal(err)
	}
}

func trainOne(spec string, trainX []*ml.Column, trainY *ml.Column, testX []*ml.Column, testY *ml.Column, verbose bool) (result, error) {
	name, rest, ok := strings.Cut(spec, "=")
	if !ok {
		return result{}, fmt.Errorf("-model %q: want NAME=ALGORITHM[:{json}]", spec)
	}
	algorithm, paramText, _ := strings.Cut(rest, ":")
	params := map[string]any{}
	if paramText != "" {
		if err := json.Unmarshal([]byte(paramText), &params); err != nil {
			return result{}, fmt.Errorf("-model %q: params: %w", spec, err)
		}
	}
	ctx := context.Background()
	epochStart := time.Now()
	ctx = ml.WithProgress(ctx, func(p ml.Progress) {
		if verbose && p.HasLoss {
			log.Printf("%s: epoch %d loss %.5f (%.2fs)", name, p.Iteration, p.Loss, time.Since(epochStart).Seconds())
		}
		epochStart = time.Now()
	})
	start := time.Now()
	m, err := ml.Train(ctx, ml.TrainConfig{Algorithm: algorithm, Task: ml.Classification, Params: params}, trainX, trainY)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", name, err)
	}
	fitS := time.Since(start).Seconds()
	start = time.Now()
	metrics, err := m.Evaluate(testX, testY)
	if err != nil {
		return result{}, fmt.Errorf("%s: evaluate: %w", name, err)
	}
	r := result{Model: name, Algorithm: algorithm, Params: params, Accuracy: *metrics.Accuracy,
		FitS: round(fitS), PredictS: round(time.Since(start).Seconds())}
	if loss, validation := m.LearningCurves(); len(loss) > 0 {
		r.Epochs = len(loss)
		r.EpochS = round(fitS / float64(len(loss)))
		r.FinalLoss = loss[len(loss)-1]
		for _, v := range validation {
			r.BestScore = max(r.BestScore, v)
		}
	}
	return r, nil
}

func round(s float64) float64 { return float64(int64(s*1000+0.5)) / 1000 }
