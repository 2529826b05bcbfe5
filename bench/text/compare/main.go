// Command compare trains mlgraph's text models on testdata/fortunes.csv
// (imported as the service imports CSV, split by its split column) and
// prints their test accuracy, macro F1 and fit time next to the
// scikit-learn figures of testdata/reference/fortunes.json (made by
// bench/text/reference.py, same vectorizer options and models).
//
//	go run ./bench/text/compare [-data testdata/fortunes.csv] [-reference testdata/reference/fortunes.json]
//
// Fit time is the median of -repeats fits of the whole model (text
// vectorizer and estimator), on whatever cores the machine has.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"time"

	"mlgraph/internal/csvdata"
	"mlgraph/ml"
)

type reference struct {
	Results []struct {
		Model    string         `json:"model"`
		Params   map[string]any `json:"params"`
		Text     ml.TextOptions `json:"text"`
		Accuracy float64        `json:"accuracy"`
		MacroF1  float64        `json:"macro_f1"`
		FitS     float64        `json:"fit_s"`
	} `json:"results"`
}

func main() {
	data := flag.String("data", "testdata/fortunes.csv", "the fortunes CSV (text, split, target)")
	refPath := flag.String("reference", "testdata/reference/fortunes.json", "scikit-learn figures")
	repeats := flag.Int("repeats", 3, "fits per model; the median time is shown")
	flag.Parse()
	if err := run(*data, *refPath, *repeats); err != nil {
		log.Fatal(err)
	}
}

func run(dataPath, refPath string, repeats int) error {
	f, err := os.Open(dataPath)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	cols, _, err := csvdata.ParseReader(f, info.Size(), csvdata.Detect)
	if err != nil {
		return fmt.Errorf("parse %s: %w", dataPath, err)
	}
	text, split, target := column(cols, "text"), column(cols, "split"), column(cols, "target")
	if text == nil || split == nil || target == nil {
		return fmt.Errorf("%s: want columns text, split and target", dataPath)
	}
	if text.Type != ml.Text {
		return fmt.Errorf("column text was imported as %s, want TEXT", text.Type)
	}
	trainRows, testRows, err := ml.CustomSplit(split)
	if err != nil {
		return err
	}
	var ref reference
	raw, err := os.ReadFile(refPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return fmt.Errorf("%s: %w", refPath, err)
	}
	fmt.Printf("%d train rows, %d test rows; %s\n\n", len(trainRows), len(testRows), dataPath)
	fmt.Printf("%-20s %-38s %-30s %9s %9s %9s %9s %8s %8s\n", "model", "params", "text", "accuracy", "sklearn", "macro F1", "sklearn", "fit s", "sklearn")
	ctx := context.Background()
	for _, r := range ref.Results {
		cfg := ml.TrainConfig{Algorithm: r.Model, Params: r.Params, Text: &r.Text}
		var (
			m     *ml.Model
			times []float64
		)
		for range max(repeats, 1) {
			start := time.Now()
			m, err = ml.Train(ctx, cfg, []*ml.Column{text.Take(trainRows)}, target.Take(trainRows))
			times = append(times, time.Since(start).Seconds())
			if err != nil {
				return fmt.Errorf("train %s: %w", r.Model, err)
			}
		}
		slices.Sort(times)
		metrics, err := m.Evaluate([]*ml.Column{text.Take(testRows)}, target.Take(testRows))
		if err != nil {
			return err
		}
		params, _ := json.Marshal(r.Params)
		text, _ := json.Marshal(r.Text)
		fmt.Printf("%-20s %-38s %-30s %9.4f %9.4f %9.4f %9.4f %8.3f %8.3f\n", r.Model, params, text,
			*metrics.Accuracy, r.Accuracy, *metrics.F1, r.MacroF1, times[len(times)/2], r.FitS)
	}
	return nil
}

func column(cols []*ml.Column, name string) *ml.Column {
	for _, c := range cols {
		if c.Name == name {
			return c
		}
	}
	return nil
}
