package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestInitSettingFirstWins: stores opened on one database at once, each
// offering its own value, all get the same one, which a reopened store
// still reads.
func TestInitSettingFirstWins(t *testing.T) {
	s, dsn := openTestStore(t)
	others := make([]*Store, 3)
	for i := range others {
		o, err := Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { o.Close() })
		others[i] = o
	}
	stores := append([]*Store{s}, others...)
	got := make([][]byte, 2*len(stores))
	errs := make([]error, len(got))
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			got[i], errs[i] = stores[i%len(stores)].InitSetting(context.Background(), "key", fmt.Appendf(nil, "value %d", i))
		})
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(got[i], got[0]) || !bytes.HasPrefix(got[0], []byte("value ")) {
			t.Fatalf("store %d got %q, store 0 %q", i, got[i], got[0])
		}
	}
	again, err := s.InitSetting(context.Background(), "key", []byte("later"))
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("a later InitSetting: %q, %v; want %q", again, err, got[0])
	}
	other, err := s.InitSetting(context.Background(), "other", []byte("x"))
	if err != nil || string(other) != "x" {
		t.Errorf("another name: %q, %v", other, err)
	}
}
