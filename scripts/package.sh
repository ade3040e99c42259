#!/usr/bin/env bash
# Builds the Debian package (docs/packaging.md): a Release build with Debian's hardening flags
# (dpkg-buildflags; no sanitizer, no tests) of only the two binaries and the generated man pages
# and changelog, in its own build directory, then CPack's DEB generator. Prints the .deb's path
# as its last line.
#   scripts/package.sh                    -> build-package/hostflow_<version>_amd64.deb
#   BUILD=/tmp/pkg scripts/package.sh     another build directory
# Needs the build packages of scripts/packages.txt (scripts/install-deps.sh build) and dpkg-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-package}

# Debian's flags for a package build, without -g (CPack strips the binaries anyway) and with
# bindnow; CMake does not read CPPFLAGS, so _FORTIFY_SOURCE joins the compile flags.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP=-g DEB_CXXFLAGS_MAINT_STRIP=-g
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS CXXFLAGS LDFLAGS

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DHOSTFLOW_TESTS=OFF -DHOSTFLOW_PACKAGE=ON -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
# Builds share the machine's cores: one at a time (the lock the other builds take, too).
flock /tmp/hostflow-build.lock \
  make -C "$BUILD" -j"$(nproc)" hostflow-sampler hostflow-exporter hostflow-package-files >&2
rm -f "$BUILD"/hostflow_*.deb
(cd "$BUILD" && cpack -G DEB >&2)
deb=$(ls "$BUILD"/hostflow_*.deb)
realpath "$deb"
