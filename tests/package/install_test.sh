#!/usr/bin/env bash
# The Debian package installed on a real Debian 12 with systemd as PID 1 (issue 17, point 2;
# docs/packaging.md "Tested under a real systemd"): a debootstrap minbase booted with
# systemd-nspawn (LAB.md "A real systemd (PID 1) for package tests"), private network.
#   install_test.sh SOURCE_DIR         the package: $HOSTFLOW_DEB, else build-package/hostflow_*.deb
# Checks, in order: apt install -> both units active, /-/ready 200 (curl inside); the exporter
# runs as hostflow-exporter with no capabilities, the sampler with exactly the set its code says
# it keeps; restart of the sampler -> the exporter is restarted with it and ready again; stop of
# the sampler -> the exporter stops too (Requires=); a killed sampler is restarted, and the
# exporter with it (BindsTo= would stop it for good); online systemd-analyze security within 0.2 of the
# offline figure; upgrade to a repacked higher version -> both restarted (new MainPIDs), state
# and an edited conffile kept; apt purge -> no file, user, group, unit state or directory of
# hostflow left (a before/after listing of /etc, /usr, /var/lib, /var/log, /run).
# The root filesystem (with curl and the package's dependencies, as the container has no network)
# is cached in /var/cache/hostflow-lab (HOSTFLOW_LAB_CACHE); making it takes ~1-2 minutes once.
# Exit 0 pass, 1 fail, 77 skip (not root, a tool missing; a failure under HOSTFLOW_TEST_STRICT=1).
set -uo pipefail
src=$1
cache=${HOSTFLOW_LAB_CACHE:-/var/cache/hostflow-lab}
name=hostflow-pkg-$$
t0=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  echo "$*" >&2
  [ "${HOSTFLOW_TEST_STRICT:-0}" = 1 ] && exit 1
  exit 77
}
step() { echo "[$((SECONDS - t0)) s] $*"; }
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter dpkg-deb; do
  command -v $tool >/dev/null || skip "prerequisite missing: $tool (scripts/install-deps.sh build test)"
done
deb=${HOSTFLOW_DEB:-$(ls -t "$src"/build-package/hostflow_*.deb 2>/dev/null | head -1)}
[ -n "$deb" ] && [ -f "$deb" ] || skip "no package: run scripts/package.sh first (or set HOSTFLOW_DEB)"
step "package: $deb"

# The root filesystem: minbase + systemd + curl + everything the package Depends on (without
# versions), cached as a tar named after that list.
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | sed '/^$/d' | sort -u)
include=$(echo systemd systemd-sysv dbus curl $deps | tr ' ' '\n' | sort -u | paste -sd,)
tarball=$cache/bookworm-systemd-$(echo "$include" | sha256sum | cut -c1-12).tar
if [ ! -f "$tarball" ]; then
  mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  step "making the root filesystem ($include) from $mirror"
  mkdir -p "$cache"
  build=$(mktemp -d "$cache/build.XXXXXX")
  debootstrap --variant=minbase --include="$include" bookworm "$build" "$mirror" >"$build.log" 2>&1 ||
    { tail -20 "$build.log" >&2; rm -rf "$build"; fail "debootstrap failed"; }
  tar -C "$build" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$build" "$build.log"
  step "cached $tarball"
fi

