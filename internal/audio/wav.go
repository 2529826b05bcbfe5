// Package audio decodes and encodes WAV (RIFF/WAVE) audio.
//
// Decode reads linear PCM of 8, 16, 24 or 32 bits and IEEE floating point
// of 32 or 64 bits, in the plain WAVE_FORMAT_PCM / WAVE_FORMAT_IEEE_FLOAT
// layout or in WAVE_FORMAT_EXTENSIBLE, with any number of channels, and
// returns mono samples in [-1, 1]. It is written for untrusted uploads:
// malformed input gives an error wrapping ErrMalformed, ErrUnsupported or
// ErrTooLong (never a panic), and memory grows with the samples actually
// read, up to a cap, never with a size a header claims.
package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// DefaultMaxSamples is the cap on samples per channel that Decode applies:
// about 3 minutes at 48 kHz, 64 MiB of float64.
const DefaultMaxSamples = 1 << 23

// MaxSampleRate is the highest sample rate accepted, in Hz. It is far above
// any audio rate; it exists so that a rate read from a header always fits
// an int and cannot feed absurd sizes into later processing.
const MaxSampleRate = 1 << 22

var (
	// ErrMalformed marks input that is not a well-formed WAV file.
	ErrMalformed = errors.New("malformed WAV")
	// ErrUnsupported marks a well-formed WAV file whose encoding Decode
	// does not read (compressed formats, A-law and μ-law, RF64, RIFX).
	ErrUnsupported = errors.New("unsupported WAV encoding")
	// ErrTooLong marks audio with more samples per channel than the cap.
	ErrTooLong = errors.New("WAV audio too long")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// Format tags of the fmt chunk (mmreg.h).
const (
	formatPCM        = 0x0001
	formatIEEEFloat  = 0x0003
	formatALaw       = 0x0006
	formatMuLaw      = 0x0007
	formatExtensible = 0xFFFE
)

// ksdataformatSubtypeTail is bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs
// ({0000xxxx-0000-0010-8000-00AA00389B71}): in WAVE_FORMAT_EXTENSIBLE the
// first two bytes of the sub-format GUID are the format tag.
var ksdataformatSubtypeTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// format is what the fmt chunk says about the data chunk.
type format struct {
	float      bool // IEEE float; else linear PCM
	channels   int
	sampleRate int
	// container is the bytes each sample takes; for PCM a sample narrower
	// than its container is left-justified, so scaling by the container's
	// range is right for any valid-bits count.
	container int
}

// Decode reads a WAV file from r and returns its samples mixed down to
// mono (the mean of the channels), scaled to [-1, 1], and its sample rate
// in Hz. Integer PCM is divided by 2^(bits−1) (8-bit PCM is unsigned, with
// 128 as zero), so its range is [-1, 1); float samples outside [-1, 1] are
// clipped and non-finite ones are an error. Decode caps the samples per
// channel at DefaultMaxSamples; see DecodeLimit.
func Decode(r io.Reader) (samples []float64, sampleRate int, err error) {
	return DecodeLimit(r, DefaultMaxSamples)
}

// DecodeLimit is Decode with a cap of maxSamples samples per channel
// (maxSamples ≥ 1): longer audio gives an error wrapping ErrTooLong.
//
// Chunks other than "fmt " and "data" are skipped, with the pad byte that
// follows a chunk of odd size. Reading stops at the end of the data chunk.
// A data chunk that ends early (at the end of r) is read as far as it goes,
// dropping a partial last frame: programs that stream WAV to a pipe write a
// placeholder size they cannot go back and correct (espeak-ng --stdout
// writes 0x7ffff000). A header that ends early is an error; an empty data
// chunk is not (it gives no samples).
func DecodeLimit(r io.Reader, maxSamples int) (samples []float64, sampleRate int, err error) {
	if maxSamples < 1 {
		return nil, 0, fmt.Errorf("decode wav: maxSamples is %d; must be at least 1", maxSamples)
	}
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return nil, 0, headerError("RIFF header", err)
	}
	switch string(riff[0:4]) {
	case "RIFF":
	case "RIFX", "RF64", "BW64":
		return nil, 0, unsupported("%q container", riff[0:4])
	default:
		return nil, 0, malformed("no RIFF header")
	}
	if string(riff[8:12]) != "WAVE" {
		return nil, 0, malformed("RIFF form is %q; want \"WAVE\"", riff[8:12])
	}
	// The RIFF size is not checked: streaming writers leave a placeholder.
	var f *format
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if f == nil {
				return nil, 0, headerError("chunk header before the fmt chunk", err)
			}
			return nil, 0, headerError("chunk header before the data chunk", err)
		}
		id := string(hdr[0:4])
		size := int64(binary.LittleEndian.Uint32(hdr[4:8]))
		switch id {
		case "fmt ":
			if f != nil {
				return nil, 0, malformed("second fmt chunk")
			}
			if f, err = readFormat(r, size); err != nil {
				return nil, 0, err
			}
		case "data":
			if f == nil {
				return nil, 0, malformed("data chunk before the fmt chunk")
			}
			samples, err := readData(r, size, f, maxSamples)
			if err != nil {
				return nil, 0, err
			}
			return samples, f.sampleRate, nil
		default:
			if err := skip(r, size+size%2); err != nil {
				return nil, 0, headerError(fmt.Sprintf("%q chunk", id), err)
			}
		}
	}
}

