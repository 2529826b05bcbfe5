// Package labelzip reads a zip archive of files sorted into one folder per
// label, the layout of Keras's image_dataset_from_directory:
//
//	<label>/<file>                      no split
//	train/<label>/<file>, test/<label>/<file>   a train/test split
//
// When both train/ and test/ hold files each entry carries its split;
// when only one of them does, the zip is read as unsplit (Split "") with
// the labels below it. A single folder around everything (what zipping a
// folder produces, such as "fashion/train/Coat/1.png") is looked through.
//
// Directories are skipped, and so are hidden files and folders (a name
// starting with "."), macOS's "__MACOSX" folder and Windows's Thumbs.db and
// desktop.ini. Everything else must fit the layout: files at the top
// level, deeper nesting, absolute or ".." paths, labels that are not UTF-8
// text, encrypted or symbolic-link entries are rejected, as are zips over
// the limits of Options, which are checked against the zip's headers and
// enforced again while reading, since headers can lie (zip bombs).
//
// Every error the zip's sender caused is an *Error, whose message is meant
// for them; it also matches apperr's BAD_USER_INPUT code.
package labelzip

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"mlgraph/internal/apperr"
)

// Defaults for the zero fields of Options.
const (
	DefaultMaxFiles     = 100_000
	DefaultMaxFileSize  = 32 << 20 // 32 MiB
	DefaultMaxTotalSize = 1 << 30  // 1 GiB
)

// Options limits what Read accepts. A zero (or negative) field takes its
// default.
type Options struct {
	// MaxFiles bounds the number of labelled files (skipped entries do not
	// count). Default DefaultMaxFiles.
	MaxFiles int
	// MaxFileSize bounds one labelled file's uncompressed size in bytes.
	// Default DefaultMaxFileSize.
	MaxFileSize int64
	// MaxTotalSize bounds the uncompressed size of all labelled files
	// together. Default DefaultMaxTotalSize.
	MaxTotalSize int64
}

func (o Options) withDefaults() Options {
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = DefaultMaxTotalSize
	}
	return o
}

// The split folder names.
const (
	SplitTrain = "train"
	SplitTest  = "test"
)

// layoutHint ends the errors about where files are.
const layoutHint = "use <label>/<file> or train|test/<label>/<file>"

// Entry is one labelled file of the zip, as Read returns it.
type Entry struct {
	// Split is SplitTrain or SplitTest when the zip has both train/ and
	// test/ folders, "" otherwise.
	Split string
	// Label is the name of the file's folder: valid UTF-8 without control
	// characters.
	Label string
	// Name is the file's name within its folder, Path its full path in the
	// zip (for messages).
	Name, Path string
	// Size is the uncompressed size the zip declares; Open never yields
	// more.
	Size uint64

	file *zip.File
}

// Open returns the file's contents, limited to its declared Size. Reading
// fails with an *Error if the data is corrupt or longer than declared.
// Entries may be opened and read concurrently.
func (e Entry) Open() (io.ReadCloser, error) {
	rc, err := e.file.Open()
	if err != nil {
		return nil, e.readError(err)
	}
	return &entryReader{rc: rc, entry: e, left: e.Size}, nil
}

// entryReader enforces an entry's declared size and turns decompression
// failures into *Errors naming the entry.
type entryReader struct {
	rc    io.ReadCloser
	entry Entry
	left  uint64 // bytes the header still allows
	err   error  // sticky
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	// Ask for one byte more than allowed, so data beyond the declared size
	// shows up without ever being handed out.
	if uint64(len(p)) > r.left+1 {
		p = p[:r.left+1]
	}
	n, err := r.rc.Read(p)
	// archive/zip checks the size too (zip.ErrFormat), but this check does
	// not depend on it.
	if uint64(n) > r.left || errors.Is(err, zip.ErrFormat) {
		r.err = r.entry.errorf("holds more data than the %d bytes its header declares: the zip is corrupt or malicious", r.entry.Size)
		return 0, r.err
	}
	r.left -= uint64(n)
	if err != nil && err != io.EOF {
		r.err = r.entry.readError(err)
		return n, r.err
	}
	return n, err
}

func (r *entryReader) Close() error { return r.rc.Close() }

