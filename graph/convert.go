package graph

import (
	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/service"
	"mlgraph/store"

	"mlgraph/graph/model"
)

// page turns connection arguments into a store page request.
func page(first *int, after *string) store.Page {
	var p store.Page
	if first != nil {
		p.First = *first
	}
	if after != nil {
		p.After = *after
	}
	return p
}

func pageInfo[T any](p *store.Paged[T]) *model.PageInfo {
	info := &model.PageInfo{HasNextPage: p.HasNextPage}
	if p.EndCursor != "" {
		info.EndCursor = &p.EndCursor
	}
	return info
}

func datasetConnection(p *store.DatasetPage) *model.DatasetConnection {
	c := &model.DatasetConnection{PageInfo: pageInfo(p), TotalCount: int(p.TotalCount), Edges: make([]model.DatasetEdge, len(p.Items))}
	for i, d := range p.Items {
		c.Edges[i] = model.DatasetEdge{Cursor: store.EncodeCursor(d.ID), Node: d}
	}
	return c
}

func modelConnection(p *store.ModelPage) *model.ModelConnection {
	c := &model.ModelConnection{PageInfo: pageInfo(p), TotalCount: int(p.TotalCount), Edges: make([]model.ModelEdge, len(p.Items))}
	for i, m := range p.Items {
		c.Edges[i] = model.ModelEdge{Cursor: store.EncodeCursor(m.ID), Node: m}
	}
	return c
}

func predictionConnection(p *store.Paged[service.Prediction]) *model.PredictionConnection {
	c := &model.PredictionConnection{PageInfo: pageInfo(p), TotalCount: int(p.TotalCount), Edges: make([]model.PredictionEdge, len(p.Items))}
	for i, pr := range p.Items {
		c.Edges[i] = model.PredictionEdge{Cursor: store.EncodeCursor(*pr.ID), Node: pr}
	}
	return c
}

func metrics(m *ml.Metrics) *model.Metrics {
	if m == nil {
		return nil
	}
	out := &model.Metrics{
		Rows: m.Rows, R2: m.R2, Rmse: m.RMSE, Mae: m.MAE, Mse: m.MSE,
		Accuracy: m.Accuracy, Precision: m.Precision, Recall: m.Recall, F1: m.F1,
		LogLoss: m.LogLoss, RocAuc: m.RocAuc,
	}
	if m.ConfusionMatrix != nil {
		out.ConfusionMatrix = &model.ConfusionMatrix{Labels: m.Labels, Matrix: m.ConfusionMatrix}
	}
	for _, c := range m.PerClass {
		out.PerClass = append(out.PerClass, model.ClassMetrics{Label: c.Label, Precision: c.Precision, Recall: c.Recall, F1: c.F1, Support: c.Support})
	}
	return out
}

// optional returns nil for the empty string.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func algorithmInfo(a ml.AlgorithmInfo) model.AlgorithmInfo {
	out := model.AlgorithmInfo{Name: a.Name, Description: a.Description}
	for _, t := range a.Tasks {
		out.Tasks = append(out.Tasks, string(t))
	}
	for _, p := range a.Params {
		out.Params = append(out.Params, model.ParamInfo{
			Name: p.Name, Type: string(p.Type), Default: p.Default,
			Min: p.Min, Max: p.Max, Choices: p.Choices, Description: p.Description,
		})
	}
	return out
}

func inputSchema(m *ml.Model) []model.InputField {
	out := make([]model.InputField, len(m.Features))
	for i, f := range m.Features {
		field := model.InputField{Name: f.Name, Type: string(f.Type)}
		if f.Type == ml.Categorical {
			field.Categories = f.Levels
		} else {
			field.Min, field.Max = &f.Min, &f.Max
		}
		out[i] = field
	}
	return out
}

func algorithms() []model.AlgorithmInfo {
	algos := ml.Algorithms()
	out := make([]model.AlgorithmInfo, len(algos))
	for i, a := range algos {
		out[i] = algorithmInfo(a)
	}
	return out
}

// trainRequest maps trainModel's input to the service's request.
func trainRequest(input model.TrainModelInput) (service.TrainRequest, error) {
	req := service.TrainRequest{
		DatasetID: input.DatasetID,
		Target:    input.Target,
		Features:  input.Features,
		Algorithm: input.Algorithm,
		Name:      input.Name,
	}
	if input.Task != nil {
		req.Task = *input.Task
	}
	if input.Params != nil {
		params, ok := input.Params.(map[string]any)
		if !ok {
			return req, apperr.BadInputf("params must be an object of parameter name to value")
		}
		req.Params = params
	}
	if s := input.Split; s != nil {
		req.Split = service.SplitRequest{TestFraction: s.TestFraction, Column: s.Column}
		if s.Method != nil {
			req.Split.Method = *s.Method
		}
		if s.Seed != nil {
			seed := int64(*s.Seed)
			req.Split.Seed = &seed
		}
	}
	return req, nil
}
