package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reportURL asks for model id's reportUrl (with expiresIn unless 0).
func (s *testServer) reportURL(id string, expiresIn int) *string {
	s.t.Helper()
	var out struct{ Model struct{ ReportURL *string } }
	if expiresIn == 0 {
		s.mustDo(`query($id: ID!) { model(id: $id) { reportUrl } }`, map[string]any{"id": id}, &out)
	} else {
		s.mustDo(`query($id: ID!, $s: Int) { model(id: $id) { reportUrl(expiresIn: $s) } }`, map[string]any{"id": id, "s": expiresIn}, &out)
	}
	return out.Model.ReportURL
}

// getReport GETs path (a report URL relative to the server), with key as
// the API key unless empty, and returns the answer with its body read.
func (s *testServer) getReport(path, key string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.http.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// mustServeReport checks that GET path without a key answers the SVG,
// cached privately for no longer than maxAge.
func (s *testServer) mustServeReport(path string, maxAge int) string {
	s.t.Helper()
	resp, body := s.getReport(path, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
		s.t.Fatalf("GET %s: %d %s %.200s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	cc := resp.Header.Get("Cache-Control")
	age, err := strconv.Atoi(strings.TrimPrefix(cc, "private, max-age="))
	if !strings.HasPrefix(cc, "private, max-age=") || err != nil || age < 0 || age > maxAge {
		s.t.Errorf("GET %s: Cache-Control %q, want private, max-age ≤ %d", path, cc, maxAge)
	}
	return body
}

// mustRefuseReport checks that GET path without a key answers status with
// a body saying want.
func (s *testServer) mustRefuseReport(path string, status int, want string) {
	s.t.Helper()
	resp, body := s.getReport(path, "")
	if resp.StatusCode != status || !strings.Contains(body, want) || strings.Contains(body, "<svg") {
		s.t.Errorf("GET %s: %d %q, want %d saying %q", path, resp.StatusCode, body, status, want)
	}
}

// withQuery returns link with its query parameter name set to value.
func withQuery(t *testing.T, link, name, value string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestReportLinks: with keys on, a read key gets a signed report link that
// a client without a key can open until it expires; an expired, tampered
// or borrowed link is refused with 403, a request with neither key nor
// link with 401 as before; another server on the same database, and the
// same one restarted, accept the links.
func TestReportLinks(t *testing.T) {
	srv := newServer(t)
	admin, _ := srv.createKey("admin", "", "ADMIN")
	a := srv.as(admin)
	readKey, _ := a.createKey("reader", "", "READ")
	trainKey, _ := a.createKey("trainer", "", "TRAIN")
	reader := srv.as(readKey)
	ds := a.createDataset("iris", datasetCSV(t, "iris", false)).ID
	tree := a.train(map[string]any{"datasetId": ds, "target": "target", "algorithm": "DECISION_TREE"})
	ridge := a.train(map[string]any{"datasetId": ds, "target": "sepal_length_cm", "algorithm": "RIDGE"})

	link := reader.reportURL(tree.ID, 0)
	if link == nil {
		t.Fatal("no reportUrl")
	}
	prefix := "/models/" + tree.ID + "/report.svg?expires="
	if !strings.HasPrefix(*link, prefix) || !strings.Contains(*link, "&sig=") || strings.Contains(*link, "mlg_") {
		t.Fatalf("reportUrl %q: want %s…&sig=…, with no API key", *link, prefix)
	}
	expires, err := strconv.ParseInt(strings.Split(strings.TrimPrefix(*link, prefix), "&")[0], 10, 64)
	if err != nil || expires < time.Now().Unix()+899 || expires > time.Now().Unix()+900 {
		t.Errorf("reportUrl %q expires at %d, want in 15 minutes", *link, expires)
	}
	body := srv.mustServeReport(*link, 900)
	if !strings.Contains(body, "Confusion matrix") {
		t.Errorf("the linked report is not the tree's: %.200s", body)
	}

	// Refused: no key nor link (as before), tampered, borrowed, malformed.
	mustBeUnauthorized := func(path string) {
		t.Helper()
		resp, body := srv.getReport(path, "")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "UNAUTHENTICATED") {
			t.Errorf("GET %s without a key: %d %s", path, resp.StatusCode, body)
		}
	}
	mustBeUnauthorized("/models/" + tree.ID + "/report.svg")
	u, _ := url.Parse(*link)
	sig := u.Query().Get("sig")
	tampered := []byte(sig)
	tampered[5] = 'A'
	if sig[5] == 'A' {
		tampered[5] = 'B'
	}
	const mismatch = "the signature does not match this model"
	srv.mustRefuseReport(withQuery(t, *link, "sig", string(tampered)), http.StatusForbidden, mismatch)
	srv.mustRefuseReport(withQuery(t, *link, "expires", strconv.FormatInt(expires+3600, 10)), http.StatusForbidden, mismatch)
	srv.mustRefuseReport(strings.Replace(*link, "/models/"+tree.ID+"/", "/models/"+ridge.ID+"/", 1), http.StatusForbidden, mismatch)
	srv.mustRefuseReport(strings.Replace(*link, "/models/"+tree.ID+"/", "/models/999999/", 1), http.StatusForbidden, mismatch)
	srv.mustRefuseReport(withQuery(t, *link, "sig", "not-a-signature"), http.StatusForbidden, "want ?expires=<unix time>&sig=<signature>")
	srv.mustRefuseReport(withQuery(t, *link, "expires", "tomorrow"), http.StatusForbidden, "want ?expires=<unix time>&sig=<signature>")

	// With a key, the link is not needed and changes nothing.
	resp, body := srv.getReport(*link, readKey)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<svg") || resp.Header.Get("Cache-Control") != "" {
		t.Errorf("GET with a read key and a link: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := srv.getReport("/models/"+tree.ID+"/report.svg", trainKey); resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET with a train key: %d, want 403", resp.StatusCode)
	}

	// A link needs a key that may read; its lifetime is bounded.
	srv.as(trainKey).mustFail(`mutation($ds: ID!) { trainModel(wait: true, input: {datasetId: $ds, target: "target", algorithm: KNN}) { id reportUrl } }`,
		map[string]any{"ds": ds}, "FORBIDDEN", "reportUrl", "READ")
	for _, s := range []int{-1, 3601} {
		reader.mustFail(`query($id: ID!, $s: Int) { model(id: $id) { reportUrl(expiresIn: $s) } }`, map[string]any{"id": tree.ID, "s": s}, "BAD_USER_INPUT", "expiresIn", "3600")
	}

	// A short link works, then expires.
	short := reader.reportURL(ridge.ID, 1)
	u, _ = url.Parse(*short)
	shortExpires, _ := strconv.ParseInt(u.Query().Get("expires"), 10, 64)
	if time.Now().Unix() < shortExpires {
		srv.mustServeReport(*short, 1)
	}
	time.Sleep(time.Until(time.Unix(shortExpires, 0)) + 10*time.Millisecond)
	srv.mustRefuseReport(*short, http.StatusForbidden, "this report link has expired")

	// Another server on the same database accepts this one's links, and
	// this one its; so does this one restarted.
	other := startServer(t, srv.dsn)
	other.mustServeReport(*link, 900)
	otherLink := other.as(readKey).reportURL(ridge.ID, 0)
	if otherLink == nil {
		t.Fatal("no reportUrl from the other server")
	}
	srv.mustServeReport(*otherLink, 900)
	other.stop()
	srv = srv.restart()
	srv.mustServeReport(*link, 900)
	srv.mustServeReport(*otherLink, 900)
}

// TestKMeansReport: a k-means model's report shows its clusters' sizes,
// their silhouettes and the mean silhouette of its training metrics, and
// the training rows on two principal components; with more clusters than
// can be drawn there is no report.
func TestKMeansReport(t *testing.T) {
	srv := newServer(t)
	// Three blobs of 37, 23 and 14 rows.
	var b strings.Builder
	b.WriteString("x,y\n")
	centres := [][2]float64{{0, 0}, {10, 0}, {0, 10}}
	for c, n := range []int{37, 23, 14} {
		for i := range n {
			fmt.Fprintf(&b, "%g,%g\n", centres[c][0]+float64(i%5)*0.3, centres[c][1]+float64(i%7)*0.2)
		}
	}
	ds := srv.createDataset("blobs", b.String()).ID
	var out struct {
		TrainModel struct {
			ID              string
			TrainingMetrics struct{ Silhouette float64 }
		}
	}
	srv.mustDo(`mutation($ds: ID!) { trainModel(wait: true, input: {datasetId: $ds, algorithm: KMEANS, params: {k: 3, seed: 1}, split: {method: NONE}}) {
	  id trainingMetrics { silhouette } } }`, map[string]any{"ds": ds}, &out)
	m := out.TrainModel
	var report struct{ Model struct{ Report *string } }
	srv.mustDo(`query($id: ID!) { model(id: $id) { report } }`, map[string]any{"id": m.ID}, &report)
	if report.Model.Report == nil {
		t.Fatal("no k-means report")
	}
	// The link works with authentication off too.
	link := srv.reportURL(m.ID, 0)
	if link == nil {
		t.Fatal("no reportUrl")
	}
	svg := srv.mustServeReport(*link, 900)
	if svg != *report.Model.Report {
		t.Error("the report by link differs from Model.report")
	}
	for _, want := range []string{
		">Cluster sizes (74 rows)<", ">37<", ">23<", ">14<",
		">Silhouette by cluster (74 rows)<", fmt.Sprintf(">Mean silhouette (overall %.3f)<", m.TrainingMetrics.Silhouette),
		">PCA projection (74 rows)<", "% of variance)<", ">centre<",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("k-means report lacks %q", want)
		}
	}
	if m.TrainingMetrics.Silhouette < 0.8 {
		t.Errorf("silhouette %v of well separated blobs", m.TrainingMetrics.Silhouette)
	}
	// Each cluster's silhouette is written with its bar.
	if n := strings.Count(svg, ">0.9"); n < 3 {
		t.Errorf("%d silhouettes of 0.9x, want one per cluster", n)
	}

	// 101 clusters are too many to draw.
	many := srv.createDataset("many", datasetCSV(t, "iris", false)).ID
	var big struct{ TrainModel struct{ ID, Status string } }
	srv.mustDo(`mutation($ds: ID!) { trainModel(wait: true, input: {datasetId: $ds, algorithm: KMEANS, params: {k: 101, nInit: 1}, split: {method: NONE}}) { id status } }`,
		map[string]any{"ds": many}, &big)
	var none struct {
		Model struct{ Report, ReportURL *string }
	}
	srv.mustDo(`query($id: ID!) { model(id: $id) { report reportUrl } }`, map[string]any{"id": big.TrainModel.ID}, &none)
	if big.TrainModel.Status != "READY" || none.Model.Report != nil || none.Model.ReportURL != nil {
		t.Errorf("k=101 model %s: report %v, reportUrl %v; want none", big.TrainModel.Status, none.Model.Report != nil, none.Model.ReportURL)
	}
	if resp, _ := srv.getReport("/models/"+big.TrainModel.ID+"/report.svg", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET the k=101 report: %d, want 404", resp.StatusCode)
	}
}
