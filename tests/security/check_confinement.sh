#!/usr/bin/env bash
# Offline checks of hostflow's confinement, one per ctest test (tests/security/CMakeLists.txt):
#   check_confinement.sh CHECK SOURCE_DIR SAMPLER_BIN EXPORTER_BIN
# CHECK:
#   systemd-security  systemd-analyze security --offline: exporter <= 1.5, sampler <= 2.5
#   systemd-verify    systemd-analyze verify prints nothing (any stderr is a failure)
#   apparmor-compile  apparmor_parser -Q -K --kernel-features compiles both profiles
#   apparmor-caps     each profile's capabilities are a subset of its unit's bounding set
#   unit-caps         the sampler unit's CapabilityBoundingSet= equals what the code keeps for the
#                     unit's flags; the exporter's is empty
#   unit-syscalls     every syscall of each in-process allowlist, and seccomp(2) that installs it,
#                     survives the unit's SystemCallFilter= lines applied in order (a later ~@group
#                     removes earlier ones)
# Exit 0 pass, 1 fail, 77 skip (a tool is missing; a failure under HOSTFLOW_TEST_STRICT=1).
set -uo pipefail
check=$1 src=$2 sampler=$3 exporter=$4
units=$src/systemd profiles=$src/apparmor
declare -A unit_of=([sampler]=hostflow-sampler.service [exporter]=hostflow-exporter.service)
declare -A bin_of=([sampler]=$sampler [exporter]=$exporter)
declare -A profile_of=([sampler]=usr.sbin.hostflow-sampler [exporter]=usr.sbin.hostflow-exporter)
declare -A max_exposure=([sampler]=25 [exporter]=15)  # --threshold is tenths: 2.5 -> 25

fail() { echo "FAIL: $*" >&2; exit 1; }
need() {
  command -v "$1" >/dev/null && return 0
  echo "prerequisite missing: $1 (scripts/install-deps.sh build test)" >&2
  [ "${HOSTFLOW_TEST_STRICT:-0}" = 1 ] && exit 1
  exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A copy of a unit whose ExecStart points at the binary under test (verify wants it to exist).
unit_copy() {
  local which=$1
  sed "s|/usr/sbin/hostflow-$which|${bin_of[$which]}|" "$units/${unit_of[$which]}" \
    >"$tmp/${unit_of[$which]}"
  echo "$tmp/${unit_of[$which]}"
}
# All values of KEY= in a unit, in order, one line each.
unit_values() { sed -n "s/^$2=//p" "$1"; }
# The unit's ExecStart arguments (after the binary), without $ARGS (EnvironmentFile=, empty as
# the package ships /etc/default/hostflow-*).
exec_args() { unit_values "$1" ExecStart | head -1 | cut -s -d' ' -f2- | sed 's/\$ARGS//; s/\${ARGS}//'; }
# Capability names, lower case, sorted, one per line.
norm_caps() { tr ' ,' '\n\n' | sed '/^$/d' | tr 'A-Z' 'a-z' | sort -u; }
# Expands syscall-filter groups recursively.
expand() {
  local t
  for t in "$@"; do
    if [[ $t == @* ]]; then
      expand $(systemd-analyze syscall-filter --no-pager "$t" | awk 'NR>1 && $1 !~ /^#/ && NF {print $1}')
    else
      echo "$t"
    fi
  done
}

case $check in
systemd-security)
  need systemd-analyze
  for w in sampler exporter; do
    u=$(unit_copy $w)
    out=$(cd "$tmp" && systemd-analyze security --offline=true --threshold=${max_exposure[$w]} \
      --no-pager "$(basename "$u")" 2>&1)
    rc=$?
    echo "$out" | tail -1
    [ $rc -eq 0 ] || fail "${unit_of[$w]}: exposure above $((max_exposure[$w] / 10)).$((max_exposure[$w] % 10))"
  done
  ;;
systemd-verify)
  need systemd-analyze
  for w in sampler exporter; do
    u=$(unit_copy $w)
    err=$(cd "$tmp" && systemd-analyze verify --man=no "$u" 2>&1 >/dev/null)
    [ -z "$err" ] || fail "${unit_of[$w]}: systemd-analyze verify said: $err"
    echo "${unit_of[$w]}: verify clean"
  done
  ;;
