package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
)

// wavSpec describes a WAV file for buildWAV. Zero fields get the values a
// correct file would have.
type wavSpec struct {
	tag        uint16 // format tag; formatExtensible wraps subTag
	subTag     uint16
	channels   int
	rate       uint32
	bits       int // bits per sample (the container for extensible)
	validBits  int
	blockAlign int
	fmtSize    int      // 0: 16, or 40 for extensible
	before     [][]byte // whole chunks written before fmt
	between    [][]byte // whole chunks between fmt and data
	dataSize   int64    // -1: len(data)
	data       []byte
}

func chunk(id string, body []byte) []byte {
	b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func buildWAV(s wavSpec) []byte {
	if s.channels == 0 {
		s.channels = 1
	}
	if s.rate == 0 {
		s.rate = 8000
	}
	if s.blockAlign == 0 {
		s.blockAlign = s.channels * ((s.bits + 7) / 8)
	}
	fmtBody := binary.LittleEndian.AppendUint16(nil, s.tag)
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(s.channels))
	fmtBody = binary.LittleEndian.AppendUint32(fmtBody, s.rate)
	fmtBody = binary.LittleEndian.AppendUint32(fmtBody, s.rate*uint32(s.blockAlign))
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(s.blockAlign))
	fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(s.bits))
	if s.tag == formatExtensible {
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, 22)
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, uint16(s.validBits))
		fmtBody = binary.LittleEndian.AppendUint32(fmtBody, 0) // channel mask
		fmtBody = binary.LittleEndian.AppendUint16(fmtBody, s.subTag)
		fmtBody = append(fmtBody, ksdataformatSubtypeTail[:]...)
	}
	if s.fmtSize > len(fmtBody) {
		fmtBody = append(fmtBody, make([]byte, s.fmtSize-len(fmtBody))...)
	}
	var body []byte
	body = append(body, "WAVE"...)
	for _, c := range s.before {
		body = append(body, c...)
	}
	body = append(body, chunk("fmt ", fmtBody)...)
	for _, c := range s.between {
		body = append(body, c...)
	}
	size := s.dataSize
	if size < 0 {
		size = int64(len(s.data))
	}
	body = append(body, "data"...)
	body = binary.LittleEndian.AppendUint32(body, uint32(size))
	body = append(body, s.data...)
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func le16(vs ...int16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

func decodeOK(t *testing.T, wav []byte) ([]float64, int) {
	t.Helper()
	samples, rate, err := Decode(bytes.NewReader(wav))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return samples, rate
}

func sameSamples(t *testing.T, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples %v; want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("sample %d = %v; want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestDecodeEncodings(t *testing.T) {
	f32 := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	f64 := func(vs ...float64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		spec wavSpec
		want []float64
	}{
		{"pcm8 unsigned", wavSpec{tag: formatPCM, bits: 8, data: []byte{0, 128, 255, 64}},
			[]float64{-1, 0, 127.0 / 128, -0.5}},
		{"pcm16", wavSpec{tag: formatPCM, bits: 16, data: le16(-32768, 0, 16384, 32767, -1)},
			[]float64{-1, 0, 0.5, 32767.0 / 32768, -1.0 / 32768}},
		{"pcm24 sign extension", wavSpec{tag: formatPCM, bits: 24,
			data: []byte{0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x40}},
			[]float64{-1, (1<<23 - 1) / float64(1<<23), -1.0 / (1 << 23), 0.5}},
		{"pcm32", wavSpec{tag: formatPCM, bits: 32,
			data: binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1<<31), 1<<30)},
			[]float64{-1, 0.5}},
		{"pcm12 in 16-bit container", wavSpec{tag: formatPCM, bits: 12, data: le16(-8 << 11)},
			[]float64{-0.5}}, // left-justified: scaled by the container
		{"float32 clipped", wavSpec{tag: formatIEEEFloat, bits: 32, data: f32(0.25, -1.5, 2)},
			[]float64{0.25, -1, 1}},
		{"float64", wavSpec{tag: formatIEEEFloat, bits: 64, data: f64(-0.125, 0.75)},
			[]float64{-0.125, 0.75}},
		{"stereo mixed down", wavSpec{tag: formatPCM, bits: 16, channels: 2, data: le16(16384, -16384, 16384, 0)},
			[]float64{0, 0.25}},
		{"three channels", wavSpec{tag: formatPCM, bits: 16, channels: 3, data: le16(3072, 3072, 3072)},
			[]float64{3072.0 / 32768}},
		{"extensible pcm 24 valid bits in 32", wavSpec{tag: formatExtensible, subTag: formatPCM, bits: 32, validBits: 24,
			data: binary.LittleEndian.AppendUint32(nil, 0xC0000000)}, []float64{-0.5}},
		{"extensible float", wavSpec{tag: formatExtensible, subTag: formatIEEEFloat, bits: 32, validBits: 32, channels: 2,
			data: f32(0.5, 0.25)}, []float64{0.375}},
		{"odd chunks skipped with padding", wavSpec{tag: formatPCM, bits: 16,
			before:  [][]byte{chunk("JUNK", []byte{1, 2, 3})},
			between: [][]byte{chunk("LIST", []byte("INFOabcde")), chunk("fact", []byte{4, 0, 0, 0})},
			data:    le16(8192)}, []float64{0.25}},
		{"fmt chunk longer than needed", wavSpec{tag: formatPCM, bits: 16, fmtSize: 19, data: le16(-8192)},
			[]float64{-0.25}},
		{"empty data", wavSpec{tag: formatPCM, bits: 16}, []float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.dataSize = -1
			samples, rate := decodeOK(t, buildWAV(tc.spec))
			if rate != 8000 {
				t.Errorf("rate = %d; want 8000", rate)
			}
			sameSamples(t, samples, tc.want)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	pcm16 := wavSpec{tag: formatPCM, bits: 16, dataSize: -1, data: le16(1, 2)}
	with := func(edit func(*wavSpec)) []byte {
		s := pcm16
		edit(&s)
		return buildWAV(s)
	}
	good := buildWAV(pcm16)
	for _, tc := range []struct {
		name string
		wav  []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"not riff", append([]byte("RIFX"), good[4:]...), ErrUnsupported},
		{"garbage", []byte("hello, world, this is not audio"), ErrMalformed},
		{"not wave", append(append([]byte{}, good[:8]...), append([]byte("AVI "), good[12:]...)...), ErrMalformed},
		{"no fmt", append(append([]byte{}, good[:12]...), chunk("data", le16(1))...), ErrMalformed},
		{"cut inside fmt", good[:30], ErrMalformed},
		{"fmt of 14 bytes", append(append([]byte{}, good[:12]...), chunk("fmt ", good[20:34])...), ErrMalformed},
		{"zero channels", with(func(s *wavSpec) { s.channels = -65536 }), ErrMalformed}, // uint16 wraps to 0
		{"rate too high", with(func(s *wavSpec) { s.rate = 1 << 31 }), ErrMalformed},
		{"bad block align", with(func(s *wavSpec) { s.blockAlign = 3 }), ErrMalformed},
		{"mu-law", with(func(s *wavSpec) { s.tag = formatMuLaw; s.bits = 8 }), ErrUnsupported},
		{"adpcm", with(func(s *wavSpec) { s.tag = 2; s.bits = 4 }), ErrUnsupported},
		{"pcm 40 bits", with(func(s *wavSpec) { s.bits = 40 }), ErrUnsupported},
		{"float 16 bits", with(func(s *wavSpec) { s.tag = formatIEEEFloat }), ErrUnsupported},
		{"extensible in 16 bytes", func() []byte {
			w := bytes.Clone(good)
			binary.LittleEndian.PutUint16(w[20:], formatExtensible)
			return w
		}(), ErrMalformed},
		{"nan float", with(func(s *wavSpec) {
			s.tag, s.bits, s.data = formatIEEEFloat, 32, binary.LittleEndian.AppendUint32(nil, 0x7fc00000)
		}), ErrMalformed},
		{"valid bits above container", with(func(s *wavSpec) {
			s.tag, s.subTag, s.validBits = formatExtensible, formatPCM, 24
		}), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(bytes.NewReader(tc.wav))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v; want an error wrapping %v", err, tc.want)
			}
		})
	}
}

