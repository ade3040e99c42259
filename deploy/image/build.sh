#!/usr/bin/env bash
# Builds the hostflow container image offline, the distroless way: both binaries at the paths the
# systemd units use (/usr/sbin), the shared libraries `ldd` lists for them, a minimal /etc
# (passwd and group with the `hostflow` user and group, uid/gid 9471; nsswitch.conf; the CA
# bundle for HTTPS threat feeds) and nothing else — no shell, no package manager. The root
# filesystem is written as a reproducible tar (sorted, owners and mtimes fixed) and imported with
# `docker import`. One image holds both binaries; a pod runs two containers from it (deploy/kubernetes).
#
#   deploy/image/build.sh [--build-dir DIR] [--tag NAME:TAG] [--tar FILE] [--no-import]
#     --build-dir  where the binaries are (default build-release: `cmake -S . -B build-release
#                  -DCMAKE_BUILD_TYPE=Release && make -C build-release`)
#     --tag        image name (default hostflow:<version from hostflow-exporter --version>)
#     --tar        keep the root filesystem tar here (default: a temporary file)
#     --no-import  only write the tar (with --tar)
#     --strip-debug  copy the binaries without debug sections (objcopy --strip-debug; the tests'
#                  sanitizer build carries ~300 MB of them)
# DOCKER (default "docker") is the client command, e.g. DOCKER="docker -H unix:///run/x.sock".
# Needs python3 (the tar) and ldd; no registry, no network, no root.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=build-release TAG="" TAR="" IMPORT=1 STRIP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --tar) TAR=$2; shift 2 ;;
    --no-import) IMPORT=0; shift ;;
    --strip-debug) STRIP=1; shift ;;
    *) echo "image: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
SAMPLER=$BUILD/sampler/hostflow-sampler
EXPORTER=$BUILD/exporter/hostflow-exporter
for b in "$SAMPLER" "$EXPORTER"; do
  [ -x "$b" ] || { echo "image: $b is missing: build it first (make -C $BUILD)" >&2; exit 1; }
done
if [ "$IMPORT" = 0 ] && [ -z "$TAR" ]; then
  echo "image: --no-import needs --tar FILE" >&2; exit 2
fi
VERSION=$("$EXPORTER" --version | awk '{print $2}')
[ -n "$TAG" ] || TAG="hostflow:$VERSION"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -n "$TAR" ] || TAR=$WORK/rootfs.tar

# Every file of the image as "source<TAB>path in the image": the binaries, then each library
# ldd resolves (and the dynamic loader), each once.
SRC_SAMPLER=$SAMPLER SRC_EXPORTER=$EXPORTER
if [ "$STRIP" = 1 ]; then
  SRC_SAMPLER=$WORK/hostflow-sampler SRC_EXPORTER=$WORK/hostflow-exporter
  objcopy --strip-debug "$SAMPLER" "$SRC_SAMPLER"
  objcopy --strip-debug "$EXPORTER" "$SRC_EXPORTER"
fi
{
  printf '%s\t/usr/sbin/hostflow-sampler\n' "$SRC_SAMPLER"
  printf '%s\t/usr/sbin/hostflow-exporter\n' "$SRC_EXPORTER"
  # ldd prints "FILE:" headers for several files: not libraries.
  ldd "$SAMPLER" "$EXPORTER" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u | while read -r lib; do
    # Debian 12 is merged-/usr: /lib/x86_64-linux-gnu/X is /usr/lib/x86_64-linux-gnu/X.
    case "$lib" in /lib/*|/lib64/*) dest=/usr$lib ;; *) dest=$lib ;; esac
    printf '%s\t%s\n' "$(readlink -f "$lib")" "$dest"
  done
  # libcurl's default CA bundle on Debian, for threat feeds over HTTPS.
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    printf '%s\t/etc/ssl/certs/ca-certificates.crt\n' /etc/ssl/certs/ca-certificates.crt
  fi
} > "$WORK/files"

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
python3 - "$WORK/files" "$TAR" <<'PY'
import io, os, sys, tarfile
files, out = sys.argv[1], sys.argv[2]
mtime = int(os.environ["SOURCE_DATE_EPOCH"])
HF = 9471  # the hostflow user and group (the pod's runAsUser/fsGroup say the same)
entries = {}  # path in the image -> (kind, data or source, mode, uid, gid)
def d(path, mode=0o755, uid=0, gid=0): entries[path] = ("dir", None, mode, uid, gid)
def f(path, data, mode=0o644): entries[path] = ("data", data.encode(), mode, 0, 0)
def l(path, target): entries[path] = ("link", target, 0o777, 0, 0)
for p in ["/etc", "/etc/ssl", "/etc/ssl/certs", "/usr", "/usr/sbin", "/usr/lib",
          "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/proc", "/sys", "/dev", "/run", "/var",
          "/var/lib", "/host"]:
    d(p)
d("/tmp", 0o1777)
# The segment directory (a volume in practice) and the exporter's state directory, as the units'
# RuntimeDirectory= and StateDirectory= make them.
d("/run/hostflow", 0o750, 0, HF)
d("/var/lib/hostflow-exporter", 0o700, HF, HF)
l("/lib", "usr/lib"); l("/lib64", "usr/lib64"); l("/sbin", "usr/sbin")
# root's primary group is hostflow's: a runtime that adds the user's passwd group as a
# supplementary group (containerd does) then leaves the sampler with only the segment group, which
# its privilege drop requires (no CAP_SETGID needed to shed others).
f("/etc/passwd", f"root:x:0:{HF}:root:/root:/usr/sbin/nologin\n"
                 f"hostflow:x:{HF}:{HF}:hostflow exporter:/nonexistent:/usr/sbin/nologin\n")
f("/etc/group", f"root:x:0:\nhostflow:x:{HF}:\n")
f("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n")
for line in open(files):
    src, dest = line.rstrip("\n").split("\t")
    mode = 0o755 if os.access(src, os.X_OK) else 0o644
    entries[dest] = ("file", src, mode, 0, 0)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for path in sorted(entries):
        kind, what, mode, uid, gid = entries[path]
        ti = tarfile.TarInfo("." + path)
        ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, mtime
        ti.uname = ti.gname = ""
        if kind == "dir":
            ti.type = tarfile.DIRTYPE; t.addfile(ti)
        elif kind == "link":
            ti.type, ti.linkname = tarfile.SYMTYPE, what; t.addfile(ti)
        elif kind == "data":
            ti.size = len(what); t.addfile(ti, io.BytesIO(what))
        else:
            ti.size = os.path.getsize(what)
            with open(what, "rb") as fh: t.addfile(ti, fh)
PY

if [ "$IMPORT" = 1 ]; then
  # Non-root by default (the exporter); the sampler's container sets runAsUser: 0.
  ${DOCKER:-docker} import \
    --change 'USER 9471:9471' \
    --change 'ENTRYPOINT ["/usr/sbin/hostflow-exporter"]' \
    --change 'EXPOSE 9471/tcp' \
    --change "LABEL org.opencontainers.image.title=hostflow org.opencontainers.image.version=$VERSION" \
    "$TAR" "$TAG" >/dev/null
  echo "image: $TAG ($(du -h "$TAR" | cut -f1) root filesystem)"
fi
