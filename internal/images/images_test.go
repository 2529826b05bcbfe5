package images

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"mlgraph/internal/apperr"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(t testing.TB, g *gif.GIF) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeOK(t *testing.T, data []byte, o Options) []uint8 {
	t.Helper()
	got, err := DecodePixels(bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != o.Features() {
		t.Fatalf("%d values, want %d", len(got), o.Features())
	}
	return got
}

// checkUserError checks that err is the user's fault, as the caller sees it.
func checkUserError(t *testing.T, err error) {
	t.Helper()
	var ie *Error
	if !errors.As(err, &ie) {
		t.Errorf("%v: not an *Error", err)
	}
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadInput || e.Message != err.Error() {
		t.Errorf("%v: apperr.As gives %v, %v; want BAD_USER_INPUT with the same message", err, e, ok)
	}
}

func TestResolve(t *testing.T) {
	got, err := Options{}.Resolve()
	if want := (Options{Size: 28, Color: Gray, MaxPixels: 4096 * 4096}); err != nil || got != want {
		t.Errorf("defaults: %+v, %v; want %+v", got, err, want)
	}
	if n := (Options{}).Features(); n != 784 {
		t.Errorf("default features %d, want 784", n)
	}
	if n := (Options{Size: 32, Color: RGB}).Features(); n != 3072 {
		t.Errorf("32×32 RGB features %d, want 3072", n)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Size: 3}, "image size must be between 4 and 256 pixels, got 3"},
		{Options{Size: 257}, "image size must be between 4 and 256 pixels, got 257"},
		{Options{Size: -1}, "image size must be between 4 and 256 pixels, got -1"},
		{Options{Color: "CMYK"}, `image color must be GRAY or RGB, got "CMYK"`},
		{Options{MaxPixels: -5}, "the maximum number of pixels must be positive, got -5"},
	} {
		_, err := tc.o.Resolve()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %s", tc.o, err, tc.want)
			continue
		}
		checkUserError(t, err)
		if _, err := Decode(strings.NewReader(""), tc.o); err == nil || err.Error() != tc.want {
			t.Errorf("Decode with %+v: %v, want %s", tc.o, err, tc.want)
		}
	}
}

func TestFeatureNames(t *testing.T) {
	gray := FeatureNames(Options{})
	if len(gray) != 784 || gray[0] != "pixel_0_0" || gray[29] != "pixel_1_1" || gray[783] != "pixel_27_27" {
		t.Errorf("gray names: %d, %q %q %q", len(gray), gray[0], gray[29], gray[783])
	}
	rgb := FeatureNames(Options{Size: 4, Color: RGB})
	if want := []string{"pixel_0_0_red", "pixel_0_0_green", "pixel_0_0_blue", "pixel_0_1_red"}; len(rgb) != 48 || !slices.Equal(rgb[:4], want) || rgb[47] != "pixel_3_3_blue" {
		t.Errorf("RGB names: %d, %q ... %q", len(rgb), rgb[:4], rgb[47])
	}
	if len(slices.Compact(slices.Sorted(slices.Values(rgb)))) != len(rgb) {
		t.Error("RGB names repeat")
	}
	if names := FeatureNames(Options{Size: 1000}); names != nil {
		t.Errorf("invalid options: %d names", len(names))
	}
}

// randomGray returns a w×h gray image of random pixels.
func randomGray(w, h int, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	return img
}

// TestRoundTrip checks that images of the output size come back exactly:
// 8-bit gray (as Fashion-MNIST's PNGs) in Gray and as equal RGB channels,
// and opaque 8-bit color in RGB.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := randomGray(28, 28, rng)
	if got := decodeOK(t, encodePNG(t, g), Options{}); !bytes.Equal(got, g.Pix) {
		t.Errorf("gray PNG: got %v\nwant %v", got, g.Pix)
	}
	rgb := decodeOK(t, encodePNG(t, g), Options{Color: RGB})
	for i, v := range g.Pix {
		if rgb[3*i] != v || rgb[3*i+1] != v || rgb[3*i+2] != v {
			t.Fatalf("gray PNG as RGB: pixel %d is %v, want %d thrice", i, rgb[3*i:3*i+3], v)
		}
	}

	c := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for i := range c.Pix {
		c.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			c.Pix[i] = 255
		}
	}
	got := decodeOK(t, encodePNG(t, c), Options{Size: 16, Color: RGB})
	for i := range 16 * 16 {
		if !bytes.Equal(got[3*i:3*i+3], c.Pix[4*i:4*i+3]) {
			t.Fatalf("color PNG: pixel %d is %v, want %v", i, got[3*i:3*i+3], c.Pix[4*i:4*i+3])
		}
	}
	luma := decodeOK(t, encodePNG(t, c), Options{Size: 16})
	for i := range 16 * 16 {
		p := c.Pix[4*i:]
		want := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
		if math.Abs(float64(luma[i])-want) > 0.51 {
			t.Fatalf("color PNG as gray: pixel %d (%v) is %d, want %.2f", i, p[:3], luma[i], want)
		}
	}
}

