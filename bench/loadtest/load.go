package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

const (
	predictTimeout = 30 * time.Second
	slowTimeout    = 120 * time.Second // training and uploads
)

// gqlClient posts GraphQL requests to one endpoint. Only abuseKey's
// requests may be rate limited.
type gqlClient struct {
	http               *http.Client
	url, key, abuseKey string
}

// outcome is one request as the statistics see it: a problem (an error),
// a deliberate rate limit, or neither (a success).
type outcome struct {
	problem string
	limited bool
}

func (c *gqlClient) query(ctx context.Context, key, query string, vars map[string]any, into any) outcome {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.post(ctx, key, "application/json", body, into)
}

// post sends one request and classifies the answer: a transport error, a
// status other than 200 or a GraphQL error is a problem; on success, data
// is decoded into into.
func (c *gqlClient) post(ctx context.Context, key, contentType string, body []byte, into any) outcome {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return outcome{problem: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var answer struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err == nil {
		err = json.Unmarshal(raw, &answer)
	}
	code := ""
	if len(answer.Errors) > 0 {
		code = answer.Errors[0].Extensions.Code
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests && key == c.abuseKey && key != "":
		if resp.Header.Get("Retry-After") == "" || code != "RATE_LIMITED" {
			return outcome{problem: fmt.Sprintf("HTTP 429 with Retry-After %q and code %q: %.200s", resp.Header.Get("Retry-After"), code, raw)}
		}
		return outcome{limited: true}
	case len(answer.Errors) > 0:
		return outcome{problem: fmt.Sprintf("HTTP %d %s: %s", resp.StatusCode, code, answer.Errors[0].Message)}
	case resp.StatusCode != http.StatusOK:
		return outcome{problem: fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, raw)}
	case err != nil:
		return outcome{problem: fmt.Sprintf("unreadable answer: %v", err)}
	case into != nil:
		if err := json.Unmarshal(answer.Data, into); err != nil {
			return outcome{problem: fmt.Sprintf("unexpected data: %v", err)}
		}
	}
	return outcome{}
}

// opStats collects one operation kind's latencies and failures; finish
// fills in the figures the table and -json show.
type opStats struct {
	Operation     string   `json:"operation"`
	Requests      int      `json:"requests"`
	Errors        int      `json:"errors"`
	RateLimited   int      `json:"rateLimited,omitempty"`
	PerSecond     float64  `json:"perSecond"`
	P50ms         float64  `json:"p50Ms"`
	P99ms         float64  `json:"p99Ms"`
	MaxMs         float64  `json:"maxMs"`
	Samples       []string `json:"sampleErrors,omitempty"`
	lockedAnswers int
	mu            sync.Mutex
	latencies     []time.Duration
}

func (s *opStats) add(d time.Duration, o outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = append(s.latencies, d)
	switch {
	case o.limited:
		s.RateLimited++
	case o.problem != "":
		s.Errors++
		if mentionsLock(o.problem) {
			s.lockedAnswers++
		}
		if len(s.Samples) < 3 && !slices.Contains(s.Samples, o.problem) {
			s.Samples = append(s.Samples, o.problem)
		}
	}
}

