#!/usr/bin/env bash
# Installs what the tests need (apt), builds with AddressSanitizer + UndefinedBehaviorSanitizer
# and warnings as errors, and runs every test with ctest. Strict: a test whose prerequisite
# (root, a daemon, a tool) is missing fails instead of skipping.
#   scripts/test.sh                      everything (needs root: netns, veth, daemons)
#   scripts/test.sh -L unit              extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test: run as root (sudo scripts/test.sh): the integration tests create network namespaces" >&2
  exit 1
fi
BUILD=${BUILD:-build-test}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

scripts/install-deps.sh build test
# Third-party test inputs from npm (pinned in tests/otlp/package-lock.json): the OpenTelemetry
# project's .proto files the OTLP tests decode hostflow's requests with.
(cd tests/otlp && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
# The Kubernetes API schema (kubernetes-models, pinned in tests/kubernetes/package-lock.json) the
# DaemonSet and kustomize base are validated against offline.
(cd tests/kubernetes && npm ci --no-audit --no-fund --ignore-scripts >/dev/null)
# The tree as the committed .clang-format has it (a check, never a rewrite: --fix does that).
scripts/check-format.sh
getent group hostflow >/dev/null || groupadd --system hostflow
# -O1 and line tables only (-g1): what AddressSanitizer's documentation recommends, every report
# still names file:line, and the build takes about half the time of -O2 -g (the HTTP server's
# translation unit: 109 s -> 49 s on the 2-core machine; README "Tests").
SAN_FLAGS="-O1 -g1 -DNDEBUG"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOSTFLOW_SANITIZE=ON -DHOSTFLOW_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SAN_FLAGS" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$SAN_FLAGS" >/dev/null
make -C "$BUILD" -j"$(nproc)"

# Timed coverage-guided fuzzing of every target (clang + libFuzzer), on top of the corpus replays
# that ctest runs in the sanitizer build.
if [ "$FUZZ_SECONDS" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
  tests/fuzz/run.sh "$FUZZ_SECONDS"
fi

# The Debian package (its own Release build directory; tests/package check it, label package).
# A failed package build leaves HOSTFLOW_DEB empty: those tests then fail, the others still run.
HOSTFLOW_DEB=$(scripts/package.sh | tail -1) || { echo "test: scripts/package.sh failed" >&2; HOSTFLOW_DEB=; }
export HOSTFLOW_DEB

cd "$BUILD"
HOSTFLOW_TEST_STRICT=1 ctest --output-on-failure --timeout 600 "$@"
