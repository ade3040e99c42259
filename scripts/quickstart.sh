#!/usr/bin/env bash
# Quick start: installs what is missing (apt), builds, and runs hostflow on this host until Ctrl-C:
# hostflow-sampler as root (it confines itself) and hostflow-exporter as the unprivileged user
# `hostflow`, serving http://127.0.0.1:9471/metrics.
#   HOSTFLOW_LISTEN=:9471 scripts/quickstart.sh     serve on all addresses instead
#   HOSTFLOW_INTERVAL=10s scripts/quickstart.sh     sampler interval (default 5s)
#   HOSTFLOW_HAPROXY_LOG=/var/log/haproxy.log scripts/quickstart.sh   also TLS traffic per SNI
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart: run as root (sudo scripts/quickstart.sh): the sampler starts as root and drops privileges" >&2
  exit 1
fi
BUILD=${BUILD:-build-release}
LISTEN=${HOSTFLOW_LISTEN:-127.0.0.1:9471}
INTERVAL=${HOSTFLOW_INTERVAL:-5s}
RUNDIR=${HOSTFLOW_RUNTIME_DIR:-/run/hostflow}

scripts/install-deps.sh build
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter

getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null ||
  useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow
install -d -m 0750 -o root -g hostflow "$RUNDIR"
# HOSTFLOW_HAPROXY_LOG=/path/haproxy.log also counts TLS traffic per SNI (docs/haproxy.md); the
# exporter keeps its position file in its state directory, owned by its user.
exporter_extra=()
if [ -n "${HOSTFLOW_HAPROXY_LOG:-}" ]; then
  install -d -m 0700 -o hostflow -g hostflow /var/lib/hostflow-exporter
  exporter_extra+=(--haproxy.log "$HOSTFLOW_HAPROXY_LOG")
fi

spid="" epid=""
stop() {
  trap - EXIT INT TERM
  [ -n "$epid" ] && kill "$epid" 2>/dev/null
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$BUILD/sampler/hostflow-sampler" --segment "$RUNDIR/segment" --interval "$INTERVAL" &
spid=$!
for _ in $(seq 100); do [ -e "$RUNDIR/segment" ] && break; sleep 0.1; done
setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
  "$BUILD/exporter/hostflow-exporter" --segment "$RUNDIR/segment" --web.listen-address "$LISTEN" \
  "${exporter_extra[@]}" &
epid=$!
echo "hostflow is running: curl http://${LISTEN/#:/localhost:}/metrics   (Ctrl-C stops both)"
wait -n "$spid" "$epid" || true
echo "quickstart: a process exited; stopping" >&2
