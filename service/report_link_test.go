package service

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/store"
)

// linkParts splits a report URL into the path's model id and the query.
func linkParts(t *testing.T, link string) (id, expires, sig string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := strings.CutPrefix(u.Path, "/models/")
	id, ok2 := strings.CutSuffix(id, "/report.svg")
	if !ok || !ok2 || u.Host != "" || u.Scheme != "" {
		t.Fatalf("link %q: want a relative /models/{id}/report.svg", link)
	}
	return id, u.Query().Get("expires"), u.Query().Get("sig")
}

// verify checks a link's parts as VerifyReportLink does, for a model of
// project, at now.
func verify(key []byte, project, id, expires, sig string, now time.Time) error {
	l, err := parseReportLink(id, expires, sig)
	if err != nil {
		return err
	}
	if l.expired(now) {
		return errReportLinkExpired
	}
	return l.check(key, project)
}

// TestReportLinkSigning: a link verifies for its model and project until
// it expires; a change to any part of it, another model, another project
// or another key does not.
func TestReportLinkSigning(t *testing.T) {
	key := bytes.Repeat([]byte{7}, reportLinkKeyBytes)
	s := &Service{reportLinkKey: key}
	m := &store.Model{ID: 42, Project: "acme", Report: json.RawMessage(`{"Title":"x"}`)}
	start := time.Now()
	got, err := s.ReportURL(m, 60)
	if err != nil || got == nil {
		t.Fatal(got, err)
	}
	link := *got
	id, expires, sig := linkParts(t, link)
	exp, _ := strconv.ParseInt(expires, 10, 64)
	if id != "42" || exp < start.Unix()+59 || exp > time.Now().Unix()+60 || len(sig) != 43 {
		t.Fatalf("link %q: id %s, expires %s (now %d), sig %q", link, id, expires, start.Unix(), sig)
	}
	if strings.Contains(link, "mlg_") {
		t.Errorf("link %q holds an API key", link)
	}
	now := time.Now()
	if err := verify(key, "acme", id, expires, sig, now); err != nil {
		t.Fatalf("fresh link: %v", err)
	}
	if err := verify(key, "acme", id, expires, sig, time.Unix(exp-1, 0)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}

	flipped := []byte(sig)
	flipped[10] = otherBase64(flipped[10])
	other, _ := (&Service{reportLinkKey: bytes.Repeat([]byte{8}, reportLinkKeyBytes)}).ReportURL(m, 60)
	_, otherExpires, otherSig := linkParts(t, *other)
	for name, c := range map[string]struct {
		project, id, expires, sig string
		at                        time.Time
		want                      error
	}{
		"expired":             {"acme", id, expires, sig, time.Unix(exp, 0), errReportLinkExpired},
		"long expired":        {"acme", id, expires, sig, now.Add(24 * time.Hour), errReportLinkExpired},
		"tampered signature":  {"acme", id, expires, string(flipped), now, errReportLinkInvalid},
		"later expiry":        {"acme", id, strconv.FormatInt(exp+3600, 10), sig, now, errReportLinkInvalid},
		"other model":         {"acme", "43", expires, sig, now, errReportLinkInvalid},
		"other project":       {"rival", id, expires, sig, now, errReportLinkInvalid},
		"other key":           {"acme", id, otherExpires, otherSig, now, errReportLinkInvalid},
		"no signature":        {"acme", id, expires, "", now, errReportLinkMalformed},
		"short signature":     {"acme", id, expires, sig[:40], now, errReportLinkMalformed},
		"not base64url":       {"acme", id, expires, strings.Repeat("+", 43), now, errReportLinkMalformed},
		"no expiry":           {"acme", id, "", sig, now, errReportLinkMalformed},
		"expiry not a number": {"acme", id, "soon", sig, now, errReportLinkMalformed},
		"bad model id":        {"acme", "x42", expires, sig, now, errReportLinkInvalid},
	} {
		if err := verify(key, c.project, c.id, c.expires, c.sig, c.at); err != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		} else if apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("%s: code %s, want FORBIDDEN", name, apperr.CodeOf(err))
		}
	}

	for _, seconds := range []int{0, -5, MaxReportLinkSeconds + 1} {
		if _, err := s.ReportURL(m, seconds); apperr.CodeOf(err) != apperr.BadInput {
			t.Errorf("expiresIn %d: %v, want BAD_USER_INPUT", seconds, err)
		}
	}
	if _, err := s.ReportURL(m, MaxReportLinkSeconds); err != nil {
		t.Errorf("the longest lifetime: %v", err)
	}
	if _, err := (&Service{}).ReportURL(m, 60); err == nil || apperr.CodeOf(err) != "" {
		t.Errorf("without a key: %v, want an internal error", err)
	}
	for _, report := range []json.RawMessage{nil, json.RawMessage("null")} {
		if got, err := s.ReportURL(&store.Model{ID: 1, Report: report}, 60); got != nil || err != nil {
			t.Errorf("a model without a report (%q): %v, %v", report, got, err)
		}
	}
}

// otherBase64 is a base64url character other than c.
func otherBase64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}
