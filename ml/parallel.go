package ml

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// segment is a half-open range of rows [lo, hi).
type segment struct{ lo, hi int }

// rowSegments splits n rows into contiguous segments of at least minRows
// rows, at most maxSegments of them. The split depends only on its
// arguments, not on the machine, so partial results reduced in segment
// order give bit-identical results whatever the number of cores.
func rowSegments(n, minRows, maxSegments int) []segment {
	k := min(maxSegments, n/max(minRows, 1))
	k = max(k, 1)
	segs := make([]segment, k)
	for s := range segs {
		segs[s] = segment{lo: s * n / k, hi: (s + 1) * n / k}
	}
	return segs
}

// forEachSegment calls fn(s, segs[s]) for every segment in parallel (see
// parallelFor).
func forEachSegment(segs []segment, fn func(s int, seg segment)) {
	parallelFor(len(segs), func(s int) { fn(s, segs[s]) })
}

// parallelFor calls fn(i) for every i in [0, n), running up to GOMAXPROCS
// calls at a time, and returns when all have finished. Calls must be
// independent (each writes only its own outputs).
func parallelFor(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var (
		mu       sync.Mutex
		panicked any
	)
	for range workers {
		wg.Go(func() {
			// A panic in a worker would end the process: hand it to the
			// caller's goroutine instead, where the caller can recover it.
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					if panicked == nil {
						panicked = p
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the other workers early
				}
			}()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
