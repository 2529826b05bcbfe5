package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/ml"
	"mlgraph/store"
)

// Training runs as jobs: a request is checked and recorded as a QUEUED
// model at once, and a bounded pool of workers trains the queue in order.
// Progress is kept in memory and pushed to subscribers; the request itself
// is saved with the model, so that a restart resumes what was queued.

// Job kinds, as saved with a queued model.
const (
	jobTrain = "train"
	jobTune  = "tune"
)

// StatusQueued and StatusCancelled complete the model statuses.
const (
	StatusQueued    = store.StatusQueued
	StatusCancelled = store.StatusCancelled
)

var (
	// errShutdown cancels running jobs when the service closes: they are
	// queued again for the next start.
	errShutdown = errors.New("the server is shutting down")
	// errCancelled cancels a job on a client's request.
	errCancelled = errors.New("cancelled by request")
	// errTimedOut stops a job that ran longer than the training time limit.
	errTimedOut = errors.New("training time limit reached")
)

// jobRequest is what a queued model needs to train.
type jobRequest struct {
	Kind  string        `json:"kind"`
	Train *TrainRequest `json:"train,omitempty"`
	Tune  *TuneRequest  `json:"tune,omitempty"`
}

// Progress is how far a job has got.
type Progress struct {
	// Fraction of the whole job done, in [0, 1].
	Fraction float64
	// Stage names what the job is doing: queued, loading, cross-validating,
	// tuning, fitting, evaluating, saving.
	Stage string
	// Iteration and Loss come from the estimator while fitting, when it
	// reports them.
	Iteration *int
	Loss      *float64
	// Elapsed is the time since the job started running; Eta estimates
	// the time left from the progress so far.
	Elapsed time.Duration
	Eta     *time.Duration
}

// Event is a change of a training job: its status, and its progress while
// it is queued or running. Error says why a job FAILED or was CANCELLED.
type Event struct {
	ModelID  int64
	Status   string
	Progress *Progress
	Error    string
}

// Terminal reports whether no event follows this one.
func (e Event) Terminal() bool {
	return e.Status != StatusQueued && e.Status != StatusTraining
}

// job is a queued or running training.
type job struct {
	id      int64
	request jobRequest
	// plan is the checked request; nil for a job resumed after a restart,
	// which plans again when it starts.
	plan *trainingPlan

	// Guarded by the queue's mutex.
	status string
	// fitFrom is where the final fit's progress starts in the job's (after
	// a search's trials).
	fitFrom   float64
	progress  Progress
	started   time.Time
	lastSent  time.Time
	cancel    context.CancelCauseFunc
	cancelled bool
	done      chan struct{}
	subs      map[chan Event]struct{}
}

// jobQueue is the FIFO of jobs and the registry of running ones.
type jobQueue struct {
	mu      sync.Mutex
	wake    *sync.Cond
	pending []*job
	jobs    map[int64]*job
	closed  bool
	workers sync.WaitGroup
}

func newJobQueue() *jobQueue {
	q := &jobQueue{jobs: map[int64]*job{}}
	q.wake = sync.NewCond(&q.mu)
	return q
}

// progressInterval throttles progress events per job.
const progressInterval = 100 * time.Millisecond

// startWorkers starts n workers that run queued jobs until Close.
func (s *Service) startWorkers(n int) {
	for range n {
		s.jobs.workers.Go(func() {
			for {
				j := s.jobs.next()
				if j == nil {
					return
				}
				s.runJob(j)
			}
		})
	}
}

// next blocks until a job is queued (and returns it) or the queue closes
// (and returns nil).
func (q *jobQueue) next() *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 && !q.closed {
		q.wake.Wait()
	}
	if q.closed {
		return nil
	}
	j := q.pending[0]
	q.pending = q.pending[1:]
	return j
}

// enqueue adds a job for a model already recorded as QUEUED.
func (s *Service) enqueue(id int64, req jobRequest, plan *trainingPlan) *job {
	j := &job{id: id, request: req, plan: plan, status: StatusQueued, done: make(chan struct{}),
		progress: Progress{Stage: "queued"}, subs: map[chan Event]struct{}{}}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	s.jobs.jobs[id] = j
	s.jobs.pending = append(s.jobs.pending, j)
	s.jobs.wake.Signal()
	s.reportJobs()
	return j
}

