#!/usr/bin/env bash
# Soak (issue 12): both processes under churn for a long time. At the container scale (NS
# namespaces x PER veth pairs, each namespace with a process in its own cgroup) it keeps changing
# everything the sampler and exporter track, every CHURN seconds:
#   - containers: CHURN_NS namespaces destroyed and created again (new veths, new processes);
#   - interfaces: 50 ifb devices deleted and re-added in the host netns;
#   - VMs: the fake QEMU processes (tests/integration/helpers/fake_qemu.py) restarted with new
#     uuids (the sampler publishes their command lines, the exporter builds VMs from them);
# and all the time:
#   - threat feeds refreshed every 30 s by a host name with two addresses from a loopback server
#     (an Emerging Threats list of 50,000 entries and an Onionoo document of 5,000 relays);
#   - an SNI flood: RATE HAProxy log lines per second over 20,000 SNIs into the exporter's log.
# Every SAMPLE seconds it records RSS and open fds of both processes, the sampler's CPU per cycle
# and the exporter's render time, and prints a summary: RSS growth after WARMUP (issue 12's bar:
# <= 10 %), fd range after WARMUP, and the cycle/render medians of the first and last quarter.
# Needs root. Usage:
#   bench/soak.sh                  an hour (DURATION=3600, WARMUP=600)
#   bench/soak.sh review           ten minutes (DURATION=600, WARMUP=120), for review
#   NS=200 PER=10 RATE=2000 CHURN=10 BUILD=build-release bench/soak.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
if [ "${1:-}" = review ]; then DURATION=${DURATION:-600}; WARMUP=${WARMUP:-120}; fi
DURATION=${DURATION:-3600}
WARMUP=${WARMUP:-600}
NS=${NS:-200}
PER=${PER:-10}
CHURN=${CHURN:-10}
CHURN_NS=${CHURN_NS:-10}
VMS=${VMS:-20}
RATE=${RATE:-2000}
SAMPLE=${SAMPLE:-30}
[ "$(id -u)" -eq 0 ] || { echo "bench/soak.sh: needs root" >&2; exit 1; }
if [ ! -x "$BUILD/sampler/hostflow-sampler" ] || [ ! -x "$BUILD/exporter/hostflow-exporter" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow
cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts)
fake_qemu=$here/tests/integration/helpers/fake_qemu.py
feed_server=$here/tests/integration/helpers/feed_server.py

