#!/usr/bin/env bash
# HAProxy log parsing speed (issue 8): N lines shaped like real HAProxy 2.6 lines
# (tests/fixtures/haproxy, the recommended log-format) with S distinct SNIs (Zipf-like: a few busy,
# many rare), a third of them with an rsyslog RFC 3339 prefix. Times, pinned to one core, the
# median of R runs of: `wc -l`, the parser alone, and the exporter's tailing path (read + split +
# parse + count + checkpoint). No root needed. Usage:
#   bench/haproxy.sh [N] [S]        default 2000000 lines, 5000 SNIs
#   BUILD=build-release RUNS=5 bench/haproxy.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
N=${1:-2000000}
S=${2:-5000}
RUNS=${RUNS:-5}
CPU=${CPU:-0}
if [ ! -x "$BUILD/bench/hostflow-haproxy-bench" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-haproxy-bench >/dev/null
fi
dir=$(mktemp -d /tmp/hostflow-bench-haproxy.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/haproxy.log
awk -v n="$N" -v s="$S" 'BEGIN {
  srand(8);
  for (i = 0; i < n; i++) {
    r = int(s ^ rand());                      # Zipf-like: small ids are frequent
    sni = "svc" r ".tenant" (r % 97) ".example.com";
    bi = int(rand() * 5000); bo = (rand() < 0.02) ? 0 : int(rand() * 200000);
    if (bo == 0) bi = 0;
    line = sprintf("10.%d.%d.%d:%d [22/Nov/2026:04:56:%02d.%03d] tls be%d/s1 1/0/%d %d %d -- 1/1/0/0/0 0/0 %s",
                   i % 250, (i / 250) % 250, i % 7, 1024 + i % 60000, i % 60, i % 1000, r % 8, i % 900, bi, bo, sni);
    if (i % 3 == 0) line = "2026-11-22T04:56:13.985630+00:00 lb1 haproxy[28959]: " line;
    print line;
  }
}' >"$log"
size=$(stat -c %s "$log")
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_wc() {
  for _ in $(seq "$RUNS"); do
    s=$(date +%s.%N); taskset -c "$CPU" wc -l "$log" >/dev/null; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | median
}
run_mode() {
  for _ in $(seq "$RUNS"); do
    taskset -c "$CPU" "$BUILD/bench/hostflow-haproxy-bench" "$1" "$log" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p'
  done | median
}
cat "$log" >/dev/null  # page cache
wc_s=$(time_wc)
parse_s=$(run_mode parse)
tail_s=$(run_mode tail)
printf 'file: %d lines, %d distinct SNIs (at most), %.1f MB\n' "$N" "$S" "$(echo "$size/1000000" | bc -l)"
printf '%-8s %10s %14s %12s\n' mode seconds lines/s "vs wc -l"
for m in wc:$wc_s parse:$parse_s tail:$tail_s; do
  name=${m%%:*}; s=${m#*:}
  printf '%-8s %10.3f %14.0f %11.1fx\n' "$name" "$s" "$(echo "$N/$s" | bc -l)" "$(echo "$s/$wc_s" | bc -l)"
done
