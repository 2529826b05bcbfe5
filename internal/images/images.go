// Package images turns PNG, JPEG and GIF files into fixed-size pixel
// features for machine learning.
//
// Decode reads one image and returns Size×Size pixels, row by row (RGB:
// three values per pixel, channel last), each a whole number 0..255. The
// choices, which a model's training and prediction must share:
//
//   - Resizing: the whole image is stretched to Size×Size, with no crop or
//     padding, as Keras's image_dataset_from_directory does by default.
//     Any other size is resampled with the Catmull-Rom filter (bicubic,
//     anti-aliased when shrinking); an image already Size×Size is copied
//     exactly, so a Fashion-MNIST or MNIST PNG gives back its own pixels.
//   - Transparency: images are composited onto black, the background of
//     MNIST-style data (a light object on black).
//   - Gray: luma Y = 0.299R + 0.587G + 0.114B (ITU-R BT.601, as Go's
//     color.GrayModel, PIL's "L" and TensorFlow's rgb_to_grayscale).
//   - Values are rounded from 16-bit precision; 8-bit gray or RGB input at
//     the output size is reproduced exactly.
//   - GIF: the first frame only. JPEG: EXIF orientation is ignored, as
//     Go's decoder and TensorFlow's decode_jpeg do.
//
// Images are measured with image.DecodeConfig before being decoded, so a
// small file that claims a huge size (a decompression bomb) is rejected
// without allocating its pixels.
package images

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/gif" // registers the decoder
	_ "image/jpeg"
	_ "image/png"
	"io"
	"strconv"
	"strings"

	xdraw "golang.org/x/image/draw"

	"mlgraph/internal/apperr"
)

// Color is the color mode of the output.
type Color string

const (
	// Gray gives one luma value per pixel.
	Gray Color = "GRAY"
	// RGB gives three values per pixel: red, green, blue.
	RGB Color = "RGB"
)

// Limits and defaults of Options.
const (
	DefaultSize = 28 // Fashion-MNIST's and MNIST's size
	MinSize     = 4
	MaxSize     = 256
	// DefaultMaxPixels admits a 4096×4096 image, more than a 12-megapixel
	// photo; decoding one takes up to 8 bytes per pixel (16-bit RGBA).
	DefaultMaxPixels = 4096 * 4096
)

// Options say how images become features. The zero value is valid: 28×28
// gray with DefaultMaxPixels.
type Options struct {
	// Size is the output width and height in pixels, MinSize..MaxSize; 0
	// means DefaultSize.
	Size int
	// Color is Gray or RGB; "" means Gray.
	Color Color
	// MaxPixels bounds the width×height of an input image; 0 means
	// DefaultMaxPixels.
	MaxPixels int
}

// Resolve returns o with its defaults filled in, or an *Error if a field
// is out of range.
func (o Options) Resolve() (Options, error) {
	if o.Size == 0 {
		o.Size = DefaultSize
	}
	if o.Color == "" {
		o.Color = Gray
	}
	if o.MaxPixels == 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	switch {
	case o.Size < MinSize || o.Size > MaxSize:
		return o, errorf("image size must be between %d and %d pixels, got %d", MinSize, MaxSize, o.Size)
	case o.Color != Gray && o.Color != RGB:
		return o, errorf("image color must be %s or %s, got %q", Gray, RGB, o.Color)
	case o.MaxPixels < 1:
		return o, errorf("the maximum number of pixels must be positive, got %d", o.MaxPixels)
	}
	return o, nil
}

// channels is the number of values per pixel.
func (o Options) channels() int {
	if o.Color == RGB {
		return 3
	}
	return 1
}

// Features returns the number of values Decode returns: Size² for Gray,
// 3·Size² for RGB (after defaults).
func (o Options) Features() int {
	o, _ = o.Resolve()
	return o.Size * o.Size * o.channels()
}

// FeatureNames returns the names of Decode's values, in order:
// "pixel_<row>_<col>" for Gray (the names of the digits dataset's
// columns), "pixel_<row>_<col>_red", "_green", "_blue" for RGB; rows and
// columns count from 0 at the top left. It returns nil if o is invalid.
func FeatureNames(o Options) []string {
	o, err := o.Resolve()
	if err != nil {
		return nil
	}
	names := make([]string, 0, o.Features())
	for row := range o.Size {
		for col := range o.Size {
			base := "pixel_" + strconv.Itoa(row) + "_" + strconv.Itoa(col)
			if o.Color == Gray {
				names = append(names, base)
				continue
			}
			names = append(names, base+"_red", base+"_green", base+"_blue")
		}
	}
	return names
}

// Error is a problem with an image (or with Options) that the user can
// fix; its message is meant for them.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

// Unwrap makes apperr.CodeOf(err) report apperr.BadInput.
func (e *Error) Unwrap() error { return &apperr.Error{Code: apperr.BadInput, Message: e.msg} }

