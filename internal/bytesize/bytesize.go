// Package bytesize reads sizes written with units, as the server's flags
// and the benchmark programs take them.
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Parse reads a size: a number of bytes with an optional unit (KB, MB,
// GB: powers of 1000; KiB, MiB, GiB: powers of 1024), such as 500MB or
// 2GiB.
func Parse(text string) (int64, error) {
	text = strings.TrimSpace(text)
	units := []struct {
		suffix string
		scale  float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	scale := 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(text, u.suffix); ok {
			text, scale = strings.TrimSpace(n), u.scale
			break
		}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || v < 0 || v*scale > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid size %q", text)
	}
	return int64(v * scale), nil
}
