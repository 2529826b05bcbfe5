package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"mlgraph/internal/report"
	"mlgraph/ml"
)

// Bounds on what a model keeps for its report: a sample of the test
// predictions, and ROC curves only for a few classes.
const (
	reportPoints     = 2000
	reportROCClasses = 10
)

// reportData gathers, at training time, what the model's report plots:
// test predictions against the truth (regression), the confusion matrix
// and ROC curves (classification), the clusters of the training rows
// (clustering), and learning curves. Nil if there is nothing to plot.
func reportData(m *ml.Model, name string, trainX []*ml.Column, out *ml.Output, testY *ml.Column, metrics *ml.Metrics) (*report.Data, error) {
	d := &report.Data{Title: name}
	d.LossCurve, d.ValidationScores = m.LearningCurves()
	n := 0
	if testY != nil {
		n = testY.Len()
	}
	switch m.Task {
	case ml.Regression:
		step := max(1, (n+reportPoints-1)/reportPoints)
		r := &report.Regression{}
		for i := 0; i < n; i += step {
			if !math.IsNaN(testY.Num[i]) {
				r.Actual = append(r.Actual, testY.Num[i])
				r.Predicted = append(r.Predicted, out.Values[i])
			}
		}
		if len(r.Actual) > 0 {
			d.Regression = r
		}
	case ml.Classification:
		c := &report.Classification{Classes: m.Classes, ConfusionMatrix: metrics.ConfusionMatrix}
		var positives []int // the classes that get a one-vs-rest ROC curve
		switch k := len(m.Classes); {
		case k == 2:
			positives = []int{1}
		case k <= reportROCClasses:
			for c := range k {
				positives = append(positives, c)
			}
		}
		for _, k := range positives {
			truth, scores := make([]bool, n), make([]float64, n)
			for i := range n {
				truth[i] = testY.Text(i) == m.Classes[k]
				scores[i] = out.Proba.At(i, k)
			}
			fpr, tpr := report.ROCPoints(truth, scores)
			if fpr != nil {
				c.ROC = append(c.ROC, report.ROCCurve{Class: m.Classes[k], FPR: fpr, TPR: tpr, AUC: report.AUC(fpr, tpr)})
			}
		}
		d.Classification = c
	case ml.Clustering:
		if len(m.Classes) > report.MaxClasses {
			break // too many to draw
		}
		c, err := m.DescribeClusters(trainX, reportPoints)
		if err != nil {
			return nil, fmt.Errorf("describe clusters: %w", err)
		}
		d.Clustering = clusteringReport(c)
	}
	if d.Regression == nil && d.Classification == nil && d.Clustering == nil && len(d.LossCurve) == 0 && len(d.ValidationScores) == 0 {
		return nil, nil
	}
	return d, nil
}

// clusteringReport is what the report draws of a model's clusters.
func clusteringReport(c *ml.Clusters) *report.Clustering {
	pr := &report.Projection{Cluster: c.PointClusters, Explained: c.Explained}
	for _, pt := range c.Points {
		pr.X, pr.Y = append(pr.X, pt[0]), append(pr.Y, pt[1])
	}
	for _, pt := range c.Centers {
		pr.CenterX, pr.CenterY = append(pr.CenterX, pt[0]), append(pr.CenterY, pt[1])
	}
	return &report.Clustering{
		Sizes: c.Sizes, Silhouette: c.Silhouette, Members: c.Members,
		SilhouetteRows: c.SampleRows, MeanSilhouette: c.MeanSilhouette, Projection: pr,
	}
}

// ReportSVG renders a model's report as an SVG document; nil when the
// model has nothing to plot (not trained, trained before reports had its
// kind of panels, or with more clusters than a report draws).
func (s *Service) ReportSVG(ctx context.Context, id string) ([]byte, error) {
	rec, err := s.Model(ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := DecodeReport[report.Data](rec.Report)
	if d == nil || err != nil {
		return nil, err
	}
	svg, err := report.SVG(*d, 0, 0)
	if errors.Is(err, report.ErrNoPanels) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("render report of model %d: %w", rec.ID, err)
	}
	return svg, nil
}

func encodeReport(d *report.Data) (json.RawMessage, error) {
	if d == nil {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode report data: %w", err)
	}
	return b, nil
}
