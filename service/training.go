package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// Split methods, as in the schema's SplitMethod enum.
const (
	SplitRandom = "RANDOM"
	SplitCustom = "CUSTOM"
	SplitNone   = "NONE"
)

// Model statuses, as in the schema's ModelStatus enum.
const (
	StatusTraining = "TRAINING"
	StatusReady    = "READY"
	StatusFailed   = "FAILED"
)

const defaultTestFraction = 0.2

// TrainRequest is what trainModel asks for. Nil pointers and slices mean
// "use the default".
type TrainRequest struct {
	DatasetID string
	Target    string
	Features  []string
	Algorithm string
	Task      string
	Params    map[string]any
	Split     SplitRequest
	// Text is how TEXT features become features; nil for the defaults.
	Text *ml.TextOptions `json:",omitempty"`
	// CrossValidate, when set, also cross-validates on the training rows.
	CrossValidate *CrossValidateRequest
	Name          *string
}

// CrossValidateRequest asks for k-fold cross-validation.
type CrossValidateRequest struct {
	Folds int
	Seed  int64
}

// SplitRequest chooses the rows a model is trained and evaluated on.
type SplitRequest struct {
	Method       string
	TestFraction *float64
	Column       *string
	Seed         *int64
}

// SplitInfo records the split a model was evaluated with.
type SplitInfo struct {
	Method       string   `json:"method"`
	TestFraction *float64 `json:"testFraction,omitempty"`
	Column       *string  `json:"column,omitempty"`
	Seed         *int64   `json:"seed,omitempty"`
	TrainRows    int      `json:"trainRows"`
	TestRows     int      `json:"testRows"`
}

// trainingPlan is a checked TrainRequest, ready to fit.
type trainingPlan struct {
	dataset  *store.Dataset
	config   ml.TrainConfig
	features []string
	target   string
	split    SplitInfo
	// Rows, after the split and with missing targets dropped.
	trainX, testX []*ml.Column
	trainY, testY *ml.Column // nil for clustering
	name          string
	crossValidate *CrossValidateRequest
	// text is the resolved text options as JSON, nil without TEXT
	// features.
	text json.RawMessage
	// tuning is the search that chose the params (tuneModel).
	tuning *Tuning
}

// Train checks the request and queues the training: mistakes in the
// request are BAD_USER_INPUT/NOT_FOUND errors and store nothing. It returns
// the QUEUED model at once, or with wait the finished model (READY, FAILED
// with its error, or CANCELLED).
func (s *Service) Train(ctx context.Context, req TrainRequest, wait bool) (*store.Model, error) {
	plan, err := s.planTraining(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, plan, jobRequest{Kind: jobTrain, Train: &req}, wait)
}

// Stages of a training job after loading, with the fraction of the job
// done when they start (fitting spans fitStart to fitEnd, see fitProgress).
const (
	stageCrossValidating = "cross-validating"
	stageEvaluating      = "evaluating"
	stageSaving          = "saving"
)