// headerError describes a failure to read part of the header: running out
// of input is malformed input; any other error is the reader's own.
func headerError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return malformed("input ends inside the %s", what)
	}
	return fmt.Errorf("decode wav: read %s: %w", what, err)
}

func skip(r io.Reader, n int64) error {
	if n == 0 {
		return nil
	}
	copied, err := io.CopyN(io.Discard, r, n)
	if err == nil || copied == n {
		return nil
	}
	return err
}

// readFormat reads a fmt chunk of the given size (and its pad byte).
func readFormat(r io.Reader, size int64) (*format, error) {
	if size < 16 {
		return nil, malformed("fmt chunk of %d bytes; need at least 16", size)
	}
	// WAVEFORMATEXTENSIBLE is 40 bytes; anything after that is not ours.
	var buf [40]byte
	n := min(size, int64(len(buf)))
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, headerError("fmt chunk", err)
	}
	if err := skip(r, size-n+size%2); err != nil {
		return nil, headerError("fmt chunk", err)
	}
	tag := binary.LittleEndian.Uint16(buf[0:2])
	channels := int(binary.LittleEndian.Uint16(buf[2:4]))
	rate := binary.LittleEndian.Uint32(buf[4:8])
	blockAlign := int(binary.LittleEndian.Uint16(buf[12:14]))
	bits := int(binary.LittleEndian.Uint16(buf[14:16]))
	if tag == formatExtensible {
		// cbSize (2 bytes) then validBits, channelMask and the GUID (22).
		if n < 40 || binary.LittleEndian.Uint16(buf[16:18]) < 22 {
			return nil, malformed("WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes; need 40", size)
		}
		validBits := int(binary.LittleEndian.Uint16(buf[18:20]))
		if [14]byte(buf[26:40]) != ksdataformatSubtypeTail {
			return nil, unsupported("WAVE_FORMAT_EXTENSIBLE sub-format GUID % x", buf[24:40])
		}
		tag = binary.LittleEndian.Uint16(buf[24:26])
		if validBits != 0 && validBits > bits {
			return nil, malformed("%d valid bits in %d-bit samples", validBits, bits)
		}
	}
	if channels == 0 {
		return nil, malformed("zero channels")
	}
	if rate == 0 || rate > MaxSampleRate {
		return nil, malformed("sample rate %d Hz; must be 1 to %d", rate, MaxSampleRate)
	}
	f := &format{channels: channels, sampleRate: int(rate)}
	switch tag {
	case formatPCM:
		if bits < 1 || bits > 32 {
			return nil, unsupported("%d-bit PCM; want 1 to 32 bits", bits)
		}
	case formatIEEEFloat:
		f.float = true
		if bits != 32 && bits != 64 {
			return nil, unsupported("%d-bit float; want 32 or 64", bits)
		}
	case formatALaw, formatMuLaw:
		return nil, unsupported("G.711 A-law/μ-law (format tag %d)", tag)
	default:
		return nil, unsupported("format tag 0x%04x; want PCM (1) or IEEE float (3)", tag)
	}
	f.container = (bits + 7) / 8
	if blockAlign != channels*f.container {
		return nil, malformed("block align %d for %d channels of %d-bit samples; want %d",
			blockAlign, channels, bits, channels*f.container)
	}
	return f, nil
}

