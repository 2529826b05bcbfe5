// Command compare measures mlgraph beside scikit-learn and a Flask server
// on the same machine and prints the ratios that the performance targets
// are set in:
//
//   - dataset import of a 1,000,000 × 20 numeric CSV against numpy's
//     loadtxt of the same file, and its peak memory against the data's
//     float64 size;
//   - fit times (specs.json: OLS on 800k × 20, scaled logistic regression
//     on 160k × 20, and every algorithm on 200k-row synthetic sets)
//     against scikit-learn's fit of the same model;
//   - predictions through GraphQL against the Flask + scikit-learn
//     /predict under gunicorn (2 workers) and a bare net/http handler, 16
//     connections on loopback, one and 100 rows per request.
//
// The data is generated with fixed seeds into -dir (kept for the next
// run). The reference side (reference.py, flask_app.py) needs Debian's
// python3-sklearn, python3-flask and gunicorn; without them the table
// says so, and with -reference=published it uses the figures measured for
// the performance issue on the same kind of machine instead.
//
//	go run ./bench/compare                       # everything: ~20 min on 2 cores
//	go run ./bench/compare -quick                # 1/10 of the rows, short loads
//	go run ./bench/compare -only predict -duration 10s
//	go run ./bench/compare -only fits -fits ols_800k,logistic_160k
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"
)

// published are the reference figures of the performance issue: scikit-learn
// 1.2.1 / numpy (OpenBLAS), gunicorn 2 workers, a 2-core machine.
var published = reference{
	Import: &importResult{Seconds: 8.5},
	Fits: map[string]fitResult{
		"ols_800k":      {FitS: 1.07},
		"logistic_160k": {FitS: 0.49},
	},
}

// reference is what reference.py prints.
type reference struct {
	Env    map[string]any       `json:"env"`
	Import *importResult        `json:"import"`
	Fits   map[string]fitResult `json:"fits"`
	source string
}