// submit records a QUEUED model for a checked plan and queues it; with
// wait it returns once the job has finished (or ctx is done: the job goes
// on).
func (s *Service) submit(ctx context.Context, plan *trainingPlan, req jobRequest, wait bool) (*store.Model, error) {
	rec := newModelRecord(plan, StatusQueued)
	var err error
	if rec.Request, err = json.Marshal(req); err != nil {
		return nil, fmt.Errorf("encode training request: %w", err)
	}
	if err := s.store.CreateModel(ctx, rec); err != nil {
		return nil, fmt.Errorf("create model: %w", err)
	}
	j := s.enqueue(rec.ID, req, plan)
	if !wait {
		return rec, nil
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.store.GetModel(context.WithoutCancel(ctx), rec.ID)
}

// newModelRecord is the record of a model about to be trained by plan.
func newModelRecord(plan *trainingPlan, status string) *store.Model {
	return &store.Model{
		Name:      plan.name,
		DatasetID: &plan.dataset.ID,
		Algorithm: plan.config.Algorithm,
		Task:      string(plan.config.Task),
		Status:    status,
		Target:    plan.target,
		Features:  plan.features,
		Params:    plan.config.Params,
		Split:     toMap(plan.split),
		Text:      plan.text,
		Media:     plan.dataset.Media,

		CSVDelimiter: plan.dataset.CSV.Delimiter,
	}
}

// runJob trains one job and records its outcome.
func (s *Service) runJob(j *job) {
	ctx, cancel := context.WithCancelCause(s.lifetime)
	defer cancel(nil)
	defer s.finish(j)
	q := s.jobs
	saveCtx := context.WithoutCancel(ctx)
	q.mu.Lock()
	cancelled := j.cancelled
	j.cancel, j.started = cancel, time.Now()
	q.mu.Unlock()
	if cancelled {
		if err := s.store.CancelModel(saveCtx, j.id, "training was cancelled before it started"); err != nil {
			s.log.Error("record cancellation", "model", j.id, "err", err)
		}
		return
	}

	if err := s.store.StartModel(saveCtx, j.id); err != nil {
		// Cancelled or deleted meanwhile, possibly by another instance.
		s.log.Info("queued model not started", "model", j.id, "reason", err)
		return
	}
	s.update(j, func(j *job) { j.status, j.progress = StatusTraining, Progress{Stage: "loading"} })
	s.telemetry.TrainingStarted(j.requestAlgorithm())
	runCtx := ctx
	if s.trainTimeout > 0 {
		var stop context.CancelFunc
		runCtx, stop = context.WithTimeoutCause(ctx, s.trainTimeout, errTimedOut)
		defer stop()
	}
	err := s.executeSafely(runCtx, j)
	switch cause := context.Cause(runCtx); {
	case err == nil:
	case errors.Is(cause, errTimedOut):
		reason := fmt.Sprintf("training stopped: it ran longer than the limit of %v", s.trainTimeout)
		if ferr := s.store.FailModel(saveCtx, j.id, reason); ferr != nil {
			s.log.Error("record training timeout", "model", j.id, "err", ferr)
		}
	case errors.Is(cause, errShutdown):
		if rerr := s.store.RequeueModel(saveCtx, j.id); rerr != nil {
			s.log.Error("requeue interrupted model", "model", j.id, "err", rerr)
		}
	case errors.Is(cause, errCancelled):
		if cerr := s.store.CancelModel(saveCtx, j.id, "training was cancelled"); cerr != nil {
			s.log.Error("record cancellation", "model", j.id, "err", cerr)
		}
	default:
		if _, ok := errors.AsType[*ml.InputError](err); !ok {
			s.log.Error("training failed", "model", j.id, "err", err)
		}
		if ferr := s.store.FailModel(saveCtx, j.id, err.Error()); ferr != nil {
			s.log.Error("record training failure", "model", j.id, "err", ferr)
		}
	}
}

// executeSafely is execute with a panic turned into an error (logged with
// its stack), so that a bug in an algorithm fails one model, not the
// server. ml's parallel loops hand their workers' panics to this goroutine.
func (s *Service) executeSafely(ctx context.Context, j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.ErrorContext(ctx, "panic while training", "model", j.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = errors.New("training failed with an internal error (details are in the server log)")
		}
	}()
	return s.execute(ctx, j)
}