func TestDecodeExtensibleUnknownGUID(t *testing.T) {
	wav := buildWAV(wavSpec{tag: formatExtensible, subTag: formatPCM, bits: 16, dataSize: -1, data: le16(1)})
	i := bytes.Index(wav, ksdataformatSubtypeTail[:])
	wav[i+13] ^= 0xff
	if _, _, err := Decode(bytes.NewReader(wav)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Decode = %v; want ErrUnsupported", err)
	}
}

// Every cut of a file before its data chunk is an error; every cut inside
// it gives the whole frames before the cut.
func TestDecodeTruncated(t *testing.T) {
	wav := buildWAV(wavSpec{tag: formatPCM, bits: 16, channels: 2, dataSize: -1,
		before: [][]byte{chunk("JUNK", []byte{9})}, data: le16(100, 300, -100, -300, 50, 50)})
	dataStart := len(wav) - 12
	for n := range len(wav) {
		samples, _, err := Decode(bytes.NewReader(wav[:n]))
		if n < dataStart {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("cut at %d: err = %v; want ErrMalformed", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut at %d (in the data): %v", n, err)
		}
		if want := (n - dataStart) / 4; len(samples) != want {
			t.Fatalf("cut at %d: %d samples; want %d", n, len(samples), want)
		}
	}
}

// A header claiming gigabytes must not make Decode allocate them.
func TestDecodeHugeSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		wav  []byte
		ok   bool
	}{
		{"data size 4 GiB", buildWAV(wavSpec{tag: formatPCM, bits: 16, dataSize: math.MaxUint32, data: le16(1, 2, 3)}), true},
		{"fmt size 4 GiB", append(append([]byte("RIFF\xff\xff\xff\xffWAVE"), "fmt \xff\xff\xff\xff"...), make([]byte, 40)...), false},
		{"junk size 4 GiB", []byte("RIFF\xff\xff\xff\xffWAVEJUNK\xff\xff\xff\xff"), false},
		{"8-bit 65535 channels", buildWAV(wavSpec{tag: formatPCM, bits: 8, channels: 65535, dataSize: math.MaxUint32, data: make([]byte, 70000)}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := Decode(bytes.NewReader(tc.wav))
			runtime.ReadMemStats(&after)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v; want ok=%v", err, tc.ok)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Fatalf("allocated %d bytes for a %d-byte input", alloc, len(tc.wav))
			}
		})
	}
}

