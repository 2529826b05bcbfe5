package labelzip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"mlgraph/internal/apperr"
)

// zipFile is one entry of a zip built by buildZip: a name ending in "/"
// is a directory.
type zipFile struct {
	name string
	data string
	mode fs.FileMode // 0: a regular file
}

func buildZip(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.mode != 0 {
			h.SetMode(f.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// files returns regular files with the given names, each holding its name.
func files(names ...string) []zipFile {
	out := make([]zipFile, len(names))
	for i, n := range names {
		out[i] = zipFile{name: n, data: n}
	}
	return out
}

func read(data []byte, opt Options) ([]Entry, error) {
	return Read(bytes.NewReader(data), int64(len(data)), opt)
}

// describe writes entries as "split|label|name|path" lines.
func describe(entries []Entry) string {
	var lines []string
	for _, e := range entries {
		lines = append(lines, fmt.Sprintf("%s|%s|%s|%s", e.Split, e.Label, e.Name, e.Path))
	}
	return strings.Join(lines, "\n")
}

func TestReadLayouts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []zipFile
		want  []string
	}{
		{
			name: "labels, with junk skipped",
			files: append(files("dog/b.png", "cat/2.png", "cat/10.png", ".DS_Store", "cat/.hidden.png",
				"__MACOSX/cat/._2.png", ".git/config", "dog/Thumbs.db", "dog/desktop.ini"),
				zipFile{name: "cat/"}, zipFile{name: "dog/"}, zipFile{name: "empty/"}),
			want: []string{"|cat|10.png|cat/10.png", "|cat|2.png|cat/2.png", "|dog|b.png|dog/b.png"},
		},
		{
			name:  "train and test",
			files: files("train/dog/1.png", "test/cat/1.png", "train/cat/1.png", "train/cat/0.png"),
			want:  []string{"test|cat|1.png|test/cat/1.png", "train|cat|0.png|train/cat/0.png", "train|cat|1.png|train/cat/1.png", "train|dog|1.png|train/dog/1.png"},
		},
		{
			name:  "only train: no split",
			files: files("train/dog/1.png", "train/cat/1.png"),
			want:  []string{"|cat|1.png|train/cat/1.png", "|dog|1.png|train/dog/1.png"},
		},
		{
			name:  "a folder called train holding files is a label",
			files: files("train/1.png", "test/1.png"),
			want:  []string{"|test|1.png|test/1.png", "|train|1.png|train/1.png"},
		},
		{
			name:  "one folder around a split",
			files: append(files("data/train/cat/1.png", "data/test/cat/2.png"), zipFile{name: "data/"}, zipFile{name: "__MACOSX/data/._x"}),
			want:  []string{"test|cat|2.png|data/test/cat/2.png", "train|cat|1.png|data/train/cat/1.png"},
		},
		{
			name:  "one folder around labels",
			files: files("data/cat/1.png", "data/dog/1.png"),
			want:  []string{"|cat|1.png|data/cat/1.png", "|dog|1.png|data/dog/1.png"},
		},
		{
			name:  "backslashes",
			files: files(`cat\1.png`, `dog\1.png`),
			want:  []string{`|cat|1.png|cat\1.png`, `|dog|1.png|dog\1.png`},
		},
		{
			name:  "UTF-8 labels",
			files: files("chat noir/1.png", "猫/1.png"),
			want:  []string{"|chat noir|1.png|chat noir/1.png", "|猫|1.png|猫/1.png"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := read(buildZip(t, tc.files...), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := describe(entries), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("entries:\n%s\nwant:\n%s", got, want)
			}
			for _, e := range entries {
				if e.Size != uint64(len(e.Path)) {
					t.Errorf("%s: size %d, want %d", e.Path, e.Size, len(e.Path))
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	big := zipFile{name: "cat/big.png", data: strings.Repeat("x", 2000)}
	for _, tc := range []struct {
		name  string
		data  []byte
		opt   Options
		want  string
		files []zipFile
	}{
		{name: "empty zip", want: `zip: no labelled files: use <label>/<file> or train|test/<label>/<file>`},
		{name: "only junk", files: append(files(".DS_Store", "__MACOSX/a/b.png"), zipFile{name: "cat/"}),
			want: `zip: no labelled files: use <label>/<file> or train|test/<label>/<file>`},
		{name: "top level", files: files("cat/1.png", "README.md"),
			want: `zip: file "README.md" is at the top level: put each file in a folder named after its label (use <label>/<file> or train|test/<label>/<file>)`},
		{name: "nested", files: files("dog/1.png", "a/b/c.png"),
			want: `zip: file "a/b/c.png" is nested too deep: use <label>/<file> or train|test/<label>/<file>`},
		{name: "nested in a split", files: files("train/cat/1.png", "test/cat/x/1.png"),
			want: `zip: file "test/cat/x/1.png" is nested too deep: use <label>/<file> or train|test/<label>/<file>`},
		{name: "mixed layouts", files: files("train/cat/1.png", "dog/1.png"),
			want: `zip: file "dog/1.png" is outside train/ and test/ while other files are inside: use <label>/<file> or train|test/<label>/<file>, the same for every file`},
		{name: "directly in a split", files: files("train/cat/1.png", "test/1.png"),
			want: `zip: file "test/1.png" is directly in test/: put it in a folder named after its label, test/<label>/<file>`},
		{name: "duplicate after normalising", files: files("cat/1.png", `cat\1.png`),
			want: `zip: file "cat\\1.png" appears more than once`},
		{name: "dot dot", files: files("cat/1.png", "../etc/passwd"),
			want: `zip: path "../etc/passwd" leads out of the zip with ".."`},
		{name: "dot dot inside", files: files("cat/../../x.png"),
			want: `zip: path "cat/../../x.png" leads out of the zip with ".."`},
		{name: "absolute", files: files("/cat/1.png"),
			want: `zip: path "/cat/1.png" is absolute: use <label>/<file> or train|test/<label>/<file>`},
		{name: "drive letter", files: files(`C:\cat\1.png`),
			want: `zip: path "C:\\cat\\1.png" is absolute: use <label>/<file> or train|test/<label>/<file>`},
		{name: "empty part", files: files("cat//1.png"),
			want: `zip: path "cat//1.png" is malformed: it has an empty or "." part`},
		{name: "not UTF-8", files: files("caf\xe9/1.png"),
			want: `zip: the folder of file "caf\xe9/1.png" has a name that is not valid UTF-8: create the zip with a tool that stores UTF-8 names`},
		{name: "control character", files: files("a\tb/1.png"),
			want: `zip: the folder of file "a\tb/1.png" has a name with control characters`},
		{name: "duplicate", files: files("cat/1.png", "cat/1.png"),
			want: `zip: file "cat/1.png" appears more than once`},
		{name: "symlink", files: []zipFile{{name: "cat/1.png", data: "/etc/passwd", mode: fs.ModeSymlink | 0o777}},
			want: `zip: file "cat/1.png" is not a regular file but a symbolic link`},
		{name: "too many files", files: files("cat/1", "cat/2", "cat/3", ".skipped", "cat/.skipped"), opt: Options{MaxFiles: 2},
			want: `zip: more than the limit of 2 files`},
		{name: "file too large", files: []zipFile{big}, opt: Options{MaxFileSize: 1024},
			want: `zip: file "cat/big.png" is 1.953 KiB uncompressed; the limit is 1 KiB`},
		{name: "total too large", files: append(files("cat/a"), big, zipFile{name: "dog/big.png", data: big.data}), opt: Options{MaxTotalSize: 4000},
			want: `zip: the files add up to more than the limit of 3.906 KiB uncompressed`},
		{name: "not a zip", data: []byte("name,label\nx,y\n"),
			want: `zip: not a valid zip file`},
		{name: "truncated", data: buildZip(t, files("cat/1.png")...)[:40],
			want: `zip: not a valid zip file`},
		{name: "unsupported method", data: rawZip(t, &zip.FileHeader{Name: "cat/1.png", Method: 12}, []byte("BZh"), 3),
			want: `zip: file "cat/1.png" uses compression method 12; only store (0) and deflate (8) are supported`},
		{name: "encrypted", data: rawZip(t, &zip.FileHeader{Name: "cat/1.png", Method: zip.Store, Flags: 0x1}, []byte("secret"), 6),
			want: `zip: file "cat/1.png" is encrypted; encrypted zips are not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = buildZip(t, tc.files...)
			}
			entries, err := read(data, tc.opt)
			if err == nil {
				t.Fatalf("no error; entries:\n%s", describe(entries))
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tc.want)
			}
			checkUserError(t, err)
		})
	}
}

// checkUserError checks that err is the zip's fault, as the caller sees it.
func checkUserError(t *testing.T, err error) {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Errorf("%v: not an *Error", err)
	}
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput || e.Message != err.Error() {
		t.Errorf("%v: apperr.As gives %v, %v; want BAD_USER_INPUT with the same message", err, e, ok)
	}
}

// rawZip builds a zip of one entry whose header is h, verbatim (sizes and
// CRC included), followed by the given raw (compressed) data. size is the
// declared uncompressed size.
func rawZip(t testing.TB, h *zip.FileHeader, raw []byte, size uint64) []byte {
	t.Helper()
	h.CompressedSize64 = uint64(len(raw))
	h.UncompressedSize64 = size
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func deflate(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	fw.Close()
	return buf.Bytes()
}

// TestLyingHeader reads a zip bomb: 16 MiB of zeros deflated to ~16 KiB
// under a header that declares 100 bytes. Read accepts the header; the
// reader must fail without handing out more than the declared 100 bytes.
func TestLyingHeader(t *testing.T) {
	payload := make([]byte, 16<<20)
	data := rawZip(t, &zip.FileHeader{Name: "cat/bomb.png", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(payload)}, deflate(t, payload), 100)
	if len(data) > 1<<20 {
		t.Fatalf("bomb of %d bytes: not much of a bomb", len(data))
	}
	entries, err := read(data, Options{MaxFileSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	err = Each(entries, 1, func(_ int, _ Entry, r io.Reader) error {
		n, err := io.Copy(io.Discard, r)
		got = n
		return err
	})
	if want := `zip: file "cat/bomb.png" holds more data than the 100 bytes its header declares: the zip is corrupt or malicious`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	checkUserError(t, err)
	if got > 100 {
		t.Errorf("read %d bytes, more than the 100 declared", got)
	}
}

// endlessReader yields bytes without end, as a decompressor of data that
// is longer than its header says.
type endlessReader struct{}

func (endlessReader) Read(p []byte) (int, error) { return len(p), nil }
func (endlessReader) Close() error               { return nil }

// TestEntryReaderLimit checks the declared-size limit on its own, without
// archive/zip's check.
func TestEntryReaderLimit(t *testing.T) {
	e := Entry{Path: "cat/1.png", Size: 10}
	for _, chunk := range []int{1, 3, 10, 11, 100} {
		r := &entryReader{rc: endlessReader{}, entry: e, left: e.Size}
		var got int
		var err error
		buf := make([]byte, chunk)
		for err == nil && got < 1000 {
			var n int
			n, err = r.Read(buf)
			got += n
		}
		if got > 10 || err == nil || !strings.Contains(err.Error(), "holds more data than the 10 bytes its header declares") {
			t.Errorf("reading %d at a time: got %d bytes, then %v", chunk, got, err)
		}
		if n, err2 := r.Read(buf); n != 0 || err2 != err {
			t.Errorf("the error is not sticky: %d, %v", n, err2)
		}
	}
}

func TestCorruptData(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"bad checksum", rawZip(t, &zip.FileHeader{Name: "cat/1.png", Method: zip.Store, CRC32: 1234}, []byte("hello"), 5),
			`zip: file "cat/1.png" is corrupt: its checksum does not match`},
		{"short", rawZip(t, &zip.FileHeader{Name: "cat/1.png", Method: zip.Store, CRC32: crc32.ChecksumIEEE([]byte("hello"))}, []byte("hello"), 9),
			`zip: file "cat/1.png" is corrupt: its data ends early`},
		{"bad deflate", rawZip(t, &zip.FileHeader{Name: "cat/1.png", Method: zip.Deflate}, []byte{0xff, 0xff, 0xff}, 9),
			`zip: file "cat/1.png" is corrupt: flate: corrupt input before offset 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := read(tc.data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = Each(entries, 1, func(_ int, _ Entry, r io.Reader) error {
				_, err := io.ReadAll(r)
				return err
			})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			checkUserError(t, err)
		})
	}
}

// failingReaderAt fails every read once failing is set.
type failingReaderAt struct {
	r       io.ReaderAt
	failing atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (f *failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if f.failing.Load() {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// TestUploadErrors checks that failures to read the upload are not
// blamed on the zip.
func TestUploadErrors(t *testing.T) {
	data := buildZip(t, files("cat/1.png", "dog/2.png")...)
	src := &failingReaderAt{r: bytes.NewReader(data)}
	entries, err := Read(src, int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.failing.Store(true)
	err = Each(entries, 2, func(_ int, _ Entry, r io.Reader) error {
		_, err := io.ReadAll(r)
		return err
	})
	if !errors.Is(err, errDisk) || apperr.CodeOf(err) != "" || errors.As(err, new(*Error)) {
		t.Errorf("reading entries: %v (code %q), want a plain error wrapping %v", err, apperr.CodeOf(err), errDisk)
	}
	_, err = Read(src, int64(len(data)), Options{})
	if !errors.Is(err, errDisk) || apperr.CodeOf(err) != "" {
		t.Errorf("Read: %v (code %q), want a plain error wrapping %v", err, apperr.CodeOf(err), errDisk)
	}
}

func TestEntryOpenReadsContents(t *testing.T) {
	entries, err := read(buildZip(t, files("b/2", "a/1", "a/3")...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		rc, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(got) != e.Path {
			t.Errorf("%s: read %q, %v; want its path", e.Path, got, err)
		}
	}
	if got := Labels(entries); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Labels = %q", got)
	}
}