root=$(mktemp -d /var/tmp/$name.XXXXXX)
nspawn=""
cg=""
cleanup() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn"
    for _ in $(seq 50); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn" 2>/dev/null
  fi
  rm -rf "/run/systemd/nspawn/unix-export/$name" "/run/systemd/nspawn/propagate/$name"
  rm -rf "$root" "$root".console "$root".before "$root".after "$root".apt
  if [ -n "$cg" ]; then
    for h in unified systemd; do
      echo $$ >/sys/fs/cgroup/$h/cgroup.procs 2>/dev/null
      find "/sys/fs/cgroup/$h/$cg" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  fi
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball" || fail "extracting $tarball"
chmod 0755 "$root" # mktemp's 0700 would be the container's / (no other user could chdir there)
# dbus and logind are masked: they are Type=notify and their READY never reaches PID 1 in this
# nested setup (cgroup v1 hybrid, no delegation), which leaves the system "starting" for ever.
# hostflow's units are Type=simple and systemctl talks to PID 1 over its private socket.
for u in dbus.service dbus.socket systemd-logind.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
cp "$deb" "$root/root/hostflow.deb"
# The upgrade: the same package repacked with a higher version (only the version differs).
dpkg-deb -R "$deb" "$root/root/repack" || fail "dpkg-deb -R"
v1=$(dpkg-deb -f "$deb" Version)
v2=$v1.1
sed -i "s/^Version: .*/Version: $v2/" "$root/root/repack/DEBIAN/control"
dpkg --compare-versions "$v2" gt "$v1" || fail "$v2 does not sort after $v1"
dpkg-deb --root-owner-group -b "$root/root/repack" "$root/root/hostflow-upgrade.deb" >/dev/null || fail "repack"
rm -rf "$root/root/repack"

# systemd-nspawn wants its own cgroups (LAB.md): this shell moves into private ones.
cg=$name
for h in unified systemd; do
  mkdir -p "/sys/fs/cgroup/$h/$cg" && echo $$ >"/sys/fs/cgroup/$h/$cg/cgroup.procs" ||
    fail "cannot move into /sys/fs/cgroup/$h/$cg"
done
# CAP_BPF is not in nspawn's default set, nor bpf(2) in its seccomp allowlist; the sampler's
# unit keeps both (the bpf source: with it absent, the sampler would keep less than the unit's
# bounding set, which it cannot shrink without CAP_SETPCAP, and refuse to start). seccomp(2):
# without it libseccomp sees API level 1, where the kill-process action does not exist.
systemd-nspawn -D "$root" -M "$name" -b --register=no --keep-unit --private-network \
  --capability=CAP_BPF --system-call-filter=bpf --console=read-only >"$root.console" 2>&1 &
nspawn=$!

# The container's PID 1: the descendant of systemd-nspawn named systemd.
init=""
for _ in $(seq 100); do
  for p in $(cat /proc/$nspawn/task/*/children 2>/dev/null) ; do
    for c in $p $(cat /proc/$p/task/*/children 2>/dev/null); do
      [ "$(cat /proc/$c/comm 2>/dev/null)" = systemd ] && init=$c
    done
  done
  [ -n "$init" ] && break
  sleep 0.1
done
[ -n "$init" ] || { cat "$root.console" >&2; fail "no systemd inside the container"; }
inside() { nsenter -t "$init" -a -- "$@"; }
state=""
for _ in $(seq 100); do
  state=$(inside systemctl is-system-running 2>/dev/null)
  [ "$state" = running ] || [ "$state" = degraded ] && break
  sleep 0.2
done
step "container booted: PID 1 is $init, system $state"
[ "$state" = running ] || { inside systemctl --failed --no-pager; fail "system is $state before the install"; }

# What exists before: compared with what exists after the purge.
listing() {
  inside sh -c 'find /etc /usr /lib /var/lib /var/log /var/cache /run /srv /opt /home -xdev 2>/dev/null' |
    grep -vE '^/var/lib/(dpkg|apt)/|^/var/cache/(apt|debconf|ldconfig)/|^/var/log/(apt|journal)/|^/var/log/(dpkg|alternatives)\.log|^/run/(systemd|udev|dbus|log|user)/|^/var/lib/systemd/(catalog|random-seed|timers|journal)|^/etc/ld\.so\.cache|^/run/agetty\.reload$' |
    sort
}
listing >"$root.before"