// fit trains, evaluates and saves a model whose record exists, telling
// stage what it is doing.
func (s *Service) fit(ctx context.Context, plan *trainingPlan, rec *store.Model, stage func(name string, fraction float64)) (*ml.Model, error) {
	var err error
	if cv := plan.crossValidate; cv != nil {
		stage(stageCrossValidating, 0.02)
		result, err := ml.CrossValidate(ctx, plan.config, plan.trainX, plan.trainY, cv.Folds, uint64(cv.Seed))
		if err != nil {
			return nil, fmt.Errorf("cross-validate: %w", err)
		}
		if rec.CrossValidation, err = json.Marshal(result); err != nil {
			return nil, fmt.Errorf("encode cross-validation: %w", err)
		}
	}
	stage(stageFitting, fitStart)
	start := time.Now()
	fitted, err := ml.Train(ctx, plan.config, plan.trainX, plan.trainY)
	if err != nil {
		return nil, fmt.Errorf("train %s: %w", plan.config.Algorithm, err)
	}
	elapsed := time.Since(start)
	stage(stageEvaluating, fitEnd)
	start = time.Now()
	testOut, err := fitted.Predict(plan.testX)
	if err != nil {
		return nil, fmt.Errorf("predict test rows: %w", err)
	}
	perRow := float64(time.Since(start).Nanoseconds()) / 1e3 / float64(max(plan.split.TestRows, 1))
	testMetrics, err := fitted.EvaluateOutput(plan.testX, plan.testY, testOut)
	if err != nil {
		return nil, fmt.Errorf("evaluate on test rows: %w", err)
	}
	trainMetrics, err := fitted.Evaluate(plan.trainX, plan.trainY)
	if err != nil {
		return nil, fmt.Errorf("evaluate on training rows: %w", err)
	}
	importance, err := fitted.FeatureImportance(ctx, plan.testX, plan.testY, 0)
	if err != nil {
		return nil, fmt.Errorf("feature importance: %w", err)
	}
	stage(stageSaving, 0.97)
	state, err := fitted.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("encode model: %w", err)
	}
	if rec.Metrics, err = encodeMetrics(testMetrics); err != nil {
		return nil, err
	}
	if rec.TrainingMetrics, err = encodeMetrics(trainMetrics); err != nil {
		return nil, err
	}
	if importance != nil {
		if rec.FeatureImportance, err = json.Marshal(importance); err != nil {
			return nil, fmt.Errorf("encode feature importance: %w", err)
		}
	}
	if fitted.Task != ml.Clustering {
		if rec.Background, err = backgroundSample(plan.trainX); err != nil {
			return nil, err
		}
	}
	data, err := reportData(fitted, rec.Name, plan.trainX, testOut, plan.testY, testMetrics)
	if err != nil {
		return nil, err
	}
	if rec.Report, err = encodeReport(data); err != nil {
		return nil, err
	}
	if plan.tuning != nil {
		if rec.Tuning, err = json.Marshal(plan.tuning); err != nil {
			return nil, fmt.Errorf("encode tuning: %w", err)
		}
	}
	now := time.Now().UTC()
	ms := elapsed.Milliseconds()
	rec.Status = StatusReady
	rec.Classes = fitted.Classes
	rec.Params = fitted.Params
	rec.TrainedAt = &now
	rec.TrainingTimeMs = &ms
	rec.PredictionMicrosPerRow = &perRow
	if err := s.store.CompleteModel(context.WithoutCancel(ctx), rec, modelStateFormat, state); err != nil {
		return nil, fmt.Errorf("save model %d: %w", rec.ID, err)
	}
	s.models.put(rec, fitted, len(state))
	return fitted, nil
}

// planTraining checks a request against the dataset and loads the rows.
func (s *Service) planTraining(ctx context.Context, req TrainRequest) (*trainingPlan, error) {
	d, err := s.Dataset(ctx, req.DatasetID)
	if err != nil {
		return nil, err
	}
	info, ok := ml.LookupAlgorithm(req.Algorithm)
	if !ok {
		return nil, apperr.BadInputf("unknown algorithm %q", req.Algorithm)
	}
	params, err := ml.ResolveParams(info.Name, req.Params)
	if err != nil {
		return nil, badInput(err)
	}
	hasTarget := req.Target != ""
	if hasTarget && columnIndex(d, req.Target) < 0 {
		return nil, apperr.BadInputf("target column %q is not in dataset %d (columns: %s)",
			req.Target, d.ID, strings.Join(columnNames(d), ", "))
	}
	task := ml.Task(req.Task)
	if task == "" {
		switch {
		case len(info.Tasks) == 1:
			task = info.Tasks[0]
		case !hasTarget:
			return nil, apperr.BadInputf("target is required for %s", info.Name)
		}
	}
	if task != "" {
		if err := ml.CheckTask(info.Name, task); err != nil {
			return nil, badInput(err)
		}
	}
	switch {
	case task == ml.Clustering && hasTarget:
		return nil, apperr.BadInputf("%s clusters rows without a target: omit target", info.Name)
	case task != "" && task != ml.Clustering && !hasTarget:
		return nil, apperr.BadInputf("target is required for task %s", task)
	}
	split, err := checkSplit(d, req.Split, req.Target)
	if err != nil {
		return nil, err
	}
	features, err := chooseFeatures(d, req.Features, req.Target, split.Column)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s on %s", info.Name, d.Name)
	if req.Name != nil {
		if name, err = checkName("name", *req.Name); err != nil {
			return nil, err
		}
	}
	if cv := req.CrossValidate; cv != nil && (cv.Folds < 2 || cv.Folds > maxFolds || cv.Seed < 0) {
		return nil, apperr.BadInputf("crossValidate.folds must be in [2, %d] and seed not negative, got %d folds, seed %d", maxFolds, cv.Folds, cv.Seed)
	}

	names := slices.Clone(features)
	if hasTarget {
		names = append(names, req.Target)
	}
	if split.Column != nil {
		names = append(names, *split.Column)
	}
	cols, err := s.loadColumns(ctx, d, names)
	if err != nil {
		return nil, err
	}
	featureCols := cols[:len(features)]
	var target *ml.Column
	if hasTarget {
		target = cols[len(features)]
		if task == "" {
			if task, err = ml.InferTask(info.Name, target); err != nil {
				return nil, badInput(err)
			}
		}
		if task == ml.Regression && target.Type != ml.Numeric {
			return nil, apperr.BadInputf("target column %q is %s: regression needs a numeric target (set task: CLASSIFICATION to predict its categories)",
				req.Target, target.Type)
		}
	}

	text, err := textOptions(req.Text, featureCols)
	if err != nil {
		return nil, err
	}

	train, test, err := splitRows(d, split, cols[len(cols)-1])
	if err != nil {
		return nil, err
	}
	if hasTarget {
		train, test = withTarget(train, target), withTarget(test, target)
		if len(train) == 0 {
			return nil, apperr.BadInputf("no training rows with a value in target column %q", req.Target)
		}
		if len(test) == 0 {
			return nil, apperr.BadInputf("no test rows with a value in target column %q", req.Target)
		}
	}
	// The rule for numbers (ml.Usable), naming the dataset's rows, before
	// anything is queued: a dataset stored before import enforced it may
	// break it.
	checked := featureCols
	if task == ml.Regression {
		checked = append(slices.Clone(featureCols), target)
	}
	if err := ml.CheckUsable(checked, nil); err != nil {
		return nil, badInput(err)
	}
	if task == ml.Classification && target.Type == ml.Numeric {
		if err := ml.CheckClassLabels(target, nil); err != nil {
			return nil, badInput(err)
		}
	}
	if task == ml.Classification {
		if n := distinctValues(target, train); n < 2 {
			return nil, apperr.BadInputf("target column %q has %d distinct value(s) in the training rows: classification needs at least two classes", req.Target, n)
		}
	}
	split.TrainRows, split.TestRows = len(train), len(test)

	plan := &trainingPlan{
		dataset:       d,
		config:        ml.TrainConfig{Algorithm: info.Name, Task: task, Params: params, Text: req.Text},
		text:          text,
		features:      features,
		target:        req.Target,
		split:         split,
		trainX:        takeAll(featureCols, train),
		testX:         takeAll(featureCols, test),
		name:          name,
		crossValidate: req.CrossValidate,
	}
	if hasTarget {
		plan.trainY, plan.testY = target.Take(train), target.Take(test)
	}
	return plan, nil
}