func TestDecodeLimit(t *testing.T) {
	wav := buildWAV(wavSpec{tag: formatPCM, bits: 16, channels: 2, dataSize: -1, data: le16(1, 2, 3, 4, 5, 6)})
	if s, _, err := DecodeLimit(bytes.NewReader(wav), 3); err != nil || len(s) != 3 {
		t.Fatalf("at the limit: %d samples, %v", len(s), err)
	}
	if _, _, err := DecodeLimit(bytes.NewReader(wav), 2); !errors.Is(err, ErrTooLong) {
		t.Fatalf("over the limit: %v; want ErrTooLong", err)
	}
	if _, _, err := DecodeLimit(bytes.NewReader(wav), 0); err == nil {
		t.Fatal("maxSamples 0 accepted")
	}
}

func TestDecodeReaderErrors(t *testing.T) {
	wav := buildWAV(wavSpec{tag: formatPCM, bits: 16, dataSize: -1, data: le16(1, 2, 3)})
	boom := errors.New("boom")
	for _, n := range []int64{0, 20, int64(len(wav)) - 2} {
		r := io.MultiReader(io.LimitReader(bytes.NewReader(wav), n), iotest.ErrReader(boom))
		if _, _, err := Decode(r); !errors.Is(err, boom) {
			t.Errorf("reader failing after %d bytes: %v; want its error", n, err)
		}
	}
	// One byte at a time must decode the same as all at once.
	samples, _, err := Decode(iotest.OneByteReader(bytes.NewReader(wav)))
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, samples, []float64{1.0 / 32768, 2.0 / 32768, 3.0 / 32768})
}

