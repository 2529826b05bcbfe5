// Command makezip converts Fashion-MNIST's IDX files into a zip of PNGs in
// the layout uploadImageDataset reads: train/<class>/<index>.png and
// test/<class>/<index>.png, index being the image's position in its IDX
// split (zero-padded, so that name order is index order).
//
//	go run ./bench/fashion/makezip -out /tmp/fashion-mnist.zip
//	go run ./bench/fashion/makezip -train 30 -test 10 -per-class -out testdata/fashion_small.zip
//
// The zip is reproducible: fixed timestamps, stored (PNG is compressed
// already) in a fixed order.
package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log"
	"os"
	"time"

	"mlgraph/bench/fashion"
)

func main() {
	dir := flag.String("dir", fashion.DefaultIDXDir, "folder with the gzipped IDX files")
	out := flag.String("out", "", "zip file to write (required)")
	maxTrain := flag.Int("train", 0, "take only the first N training images (0: all)")
	maxTest := flag.Int("test", 0, "take only the first N test images (0: all)")
	perClass := flag.Bool("per-class", false, "apply -train and -test per class rather than per split")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *out, []split{{"train", "train", *maxTrain}, {"t10k", "test", *maxTest}}, *perClass); err != nil {
		log.Fatal(err)
	}
}

// split is one IDX split and the zip folder it goes to.
type split struct {
	idx, folder string
	max         int
}

func run(dir, out string, splits []split, perClass bool) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	counts := map[string]int{}
	for _, s := range splits {
		d, err := fashion.ReadIDX(dir, s.idx)
		if err != nil {
			return err
		}
		n, err := writeSplit(zw, d, s, perClass)
		if err != nil {
			return err
		}
		counts[s.folder] = n
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	info, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d train and %d test images, %d bytes\n", out, counts["train"], counts["test"], info.Size())
	return nil
}

// modified is every entry's timestamp, for a reproducible zip.
var modified = time.Date(2017, 8, 25, 0, 0, 0, 0, time.UTC)

// writeSplit writes the images of one split that the limit admits and
// returns how many.
func writeSplit(zw *zip.Writer, d *fashion.IDX, s split, perClass bool) (int, error) {
	taken := map[uint8]int{}
	written := 0
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	for i := range d.Len() {
		label := d.Labels[i]
		if int(label) >= len(fashion.ClassNames) {
			return 0, fmt.Errorf("%s image %d: label %d out of range", s.idx, i, label)
		}
		if s.max > 0 && (perClass && taken[label] >= s.max || !perClass && written >= s.max) {
			continue
		}
		img := &image.Gray{Pix: d.Image(i), Stride: d.Cols, Rect: image.Rect(0, 0, d.Cols, d.Rows)}
		buf.Reset()
		if err := enc.Encode(&buf, img); err != nil {
			return 0, err
		}
		name := fmt.Sprintf("%s/%s/%05d.png", s.folder, fashion.ClassNames[label], i)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: modified})
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return 0, err
		}
		taken[label]++
		written++
	}
	return written, nil
}
