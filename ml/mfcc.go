package ml

import (
	"math"
	"strconv"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/mat"
)

// MFCCOptions configures MFCC and MFCCFeatures. A zero field takes its
// default, so MFCCOptions{} is the standard configuration (16 kHz, 25 ms
// frames every 10 ms, 26 filters, 13 coefficients: the common choice for
// speech since Davis & Mermelstein, and python_speech_features' defaults).
// Fields whose zero value is meaningful use a negative value for "none".
type MFCCOptions struct {
	// SampleRate is the rate in Hz the signal is resampled to before
	// analysis (see Resample), so that recordings made at different rates
	// give comparable features. Default 16000; 1000 to 384000.
	SampleRate int
	// FrameSeconds is the length of an analysis frame and HopSeconds the
	// step between the starts of consecutive frames; each is rounded to a
	// whole number of samples. Defaults 0.025 and 0.010.
	FrameSeconds, HopSeconds float64
	// PreEmphasis is α of the pre-emphasis filter y[n] = x[n] − α·x[n−1],
	// in [0, 1]. Default 0.97; negative means none.
	PreEmphasis float64
	// FFTSize is the DFT length N, at least the frame length; frames are
	// zero-padded to it. Default: the smallest power of two that holds a
	// frame (512 for 25 ms at 16 kHz).
	FFTSize int
	// Filters is the number M of triangular mel filters. Default 26.
	Filters int
	// Coefficients is the number K of cepstral coefficients kept,
	// c₀…c_{K−1}, at most Filters. Default 13.
	Coefficients int
	// Lifter is L of the sinusoidal lifter that scales cₖ by
	// 1 + (L/2)·sin(πk/L), evening out the coefficients' magnitudes.
	// Default 22; negative means none.
	Lifter float64
	// MinFreq and MaxFreq bound the filter bank in Hz. Defaults 0 and
	// SampleRate/2 (the Nyquist frequency).
	MinFreq, MaxFreq float64
	// EnergyFloor is the smallest filter energy whose logarithm is taken;
	// smaller energies (digital silence) are raised to it so that the log
	// stays finite. Default 1e-10, about 110 dB below a full-scale tone.
	EnergyFloor float64
	// TrimDB sets how MFCCFeatures trims silence: leading and trailing
	// frames whose energy is more than TrimDB decibels below the loudest
	// frame's are dropped. Default 40; negative means no trimming. On the
	// spoken digits of bench/speech with up to 1 s of silence added at
	// each end of the test recordings, trimming keeps accuracy at 97%;
	// without it, it falls to about 35%.
	TrimDB float64
}

// Defaults and limits of MFCCOptions.
const (
	defaultMFCCSampleRate   = 16000
	defaultMFCCFrameSeconds = 0.025
	defaultMFCCHopSeconds   = 0.010
	defaultMFCCPreEmphasis  = 0.97
	defaultMFCCFilters      = 26
	defaultMFCCCoefficients = 13
	defaultMFCCLifter       = 22
	defaultMFCCEnergyFloor  = 1e-10
	defaultMFCCTrimDB       = 40

	minMFCCSampleRate = 1000
	maxMFCCSampleRate = 384000
	maxMFCCFFTSize    = 1 << 20
	maxMFCCFilters    = 1024
	// maxMFCCInputRate bounds the rate of the signal given to MFCC. With
	// the minimum of minMFCCSampleRate it keeps resampling's expansion
	// factor, and so the memory a short signal can claim, bounded.
	maxMFCCInputRate = 1 << 22
)

