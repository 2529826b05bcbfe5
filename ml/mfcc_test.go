package ml

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// syntheticSignal is bench/speech/mfcc_reference.py's synthetic_signal: a
// chirp from 200 Hz rising 4000 Hz per 0.6 s plus tones at 440 Hz and
// 1250 Hz under a trapezoidal envelope (silent before 0.1 s and after
// 0.5 s), over noise of amplitude 0.001 from an integer LCG.
func syntheticSignal(rate, n int) []float64 {
	const f0, f1, dur = 200.0, 4000.0, 0.6
	x := make([]float64, n)
	s := uint64(12345)
	for i := range x {
		t := float64(i) / float64(rate)
		env := max(0, min(1, min((t-0.1)/0.05, (0.5-t)/0.05)))
		chirp := math.Sin(2 * math.Pi * (f0*t + (f1-f0)/(2*dur)*t*t))
		tones := 0.3*math.Sin(2*math.Pi*440*t) + 0.2*math.Sin(2*math.Pi*1250*t)
		s = (1103515245*s + 12345) % (1 << 31)
		noise := float64(s)/(1<<31) - 0.5
		x[i] = env*(0.5*chirp+tones) + 0.002*noise
	}
	return x
}

type mfccReferenceCase struct {
	Name            string
	Rate            int
	Samples         int
	Options         MFCCOptions
	ResampledLength int
	Resampled       []float64
	MFCC            [][]float64
	TrimmedFrames   [2]int
	Features        []float64
}

// closeTo reports whether got is within tol of want, relative to |want|
// (absolute for |want| < 1, where cancellation in the DCT leaves no
// meaningful relative precision).
func closeTo(got, want, tol float64) bool {
	return deviation(got, want) <= tol
}

func deviation(got, want float64) float64 { return math.Abs(got-want) / max(1, math.Abs(want)) }

func TestMFCCMatchesReference(t *testing.T) {
	data, err := os.ReadFile("testdata/mfcc_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		ResampledStride int
		Cases           []mfccReferenceCase
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 4 || ref.ResampledStride < 1 {
		t.Fatalf("reference file has %d cases, stride %d", len(ref.Cases), ref.ResampledStride)
	}
	const tol = 1e-9
	for _, tc := range ref.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			x := syntheticSignal(tc.Rate, tc.Samples)
			opt, err := tc.Options.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			y, err := Resample(x, tc.Rate, opt.SampleRate)
			if err != nil {
				t.Fatal(err)
			}
			if len(y) != tc.ResampledLength {
				t.Fatalf("resampled to %d samples; reference %d", len(y), tc.ResampledLength)
			}
			for i, want := range tc.Resampled {
				if got := y[i*ref.ResampledStride]; !closeTo(got, want, tol) {
					t.Fatalf("resampled sample %d = %.17g; reference %.17g", i*ref.ResampledStride, got, want)
				}
			}

			c, err := MFCC(x, tc.Rate, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			rows, cols := c.Dims()
			if rows != len(tc.MFCC) || cols != len(tc.MFCC[0]) {
				t.Fatalf("MFCC is %d×%d; reference %d×%d", rows, cols, len(tc.MFCC), len(tc.MFCC[0]))
			}
			var worst float64
			for i, row := range tc.MFCC {
				for k, want := range row {
					worst = max(worst, deviation(c.At(i, k), want))
					if got := c.At(i, k); !closeTo(got, want, tol) {
						t.Fatalf("MFCC frame %d c%d = %.17g; reference %.17g", i, k, got, want)
					}
				}
			}

			a, err := analyseMFCC(x, tc.Rate, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			if first, last := trimSilence(a.energy, opt.TrimDB); first != tc.TrimmedFrames[0] || last != tc.TrimmedFrames[1] {
				t.Errorf("kept frames %d to %d; reference %d to %d", first, last, tc.TrimmedFrames[0], tc.TrimmedFrames[1])
			}
			// The reference trims something at each end, so trimming is tested.
			if tc.TrimmedFrames[0] == 0 || tc.TrimmedFrames[1] == rows-1 {
				t.Errorf("reference case trims nothing at one end: %v of %d frames", tc.TrimmedFrames, rows)
			}
			features, err := MFCCFeatures(x, tc.Rate, tc.Options)
			if err != nil {
				t.Fatal(err)
			}
			names := MFCCFeatureNames(tc.Options)
			if len(features) != len(tc.Features) || len(names) != len(features) {
				t.Fatalf("%d features, %d names; reference %d", len(features), len(names), len(tc.Features))
			}
			for i, want := range tc.Features {
				worst = max(worst, deviation(features[i], want))
				if got := features[i]; !closeTo(got, want, tol) {
					t.Errorf("feature %s = %.17g; reference %.17g", names[i], got, want)
				}
			}
			t.Logf("largest deviation from the reference: %.2g", worst)
		})
	}
}

