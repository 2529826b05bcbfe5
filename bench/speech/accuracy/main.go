// Command accuracy measures spoken-digit recognition on a dataset that
// bench/speech/digits wrote: it decodes every WAV (internal/audio), turns
// each into a fixed-length MFCC summary (ml.MFCCFeatures), trains each
// algorithm on the train/ files and reports its accuracy on the test/
// files, whose voice variants were never heard in training, with the time
// each step took.
//
//	go run ./bench/speech/digits -out /tmp/spoken-digits.zip
//	go run ./bench/speech/accuracy -zip /tmp/spoken-digits.zip
package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"mlgraph/internal/audio"
	"mlgraph/ml"
)

func main() {
	zipPath := flag.String("zip", "", "dataset zip with train/<label>/*.wav and test/<label>/*.wav (required)")
	algorithms := flag.String("algorithms", "LOGISTIC_REGRESSION,MLP,SVM", "comma-separated algorithms to train")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "files decoded and analysed at a time")
	confusion := flag.Bool("confusion", false, "print each model's confusion matrix")
	padTest := flag.Float64("pad-test", 0, "pad each test recording with up to this many seconds of silence at each end (uniformly random, fixed seed), as recordings that start and stop late would have")
	mfccJSON := flag.String("mfcc", "{}", `MFCC options as JSON, e.g. {"TrimDB": -1, "Filters": 40} (zero fields: defaults)`)
	flag.Parse()
	var opt ml.MFCCOptions
	if err := json.Unmarshal([]byte(*mfccJSON), &opt); err != nil || *zipPath == "" || flag.NArg() > 0 || *workers < 1 || *padTest < 0 {
		flag.Usage()
		os.Exit(2)
	}
	resolved, err := opt.Resolve()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", resolved)
	start := time.Now()
	ds, err := load(*zipPath, opt, *workers, *padTest)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d training and %d test recordings, %.1f s of audio; features in %s (%.2f ms per recording)\n",
		*zipPath, ds.train.rows(), ds.test.rows(), ds.seconds, time.Since(start).Round(time.Millisecond),
		float64(time.Since(start).Microseconds())/1000/float64(ds.train.rows()+ds.test.rows()))
	fmt.Println("| algorithm | test accuracy | macro F1 | fit time |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, name := range strings.Split(*algorithms, ",") {
		r, err := evaluate(context.Background(), name, ds)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("| %s | %.1f%% (%d/%d) | %.3f | %s |\n", name, 100*r.accuracy, r.correct, ds.test.rows(), r.f1, r.fit.Round(time.Millisecond))
		if *confusion {
			printConfusion(r.metrics)
		}
	}
}

// table is one split as columns: the MFCC summary features and the label.
type table struct {
	features [][]float64 // [feature][row]
	labels   []string
}

func (t *table) rows() int { return len(t.labels) }

func (t *table) columns(names []string) ([]*ml.Column, *ml.Column) {
	cols := make([]*ml.Column, len(names))
	for j, name := range names {
		cols[j] = ml.NewNumeric(name, t.features[j])
	}
	levels := slices.Compact(slices.Sorted(slices.Values(t.labels)))
	codes := make([]int32, len(t.labels))
	for i, l := range t.labels {
		codes[i] = int32(slices.Index(levels, l))
	}
	return cols, ml.NewCategorical("label", codes, levels)
}

type dataset struct {
	names       []string
	train, test table
	seconds     float64 // audio decoded
}

// recording is one WAV of the zip and, once analysed, its features.
type recording struct {
	split, label        string
	file                *zip.File
	padBefore, padAfter float64 // seconds of silence to add
	features            []float64
	seconds             float64
	err                 error
}

