package ml

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestParallelForPanics: a panic in a worker reaches the caller, which can
// recover it, instead of ending the process.
func TestParallelForPanics(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two workers")
	}
	var ran atomic.Int64
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want boom", p)
		}
	}()
	parallelFor(100, func(i int) {
		ran.Add(1)
		if i == 3 {
			panic("boom")
		}
	})
	t.Error("parallelFor returned normally")
}