// TestColorModels decodes one 4×4 image in every color model PNG can
// store, plus JPEG's, each pixel (R, G, B, A) = (200, 100, 50, 255) except
// pixel 0, which is transparent or half transparent where the model can be.
func TestColorModels(t *testing.T) {
	rect := image.Rect(0, 0, 4, 4)
	fill := func(img interface{ Set(x, y int, c color.Color) }, first, rest color.Color) {
		for y := range 4 {
			for x := range 4 {
				img.Set(x, y, rest)
			}
		}
		img.Set(0, 0, first)
	}
	orange := color.NRGBA{200, 100, 50, 255}
	grayOf := func(c color.Color) uint8 { return color.GrayModel.Convert(c).(color.Gray).Y }
	pal := color.Palette{color.NRGBA{0, 0, 0, 0}, orange}

	gray8 := image.NewGray(rect)
	fill(gray8, color.Gray{7}, color.Gray{grayOf(orange)})
	gray16 := image.NewGray16(rect)
	fill(gray16, color.Gray16{0x0707}, color.Gray16{uint16(grayOf(orange)) * 257})
	nrgba := image.NewNRGBA(rect)
	fill(nrgba, color.NRGBA{255, 255, 255, 128}, orange)
	nrgba64 := image.NewNRGBA64(rect)
	fill(nrgba64, color.NRGBA64{0xffff, 0xffff, 0xffff, 0x8080}, orange)
	rgba := image.NewRGBA(rect)
	fill(rgba, color.RGBA{0, 0, 0, 0}, orange)
	rgba64 := image.NewRGBA64(rect)
	fill(rgba64, color.RGBA64{0x8080, 0, 0, 0x8080}, orange)
	paletted := image.NewPaletted(rect, pal)
	fill(paletted, pal[0], orange)
	cmyk := image.NewCMYK(rect)
	fill(cmyk, color.CMYK{0, 0, 0, 255}, color.CMYKModel.Convert(orange))

	for _, tc := range []struct {
		name  string
		img   image.Image
		first [3]uint8 // pixel 0 over black
		rest  [3]uint8
		gray  [2]uint8
	}{
		{"gray", gray8, [3]uint8{7, 7, 7}, [3]uint8{grayOf(orange), grayOf(orange), grayOf(orange)}, [2]uint8{7, grayOf(orange)}},
		{"gray16", gray16, [3]uint8{7, 7, 7}, [3]uint8{grayOf(orange), grayOf(orange), grayOf(orange)}, [2]uint8{7, grayOf(orange)}},
		{"nrgba", nrgba, [3]uint8{128, 128, 128}, [3]uint8{200, 100, 50}, [2]uint8{128, grayOf(orange)}},
		{"nrgba64", nrgba64, [3]uint8{128, 128, 128}, [3]uint8{200, 100, 50}, [2]uint8{128, grayOf(orange)}},
		{"rgba", rgba, [3]uint8{0, 0, 0}, [3]uint8{200, 100, 50}, [2]uint8{0, grayOf(orange)}},
		{"rgba64", rgba64, [3]uint8{128, 0, 0}, [3]uint8{200, 100, 50}, [2]uint8{38, grayOf(orange)}},
		{"paletted", paletted, [3]uint8{0, 0, 0}, [3]uint8{200, 100, 50}, [2]uint8{0, grayOf(orange)}},
		// CMYK: not a PNG model, but JPEG's (Adobe); decoded in memory.
		{"cmyk", cmyk, [3]uint8{0, 0, 0}, [3]uint8(rgbOf(color.CMYKModel.Convert(orange))), [2]uint8{0, grayOf(color.CMYKModel.Convert(orange))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rgb, gray []uint8
			if tc.name == "cmyk" {
				rgb, gray = pixels(tc.img, Options{Size: 4, Color: RGB}), pixels(tc.img, Options{Size: 4, Color: Gray})
			} else {
				data := encodePNG(t, tc.img)
				rgb, gray = decodeOK(t, data, Options{Size: 4, Color: RGB}), decodeOK(t, data, Options{Size: 4})
			}
			if got := [3]uint8(rgb[:3]); got != tc.first {
				t.Errorf("RGB pixel 0 = %v, want %v", got, tc.first)
			}
			if got := [3]uint8(rgb[45:]); got != tc.rest {
				t.Errorf("RGB pixel 15 = %v, want %v", got, tc.rest)
			}
			if got := [2]uint8{gray[0], gray[15]}; got != tc.gray {
				t.Errorf("gray pixels 0 and 15 = %v, want %v", got, tc.gray)
			}
		})
	}
}

