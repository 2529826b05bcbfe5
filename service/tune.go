package service

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// maxTrials bounds a hyperparameter search.
const maxTrials = 200

// TuneRequest asks for a hyperparameter search. Train.Params are the
// parameters every trial shares; exactly one of Grid and Random is set.
type TuneRequest struct {
	Train  TrainRequest
	Grid   map[string]any
	Random *RandomSearch
	// Metric is a Metric enum value; "" picks the task's default.
	Metric string
	Folds  int
	Seed   int64
}

// RandomSearch draws N parameter sets from Ranges: parameter name to a
// list of values or {"min", "max", "log"}.
type RandomSearch struct {
	N      int
	Ranges map[string]any
}

// Tuning is a finished search, saved with the model it chose.
type Tuning struct {
	Metric    string  `json:"metric"`
	Folds     int     `json:"folds"`
	Trials    []Trial `json:"trials"`
	BestTrial *int    `json:"bestTrial,omitempty"`
}

// Trial is one parameter set of a search and its cross-validated score.
type Trial struct {
	Params map[string]any `json:"params"`
	Score  *float64       `json:"score,omitempty"`
	Std    *float64       `json:"std,omitempty"`
	Rank   *int           `json:"rank,omitempty"`
	Error  *string        `json:"error,omitempty"`
}

// Tune checks a search and queues it: the job cross-validates every
// parameter set on the training rows, then trains the best one on all
// training rows and evaluates it on the test rows like Train does. The
// model's Tuning lists the trials. It returns the QUEUED model at once, or
// with wait the finished one.
func (s *Service) Tune(ctx context.Context, req TuneRequest, wait bool) (*store.Model, error) {
	plan, _, _, err := s.planSearch(ctx, req)
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, plan, jobRequest{Kind: jobTune, Tune: &req}, wait)
}

// planSearch checks a search request and lists its trials' parameters.
func (s *Service) planSearch(ctx context.Context, req TuneRequest) (*trainingPlan, ml.MetricInfo, []map[string]any, error) {
	var metric ml.MetricInfo
	switch {
	case (req.Grid == nil) == (req.Random == nil):
		return nil, metric, nil, apperr.BadInputf("give exactly one of grid and random")
	case req.Folds < 2 || req.Folds > maxFolds:
		return nil, metric, nil, apperr.BadInputf("folds must be in [2, %d], got %d", maxFolds, req.Folds)
	case req.Seed < 0:
		return nil, metric, nil, apperr.BadInputf("seed must not be negative, got %d", req.Seed)
	}
	plan, err := s.planTraining(ctx, req.Train)
	if err != nil {
		return nil, metric, nil, err
	}
	if metric, err = chooseMetric(req.Metric, plan.config.Task); err != nil {
		return nil, metric, nil, err
	}
	var candidates []map[string]any
	if req.Grid != nil {
		candidates, err = gridCandidates(req.Grid)
	} else {
		candidates, err = randomCandidates(req.Random, plan.config.Algorithm, uint64(req.Seed))
	}
	if err != nil {
		return nil, metric, nil, err
	}
	trials := make([]map[string]any, len(candidates))
	for i, c := range candidates {
		params := maps.Clone(req.Train.Params)
		if params == nil {
			params = map[string]any{}
		}
		maps.Copy(params, c)
		if trials[i], err = ml.ResolveParams(plan.config.Algorithm, params); err != nil {
			return nil, metric, nil, apperr.BadInputf("trial %d: %v", i+1, err)
		}
	}
	return plan, metric, trials, nil
}

// searchShare is the part of a search job's progress its trials take; the
// final fit takes the rest.
const searchShare = 0.9

