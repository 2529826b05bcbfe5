#!/usr/bin/env bash
# Measures the server's peak memory (VmHWM) while it imports an uploaded
# CSV through uploadDataset, against the size of the file. Loopback only;
# stops the server when done.
#
#   bash bench/upload-memory.sh [rows] [columns]     # default 1000000 x 20 (~400 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
cols=${2:-20}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/mlgraph" .
awk -v rows="$rows" -v cols="$cols" 'BEGIN {
  srand(1)
  for (j = 1; j <= cols; j++) printf "x%d,", j; print "y"
  for (i = 0; i < rows; i++) {
    for (j = 1; j <= cols; j++) printf "%.15g,", rand() * 1000 - 500
    printf "%.15g\n", rand()
  }
}' > "$work/data.csv"
size=$(stat -c %s "$work/data.csv")

port=$((20000 + RANDOM % 20000))
"$work/mlgraph" -addr "127.0.0.1:$port" -db "$work/bench.db" -max-upload 4GiB -log-level warn &
pid=$!
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
before=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
start=$(date +%s.%N)
curl -sf "127.0.0.1:$port/query" \
  -F operations='{"query": "mutation($file: Upload!) { uploadDataset(name: \"bench\", file: $file) { id rowCount } }", "variables": {"file": null}}' \
  -F map='{"0": ["variables.file"]}' -F 0=@"$work/data.csv" >"$work/out.json"
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
cat "$work/out.json"; echo
awk -v size="$size" -v before="$before" -v peak="$peak" -v s="$start" -v e="$end" -v rows="$rows" -v cols="$cols" 'BEGIN {
  f64 = rows * (cols + 1) * 8
  printf "file %.1f MB; float64 size %.1f MB; peak RSS %.1f MB (at start %.1f MB): %.2fx the float64 size, %.2fx the file; upload+import %.2f s\n",
    size/1e6, f64/1e6, peak*1024/1e6, before*1024/1e6, peak*1024/f64, peak*1024/size, e - s
}'
