# Sourced by bench/containers.sh and bench/interfaces.sh when HOSTFLOW_COMPARE_EXPORTER names
# other hostflow-exporter binaries (e.g. built from older commits; several: colon-separated, named
# by HOSTFLOW_COMPARE_LABELS, default "old old2 ..."): every exporter maps the same sampler's
# segment read-only at the same time, on its own port and state directory, and all are measured
# side by side in one run, with ratios of the first (this tree's, "new") to each other one.
# Not run on its own.
#
# cmp_binaries / cmp_labels: the compared binaries and their labels, one a line.
# The caller sets, before cmp_report:
#   CMP_NS      netns the exporters listen in (ip netns exec)
#   CMP_LABELS  (new old ...)   CMP_PIDS  (pid ...)   CMP_PORTS  (port ...)   CMP_BINS  (path ...)
#   CMP_SEGMENT the segment path (its pages count in RSS: it is mapped)
#   CMP_SCRAPE_BENCH  the hostflow-scrape-bench binary
# and may set CMP_CPU_WINDOW (s, default 30), CMP_RENDERS (default 20), CMP_SCRAPES (200).
#
# Measures, per exporter:
#   CPU per snapshot   utime+stime of the whole process (/proc/PID/stat, all threads) over a
#                      window, divided by the snapshots it rendered in it; no scrape but the
#                      generation read at each end
#   render wall        hostflow_exporter_render_duration_seconds of CMP_RENDERS distinct
#                      snapshots (polled with gzip scrapes: cheap for the exporter), median / p90
#   gzip scrape        hostflow-scrape-bench N gzip (one keep-alive connection), median / p99 / size
#   memory             VmRSS, and RSS by mapping kind from /proc/PID/smaps: [heap] (main arena),
#                      anonymous mappings (thread arenas, large mallocs, stacks), the segment,
#                      other files (libraries); malloc arenas counted from smaps (64 MiB-aligned
#                      reservations of thread arenas)

CMP_CPU_WINDOW=${CMP_CPU_WINDOW:-30}
CMP_RENDERS=${CMP_RENDERS:-20}
CMP_SCRAPES=${CMP_SCRAPES:-200}
CLK_TCK=$(getconf CLK_TCK)

cmp_binaries() { tr ':' '\n' <<<"$HOSTFLOW_COMPARE_EXPORTER"; }
cmp_labels() {
  local n; n=$(cmp_binaries | wc -l)
  local given=(${HOSTFLOW_COMPARE_LABELS:-}) i
  for ((i = 0; i < n; i++)); do
    if [ -n "${given[$i]:-}" ]; then echo "${given[$i]}"; elif [ "$i" = 0 ]; then echo old; else echo "old$((i + 1))"; fi
  done
}

# The "new" exporter is the caller's, already started: CMP_LABELS=(new) CMP_PIDS=(pid)
# CMP_PORTS=(port) CMP_BINS=(path). cmp_start NS SEGMENT DIR FIRST_PORT then starts every compared
# binary as the hostflow user in NS on FIRST_PORT, FIRST_PORT+1, ..., state dir DIR/state-LABEL,
# appending to CMP_* and to the caller's $pids; cmp_wait_ready waits until each serves /-/ready.
cmp_check() {
  local b
  for b in $(cmp_binaries); do
    [ -x "$b" ] || { echo "HOSTFLOW_COMPARE_EXPORTER: $b is not an executable" >&2; return 1; }
  done
}
cmp_start() {
  local ns=$1 seg=$2 dir=$3 port=$4 bin k=0
  local labels; labels=($(cmp_labels))
  while read -r bin; do
    install -d -o hostflow -g hostflow "$dir/state-${labels[$k]}"
    ip netns exec "$ns" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
      "$bin" --segment "$seg" --web.listen-address "127.0.0.1:$((port + k))" --log.level warn \
      --state.dir "$dir/state-${labels[$k]}" < /dev/null &
    CMP_LABELS+=("${labels[$k]}"); CMP_PIDS+=("$!"); CMP_PORTS+=("$((port + k))"); CMP_BINS+=("$bin")
    pids="${pids:-} $!"
    k=$((k + 1))
  done < <(cmp_binaries)
}
cmp_wait_ready() {
  local p
  for p in "${CMP_PORTS[@]}"; do
    for _ in $(seq 100); do ip netns exec "$CMP_NS" curl -sf "http://127.0.0.1:$p/-/ready" >/dev/null && break; sleep 0.2; done
  done
}