// execute plans (if needed) and runs the job's training.
func (s *Service) execute(ctx context.Context, j *job) error {
	ctx = ml.WithProgress(ctx, func(p ml.Progress) { s.fitProgress(j, p) })
	plan := j.plan
	var err error
	switch j.request.Kind {
	case jobTrain:
		if plan == nil {
			if plan, err = s.planTraining(ctx, *j.request.Train); err != nil {
				return err
			}
		}
	case jobTune:
		tune := j.request.Tune
		if plan == nil {
			if plan, err = s.planTraining(ctx, tune.Train); err != nil {
				return err
			}
		}
		if plan.tuning, plan.config.Params, err = s.search(ctx, j, plan, *tune); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown job kind %q", j.request.Kind)
	}
	rec, err := s.store.GetModel(ctx, j.id)
	if err != nil {
		return err
	}
	_, err = s.fit(ctx, plan, rec, func(stage string, fraction float64) {
		s.update(j, func(j *job) { j.progress = Progress{Stage: stage, Fraction: j.overall(fraction)} })
	})
	return err
}

// fitProgress turns an estimator's progress into the job's: the fitting
// stage spans [fitStart, fitEnd] of the whole.
func (s *Service) fitProgress(j *job, p ml.Progress) {
	s.update(j, func(j *job) {
		if j.progress.Stage != stageFitting {
			return // cross-validation and tuning fits report by fold and trial
		}
		it := p.Iteration
		j.progress.Iteration = &it
		if p.HasLoss {
			loss := p.Loss
			j.progress.Loss = &loss
		}
		j.progress.Fraction = j.overall(fitStart + (fitEnd-fitStart)*p.Fraction)
	})
}

// overall maps the progress of the final fit to the job's.
func (j *job) overall(fitFraction float64) float64 {
	return j.fitFrom + (1-j.fitFrom)*fitFraction
}

// Stages of fit and where they start in the job's progress.
const (
	stageFitting = "fitting"
	fitStart     = 0.1
	fitEnd       = 0.9
)

// update changes a job under the lock and tells subscribers (progress at
// most every progressInterval, status changes always).
func (s *Service) update(j *job, change func(*job)) {
	q := s.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	status := j.status
	change(j)
	now := time.Now()
	if j.status == status && now.Sub(j.lastSent) < progressInterval {
		return
	}
	j.lastSent = now
	ev := j.event(now)
	for ch := range j.subs {
		// A slow subscriber misses progress, never the end: the last slot
		// is kept for finish.
		if len(ch) < subscriptionBuffer {
			ch <- ev
		}
	}
}

// event is the job's current state; the caller holds the queue's lock.
func (j *job) event(now time.Time) Event {
	p := j.progress
	if !j.started.IsZero() {
		p.Elapsed = now.Sub(j.started)
		if p.Fraction >= 0.02 && p.Fraction < 1 {
			eta := time.Duration(float64(p.Elapsed) * (1 - p.Fraction) / p.Fraction)
			p.Eta = &eta
		}
	}
	return Event{ModelID: j.id, Status: j.status, Progress: &p}
}

// requestAlgorithm is the algorithm a job trains, for telemetry.
func (j *job) requestAlgorithm() string {
	if j.request.Train != nil {
		return j.request.Train.Algorithm
	}
	if j.request.Tune != nil {
		return j.request.Tune.Train.Algorithm
	}
	return ""
}

// finish removes a finished job, sends its last event and wakes waiters.
func (s *Service) finish(j *job) {
	last, err := s.store.GetModel(context.Background(), j.id)
	q := s.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.jobs, j.id)
	ev := Event{ModelID: j.id, Status: StatusFailed}
	if err == nil {
		ev.Status, ev.Error = last.Status, last.Error
	}
	if !j.started.IsZero() {
		s.telemetry.TrainingFinished(j.requestAlgorithm(), ev.Status, time.Since(j.started))
	}
	for ch := range j.subs {
		ch <- ev // buffered with room for the last event: see Subscribe
		close(ch)
	}
	j.subs = nil
	close(j.done)
	s.reportJobs()
}

// reportJobs publishes how many jobs wait and run; the caller holds the
// queue's lock.
func (s *Service) reportJobs() {
	q := s.jobs
	s.telemetry.SetJobs(StatusQueued, len(q.pending))
	s.telemetry.SetJobs(StatusTraining, len(q.jobs)-len(q.pending))
}

// subscriptionBuffer leaves room for the final event whatever progress
// events are waiting.
const subscriptionBuffer = 16