func rgbOf(c color.Color) []uint8 {
	r, g, b, _ := c.RGBA()
	return []uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

func TestJPEG(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Smooth content: JPEG keeps it within a few levels at quality 100.
	c := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			c.Set(x, y, color.RGBA{uint8(8 * x), uint8(8 * y), uint8(4 * (x + y)), 255})
		}
	}
	got := decodeOK(t, encodeJPEG(t, c), Options{Size: 32, Color: RGB})
	for i := range 32 * 32 {
		for k := range 3 {
			if d := int(got[3*i+k]) - int(c.Pix[4*i+k]); d < -6 || d > 6 {
				t.Fatalf("color JPEG: pixel %d channel %d is %d, want about %d", i, k, got[3*i+k], c.Pix[4*i+k])
			}
		}
	}
	g := randomGray(28, 28, rng)
	gotGray := decodeOK(t, encodeJPEG(t, g), Options{})
	var worst int
	for i, v := range g.Pix {
		worst = max(worst, max(int(v)-int(gotGray[i]), int(gotGray[i])-int(v)))
	}
	if worst > 12 { // random noise is JPEG's worst case
		t.Errorf("gray JPEG: off by up to %d", worst)
	}
}

func TestGIF(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 0}, color.RGBA{255, 255, 255, 255}, color.RGBA{90, 90, 90, 255}}
	// A 10×10 screen whose first frame covers only the 4×4 square at
	// (3, 2), with a transparent pixel; a second frame that must be ignored.
	frame := image.NewPaletted(image.Rect(3, 2, 7, 6), pal)
	for i := range frame.Pix {
		frame.Pix[i] = 1
	}
	frame.SetColorIndex(3, 2, 0)
	second := image.NewPaletted(image.Rect(0, 0, 10, 10), pal)
	for i := range second.Pix {
		second.Pix[i] = 2
	}
	data := encodeGIF(t, &gif.GIF{Image: []*image.Paletted{frame, second}, Delay: []int{0, 0},
		Config: image.Config{ColorModel: pal, Width: 10, Height: 10}})
	got := decodeOK(t, data, Options{Size: 10})
	for y := range 10 {
		for x := range 10 {
			want := uint8(0)
			if x >= 3 && x < 7 && y >= 2 && y < 6 && !(x == 3 && y == 2) {
				want = 255
			}
			if got[10*y+x] != want {
				t.Fatalf("pixel (%d, %d) is %d, want %d", x, y, got[10*y+x], want)
			}
		}
	}
	// Plan 9's palette, no transparency: an ordinary paletted GIF.
	p9 := image.NewPaletted(image.Rect(0, 0, 8, 8), palette.Plan9)
	for i := range p9.Pix {
		p9.Pix[i] = uint8(i * 3)
	}
	rgb := decodeOK(t, encodeGIF(t, &gif.GIF{Image: []*image.Paletted{p9}, Delay: []int{0}}), Options{Size: 8, Color: RGB})
	for i, idx := range p9.Pix {
		if want := rgbOf(palette.Plan9[idx]); !bytes.Equal(rgb[3*i:3*i+3], want) {
			t.Fatalf("Plan 9 pixel %d is %v, want %v", i, rgb[3*i:3*i+3], want)
		}
	}
}

// TestResize checks that images are stretched whole (no crop) and that
// resampling keeps flat areas flat.
func TestResize(t *testing.T) {
	// 100×50: the top half white, the bottom black.
	img := image.NewGray(image.Rect(0, 0, 100, 50))
	for i := range 100 * 25 {
		img.Pix[i] = 255
	}
	got := decodeOK(t, encodePNG(t, img), Options{})
	for row := range 28 {
		for col := range 28 {
			v := got[28*row+col]
			if row < 13 && v != 255 || row > 14 && v != 0 {
				t.Fatalf("stretched halves: pixel (%d, %d) is %d", row, col, v)
			}
		}
	}
	for _, size := range []image.Point{{300, 200}, {7, 7}, {29, 28}, {1, 1}} {
		flat := image.NewRGBA(image.Rectangle{Max: size})
		for i := range flat.Pix {
			flat.Pix[i] = []uint8{77, 140, 3, 255}[i%4]
		}
		got := decodeOK(t, encodePNG(t, flat), Options{Size: 5, Color: RGB})
		for i, v := range got {
			if want := []uint8{77, 140, 3}[i%3]; v != want {
				t.Fatalf("flat %v image: value %d is %d, want %d", size, i, v, want)
			}
		}
	}
	// Shrinking averages: a fine checkerboard becomes mid gray, not
	// aliased black or white.
	board := image.NewGray(image.Rect(0, 0, 280, 280))
	for y := range 280 {
		for x := range 280 {
			board.Pix[280*y+x] = uint8(255 * ((x + y) % 2))
		}
	}
	for i, v := range decodeOK(t, encodePNG(t, board), Options{}) {
		if v < 120 || v > 135 {
			t.Fatalf("checkerboard: pixel %d is %d, want about 128", i, v)
		}
	}
}

