package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"

	"mlgraph/internal/apperr"
	"mlgraph/store"
)

// The scopes: what an API key may do. They are independent (a PREDICT key, as a frontend app holds,
// cannot read stored data), except that ADMIN includes all.
const (
	ScopeRead    = "READ"    // queries and subscriptions
	ScopePredict = "PREDICT" // predictions
	ScopeTrain   = "TRAIN"   // datasets and training
	ScopeAdmin   = "ADMIN"   // keys and deletes, and all of the above
)

// Scopes lists every scope.
var Scopes = []string{ScopeRead, ScopePredict, ScopeTrain, ScopeAdmin}

// ParseScopes reads a comma-separated list of scopes in any case, such as
// "train,predict".
func ParseScopes(text string) ([]string, error) {
	var scopes []string
	for _, part := range strings.Split(text, ",") {
		s := strings.ToUpper(strings.TrimSpace(part))
		if s == "" {
			continue
		}
		if !slices.Contains(Scopes, s) {
			return nil, apperr.BadInputf("unknown scope %q: want read, predict, train or admin", strings.TrimSpace(part))
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == 0 {
		return nil, apperr.BadInputf("give at least one scope: read, predict, train or admin")
	}
	return scopes, nil
}

// The authentication modes: when requests need an API key.
const (
	// AuthAuto needs a key once any key exists: a new server is open until
	// its first key is made.
	AuthAuto = "auto"
	// AuthRequired always needs a key.
	AuthRequired = "required"
	// AuthOff never needs one: for development only.
	AuthOff = "off"
)

// Principal is who a request acts for: an API key, its project and scopes.
type Principal struct {
	KeyID   int64
	Name    string
	Project string
	Scopes  []string
	// RateLimit is the key's own limit in requests per second; 0: the
	// server's default.
	RateLimit float64
}

// Has reports whether the principal may act in scope.
func (p *Principal) Has(scope string) bool {
	return slices.Contains(p.Scopes, scope) || slices.Contains(p.Scopes, ScopeAdmin)
}

type principalKey struct{}

// WithPrincipal returns ctx acting for p: the store sees only p's project.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return store.WithProject(context.WithValue(ctx, principalKey{}, p), p.Project)
}

// PrincipalOf returns who ctx acts for, or nil when the request was let in
// without a key (authentication off).
func PrincipalOf(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// keyPrefix starts every secret, so that a leaked key is recognisable
// (secret scanners, logs).
const keyPrefix = "mlg_"

// access is the service's authentication state: verified keys for a short
// while, whether any key exists, and per-client rate limiters.
type access struct {
	mode        string
	defaultRate float64
	// principals caches verified keys by hash. Revoking a key through this
	// server removes it at once; another instance (or the command line)
	// revoking it takes effect here within principalTTL.
	principals *expirable.LRU[string, *Principal]
	// keysExist becomes true once a key is seen, and stays so: keys are
	// revoked, never deleted.
	keysExist atomic.Bool
	mu        sync.Mutex   // one look in the store at a time
	checkedAt atomic.Int64 // when keysExist was last looked up (UnixNano)
	limiters  *lru.Cache[string, *rate.Limiter]
}

const (
	principalTTL = 10 * time.Second
	// keysCheckEvery bounds how often a server with no key yet looks for
	// one made by the command line.
	keysCheckEvery = time.Second
)

func newAccess(mode string, defaultRate float64) *access {
	if mode == "" {
		mode = AuthAuto
	}
	limiters, err := lru.New[string, *rate.Limiter](10_000)
	if err != nil {
		panic(err) // a constant, valid size
	}
	return &access{
		mode:        mode,
		defaultRate: defaultRate,
		principals:  expirable.NewLRU[string, *Principal](10_000, nil, principalTTL),
		limiters:    limiters,
	}
}

// string returns the server's authentication mode.
func (s *Service) AuthMode() string { return s.access.mode }

// AuthRequired reports whether requests need an API key now.
func (s *Service) AuthRequired(ctx context.Context) (bool, error) {
	switch s.access.mode {
	case AuthOff:
		return false, nil
	case AuthRequired:
		return true, nil
	}
	a := s.access
	fresh := func() bool { return time.Now().UnixNano()-a.checkedAt.Load() < int64(keysCheckEvery) }
	// Without a lock while the answer is known: this runs for every
	// request of an open server.
	if a.keysExist.Load() || fresh() {
		return a.keysExist.Load(), nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keysExist.Load() || fresh() {
		return a.keysExist.Load(), nil
	}
	exists, err := s.store.HasAPIKeys(store.AllProjects(ctx))
	if err != nil {
		return true, err // fail closed
	}
	a.keysExist.Store(exists)
	a.checkedAt.Store(time.Now().UnixNano())
	return exists, nil
}

func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// errBadKey is the one answer to every key that does not work, so that it
// tells nothing of why (unknown, revoked or malformed).
var errBadKey = apperr.Newf(apperr.Unauthenticated, "invalid or revoked API key")

// Authenticate returns who the secret key acts for; UNAUTHENTICATED if it
// is unknown or revoked.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 200 {
		return nil, errBadKey
	}
	hash := hashKey(secret)
	if p, ok := s.access.principals.Get(hash); ok {
		return p, nil
	}
	ctx = store.AllProjects(ctx)
	k, err := s.store.APIKeyByHash(ctx, hash)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, errBadKey
	}
	if err != nil {
		return nil, err
	}
	if k.RevokedAt != nil {
		return nil, errBadKey
	}
	s.access.keysExist.Store(true)
	p := principalOf(k)
	s.access.principals.Add(hash, p)
	// Once per cache lifetime, not per request: "last used" is to the
	// nearest principalTTL.
	if err := s.store.TouchAPIKey(ctx, k.ID, time.Now().UTC()); err != nil {
		s.log.WarnContext(ctx, "recording API key use", "key", k.ID, "err", err)
	}
	return p, nil
}

