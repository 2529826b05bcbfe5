package ml

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// ParamType is the type of an algorithm parameter's value.
type ParamType string

const (
	ParamFloat  ParamType = "FLOAT"  // resolved to float64
	ParamInt    ParamType = "INT"    // resolved to int
	ParamBool   ParamType = "BOOL"   // resolved to bool
	ParamString ParamType = "STRING" // resolved to string, one of Choices
)

// ParamSpec describes one parameter of an algorithm.
type ParamSpec struct {
	Name    string
	Type    ParamType
	Default any
	// Min and Max bound FLOAT and INT values (nil = unbounded). Bounds are
	// inclusive unless MinExclusive/MaxExclusive is set.
	Min, Max                   *float64
	MinExclusive, MaxExclusive bool
	// Choices lists the allowed values of a STRING parameter.
	Choices     []string
	Description string
}

// AlgorithmInfo describes a learning algorithm.
type AlgorithmInfo struct {
	Name        string
	Tasks       []Task
	Description string
	Params      []ParamSpec
	// NeedsScaling makes the Preprocessor standardise numeric features.
	NeedsScaling bool
	// ImagesOnly algorithms train on the pixel columns of an image
	// dataset and nothing else.
	ImagesOnly bool
}

// Supports reports whether the algorithm can be trained for task.
func (a AlgorithmInfo) Supports(task Task) bool { return slices.Contains(a.Tasks, task) }

// algorithm is a registry entry: the public description plus the
// constructor of its Estimator from resolved parameters.
type algorithm struct {
	AlgorithmInfo
	newEstimator func(params map[string]any) Estimator
	// fitParams, if set, settles parameters that depend on the training
	// data (such as an "auto" choice) once the Preprocessor is fitted, in
	// the resolved params, which the model keeps.
	fitParams func(params map[string]any, prep *Preprocessor)
}

// algorithmTable is the registry of algorithms. It is built on each call so
// that callers can never modify a shared table. Each algorithm's file
// defines its entry (its description, parameters and constructor); adding
// an algorithm means one new file and one line here. Entries without a
// constructor are not offered.
func algorithmTable() []algorithm {
	all := []algorithm{
		linearRegressionAlgorithm(),
		ridgeAlgorithm(),
		lassoAlgorithm(),
		elasticNetAlgorithm(),
		logisticRegressionAlgorithm(),
		linearSVMAlgorithm(),
		svmAlgorithm(),
		decisionTreeAlgorithm(),
		randomForestAlgorithm(),
		gradientBoostingAlgorithm(),
		knnAlgorithm(),
		naiveBayesAlgorithm(),
		mlpAlgorithm(),
		cnnAlgorithm(),
		kmeansAlgorithm(),
	}
	return slices.DeleteFunc(all, func(a algorithm) bool { return a.newEstimator == nil })
}

func fitInterceptParam() ParamSpec {
	return ParamSpec{Name: "fitIntercept", Type: ParamBool, Default: true,
		Description: "Fit an intercept (bias) term; if false the model passes through the origin."}
}

func ptr(v float64) *float64 { return &v }

// seedParam is the parameter of every randomised algorithm: the same seed
// on the same data gives the same model.
func seedParam() ParamSpec {
	return ParamSpec{Name: "seed", Type: ParamInt, Default: 0, Min: ptr(0),
		Description: "Seed of the random number generator; the same seed on the same data gives the same model."}
}

// newRand returns the generator of a randomised algorithm for a seed.
func newRand(seed int) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0x6d6c6772617068)) }

// Algorithms returns the description of every registered algorithm.
func Algorithms() []AlgorithmInfo {
	table := algorithmTable()
	out := make([]AlgorithmInfo, len(table))
	for i, a := range table {
		out[i] = a.AlgorithmInfo
	}
	return out
}

// LookupAlgorithm returns the description of the named algorithm.
func LookupAlgorithm(name string) (AlgorithmInfo, bool) {
	a, ok := lookupAlgorithm(name)
	return a.AlgorithmInfo, ok
}

func lookupAlgorithm(name string) (algorithm, bool) {
	for _, a := range algorithmTable() {
		if a.Name == name {
			return a, true
		}
	}
	return algorithm{}, false
}

// findAlgorithm is lookupAlgorithm returning an *InputError listing the
// valid names when name is unknown.
func findAlgorithm(name string) (algorithm, error) {
	if a, ok := lookupAlgorithm(name); ok {
		return a, nil
	}
	var names []string
	for _, a := range algorithmTable() {
		names = append(names, a.Name)
	}
	return algorithm{}, inputErrorf("unknown algorithm %q; valid algorithms: %s", name, strings.Join(names, ", "))
}

// InferTask returns the task to train algorithm for on target: the
// algorithm's only task if it has one, else REGRESSION for a numeric target
// and CLASSIFICATION for a categorical one.
func InferTask(algorithm string, target *Column) (Task, error) {
	a, err := findAlgorithm(algorithm)
	if err != nil {
		return "", err
	}
	if len(a.Tasks) == 1 {
		return a.Tasks[0], nil
	}
	if target == nil {
		return "", inputErrorf("%s supports several tasks; a target column is needed to choose one", algorithm)
	}
	if target.Type == Numeric {
		return Regression, nil
	}
	return Classification, nil
}

