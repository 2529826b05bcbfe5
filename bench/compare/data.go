package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// dataFile is one generated dataset: rows × features numeric features and
// a target made by label from the row's features and a noise draw.
type dataFile struct {
	name     string
	rows     int
	features int
	seed     uint64
	// label returns the target cell for features x (noise: a standard
	// normal draw of the row's own).
	label func(x []float64, noise float64) string
}

// weights are the fixed coefficients that the targets are made from.
var weights = func() [][]float64 {
	rng := rand.New(rand.NewPCG(7, 7))
	w := make([][]float64, 3)
	for k := range w {
		w[k] = make([]float64, 20)
		for j := range w[k] {
			w[k][j] = rng.NormFloat64()
		}
	}
	return w
}()

func dot(w, x []float64) float64 {
	s := 0.0
	for j, v := range x {
		s += w[j] * v
	}
	return s
}

func number(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// dataFiles lists what the comparison reads; scale divides the row
// counts (-quick).
func dataFiles(scale int) []dataFile {
	regression := func(x []float64, noise float64) string { return number(dot(weights[0], x) + 0.5*noise) }
	return []dataFile{
		// The import benchmark: as numpy's loadtxt reads it.
		{name: "import_1m.csv", rows: 1_000_000 / scale, features: 20, seed: 1, label: regression},
		{name: "ols_800k.csv", rows: 800_000 / scale, features: 20, seed: 2, label: regression},
		{name: "logistic_160k.csv", rows: 160_000 / scale, features: 20, seed: 3, label: func(x []float64, noise float64) string {
			// P(c1) = σ(w·x/2), drawn with a logistic variate from the noise.
			u := 0.5 * (1 + math.Erf(noise/math.Sqrt2))
			if u < 1/(1+math.Exp(-dot(weights[0], x)/2)) {
				return "c1"
			}
			return "c0"
		}},
		// Some non-linearity, so that trees and networks have work to do.
		{name: "reg_200k.csv", rows: 200_000 / scale, features: 20, seed: 4, label: func(x []float64, noise float64) string {
			return number(dot(weights[0], x) + 3*math.Sin(2*x[0]) + 2*x[1]*x[2] + noise)
		}},
		{name: "cls_200k.csv", rows: 200_000 / scale, features: 20, seed: 5, label: func(x []float64, noise float64) string {
			best, arg := math.Inf(-1), 0
			for k, w := range weights {
				s := dot(w, x) + 2*math.Sin(2*x[k]) + noise*float64(k-1)
				if s > best {
					best, arg = s, k
				}
			}
			return fmt.Sprintf("c%d", arg)
		}},
	}
}

// ensure writes the file into dir unless a complete one is there: the
// same seed always gives the same bytes.
func (d dataFile) ensure(dir string) (string, error) {
	path := filepath.Join(dir, d.name)
	done := path + ".done"
	if _, err := os.Stat(done); err == nil {
		return path, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for j := range d.features {
		fmt.Fprintf(w, "f%d,", j)
	}
	w.WriteString("target\n")
	rng := rand.New(rand.NewPCG(d.seed, 2024))
	x := make([]float64, d.features)
	buf := make([]byte, 0, 512)
	for range d.rows {
		buf = buf[:0]
		for j := range x {
			x[j] = rng.NormFloat64()
			buf = strconv.AppendFloat(buf, x[j], 'g', -1, 64)
			buf = append(buf, ',')
		}
		buf = append(buf, d.label(x, rng.NormFloat64())...)
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.WriteFile(done, nil, 0o644)
}