// textOptions checks the text options and returns them resolved, as JSON,
// when some feature is TEXT (nil otherwise: the model has no use for them).
func textOptions(opts *ml.TextOptions, features []*ml.Column) (json.RawMessage, error) {
	resolved, err := ml.ResolveTextOptions(opts)
	if err != nil {
		return nil, apperr.BadInputf("text: %v", err)
	}
	if !slices.ContainsFunc(features, func(c *ml.Column) bool { return c.Type == ml.Text }) {
		return nil, nil
	}
	raw, err := json.Marshal(resolved)
	if err != nil {
		return nil, fmt.Errorf("encode text options: %w", err)
	}
	return raw, nil
}

// maxFolds bounds cross-validation folds.
const maxFolds = 20

// checkSplit fills the split's defaults and checks its fields.
func checkSplit(d *store.Dataset, req SplitRequest, target string) (SplitInfo, error) {
	info := SplitInfo{Method: req.Method}
	if info.Method == "" {
		info.Method = SplitRandom
	}
	switch info.Method {
	case SplitRandom:
		if req.Column != nil {
			return info, apperr.BadInputf("split.column is only for method CUSTOM")
		}
		fraction, seed := defaultTestFraction, int64(0)
		if req.TestFraction != nil {
			fraction = *req.TestFraction
		}
		if !(fraction > 0 && fraction < 1) {
			return info, apperr.BadInputf("split.testFraction must be between 0 and 1 (exclusive), got %v", fraction)
		}
		if req.Seed != nil {
			seed = *req.Seed
		}
		if seed < 0 {
			return info, apperr.BadInputf("split.seed must not be negative, got %d", seed)
		}
		info.TestFraction, info.Seed = &fraction, &seed
	case SplitCustom:
		if req.TestFraction != nil || req.Seed != nil {
			return info, apperr.BadInputf("split.testFraction and split.seed are only for method RANDOM")
		}
		if req.Column == nil || *req.Column == "" {
			return info, apperr.BadInputf("split.column is required for method CUSTOM")
		}
		if columnIndex(d, *req.Column) < 0 {
			return info, apperr.BadInputf("split column %q is not in dataset %d", *req.Column, d.ID)
		}
		if *req.Column == target {
			return info, apperr.BadInputf("split column %q is the target", *req.Column)
		}
		info.Column = req.Column
	case SplitNone:
		if req.TestFraction != nil || req.Seed != nil || req.Column != nil {
			return info, apperr.BadInputf("split method NONE takes no testFraction, seed or column")
		}
	default:
		return info, apperr.BadInputf("unknown split method %q", req.Method)
	}
	return info, nil
}

