#!/usr/bin/env bash
# Checks of the Debian package scripts/package.sh built (docs/packaging.md), one per ctest test:
#   check_package.sh CHECK SOURCE_DIR
# The package: $HOSTFLOW_DEB (scripts/test.sh builds it before ctest and sets it), else the
# newest SOURCE_DIR/build-package/hostflow_*.deb.
# CHECK:
#   contents  dpkg-deb --contents has every file the package must ship (with its mode), and every
#             unit and profile of the source tree; units, profiles and sysusers are byte-equal to
#             the tree's; conffiles are exactly /etc/default/* and the profiles; the control
#             fields (Version from the project version and the commit, Depends from
#             dpkg-shlibdeps); the maintainer scripts; the man pages list every flag the
#             packaged binaries' --help lists and render without groff warnings
#   lintian   no error; every warning and info tag left is listed in docs/packaging.md
# Exit 0 pass, 1 fail, 77 skip (no package or tool; a failure under HOSTFLOW_TEST_STRICT=1).
set -uo pipefail
check=$1 src=$2

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  echo "$*" >&2
  [ "${HOSTFLOW_TEST_STRICT:-0}" = 1 ] && exit 1
  exit 77
}
need() { command -v "$1" >/dev/null || skip "prerequisite missing: $1 (scripts/install-deps.sh build test)"; }
deb=${HOSTFLOW_DEB:-$(ls -t "$src"/build-package/hostflow_*.deb 2>/dev/null | head -1)}
[ -n "$deb" ] && [ -f "$deb" ] || skip "no package: run scripts/package.sh first (or set HOSTFLOW_DEB)"
echo "package: $deb"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $check in
contents)
  need dpkg-deb
  # mode path, for every file that must be there.
  expected=(
    "-rwxr-xr-x ./usr/sbin/hostflow-sampler"
    "-rwxr-xr-x ./usr/sbin/hostflow-exporter"
    "-rw-r--r-- ./lib/systemd/system/hostflow-sampler.service"
    "-rw-r--r-- ./lib/systemd/system/hostflow-exporter.service"
    "-rw-r--r-- ./lib/systemd/system/hostflow-exporter.socket"
    "-rw-r--r-- ./usr/lib/sysusers.d/hostflow.conf"
    "-rw-r--r-- ./etc/apparmor.d/usr.sbin.hostflow-sampler"
    "-rw-r--r-- ./etc/apparmor.d/usr.sbin.hostflow-exporter"
    "-rw-r--r-- ./etc/default/hostflow-sampler"
    "-rw-r--r-- ./etc/default/hostflow-exporter"
    "-rw-r--r-- ./usr/share/man/man8/hostflow-sampler.8.gz"
    "-rw-r--r-- ./usr/share/man/man8/hostflow-exporter.8.gz"
    "-rw-r--r-- ./usr/share/doc/hostflow/copyright"
    "-rw-r--r-- ./usr/share/doc/hostflow/changelog.gz"
    "-rw-r--r-- ./usr/share/doc/hostflow/README.md"
    "-rw-r--r-- ./usr/share/doc/hostflow/security.md"
    "-rw-r--r-- ./usr/share/doc/hostflow/metrics.md"
    "-rw-r--r-- ./usr/share/doc/hostflow/packaging.md"
  )
  # Every unit and profile in the tree ships, too (a new one needs an install rule).
  for f in "$src"/systemd/*.service "$src"/systemd/*.socket; do
    expected+=("-rw-r--r-- ./lib/systemd/system/${f##*/}")
  done
  for f in "$src"/apparmor/*; do expected+=("-rw-r--r-- ./etc/apparmor.d/${f##*/}"); done
  dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}' >"$tmp/contents" || fail "dpkg-deb --contents failed"
  for e in "${expected[@]}"; do
    mode=${e%% *} path=${e#* }
    grep -qxF -- "$mode root/root $path" "$tmp/contents" ||
      fail "missing or wrong mode/owner: $path (want $mode root/root; have: $(grep -F " $path" "$tmp/contents"))"
  done
  echo "${#expected[@]} files present with their modes, owned by root"
  # Nothing a host does not need: no headers, static libraries, tests or benchmarks.
  extra=$(grep -E '\.(h|a|cmake)$|/include/|bench|_test' "$tmp/contents")
  [ -z "$extra" ] || fail "unexpected files: $extra"

  dpkg-deb -R "$deb" "$tmp/root" || fail "dpkg-deb -R failed"
  for f in hostflow-sampler.service hostflow-exporter.service hostflow-exporter.socket; do
    cmp -s "$src/systemd/$f" "$tmp/root/lib/systemd/system/$f" || fail "$f differs from systemd/$f"
  done
  cmp -s "$src/systemd/hostflow.sysusers" "$tmp/root/usr/lib/sysusers.d/hostflow.conf" ||
    fail "sysusers.d/hostflow.conf differs from systemd/hostflow.sysusers"
  for f in "$src"/apparmor/*; do
    cmp -s "$f" "$tmp/root/etc/apparmor.d/${f##*/}" || fail "${f##*/} differs from apparmor/${f##*/}"
  done
  for w in sampler exporter; do
    grep -qx 'ARGS=""' "$tmp/root/etc/default/hostflow-$w" || fail "/etc/default/hostflow-$w has no ARGS=\"\""
    grep -qx "EnvironmentFile=-/etc/default/hostflow-$w" "$tmp/root/lib/systemd/system/hostflow-$w.service" ||
      fail "hostflow-$w.service does not read /etc/default/hostflow-$w"
    grep -q '^ExecStart=.* \$ARGS$' "$tmp/root/lib/systemd/system/hostflow-$w.service" ||
      fail "hostflow-$w.service's ExecStart= does not end in \$ARGS"
  done
  echo "units, sysusers and profiles equal the tree's; /etc/default files with ARGS=\"\""
  # The packaged sysusers.d file makes the user and both groups (systemd-sysusers --root on an
  # empty passwd database; it exits 0 even when a line names a group that does not exist).
  mkdir -p "$tmp/sysroot/etc" "$tmp/sysroot/usr/lib/sysusers.d"
  for f in passwd group shadow gshadow; do : >"$tmp/sysroot/etc/$f"; done
  cp "$tmp/root/usr/lib/sysusers.d/hostflow.conf" "$tmp/sysroot/usr/lib/sysusers.d/"
  out=$(systemd-sysusers --root="$tmp/sysroot" hostflow.conf 2>&1) || fail "systemd-sysusers: $out"
  grep -qi 'not found\|fail\|invalid' <<<"$out" && fail "systemd-sysusers said: $out"
  grep -q '^hostflow-exporter:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$tmp/sysroot/etc/passwd" ||
    fail "sysusers made no user hostflow-exporter with nologin: $(cat "$tmp/sysroot/etc/passwd")"
  grep -q '^hostflow:x:[0-9]*:hostflow-exporter$' "$tmp/sysroot/etc/group" ||
    fail "sysusers made no group hostflow with hostflow-exporter in it: $(cat "$tmp/sysroot/etc/group")"
  echo "sysusers.d/hostflow.conf makes user hostflow-exporter, in group hostflow"

  conffiles=$(sort "$tmp/root/DEBIAN/conffiles")
  want=$(printf '%s\n' /etc/apparmor.d/usr.sbin.hostflow-exporter /etc/apparmor.d/usr.sbin.hostflow-sampler \
    /etc/default/hostflow-exporter /etc/default/hostflow-sampler)
  [ "$conffiles" = "$want" ] || fail "conffiles are {$(echo $conffiles)}, want {$(echo $want)}"
  # Every file under /etc is a conffile (policy 10.7.2).
  etc=$(cd "$tmp/root" && find etc -type f | sed 's|^|/|' | sort)
  [ "$etc" = "$want" ] || fail "files under /etc {$(echo $etc)} are not exactly the conffiles"
  echo "conffiles: $(echo $conffiles)"

  for s in postinst prerm postrm; do
    [ -x "$tmp/root/DEBIAN/$s" ] || fail "no executable $s"
    sh -n "$tmp/root/DEBIAN/$s" || fail "$s: sh syntax error"
  done
  grep -q 'systemd-sysusers.*hostflow.conf' "$tmp/root/DEBIAN/postinst" || fail "postinst does not run systemd-sysusers"
  grep -q 'deb-systemd-invoke \$_dh_action' "$tmp/root/DEBIAN/postinst" || fail "postinst does not start/restart the units"
  grep -q 'deb-systemd-invoke stop' "$tmp/root/DEBIAN/prerm" || fail "prerm does not stop the units"
  grep -q 'rm -rf /var/lib/hostflow-exporter' "$tmp/root/DEBIAN/postrm" || fail "postrm purge keeps the state"

  field() { dpkg-deb -f "$deb" "$1"; }
  [ "$(field Package)" = hostflow ] || fail "Package: $(field Package)"
  [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
  project_version=$(sed -n 's/^project(hostflow VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
  version=$(field Version)
  [[ $version =~ ^${project_version//./\\.}\+git[0-9]{14}\.([0-9a-f]{7,})(\.dirty)?$ ]] ||
    fail "Version $version is not $project_version+git<UTC commit time>.<hash>[.dirty]"
  sha=${BASH_REMATCH[1]}
  # The packaged binaries say the same commit, and run (their libraries are installed here).
  for w in sampler exporter; do
    v=$("$tmp/root/usr/sbin/hostflow-$w" --version) || fail "packaged hostflow-$w --version failed"
    [[ $v == *"$project_version ($sha)"* ]] || fail "hostflow-$w --version says '$v', the package $version"
  done
  depends=$(field Depends)
  # The libraries the binaries link directly (their DT_NEEDED entries, resolved by ldd: an
  # independent list), each must be in Depends by its package (dpkg -S).
  for w in sampler exporter; do
    bin=$tmp/root/usr/sbin/hostflow-$w
    for soname in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
      lib=$(ldd "$bin" | awk -v n="$soname" '$1 == n && $3 ~ /^\// {print $3}')
      [ -n "$lib" ] || fail "hostflow-$w needs $soname, which ldd does not find"

      pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) ||
        pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
      [ -n "$pkg" ] || fail "no package owns $lib"
      [[ ", $depends," == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
        fail "Depends lacks $pkg (for $lib of hostflow-$w): $depends"
    done
  done
  [[ ", $depends," == *", systemd,"* || $depends == systemd,* ]] || fail "Depends lacks systemd (systemd-sysusers): $depends"
  echo "Version $version; Depends: $depends"

  need man
  for w in sampler exporter; do
    page=$tmp/root/usr/share/man/man8/hostflow-$w.8.gz
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    [ -z "$warn" ] || fail "hostflow-$w.8: groff says: $warn"
    text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)
    flags=$("$tmp/root/usr/sbin/hostflow-$w" --help | grep -oE -- '^  (-[a-z],)?--[a-z0-9.-]+' | sed 's/^ *//; s/^-h,//')
    n=0
    for f in $flags; do
      grep -qF -- "$f" <<<"$text" || fail "hostflow-$w.8 lacks $f"
      n=$((n + 1))
    done
    [ "$n" -gt 10 ] || fail "hostflow-$w --help listed only $n flags"
    echo "hostflow-$w.8: all $n flags of --help"
  done
  ;;
lintian)
  need lintian
  out=$(lintian --allow-root --display-info --pedantic --tag-display-limit 0 "$deb" 2>&1)
  echo "$out"
  errors=$(grep '^E: ' <<<"$out")
  [ -z "$errors" ] || fail "lintian errors:
$errors"
  # Each tag lintian still reports is explained in docs/packaging.md.
  for tag in $(sed -n 's/^[WIPX]: hostflow[^:]*: \([a-z0-9.+-]*\).*/\1/p' <<<"$out" | sort -u); do
    grep -qF "\`$tag\`" "$src/docs/packaging.md" || fail "lintian tag $tag is not explained in docs/packaging.md"
  done
  echo "lintian: no errors; $(grep -c '^[WIPX]: ' <<<"$out") other tags, all explained in docs/packaging.md"
  ;;
*)
  echo "unknown check $check" >&2
  exit 2
  ;;
esac