func TestMFCCOptionsResolve(t *testing.T) {
	o, err := MFCCOptions{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := MFCCOptions{SampleRate: 16000, FrameSeconds: 0.025, HopSeconds: 0.010, PreEmphasis: 0.97,
		FFTSize: 512, Filters: 26, Coefficients: 13, Lifter: 22, MinFreq: 0, MaxFreq: 8000,
		EnergyFloor: 1e-10, TrimDB: 40}
	if o != want {
		t.Fatalf("defaults %+v;\nwant %+v", o, want)
	}
	if again, _ := o.Resolve(); again != o {
		t.Fatalf("resolving resolved options changed them: %+v", again)
	}
	// 8 kHz, 30 ms: 240 samples, so the FFT is 256 long.
	if o, _ := (MFCCOptions{SampleRate: 8000, FrameSeconds: 0.03}).Resolve(); o.FFTSize != 256 || o.MaxFreq != 4000 {
		t.Fatalf("8 kHz 30 ms: FFT %d, max %g Hz; want 256, 4000", o.FFTSize, o.MaxFreq)
	}

	for name, bad := range map[string]MFCCOptions{
		"rate too low":           {SampleRate: 500},
		"rate too high":          {SampleRate: 1 << 20},
		"negative frame":         {FrameSeconds: -0.01},
		"NaN frame":              {FrameSeconds: math.NaN()},
		"frame of one sample":    {FrameSeconds: 1e-5},
		"hop too long":           {HopSeconds: 2},
		"pre-emphasis above one": {PreEmphasis: 1.5},
		"FFT shorter than frame": {FFTSize: 256},
		"FFT too long":           {FFTSize: 1 << 21},
		"negative filters":       {Filters: -1},
		"too many filters":       {Filters: 300},
		"too many coefficients":  {Filters: 10, Coefficients: 11},
		"infinite lifter":        {Lifter: math.Inf(1)},
		"negative min freq":      {MinFreq: -1},
		"max above Nyquist":      {MaxFreq: 9000},
		"min above max":          {MinFreq: 5000, MaxFreq: 4000},
		"negative floor":         {EnergyFloor: -1},
		"NaN trim":               {TrimDB: math.NaN()},
	} {
		if _, err := bad.Resolve(); !isInputError(err) {
			t.Errorf("%s: Resolve = %v; want an *InputError", name, err)
		}
		if _, err := MFCC(make([]float64, 16000), 16000, bad); !isInputError(err) {
			t.Errorf("%s: MFCC = %v; want an *InputError", name, err)
		}
	}
}

func isInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

func TestMFCCInputErrors(t *testing.T) {
	tone := sineWave(16000, 1000, 0.5, 16000)
	for name, call := range map[string]func() error{
		"shorter than a frame": func() error { _, err := MFCC(tone[:399], 16000, MFCCOptions{}); return err },
		"short after resampling": func() error {
			_, err := MFCCFeatures(tone[:500], 22050, MFCCOptions{}) // 22.7 ms
			return err
		},
		"empty": func() error { _, err := MFCCFeatures(nil, 16000, MFCCOptions{}); return err },
		"NaN sample": func() error {
			x := slices.Clone(tone)
			x[7] = math.NaN()
			_, err := MFCC(x, 16000, MFCCOptions{})
			return err
		},
		"inf sample": func() error {
			x := slices.Clone(tone)
			x[9] = math.Inf(-1)
			_, err := MFCC(x, 16000, MFCCOptions{})
			return err
		},
		"rate zero":     func() error { _, err := MFCC(tone, 0, MFCCOptions{}); return err },
		"rate too high": func() error { _, err := MFCC(tone, 1<<23, MFCCOptions{}); return err },
		"filters too narrow": func() error {
			_, err := MFCC(tone, 16000, MFCCOptions{Filters: 200, MaxFreq: 2000})
			return err
		},
		"resample rate zero": func() error { _, err := Resample(tone, 16000, 0); return err },
		"too loud": func() error {
			x := slices.Clone(tone)
			for i := range x {
				x[i] *= 1e160
			}
			_, err := MFCCFeatures(x, 16000, MFCCOptions{})
			return err
		},
	} {
		if err := call(); !isInputError(err) {
			t.Errorf("%s: %v; want an *InputError", name, err)
		}
	}
	// Exactly one frame is enough.
	c, err := MFCC(tone[:400], 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, k := c.Dims(); r != 1 || k != 13 {
		t.Fatalf("one frame: %d×%d", r, k)
	}
}

func sineWave(rate int, freq, amp float64, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return x
}

// With as many coefficients as filters and no lifter, the DCT can be
// undone, recovering the log filter energies: a pure tone at a filter's
// centre frequency must make that filter the loudest, its neighbours next.
func TestMFCCPureToneBand(t *testing.T) {
	opt := MFCCOptions{Filters: 26, Coefficients: 26, Lifter: -1, PreEmphasis: -1}
	resolved, err := opt.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	m := resolved.Filters
	dct := mat.NewDense(m, m, dctIIOrtho(m, m))
	lo, hi := hzToMel(resolved.MinFreq), hzToMel(resolved.MaxFreq)
	centre := func(j int) float64 { return melToHz(lo + (hi-lo)*float64(j+1)/float64(m+1)) }
	for _, band := range []int{2, 5, 9, 14, 20, 24} {
		freq := centre(band)
		c, err := MFCC(sineWave(16000, freq, 0.5, 8000), 16000, opt)
		if err != nil {
			t.Fatal(err)
		}
		var logE mat.VecDense
		logE.MulVec(dct.T(), c.RowView(20)) // orthonormal: the inverse is the transpose
		order := make([]int, m)
		for j := range order {
			order[j] = j
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(logE.AtVec(b), logE.AtVec(a)) })
		if order[0] != band || (order[1] != band-1 && order[1] != band+1) {
			t.Errorf("%.0f Hz tone (centre of filter %d): loudest filters %v", freq, band, order[:3])
		}
		// The window's leakage is more than 40 dB down half the bank away.
		if far := (band + m/2) % m; logE.AtVec(band)-logE.AtVec(far) < 40*math.Ln10/10 {
			t.Errorf("%.0f Hz tone: filter %d is only %.1f dB below filter %d", freq, far,
				10/math.Ln10*(logE.AtVec(band)-logE.AtVec(far)), band)
		}
	}
}

// A gain g multiplies every filter energy by g², which the log turns into
// an offset and the DCT moves entirely into c₀: 2√M·ln g.
func TestMFCCGainShiftsC0(t *testing.T) {
	x := syntheticSignal(16000, 9600)
	quiet := slices.Clone(x)
	for i := range quiet {
		quiet[i] *= 0.25
	}
	a, err := MFCC(x, 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := MFCC(quiet, 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	shift := 2 * math.Sqrt(26) * math.Log(0.25)
	_, cols := a.Dims()
	// Frames 12 to 45 are loud throughout (the signal is loud from 0.15 s
	// to 0.45 s); in the quiet ones some filter energies sit at the floor.
	for i := 12; i <= 45; i++ {
		for k := range cols {
			want := a.At(i, k)
			if k == 0 {
				want += shift
			}
			if !closeTo(b.At(i, k), want, 1e-9) {
				t.Fatalf("frame %d c%d: %v at gain 1/4; want %v", i, k, b.At(i, k), want)
			}
		}
	}
}

func TestMFCCDCTIIOrthonormal(t *testing.T) {
	for _, m := range []int{1, 5, 26} {
		d := mat.NewDense(m, m, dctIIOrtho(m, m))
		var dd mat.Dense
		dd.Mul(d, d.T())
		if !mat.EqualApprox(&dd, identity(m), 1e-12) {
			t.Fatalf("m=%d: D·Dᵀ = %v", m, mat.Formatted(&dd))
		}
	}
}

func identity(n int) *mat.Dense {
	id := mat.NewDense(n, n, nil)
	for i := range n {
		id.Set(i, i, 1)
	}
	return id
}

// Silence around a recording is trimmed: padding by whole hops of digital
// silence in front and any amount behind leaves the features as they were,
// and without trimming the padding changes them.
func TestMFCCFeaturesTrimSilence(t *testing.T) {
	speech := syntheticSignal(16000, 9600) // quiet noise, then loud, then quiet
	padded := append(make([]float64, 160*37), speech...)
	padded = append(padded, make([]float64, 5555)...)
	want, err := MFCCFeatures(speech, 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := MFCCFeatures(padded, 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !closeTo(got[i], want[i], 1e-12) {
			t.Fatalf("feature %d: %v padded, %v not", i, got[i], want[i])
		}
	}
	untrimmed, err := MFCCFeatures(padded, 16000, MFCCOptions{TrimDB: -1})
	if err != nil {
		t.Fatal(err)
	}
	if closeTo(untrimmed[0], want[0], 0.01) {
		t.Fatalf("without trimming, mean c0 is still %v", untrimmed[0])
	}

	// Digital silence throughout keeps every frame and gives finite features.
	silent, err := MFCCFeatures(make([]float64, 8000), 16000, MFCCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range silent {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("silent feature %d = %v", i, v)
		}
	}
}

func TestMFCCTrimSilenceFrames(t *testing.T) {
	energy := []float64{0, 1e-9, 0.5, 1e-5, 2, 1e-3, 0.01, 0}
	for _, tc := range []struct {
		db          float64
		first, last int
	}{{40, 2, 6}, {30, 2, 6}, {20, 2, 4}, {10, 2, 4}, {100, 1, 6}, {-1, 0, 7}} {
		if first, last := trimSilence(energy, tc.db); first != tc.first || last != tc.last {
			t.Errorf("%g dB: frames %d to %d; want %d to %d", tc.db, first, last, tc.first, tc.last)
		}
	}
}

func TestMFCCDeltas(t *testing.T) {
	// c = 3t in column 0, constant in column 1: Δ is 3 away from the edges
	// (where repeating the edge frame flattens the slope) and 0.
	c := mat.NewDense(7, 2, nil)
	for i := range 7 {
		c.Set(i, 0, 3*float64(i))
		c.Set(i, 1, -4)
	}
	d := mfccDeltas(c)
	want := []float64{1.5, 2.4, 3, 3, 3, 2.4, 1.5}
	for i, w := range want {
		if !closeTo(d.At(i, 0), w, 1e-14) || d.At(i, 1) != 0 {
			t.Fatalf("row %d: Δ = %v, %v; want %v, 0", i, d.At(i, 0), d.At(i, 1), w)
		}
	}
}

func TestMFCCFeatureNames(t *testing.T) {
	names := MFCCFeatureNames(MFCCOptions{})
	if len(names) != 52 || names[0] != "mfcc0_mean" || names[12] != "mfcc12_mean" || names[13] != "mfcc0_std" ||
		names[26] != "dmfcc0_mean" || names[51] != "dmfcc12_std" {
		t.Fatalf("names %v", names)
	}
	if n := len(MFCCFeatureNames(MFCCOptions{Filters: 40, Coefficients: 20})); n != 80 {
		t.Fatalf("20 coefficients: %d names", n)
	}
	if n := len(MFCCFeatureNames(MFCCOptions{Filters: 8})); n != 32 {
		t.Fatalf("8 filters: %d names; want 4×8", n)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Fatal("duplicate names")
	}
}

// Resampling keeps what both rates can represent and removes what the
// lower one cannot.
func TestMFCCResample(t *testing.T) {
	rms := func(x []float64) float64 {
		var s float64
		for _, v := range x {
			s += v * v
		}
		return math.Sqrt(s / float64(len(x)))
	}
	for _, tc := range []struct {
		from, to int
		freq     float64
	}{
		{44100, 16000, 1000}, {22050, 16000, 3000}, {8000, 16000, 1000},
		{11025, 8000, 440}, {48000, 16000, 6500}, {16000, 44100, 7000},
	} {
		x := sineWave(tc.from, tc.freq, 0.8, tc.from/2)
		y, err := Resample(x, tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		if want := (len(x)*tc.to + tc.from - 1) / tc.from; len(y) != want {
			t.Fatalf("%d→%d: %d samples; want %d", tc.from, tc.to, len(y), want)
		}
		exact := sineWave(tc.to, tc.freq, 0.8, len(y))
		edge := tc.to / 50 // the filter's reach, where the signal's ends are missing
		var worst float64
		for i := edge; i < len(y)-edge; i++ {
			worst = max(worst, math.Abs(y[i]-exact[i]))
		}
		if worst > 1e-3 {
			t.Errorf("%d→%d, %g Hz tone: off by %.3g from the exact tone", tc.from, tc.to, tc.freq, worst)
		}
	}
	// Tones above the new Nyquist frequency must not alias into the band.
	for _, freq := range []float64{8800, 10000, 15000} {
		x := sineWave(44100, freq, 0.8, 22050)
		y, _ := Resample(x, 44100, 16000)
		if ratio := rms(y[400:len(y)-400]) / rms(x); ratio > 1e-3 {
			t.Errorf("44.1→16 kHz: a %g Hz tone keeps %.2g of its level (%.0f dB); want below −60 dB",
				freq, ratio, 20*math.Log10(ratio))
		}
	}
	same, _ := Resample([]float64{1, 2, 3}, 8000, 8000)
	if !slices.Equal(same, []float64{1, 2, 3}) {
		t.Fatalf("same rate: %v", same)
	}
	if empty, err := Resample(nil, 8000, 16000); err != nil || len(empty) != 0 {
		t.Fatalf("empty: %v, %v", empty, err)
	}
}

func TestMFCCResampleKernel(t *testing.T) {
	k := resampleKernel()
	if k[0] != 1 {
		t.Fatalf("k(0) = %v", k[0])
	}
	for z := 1; z <= resampleZeros; z++ {
		if v := k[z*resampleTableRes]; math.Abs(v) > 1e-15 {
			t.Fatalf("k(%d) = %v; want a zero crossing", z, v)
		}
	}
	// I₀ against known values (scipy.special.i0).
	for x, want := range map[float64]float64{0: 1, 1: 1.266065877752008, 5: 27.239871823604442, 8.6: 750.4611595631659} {
		if got := besselI0(x); !closeTo(got, want, 1e-14) {
			t.Errorf("I0(%g) = %.17g; want %.17g", x, got, want)
		}
	}
}

func BenchmarkMFCCFeatures(b *testing.B) {
	x := syntheticSignal(22050, 22050)
	for b.Loop() {
		if _, err := MFCCFeatures(x, 22050, MFCCOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
