// Package fashion holds what the Fashion-MNIST benchmark programs share:
// reading Debian's IDX files (makezip) and loading a labelled image zip
// into ml columns the way the server does (train, the tests).
package fashion

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"mlgraph/internal/images"
	"mlgraph/internal/labelzip"
	"mlgraph/ml"
)

// DefaultIDXDir is where Debian's dataset-fashion-mnist package installs
// the data.
const DefaultIDXDir = "/usr/share/datasets/fashion-mnist"

// ClassNames are Fashion-MNIST's classes by label number, as folder names.
var ClassNames = [10]string{"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"}

// IDX is one split of an IDX dataset: N images of Rows×Cols bytes, row by
// row, and their labels.
type IDX struct {
	Rows, Cols int
	Pixels     []uint8 // image i is Pixels[i·Rows·Cols : (i+1)·Rows·Cols]
	Labels     []uint8
}

// Len returns the number of images.
func (d *IDX) Len() int { return len(d.Labels) }

// Image returns image i's pixels.
func (d *IDX) Image(i int) []uint8 {
	n := d.Rows * d.Cols
	return d.Pixels[i*n : (i+1)*n]
}

// ReadIDX reads split ("train" or "t10k") from dir's gzipped IDX files
// <split>-images-idx3-ubyte.gz and <split>-labels-idx1-ubyte.gz.
func ReadIDX(dir, split string) (*IDX, error) {
	imgs, err := readIDXFile(filepath.Join(dir, split+"-images-idx3-ubyte.gz"), 0x803)
	if err != nil {
		return nil, err
	}
	labels, err := readIDXFile(filepath.Join(dir, split+"-labels-idx1-ubyte.gz"), 0x801)
	if err != nil {
		return nil, err
	}
	if imgs.dims[0] != labels.dims[0] {
		return nil, fmt.Errorf("%s: %d images but %d labels", split, imgs.dims[0], labels.dims[0])
	}
	return &IDX{Rows: imgs.dims[1], Cols: imgs.dims[2], Pixels: imgs.data, Labels: labels.data}, nil
}

type idxFile struct {
	dims []int
	data []uint8
}

// readIDXFile reads a gzipped IDX file of unsigned bytes whose magic
// number is magic (0x8 for ubyte, then the number of dimensions).
func readIDXFile(path string, magic uint32) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var got uint32
	if err := binary.Read(zr, binary.BigEndian, &got); err != nil {
		return nil, fmt.Errorf("%s: read the header: %w", path, err)
	}
	if got != magic {
		return nil, fmt.Errorf("%s: magic number %#x, want %#x", path, got, magic)
	}
	dims := make([]uint32, magic&0xff)
	if err := binary.Read(zr, binary.BigEndian, dims); err != nil {
		return nil, fmt.Errorf("%s: read the dimensions: %w", path, err)
	}
	out := &idxFile{}
	size := 1
	for _, d := range dims {
		out.dims = append(out.dims, int(d))
		size *= int(d)
	}
	out.data = make([]uint8, size)
	if _, err := io.ReadFull(zr, out.data); err != nil {
		return nil, fmt.Errorf("%s: read %d values: %w", path, size, err)
	}
	return out, nil
}

// Dataset is a labelled image zip as ml columns: one numeric column per
// pixel value and a categorical label column, one row per image in
// labelzip's order (split, label, name).
type Dataset struct {
	Features []*ml.Column
	Label    *ml.Column
	// Splits and Paths are each row's split ("train", "test" or "") and
	// path in the zip.
	Splits, Paths []string
}

// LoadZip reads the zip at path with labelzip's default limits and
// decodes its images with opt on all cores.
func LoadZip(path string, opt images.Options) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	entries, err := labelzip.Read(f, info.Size(), labelzip.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	opt, err = opt.Resolve()
	if err != nil {
		return nil, err
	}
	width := opt.Features()
	pixels := make([]uint8, len(entries)*width) // row-major, one byte a value
	err = labelzip.Each(entries, runtime.GOMAXPROCS(0), func(i int, e labelzip.Entry, r io.Reader) error {
		p, err := images.DecodePixels(r, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		copy(pixels[i*width:], p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	d := &Dataset{Splits: make([]string, len(entries)), Paths: make([]string, len(entries))}
	for j, name := range images.FeatureNames(opt) {
		values := make([]float64, len(entries))
		for i := range values {
			values[i] = float64(pixels[i*width+j])
		}
		d.Features = append(d.Features, ml.NewNumeric(name, values))
	}
	levels := labelzip.Labels(entries)
	codeOf := make(map[string]int32, len(levels))
	for k, l := range levels {
		codeOf[l] = int32(k)
	}
	codes := make([]int32, len(entries))
	for i, e := range entries {
		codes[i] = codeOf[e.Label]
		d.Splits[i], d.Paths[i] = e.Split, e.Path
	}
	d.Label = ml.NewCategorical("label", codes, levels)
	return d, nil
}

// Rows returns the rows of split.
func (d *Dataset) Rows(split string) []int {
	var rows []int
	for i, s := range d.Splits {
		if s == split {
			rows = append(rows, i)
		}
	}
	return rows
}

// Take returns the given rows of the features and the label.
func (d *Dataset) Take(rows []int) (features []*ml.Column, label *ml.Column) {
	features = make([]*ml.Column, len(d.Features))
	for j, c := range d.Features {
		features[j] = c.Take(rows)
	}
	return features, d.Label.Take(rows)
}
