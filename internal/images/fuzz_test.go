package images

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"math/rand/v2"
	"testing"
)

// FuzzDecode decodes arbitrary bytes: every failure must be an *Error and
// every success the promised number of values.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	small := randomGray(6, 5, rng)
	f.Add(encodePNG(f, small), uint8(0))
	f.Add(encodeJPEG(f, small), uint8(1))
	nrgba := image.NewNRGBA64(image.Rect(0, 0, 5, 3))
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.IntN(256))
	}
	f.Add(encodePNG(f, nrgba), uint8(2))
	f.Add(encodeJPEG(f, nrgba), uint8(3))
	p := image.NewPaletted(image.Rect(1, 1, 4, 5), palette.WebSafe)
	for i := range p.Pix {
		p.Pix[i] = uint8(rng.IntN(len(palette.WebSafe)))
	}
	f.Add(encodePNG(f, p), uint8(4))
	f.Add(encodeGIF(f, &gif.GIF{Image: []*image.Paletted{p}, Delay: []int{0},
		Config: image.Config{ColorModel: color.Palette(palette.WebSafe), Width: 6, Height: 7}}), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		o := Options{Size: MinSize + int(mode)%5, MaxPixels: 1 << 16}
		if mode&0x80 != 0 {
			o.Color = RGB
		}
		got, err := DecodePixels(bytes.NewReader(data), o)
		if err != nil {
			if !errors.As(err, new(*Error)) {
				t.Fatalf("error from in-memory data is not an *Error: %v", err)
			}
			return
		}
		if len(got) != o.Features() {
			t.Fatalf("%d values for %+v, want %d", len(got), o, o.Features())
		}
	})
}