func TestEncodePCM16RoundTrip(t *testing.T) {
	in := []float64{0, 0.5, -0.25, 1, -1, 2, math.NaN(), 1.0 / 32768, -3.0 / 32768}
	var buf bytes.Buffer
	if err := EncodePCM16(&buf, in, 11025); err != nil {
		t.Fatal(err)
	}
	samples, rate := decodeOK(t, buf.Bytes())
	if rate != 11025 {
		t.Errorf("rate = %d", rate)
	}
	sameSamples(t, samples, []float64{0, 0.5, -0.25, 32767.0 / 32768, -1, 32767.0 / 32768, 0, 1.0 / 32768, -3.0 / 32768})
	if err := EncodePCM16(io.Discard, in, 0); err == nil {
		t.Error("rate 0 accepted")
	}
}

// espeak-ng's WAVs, written to a file and streamed to stdout (with a
// placeholder data size), decode to the same samples.
func TestDecodeEspeakNG(t *testing.T) {
	file, err := os.ReadFile("testdata/espeak_one.wav")
	if err != nil {
		t.Fatal(err)
	}
	stream, err := os.ReadFile("testdata/espeak_one_stdout.wav")
	if err != nil {
		t.Fatal(err)
	}
	a, rate := decodeOK(t, file)
	b, _ := decodeOK(t, stream)
	if rate != 22050 || len(a) != (len(file)-44)/2 {
		t.Fatalf("rate %d, %d samples; want 22050 Hz, %d samples", rate, len(a), (len(file)-44)/2)
	}
	if !slices.Equal(a, b) {
		t.Fatal("the streamed file decodes differently")
	}
	peak := 0.0
	for _, v := range a {
		peak = max(peak, math.Abs(v))
	}
	if peak < 0.1 || peak > 1 {
		t.Fatalf("peak %v; want speech well inside [-1, 1]", peak)
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"testdata/espeak_one.wav", "testdata/espeak_one_stdout.wav"} {
		wav, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wav[:min(len(wav), 600)])
	}
	f.Add(buildWAV(wavSpec{tag: formatExtensible, subTag: formatIEEEFloat, bits: 64, channels: 2, dataSize: -1,
		before: [][]byte{chunk("LIST", []byte{1})}, data: make([]byte, 32)}))
	f.Add(buildWAV(wavSpec{tag: formatPCM, bits: 24, channels: 3, dataSize: -1, data: make([]byte, 18)}))
	f.Add(buildWAV(wavSpec{tag: formatPCM, bits: 8, dataSize: math.MaxUint32, data: []byte{1, 2, 3}}))
	const maxSamples = 1 << 12
	f.Fuzz(func(t *testing.T, wav []byte) {
		samples, rate, err := DecodeLimit(bytes.NewReader(wav), maxSamples)
		if err != nil {
			return
		}
		if rate < 1 || rate > MaxSampleRate {
			t.Fatalf("rate %d accepted", rate)
		}
		if len(samples) > maxSamples || len(samples) > len(wav) {
			t.Fatalf("%d samples from %d bytes", len(samples), len(wav))
		}
		for i, v := range samples {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("sample %d = %v, outside [-1, 1]", i, v)
			}
		}
	})
}