type options struct {
	dir, only, fits, refMode, jsonOut string
	cpuProfile                        string
	quick                             bool
	runs, conns                       int
	duration                          time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "mlgraph-compare"), "where the generated data is kept")
	flag.BoolVar(&o.quick, "quick", false, "1/10 of the rows and 3 s loads: a quick look, not the figures")
	flag.StringVar(&o.only, "only", "import,fits,predict", "which parts to run")
	flag.StringVar(&o.fits, "fits", "", "comma-separated spec names to fit (default: all of specs.json)")
	flag.StringVar(&o.refMode, "reference", "auto", "auto: run reference.py and Flask if installed; published: the issue's figures; off; or a file: the scikit-learn figures of an earlier run's -json output (Flask still runs)")
	flag.IntVar(&o.runs, "runs", 3, "fits per spec (the median counts)")
	flag.IntVar(&o.conns, "connections", 16, "concurrent connections of the prediction load")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each prediction load")
	flag.StringVar(&o.jsonOut, "json", "", "also write every figure to this JSON file")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of mlgraph's fits to this file (go tool pprof)")
	importChildPath := flag.String("import-child", "", "internal: import this CSV and print the figures")
	importDB := flag.String("import-db", "", "internal: the import child's database folder")
	flag.Parse()
	if *importChildPath != "" {
		if err := importChild(*importChildPath, *importDB); err != nil {
			log.Fatal(err)
		}
		return
	}
	if _, err := os.Stat("bench/compare/specs.json"); err != nil {
		log.Fatal("run from the repository's root: go run ./bench/compare")
	}
	if o.quick {
		o.duration = 3 * time.Second
		o.runs = 1
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

type report struct {
	Machine   map[string]any       `json:"machine"`
	Import    *importResult        `json:"import,omitempty"`
	Fits      map[string]fitResult `json:"fits,omitempty"`
	Reference *reference           `json:"reference,omitempty"`
	Loads     []loadResult         `json:"loads,omitempty"`
	Notes     []string             `json:"notes,omitempty"`
}

func run(o options) error {
	ctx := context.Background()
	scale, sub := 1, "full"
	if o.quick {
		scale, sub = 10, "quick"
	}
	dir := filepath.Join(o.dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	parts := map[string]bool{}
	for _, p := range strings.Split(o.only, ",") {
		parts[strings.TrimSpace(p)] = true
	}
	rep := &report{Machine: map[string]any{"cpus": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH}}
	if parts["import"] || parts["fits"] {
		step("generating data into %s (once; fixed seeds)", dir)
		for _, f := range dataFiles(scale) {
			if _, err := f.ensure(dir); err != nil {
				return err
			}
		}
	}
	specs, err := loadSpecs("bench/compare/specs.json")
	if err != nil {
		return err
	}
	if o.fits != "" {
		var keep []fitSpec
		for _, s := range specs {
			if strings.Contains(","+o.fits+",", ","+s.Name+",") {
				keep = append(keep, s)
			}
		}
		specs = keep
	}
	if parts["import"] {
		step("mlgraph: importing import_1m.csv (CSV → stored in SQLite, ready to train)")
		r, err := measureImport(filepath.Join(dir, "import_1m.csv"))
		if err != nil {
			return err
		}
		rep.Import = &r
	}
	if parts["fits"] {
		rep.Fits = map[string]fitResult{}
		cache := columnsCache{}
		for _, s := range specs {
			if _, err := cache.load(dir, s.File); err != nil { // parsed before the profile starts
				return err
			}
		}
		if o.cpuProfile != "" {
			f, err := os.Create(o.cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer f.Close()
		}
		for _, s := range specs {
			step("mlgraph: fitting %s (%s)", s.Name, s.Algorithm)
			rep.Fits[s.Name] = runFit(ctx, dir, cache, s, o.runs)
		}
		pprof.StopCPUProfile()
	}
	rep.Reference = runReference(o, dir, parts, specs, rep)
	if parts["predict"] {
		loads, notes, err := runPredict(ctx, o)
		if err != nil {
			return err
		}
		rep.Loads, rep.Notes = loads, append(rep.Notes, notes...)
	}
	printReport(os.Stdout, rep, specs, o)
	if o.jsonOut != "" {
		raw, _ := json.MarshalIndent(rep, "", "  ")
		return os.WriteFile(o.jsonOut, raw, 0o644)
	}
	return nil
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "== "+format+"\n", args...)
}

// runReference runs reference.py for the parts asked, or falls back.
func runReference(o options, dir string, parts map[string]bool, specs []fitSpec, rep *report) *reference {
	if !parts["import"] && !parts["fits"] || o.refMode == "off" {
		return nil
	}
	if o.refMode != "auto" && o.refMode != "published" {
		raw, err := os.ReadFile(o.refMode)
		var earlier report
		if err == nil {
			err = json.Unmarshal(raw, &earlier)
		}
		if err == nil && earlier.Reference != nil {
			earlier.Reference.source = "measured earlier, read from " + o.refMode
			return earlier.Reference
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("no reference in %s (%v): using the published figures", o.refMode, err))
	}
	if o.refMode == "auto" {
		if python := findPython(); python != "" {
			args := []string{"bench/compare/reference.py", "--dir", dir, "--runs", fmt.Sprint(o.runs)}
			if !parts["import"] {
				args = append(args, "--skip-import")
			}
			if !parts["fits"] {
				args = append(args, "--skip-fits")
			} else {
				names := make([]string, len(specs))
				for i, s := range specs {
					names[i] = s.Name
				}
				args = append(args, "--only", strings.Join(names, ","))
			}
			step("scikit-learn: %s %s", python, strings.Join(args, " "))
			cmd := exec.Command(python, args...)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			var ref reference
			if err == nil {
				err = json.Unmarshal(out, &ref)
			}
			if err == nil {
				ref.source = "measured in this run"
				return &ref
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("reference.py failed (%v): using the published figures", err))
		} else {
			rep.Notes = append(rep.Notes, "python3 with numpy and scikit-learn not found (apt-get install python3-sklearn): using the published figures")
		}
	}
	ref := published
	ref.source = "the performance issue's published figures"
	return &ref
}

// findPython returns a Python with numpy and scikit-learn: Debian's, which
// its python3-sklearn package serves, before any other python3 on the
// PATH (a pyenv one, say, without them).
func findPython() string {
	for _, python := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(python, "-c", "import numpy, sklearn").Run() == nil {
			return python
		}
	}
	return ""
}

// runPredict loads mlgraph, the bare handler and Flask in turn.
func runPredict(ctx context.Context, o options) ([]loadResult, []string, error) {
	var notes []string
	dir, err := os.MkdirTemp("", "mlgraph-compare-predict-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	iris, err := filepath.Abs("testdata/iris.csv")
	if err != nil {
		return nil, nil, err
	}
	one, err := irisRows(iris, 1)
	if err != nil {
		return nil, nil, err
	}
	hundred, _ := irisRows(iris, 100)
	var loads []loadResult
	measure := func(s *server, scenario, path string, body any, rows int) {
		raw, _ := json.Marshal(body)
		step("load: %s %s, %d connections, %v", s.name, scenario, o.conns, o.duration)
		loads = append(loads, load(ctx, s.name, scenario, s.URL+path, raw, rows, o.conns, o.duration))
	}

	step("starting mlgraph")
	ours, modelID, err := startMlgraph(dir, iris)
	if err != nil {
		return nil, nil, err
	}
	const rowsQuery = `mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows, save: false}) { labels } }`
	const csvQuery = `mutation($id: ID!, $csv: String!) { predict(input: {modelId: $id, csv: $csv, save: false}) { labels } }`
	const packedQuery = `mutation($id: ID!, $packed: String!) { predict(input: {modelId: $id, packed: $packed, save: false}) { labels } }`
	measure(ours, "1 row (rows)", "/query", map[string]any{"query": rowsQuery, "variables": map[string]any{"id": modelID, "rows": one}}, 1)
	measure(ours, "100 rows (csv)", "/query", map[string]any{"query": csvQuery, "variables": map[string]any{"id": modelID, "csv": csvText(hundred)}}, 100)
	measure(ours, "100 rows (packed)", "/query", map[string]any{"query": packedQuery, "variables": map[string]any{"id": modelID, "packed": packed(hundred)}}, 100)
	measure(ours, "100 rows (rows)", "/query", map[string]any{"query": rowsQuery, "variables": map[string]any{"id": modelID, "rows": hundred}}, 100)
	ours.Stop()

	step("starting the bare net/http handler")
	bare, err := startBare(dir, iris)
	if err != nil {
		return nil, nil, err
	}
	measure(bare, "1 row", "/predict", map[string]any{"instances": one}, 1)
	measure(bare, "100 rows", "/predict", map[string]any{"instances": hundred}, 100)
	bare.Stop()

	if o.refMode != "off" && o.refMode != "published" {
		step("starting Flask under gunicorn (2 workers)")
		flask, err := startFlask(dir, iris)
		if err != nil {
			notes = append(notes, "Flask not measured: "+err.Error())
		} else {
			measure(flask, "1 row", "/predict", map[string]any{"instances": one}, 1)
			measure(flask, "100 rows", "/predict", map[string]any{"instances": hundred}, 100)
			flask.Stop()
		}
	}
	return loads, notes, nil
}

// printReport prints the figures and the ratios against the targets.
func printReport(out *os.File, rep *report, specs []fitSpec, o options) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nmachine: %d CPUs, %s, %s", rep.Machine["cpus"], rep.Machine["os"], rep.Machine["go"])
	if rep.Reference != nil {
		fmt.Fprintf(tw, "; reference: %s", rep.Reference.source)
		if v, ok := rep.Reference.Env["sklearn"]; ok {
			fmt.Fprintf(tw, " (scikit-learn %v, numpy %v)", v, rep.Reference.Env["numpy"])
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "\nmeasure\tmlgraph\treference\tratio\ttarget\tmet")
	row := func(name, ours, ref string, ratio float64, target string, met bool, known bool) {
		r, m := "-", "-"
		if known {
			r, m = fmt.Sprintf("%.2f×", ratio), map[bool]string{true: "yes", false: "NO"}[met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, ours, ref, r, target, m)
	}
	if im := rep.Import; im != nil {
		var ref *importResult
		if rep.Reference != nil {
			ref = rep.Reference.Import
		}
		refS, speed, known := "n/a", 0.0, ref != nil && ref.Seconds > 0
		if known {
			refS, speed = fmt.Sprintf("%.2f s (loadtxt)", ref.Seconds), ref.Seconds/im.Seconds
		}
		row(fmt.Sprintf("import %d × 20 CSV: time", im.Rows), fmt.Sprintf("%.2f s", im.Seconds), refS, speed, "≥ 4× faster", speed >= 4, known)
		ratio := im.PeakRSSMB / im.Float64MB
		row("import: peak memory / float64 size", fmt.Sprintf("%.0f MB", im.PeakRSSMB), fmt.Sprintf("%.0f MB float64", im.Float64MB), ratio, "< 2×", ratio < 2, true)
	}
	for _, s := range specs {
		ours, ok := rep.Fits[s.Name]
		if !ok {
			continue
		}
		oursS := fmt.Sprintf("%.3f s", ours.FitS)
		if ours.Err != "" {
			oursS = "error: " + ours.Err
		}
		var ref fitResult
		known := false
		if rep.Reference != nil {
			ref, known = rep.Reference.Fits[s.Name]
			known = known && ref.FitS > 0 && ours.Err == ""
		}
		refS := "n/a"
		if known {
			refS = fmt.Sprintf("%.3f s", ref.FitS)
		}
		target, speed, met := "≤ 2× slower", 0.0, false
		if known {
			speed = ref.FitS / ours.FitS
			switch s.Name {
			case "ols_800k":
				target, met = "≥ 4× faster", speed >= 4
			case "logistic_160k":
				target, met = "faster", speed > 1
			default:
				met = speed >= 0.5
			}
		}
		row(fmt.Sprintf("fit %s (%d rows)", s.Name, ours.Rows), oursS, refS, speed, target, met, known)
	}
	find := func(server, scenario string) *loadResult {
		for i := range rep.Loads {
			if rep.Loads[i].Server == server && rep.Loads[i].Scenario == scenario {
				return &rep.Loads[i]
			}
		}
		return nil
	}
	if len(rep.Loads) > 0 {
		// The headline is the faster compact form (csv or packed): what a
		// client sending 100 rows per request would use; the loads table
		// has both, and rows.
		one, hundred := find("mlgraph", "1 row (rows)"), find("mlgraph", "100 rows (csv)")
		if p := find("mlgraph", "100 rows (packed)"); hundred == nil || p != nil && p.RowsPerSec > hundred.RowsPerSec {
			hundred = p
		}
		flaskOne, flaskHundred := find("flask", "1 row"), find("flask", "100 rows")
		bareOne, bareHundred := find("net/http", "1 row"), find("net/http", "100 rows")
		pubOne, pubHundred := 2600.0, 108_000.0
		if one != nil {
			ref, src := pubOne, "2600 req/s (published)"
			if flaskOne != nil {
				ref, src = flaskOne.ReqPerSec, fmt.Sprintf("%.0f req/s (Flask)", flaskOne.ReqPerSec)
			}
			row("predict 1 row: requests/s", fmt.Sprintf("%.0f req/s", one.ReqPerSec), src, one.ReqPerSec/ref, "≥ 5×", one.ReqPerSec/ref >= 5, true)
		}
		if hundred != nil {
			ref, src := pubHundred, "108000 rows/s (published)"
			if flaskHundred != nil {
				ref, src = flaskHundred.RowsPerSec, fmt.Sprintf("%.0f rows/s (Flask)", flaskHundred.RowsPerSec)
			}
			row("predict 100 rows ("+strings.TrimSuffix(strings.TrimPrefix(hundred.Scenario, "100 rows ("), ")")+"): rows/s", fmt.Sprintf("%.0f rows/s", hundred.RowsPerSec), src, hundred.RowsPerSec/ref, "≥ 10×", hundred.RowsPerSec/ref >= 10, true)
		}
		for _, pair := range []struct {
			name       string
			ours, bare *loadResult
		}{{"p99 1 row vs net/http", one, bareOne}, {"p99 100 rows vs net/http", hundred, bareHundred}} {
			if pair.ours != nil && pair.bare != nil && pair.bare.P99ms > 0 {
				ratio := pair.ours.P99ms / pair.bare.P99ms
				row(pair.name, fmt.Sprintf("%.2f ms", pair.ours.P99ms), fmt.Sprintf("%.2f ms", pair.bare.P99ms), ratio, "≤ 1.5×", ratio <= 1.5, true)
			}
		}
	}
	tw.Flush()
	printPublished(out, rep)
	if len(rep.Loads) > 0 {
		fmt.Fprintln(out, "\nloads (16 connections unless said):")
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "server\tscenario\trequests\terrors\treq/s\trows/s\tp50 ms\tp99 ms")
		for _, l := range rep.Loads {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%.0f\t%.2f\t%.2f\n", l.Server, l.Scenario, l.Requests, l.Errors, l.ReqPerSec, l.RowsPerSec, l.P50ms, l.P99ms)
			if l.FirstError != "" {
				fmt.Fprintf(tw, "\t  first error: %s\n", l.FirstError)
			}
		}
		tw.Flush()
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(out, "note:", n)
	}
}

// printPublished sets mlgraph's figures of this run beside the reference
// figures the performance issue published (scikit-learn 1.2.1, numpy with
// OpenBLAS, gunicorn with 2 workers, a 2-core machine), when the run's own
// reference differs from them.
func printPublished(out *os.File, rep *report) {
	var lines []string
	if im := rep.Import; im != nil {
		lines = append(lines, fmt.Sprintf("import 1M x 20: %.2f s against loadtxt's 8.5 s: %.1fx faster (target 4x)", im.Seconds, 8.5/im.Seconds))
	}
	for _, f := range []struct {
		name   string
		ref    float64
		target string
	}{{"ols_800k", 1.07, "4x"}, {"logistic_160k", 0.49, "1x"}} {
		if r, ok := rep.Fits[f.name]; ok && r.Err == "" && r.FitS > 0 {
			lines = append(lines, fmt.Sprintf("fit %s: %.3f s against %.2f s: %.1fx faster (target %s)", f.name, r.FitS, f.ref, f.ref/r.FitS, f.target))
		}
	}
	for _, l := range rep.Loads {
		switch {
		case l.Server == "mlgraph" && l.Scenario == "1 row (rows)":
			lines = append(lines, fmt.Sprintf("predict 1 row: %.0f req/s against Flask's 2,600: %.1fx (target 5x)", l.ReqPerSec, l.ReqPerSec/2600))
		case l.Server == "mlgraph" && strings.HasPrefix(l.Scenario, "100 rows (") && l.Scenario != "100 rows (rows)":
			lines = append(lines, fmt.Sprintf("predict %s: %.0f rows/s against Flask's 108,000: %.1fx (target 10x)", l.Scenario, l.RowsPerSec, l.RowsPerSec/108000))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(out, "\nagainst the performance issue's published reference figures:")
	for _, l := range lines {
		fmt.Fprintln(out, "  "+l)
	}
}