// load decodes and analyses every WAV in the zip, workers at a time.
// Test recordings get up to padTest seconds of silence at each end.
func load(path string, opt ml.MFCCOptions, workers int, padTest float64) (*dataset, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var recs []*recording
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.HasSuffix(strings.ToLower(f.Name), ".wav") {
			continue
		}
		parts := strings.Split(f.Name, "/")
		if len(parts) != 3 || (parts[0] != "train" && parts[0] != "test") {
			return nil, fmt.Errorf("%s: %s is not train/<label>/<file>.wav or test/<label>/<file>.wav", path, f.Name)
		}
		r := &recording{split: parts[0], label: parts[1], file: f}
		if r.split == "test" && padTest > 0 {
			rng := rand.New(rand.NewPCG(uint64(len(recs)), 0x706164))
			r.padBefore, r.padAfter = padTest*rng.Float64(), padTest*rng.Float64()
		}
		recs = append(recs, r)
	}
	jobs := make(chan *recording)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range jobs {
				r.analyse(opt)
			}
		})
	}
	for _, r := range recs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()

	ds := &dataset{names: ml.MFCCFeatureNames(opt)}
	for _, t := range []*table{&ds.train, &ds.test} {
		t.features = make([][]float64, len(ds.names))
	}
	for _, r := range recs {
		if r.err != nil {
			return nil, fmt.Errorf("%s: %w", r.file.Name, r.err)
		}
		t := &ds.train
		if r.split == "test" {
			t = &ds.test
		}
		for j, v := range r.features {
			t.features[j] = append(t.features[j], v)
		}
		t.labels = append(t.labels, r.label)
		ds.seconds += r.seconds
	}
	if ds.train.rows() == 0 || ds.test.rows() == 0 {
		return nil, fmt.Errorf("%s: %d training and %d test recordings; need both", path, ds.train.rows(), ds.test.rows())
	}
	return ds, nil
}

func (r *recording) analyse(opt ml.MFCCOptions) {
	rc, err := r.file.Open()
	if err != nil {
		r.err = err
		return
	}
	defer rc.Close()
	samples, rate, err := audio.Decode(io.LimitReader(rc, 64<<20))
	if err != nil {
		r.err = err
		return
	}
	r.seconds = float64(len(samples)) / float64(rate)
	if r.padBefore > 0 || r.padAfter > 0 {
		padded := make([]float64, int(r.padBefore*float64(rate)), len(samples)+int((r.padBefore+r.padAfter)*float64(rate))+1)
		padded = append(padded, samples...)
		samples = append(padded, make([]float64, int(r.padAfter*float64(rate)))...)
	}
	r.features, r.err = ml.MFCCFeatures(samples, rate, opt)
}

type result struct {
	accuracy, f1 float64
	correct      int
	fit          time.Duration
	metrics      *ml.Metrics
}

// evaluate trains algorithm with its default parameters on the training
// split and scores it on the test split.
func evaluate(ctx context.Context, algorithm string, ds *dataset) (*result, error) {
	trainX, trainY := ds.train.columns(ds.names)
	testX, testY := ds.test.columns(ds.names)
	start := time.Now()
	model, err := ml.Train(ctx, ml.TrainConfig{Algorithm: algorithm}, trainX, trainY)
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", algorithm, err)
	}
	fit := time.Since(start)
	m, err := model.Evaluate(testX, testY)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", algorithm, err)
	}
	correct := 0
	for k := range m.ConfusionMatrix {
		correct += m.ConfusionMatrix[k][k]
	}
	return &result{accuracy: *m.Accuracy, f1: *m.F1, correct: correct, fit: fit, metrics: m}, nil
}

func printConfusion(m *ml.Metrics) {
	fmt.Printf("\n%8s", "")
	for _, l := range m.Labels {
		fmt.Printf(" %5.5s", l)
	}
	fmt.Println()
	for i, row := range m.ConfusionMatrix {
		fmt.Printf("%8s", m.Labels[i])
		for _, n := range row {
			fmt.Printf(" %5d", n)
		}
		fmt.Println()
	}
	fmt.Println()
}
