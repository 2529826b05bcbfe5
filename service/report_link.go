package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"mlgraph/internal/apperr"
	"mlgraph/store"
)

// Report links let a browser, which cannot send an API key, open a
// model's report: GET /models/{id}/report.svg?expires=<unix seconds>&sig=<signature>,
// where the signature is an HMAC-SHA256 of the model's project, its id and
// the expiry, in unpadded base64url. The key is made at random by the
// first server to start on the database and stored there, so that every
// server sharing the database accepts every other's links, across
// restarts. A link carries no API key; it stays valid until it expires,
// even if the key that asked for it is revoked, hence the short lifetime.

const (
	// DefaultReportLinkSeconds and MaxReportLinkSeconds are the default and
	// the longest lifetime of a report link.
	DefaultReportLinkSeconds = 15 * 60
	MaxReportLinkSeconds     = 60 * 60

	// reportLinkKeySetting names the signing key in the store's settings.
	reportLinkKeySetting = "report_link_key"
	reportLinkKeyBytes   = 32
)

var (
	errReportLinkExpired   = apperr.Newf(apperr.Forbidden, "this report link has expired: ask for a new one (Model.reportUrl)")
	errReportLinkInvalid   = apperr.Newf(apperr.Forbidden, "invalid report link: the signature does not match this model (ask for a new one: Model.reportUrl)")
	errReportLinkMalformed = apperr.Newf(apperr.Forbidden, "invalid report link: want ?expires=<unix time>&sig=<signature>, as Model.reportUrl gives")
)

// loadReportLinkKey reads the key that signs report links, storing a new
// random one if the database has none yet.
func (s *Service) loadReportLinkKey(ctx context.Context) error {
	fresh := make([]byte, reportLinkKeyBytes)
	if _, err := rand.Read(fresh); err != nil {
		return fmt.Errorf("make report link key: %w", err)
	}
	key, err := s.store.InitSetting(store.AllProjects(ctx), reportLinkKeySetting, fresh)
	if err != nil {
		return err
	}
	if len(key) < reportLinkKeyBytes {
		return fmt.Errorf("the stored report link key has %d bytes, want %d", len(key), reportLinkKeyBytes)
	}
	s.reportLinkKey = key
	return nil
}

// reportLinkSignature is the signature of a link to the report of model
// id of project, valid until expires (Unix seconds). Project names cannot
// hold the NUL that separates the fields.
func reportLinkSignature(key []byte, project string, id, expires int64) []byte {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "mlgraph report link\x00%s\x00%d\x00%d", project, id, expires)
	return mac.Sum(nil)
}

// ReportURL returns a link to model m's report valid for seconds (1 to
// MaxReportLinkSeconds), relative to the server's root, so that it works
// through any proxy: /models/{id}/report.svg?expires=…&sig=…; nil when
// the model has no report.
func (s *Service) ReportURL(m *store.Model, seconds int) (*string, error) {
	if seconds < 1 || seconds > MaxReportLinkSeconds {
		return nil, apperr.BadInputf("expiresIn must be from 1 to %d seconds, got %d", MaxReportLinkSeconds, seconds)
	}
	if isNull(m.Report) {
		return nil, nil
	}
	if s.reportLinkKey == nil {
		return nil, fmt.Errorf("report links: the service was not started")
	}
	expires := time.Now().Add(time.Duration(seconds) * time.Second).Unix()
	sig := base64.RawURLEncoding.EncodeToString(reportLinkSignature(s.reportLinkKey, m.Project, m.ID, expires))
	link := fmt.Sprintf("/models/%d/report.svg?expires=%d&sig=%s", m.ID, expires, sig)
	return &link, nil
}

// reportLink is a link's parts: the model's id, the expiry and the
// signature.
type reportLink struct {
	id, expires int64
	sig         []byte
}

// parseReportLink reads the parts of a link to model id's report.
func parseReportLink(id, expires, sig string) (reportLink, error) {
	var l reportLink
	var err error
	if l.id, err = ParseID("model", id); err != nil {
		return l, errReportLinkInvalid
	}
	if l.expires, err = strconv.ParseInt(expires, 10, 64); err != nil {
		return l, errReportLinkMalformed
	}
	if l.sig, err = base64.RawURLEncoding.DecodeString(sig); err != nil || len(l.sig) != sha256.Size {
		return l, errReportLinkMalformed
	}
	return l, nil
}

// expired reports whether l has expired at now.
func (l reportLink) expired(now time.Time) bool { return now.Unix() >= l.expires }

// check verifies l's signature for a model of project.
func (l reportLink) check(key []byte, project string) error {
	if !hmac.Equal(l.sig, reportLinkSignature(key, project, l.id, l.expires)) {
		return errReportLinkInvalid
	}
	return nil
}

// VerifyReportLink checks a link to the report of model id (its expires
// and sig parameters) and returns whom it acts for (a principal that may
// read the model's project, no more) and when it expires. The errors are
// FORBIDDEN: an expired link, or one whose signature does not match (as
// for a model that does not exist).
func (s *Service) VerifyReportLink(ctx context.Context, id, expires, sig string) (*Principal, time.Time, error) {
	l, err := parseReportLink(id, expires, sig)
	if err != nil {
		return nil, time.Time{}, err
	}
	if l.expired(time.Now()) {
		return nil, time.Time{}, errReportLinkExpired
	}
	if s.reportLinkKey == nil {
		return nil, time.Time{}, fmt.Errorf("report links: the service was not started")
	}
	m, err := s.store.GetModel(store.AllProjects(ctx), l.id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, time.Time{}, errReportLinkInvalid
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := l.check(s.reportLinkKey, m.Project); err != nil {
		return nil, time.Time{}, err
	}
	p := &Principal{Name: "report link", Project: m.Project, Scopes: []string{ScopeRead}}
	return p, time.Unix(l.expires, 0), nil
}
