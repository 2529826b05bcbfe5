#!/usr/bin/python3
"""Reference MFCCs for ml/mfcc_test.go, computed with numpy and scipy.

An independent implementation of the steps that ml.MFCC, ml.MFCCFeatures
and ml.Resample document (the steps of python_speech_features' mfcc, with
a Hamming window and triangles evaluated at each bin's exact frequency),
run on a deterministic synthetic signal: a chirp plus two tones under a
trapezoidal envelope, over low-level noise from an integer LCG (so that
Go and Python generate the same samples without sharing a random number
generator). The DCT is scipy's dct(type=2, norm="ortho") and the FFT
numpy's rfft, so the Go code is checked against other implementations of
both.

    /usr/bin/python3 bench/speech/mfcc_reference.py ml/testdata/mfcc_reference.json

Needs numpy and scipy (Debian: python3-numpy python3-scipy).
"""

import json
import math
import sys

import numpy as np
import scipy.fft

# Defaults of ml.MFCCOptions.
DEFAULTS = dict(SampleRate=16000, FrameSeconds=0.025, HopSeconds=0.010,
                PreEmphasis=0.97, Filters=26, Coefficients=13, Lifter=22.0,
                MinFreq=0.0, EnergyFloor=1e-10, TrimDB=40.0)

# Resampling constants of ml.Resample.
ZEROS, BETA, ROLLOFF, TABLE_RES = 32, 8.6, 0.95, 512


def synthetic_signal(rate, n):
    """The test signal, as ml/mfcc_test.go's syntheticSignal makes it."""
    i = np.arange(n)
    t = i / rate
    # Trapezoid: silent, 50 ms ramp up at 0.1 s, full, ramp down to 0 at 0.5 s.
    env = np.clip(np.minimum((t - 0.1) / 0.05, (0.5 - t) / 0.05), 0, 1)
    f0, f1, dur = 200.0, 4000.0, 0.6
    chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * dur) * t * t))
    tones = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t)
    noise = np.empty(n)
    s = 12345
    for k in range(n):
        s = (1103515245 * s + 12345) % (1 << 31)
        noise[k] = s / (1 << 31) - 0.5
    return env * (0.5 * chirp + tones) + 0.002 * noise


def resample_kernel():
    u = np.arange(ZEROS * TABLE_RES + 1) / TABLE_RES
    r = u / ZEROS
    table = np.sinc(u) * np.i0(BETA * np.sqrt(np.maximum(0, 1 - r * r))) / np.i0(BETA)
    return np.append(table, [0.0])


def resample(x, from_rate, to_rate):
    if from_rate == to_rate:
        return x.copy()
    table = resample_kernel()
    n = len(x)
    out_len = (n * to_rate + from_rate - 1) // from_rate
    c = ROLLOFF * min(1.0, to_rate / from_rate)
    reach = math.ceil(ZEROS / c)
    limit = ZEROS * TABLE_RES
    out = np.empty(out_len)
    for m in range(out_len):
        num = m * from_rate
        n0, frac = num // to_rate, (num % to_rate) / to_rate
        idx = np.arange(max(0, n0 - reach), min(n - 1, n0 + reach) + 1)
        pos = np.abs((n0 - idx).astype(float) + frac) * c * TABLE_RES
        keep = pos < limit
        idx, pos = idx[keep], pos[keep]
        j = np.floor(pos).astype(int)
        w = pos - j
        h = table[j] + w * (table[j + 1] - table[j])
        out[m] = c * np.dot(x[idx], h)
    return out


def resolve(opt):
    o = dict(DEFAULTS)
    o.update(opt)
    fs = o["SampleRate"]
    frame = int(round(o["FrameSeconds"] * fs))
    if "FFTSize" not in o:
        o["FFTSize"] = 1 << (frame - 1).bit_length()
    o.setdefault("MaxFreq", fs / 2)
    return o


def hz_to_mel(f):
    return 2595 * np.log10(1 + f / 700)


def mel_to_hz(m):
    return 700 * (10 ** (m / 2595) - 1)