func errorf(format string, args ...any) *Error {
	return &Error{msg: fmt.Sprintf(format, args...)}
}

// formatNames are the formats Decode accepts, by image.DecodeConfig's
// name (their decoders are imported below).
var formatNames = map[string]string{"png": "PNG", "jpeg": "JPEG", "gif": "GIF"}

// Decode reads a PNG, JPEG or GIF image from r and returns its pixels as
// o says: Size×Size values (3·Size×Size for RGB, channel last) from 0 to
// 255, row by row from the top left. The whole of r is read into memory,
// so bound it. A bad or oversized image or bad Options give an *Error; an
// error reading r is returned wrapped.
func Decode(r io.Reader, o Options) ([]float64, error) {
	pixels, err := DecodePixels(r, o)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(pixels))
	for i, v := range pixels {
		out[i] = float64(v)
	}
	return out, nil
}

// DecodePixels is Decode with the values as bytes.
func DecodePixels(r io.Reader, o Options) ([]uint8, error) {
	o, err := o.Resolve()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	img, err := decode(data, o.MaxPixels)
	if err != nil {
		return nil, err
	}
	return pixels(img, o), nil
}

// decode decodes data after checking its dimensions against maxPixels.
func decode(data []byte, maxPixels int) (img image.Image, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return nil, errorf("not a PNG, JPEG or GIF image")
	}
	name, ok := formatNames[format]
	if err != nil {
		if !ok {
			name = format
		}
		return nil, errorf("invalid %s image: %s", name, decoderMessage(format, err))
	}
	if !ok {
		// Another package registered a format that Decode does not offer.
		return nil, errorf("unsupported image format %s: use PNG, JPEG or GIF", format)
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w < 1 || h < 1 {
		return nil, errorf("invalid %s image: it is %d×%d pixels", name, w, h)
	}
	if w*h > int64(maxPixels) {
		return nil, errorf("%s image of %d×%d pixels is larger than the limit of %d pixels", name, w, h, maxPixels)
	}
	defer func() {
		// The standard decoders are fuzzed, but a panic on a crafted file
		// must not take the server down.
		if p := recover(); p != nil {
			img, err = nil, errorf("invalid %s image: the decoder failed (%v)", name, p)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, errorf("invalid %s image: %s", name, decoderMessage(format, err))
	}
	if b := img.Bounds(); b.Empty() {
		return nil, errorf("invalid %s image: it has no pixels", name)
	}
	if format == "gif" && img.Bounds() != image.Rect(0, 0, cfg.Width, cfg.Height) {
		// A first frame that covers part of the screen: place it on a
		// transparent screen, as a browser shows it.
		screen := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
		draw.Draw(screen, img.Bounds(), img, img.Bounds().Min, draw.Src)
		img = screen
	}
	return img, nil
}

// decoderMessage is a decoder's error message without the decoder's
// name, which the caller's message already gives.
func decoderMessage(format string, err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends early"
	}
	return strings.TrimPrefix(err.Error(), format+": ")
}

// pixels resizes img to o.Size×o.Size (if needed), composites it onto
// black and converts it to o.Color.
func pixels(img image.Image, o Options) []uint8 {
	src, b := img, img.Bounds()
	if b.Dx() != o.Size || b.Dy() != o.Size {
		dst := image.NewRGBA64(image.Rect(0, 0, o.Size, o.Size))
		// Src onto a transparent destination keeps the premultiplied
		// colors, which are the colors over black.
		xdraw.CatmullRom.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
		src, b = dst, dst.Bounds()
	}
	// Every standard image type has RGBA64At, which unlike At does not
	// allocate.
	rgba64, ok := src.(image.RGBA64Image)
	if !ok {
		rgba64 = atAdapter{src}
	}
	out := make([]uint8, 0, o.Size*o.Size*o.channels())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			// Alpha-premultiplied: the color composited onto black.
			c := rgba64.RGBA64At(x, y)
			r, g, bl := uint32(c.R), uint32(c.G), uint32(c.B)
			if o.Color == RGB {
				out = append(out, to8(r), to8(g), to8(bl))
				continue
			}
			// color.GrayModel's weights, kept at 16 bits until rounding;
			// they sum to 1<<16, so gray input stays exact.
			luma := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16
			out = append(out, to8(luma))
		}
	}
	return out
}

// atAdapter gives an image without RGBA64At one.
type atAdapter struct{ image.Image }

func (a atAdapter) RGBA64At(x, y int) color.RGBA64 {
	r, g, b, al := a.At(x, y).RGBA()
	return color.RGBA64{uint16(r), uint16(g), uint16(b), uint16(al)}
}

// to8 rounds a 16-bit value to 8 bits: v/257 to the nearest (an 8-bit
// value v was widened to v·257).
func to8(v uint32) uint8 {
	return uint8((min(v, 0xffff) + 128) / 257)
}