// Resolve returns o with each zero field replaced by its default, or an
// *InputError naming the first field out of range. MFCC and MFCCFeatures
// resolve their options themselves; Resolve lets a caller record the exact
// configuration that made a set of features.
func (o MFCCOptions) Resolve() (MFCCOptions, error) {
	if o.SampleRate == 0 {
		o.SampleRate = defaultMFCCSampleRate
	}
	if o.SampleRate < minMFCCSampleRate || o.SampleRate > maxMFCCSampleRate {
		return o, inputErrorf("MFCC sample rate %d Hz is out of range: must be %d to %d", o.SampleRate, minMFCCSampleRate, maxMFCCSampleRate)
	}
	sr := float64(o.SampleRate)
	if o.FrameSeconds == 0 {
		o.FrameSeconds = defaultMFCCFrameSeconds
	}
	if !(o.FrameSeconds > 0 && o.FrameSeconds <= 1) || math.Round(o.FrameSeconds*sr) < 2 {
		return o, inputErrorf("MFCC frame length %g s is out of range: must be at most 1 s and hold at least 2 samples at %d Hz", o.FrameSeconds, o.SampleRate)
	}
	if o.HopSeconds == 0 {
		o.HopSeconds = defaultMFCCHopSeconds
	}
	if !(o.HopSeconds > 0 && o.HopSeconds <= 1) || math.Round(o.HopSeconds*sr) < 1 {
		return o, inputErrorf("MFCC hop %g s is out of range: must be at most 1 s and at least 1 sample at %d Hz", o.HopSeconds, o.SampleRate)
	}
	if o.PreEmphasis == 0 {
		o.PreEmphasis = defaultMFCCPreEmphasis
	}
	if !(o.PreEmphasis <= 1) {
		return o, inputErrorf("MFCC pre-emphasis %g is out of range: must be at most 1 (negative for none)", o.PreEmphasis)
	}
	frame := int(math.Round(o.FrameSeconds * sr))
	if o.FFTSize == 0 {
		o.FFTSize = 1
		for o.FFTSize < frame {
			o.FFTSize *= 2
		}
	}
	if o.FFTSize < frame || o.FFTSize > maxMFCCFFTSize {
		return o, inputErrorf("MFCC FFT size %d is out of range: must be %d (the frame length) to %d", o.FFTSize, frame, maxMFCCFFTSize)
	}
	if o.Filters == 0 {
		o.Filters = defaultMFCCFilters
	}
	if o.Filters < 1 || o.Filters > min(maxMFCCFilters, o.FFTSize/2) {
		return o, inputErrorf("MFCC filter count %d is out of range: must be 1 to %d", o.Filters, min(maxMFCCFilters, o.FFTSize/2))
	}
	if o.Coefficients == 0 {
		o.Coefficients = min(defaultMFCCCoefficients, o.Filters)
	}
	if o.Coefficients < 1 || o.Coefficients > o.Filters {
		return o, inputErrorf("MFCC coefficient count %d is out of range: must be 1 to %d (the filter count)", o.Coefficients, o.Filters)
	}
	if o.Lifter == 0 {
		o.Lifter = defaultMFCCLifter
	}
	if math.IsNaN(o.Lifter) || math.IsInf(o.Lifter, 0) {
		return o, inputErrorf("MFCC lifter %g must be finite", o.Lifter)
	}
	if o.MaxFreq == 0 {
		o.MaxFreq = sr / 2
	}
	if !(o.MinFreq >= 0 && o.MinFreq < o.MaxFreq && o.MaxFreq <= sr/2) {
		return o, inputErrorf("MFCC frequency range [%g, %g] Hz is invalid: need 0 ≤ MinFreq < MaxFreq ≤ %g (half the sample rate)", o.MinFreq, o.MaxFreq, sr/2)
	}
	if o.EnergyFloor == 0 {
		o.EnergyFloor = defaultMFCCEnergyFloor
	}
	if !(o.EnergyFloor > 0 && o.EnergyFloor < math.Inf(1)) {
		return o, inputErrorf("MFCC energy floor %g must be positive and finite", o.EnergyFloor)
	}
	if o.TrimDB == 0 {
		o.TrimDB = defaultMFCCTrimDB
	}
	if math.IsNaN(o.TrimDB) {
		return o, inputErrorf("MFCC trim threshold is NaN")
	}
	return o, nil
}

