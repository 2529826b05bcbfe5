package graph

import (
	"strings"
	"testing"
)

// TestEveryRootFieldNeedsAuth: a query, mutation or subscription added
// without an @auth directive would be open to any key; this keeps the
// schema from growing one.
func TestEveryRootFieldNeedsAuth(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	checked := 0
	for _, root := range []string{"Query", "Mutation", "Subscription"} {
		for _, f := range schema.Types[root].Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			checked++
			d := f.Directives.ForName("auth")
			if d == nil {
				t.Errorf("%s.%s has no @auth directive", root, f.Name)
				continue
			}
			// Only viewer may do without a scope: it reveals nothing but
			// the caller's own key.
			if d.Arguments.ForName("scope") == nil && f.Name != "viewer" {
				t.Errorf("%s.%s needs a key but no scope", root, f.Name)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked only %d root fields", checked)
	}
}

func TestBearer(t *testing.T) {
	for header, want := range map[string]struct {
		token   string
		present bool
	}{
		"":                 {"", false},
		"Bearer mlg_abc":   {"mlg_abc", true},
		"bearer  mlg_abc ": {"mlg_abc", true},
		"Basic dXNlcg==":   {"", true},
		"mlg_abc":          {"", true},
	} {
		token, present := bearer(header)
		if token != want.token || present != want.present {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", header, token, present, want.token, want.present)
		}
	}
}