// pngWithSize returns a valid 1×1 PNG whose header claims w×h pixels.
func pngWithSize(t *testing.T, w, h uint32) []byte {
	data := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	// The IHDR chunk: length at 8, type at 12, data at 16 (width, height),
	// CRC over type and data at 29.
	binary.BigEndian.PutUint32(data[16:], w)
	binary.BigEndian.PutUint32(data[20:], h)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

func TestBadImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	good := encodePNG(t, randomGray(28, 28, rng))
	bombGIF := encodeGIF(t, &gif.GIF{Image: []*image.Paletted{image.NewPaletted(image.Rect(0, 0, 1, 1), palette.Plan9)}, Delay: []int{0},
		Config: image.Config{ColorModel: color.Palette(palette.Plan9), Width: 65535, Height: 65535}})
	for _, tc := range []struct {
		name string
		data []byte
		o    Options
		want string
	}{
		{"empty", nil, Options{}, "not a PNG, JPEG or GIF image"},
		{"text", []byte("label,pixel\n"), Options{}, "not a PNG, JPEG or GIF image"},
		{"BMP", append([]byte("BM"), make([]byte, 60)...), Options{}, "not a PNG, JPEG or GIF image"},
		{"truncated PNG", good[:len(good)/2], Options{}, "invalid PNG image: invalid format: not enough pixel data"},
		{"header only", good[:20], Options{}, "invalid PNG image: the file ends early"},
		{"PNG bomb", pngWithSize(t, 50000, 50000), Options{}, "PNG image of 50000×50000 pixels is larger than the limit of 16777216 pixels"},
		{"PNG lying small", pngWithSize(t, 1000, 1000), Options{}, "invalid PNG image: invalid format: not enough pixel data"},
		{"GIF bomb", bombGIF, Options{}, "GIF image of 65535×65535 pixels is larger than the limit of 16777216 pixels"},
		{"limit option", good, Options{MaxPixels: 783}, "PNG image of 28×28 pixels is larger than the limit of 783 pixels"},
		{"JPEG garbage", []byte("\xff\xd8\xff\xe0garbage"), Options{}, "invalid JPEG image: the file ends early"},
		{"GIF garbage", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00!"), Options{}, "invalid GIF image: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(bytes.NewReader(tc.data), tc.o)
			if err == nil {
				t.Fatalf("no error; %d values", len(got))
			}
			if strings.HasSuffix(tc.want, ": ") && !strings.HasPrefix(err.Error(), tc.want) || !strings.HasSuffix(tc.want, ": ") && err.Error() != tc.want {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			checkUserError(t, err)
		})
	}
}

type failingReader struct{}

var errDisk = errors.New("disk on fire")

func (failingReader) Read([]byte) (int, error) { return 0, errDisk }

// TestReadError checks that a failure to read is not blamed on the image.
func TestReadError(t *testing.T) {
	_, err := Decode(io.MultiReader(strings.NewReader("\x89PNG"), failingReader{}), Options{})
	if !errors.Is(err, errDisk) || errors.As(err, new(*Error)) || apperr.CodeOf(err) != "" {
		t.Errorf("error %v (code %q), want a plain error wrapping %v", err, apperr.CodeOf(err), errDisk)
	}
}

func TestDecodeMatchesDecodePixels(t *testing.T) {
	data := encodePNG(t, randomGray(40, 30, rand.New(rand.NewPCG(7, 8))))
	o := Options{Size: 12, Color: RGB}
	want := decodeOK(t, data, o)
	got, err := Decode(bytes.NewReader(data), o)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != float64(want[i]) {
			t.Fatalf("value %d: %v, want %d", i, v, want[i])
		}
	}
}

// plainImage hides its image's RGBA64At, as a third-party type may lack it.
type plainImage struct{ image.Image }

func TestImageWithoutRGBA64At(t *testing.T) {
	c := image.NewNRGBA(image.Rect(0, 0, 9, 9))
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range c.Pix {
		c.Pix[i] = uint8(rng.IntN(256))
	}
	for _, o := range []Options{{Size: 9, Color: RGB}, {Size: 9}, {Size: 5, Color: RGB}} {
		o, _ = o.Resolve()
		if got, want := pixels(plainImage{c}, o), pixels(c, o); !bytes.Equal(got, want) {
			t.Errorf("%+v: %v\nwant %v", o, got, want)
		}
	}
}
