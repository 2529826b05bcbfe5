#!/usr/bin/env bash
# Runs every fuzz target (go test -fuzz) for N seconds each, one after the
# other, and prints a summary: execs, execs/s, new corpus entries, result.
# Not part of CI: CI replays only the committed seed corpora
# (testdata/fuzz/FuzzName/ next to each target) through `go test`.
#
#   bash bench/fuzz.sh [seconds] [target-regexp]   # default 300 s each, all targets
#
# FUZZ_PARALLEL sets the fuzzing workers (default 2: a 2-core machine).
# The inputs the fuzzer finds interesting accumulate in the Go build cache
# ($(go env GOCACHE)/fuzz), not in the repository. A crash is written to
# testdata/fuzz/FuzzName/<hash> in the package and re-runs with
#   go test ./pkg -run 'FuzzName/<hash>'
# Commit such a file only together with the fix it is the regression test of.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300}
filter=${2:-.}
parallel=${FUZZ_PARALLEL:-2}

targets=(
  ./internal/csvdata:FuzzParseMatchesEncodingCSV
  ./internal/csvdata:FuzzParseDecimal
  ./ml:FuzzResolveParams
  ./ml:FuzzTrainTiny
  ./ml:FuzzColumnUnmarshal
  ./ml:FuzzLoadModel
  ./service:FuzzRecords
  ./service:FuzzCSVPlainMatchesQuoted
)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summary=()
failed=0
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  [[ $name =~ $filter ]] || continue
  log="$logs/$name.log"
  echo "== $pkg $name: ${secs}s, -parallel $parallel"
  start=$(date +%s)
  # timeout bounds the run even if minimising a crash or a hung worker
  # outlasts -fuzztime.
  timeout --kill-after=30s $((secs + 240))s \
    go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" \
      -fuzzminimizetime 30s -parallel "$parallel" -timeout $((secs + 200))s >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  tail -n 4 "$log"
  # Last progress line: "fuzz: elapsed: 60s, execs: 12345 (205/sec), new interesting: 3 (total: 40)"
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1)
  execs=$(sed -nE 's/.*execs: ([0-9]+) .*/\1/p' <<<"$last")
  # execs/s over the fuzzing time the line reports (a crash ends it early)
  fz=$(sed -nE 's/^fuzz: elapsed: ([0-9hms.]+),.*/\1/p' <<<"$last")
  rate=$(awk -v e="${execs:-0}" -v t="${fz:-0s}" 'BEGIN {
    s = 0; n = ""
    for (i = 1; i <= length(t); i++) {
      c = substr(t, i, 1)
      if (c == "h") { s += n * 3600; n = "" } else if (c == "m") { s += n * 60; n = "" } else if (c == "s") { s += n; n = "" } else n = n c
    }
    printf "%.0f", e / (s > 0 ? s : 1)
  }')
  newi=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 (corpus \2)/p' <<<"$last")
  if [[ $rc -eq 0 ]]; then
    status=ok
  else
    status="FAIL (exit $rc)"
    failed=$((failed + 1))
    crash=$(grep -E 'Failing input written to|failure while testing seed corpus entry' "$log" | head -n 1)
    [[ -n $crash ]] && status="$status: $crash"
    cp "$log" "/tmp/fuzz-$name.log" && echo "   full log: /tmp/fuzz-$name.log"
  fi
  summary+=("$(printf '%-30s %-18s %7ss %12s execs %7s/s  new %-18s %s' "$name" "$pkg" "$elapsed" "${execs:-?}" "$rate" "${newi:-?}" "$status")")
done

echo
echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
exit $((failed > 0))
