package model

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

func TestFiniteFloat(t *testing.T) {
	ctx := context.Background()
	for _, f := range []float64{0, -1.5, 1e150, -1e-300, 0.1, 123456789, 1e21, math.MaxFloat64} {
		var got, want bytes.Buffer
		if err := MarshalFiniteFloat(f).MarshalGQLContext(ctx, &got); err != nil {
			t.Fatal(err)
		}
		graphql.MarshalFloatContext(f).MarshalGQLContext(ctx, &want)
		if got.String() != want.String() {
			t.Errorf("%v: %s, gqlgen writes %s", f, got.String(), want.String())
		}
		var back float64
		if err := json.Unmarshal(got.Bytes(), &back); err != nil || back != f {
			t.Errorf("%v: %s reads back as %v (%v)", f, got.String(), back, err)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		var got bytes.Buffer
		err := MarshalFiniteFloat(f).MarshalGQLContext(ctx, &got)
		if err == nil || got.Len() != 0 || !strings.Contains(err.Error(), "bug") {
			t.Errorf("%v: wrote %q, error %v", f, got.String(), err)
		}
		// In a response: null and an error on the field, not broken JSON.
		got.Reset()
		graphql.WrapContextMarshaler(graphql.WithResponseContext(ctx, graphql.DefaultErrorPresenter, nil), MarshalFiniteFloat(f)).MarshalGQL(&got)
		if got.String() != "null" {
			t.Errorf("%v in a response: %q", f, got.String())
		}
	}
	for _, v := range []any{"Infinity", "NaN", "-Inf", json.Number("1e400")} {
		if f, err := UnmarshalFiniteFloat(ctx, v); err == nil {
			t.Errorf("Float argument %v read as %v", v, f)
		}
	}
	if f, err := UnmarshalFiniteFloat(ctx, json.Number("1e150")); err != nil || f != 1e150 {
		t.Errorf("1e150: %v %v", f, err)
	}
}

func TestFiniteJSON(t *testing.T) {
	ctx := context.Background()
	var got bytes.Buffer
	v := map[string]any{"a": 1.5, "b": nil, "c": "x<y"}
	if err := MarshalFiniteJSON(v).MarshalGQLContext(ctx, &got); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	graphql.MarshalAny(v).MarshalGQL(&want)
	if got.String() != strings.TrimSpace(want.String()) {
		t.Errorf("wrote %s, gqlgen writes %s", got.String(), want.String())
	}
	got.Reset()
	// gqlgen's own JSON scalar panics here.
	err := MarshalFiniteJSON(map[string]any{"a": math.NaN()}).MarshalGQLContext(ctx, &got)
	if err == nil || got.Len() != 0 || !strings.Contains(err.Error(), "bug") {
		t.Errorf("NaN in JSON: wrote %q, error %v", got.String(), err)
	}
}
