// Command digits builds a spoken-digits dataset with Debian's espeak-ng:
// the words "zero" to "nine" rendered by many voices (an English voice
// plus a voice variant), speeds and pitches, written as a zip with one
// folder per label inside train/ and test/:
//
//	train/seven/en-us+f2_s163_p41_0.wav
//	test/seven/en-gb-x-rp+klatt3_s140_p66_1.wav
//
// The split is by voice variant: the variants of the test set are never
// heard in training, under any English voice, so the test accuracy is an
// accuracy on unseen speakers (and, a fortiori, on unseen voice+variant
// combinations). The English voices themselves (accents) appear on both
// sides unless -test-voices holds some out too. Everything is drawn from -seed, and espeak-ng's output is
// deterministic, so a run is reproducible.
//
// The full dataset (2020 files, 33 MB):
//
//	go run ./bench/speech/digits -out /tmp/spoken-digits.zip
//
// The small fixture committed as testdata/spoken_digits_small.zip: 6
// training and 3 test variants, one rendering of each digit each, at
// 8 kHz:
//
//	go run ./bench/speech/digits -out testdata/spoken_digits_small.zip \
//	    -train-variants 6 -test-variants 3 -per-variant 1 -rate 8000
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"mlgraph/internal/audio"
	"mlgraph/ml"
)

// digits are the words spoken, which are also the labels.
var digits = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

type options struct {
	out           string
	seed          uint64
	perVariant    int
	testFraction  float64
	trainVariants int
	testVariants  int
	testVoices    int
	rate          int
	minSpeed      int
	maxSpeed      int
	minPitch      int
	maxPitch      int
	workers       int
	espeak        string
}

// rendering is one file of the dataset.
type rendering struct {
	split, word    string
	voice, variant string
	speed, pitch   int
	take           int // index among the renderings of this word by this variant
}

func (r rendering) path() string {
	name := fmt.Sprintf("%s+%s_s%d_p%d_%d.wav", r.voice, strings.ReplaceAll(r.variant, " ", "-"), r.speed, r.pitch, r.take)
	return r.split + "/" + r.word + "/" + name
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "zip file to write (required)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of every random choice")
	flag.IntVar(&o.perVariant, "per-variant", 2, "renderings of each digit by each variant, each with a random English voice, speed and pitch")
	flag.Float64Var(&o.testFraction, "test-fraction", 0.25, "fraction of the variants held out for the test set")
	flag.IntVar(&o.trainVariants, "train-variants", 0, "use only this many training variants (0: all the others)")
	flag.IntVar(&o.testVariants, "test-variants", 0, "use exactly this many test variants (0: -test-fraction of them)")
	flag.IntVar(&o.testVoices, "test-voices", 0, "also hold out this many English voices (accents) for the test set (0: every voice on both sides)")
	flag.IntVar(&o.rate, "rate", 0, "resample to this rate in Hz and write 16-bit PCM (0: keep espeak-ng's 22050 Hz files as they are)")
	flag.IntVar(&o.minSpeed, "min-speed", 120, "slowest speed, words per minute")
	flag.IntVar(&o.maxSpeed, "max-speed", 220, "fastest speed, words per minute")
	flag.IntVar(&o.minPitch, "min-pitch", 20, "lowest pitch, 0 to 99")
	flag.IntVar(&o.maxPitch, "max-pitch", 80, "highest pitch, 0 to 99")
	flag.IntVar(&o.workers, "workers", 2, "espeak-ng processes at a time")
	flag.StringVar(&o.espeak, "espeak", "espeak-ng", "espeak-ng program")
	flag.Parse()
	if o.out == "" || flag.NArg() > 0 || o.perVariant < 1 || o.workers < 1 ||
		o.testFraction <= 0 || o.testFraction >= 1 || o.trainVariants < 0 || o.testVariants < 0 || o.testVoices < 0 ||
		o.minSpeed < 80 || o.maxSpeed < o.minSpeed || o.minPitch < 0 || o.maxPitch > 99 || o.maxPitch < o.minPitch || o.rate < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), o); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	voices, err := listVoices(ctx, o.espeak, "en")
	if err != nil {
		return err
	}
	variants, err := listVoices(ctx, o.espeak, "variant")
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x5350454543480000))
	rng.Shuffle(len(variants), func(i, j int) { variants[i], variants[j] = variants[j], variants[i] })
	nTest := o.testVariants
	if nTest == 0 {
		nTest = int(float64(len(variants))*o.testFraction + 0.5)
	}
	if nTest < 1 || nTest >= len(variants) {
		return fmt.Errorf("%d test variants of %d: need at least one on each side", nTest, len(variants))
	}
	testVariants, trainVariants := variants[:nTest], variants[nTest:]
	if o.trainVariants > 0 {
		trainVariants = trainVariants[:min(o.trainVariants, len(trainVariants))]
	}
	trainVoices, testVoices := voices, voices
	if o.testVoices > 0 {
		if o.testVoices >= len(voices) {
			return fmt.Errorf("%d test voices of %d: need at least one on each side", o.testVoices, len(voices))
		}
		rng.Shuffle(len(voices), func(i, j int) { voices[i], voices[j] = voices[j], voices[i] })
		testVoices, trainVoices = voices[:o.testVoices], voices[o.testVoices:]
	}
	fmt.Printf("training English voices (%d): %s\n", len(trainVoices), strings.Join(trainVoices, " "))
	fmt.Printf("test English voices (%d): %s\n", len(testVoices), strings.Join(testVoices, " "))
	fmt.Printf("training variants (%d): %s\n", len(trainVariants), strings.Join(trainVariants, " "))
	fmt.Printf("test variants (%d): %s\n", len(testVariants), strings.Join(testVariants, " "))

	var plan []rendering
	for _, side := range []struct {
		split            string
		voices, variants []string
	}{{"train", trainVoices, trainVariants}, {"test", testVoices, testVariants}} {
		for _, variant := range side.variants {
			for _, word := range digits {
				for take := range o.perVariant {
					plan = append(plan, rendering{
						split: side.split, word: word, variant: variant, take: take,
						voice: side.voices[rng.IntN(len(side.voices))],
						speed: o.minSpeed + rng.IntN(o.maxSpeed-o.minSpeed+1),
						pitch: o.minPitch + rng.IntN(o.maxPitch-o.minPitch+1),
					})
				}
			}
		}
	}

	tmp, err := os.MkdirTemp("", "spoken-digits-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files, err := renderAll(ctx, o, tmp, plan)
	if err != nil {
		return err
	}
	written, err := writeZip(o.out, plan, files)
	if err != nil {
		return err
	}

	counts := map[string]int{}
	var audioBytes int
	for i, r := range plan {
		counts[r.split]++
		audioBytes += len(files[i])
	}
	fmt.Printf("wrote %s: %d files (train %d, test %d; %d per digit per variant), %.1f MB of WAV in %.1f MB of zip, in %s\n",
		o.out, len(plan), counts["train"], counts["test"], o.perVariant,
		float64(audioBytes)/1e6, float64(written)/1e6, time.Since(start).Round(time.Second))
	return nil
}

