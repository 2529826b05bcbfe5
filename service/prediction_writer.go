package service

import (
	"context"
	"sync"
	"sync/atomic"

	"mlgraph/store"
)

// predictionWriter saves prediction records by group commit: each saving
// predict hands its record over and waits; one goroutine takes every
// record waiting (up to maxGroup) and stores them in one transaction, then
// answers them all. Alone, a record is stored at once; under load, many
// requests share one commit (and one fsync), and a response still comes
// only after its record is durable.
type predictionWriter struct {
	store   *store.Store
	pending chan *pendingPrediction
	start   sync.Once
	// mu orders hand-overs before close: once closed is set, nothing more
	// enters pending, and run answers what did before it stops.
	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
	// commits counts the transactions run (for tests).
	commits atomic.Int64
}

type pendingPrediction struct {
	rec  *store.Prediction
	done chan error
}

// maxGroup bounds the records of one commit.
const maxGroup = 256

func newPredictionWriter(st *store.Store) *predictionWriter {
	return &predictionWriter{
		store:   st,
		pending: make(chan *pendingPrediction, maxGroup),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
}

// save stores rec, sharing a commit with the records saved meanwhile.
func (w *predictionWriter) save(ctx context.Context, rec *store.Prediction) error {
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return w.store.CreatePrediction(ctx, rec)
	}
	w.start.Do(func() { go w.run() })
	p := &pendingPrediction{rec: rec, done: make(chan error, 1)}
	select {
	case w.pending <- p:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once handed over, the record is written whatever the caller does:
	// wait for it, so that the answer never says unsaved what is saved.
	return <-p.done
}

func (w *predictionWriter) run() {
	defer close(w.stopped)
	group := make([]*pendingPrediction, 0, maxGroup)
	recs := make([]*store.Prediction, 0, maxGroup)
	for {
		group, recs = group[:0], recs[:0]
		select {
		case p := <-w.pending:
			group, recs = append(group, p), append(recs, p.rec)
		case <-w.stop:
		}
	gather:
		for len(group) < maxGroup {
			select {
			case p := <-w.pending:
				group, recs = append(group, p), append(recs, p.rec)
			default:
				break gather
			}
		}
		if len(group) == 0 {
			return // stopped, and nothing is left
		}
		// Not the callers' contexts: the commit is theirs together.
		errs := w.store.CreatePredictions(context.Background(), recs)
		w.commits.Add(1)
		for i, p := range group {
			p.done <- errs[i]
		}
	}
}

// close stops the writer once it has answered every record handed over;
// later saves write on their own.
func (w *predictionWriter) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	w.start.Do(func() { close(w.stopped) }) // never started: nothing runs
	close(w.stop)
	<-w.stopped
}