// readError classifies an error from opening or reading the entry: a
// failure to read the upload itself is passed on, anything else is the
// zip's fault.
func (e Entry) readError(err error) error {
	var src *sourceError
	if errors.As(err, &src) {
		return fmt.Errorf("read %q from the zip: %w", e.Path, src.err)
	}
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return e.errorf("is corrupt: its checksum does not match")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return e.errorf("is corrupt: its data ends early")
	}
	return e.errorf("is corrupt: %v", err)
}

func (e Entry) errorf(format string, args ...any) *Error {
	return errorf("zip: file %q "+format, append([]any{e.Path}, args...)...)
}

// Error is a problem with the zip that its sender can fix. Its message
// names the file at fault and is meant to be shown to them.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Unwrap makes apperr.CodeOf(err) report apperr.BadInput.
func (e *Error) Unwrap() error { return &apperr.Error{Code: apperr.BadInput, Message: e.msg} }

func errorf(format string, args ...any) *Error {
	return &Error{msg: fmt.Sprintf(format, args...)}
}

// sourceError marks a failure to read the upload itself (not the zip's
// fault), so that it is not reported as bad input.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// taggedReaderAt wraps errors of the upload's reader in *sourceError.
type taggedReaderAt struct{ r io.ReaderAt }

func (t taggedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := t.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// Read lists the labelled files of the zip of size bytes held by r, sorted
// by split, label and name (byte order). It returns an *Error for a zip
// that is invalid or does not fit the layout or the limits of opt, and a
// plain error if r fails.
func Read(r io.ReaderAt, size int64, opt Options) ([]Entry, error) {
	opt = opt.withDefaults()
	zr, err := zip.NewReader(taggedReaderAt{r}, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath comes with a usable reader; the paths are
		// checked below.
		var src *sourceError
		if errors.As(err, &src) {
			return nil, fmt.Errorf("read the zip: %w", src.err)
		}
		if errors.Is(err, zip.ErrFormat) {
			return nil, errorf("zip: not a valid zip file")
		}
		return nil, errorf("zip: not a valid zip file: %s", strings.TrimPrefix(err.Error(), "zip: "))
	}

	var files []located
	seen := make(map[string]bool)
	for _, f := range zr.File {
		parts, keep, err := splitPath(f)
		if err != nil {
			return nil, err
		}
		if !keep {
			continue
		}
		key := strings.Join(parts, "/") // as normalised: "a\\b" is "a/b"
		if seen[key] {
			return nil, errorf("zip: file %q appears more than once", f.Name)
		}
		seen[key] = true
		if len(files) == opt.MaxFiles {
			return nil, errorf("zip: more than the limit of %d files", opt.MaxFiles)
		}
		files = append(files, located{file: f, parts: parts})
	}
	if len(files) == 0 {
		return nil, errorf("zip: no labelled files: %s", layoutHint)
	}
	entries, err := layout(files)
	if err != nil {
		return nil, err
	}
	var total uint64
	for _, e := range entries {
		if err := checkEntry(e, opt); err != nil {
			return nil, err
		}
		total += e.Size // cannot overflow: both terms are below 2⁶³
		if total > uint64(opt.MaxTotalSize) {
			return nil, errorf("zip: the files add up to more than the limit of %s uncompressed", formatBytes(uint64(opt.MaxTotalSize)))
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		return cmp.Or(strings.Compare(a.Split, b.Split), strings.Compare(a.Label, b.Label), strings.Compare(a.Name, b.Name), strings.Compare(a.Path, b.Path))
	})
	return entries, nil
}

// located is a kept zip file with its path split into folders and name.
type located struct {
	file  *zip.File
	parts []string
}

// junkNames are files that operating systems add to folders by themselves.
var junkNames = map[string]bool{"thumbs.db": true, "desktop.ini": true}

// splitPath splits a zip entry's path into its parts, reporting whether
// it is a file to keep (not a directory, not hidden) and rejecting unsafe
// paths.
func splitPath(f *zip.File) (parts []string, keep bool, err error) {
	// Some Windows tools write backslashes, against the zip specification.
	name := strings.ReplaceAll(f.Name, `\`, "/")
	isDir := strings.HasSuffix(name, "/") || f.Mode().IsDir()
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return nil, false, nil
	}
	if strings.HasPrefix(name, "/") || (len(name) >= 2 && name[1] == ':') {
		return nil, false, errorf("zip: path %q is absolute: %s", f.Name, layoutHint)
	}
	parts = strings.Split(name, "/")
	hidden := false
	for _, p := range parts {
		switch {
		case p == "..":
			return nil, false, errorf("zip: path %q leads out of the zip with \"..\"", f.Name)
		case p == "" || p == ".":
			return nil, false, errorf("zip: path %q is malformed: it has an empty or \".\" part", f.Name)
		case strings.HasPrefix(p, ".") || p == "__MACOSX":
			hidden = true
		}
	}
	if isDir || hidden || junkNames[strings.ToLower(parts[len(parts)-1])] {
		return nil, false, nil
	}
	if !f.Mode().IsRegular() {
		return nil, false, errorf("zip: file %q is not a regular file but a %s", f.Name, fileKind(f.Mode()))
	}
	return parts, true, nil
}

// fileKind names a non-regular file mode.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// layout assigns splits and labels from the files' paths.
func layout(files []located) ([]Entry, error) {
	// Look through one folder around everything, unless it is a split.
	root := files[0].parts[0]
	wrapped := root != SplitTrain && root != SplitTest
	for _, f := range files {
		if len(f.parts) < 3 || f.parts[0] != root {
			wrapped = false
			break
		}
	}
	if wrapped {
		for i := range files {
			files[i].parts = files[i].parts[1:]
		}
	}

	split := false
	for _, f := range files {
		if len(f.parts) == 3 && (f.parts[0] == SplitTrain || f.parts[0] == SplitTest) {
			split = true
			break
		}
	}
	splitsSeen := map[string]bool{}
	entries := make([]Entry, len(files))
	for i, f := range files {
		path := f.file.Name
		var e Entry
		switch {
		case len(f.parts) == 1:
			return nil, errorf("zip: file %q is at the top level: put each file in a folder named after its label (%s)", path, layoutHint)
		case len(f.parts) == 2 && !split:
			e = Entry{Label: f.parts[0], Name: f.parts[1]}
		case len(f.parts) == 2 && (f.parts[0] == SplitTrain || f.parts[0] == SplitTest):
			return nil, errorf("zip: file %q is directly in %s/: put it in a folder named after its label, %s/<label>/<file>", path, f.parts[0], f.parts[0])
		case len(f.parts) == 2:
			return nil, errorf("zip: file %q is outside train/ and test/ while other files are inside: %s, the same for every file", path, layoutHint)
		case len(f.parts) == 3 && split && (f.parts[0] == SplitTrain || f.parts[0] == SplitTest):
			e = Entry{Split: f.parts[0], Label: f.parts[1], Name: f.parts[2]}
			splitsSeen[e.Split] = true
		default:
			return nil, errorf("zip: file %q is nested too deep: %s", path, layoutHint)
		}
		if err := checkLabel(path, e.Label); err != nil {
			return nil, err
		}
		e.Path, e.Size, e.file = path, f.file.UncompressedSize64, f.file
		entries[i] = e
	}
	if split && len(splitsSeen) < 2 {
		// Only train/ or only test/: nothing to split.
		for i := range entries {
			entries[i].Split = ""
		}
	}
	return entries, nil
}

func checkLabel(path, label string) error {
	if !utf8.ValidString(label) {
		return errorf("zip: the folder of file %q has a name that is not valid UTF-8: create the zip with a tool that stores UTF-8 names", path)
	}
	if strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return errorf("zip: the folder of file %q has a name with control characters", path)
	}
	return nil
}

// checkEntry checks what the zip's headers say about one labelled file.
func checkEntry(e Entry, opt Options) error {
	f := e.file
	switch {
	case f.Flags&0x1 != 0:
		return e.errorf("is encrypted; encrypted zips are not supported")
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return e.errorf("uses compression method %d; only store (0) and deflate (8) are supported", f.Method)
	case f.UncompressedSize64 > uint64(opt.MaxFileSize):
		return e.errorf("is %s uncompressed; the limit is %s", formatBytes(f.UncompressedSize64), formatBytes(uint64(opt.MaxFileSize)))
	}
	return nil
}

// formatBytes writes a size in the largest binary unit that keeps it ≥ 1.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.4g %s", v, [...]string{"", "KiB", "MiB", "GiB", "TiB"}[i])
}

// Labels returns the distinct labels of entries, sorted.
func Labels(entries []Entry) []string {
	labels := make([]string, 0, 16)
	for _, e := range entries {
		labels = append(labels, e.Label)
	}
	slices.Sort(labels)
	return slices.Compact(labels)
}
