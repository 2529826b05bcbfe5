package labelzip

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

// manyEntries returns the entries of a zip of n files cat/00000 ...
func manyEntries(t *testing.T, n int) []Entry {
	t.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("cat/%05d", i)
	}
	entries, err := read(buildZip(t, files(names...)...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestEachKeepsOrder(t *testing.T) {
	entries := manyEntries(t, 300)
	for _, workers := range []int{0, 1, 3, 1000} {
		got := make([]string, len(entries))
		err := Each(entries, workers, func(i int, e Entry, r io.Reader) error {
			data, err := io.ReadAll(r)
			got[i] = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range entries {
			if got[i] != e.Path {
				t.Fatalf("workers %d: result %d is %q, want %q", workers, i, got[i], e.Path)
			}
		}
	}
	if err := Each(nil, 4, func(int, Entry, io.Reader) error { return errors.New("called") }); err != nil {
		t.Errorf("no entries: %v", err)
	}
}

// TestEachFirstErrorWins fails entries 40 and 17 (of 300, at random
// moments) and expects entry 17's error every time, with few entries
// started after it.
func TestEachFirstErrorWins(t *testing.T) {
	entries := manyEntries(t, 300)
	const workers = 4
	for run := range 50 {
		var calls atomic.Int64
		err := Each(entries, workers, func(i int, e Entry, r io.Reader) error {
			calls.Add(1)
			if (i*7919+run)%5 == 0 {
				io.ReadAll(r) // vary the timing
			}
			if i == 40 || i == 17 {
				return fmt.Errorf("entry %d failed", i)
			}
			return nil
		})
		if err == nil || err.Error() != "entry 17 failed" {
			t.Fatalf("run %d: error %v, want entry 17's", run, err)
		}
		// Entries up to 40 may have started before 17 failed; then at
		// most one more per worker.
		if n := calls.Load(); n > 41+workers {
			t.Fatalf("run %d: %d entries processed after an early failure", run, n)
		}
	}
}

func TestEachRecoversPanics(t *testing.T) {
	entries := manyEntries(t, 10)
	err := Each(entries, 2, func(i int, e Entry, r io.Reader) error {
		if i == 3 {
			panic("decoder bug")
		}
		return nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), `panic while processing "cat/00003": decoder bug`) {
		t.Errorf("error %v, want the panic", err)
	}
	if errors.As(err, new(*Error)) {
		t.Errorf("a panic is not the zip's fault: %v", err)
	}
}
