package labelzip

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Each opens every entry and calls fn with its index, the entry and its
// contents, on up to workers goroutines at once (GOMAXPROCS if workers <
// 1). The reader is closed when fn returns; fn may stop reading early.
// Entries are handed out in index order, so fn can store results by i.
//
// After an error no further entries are started; Each waits for the calls
// under way and returns the error of the lowest-index entry that failed.
// Since every entry before a failing one has been started by then, that
// is the first failing entry in order, whatever the timing. Errors from
// opening or reading an entry are *Errors naming it; fn's errors are
// returned as they are. A panic in fn is returned as an error.
func Each(entries []Entry, workers int, fn func(i int, e Entry, r io.Reader) error) error {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(entries))
	var (
		next atomic.Int64 // the next index to hand out
		// failed is the lowest failing index so far (len(entries) if
		// none): no index above it is handed out. Written under mu.
		failed atomic.Int64
		mu     sync.Mutex
		err    error // the error of entry failed
		wg     sync.WaitGroup
	)
	failed.Store(int64(len(entries)))
	fail := func(i int, e error) {
		mu.Lock()
		defer mu.Unlock()
		if int64(i) < failed.Load() {
			failed.Store(int64(i))
			err = e
		}
	}
	work := func() {
		for {
			i := next.Add(1) - 1
			if i >= failed.Load() {
				return
			}
			if e := process(int(i), entries[i], fn); e != nil {
				fail(int(i), e)
			}
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return err
}

// process opens one entry and hands it to fn.
func process(i int, e Entry, fn func(i int, e Entry, r io.Reader) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic while processing %q: %v\n%s", e.Path, p, debug.Stack())
		}
	}()
	rc, err := e.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return fn(i, e, rc)
}
