#!/usr/bin/env bash
# TLS scrape benchmark (issue 16): N ifb interfaces in a private netns, one sampler, and two
# exporters on its segment at the same time: one plain, one with a --web.config.file that has TLS
# and a bcrypt basic-auth user (cost 10), as a hardened cloud runs it. Prints the gzip scrape's
# median / p90 over SCRAPES scrapes on one keep-alive connection (what Prometheus does: curl with
# every URL on one command line reuses the connection; its time_total per transfer), and over
# NEW new connections (a full TLS handshake per scrape), for both, with the ratios. Needs root,
# openssl, curl. Usage:
#   bench/tls.sh [N]                         default 2000
#   BUILD=build-release SCRAPES=200 NEW=50 bench/tls.sh 2000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build-release}
N=${1:-2000}
SCRAPES=${SCRAPES:-200}
NEW=${NEW:-50}
[ "$(id -u)" -eq 0 ] || { echo "bench/tls.sh: needs root" >&2; exit 1; }
if [ ! -x "$BUILD/exporter/hostflow-exporter" ]; then
  cmake -S "$here" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DHOSTFLOW_TESTS=OFF >/dev/null
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter >/dev/null
fi
getent group hostflow >/dev/null || groupadd --system hostflow
getent passwd hostflow >/dev/null || useradd --system --gid hostflow --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin hostflow

ns="hftls$$"; dir=$(mktemp -d); pids=""
pport=19481; tport=19482
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir"
  true
}
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1; a bcrypt user (cost 10, libcrypt's $2b$).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/san.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 2 -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
hash=$(python3 -c 'import crypt; print(crypt.crypt("benchpass", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)))' 2>/dev/null)
cat >"$dir/web.yml" <<EOF
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  bench: '$hash'
EOF
chgrp -R hostflow "$dir"; chmod 0750 "$dir"; chmod 0640 "$dir"/*

ip netns add "$ns"
ip -n "$ns" link set lo up
seq 1 $((N - 1)) | awk '{print "link add ifbb" $1 " type ifb"; if ($1 % 2) print "link set ifbb" $1 " up"}' | ip -n "$ns" -batch -
ip netns exec "$ns" "$BUILD/sampler/hostflow-sampler" --segment "$dir/segment" --interval 1s --log.level warn &
pids="$pids $!"
for _ in $(seq 100); do [ -e "$dir/segment" ] && break; sleep 0.05; done
for mode in plain tls; do
  port=$pport; extra=()
  [ "$mode" = tls ] && { port=$tport; extra=(--web.config.file "$dir/web.yml"); }
  install -d -o hostflow -g hostflow "$dir/state-$mode"
  ip netns exec "$ns" setpriv --reuid=hostflow --regid=hostflow --clear-groups --bounding-set=-all --inh-caps=-all -- \
    "$BUILD/exporter/hostflow-exporter" --segment "$dir/segment" --web.listen-address "127.0.0.1:$port" \
    --log.level warn --state.dir "$dir/state-$mode" "${extra[@]}" </dev/null &
  pids="$pids $!"
done
plain_url="http://127.0.0.1:$pport/metrics"
tls_url="https://127.0.0.1:$tport/metrics"
tls_args=(--cacert "$dir/ca.crt" -u bench:benchpass)
for _ in $(seq 200); do
  ip netns exec "$ns" curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null &&
    ip netns exec "$ns" curl -sf "${tls_args[@]}" "https://127.0.0.1:$tport/-/ready" >/dev/null && break
  sleep 0.1
done
sleep 2

# median and p90 (ms) of a column of seconds
stats() { sort -n | awk '{v[NR] = $1 * 1000} END { printf "median=%.3f ms p90=%.3f ms (n=%d)", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], NR }'; }
keepalive() {  # URL ARGS...: SCRAPES gzip scrapes on one connection
  local url=$1; shift
  local urls=(); for _ in $(seq "$SCRAPES"); do urls+=(-o /dev/null "$url"); done
  ip netns exec "$ns" curl -s -H 'Accept-Encoding: gzip' "$@" -w '%{time_total}\n' "${urls[@]}"
}
fresh() {  # URL ARGS...: NEW gzip scrapes, each on a new connection (a full handshake for TLS)
  local url=$1; shift
  for _ in $(seq "$NEW"); do
    ip netns exec "$ns" curl -s -H 'Accept-Encoding: gzip' "$@" -o /dev/null -w '%{time_total}\n' "$url"
  done
}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== N=$N interfaces; gzip body $(ip netns exec "$ns" curl -s --compressed -o /dev/null -w '%{size_download}' "$plain_url") B"
keepalive "$plain_url" >/dev/null   # warm both (the TLS user's bcrypt result is cached after one)
keepalive "$tls_url" "${tls_args[@]}" >/dev/null
kp=$(keepalive "$plain_url" | stats); kt=$(keepalive "$tls_url" "${tls_args[@]}" | stats)
np=$(fresh "$plain_url" | stats); nt=$(fresh "$tls_url" "${tls_args[@]}" | stats)
echo "keep-alive plain: $kp"
echo "keep-alive TLS:   $kt"
echo "new connection plain: $np"
echo "new connection TLS:   $nt"
med() { sed 's/.*median=\([^ ]*\).*/\1/'; }
echo "ratio TLS / plain, keep-alive median: $(awk -v a="$(med <<<"$kt")" -v b="$(med <<<"$kp")" 'BEGIN { printf "%.2f", a / b }')"
echo "ratio TLS / plain, new connection median: $(awk -v a="$(med <<<"$nt")" -v b="$(med <<<"$np")" 'BEGIN { printf "%.2f", a / b }')"