// MFCC returns the mel-frequency cepstral coefficients of a mono signal
// sampled at sampleRate Hz: one row per frame, one column per coefficient
// c₀…c_{K−1}.
//
// With the options resolved (see MFCCOptions) the steps are:
//
//  1. Resample to SampleRate fs if the signal is at another rate
//     (Resample).
//  2. Pre-emphasis y[n] = x[n] − α·x[n−1] (y[0] = x[0]), lifting the high
//     frequencies that speech production attenuates.
//  3. Framing: frames of F = round(FrameSeconds·fs) samples starting every
//     H = round(HopSeconds·fs) samples; there are T = 1 + ⌊(n−F)/H⌋, the
//     tail that does not fill a frame is dropped.
//  4. Each frame is multiplied by the (symmetric) Hamming window
//     w[i] = 0.54 − 0.46·cos(2πi/(F−1)), zero-padded to N = FFTSize and
//     transformed by a real FFT (gonum's dsp/fourier), giving the power
//     spectrum P[k] = |X[k]|²/N for k = 0…N/2, bin k at f_k = k·fs/N Hz.
//  5. Mel filter bank: the mel scale is m(f) = 2595·log₁₀(1 + f/700),
//     roughly linear below 1 kHz and logarithmic above, like the ear's
//     frequency resolution. M+2 points equally spaced in mel from
//     m(MinFreq) to m(MaxFreq), mapped back to Hz, f₀ < f₁ < … < f_{M+1},
//     define M triangular filters: filter j (1 ≤ j ≤ M) rises from 0 at
//     f_{j−1} to 1 at f_j and falls to 0 at f_{j+1}, weighting bin k by
//     Wⱼ(f_k) = max(0, min((f_k−f_{j−1})/(f_j−f_{j−1}), (f_{j+1}−f_k)/(f_{j+1}−f_j))).
//     The filter energies are Eⱼ = Σₖ Wⱼ(f_k)·P[k].
//  6. Log energies ℓⱼ = ln(max(Eⱼ, EnergyFloor)).
//  7. The orthonormal DCT-II of the log energies (scipy's
//     dct(type=2, norm="ortho")) decorrelates them:
//     cₖ = sₖ·Σⱼ ℓⱼ·cos(πk(2j−1)/(2M)), j = 1…M, with s₀ = √(1/M) and
//     sₖ = √(2/M) for k > 0; c₀ through c_{K−1} are kept.
//  8. Liftering cₖ ← cₖ·(1 + (L/2)·sin(πk/L)) unless Lifter is negative.
//
// These are the steps of python_speech_features' mfcc, except that the
// triangles are evaluated at each bin's exact frequency rather than
// snapped to bin indices, the window is Hamming rather than rectangular,
// and c₀ is kept rather than replaced by the frame's log energy.
//
// Samples are expected in [-1, 1], as audio decoders give them. A gain g
// only adds 2√M·ln g to c₀ (while the filter energies stay above the
// floor), but values so large that the power spectrum overflows are an
// error.
//
// MFCC returns an *InputError for invalid options, a sample rate outside
// 1000 Hz to 4194304 Hz, a non-finite sample, a signal shorter than one
// frame or too loud to analyse, or a filter bank so narrow for N that a
// filter covers no bin.
//
// Memory and time grow with the signal's length at SampleRate: a caller
// taking untrusted audio should bound its duration, not only its sample
// count, since a low input rate is resampled up.
func MFCC(samples []float64, sampleRate int, opt MFCCOptions) (*mat.Dense, error) {
	a, err := analyseMFCC(samples, sampleRate, opt)
	if err != nil {
		return nil, err
	}
	return a.coeffs, nil
}