host="hfsk$$"; dir=$(mktemp -d); pids=""; vm_pids=""
cgbase="$cg2/hfsoak$$"
declare -A ns_pid
cleanup() {
  for p in $pids $vm_pids "${ns_pid[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for i in $(seq 1 "$NS"); do ip netns del "hfsk$$-$i" 2>/dev/null || true; done
  ip netns del "$host" 2>/dev/null || true
  for d in "$cgbase"/*/; do rmdir "$d" 2>/dev/null || true; done
  rmdir "$cgbase" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$host"; ip -n "$host" link set lo up
mkdir -p "$cgbase" "$dir/state" "$dir/feeds"
chgrp hostflow "$dir"; chmod 0750 "$dir"; chown hostflow "$dir/state"; chmod 0755 "$dir/feeds"
for b in $(seq 1 $(( (NS + 49) / 50 ))); do ip -n "$host" link add "hfsbr$b" type bridge; ip -n "$host" link set "hfsbr$b" up; done

# One container: a netns with PER veth pairs into the host netns and a process in its own cgroup.
container_up() {
  local i=$1
  ip netns add "hfsk$$-$i"
  for j in $(seq 1 "$PER"); do
    echo "link add h${i}v$j type veth peer name e$j netns hfsk$$-$i"
    echo "link set h${i}v$j master hfsbr$(( (i + 49) / 50 )) up"
  done | ip -n "$host" -batch -
  mkdir -p "$cgbase/c$i"
  ip netns exec "hfsk$$-$i" sleep 1000000 &
  ns_pid[$i]=$!
  echo "$!" > "$cgbase/c$i/cgroup.procs"
}
container_down() {
  local i=$1
  kill "${ns_pid[$i]}" 2>/dev/null || true
  wait "${ns_pid[$i]}" 2>/dev/null || true
  # The veth pairs first: a deleted netns takes its links down asynchronously, and the next
  # container_up would find the host ends still there.
  for j in $(seq 1 "$PER"); do echo "link del h${i}v$j"; done | ip -n "$host" -batch -
  ip netns del "hfsk$$-$i"
  rmdir "$cgbase/c$i" 2>/dev/null || true
}
vms_up() {
  vm_pids=""
  for v in $(seq 1 "$VMS"); do
    python3 "$fake_qemu" qemu-system-x86 -uuid "$(cat /proc/sys/kernel/random/uuid)" -name "guest=soak-$v" \
      >/dev/null 2>&1 &
    vm_pids="$vm_pids $!"
  done
}
vms_down() { for p in $vm_pids; do kill "$p" 2>/dev/null || true; done; wait $vm_pids 2>/dev/null || true; }

echo "creating $NS namespaces x $PER veth pairs, $VMS fake VMs..."
for i in $(seq 1 "$NS"); do container_up "$i"; done
for k in $(seq 1 50); do echo "link add hfsifb$k type ifb"; done | ip -n "$host" -batch -
vms_up

# Feeds: 50,000 ET entries and a 5,000-relay Onionoo document, served on 127.0.0.1 and ::1.
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "%d.%d.%d.%d\n", 11 + int(i / 65536), int(i / 256) % 256, i % 256, 1 }' \
  > "$dir/feeds/et.txt"
awk 'BEGIN { printf "{\"relays\":["; for (i = 0; i < 5000; i++) printf "%s{\"nickname\":\"r%d\",\"or_addresses\":[\"%d.%d.%d.9:9001\"]}", (i ? "," : ""), i, 100 + int(i / 65536), int(i / 256) % 256, i % 256; printf "]}" }' \
  > "$dir/feeds/onionoo.json"
feed_port=$((19500 + $$ % 400))
ip netns exec "$host" python3 -u "$feed_server" "$dir/feeds" "$feed_port" > "$dir/feed_server.log" 2>&1 &
pids="$pids $!"
printf '127.0.0.1 soak-feeds.test\n::1 soak-feeds.test\n' > "$dir/hosts"; chmod 0644 "$dir/hosts"

# The SNI flood: RATE lines a second, 20,000 SNIs (Zipf-like), into the log the exporter follows.
: > "$dir/haproxy.log"; chmod 0644 "$dir/haproxy.log"
python3 - "$dir/haproxy.log" "$RATE" <<'EOF' &
import random, sys, time
path, rate = sys.argv[1], int(sys.argv[2])
random.seed(12)
with open(path, "a", buffering=1 << 16) as f:
    while True:
        t0 = time.monotonic()
        for _ in range(rate // 10):
            r = int(20000 ** random.random())
            f.write("10.0.0.1:%d [04/Dec/2026:13:00:00.000] tls be/s1 0/0/5 %d %d -- 1/1/0/0/0 0/0 svc%d.tenant%d.example\n"
                    % (random.randrange(1024, 65535), random.randrange(5000), random.randrange(200000), r, r % 97))
        f.flush()
        time.sleep(max(0, 0.1 - (time.monotonic() - t0)))
EOF
pids="$pids $!"

ip netns exec "$host" "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 5s \
  --no-source.libvirt --docker.socket "$dir/no-docker.sock" --log.level warn &
spid=$!; pids="$pids $spid"
for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.1; done
ip netns exec "$host" unshare --mount --propagation private -- /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$dir/hosts" \
  setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
  "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment" --web.listen-address 127.0.0.1:19474 --log.level warn \
  --state.dir "$dir/state" --haproxy.log "$dir/haproxy.log" \
  --emergingthreats.enable --emergingthreats.url "http://soak-feeds.test:$feed_port/et.txt" --emergingthreats.refresh 30s \
  --tor.exit.enable --tor.exit.url "http://soak-feeds.test:$feed_port/onionoo.json" --tor.exit.refresh 30s &
epid=$!; pids="$pids $epid"
metrics() { ip netns exec "$host" curl -s http://127.0.0.1:19474/metrics; }
for _ in $(seq 200); do metrics | grep -q '^hostflow_sampler_up 1' && break; sleep 0.2; done
cpu_ns() { local s=0; for t in /proc/"$1"/task/*/schedstat; do s=$((s + $(cut -d' ' -f1 "$t"))); done; echo "$s"; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }

