package graph

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	"mlgraph/internal/apperr"
	"mlgraph/internal/images"
	"mlgraph/ml"
	"mlgraph/service"
	"mlgraph/store"

	"mlgraph/graph/model"
)

// page turns connection arguments into a store page request; orderBy's
// field and direction arrive as their enum values.
func page(first *int, after *string, field, direction string) store.Page {
	p := store.Page{First: deref(first), After: deref(after)}
	if field != "" && field != "CREATED_AT" {
		p.Order.Key = field
	}
	p.Order.Ascending = direction == "ASC"
	return p
}

func datasetPage(first *int, after *string, o *model.DatasetOrder) store.Page {
	if o == nil {
		return page(first, after, "", "")
	}
	return page(first, after, o.Field, o.Direction)
}

func modelPage(first *int, after *string, o *model.ModelOrder) store.Page {
	if o == nil {
		return page(first, after, "", "")
	}
	return page(first, after, o.Field, o.Direction)
}

func datasetFilter(f *model.DatasetFilter) store.DatasetFilter {
	if f == nil {
		return store.DatasetFilter{}
	}
	return store.DatasetFilter{NameContains: deref(f.NameContains)}
}

func modelFilter(f *model.ModelFilter) store.ModelFilter {
	if f == nil {
		return store.ModelFilter{}
	}
	return store.ModelFilter{NameContains: deref(f.NameContains), Algorithm: deref(f.Algorithm), Task: deref(f.Task), Status: deref(f.Status)}
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
		c.Edges[i] = model.DatasetEdge{Cursor: p.Cursors[i], Node: d}
	}
	return c
}

func predictionConnection(p *store.Paged[service.Prediction]) *model.PredictionConnection {
	c := &model.PredictionConnection{PageInfo: pageInfo(p), TotalCount: int(p.TotalCount), Edges: make([]model.PredictionEdge, len(p.Items))}
	for i, pr := range p.Items {
		c.Edges[i] = model.PredictionEdge{Cursor: p.Cursors[i], Node: pr}
	}
	return c
}

// optional returns nil for the empty string.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func algorithmInfo(a ml.AlgorithmInfo) model.AlgorithmInfo {
	out := model.AlgorithmInfo{Name: a.Name, Description: a.Description, ImagesOnly: a.ImagesOnly}
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
		switch f.Type {
		case ml.Categorical:
			field.Categories = f.Levels
		case ml.Numeric:
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
	req := trainFields(input.DatasetID, input.Target, input.Features, input.Algorithm, input.Task, input.Split, input.Name, input.Text)
	var err error
	if req.Params, err = object("params", input.Params); err != nil {
		return req, err
	}
	if cv := input.CrossValidate; cv != nil {
		req.CrossValidate = &service.CrossValidateRequest{Folds: derefOr(cv.Folds, 5), Seed: int64(derefOr(cv.Seed, 0))}
	}
	return req, nil
}

func tuneRequest(input model.TuneModelInput) (service.TuneRequest, error) {
	req := service.TuneRequest{
		Train:  trainFields(input.DatasetID, input.Target, input.Features, input.Algorithm, input.Task, input.Split, input.Name, input.Text),
		Metric: deref(input.Metric),
		Folds:  derefOr(input.Folds, 5),
		Seed:   int64(derefOr(input.Seed, 0)),
	}
	var err error
	if req.Train.Params, err = object("params", input.Params); err != nil {
		return req, err
	}
	if req.Grid, err = object("grid", input.Grid); err != nil {
		return req, err
	}
	if r := input.Random; r != nil {
		ranges, err := object("random.ranges", r.Ranges)
		if err != nil {
			return req, err
		}
		req.Random = &service.RandomSearch{N: r.N, Ranges: ranges}
	}
	return req, nil
}

func compareRequest(input model.CompareModelsInput) (service.CompareRequest, error) {
	req := service.CompareRequest{
		Base:       trainFields(input.DatasetID, input.Target, input.Features, "", input.Task, input.Split, nil, input.Text),
		Algorithms: input.Algorithms,
		Metric:     deref(input.Metric),
	}
	var err error
	req.Params, err = object("params", input.Params)
	return req, err
}

// trainFields is the part of a training request that trainModel,
// tuneModel and compareModels share.
func trainFields(datasetID string, target *string, features []string, algorithm string, task *string, split *model.SplitInput, name *string, text *model.TextOptionsInput) service.TrainRequest {
	return service.TrainRequest{
		DatasetID: datasetID,
		Target:    deref(target),
		Features:  features,
		Algorithm: algorithm,
		Task:      deref(task),
		Split:     splitRequest(split),
		Text:      textOptions(text),
		Name:      name,
	}
}

// textOptions converts the text options; an unset field keeps the
// default (ml.ResolveTextOptions checks them).
func textOptions(in *model.TextOptionsInput) *ml.TextOptions {
	if in == nil {
		return nil
	}
	opts := &ml.TextOptions{
		Lowercase:    in.Lowercase,
		NgramMin:     deref(in.NgramMin),
		NgramMax:     deref(in.NgramMax),
		CharNgramMin: deref(in.CharNgramMin),
		CharNgramMax: deref(in.CharNgramMax),
		MaxFeatures:  deref(in.MaxFeatures),
		MinDf:        deref(in.MinDf),
		MaxDf:        deref(in.MaxDf),
		SublinearTf:  deref(in.SublinearTf),
	}
	if deref(in.EnglishStopWords) {
		opts.StopWords = "english"
	}
	return opts
}