// MFCCFeatures summarises a signal's MFCCs (see MFCC) as a vector of fixed
// length 4K, whatever the signal's length, for models that take one row
// per recording. Its layout is given by MFCCFeatureNames.
//
// Silence is trimmed first, so that the padding around a recording does
// not dominate the statistics: with Eₜ the energy of frame t (Σₖ P[k] of
// its pre-emphasised, windowed samples), frames before the first and after
// the last frame with Eₜ ≥ max(E)·10^(−TrimDB/10) are dropped. Frames
// between them are kept, so pauses inside an utterance (the closure of a
// stop consonant) still count. A signal that is silent throughout keeps
// all its frames.
//
// The deltas of the remaining T frames follow the standard regression
// formula over ±2 frames, with the first and last frames repeated at the
// edges:
//
//	Δcₜ = Σₙ₌₁² n·(c_{t+n} − c_{t−n}) / (2·Σₙ₌₁² n²) = Σₙ₌₁² n·(c_{t+n} − c_{t−n}) / 10
//
// The vector is
//
//	[mean(c₀)…mean(c_{K−1}), sd(c₀)…sd(c_{K−1}), mean(Δc₀)…mean(Δc_{K−1}), sd(Δc₀)…sd(Δc_{K−1})]
//
// over the T frames, sd being the population standard deviation (divided
// by T).
//
// It returns the same errors as MFCC.
func MFCCFeatures(samples []float64, sampleRate int, opt MFCCOptions) ([]float64, error) {
	a, err := analyseMFCC(samples, sampleRate, opt)
	if err != nil {
		return nil, err
	}
	first, last := trimSilence(a.energy, a.opt.TrimDB)
	k := a.opt.Coefficients
	c := a.coeffs.Slice(first, last+1, 0, k).(*mat.Dense)
	d := mfccDeltas(c)
	out := make([]float64, 4*k)
	poolColumns(c, out[0:k], out[k:2*k])
	poolColumns(d, out[2*k:3*k], out[3*k:4*k])
	return out, nil
}

// MFCCFeatureNames names the entries of MFCCFeatures' vector for opt:
// mfcc0_mean…mfcc{K−1}_mean, mfcc0_std…, dmfcc0_mean…, dmfcc0_std….
// Options that do not resolve give the names for the default K = 13.
func MFCCFeatureNames(opt MFCCOptions) []string {
	resolved, err := opt.Resolve()
	k := resolved.Coefficients
	if err != nil || k < 1 {
		k = defaultMFCCCoefficients
	}
	names := make([]string, 0, 4*k)
	for _, group := range []struct{ prefix, stat string }{
		{"mfcc", "_mean"}, {"mfcc", "_std"}, {"dmfcc", "_mean"}, {"dmfcc", "_std"},
	} {
		for i := range k {
			names = append(names, group.prefix+strconv.Itoa(i)+group.stat)
		}
	}
	return names
}

// mfccAnalysis is the framewise result of the MFCC steps.
type mfccAnalysis struct {
	opt    MFCCOptions // resolved
	coeffs *mat.Dense  // T×K
	energy []float64   // T frame energies Σₖ P[k]
}