echo "t_s,sampler_rss_kb,exporter_rss_kb,sampler_fds,exporter_fds,sampler_cpu_ms_per_cycle,render_ms,generation,sni_lines" > "$dir/soak.csv"
start=$(date +%s); next_churn=$((start + CHURN)); next_sample=$((start + SAMPLE)); round=0
g_prev=""; c_prev=""
while [ $(( $(date +%s) - start )) -lt "$DURATION" ]; do
  now=$(date +%s)
  if [ "$now" -ge "$next_churn" ]; then
    round=$((round + 1))
    for k in $(seq 1 "$CHURN_NS"); do i=$(( (round * CHURN_NS + k) % NS + 1 )); container_down "$i"; container_up "$i"; done
    for k in $(seq 1 50); do echo "link del hfsifb$k"; done | ip -n "$host" -batch -
    for k in $(seq 1 50); do echo "link add hfsifb$k type ifb"; done | ip -n "$host" -batch -
    vms_down; vms_up
    next_churn=$((now + CHURN))
  fi
  if [ "$now" -ge "$next_sample" ]; then
    kill -0 "$spid" && kill -0 "$epid" || { echo "soak: a process died" >&2; exit 1; }
    m=$(metrics)
    g=$(awk '$1 == "hostflow_snapshot_generation" {print int($2)}' <<<"$m")
    c=$(cpu_ns "$spid")
    per_cycle=""
    [ -n "$g_prev" ] && [ "$g" -gt "$g_prev" ] && per_cycle=$(awk -v a="$c_prev" -v b="$c" -v n=$((g - g_prev)) 'BEGIN { printf "%.2f", (b - a) / n / 1e6 }')
    render=$(awk '$1 == "hostflow_exporter_render_duration_seconds" { printf "%.2f", $2 * 1000 }' <<<"$m")
    lines=$(awk '$1 == "hostflow_haproxy_lines_total" {print $2}' <<<"$m")
    echo "$((now - start)),$(rss "$spid"),$(rss "$epid"),$(fds "$spid"),$(fds "$epid"),$per_cycle,$render,$g,$lines" >> "$dir/soak.csv"
    tail -1 "$dir/soak.csv"
    g_prev=$g; c_prev=$c
    next_sample=$((now + SAMPLE))
  fi
  sleep 1
done

echo
echo "machine: $(nproc) cores, kernel $(uname -r); NS=$NS x PER=$PER, $VMS fake VMs, churn every ${CHURN}s ($CHURN_NS namespaces, 50 ifb, all VMs), SNI flood $RATE lines/s, feeds every 30 s"
awk -F, -v warm="$WARMUP" -v dur="$DURATION" '
  NR == 1 { next }
  { t[NR] = $1; srss[NR] = $2; erss[NR] = $3; sfd[NR] = $4; efd[NR] = $5; cyc[NR] = $6; ren[NR] = $7; n = NR }
  function median(a, from, to,   k, m, v, i, j, x) {
    m = 0; for (k = from; k <= to; k++) if (a[k] != "") v[++m] = a[k] + 0
    for (i = 2; i <= m; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] > x) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
    return m ? v[int((m + 1) / 2)] : "-"
  }
  END {
    w = 0; for (k = 2; k <= n; k++) if (t[k] >= warm) { w = k; break }
    if (!w) { print "soak: too short for the warm-up"; exit 1 }
    smin = 1e18; smax = 0; emin = 1e18; emax = 0; sfmin = 1e9; sfmax = 0; efmin = 1e9; efmax = 0
    for (k = w; k <= n; k++) {
      if (srss[k] < smin) smin = srss[k]; if (srss[k] > smax) smax = srss[k]
      if (erss[k] < emin) emin = erss[k]; if (erss[k] > emax) emax = erss[k]
      if (sfd[k] < sfmin) sfmin = sfd[k]; if (sfd[k] > sfmax) sfmax = sfd[k]
      if (efd[k] < efmin) efmin = efd[k]; if (efd[k] > efmax) efmax = efd[k]
    }
    printf "RSS after %d s (sampler / exporter): %d -> %d kB (%+.1f %%, max %d) / %d -> %d kB (%+.1f %%, max %d)\n", \
      warm, srss[w], srss[n], (srss[n] - srss[w]) * 100 / srss[w], smax, erss[w], erss[n], (erss[n] - erss[w]) * 100 / erss[w], emax
    printf "open fds after warm-up: sampler %d-%d, exporter %d-%d\n", sfmin, sfmax, efmin, efmax
    q = int((n - 1) / 4); if (q < 1) q = 1
    printf "sampler CPU per cycle, median first / last quarter: %s / %s ms\n", median(cyc, 2, 1 + q), median(cyc, n - q + 1, n)
    printf "exporter render, median first / last quarter: %s / %s ms\n", median(ren, 2, 1 + q), median(ren, n - q + 1, n)
  }' "$dir/soak.csv"
cp "$dir/soak.csv" "${SOAK_CSV:-/tmp/hostflow-soak.csv}"
echo "samples: ${SOAK_CSV:-/tmp/hostflow-soak.csv}"