apparmor-compile)
  need apparmor_parser
  features=/usr/share/apparmor-features/features
  [ -e $features ] || { echo "prerequisite missing: $features (package apparmor)" >&2; exit 1; }
  for w in sampler exporter; do
    p=$profiles/${profile_of[$w]}
    apparmor_parser -Q -K --kernel-features $features -q "$p" || fail "$p does not compile"
    echo "${profile_of[$w]}: compiles"
  done
  ;;
apparmor-caps)
  for w in sampler exporter; do
    p=$profiles/${profile_of[$w]}
    profile_caps=$(sed -n 's/^[[:space:]]*capability[[:space:]]\+\([a-z_ ]*\),.*/\1/p' "$p" | norm_caps)
    unit_caps=$(unit_values "$units/${unit_of[$w]}" CapabilityBoundingSet | sed 's/cap_//Ig' | norm_caps)
    extra=$(comm -23 <(echo "$profile_caps" | sed '/^$/d') <(echo "$unit_caps" | sed '/^$/d'))
    [ -z "$extra" ] || fail "${profile_of[$w]} allows capabilities outside ${unit_of[$w]}'s bounding set: $extra"
    echo "${profile_of[$w]}: capabilities {$(echo $profile_caps)} within {$(echo $unit_caps)}"
  done
  ;;
unit-caps)
  u=$units/${unit_of[sampler]}
  kept=$("$sampler" $(exec_args "$u") --print-seccomp-policy |
    sed -n 's/^# capabilities kept after the drop (enabled sources): //p' | sed 's/^none$//' |
    sed 's/cap_//g' | norm_caps)
  bounding=$(unit_values "$u" CapabilityBoundingSet | sed 's/cap_//Ig' | norm_caps)
  ambient=$(unit_values "$u" AmbientCapabilities | sed 's/cap_//Ig' | norm_caps)
  [ "$kept" = "$bounding" ] || fail "${unit_of[sampler]}: CapabilityBoundingSet={$(echo $bounding)} but the code keeps {$(echo $kept)}"
  [ "$kept" = "$ambient" ] || fail "${unit_of[sampler]}: AmbientCapabilities={$(echo $ambient)} but the code keeps {$(echo $kept)} (SecureBits=noroot)"
  [ -z "$(unit_values "$units/${unit_of[exporter]}" CapabilityBoundingSet | norm_caps)" ] ||
    fail "${unit_of[exporter]}: CapabilityBoundingSet= must be empty"
  echo "sampler keeps {$(echo $kept)} = unit bounding set; exporter: empty"
  ;;
unit-syscalls)
  need systemd-analyze
  for w in sampler exporter; do
    u=$units/${unit_of[$w]}
    # Apply the SystemCallFilter= lines in order, as systemd does.
    declare -A allowed=()
    first=1
    while read -r line; do
      [ -n "$line" ] || continue
      if [[ $line == ~* ]]; then
        for s in $(expand ${line#\~}); do unset "allowed[$s]"; done
      else
        for s in $(expand $line); do allowed[$s]=1; done
      fi
      first=0
    done < <(unit_values "$u" SystemCallFilter)
    # seccomp itself: the call that installs the allowlist (libseccomp's API level probe, too).
    policy=$({ echo seccomp; "${bin_of[$w]}" $(exec_args "$u") --print-seccomp-policy |
      sed -n 's/^allow \([a-z0-9_]*\).*/\1/p'; } | sort -u)
    missing=""
    for s in $policy; do [ -n "${allowed[$s]:-}" ] || missing+=" $s"; done
    [ -z "$missing" ] || fail "${unit_of[$w]}: SystemCallFilter= denies what the in-process allowlist needs:$missing"
    echo "${unit_of[$w]}: all $(echo $policy | wc -w) allowlisted syscalls pass SystemCallFilter="
    unset allowed
  done
  ;;
*)
  echo "unknown check $check" >&2
  exit 2
  ;;
esac