func analyseMFCC(samples []float64, sampleRate int, opt MFCCOptions) (*mfccAnalysis, error) {
	o, err := opt.Resolve()
	if err != nil {
		return nil, err
	}
	if sampleRate < minMFCCSampleRate || sampleRate > maxMFCCInputRate {
		return nil, inputErrorf("signal sample rate %d Hz is out of range: must be %d to %d", sampleRate, minMFCCSampleRate, maxMFCCInputRate)
	}
	for i, v := range samples {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, inputErrorf("signal sample %d is %v; samples must be finite", i, v)
		}
	}
	fs := float64(o.SampleRate)
	frameLen := int(math.Round(o.FrameSeconds * fs))
	hop := int(math.Round(o.HopSeconds * fs))
	// Check the length before resampling: a long signal cut short is
	// cheaper to refuse before doing the work.
	if float64(len(samples))/float64(sampleRate) < float64(frameLen)/fs {
		return nil, inputErrorf("signal of %d samples (%.4g s at %d Hz) is shorter than one %g s MFCC frame",
			len(samples), float64(len(samples))/float64(sampleRate), sampleRate, o.FrameSeconds)
	}
	x := samples
	if sampleRate != o.SampleRate {
		if x, err = Resample(samples, sampleRate, o.SampleRate); err != nil {
			return nil, err
		}
	} else if o.PreEmphasis > 0 {
		x = make([]float64, len(samples)) // pre-emphasis works in place
		copy(x, samples)
	}
	if len(x) < frameLen {
		return nil, inputErrorf("signal of %d samples at %d Hz is shorter than one %g s MFCC frame", len(samples), sampleRate, o.FrameSeconds)
	}
	if a := o.PreEmphasis; a > 0 {
		for n := len(x) - 1; n > 0; n-- {
			x[n] -= a * x[n-1]
		}
	}
	bank, err := newMelFilterBank(o)
	if err != nil {
		return nil, err
	}

	frames := 1 + (len(x)-frameLen)/hop
	window := hammingWindow(frameLen)
	dct := dctIIOrtho(o.Filters, o.Coefficients)
	lifter := make([]float64, o.Coefficients)
	for k := range lifter {
		lifter[k] = 1
		if o.Lifter > 0 {
			lifter[k] = 1 + o.Lifter/2*math.Sin(math.Pi*float64(k)/o.Lifter)
		}
	}
	fft := fourier.NewFFT(o.FFTSize)
	buf := make([]float64, o.FFTSize)
	spec := make([]complex128, o.FFTSize/2+1)
	power := make([]float64, len(spec))
	logE := make([]float64, o.Filters)
	a := &mfccAnalysis{opt: o, coeffs: mat.NewDense(frames, o.Coefficients, nil), energy: make([]float64, frames)}
	invN := 1 / float64(o.FFTSize)
	for t := range frames {
		frame := x[t*hop : t*hop+frameLen]
		for i, v := range frame {
			buf[i] = v * window[i]
		}
		// buf[frameLen:] stays zero: the padding.
		fft.Coefficients(spec, buf)
		var total float64
		for k, z := range spec {
			p := (real(z)*real(z) + imag(z)*imag(z)) * invN
			power[k] = p
			total += p
		}
		a.energy[t] = total
		for j, f := range bank {
			var e float64
			for i, w := range f.weights {
				e += w * power[f.first+i]
			}
			logE[j] = math.Log(max(e, o.EnergyFloor))
		}
		row := a.coeffs.RawRowView(t)
		for k := range row {
			var s float64
			for j, l := range logE {
				s += dct[k*o.Filters+j] * l
			}
			row[k] = s * lifter[k]
		}
		// Finite samples so large that their power overflows would turn
		// into infinite or NaN features, which no model can use.
		if math.IsInf(total, 0) || math.IsNaN(total) {
			return nil, inputErrorf("signal too loud for MFCC: the power of frame %d overflows (samples are expected in [-1, 1])", t)
		}
	}
	return a, nil
}

// melFilter is one triangular filter: weights for bins first, first+1, ….
type melFilter struct {
	first   int
	weights []float64
}