// search runs a queued search's trials and returns them with the best
// parameters.
func (s *Service) search(ctx context.Context, j *job, plan *trainingPlan, req TuneRequest) (*Tuning, map[string]any, error) {
	_, metric, params, err := s.planSearch(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	tuning := &Tuning{Metric: req.Metric, Folds: req.Folds}
	if tuning.Metric == "" {
		tuning.Metric = metricEnum(metric.Name)
	}
	for i, p := range params {
		s.update(j, func(j *job) {
			j.progress = Progress{Stage: fmt.Sprintf("tuning: trial %d of %d", i+1, len(params)), Fraction: searchShare * float64(i) / float64(len(params))}
		})
		trial := Trial{Params: p}
		cfg := plan.config
		cfg.Params = p
		cv, err := ml.CrossValidate(ctx, cfg, plan.trainX, plan.trainY, req.Folds, uint64(req.Seed))
		switch {
		case ctx.Err() != nil:
			return nil, nil, ctx.Err()
		case err != nil:
			msg := err.Error()
			trial.Error = &msg
		default:
			if v, ok := metric.Value(cv.Mean); ok {
				sd, _ := metric.Value(cv.Std)
				trial.Score, trial.Std = &v, &sd
			} else {
				msg := fmt.Sprintf("metric %s is not defined for this model", tuning.Metric)
				trial.Error = &msg
			}
		}
		tuning.Trials = append(tuning.Trials, trial)
	}
	best := rankTrials(tuning.Trials, metric)
	if best < 0 {
		return nil, nil, &ml.InputError{Msg: "every trial failed; the first: " + *tuning.Trials[0].Error}
	}
	tuning.BestTrial = &best
	s.update(j, func(j *job) { j.fitFrom = searchShare })
	return tuning, tuning.Trials[best].Params, nil
}

// rankTrials ranks the scored trials best first and returns the index of
// the best, or -1 if none has a score. Ties keep the earlier trial first.
func rankTrials(trials []Trial, metric ml.MetricInfo) int {
	var scored []int
	for i, t := range trials {
		if t.Score != nil {
			scored = append(scored, i)
		}
	}
	sort.SliceStable(scored, func(a, b int) bool {
		return metric.Better(*trials[scored[a]].Score, *trials[scored[b]].Score)
	})
	for r, i := range scored {
		rank := r + 1
		trials[i].Rank = &rank
	}
	if len(scored) == 0 {
		return -1
	}
	return scored[0]
}

// gridCandidates expands a grid (parameter → list of values) into every
// combination, in a stable order.
func gridCandidates(grid map[string]any) ([]map[string]any, error) {
	if len(grid) == 0 {
		return nil, apperr.BadInputf("grid must name at least one parameter")
	}
	names := slices.Sorted(maps.Keys(grid))
	combos := []map[string]any{{}}
	for _, name := range names {
		values, ok := grid[name].([]any)
		if !ok || len(values) == 0 {
			return nil, apperr.BadInputf("grid.%s must be a non-empty list of values", name)
		}
		if len(combos)*len(values) > maxTrials {
			return nil, apperr.BadInputf("the grid has more than %d combinations", maxTrials)
		}
		var next []map[string]any
		for _, c := range combos {
			for _, v := range values {
				m := maps.Clone(c)
				m[name] = v
				next = append(next, m)
			}
		}
		combos = next
	}
	return combos, nil
}

// randomCandidates draws n parameter sets from ranges.
func randomCandidates(r *RandomSearch, algorithm string, seed uint64) ([]map[string]any, error) {
	if r.N < 1 || r.N > maxTrials {
		return nil, apperr.BadInputf("random.n must be in [1, %d], got %d", maxTrials, r.N)
	}
	if len(r.Ranges) == 0 {
		return nil, apperr.BadInputf("random.ranges must name at least one parameter")
	}
	info, _ := ml.LookupAlgorithm(algorithm)
	specs := map[string]ml.ParamSpec{}
	for _, p := range info.Params {
		specs[p.Name] = p
	}
	type sampler func(*rand.Rand) any
	names := slices.Sorted(maps.Keys(r.Ranges))
	samplers := make([]sampler, len(names))
	for i, name := range names {
		spec, known := specs[name]
		if !known {
			return nil, apperr.BadInputf("random.ranges: unknown parameter %q for %s", name, algorithm)
		}
		switch v := r.Ranges[name].(type) {
		case []any:
			if len(v) == 0 {
				return nil, apperr.BadInputf("random.ranges.%s must not be an empty list", name)
			}
			samplers[i] = func(rng *rand.Rand) any { return v[rng.IntN(len(v))] }
		case map[string]any:
			lo, okLo := number(v["min"])
			hi, okHi := number(v["max"])
			logScale, _ := v["log"].(bool)
			for key := range v {
				if key != "min" && key != "max" && key != "log" {
					return nil, apperr.BadInputf("random.ranges.%s: unknown key %q (use min, max, log)", name, key)
				}
			}
			if !okLo || !okHi || !(lo <= hi) || (logScale && lo <= 0) {
				return nil, apperr.BadInputf("random.ranges.%s needs numbers min <= max (both > 0 with log)", name)
			}
			if spec.Type != ml.ParamFloat && spec.Type != ml.ParamInt {
				return nil, apperr.BadInputf("random.ranges.%s: %s is a %s parameter: give a list of values", name, name, strings.ToLower(string(spec.Type)))
			}
			isInt := spec.Type == ml.ParamInt
			samplers[i] = func(rng *rand.Rand) any {
				var x float64
				if logScale {
					x = math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
				} else {
					x = lo + rng.Float64()*(hi-lo)
				}
				if isInt {
					return math.Round(x)
				}
				return x
			}
		default:
			return nil, apperr.BadInputf("random.ranges.%s must be a list of values or {min, max, log}", name)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x74756e65))
	out := make([]map[string]any, r.N)
	for t := range out {
		out[t] = make(map[string]any, len(names))
		for i, name := range names {
			out[t][name] = samplers[i](rng)
		}
	}
	return out, nil
}

// number reads a JSON number.
func number(v any) (float64, bool) {
	f, err := toFloat(v)
	return f, err == nil && v != nil
}

// chooseMetric maps a Metric enum value (or "" for the task's default) to
// the ml metric, checking that it fits the task.
func chooseMetric(enum string, task ml.Task) (ml.MetricInfo, error) {
	if enum == "" {
		return ml.DefaultMetric(task), nil
	}
	mi, ok := ml.LookupMetric(metricName(enum))
	if !ok {
		return mi, apperr.BadInputf("unknown metric %q", enum)
	}
	if mi.Task != task {
		return mi, apperr.BadInputf("metric %s does not apply to %s models", enum, task)
	}
	return mi, nil
}

// metricName turns a Metric enum value (LOG_LOSS) into the report's field
// name (logLoss); metricEnum is its inverse.
func metricName(enum string) string {
	parts := strings.Split(strings.ToLower(enum), "_")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

func metricEnum(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
