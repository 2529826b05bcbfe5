package labelzip

import (
	"archive/zip"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkEntries checks what Read promises about a successful result, then
// reads every entry, which must not yield more than its declared size.
func checkEntries(t *testing.T, entries []Entry, err error, opt Options) {
	t.Helper()
	if err != nil {
		var ze *Error
		if !errors.As(err, &ze) {
			t.Fatalf("error from in-memory data is not an *Error: %v", err)
		}
		return
	}
	if len(entries) == 0 || len(entries) > opt.MaxFiles {
		t.Fatalf("%d entries", len(entries))
	}
	splits := map[string]bool{}
	var total uint64
	for i, e := range entries {
		splits[e.Split] = true
		total += e.Size
		switch {
		case e.Label == "" || !utf8.ValidString(e.Label) || strings.ContainsAny(e.Label, "/\\"):
			t.Fatalf("entry %q: label %q", e.Path, e.Label)
		case e.Name == "" || strings.HasPrefix(e.Name, "."):
			t.Fatalf("entry %q: name %q", e.Path, e.Name)
		case e.Split != "" && e.Split != SplitTrain && e.Split != SplitTest:
			t.Fatalf("entry %q: split %q", e.Path, e.Split)
		case e.Size > uint64(opt.MaxFileSize):
			t.Fatalf("entry %q: size %d over the limit", e.Path, e.Size)
		case i > 0 && !entryLess(entries[i-1], e):
			t.Fatalf("entries %q and %q out of order", entries[i-1].Path, e.Path)
		}
		for _, p := range strings.Split(strings.ReplaceAll(e.Path, `\`, "/"), "/") {
			if p == ".." {
				t.Fatalf("entry %q has a .. part", e.Path)
			}
		}
	}
	if total > uint64(opt.MaxTotalSize) {
		t.Fatalf("total size %d over the limit", total)
	}
	if splits[""] && len(splits) > 1 || !splits[""] && len(splits) == 1 {
		t.Fatalf("splits %v: an unsplit entry among split ones, or one split alone", splits)
	}
	Each(entries, 2, func(_ int, e Entry, r io.Reader) error {
		n, _ := io.Copy(io.Discard, r)
		if uint64(n) > e.Size {
			t.Errorf("entry %q yielded %d bytes, more than its %d", e.Path, n, e.Size)
		}
		return nil
	})
}

func entryLess(a, b Entry) bool {
	return slices.Compare([]string{a.Split, a.Label, a.Name, a.Path}, []string{b.Split, b.Label, b.Name, b.Path}) < 0
}

var fuzzOptions = Options{MaxFiles: 50, MaxFileSize: 1 << 16, MaxTotalSize: 1 << 18}

// FuzzRead reads arbitrary bytes as a zip.
func FuzzRead(f *testing.F) {
	f.Add(buildZip(f, files("cat/1.png", "dog/2.png")...))
	f.Add(buildZip(f, append(files("train/cat/1.png", "test/cat/2.png", "__MACOSX/._x"), zipFile{name: "data/"})...))
	f.Add(buildZip(f, files("x/train/cat/1.png", "x/test/dog/1.png")...))
	f.Add(rawZip(f, &zip.FileHeader{Name: "cat/bomb.png", Method: zip.Deflate}, deflate(f, make([]byte, 1<<20)), 10))
	f.Add([]byte("PK\x05\x06"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := read(data, fuzzOptions)
		checkEntries(t, entries, err, fuzzOptions)
	})
}

// FuzzPaths builds a zip of files named by the lines of names, which
// explores the layout rules much faster than mutating zip bytes.
func FuzzPaths(f *testing.F) {
	for _, names := range []string{
		"cat/1.png\ndog/2.png",
		"train/cat/1.png\ntest/dog/2.png\n.DS_Store",
		"root/train/a/1\nroot/test/b/2\n__MACOSX/root/._1",
		"a/b/c/d\ne/f",
		"../x/y\n/abs/z",
		"cat\\1.png\ndog/",
		"train/x\ntrain/y/z",
	} {
		f.Add(names)
	}
	f.Fuzz(func(t *testing.T, names string) {
		lines := strings.Split(names, "\n")
		if len(lines) > 20 {
			return
		}
		var zf []zipFile
		seen := map[string]bool{}
		for _, n := range lines {
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			zf = append(zf, zipFile{name: n})
		}
		entries, err := read(buildZip(t, zf...), fuzzOptions)
		checkEntries(t, entries, err, fuzzOptions)
		if err == nil {
			for _, e := range entries {
				if !seen[e.Path] {
					t.Fatalf("entry path %q is not a file of the zip", e.Path)
				}
			}
		}
	})
}