def mel_filter_bank(o):
    m, nfft, fs = o["Filters"], o["FFTSize"], o["SampleRate"]
    lo, hi = hz_to_mel(o["MinFreq"]), hz_to_mel(o["MaxFreq"])
    edges = mel_to_hz(lo + (hi - lo) * np.arange(m + 2) / (m + 1))
    f = np.arange(nfft // 2 + 1) * (fs / nfft)
    bank = np.zeros((m, len(f)))
    for j in range(m):
        left, centre, right = edges[j], edges[j + 1], edges[j + 2]
        bank[j] = np.maximum(0, np.minimum((f - left) / (centre - left), (right - f) / (right - centre)))
    assert (bank.sum(axis=1) > 0).all()
    return bank


def analyse(x, rate, opt):
    """Returns (MFCC matrix T×K, frame energies, resampled signal)."""
    o = resolve(opt)
    fs = o["SampleRate"]
    y = resample(x, rate, fs)
    resampled = y.copy()
    if o["PreEmphasis"] > 0:
        y = np.append(y[0], y[1:] - o["PreEmphasis"] * y[:-1])
    frame = int(round(o["FrameSeconds"] * fs))
    hop = int(round(o["HopSeconds"] * fs))
    nfft = o["FFTSize"]
    count = 1 + (len(y) - frame) // hop
    frames = np.stack([y[t * hop:t * hop + frame] for t in range(count)]) * np.hamming(frame)
    power = np.abs(np.fft.rfft(frames, nfft)) ** 2 / nfft
    energy = power.sum(axis=1)
    log_e = np.log(np.maximum(power @ mel_filter_bank(o).T, o["EnergyFloor"]))
    c = scipy.fft.dct(log_e, type=2, norm="ortho", axis=1)[:, :o["Coefficients"]]
    if o["Lifter"] > 0:
        k = np.arange(o["Coefficients"])
        c = c * (1 + o["Lifter"] / 2 * np.sin(np.pi * k / o["Lifter"]))
    return o, c, energy, resampled


def features(o, c, energy):
    """The pooled vector of ml.MFCCFeatures."""
    first, last = 0, len(energy) - 1
    if o["TrimDB"] >= 0 and energy.max() > 0:
        threshold = energy.max() * 10 ** (-o["TrimDB"] / 10)
        loud = np.nonzero(energy >= threshold)[0]
        first, last = loud[0], loud[-1]
        # The Go test must trim the same frames: no energy may sit so
        # close to the threshold that rounding could move it across.
        margin = np.min(np.abs(energy / threshold - 1))
        assert margin > 1e-6, margin
    c = c[first:last + 1]
    padded = np.pad(c, ((2, 2), (0, 0)), mode="edge")
    t = len(c)
    d = sum(n * (padded[2 + n:2 + n + t] - padded[2 - n:2 - n + t]) for n in (1, 2)) / 10
    return np.concatenate([c.mean(0), c.std(0), d.mean(0), d.std(0)]), int(first), int(last)


CASES = [
    # Already at the analysis rate: no resampling.
    dict(name="default options, 16 kHz input", rate=16000, options={}),
    # Downsampling by 320/441, as for espeak-ng's output.
    dict(name="default options, 22.05 kHz input", rate=22050, options={}),
    # Upsampling.
    dict(name="default options, 8 kHz input", rate=8000, options={}),
    # Every option set away from its default, with downsampling.
    dict(name="custom options, 11.025 kHz input", rate=11025, options=dict(
        SampleRate=8000, FrameSeconds=0.032, HopSeconds=0.016, PreEmphasis=-1,
        FFTSize=512, Filters=40, Coefficients=20, Lifter=-1, MinFreq=100,
        MaxFreq=3800, EnergyFloor=1e-8, TrimDB=30)),
]

SECONDS = 0.6
RESAMPLED_STRIDE = 97  # every 97th resampled sample goes in the file


def main():
    out = dict(
        generator="bench/speech/mfcc_reference.py",
        numpy=np.__version__,
        scipy=__import__("scipy").__version__,
        seconds=SECONDS,
        resampledStride=RESAMPLED_STRIDE,
        cases=[],
    )
    for case in CASES:
        n = int(round(SECONDS * case["rate"]))
        x = synthetic_signal(case["rate"], n)
        o, c, energy, resampled = analyse(x, case["rate"], case["options"])
        vec, first, last = features(o, c, energy)
        out["cases"].append(dict(
            name=case["name"],
            rate=case["rate"],
            samples=n,
            options=case["options"],
            resampledLength=len(resampled),
            resampled=resampled[::RESAMPLED_STRIDE].tolist(),
            mfcc=c.tolist(),
            trimmedFrames=[first, last],
            features=vec.tolist(),
        ))
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