// readData reads the frames of a data chunk of the given size, mixing them
// down to mono. It reads in blocks so that memory follows the input.
func readData(r io.Reader, size int64, f *format, maxSamples int) ([]float64, error) {
	frameBytes := f.channels * f.container
	remaining := size / int64(frameBytes) // frames the chunk claims
	// A claimed size is only a hint for the first allocation.
	out := make([]float64, 0, min(remaining, int64(maxSamples), 1<<16))
	blockFrames := max(1, (64<<10)/frameBytes)
	buf := make([]byte, blockFrames*frameBytes)
	decode := sampleDecoder(f)
	scale := 1 / float64(f.channels)
	for remaining > 0 {
		want := min(remaining, int64(blockFrames))
		n, err := io.ReadFull(r, buf[:want*int64(frameBytes)])
		frames := n / frameBytes
		if len(out)+frames > maxSamples {
			return nil, fmt.Errorf("%w: more than %d samples per channel", ErrTooLong, maxSamples)
		}
		for i := range frames {
			frame := buf[i*frameBytes : (i+1)*frameBytes]
			var sum float64
			for c := range f.channels {
				v, ok := decode(frame[c*f.container : (c+1)*f.container])
				if !ok {
					return nil, malformed("non-finite float sample at frame %d", len(out))
				}
				sum += v
			}
			out = append(out, sum*scale)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break // a data chunk cut short: keep the whole frames read
			}
			return nil, fmt.Errorf("decode wav: read data chunk: %w", err)
		}
		remaining -= want
	}
	return out, nil
}

// sampleDecoder returns the function that converts one little-endian
// sample of the format to [-1, 1]; ok is false for a non-finite float.
func sampleDecoder(f *format) func(b []byte) (v float64, ok bool) {
	if f.float {
		if f.container == 4 {
			return func(b []byte) (float64, bool) {
				return clip(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
			}
		}
		return func(b []byte) (float64, bool) {
			return clip(math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	}
	switch f.container {
	case 1:
		return func(b []byte) (float64, bool) { return (float64(b[0]) - 128) / (1 << 7), true }
	case 2:
		return func(b []byte) (float64, bool) {
			return float64(int16(binary.LittleEndian.Uint16(b))) / (1 << 15), true
		}
	case 3:
		return func(b []byte) (float64, bool) {
			// Shift the 24 bits to the top of an int32 to sign-extend them.
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float64(v) / (1 << 23), true
		}
	default:
		return func(b []byte) (float64, bool) {
			return float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31), true
		}
	}
}

func clip(v float64) (float64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return max(-1, min(1, v)), true
}

// EncodePCM16 writes samples as a mono 16-bit PCM WAV file at sampleRate
// Hz. Each sample is scaled by 2^15 as Decode divides by it, rounded, and
// clipped to the 16-bit range, so samples that are multiples of 2^-15 in
// [-1, 1) survive the round trip exactly; NaN is written as 0.
func EncodePCM16(w io.Writer, samples []float64, sampleRate int) error {
	if sampleRate < 1 || sampleRate > MaxSampleRate {
		return fmt.Errorf("encode wav: sample rate %d Hz; must be 1 to %d", sampleRate, MaxSampleRate)
	}
	dataBytes := 2 * int64(len(samples))
	if 36+dataBytes > math.MaxUint32 {
		return fmt.Errorf("encode wav: %d samples do not fit a RIFF file", len(samples))
	}
	b := make([]byte, 44, 44+dataBytes)
	copy(b[0:4], "RIFF")
	binary.LittleEndian.PutUint32(b[4:8], uint32(36+dataBytes))
	copy(b[8:16], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:20], 16)
	binary.LittleEndian.PutUint16(b[20:22], formatPCM)
	binary.LittleEndian.PutUint16(b[22:24], 1) // channels
	binary.LittleEndian.PutUint32(b[24:28], uint32(sampleRate))
	binary.LittleEndian.PutUint32(b[28:32], uint32(2*sampleRate)) // bytes per second
	binary.LittleEndian.PutUint16(b[32:34], 2)                    // block align
	binary.LittleEndian.PutUint16(b[34:36], 16)                   // bits per sample
	copy(b[36:40], "data")
	binary.LittleEndian.PutUint32(b[40:44], uint32(dataBytes))
	for _, v := range samples {
		q := 0.0
		if !math.IsNaN(v) {
			q = max(math.MinInt16, min(math.MaxInt16, math.Round(v*(1<<15))))
		}
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(q)))
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("encode wav: %w", err)
	}
	return nil
}