// chooseFeatures checks the requested features, or picks every column but
// the target and the split column.
func chooseFeatures(d *store.Dataset, requested []string, target string, splitColumn *string) ([]string, error) {
	excluded := func(name string) bool {
		return name == target || (splitColumn != nil && name == *splitColumn)
	}
	if requested == nil {
		// A media dataset's label and split columns are never features
		// by default, whatever the target and split method.
		media := hasMedia(d.Media)
		var features []string
		for _, c := range d.Columns {
			if !excluded(c.Name) && !(media && (c.Name == LabelColumn || c.Name == SplitColumn)) {
				features = append(features, c.Name)
			}
		}
		if len(features) == 0 {
			return nil, apperr.BadInputf("dataset %d has no column to use as a feature besides the target", d.ID)
		}
		return features, nil
	}
	if len(requested) == 0 {
		return nil, apperr.BadInputf("features must not be empty (omit it to use every column but the target)")
	}
	seen := make(map[string]bool, len(requested))
	for _, f := range requested {
		switch {
		case columnIndex(d, f) < 0:
			return nil, apperr.BadInputf("feature column %q is not in dataset %d (columns: %s)", f, d.ID, strings.Join(columnNames(d), ", "))
		case f == target:
			return nil, apperr.BadInputf("feature %q is the target", f)
		case excluded(f):
			return nil, apperr.BadInputf("feature %q is the split column", f)
		case seen[f]:
			return nil, apperr.BadInputf("feature %q is listed twice", f)
		}
		seen[f] = true
	}
	return requested, nil
}

// splitRows returns the training and test rows.
func splitRows(d *store.Dataset, split SplitInfo, splitColumn *ml.Column) (train, test []int, err error) {
	switch split.Method {
	case SplitCustom:
		train, test, err = ml.CustomSplit(splitColumn)
	case SplitNone:
		train = make([]int, d.RowCount)
		for i := range train {
			train[i] = i
		}
		test = train
	default:
		train, test, err = ml.RandomSplit(d.RowCount, *split.TestFraction, uint64(*split.Seed))
	}
	if err != nil {
		return nil, nil, badInput(err)
	}
	return train, test, nil
}

func withTarget(rows []int, target *ml.Column) []int {
	out := make([]int, 0, len(rows))
	for _, r := range rows {
		if !target.IsMissing(r) {
			out = append(out, r)
		}
	}
	return out
}

func distinctValues(c *ml.Column, rows []int) int {
	seen := make(map[string]struct{})
	for _, r := range rows {
		seen[c.Text(r)] = struct{}{}
		if len(seen) > 1 {
			break
		}
	}
	return len(seen)
}

func takeAll(cols []*ml.Column, rows []int) []*ml.Column {
	out := make([]*ml.Column, len(cols))
	for i, c := range cols {
		out[i] = c.Take(rows)
	}
	return out
}

// badInput turns the ml package's input errors into BAD_USER_INPUT.
func badInput(err error) error {
	if e, ok := errors.AsType[*ml.InputError](err); ok {
		return &apperr.Error{Code: apperr.BadInput, Message: e.Error()}
	}
	return err
}

// encodeMetrics stores metrics as JSON, dropping values that are not
// finite (JSON cannot hold them and they mean "undefined here").
func encodeMetrics(m *ml.Metrics) (json.RawMessage, error) {
	m.DropNonFinite()
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return b, nil
}

// DecodeMetrics reads metrics stored by encodeMetrics; nil for none.
func DecodeMetrics(raw json.RawMessage) (*ml.Metrics, error) { return DecodeReport[ml.Metrics](raw) }

// DecodeReport reads a report stored as JSON with a model (metrics,
// cross-validation, tuning); nil for none.
func DecodeReport[T any](raw json.RawMessage) (*T, error) {
	if isNull(raw) {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// isNull reports whether a report stored as JSON is absent.
func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// DecodeSplit reads a model's stored split.
func DecodeSplit(m map[string]any) (SplitInfo, error) {
	var info SplitInfo
	b, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		return info, fmt.Errorf("decode split: %w", err)
	}
	return info, nil
}

func toMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
