package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mlgraph/internal/images"
	"mlgraph/internal/labelzip"
)

// writeIDX writes a gzipped IDX file of bytes with the given dimensions.
func writeIDX(t *testing.T, file string, dims []uint32, data []uint8) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	binary.Write(zw, binary.BigEndian, uint32(0x800+len(dims)))
	binary.Write(zw, binary.BigEndian, dims)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRun converts a made-up IDX dataset of 4×4 images and reads the zip
// back as the server does: the layout, the per-class limit and the pixels.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	trainLabels := []uint8{0, 9, 0, 0, 9}
	testLabels := []uint8{4, 4}
	pixelsOf := func(n int, seed uint8) []uint8 {
		p := make([]uint8, n*16)
		for i := range p {
			p[i] = seed + uint8(i*37)
		}
		return p
	}
	trainPixels, testPixels := pixelsOf(5, 1), pixelsOf(2, 2)
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), []uint32{5, 4, 4}, trainPixels)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), []uint32{5}, trainLabels)
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), []uint32{2, 4, 4}, testPixels)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), []uint32{2}, testLabels)

	out := filepath.Join(dir, "out.zip")
	if err := run(dir, out, []split{{"train", "train", 2}, {"t10k", "test", 0}}, true); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	entries, err := labelzip.Read(f, info.Size(), labelzip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	want := "test/Coat/00000.png test/Coat/00001.png train/Ankle_boot/00001.png train/Ankle_boot/00004.png train/T-shirt_top/00000.png train/T-shirt_top/00002.png"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("entries %s\nwant %s", got, want)
	}
	err = labelzip.Each(entries, 2, func(i int, e labelzip.Entry, r io.Reader) error {
		got, err := images.DecodePixels(r, images.Options{Size: 4})
		if err != nil {
			return err
		}
		k, err := strconv.Atoi(strings.TrimSuffix(e.Name, ".png"))
		if err != nil {
			return err
		}
		want := trainPixels[16*k : 16*k+16]
		if e.Split == "test" {
			want = testPixels[16*k : 16*k+16]
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: pixels %v, want %v", e.Path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