// textOptionsOf shows a model's resolved text options.
func textOptionsOf(raw json.RawMessage) (*model.TextOptions, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var o ml.TextOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("decode text options: %w", err)
	}
	out := &model.TextOptions{
		Lowercase: o.Lowercase == nil || *o.Lowercase, EnglishStopWords: o.StopWords == "english",
		NgramMin: o.NgramMin, NgramMax: o.NgramMax, MaxFeatures: o.MaxFeatures,
		MinDf: o.MinDf, MaxDf: o.MaxDf, SublinearTf: o.SublinearTf,
	}
	if o.CharNgramMin > 0 {
		out.CharNgramMin, out.CharNgramMax = &o.CharNgramMin, &o.CharNgramMax
	}
	return out, nil
}

// The GraphQL names of images.Color.
var imageColors = map[images.Color]string{images.Gray: "GRAYSCALE", images.RGB: "RGB"}

// imageOptions converts uploadImageDataset's options; the service checks
// them.
func imageOptions(in *model.ImageOptionsInput) images.Options {
	var opt images.Options
	if in == nil {
		return opt
	}
	opt.Size = deref(in.Size)
	for color, name := range imageColors {
		if deref(in.Color) == name {
			opt.Color = color
		}
	}
	return opt
}

// mediaOf shows how a dataset's or model's files became features.
func mediaOf(raw json.RawMessage) (*model.Media, error) {
	m, err := service.DecodeMedia(raw)
	if err != nil || m == nil {
		return nil, err
	}
	out := &model.Media{Kind: m.Kind, Files: m.Files}
	if m.Image != nil {
		color := imageColors[m.Image.Color]
		out.ImageSize, out.ImageColor = &m.Image.Size, &color
	}
	if m.Audio != nil {
		out.SampleRate, out.Coefficients = &m.Audio.SampleRate, &m.Audio.Coefficients
	}
	return out, nil
}

// columnTypeMap converts createDataset's and uploadDataset's columnTypes.
func columnTypeMap(in []model.ColumnTypeInput) (map[string]ml.ColumnType, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]ml.ColumnType, len(in))
	for _, c := range in {
		if _, dup := out[c.Name]; dup {
			return nil, apperr.BadInputf("columnTypes names column %q twice", c.Name)
		}
		out[c.Name] = ml.ColumnType(c.Type)
	}
	return out, nil
}

// uploads turns predictImage's and predictAudio's file or files into the
// service's files: exactly one of the two.
func uploads(file *graphql.Upload, files []graphql.Upload) ([]service.File, error) {
	if (file == nil) == (files == nil) {
		return nil, apperr.BadInputf("give exactly one of file and files")
	}
	if file != nil {
		files = []graphql.Upload{*file}
	}
	out := make([]service.File, len(files))
	for i, f := range files {
		out[i] = service.File{Name: f.Filename, Body: f.File}
	}
	return out, nil
}

// readerAt gives random access to an upload, which a zip needs: gqlgen's
// uploads are files or in-memory readers, both of which have it.
func readerAt(u graphql.Upload) (io.ReaderAt, error) {
	if ra, ok := u.File.(io.ReaderAt); ok {
		return ra, nil
	}
	data, err := io.ReadAll(u.File) // bounded by the upload limit
	if err != nil {
		return nil, fmt.Errorf("read upload %q: %w", u.Filename, err)
	}
	return bytes.NewReader(data), nil
}

func splitRequest(s *model.SplitInput) service.SplitRequest {
	if s == nil {
		return service.SplitRequest{}
	}
	req := service.SplitRequest{Method: deref(s.Method), TestFraction: s.TestFraction, Column: s.Column}
	if s.Seed != nil {
		seed := int64(*s.Seed)
		req.Seed = &seed
	}
	return req
}

// object reads a JSON argument that must be an object (or absent).
func object(field string, v any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, apperr.BadInputf("%s must be an object", field)
	}
	return m, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func derefOr[T any](p *T, fallback T) T {
	if p == nil {
		return fallback
	}
	return *p
}

// values copies the pointed-to values of ps, for lists whose schema
// elements gqlgen binds by value.
func values[T any](ps []*T) []T {
	out := make([]T, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

// largestPerClass keeps the top coefficients of each class by size,
// largest first, the classes in their order.
func largestPerClass(coefs []ml.Coefficient, top int) []ml.Coefficient {
	var classes []string
	byClass := map[string][]ml.Coefficient{}
	for _, c := range coefs {
		if _, seen := byClass[c.Class]; !seen {
			classes = append(classes, c.Class)
		}
		byClass[c.Class] = append(byClass[c.Class], c)
	}
	out := make([]ml.Coefficient, 0, min(len(coefs), top*len(classes)))
	for _, class := range classes {
		group := byClass[class]
		slices.SortStableFunc(group, func(a, b ml.Coefficient) int { return cmp.Compare(math.Abs(b.Weight), math.Abs(a.Weight)) })
		out = append(out, group[:min(top, len(group))]...)
	}
	return out
}