// listVoices returns the voices espeak-ng lists for a language ("en") or
// the voice variants ("variant"), by the name -v takes: the language code
// of an English voice, the file name of a variant. MBROLA voices are left
// out: they need the mbrola program and voice data, which Debian packages
// separately.
func listVoices(ctx context.Context, espeak, which string) ([]string, error) {
	out, err := exec.CommandContext(ctx, espeak, "--voices="+which).Output()
	if err != nil {
		return nil, fmt.Errorf("list espeak-ng voices (%s --voices=%s): %w", espeak, which, err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Scan() // header
	for sc.Scan() {
		// Pty Language Age/Gender VoiceName File [Other languages]; a
		// variant's file is "!v/name" and the name may contain a space.
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		var name string
		switch {
		case which == "variant" && fields[1] == "variant":
			_, file, ok := strings.Cut(sc.Text(), "!v/")
			if !ok {
				continue
			}
			// Drop the "(en-us 5)" style language list after the name.
			name = strings.TrimSpace(file)
			if i := strings.Index(name, "  "); i >= 0 {
				name = name[:i]
			}
			if i := strings.Index(name, " ("); i >= 0 {
				name = name[:i]
			}
		case which != "variant" && strings.HasPrefix(fields[4], "gmw/"):
			name = fields[1]
		default:
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if len(names) < 2 {
		return nil, fmt.Errorf("espeak-ng lists %d %s voices; need at least 2", len(names), which)
	}
	slices.Sort(names)
	return names, nil
}

// renderAll runs espeak-ng for every rendering, o.workers at a time, and
// returns the WAV files' contents in plan order.
func renderAll(ctx context.Context, o options, dir string, plan []rendering) ([][]byte, error) {
	files := make([][]byte, len(plan))
	jobs := make(chan int)
	errs := make(chan error, o.workers)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for i := range jobs {
				wav, err := render(ctx, o, dir, i, plan[i])
				if err != nil {
					errs <- err
					for range jobs { // drain so the sender finishes
					}
					return
				}
				files[i] = wav
			}
		})
	}
	for i := range plan {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return nil, err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
		return files, nil
	}
}

func render(ctx context.Context, o options, dir string, i int, r rendering) ([]byte, error) {
	path := filepath.Join(dir, fmt.Sprintf("%d.wav", i))
	cmd := exec.CommandContext(ctx, o.espeak, "-v", r.voice+"+"+r.variant,
		"-s", fmt.Sprint(r.speed), "-p", fmt.Sprint(r.pitch), "-w", path, r.word)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("render %s: %w: %s", r.path(), err, out)
	}
	wav, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	os.Remove(path)
	samples, rate, err := audio.Decode(bytes.NewReader(wav))
	if err != nil {
		return nil, fmt.Errorf("render %s: espeak-ng wrote an unreadable WAV: %w", r.path(), err)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("render %s: espeak-ng wrote no audio", r.path())
	}
	if o.rate == 0 || o.rate == rate {
		return wav, nil
	}
	resampled, err := ml.Resample(samples, rate, o.rate)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", r.path(), err)
	}
	var buf bytes.Buffer
	if err := audio.EncodePCM16(&buf, resampled, o.rate); err != nil {
		return nil, fmt.Errorf("render %s: %w", r.path(), err)
	}
	return buf.Bytes(), nil
}

// writeZip writes the files, deflated at the best compression, with a fixed modification time so
// that the same plan gives the same bytes. It returns the zip's size.
func writeZip(path string, plan []rendering, files [][]byte) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	modified := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range plan {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.path(), Method: zip.Deflate, Modified: modified})
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(files[i]); err != nil {
			return 0, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), f.Close()
}
