#!/usr/bin/env bash
# Installs the Debian packages hostflow needs (scripts/packages.txt) that are not installed yet.
#   scripts/install-deps.sh build         what building and running needs
#   scripts/install-deps.sh build test    ... plus the test suite's tools
#   scripts/install-deps.sh build test bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(build)

# What installed packages provide (NodeSource's nodejs provides npm), read once: a `grep -q` at the
# end of a pipe from dpkg-query would make dpkg-query die of SIGPIPE, which pipefail reports as
# "not provided" (CI once tried to install npm over NodeSource's nodejs that way).
provided=$(dpkg-query -W -f='${Provides}\n' 2>/dev/null | tr ',' '\n' | sed 's/ (.*//; s/^ *//' | sort -u)
missing=()
while read -r purpose pkg; do
  case "$purpose" in ''|'#'*) continue ;; esac
  for w in "${want[@]}"; do
    if [ "$purpose" = "$w" ]; then
      # Also satisfied by an installed package that Provides it.
      status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
      if [ "$status" != "install ok installed" ] && ! grep -qxF "$pkg" <<<"$provided"; then
        missing+=("$pkg")
      fi
    fi
  done
done < "$here/packages.txt"

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages for (${want[*]}) are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
