package model

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// The Float and JSON scalars are gqlgen's, but for what a response does
// with a NaN or an infinity, which JSON cannot hold. The service returns
// finite numbers only (inputs are bounded by ml.Usable, and statistics are
// computed so as not to overflow), so such a value is a bug: it becomes
// an internal error on its field, logged by the error presenter, and null,
// rather than a broken response (gqlgen's JSON scalar would panic).

// MarshalFiniteFloat writes a Float; see above for a value that is not
// finite.
func MarshalFiniteFloat(f float64) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return errNonFinite(f)
		}
		var buf [32]byte
		_, err := w.Write(strconv.AppendFloat(buf[:0], f, 'g', -1, 64))
		return err
	})
}

// UnmarshalFiniteFloat reads a Float argument, refusing NaN and ±Inf
// (which a string such as "Infinity" could otherwise give).
func UnmarshalFiniteFloat(ctx context.Context, v any) (float64, error) {
	f, err := graphql.UnmarshalFloatContext(ctx, v)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", v)
	}
	return f, nil
}

// MarshalFiniteJSON writes a JSON value; see above for a value that JSON
// cannot encode.
func MarshalFiniteJSON(v any) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("bug: a JSON value of the response cannot be encoded: %w", err)
		}
		_, err = w.Write(b)
		return err
	})
}

// UnmarshalFiniteJSON reads a JSON argument as it comes (numbers as
// json.Number): its consumers check its values.
func UnmarshalFiniteJSON(_ context.Context, v any) (any, error) { return v, nil }

func errNonFinite(f float64) error {
	return fmt.Errorf("bug: a Float of the response is %v, which JSON cannot hold", f)
}