// finish sorts the latencies and computes the figures over elapsed.
func (s *opStats) finish(elapsed time.Duration) {
	n := len(s.latencies)
	s.Requests, s.PerSecond = n, float64(n)/elapsed.Seconds()
	if n == 0 {
		return
	}
	slices.Sort(s.latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	// Nearest rank: the latency that share p of the requests do not exceed.
	rank := func(p float64) time.Duration { return s.latencies[int(math.Ceil(p*float64(n)))-1] }
	s.P50ms, s.P99ms, s.MaxMs = ms(rank(0.50)), ms(rank(0.99)), ms(s.latencies[n-1])
}

// measure times one request bounded by timeout and records it, unless the
// hard deadline cut it short (then it is no measurement); it reports
// whether the request succeeded.
func measure(hardCtx context.Context, s *opStats, timeout time.Duration, request func(context.Context) outcome) bool {
	ctx, cancel := context.WithTimeout(hardCtx, timeout)
	defer cancel()
	start := time.Now()
	o := request(ctx)
	if hardCtx.Err() != nil {
		return false
	}
	s.add(time.Since(start), o)
	return o.problem == "" && !o.limited
}

var regions = []string{"north", "south", "east", "west"}

// sampleRecord draws 8 numeric features and a region; label derives the
// class from them, with noise, so that models have something to learn.
func sampleRecord(rng *rand.Rand) map[string]any {
	rec := map[string]any{"region": regions[rng.IntN(len(regions))]}
	for i := 1; i <= 8; i++ {
		rec["f"+strconv.Itoa(i)] = float64(int(rng.NormFloat64()*1000)) / 100
	}
	return rec
}

func label(rec map[string]any, rng *rand.Rand) string {
	score := rec["f1"].(float64) - 0.5*rec["f2"].(float64) + 0.3*rec["f3"].(float64) + rng.NormFloat64()
	if rec["region"] == "north" {
		score += 3
	}
	switch {
	case score < -4:
		return "low"
	case score < 4:
		return "mid"
	}
	return "high"
}

func generateCSV(rng *rand.Rand, rows int) []byte {
	var b bytes.Buffer
	b.WriteString("f1,f2,f3,f4,f5,f6,f7,f8,region,target\n")
	for range rows {
		rec := sampleRecord(rng)
		for i := 1; i <= 8; i++ {
			fmt.Fprintf(&b, "%g,", rec["f"+strconv.Itoa(i)])
		}
		fmt.Fprintf(&b, "%s,%s\n", rec["region"], label(rec, rng))
	}
	return b.Bytes()
}

const (
	createMutation  = `mutation Create($input: CreateDatasetInput!) { createDataset(input: $input) { id rowCount } }`
	trainMutation   = `mutation Train($input: TrainModelInput!) { trainModel(input: $input, wait: true) { id status error } }`
	predictMutation = `mutation Predict($input: PredictInput!) { predict(input: $input) { id outputs { label } } }`
	uploadMutation  = `mutation Upload($name: String!, $file: Upload!) { uploadDataset(name: $name, file: $file) { id rowCount } }`
	deleteMutation  = `mutation Delete($id: ID!) { deleteDataset(id: $id) }`
	abuseQuery      = `query Abuse { datasets(first: 1) { totalCount } }`
)

type fixture struct{ datasetID, modelID string }

// train trains a model and waits for it; a model not READY is a problem.
func train(ctx context.Context, gql *gqlClient, input map[string]any) (string, outcome) {
	var data struct {
		TrainModel struct{ ID, Status, Error string }
	}
	o := gql.query(ctx, gql.key, trainMutation, map[string]any{"input": input}, &data)
	if m := data.TrainModel; o.problem == "" && m.Status != "READY" {
		o.problem = fmt.Sprintf("model %s ended %s: %s", m.ID, m.Status, m.Error)
	}
	return data.TrainModel.ID, o
}

// setup creates the training dataset (2,000 rows, fixed seed) and the
// logistic regression model the predictors use.
func setup(ctx context.Context, gql *gqlClient) (fixture, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*slowTimeout)
	defer cancel()
	var created struct{ CreateDataset struct{ ID string } }
	input := map[string]any{"name": "load training set", "csv": string(generateCSV(rand.New(rand.NewPCG(1, 1)), 2000))}
	if o := gql.query(ctx, gql.key, createMutation, map[string]any{"input": input}, &created); o.problem != "" {
		return fixture{}, fmt.Errorf("createDataset: %s", o.problem)
	}
	f := fixture{datasetID: created.CreateDataset.ID}
	var o outcome
	if f.modelID, o = train(ctx, gql, map[string]any{"datasetId": f.datasetID, "target": "target", "algorithm": "LOGISTIC_REGRESSION"}); o.problem != "" {
		return fixture{}, fmt.Errorf("trainModel: %s", o.problem)
	}
	return f, nil
}