cmp_tail() {  # port -> the metrics body (gzip on the wire, as Prometheus asks)
  ip netns exec "$CMP_NS" curl -s --compressed "http://127.0.0.1:$1/metrics"
}
cmp_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime, all threads
cmp_gen() { cmp_tail "$1" | awk '$1 == "hostflow_snapshot_generation" { printf "%d", $2 }'; }

# RSS by mapping kind (kB): rss heap anon segment files stack, and the number of thread arenas.
cmp_mem() {
  local pid=$1 seg=$2
  awk -v seg="$seg" '
    function hex(h,   i, v) { v = 0; for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    /^[0-9a-f]+-[0-9a-f]+ / {
      split($1, r, "-"); path = $6; kind = "anon"
      if (path == "[heap]") kind = "heap"
      else if (path == "[stack]") kind = "stack"
      else if (path == seg) kind = "segment"
      else if (path ~ /^\//) kind = "files"
      else if (path ~ /^\[/) kind = "other"
      # A thread arena reserves a 64 MiB-aligned heap (HEAP_MAX_SIZE): count mappings that
      # start on a 64 MiB boundary with no name, the arena heaps.
      start = hex(r[1])
      if (kind == "anon" && start % 67108864 == 0) arenas++
      next
    }
    $1 == "Rss:" { sum[kind] += $2; total += $2 }
    END {
      printf "rss=%d heap=%d anon=%d segment=%d files=%d stack=%d other=%d thread_arenas=%d\n",
        total, sum["heap"], sum["anon"], sum["segment"], sum["files"], sum["stack"], sum["other"], arenas
    }' "/proc/$pid/smaps"
}

cmp_field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
cmp_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
cmp_p90() { sort -g | awk '{ v[NR] = $1 } END { if (NR) { i = int(NR * 0.9 + 0.999); print v[i] } }'; }

cmp_report() {
  local n=${#CMP_LABELS[@]} i
  declare -A g0 g1 t0 t1 last renders cpu rmed rp90 smed sp99 sbytes pbytes mem threads rssmed rssmax
  local dir; dir=$(mktemp -d)
  # 1. CPU per snapshot: ticks over a window of whole snapshots, no scrapes in between.
  for ((i = 0; i < n; i++)); do g0[$i]=$(cmp_gen "${CMP_PORTS[$i]}"); t0[$i]=$(cmp_ticks "${CMP_PIDS[$i]}"); done
  # VmRSS of each every 0.5 s meanwhile (it moves with each snapshot: median and max).
  local end=$(( $(date +%s) + CMP_CPU_WINDOW ))
  while [ "$(date +%s)" -lt "$end" ]; do
    for ((i = 0; i < n; i++)); do awk '/^VmRSS:/ { print $2 }' "/proc/${CMP_PIDS[$i]}/status" >> "$dir/m$i"; done
    sleep 0.5
  done
  for ((i = 0; i < n; i++)); do
    g1[$i]=$(cmp_gen "${CMP_PORTS[$i]}"); t1[$i]=$(cmp_ticks "${CMP_PIDS[$i]}")
    cpu[$i]=$(awk -v a="${t0[$i]}" -v b="${t1[$i]}" -v c=$(( g1[$i] - g0[$i] )) -v hz="$CLK_TCK" \
      'BEGIN { printf "%.2f", (c > 0 ? (b - a) * 1000 / hz / c : 0) }')
  done
  for ((i = 0; i < n; i++)); do rssmed[$i]=$(cmp_median < "$dir/m$i"); rssmax[$i]=$(sort -n "$dir/m$i" | tail -1); done
  # 2. Render wall time of CMP_RENDERS distinct snapshots per exporter.
  for ((i = 0; i < n; i++)); do : > "$dir/r$i"; done
  local deadline=$(( $(date +%s) + CMP_RENDERS * 4 + 30 ))
  while :; do
    local done_all=1
    for ((i = 0; i < n; i++)); do
      [ "$(wc -l < "$dir/r$i")" -ge "$CMP_RENDERS" ] && continue
      done_all=0
      read -r g r < <(cmp_tail "${CMP_PORTS[$i]}" | awk '$1 == "hostflow_snapshot_generation" { g = $2 }
        $1 == "hostflow_exporter_render_duration_seconds" { r = $2 } END { printf "%d %s\n", g, r }')
      if [ -n "$g" ] && [ "$g" != "${last[$i]:-}" ]; then last[$i]=$g; echo "$r" >> "$dir/r$i"; fi
    done
    [ "$done_all" = 1 ] && break
    [ "$(date +%s)" -gt "$deadline" ] && break
    sleep 0.2
  done
  for ((i = 0; i < n; i++)); do
    renders[$i]=$(wc -l < "$dir/r$i")
    rmed[$i]=$(cmp_median < "$dir/r$i" | awk '{ printf "%.2f", $1 * 1000 }')
    rp90[$i]=$(cmp_p90 < "$dir/r$i" | awk '{ printf "%.2f", $1 * 1000 }')
  done
  rm -rf "$dir"
  # 3. gzip scrapes, one exporter after the other, then a plain one for the body size.
  for ((i = 0; i < n; i++)); do
    local s; s=$(ip netns exec "$CMP_NS" "$CMP_SCRAPE_BENCH" "http://127.0.0.1:${CMP_PORTS[$i]}/metrics" "$CMP_SCRAPES" gzip)
    smed[$i]=$(cmp_field median_ms "$s"); sp99[$i]=$(cmp_field p99_ms "$s"); sbytes[$i]=$(cmp_field body_bytes "$s")
    pbytes[$i]=$(ip netns exec "$CMP_NS" curl -s "http://127.0.0.1:${CMP_PORTS[$i]}/metrics" | wc -c)
  done
  # 4. Memory after all of it.
  for ((i = 0; i < n; i++)); do
    mem[$i]=$(cmp_mem "${CMP_PIDS[$i]}" "$CMP_SEGMENT")
    threads[$i]=$(ls "/proc/${CMP_PIDS[$i]}/task" | wc -l)
  done

  echo "== exporters side by side (same segment, same time)"
  for ((i = 0; i < n; i++)); do echo "   ${CMP_LABELS[$i]} = ${CMP_BINS[$i]}"; done
  row() {  # name unit value...: the values, then first/each other
    local name=$1 unit=$2; shift 2
    local vals=("$@") line j
    line=$(printf "%-46s" "$name")
    for ((j = 0; j < n; j++)); do line+=$(printf " %14s" "${vals[$j]} $unit"); done
    for ((j = 1; j < n; j++)); do
      line+=$(awk -v x="${vals[0]}" -v y="${vals[$j]}" 'BEGIN { printf " %9s", (y + 0 > 0 ? sprintf("%.2f", x / y) : "-") }')
    done
    echo "$line"
  }
  local head; head=$(printf "%-46s" "")
  for ((i = 0; i < n; i++)); do head+=$(printf " %14s" "${CMP_LABELS[$i]}"); done
  for ((i = 1; i < n; i++)); do head+=$(printf " %9s" "${CMP_LABELS[0]}/${CMP_LABELS[$i]}"); done
  echo "$head"
  local snaps="" v=()
  for ((i = 0; i < n; i++)); do snaps+="${snaps:+/}$(( g1[$i] - g0[$i] ))"; done
  v=(); for ((i = 0; i < n; i++)); do v+=("${cpu[$i]}"); done; row "CPU per snapshot (utime+stime, $snaps snaps)" ms "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${rmed[$i]}"); done; row "render wall, median of $CMP_RENDERS snapshots" ms "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${rp90[$i]}"); done; row "render wall, p90" ms "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${smed[$i]}"); done; row "gzip scrape median ($CMP_SCRAPES scrapes)" ms "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${sp99[$i]}"); done; row "gzip scrape p99" ms "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${sbytes[$i]}"); done; row "gzip body" B "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${pbytes[$i]}"); done; row "plain body" B "${v[@]}"
  for k in rss heap anon segment files stack; do
    v=(); for ((i = 0; i < n; i++)); do v+=("$(cmp_field "$k" "${mem[$i]}")"); done; row "memory: $k" kB "${v[@]}"
  done
  v=(); for ((i = 0; i < n; i++)); do v+=("${rssmed[$i]}"); done; row "memory: rss median while measuring" kB "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${rssmax[$i]}"); done; row "memory: rss max while measuring" kB "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("$(cmp_field thread_arenas "${mem[$i]}")"); done; row "malloc thread arenas" "" "${v[@]}"
  v=(); for ((i = 0; i < n; i++)); do v+=("${threads[$i]}"); done; row "threads" "" "${v[@]}"
}