// hzToMel and melToHz convert with the HTK formula m = 2595·log₁₀(1 + f/700).
func hzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }
func melToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// newMelFilterBank builds the triangular filters of MFCC's step 5, each
// holding only its nonzero span of bins.
func newMelFilterBank(o MFCCOptions) ([]melFilter, error) {
	m := o.Filters
	lo, hi := hzToMel(o.MinFreq), hzToMel(o.MaxFreq)
	edges := make([]float64, m+2)
	for i := range edges {
		edges[i] = melToHz(lo + (hi-lo)*float64(i)/float64(m+1))
	}
	binHz := float64(o.SampleRate) / float64(o.FFTSize)
	bins := o.FFTSize/2 + 1
	bank := make([]melFilter, m)
	for j := range bank {
		left, centre, right := edges[j], edges[j+1], edges[j+2]
		f := melFilter{first: -1}
		for k := int(left / binHz); k < bins && float64(k)*binHz < right; k++ {
			fk := float64(k) * binHz
			w := max(0, min((fk-left)/(centre-left), (right-fk)/(right-centre)))
			if w == 0 {
				if f.first >= 0 {
					break
				}
				continue
			}
			if f.first < 0 {
				f.first = k
			}
			f.weights = append(f.weights, w)
		}
		if f.first < 0 {
			return nil, inputErrorf("MFCC mel filter %d (%.1f to %.1f Hz) covers no FFT bin: %d filters between %g and %g Hz are too narrow for %d-point FFT bins %.1f Hz apart",
				j, left, right, m, o.MinFreq, o.MaxFreq, o.FFTSize, binHz)
		}
		bank[j] = f
	}
	return bank, nil
}

// hammingWindow is the symmetric Hamming window of length n ≥ 2 (numpy's
// hamming).
func hammingWindow(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(n-1))
	}
	return w
}

// dctIIOrtho returns the first k rows of the m×m orthonormal DCT-II
// matrix, row-major: D[k][j] = sₖ·cos(πk(2j+1)/(2m)).
func dctIIOrtho(m, k int) []float64 {
	d := make([]float64, k*m)
	for r := range k {
		s := math.Sqrt(2 / float64(m))
		if r == 0 {
			s = math.Sqrt(1 / float64(m))
		}
		for j := range m {
			d[r*m+j] = s * math.Cos(math.Pi*float64(r)*float64(2*j+1)/float64(2*m))
		}
	}
	return d
}

// trimSilence returns the first and last frames whose energy is within
// trimDB decibels of the loudest; all frames when trimDB is negative or
// the signal is silent.
func trimSilence(energy []float64, trimDB float64) (first, last int) {
	first, last = 0, len(energy)-1
	peak := 0.0
	for _, e := range energy {
		peak = max(peak, e)
	}
	if trimDB < 0 || peak == 0 {
		return first, last
	}
	threshold := peak * math.Pow(10, -trimDB/10)
	for energy[first] < threshold {
		first++
	}
	for energy[last] < threshold {
		last--
	}
	return first, last
}

// mfccDeltas applies the ±2-frame regression formula to each column of c.
func mfccDeltas(c *mat.Dense) *mat.Dense {
	const width = 2
	t, k := c.Dims()
	d := mat.NewDense(t, k, nil)
	at := func(i, j int) float64 { return c.At(max(0, min(t-1, i)), j) }
	for i := range t {
		for j := range k {
			var s float64
			for n := 1; n <= width; n++ {
				s += float64(n) * (at(i+n, j) - at(i-n, j))
			}
			d.Set(i, j, s/10) // 2·(1² + 2²)
		}
	}
	return d
}

// poolColumns writes the mean and population standard deviation of each
// column of m into mean and std.
func poolColumns(m *mat.Dense, mean, std []float64) {
	t, k := m.Dims()
	for j := range k {
		var s float64
		for i := range t {
			s += m.At(i, j)
		}
		mu := s / float64(t)
		var ss float64
		for i := range t {
			d := m.At(i, j) - mu
			ss += d * d
		}
		mean[j], std[j] = mu, math.Sqrt(ss/float64(t))
	}
}

// Resampling constants: a Kaiser-windowed sinc with resampleZeros zero
// crossings on each side and β = resampleBeta has stopband attenuation of
// about 86 dB and a transition band about ±9% of the cutoff wide; putting
// the cutoff at resampleRolloff of the lower Nyquist frequency keeps the
// transition band mostly below it, so little aliases. The kernel is
// tabulated at resampleTableRes points per zero crossing and linearly
// interpolated (error below 5e-6 of the peak, about −106 dB).
const (
	resampleZeros    = 32
	resampleBeta     = 8.6
	resampleRolloff  = 0.95
	resampleTableRes = 512
)