// trainings alternate between small, fast models.
var trainings = []struct {
	algorithm string
	params    map[string]any
}{{"DECISION_TREE", map[string]any{"maxDepth": 6}}, {"LOGISTIC_REGRESSION", nil}, {"KNN", map[string]any{"k": 5}}}

// runLoad runs every client, each in its own goroutine, until o.duration
// has passed; requests then in flight finish, so that slow ones still
// count. It returns the statistics and the time until the last answer.
func runLoad(hardCtx context.Context, o options, gql *gqlClient, f fixture) ([]*opStats, time.Duration) {
	predict, trainOp, upload, del, abuse := &opStats{Operation: "predict"}, &opStats{Operation: "train"},
		&opStats{Operation: "upload"}, &opStats{Operation: "delete"}, &opStats{Operation: "abuser"}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(hardCtx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	client := func(seed int, request func(rng *rand.Rand, i int)) {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		wg.Go(func() {
			for i := 0; runCtx.Err() == nil; i++ {
				request(rng, i)
			}
		})
	}
	for c := range o.predictors {
		client(100+c, func(rng *rand.Rand, _ int) {
			records := make([]any, o.rowsPerPredict)
			for i := range records {
				records[i] = sampleRecord(rng)
			}
			input := map[string]any{"modelId": f.modelID, "records": records}
			if c%2 == 1 {
				input["save"] = false
			}
			measure(hardCtx, predict, predictTimeout, func(ctx context.Context) outcome {
				var data struct {
					Predict struct{ Outputs []struct{ Label string } }
				}
				out := gql.query(ctx, gql.key, predictMutation, map[string]any{"input": input}, &data)
				if n := len(data.Predict.Outputs); out.problem == "" && n != len(records) {
					out.problem = fmt.Sprintf("%d outputs for %d rows", n, len(records))
				}
				return out
			})
		})
	}
	for c := range o.trainers {
		client(200+c, func(_ *rand.Rand, i int) {
			t := trainings[(c+i)%len(trainings)]
			input := map[string]any{"datasetId": f.datasetID, "target": "target", "algorithm": t.algorithm, "params": t.params}
			measure(hardCtx, trainOp, slowTimeout, func(ctx context.Context) outcome { _, o := train(ctx, gql, input); return o })
		})
	}
	for c := range o.uploaders {
		client(300+c, func(rng *rand.Rand, i int) {
			contentType, body := multipartUpload(fmt.Sprintf("load upload %d-%d", c, i), generateCSV(rng, o.uploadRows))
			var data struct{ UploadDataset struct{ ID string } }
			uploaded := measure(hardCtx, upload, slowTimeout, func(ctx context.Context) outcome {
				return gql.post(ctx, gql.key, contentType, body, &data)
			})
			if uploaded && i%2 == 1 { // keep the other half, so the database grows under load too
				vars := map[string]any{"id": data.UploadDataset.ID}
				measure(hardCtx, del, slowTimeout, func(ctx context.Context) outcome {
					return gql.query(ctx, gql.key, deleteMutation, vars, nil)
				})
			}
		})
	}
	if gql.abuseKey != "" {
		client(400, func(*rand.Rand, int) {
			measure(hardCtx, abuse, predictTimeout, func(ctx context.Context) outcome {
				return gql.query(ctx, gql.abuseKey, abuseQuery, nil, nil)
			})
		})
	}
	wg.Wait()
	return []*opStats{predict, trainOp, upload, del, abuse}, time.Since(start)
}

// multipartUpload builds a GraphQL multipart request: the operations and
// map fields, then the file part "0".
func multipartUpload(name string, csv []byte) (contentType string, body []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	ops, _ := json.Marshal(map[string]any{"query": uploadMutation, "variables": map[string]any{"name": name, "file": nil}})
	w.WriteField("operations", string(ops))
	w.WriteField("map", `{"0": ["variables.file"]}`)
	part, _ := w.CreateFormFile("0", "load.csv")
	part.Write(csv)
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}