// Subscribe streams a model's training events until it is READY, FAILED or
// CANCELLED: first its current state, then each change. The channel closes
// after the last event or when ctx is done.
func (s *Service) Subscribe(ctx context.Context, id string) (<-chan Event, error) {
	rec, err := s.Model(ctx, id)
	if err != nil {
		return nil, err
	}
	n := rec.ID
	out := make(chan Event, subscriptionBuffer+1)
	q := s.jobs
	q.mu.Lock()
	j, running := q.jobs[n]
	if running {
		out <- j.event(time.Now())
		j.subs[out] = struct{}{}
	}
	q.mu.Unlock()
	switch {
	case running:
		go func() {
			<-ctx.Done()
			q.mu.Lock()
			if j.subs != nil {
				if _, ok := j.subs[out]; ok {
					delete(j.subs, out)
					close(out)
				}
			}
			q.mu.Unlock()
		}()
	case rec.Status == StatusQueued || rec.Status == StatusTraining:
		// Trained by another instance: follow its record.
		go s.followRecord(ctx, rec, out)
	default:
		out <- Event{ModelID: n, Status: rec.Status, Error: rec.Error}
		close(out)
	}
	return out, nil
}

// followRecord polls a model trained elsewhere until it finishes.
func (s *Service) followRecord(ctx context.Context, rec *store.Model, out chan<- Event) {
	defer close(out)
	status := ""
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if rec.Status != status {
			status = rec.Status
			ev := Event{ModelID: rec.ID, Status: rec.Status, Error: rec.Error}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
			if ev.Terminal() {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		next, err := s.store.GetModel(ctx, rec.ID)
		if err != nil {
			out <- Event{ModelID: rec.ID, Status: StatusFailed, Error: "the model was deleted"}
			return
		}
		rec = next
	}
}

// Progress returns a queued or running job's progress, or nil.
func (s *Service) Progress(id int64) *Progress {
	q := s.jobs
	q.mu.Lock()
	defer q.mu.Unlock()
	if j, ok := q.jobs[id]; ok {
		return j.event(time.Now()).Progress
	}
	return nil
}

// CancelTraining stops a queued or running training; the model ends
// CANCELLED. A model trained by another instance is marked CANCELLED at
// once (that instance's result will not be saved).
func (s *Service) CancelTraining(ctx context.Context, id string) (*store.Model, error) {
	n, err := ParseID("model", id)
	if err != nil {
		return nil, err
	}
	// Only a model the caller's project can see (a running job is not
	// otherwise checked).
	if _, err := s.store.GetModel(ctx, n); err != nil {
		return nil, err
	}
	q := s.jobs
	q.mu.Lock()
	j, ok := q.jobs[n]
	wasPending := false
	if ok {
		j.cancelled = true
		if j.cancel != nil {
			j.cancel(errCancelled)
		}
		for i, p := range q.pending {
			if p == j {
				q.pending = append(q.pending[:i], q.pending[i+1:]...)
				wasPending = true
				break
			}
		}
	}
	q.mu.Unlock()
	if ok {
		if wasPending {
			if err := s.store.CancelModel(ctx, n, "training was cancelled before it started"); err != nil {
				return nil, err
			}
			s.finish(j)
		}
		// A worker that took the job sees it cancelled and records it.
		<-j.done
		return s.store.GetModel(ctx, n)
	}
	rec, err := s.store.GetModel(ctx, n)
	if err != nil {
		return nil, err
	}
	if rec.Status != StatusQueued && rec.Status != StatusTraining {
		return nil, apperr.BadInputf("model %d is %s: only a QUEUED or TRAINING model can be cancelled", n, rec.Status)
	}
	if err := s.store.CancelModel(ctx, n, "training was cancelled"); err != nil {
		return nil, err
	}
	return s.store.GetModel(ctx, n)
}

// resume queues again the models left QUEUED by a previous run.
func (s *Service) resume(ctx context.Context) error {
	recs, err := s.store.ClaimQueuedModels(ctx)
	if err != nil {
		return fmt.Errorf("resume queued models: %w", err)
	}
	for _, rec := range recs {
		var req jobRequest
		if err := json.Unmarshal(rec.Request, &req); err != nil || (req.Train == nil && req.Tune == nil) {
			reason := "the queued request could not be read after a restart"
			if ferr := s.store.FailModel(ctx, rec.ID, reason); ferr != nil {
				return ferr
			}
			continue
		}
		s.enqueue(rec.ID, req, nil)
	}
	if len(recs) > 0 {
		s.log.Info("resumed queued trainings", "models", len(recs))
	}
	return nil
}

// Close stops the workers: queued jobs stay queued for the next start;
// running jobs get until ctx is done to finish, then are interrupted and
// queued again.
func (s *Service) Close(ctx context.Context) error {
	defer s.predictions.close()
	q := s.jobs
	q.mu.Lock()
	q.closed = true
	q.wake.Broadcast()
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.workers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.stop(errShutdown)
	<-done
	return nil
}