// resampleKernel is the table of k(u) = sinc(u)·I₀(β√(1−(u/Z)²))/I₀(β) at
// u = i/resampleTableRes, i = 0…Z·resampleTableRes, plus a trailing zero
// for interpolation. It is computed once and never changes.
var resampleKernel = sync.OnceValue(func() []float64 {
	n := resampleZeros * resampleTableRes
	table := make([]float64, n+2)
	i0Beta := besselI0(resampleBeta)
	for i := 0; i <= n; i++ {
		u := float64(i) / resampleTableRes
		r := u / resampleZeros
		table[i] = sinc(u) * besselI0(resampleBeta*math.Sqrt(max(0, 1-r*r))) / i0Beta
	}
	return table
})

func sinc(u float64) float64 {
	if u == 0 {
		return 1
	}
	return math.Sin(math.Pi*u) / (math.Pi * u)
}

// besselI0 is the modified Bessel function of the first kind of order 0,
// by its power series Σ ((x/2)ᵏ/k!)², which converges fast for the small
// arguments of a Kaiser window.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 500; k++ {
		term *= x / (2 * float64(k))
		t2 := term * term
		sum += t2
		if t2 < sum*1e-17 {
			break
		}
	}
	return sum
}

// Resample converts a signal sampled at fromRate Hz to toRate Hz by
// band-limited (windowed-sinc) interpolation: output sample m, at input
// time t = m·fromRate/toRate (in input samples), is
//
//	y[m] = Σₙ x[n]·c·k(c·(t−n)),  c = 0.95·min(1, toRate/fromRate)
//
// over the input samples within 32/c of t, where k(u) is the sinc
// function windowed by a Kaiser window (β = 8.6) that reaches zero at
// |u| = 32 (the 32nd zero crossing), and samples outside the signal count
// as zero. The scaling by c makes the filter a low-pass with unit gain
// and cutoff at 0.95 of the lower rate's Nyquist frequency, so that when
// downsampling frequencies the new rate cannot represent are removed
// rather than aliased, and when upsampling the interpolation adds no
// images. It is the method of resampy and of libsamplerate's sinc
// converters; see Smith, "Digital Audio Resampling", ccrma.stanford.edu.
//
// The output has ⌈len(samples)·toRate/fromRate⌉ samples; it is a new
// slice even when the rates are equal. Resample returns an *InputError if
// a rate is below 1.
func Resample(samples []float64, fromRate, toRate int) ([]float64, error) {
	if fromRate < 1 || toRate < 1 {
		return nil, inputErrorf("resample from %d Hz to %d Hz: sample rates must be positive", fromRate, toRate)
	}
	if fromRate == toRate {
		return append([]float64(nil), samples...), nil
	}
	from, to := int64(fromRate), int64(toRate)
	outLen := (int64(len(samples))*to + from - 1) / from
	out := make([]float64, outLen)
	table := resampleKernel()
	c := resampleRolloff * min(1, float64(toRate)/float64(fromRate))
	reach := int64(math.Ceil(resampleZeros / c)) // input samples either side
	limit := float64(resampleZeros * resampleTableRes)
	n := int64(len(samples))
	for m := range out {
		num := int64(m) * from
		n0 := num / to
		frac := float64(num%to) / float64(to) // t = n0 + frac
		var sum float64
		for i := max(0, n0-reach); i <= min(n-1, n0+reach); i++ {
			pos := math.Abs(float64(n0-i)+frac) * c * resampleTableRes
			if pos >= limit {
				continue
			}
			j := int(pos)
			w := pos - float64(j)
			sum += samples[i] * (table[j] + w*(table[j+1]-table[j]))
		}
		out[m] = c * sum
	}
	return out, nil
}