func principalOf(k *store.APIKey) *Principal {
	p := &Principal{KeyID: k.ID, Name: k.Name, Project: k.Project, Scopes: k.Scopes}
	if k.RateLimit != nil {
		p.RateLimit = *k.RateLimit
	}
	return p
}

// NewAPIKey is what CreateAPIKey makes.
type NewAPIKey struct {
	Name    string
	Project string // default: the caller's project, or store.DefaultProject
	Scopes  []string
	// RateLimit in requests per second; nil: the server's default.
	RateLimit *float64
}

var projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CreateAPIKey makes a key and returns its secret, which is not stored and
// cannot be shown again. A caller acting for a project makes keys of that
// project only.
func (s *Service) CreateAPIKey(ctx context.Context, in NewAPIKey) (string, *store.APIKey, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, isControl) {
		return "", nil, apperr.BadInputf("a key's name must be 1 to 100 characters, without control characters")
	}
	project := in.Project
	if caller := PrincipalOf(ctx); caller != nil {
		if project != "" && project != caller.Project {
			return "", nil, apperr.Newf(apperr.Forbidden, "an API key can make keys of its own project only")
		}
		project = caller.Project
	}
	if project == "" {
		project = store.DefaultProject
	}
	if !projectName.MatchString(project) {
		return "", nil, apperr.BadInputf("invalid project %q: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", project)
	}
	if len(in.Scopes) == 0 {
		return "", nil, apperr.BadInputf("give at least one scope: READ, PREDICT, TRAIN or ADMIN")
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(Scopes, sc) {
			return "", nil, apperr.BadInputf("unknown scope %q", sc)
		}
	}
	if r := in.RateLimit; r != nil && (math.IsNaN(*r) || *r <= 0 || *r > 1e6) {
		return "", nil, apperr.BadInputf("rateLimit must be more than 0 and at most 1000000 requests per second")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("make API key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := &store.APIKey{
		Name: name, Project: project, Scopes: slices.Clone(in.Scopes), RateLimit: in.RateLimit,
		Prefix: secret[:len(keyPrefix)+6], Hash: hashKey(secret),
	}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	s.access.keysExist.Store(true)
	return secret, k, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// APIKeys lists the keys of the caller's project (all keys with
// authentication off).
func (s *Service) APIKeys(ctx context.Context) ([]*store.APIKey, error) {
	return s.store.ListAPIKeys(ctx)
}

// RevokeAPIKey stops a key of the caller's project from working, at once
// on this server.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (*store.APIKey, error) {
	n, err := ParseID("API key", id)
	if err != nil {
		return nil, err
	}
	k, err := s.store.RevokeAPIKey(ctx, n)
	if err != nil {
		return nil, err
	}
	s.access.principals.Remove(k.Hash)
	return k, nil
}

// Allow takes one request from the rate limit of p (or, without a key, of
// the client's address). When the limit is spent it returns false and how
// long until the next request would be allowed.
func (s *Service) Allow(p *Principal, clientAddr string) (bool, time.Duration) {
	a := s.access
	limit := a.defaultRate
	if p != nil && p.RateLimit > 0 {
		limit = p.RateLimit
	}
	if limit <= 0 {
		return true, 0 // before making a key: this runs for every request
	}
	key := "addr:" + clientAddr
	if p != nil {
		key = "key:" + strconv.FormatInt(p.KeyID, 10)
	}
	lim, ok := a.limiters.Get(key)
	if !ok {
		// A burst of one second's worth: a client may send that many at
		// once, then at the rate.
		lim = rate.NewLimiter(rate.Limit(limit), max(1, int(math.Ceil(limit))))
		if prev, found, _ := a.limiters.PeekOrAdd(key, lim); found {
			lim = prev
		}
	}
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}

// Viewer describes who a request acts for.
type Viewer struct {
	Authenticated bool
	Project       *string
	Scopes        []string
	AuthMode      string
}

// Viewer returns who ctx acts for.
func (s *Service) Viewer(ctx context.Context) *Viewer {
	v := &Viewer{AuthMode: s.access.mode, Scopes: Scopes}
	if p := PrincipalOf(ctx); p != nil {
		v.Authenticated, v.Project, v.Scopes = true, &p.Project, p.Scopes
	}
	return v
}