// CheckTask returns an *InputError if algorithm cannot be trained for task.
func CheckTask(algorithm string, task Task) error {
	a, err := findAlgorithm(algorithm)
	if err != nil {
		return err
	}
	if !a.Supports(task) {
		tasks := make([]string, len(a.Tasks))
		for i, t := range a.Tasks {
			tasks[i] = string(t)
		}
		return inputErrorf("%s does not support task %q; it supports %s", algorithm, task, strings.Join(tasks, ", "))
	}
	return nil
}

// ResolveParams validates raw parameter values (as decoded from JSON:
// float64, int, int64, json.Number, string or bool; a nil map means all
// defaults) against algorithm's specs and returns every parameter with
// defaults filled in: INT parameters as int, FLOAT as float64, BOOL as bool,
// STRING as string. Problems are reported as *InputError naming the
// parameter and what it accepts.
func ResolveParams(algorithm string, raw map[string]any) (map[string]any, error) {
	a, err := findAlgorithm(algorithm)
	if err != nil {
		return nil, err
	}
	for name := range raw {
		if !slices.ContainsFunc(a.Params, func(s ParamSpec) bool { return s.Name == name }) {
			if len(a.Params) == 0 {
				return nil, inputErrorf("unknown parameter %q: %s takes no parameters", name, algorithm)
			}
			names := make([]string, len(a.Params))
			for i, s := range a.Params {
				names[i] = s.Name
			}
			return nil, inputErrorf("unknown parameter %q for %s; valid parameters: %s", name, algorithm, strings.Join(names, ", "))
		}
	}
	out := make(map[string]any, len(a.Params))
	for _, spec := range a.Params {
		v, ok := raw[spec.Name]
		if !ok || v == nil {
			out[spec.Name] = spec.Default
			continue
		}
		resolved, err := spec.resolve(v)
		if err != nil {
			return nil, inputErrorf("parameter %s of %s %v", spec.Name, algorithm, err)
		}
		out[spec.Name] = resolved
	}
	return out, nil
}

// resolve converts one raw value to the spec's type and checks its range.
// Its errors complete the sentence "parameter NAME of ALGORITHM ...".
func (s ParamSpec) resolve(v any) (any, error) {
	switch s.Type {
	case ParamBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be a boolean (true or false), got %s", describeValue(v))
		}
		return b, nil
	case ParamString:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string, got %s", describeValue(v))
		}
		if len(s.Choices) > 0 && !slices.Contains(s.Choices, str) {
			return nil, fmt.Errorf("must be one of %s, got %q", strings.Join(s.Choices, ", "), str)
		}
		return str, nil
	case ParamFloat, ParamInt:
		kind := "a number"
		if s.Type == ParamInt {
			kind = "an integer"
		}
		f, ok := numericValue(v)
		if !ok {
			return nil, fmt.Errorf("must be %s%s, got %s", kind, s.rangeSuffix(), describeValue(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || s.Type == ParamInt && (f != math.Trunc(f) || math.Abs(f) > 1<<53) {
			return nil, fmt.Errorf("must be %s%s, got %v", kind, s.rangeSuffix(), f)
		}
		if !s.inRange(f) {
			return nil, fmt.Errorf("must be%s, got %v", s.rangeSuffix(), f)
		}
		if s.Type == ParamInt {
			return int(f), nil
		}
		return f, nil
	default:
		return nil, fmt.Errorf("has unknown parameter type %q", s.Type)
	}
}

func (s ParamSpec) inRange(f float64) bool {
	if s.Min != nil && (f < *s.Min || s.MinExclusive && f == *s.Min) {
		return false
	}
	if s.Max != nil && (f > *s.Max || s.MaxExclusive && f == *s.Max) {
		return false
	}
	return true
}

// rangeSuffix describes the valid range with a leading space, e.g. " > 0"
// or " in [1, 100]"; it is empty for an unbounded parameter.
func (s ParamSpec) rangeSuffix() string {
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	switch {
	case s.Min != nil && s.Max != nil:
		lo, hi := "[", "]"
		if s.MinExclusive {
			lo = "("
		}
		if s.MaxExclusive {
			hi = ")"
		}
		return fmt.Sprintf(" in %s%s, %s%s", lo, g(*s.Min), g(*s.Max), hi)
	case s.Min != nil:
		if s.MinExclusive {
			return " > " + g(*s.Min)
		}
		return " >= " + g(*s.Min)
	case s.Max != nil:
		if s.MaxExclusive {
			return " < " + g(*s.Max)
		}
		return " <= " + g(*s.Max)
	}
	return ""
}

// numericValue converts the numeric types JSON decoders produce to float64.
func numericValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if errors.Is(err, strconv.ErrRange) {
			return f, true // ±Inf or 0: reported as out of range, not as "not a number"
		}
		return f, err == nil
	}
	return 0, false
}

func describeValue(v any) string {
	switch v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	}
	if f, ok := numericValue(v); ok {
		return "number " + strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}