ready() { inside curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9471/-/ready; }
wait_ready() {
  local code=""
  for _ in $(seq 150); do
    code=$(ready)
    [ "$code" = 200 ] && return 0
    sleep 0.2
  done
  inside systemctl status --no-pager hostflow-sampler hostflow-exporter >&2
  inside journalctl --no-pager -n 40 -u hostflow-sampler -u hostflow-exporter >&2
  fail "/-/ready says '$code' after 30 s ($*)"
}
mainpid() { inside systemctl show -p MainPID --value "$1"; }
active() { inside systemctl is-active "$1"; }
status_field() { inside sh -c "sed -n 's/^$2:[[:space:]]*//p' /proc/$1/status"; }

# 1. Install.
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /root/hostflow.deb \
  >"$root.apt" 2>&1 || { cat "$root.apt" >&2; fail "apt install ./hostflow.deb failed"; }
step "apt install: $(grep -c '^Setting up' "$root.apt") package(s) set up"
for u in hostflow-sampler hostflow-exporter; do
  [ "$(active $u)" = active ] || { inside journalctl --no-pager -n 60 >&2; fail "$u is $(active $u) after the install"; }
  [ "$(inside systemctl is-enabled $u)" = enabled ] || fail "$u is not enabled after the install"
done
[ "$(inside systemctl is-enabled hostflow-exporter.socket)" = disabled ] || fail "the socket is not left disabled (opt-in)"
wait_ready "after the install"
up=$(inside curl -s --max-time 5 http://127.0.0.1:9471/metrics | grep '^hostflow_sampler_up ')
[ "$up" = "hostflow_sampler_up 1" ] || fail "/metrics says '$up', want hostflow_sampler_up 1"
step "both units active and enabled, /-/ready 200, $up"

# 2. Users and capabilities of the running processes (the kernel's view, /proc/PID/status).
epid=$(mainpid hostflow-exporter) spid=$(mainpid hostflow-sampler)
euid=$(inside id -u hostflow-exporter) || fail "no user hostflow-exporter"
gid=$(inside getent group hostflow | cut -d: -f3) || fail "no group hostflow"
inside id -nG hostflow-exporter | grep -qw hostflow || fail "hostflow-exporter is not inside group hostflow"
[ "$(status_field "$epid" Uid | awk '{print $1, $2, $3, $4}')" = "$euid $euid $euid $euid" ] ||
  fail "exporter pid $epid runs with Uid $(status_field "$epid" Uid), want $euid (hostflow-exporter)"
for c in CapEff CapPrm CapInh CapAmb CapBnd; do
  [ "$(status_field "$epid" $c)" = 0000000000000000 ] || fail "exporter $c = $(status_field "$epid" $c), want none"
done
[ "$(status_field "$spid" Uid | awk '{print $1}')" = 0 ] || fail "sampler is not uid 0"
[ "$(status_field "$spid" Gid | awk '{print $1}')" = "$gid" ] || fail "sampler's group is not hostflow"
# What the code says it keeps for the unit's flags, against what the kernel says it has.
kept=$(inside /usr/sbin/hostflow-sampler --source.bpf --print-seccomp-policy |
  sed -n 's/^# capabilities kept after the drop (enabled sources): //p' | tr ',' '\n' | sort | paste -sd,)
have=$(capsh --decode="$(status_field "$spid" CapEff)" | sed 's/.*=//' | tr ',' '\n' | sort | paste -sd,)
[ -n "$kept" ] && [ "$have" = "$kept" ] || fail "sampler CapEff {$have}, the code keeps {$kept}"
[ "$(status_field "$spid" Seccomp)" = 2 ] || fail "sampler not under a seccomp filter"
# The lxc collector's fd budget is half the soft limit (the unit's LimitNOFILE=; the sampler cannot
# raise it under @resources' denial): 1024, systemd's default, would cache ~73 containers. systemd
# clamps LimitNOFILE= to its own hard limit, which in this lab container is the host shell's.
nofile=$(inside sh -c "awk '/^Max open files/ {print \$4}' /proc/$spid/limits")
pid1_hard=$(inside sh -c "awk '/^Max open files/ {print \$5}' /proc/1/limits")
want_nofile=65536
[ "$pid1_hard" != unlimited ] && [ "$pid1_hard" -lt "$want_nofile" ] && want_nofile=$pid1_hard
[ "$nofile" = "$want_nofile" ] ||
  fail "sampler's soft open-file limit is '$nofile', want $want_nofile (LimitNOFILE=65536, PID 1's hard limit $pid1_hard)"
[ "$(status_field "$epid" Seccomp)" = 2 ] || fail "exporter not under a seccomp filter"
step "exporter uid $euid (hostflow-exporter) with no capabilities; sampler uid 0 gid $gid with {$have}; both seccomp"

# 3. Restarting the sampler restarts the exporter (Requires= propagates it); it is ready again.
inside systemctl restart hostflow-sampler || fail "systemctl restart hostflow-sampler"
spid2=$(mainpid hostflow-sampler) epid2=$(mainpid hostflow-exporter)
[ "$spid2" != "$spid" ] && [ "$spid2" != 0 ] || fail "the sampler's MainPID did not change ($spid -> $spid2)"
[ "$(active hostflow-exporter)" = active ] || fail "the exporter is $(active hostflow-exporter) after a sampler restart"
[ "$epid2" != "$epid" ] || fail "the exporter was not restarted with the sampler (Requires=; docs/packaging.md)"
wait_ready "after systemctl restart hostflow-sampler"
step "restart of the sampler: sampler $spid -> $spid2, exporter $epid -> $epid2, /-/ready 200"

# 3b. A sampler that dies (SIGKILL) is restarted by systemd (Restart=on-failure), and the
# exporter with it (Requires= propagates the restart; BindsTo= would stop it for good); ready
# again with no operator action.
epid=$(mainpid hostflow-exporter)
inside sh -c "kill -KILL $spid2" || fail "cannot kill the sampler"
spid3=""
for _ in $(seq 100); do
  spid3=$(mainpid hostflow-sampler)
  [ "$spid3" != "$spid2" ] && [ "$spid3" != 0 ] && [ "$(active hostflow-sampler)" = active ] && break
  sleep 0.1
done
[ "$spid3" != "$spid2" ] && [ "$spid3" != 0 ] || fail "systemd did not restart the killed sampler ($spid2 -> $spid3)"
wait_ready "after the sampler was killed"
[ "$(active hostflow-exporter)" = active ] || fail "the exporter is $(active hostflow-exporter) after the sampler was killed"
epid3=$(mainpid hostflow-exporter)
step "sampler killed: restarted $spid2 -> $spid3, exporter $epid -> $epid3, active, /-/ready 200"

# 4. Stopping the sampler stops the exporter (Requires=); starting the exporter brings both back.
inside systemctl stop hostflow-sampler || fail "systemctl stop hostflow-sampler"
[ "$(active hostflow-exporter)" != active ] || fail "the exporter still runs with the sampler stopped (Requires=)"
inside systemctl start hostflow-exporter || fail "systemctl start hostflow-exporter"
[ "$(active hostflow-sampler)" = active ] || fail "starting the exporter did not start the sampler (Requires=)"
wait_ready "after stop of the sampler and start of the exporter"
step "stop of the sampler stops the exporter; starting the exporter starts both"

# 5. systemd-analyze security online (the running units) against offline (the unit files).
for u in hostflow-sampler hostflow-exporter; do
  online=$(inside systemd-analyze security --no-pager $u.service | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  offline=$(inside systemd-analyze security --offline=true --no-pager /lib/systemd/system/$u.service |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  [ -n "$online" ] && [ -n "$offline" ] || fail "$u: no exposure level (online '$online', offline '$offline')"
  awk -v a="$online" -v b="$offline" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.2 + 1e-9) }' ||
    fail "$u: online exposure $online, offline $offline (more than 0.2 apart)"
  step "$u: exposure online $online, offline $offline"
done

# 6. Upgrade: state and an edited conffile survive, both units are restarted.
inside sh -c 'echo marker >/var/lib/hostflow-exporter/upgrade-marker && chown hostflow-exporter: /var/lib/hostflow-exporter/upgrade-marker' ||
  fail "cannot write the state marker"
inside sh -c 'echo "# edited by the operator" >>/etc/default/hostflow-exporter'
spid=$(mainpid hostflow-sampler) epid=$(mainpid hostflow-exporter)
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confold \
  /root/hostflow-upgrade.deb >"$root.apt" 2>&1 || { cat "$root.apt" >&2; fail "the upgrade failed"; }
[ "$(inside dpkg-query -W -f='${Version}' hostflow)" = "$v2" ] || fail "not upgraded to $v2"
spid2=$(mainpid hostflow-sampler) epid2=$(mainpid hostflow-exporter)
[ "$spid2" != "$spid" ] && [ "$spid2" != 0 ] || fail "the upgrade did not restart the sampler ($spid -> $spid2)"
[ "$epid2" != "$epid" ] && [ "$epid2" != 0 ] || fail "the upgrade did not restart the exporter ($epid -> $epid2)"
[ "$(inside cat /var/lib/hostflow-exporter/upgrade-marker)" = marker ] || fail "the upgrade lost /var/lib/hostflow-exporter"
inside grep -q '^# edited by the operator' /etc/default/hostflow-exporter || fail "the upgrade replaced the edited conffile"
wait_ready "after the upgrade"
step "upgrade $v1 -> $v2: sampler $spid -> $spid2, exporter $epid -> $epid2, state and edited conffile kept, /-/ready 200"

# 7. Remove keeps state, purge leaves nothing.
inside env DEBIAN_FRONTEND=noninteractive apt-get remove -y hostflow >"$root.apt" 2>&1 || { cat "$root.apt" >&2; fail "apt remove failed"; }
[ "$(active hostflow-sampler)" != active ] && [ "$(active hostflow-exporter)" != active ] || fail "units still active after remove"
inside test -f /var/lib/hostflow-exporter/upgrade-marker || fail "remove deleted the state (only purge may)"
inside test -f /etc/default/hostflow-exporter || fail "remove deleted a conffile (only purge may)"
inside id hostflow-exporter >/dev/null 2>&1 || fail "remove deleted the user (only purge may)"
inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y hostflow >"$root.apt" 2>&1 || { cat "$root.apt" >&2; fail "apt purge failed"; }
inside dpkg -L hostflow >/dev/null 2>&1 && fail "dpkg -L hostflow still lists files after the purge"
inside getent passwd hostflow-exporter >/dev/null && fail "user hostflow-exporter left after the purge"
inside getent group hostflow >/dev/null && fail "group hostflow left after the purge"
inside getent group hostflow-exporter >/dev/null && fail "group hostflow-exporter left after the purge"
procs=$(inside sh -c 'cat /proc/[0-9]*/comm 2>/dev/null') || fail "cannot list the container's processes"
grep -q systemd <<<"$procs" || fail "the process list has no systemd: $procs"
grep -q hostflow <<<"$procs" && fail "a hostflow process still runs after the purge"
inside systemctl daemon-reload
listing >"$root.after"
left=$(comm -13 "$root.before" "$root.after")
[ -z "$left" ] || fail "left after the purge: $left"
gone=$(comm -23 "$root.before" "$root.after")
[ -z "$gone" ] || fail "gone after install + purge (was there before): $gone"
step "remove kept state, conffiles and the user; purge left nothing ($(wc -l <"$root.after") paths compared)"
rm -f "$root.before" "$root.after" "$root.apt" "$root.console"
step "done"
