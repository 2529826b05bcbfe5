// Command parity compares mlgraph's algorithms with scikit-learn's
// reference figures (testdata/reference/sklearn.json) on the same splits
// and prints the table as Markdown; with -readme it rewrites the table in
// README.md between the parity markers.
//
//	go run ./bench/parity -readme README.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"mlgraph/internal/parity"
)

const (
	startMarker = "<!-- parity:start -->"
	endMarker   = "<!-- parity:end -->"
)

func main() {
	testdata := flag.String("testdata", "testdata", "folder with the datasets and reference/sklearn.json")
	readme := flag.String("readme", "", "README file whose parity table to rewrite (default: print to stdout)")
	runs := flag.Int("runs", 3, "fits per case; the median time is reported")
	flag.Parse()

	results, err := parity.Run(context.Background(), *testdata, *runs)
	if err != nil {
		log.Fatal(err)
	}
	table := parity.Markdown(results)
	if *readme == "" {
		fmt.Print(table)
		return
	}
	text, err := os.ReadFile(*readme)
	if err != nil {
		log.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(text), startMarker)
	_, after, ok2 := strings.Cut(rest, endMarker)
	if !ok1 || !ok2 {
		log.Fatalf("%s has no %s … %s section", *readme, startMarker, endMarker)
	}
	out := before + startMarker + "\n" + table + endMarker + after
	if err := os.WriteFile(*readme, []byte(out), 0o644); err != nil {
		log.Fatal(err)
	}
}
