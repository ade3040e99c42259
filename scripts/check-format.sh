#!/usr/bin/env bash
# Fails when a C/C++ file differs from what the committed .clang-format makes of it, with Debian
# 12's clang-format (14). Checks only; to reformat: scripts/check-format.sh --fix
#   scripts/check-format.sh          list the files that drift, exit 1 if any
#   scripts/check-format.sh --fix    rewrite them in place
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "check-format: $CLANG_FORMAT not found (scripts/install-deps.sh test installs it)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.c' | grep -v '^tests/fuzz/corpus/')
if [ "${1:-}" = "--fix" ]; then
  "$CLANG_FORMAT" -i --style=file "${files[@]}"
  exit 0
fi
drift=()
for f in "${files[@]}"; do
  if ! "$CLANG_FORMAT" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then drift+=("$f"); fi
done
if [ ${#drift[@]} -gt 0 ]; then
  printf 'check-format: not formatted: %s\n' "${drift[@]}"
  echo "check-format: ${#drift[@]} file(s) drift from .clang-format ($("$CLANG_FORMAT" --version | head -1)); run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
