// hostflow-sampler: starts as root, opens everything it will read, publishes snapshots of the
// host into the shared-memory segment every --interval. Reads top to bottom in the order things
// happen: flags -> validation -> sources opened and segment created (privileged) -> capabilities
// dropped (logged before and after) -> no_new_privs + seccomp -> loop. --check does everything
// up to the loop. The sources and their own flags are the table in sources/registry.cc.
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>

#include "collector.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/seccomp.h"
#include "hostflow/common/units.h"
#include "hostflow/common/version.h"
#include "privilege/capabilities.h"
#include "privilege/host_netns.h"
#include "privilege/seccomp_policy.h"
#include "publish/segment_file.h"
#include "sources/registry.h"
#include "wake.h"

#ifdef HOSTFLOW_SANITIZE
// Sanitizer builds: LeakSanitizer's exit-time check ptraces this process from a cloned task,
// which the seccomp filter (rightly) does not allow; it would hang or kill the exit. ASan and
// UBSan stay on; leak checking happens in the unit tests.
extern "C" int __lsan_is_turned_off() {
  return 1;
}
#endif

namespace hf = hostflow;
namespace hs = hostflow::sampler;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

int fail(const std::string& what) {
  hf::log::error(what);
  return 1;
}

// Waits until the monotonic time `until_ns` or until `fd` (>= 0) is readable, whichever comes
// first; returns early when a stop signal arrived. True when `fd` is readable.
bool wait_until(std::uint64_t until_ns, int fd) {
  while (!g_stop) {
    const std::uint64_t now = hf::mono_ns();
    if (now >= until_ns) return false;
    const std::uint64_t left = until_ns - now;
    const timespec ts{static_cast<time_t>(left / 1'000'000'000ull),
                      static_cast<long>(left % 1'000'000'000ull)};
    pollfd p{fd, POLLIN, 0};
    const int n = ::ppoll(fd >= 0 ? &p : nullptr, fd >= 0 ? 1 : 0, &ts, nullptr);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;  // not expected; the next tick comes anyway
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // ---- Flags. ----
  CLI::App app{"hostflow-sampler: collects host network facts into the hostflow segment"};
  std::string segment = "/run/hostflow/segment";
  std::string segment_group = "hostflow";
  std::string interval_s = "5s";
  std::string log_level = "info", log_format = "logfmt";
  hs::SamplerPaths paths;
  std::string seccomp_mode = "kill", user;
  std::string wake_min_interval_s = "1s";
  bool check = false, version = false, no_seccomp = false, print_policy = false, no_wake = false;
  std::uint64_t cycles = 0;
  app.add_option("--segment", segment, "segment file (created by the sampler)")
      ->capture_default_str();
  app.add_option("--segment.group", segment_group,
                 "group owning the segment (mode 0640); empty = the sampler's own group")
      ->capture_default_str();
  app.add_option("--interval", interval_s, "collection interval (e.g. 5s, 500ms)")
      ->capture_default_str();
  app.add_option("--path.procfs", paths.procfs,
                 "procfs mount point; when not /proc (e.g. /host/proc in a container), the sampler "
                 "enters the network namespace of its PID 1 (the host's) before opening sources")
      ->capture_default_str();
  app.add_option("--path.sysfs", paths.sysfs, "sysfs mount point")->capture_default_str();
  app.add_option("--path.rootfs", paths.rootfs, "host root filesystem (when run in a container)")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, notice, warn or error")
      ->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")->capture_default_str();
  app.add_option("--wake.min-interval", wake_min_interval_s,
                 "at most one extra cycle per this long when woken through <segment>.wake "
                 "(POST /collect on the exporter's admin API); requests in between share the next")
      ->capture_default_str();
  app.add_flag("--no-wake", no_wake,
               "create no wake channel (<segment>.wake): cycles only every --interval");
  app.add_option("--cycles", cycles, "stop after this many cycles (0 = run until signalled)")
      ->capture_default_str();
  // Every source's switch (--source.<name>) and its own flags (--<name>.*), in the table's order.
  hs::SourceContext sources;
  std::map<std::string, bool> enabled;
  for (const hs::SourceEntry& s : hs::source_table()) {
    const std::string n(s.name);
    enabled[n] = s.enabled_by_default;
    app.add_flag("--source." + n + ",!--no-source." + n, enabled[n],
                 std::string(s.help) + (s.enabled_by_default ? " (default on)" : " (default off)"));
    if (s.add_flags) s.add_flags(app, sources.options);
  }
  app.add_option("--user", user,
                 "after opening everything, switch to this user keeping only the capabilities the "
                 "enabled sources need (default: stay uid 0 with those capabilities)");
  app.add_option("--seccomp", seccomp_mode,
                 "what the seccomp filter does with a syscall outside the allowlist: kill, log "
                 "(allow, audit line in dmesg) or trap (name it on stderr and exit: debugging)")
      ->capture_default_str();
  app.add_flag("--no-seccomp", no_seccomp,
               "run without the seccomp filter (unsafe; logs a warning at every start)");
  app.add_flag("--print-seccomp-policy", print_policy,
               "print the seccomp allowlist for these flags and exit (for auditors)");
  app.add_flag("--check", check,
               "open every source, create a test segment, drop privileges, install the filter, "
               "collect and publish once under it, then exit 0 or say what is wrong");
  app.add_flag("--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);

  // ---- Validation, before anything is opened. ----
  if (version) {
    std::printf("hostflow-sampler %s (%s)\n", HOSTFLOW_VERSION, HOSTFLOW_REVISION);
    return 0;
  }
  if (!hf::log::set_level(log_level)) return fail("--log.level: unknown level " + log_level);
  if (!hf::log::set_format(log_format)) return fail("--log.format: unknown format " + log_format);
  for (const hs::SourceEntry& s : hs::source_table()) {
    if (!s.validate) continue;
    if (auto r = s.validate(sources.options); !r.ok()) return fail(r.error().message());
  }
  const auto mode = hf::seccomp::parse_mode(seccomp_mode);
  if (!mode) return fail("--seccomp: want kill, log or trap (got " + seccomp_mode + ")");
  // What the enabled sources need after the drop; nothing else is kept.
  std::uint64_t keep_caps =
      hs::capabilities_needed([&](std::string_view n) { return enabled[std::string(n)]; });
  hf::seccomp::Policy policy =
      hs::sampler_policy(keep_caps, enabled["libvirt"], enabled["docker"], enabled["platform"]);
  if (print_policy) {
    std::fputs(hf::seccomp::format(policy, *mode).c_str(), stdout);
    return 0;
  }
  auto user_id = hs::lookup_user(user);
  if (!user_id.ok()) return fail(user_id.error().message());
  const auto interval =
      hf::duration_flag_ms("--interval", interval_s, std::chrono::milliseconds(100));
  if (!interval.ok()) return fail(interval.error().message());
  const auto interval_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(interval.value()).count());
  const auto wake_min = hf::duration_flag_ms("--wake.min-interval", wake_min_interval_s,
                                             std::chrono::milliseconds(100));
  if (!wake_min.ok()) return fail(wake_min.error().message());
  hs::WakeLimiter wake_limit(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(wake_min.value()).count()));

  hf::shm::SegmentMeta meta;
  meta.writer_pid = static_cast<std::uint32_t>(::getpid());
  meta.sampler_start_real_ns = hf::real_ns();
  meta.interval_ns = interval_ns;
  if (auto id = hf::read_boot_id(paths.procfs); id.ok()) {
    std::copy(id->begin(), id->end(), meta.boot_id);
  } else {
    return fail("boot id: " + id.error().message() + " (is --path.procfs right?)");
  }

  gid_t gid = static_cast<gid_t>(-1);
  if (!segment_group.empty()) {
    if (const group* g = ::getgrnam(segment_group.c_str())) {
      gid = g->gr_gid;
    } else {
      return fail("--segment.group: no group named " + segment_group +
                  " (create it, e.g. `groupadd --system hostflow`, or pass --segment.group \"\")");
    }
  }
  const std::string dir = segment.substr(0, segment.find_last_of('/') + 1);
  if (!dir.empty() && ::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail("segment directory " + dir + " is not writable: " + std::strerror(errno));

  // ---- Open every source and the segment, while privileged. ----
  // A peer that goes away (libvirtd restarting) must give EPIPE, not kill the sampler.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, nullptr);

  // Running in a container with the host mounted (--path.procfs=/host/proc): the host's netns.
  if (paths.procfs != "/proc") {
    auto moved = hs::enter_host_netns(paths.procfs);
    if (!moved.ok()) return fail("--path.procfs: " + moved.error().message());
    if (*moved) hf::log::info("entered the network namespace of PID 1", {{"procfs", paths.procfs}});
  }

  hs::Collector collector;
  for (const hs::SourceEntry& s : hs::source_table()) {
    const std::string n(s.name);
    if (enabled[n])
      collector.add(n, s.make(sources), paths);
    else
      collector.add_disabled(n);
  }
  // A source that could not be opened never runs: it keeps no capability (bpf without CAP_BPF
  // is absent, and the sampler runs on without it).
  keep_caps = hs::capabilities_needed([&](std::string_view n) {
    for (const auto& e : collector.entries())
      if (e.name == n) return e.source != nullptr;
    return false;
  });
  policy =
      hs::sampler_policy(keep_caps, enabled["libvirt"], enabled["docker"], enabled["platform"]);

  // The first segment, while we may still need privilege to create it. --check writes a test
  // file beside the real one (never replacing a running sampler's segment) and removes it.
  const std::string segment_path =
      check ? segment + ".check." + std::to_string(::getpid()) : segment;
  // The wake channel, beside the segment (sampler/wake.h): made while we may still chown it,
  // before the first cycle so that every snapshot has its figures.
  std::unique_ptr<hs::WakeChannel> wake;
  if (!no_wake) {
    auto w = hs::WakeChannel::create(hs::wake_path(segment_path), gid);
    if (!w.ok()) return fail(w.error().message() + " (or run with --no-wake)");
    wake = std::move(*w);
    collector.set_wake(&wake_limit);
  }

  hf::shm::SnapshotBuilder builder;
  collector.run_cycle(builder);

  std::uint64_t generation = 1, cycle = 1;
  auto info = [&](std::uint32_t sections) {
    hf::shm::PublishInfo i;
    i.generation = generation;
    i.cycle = cycle;
    i.publish_mono_ns = hf::mono_ns();
    i.publish_real_ns = hf::real_ns();
    i.section_count = sections;
    return i;
  };
  auto payload = builder.encode();
  auto seg = hs::SegmentFile::create(hs::SegmentOptions{segment_path, gid, 0640, meta},
                                     info(builder.section_count()), payload);
  if (!seg.ok()) {
    if (check && wake) ::unlink(wake->path().c_str());
    return fail("segment: " + seg.error().message());
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  // ---- Drop: keep only the capabilities the opened sources need. ----
  auto fail_check = [&](const std::string& what) {
    if (check) ::unlink(segment_path.c_str());
    if (check && wake) ::unlink(wake->path().c_str());
    return fail(what);
  };
  if (auto r = hs::drop_privileges(hs::PrivilegePlan{keep_caps, gid, *user_id}); !r.ok())
    return fail_check(r.error().message());

  // ---- no_new_privs + seccomp: from here on a syscall outside the allowlist kills us. ----
  if (no_seccomp) {
    hf::log::warn("seccomp filter DISABLED by --no-seccomp: the sampler runs without its allowlist",
                  {});
  } else if (auto r = hf::seccomp::install(policy, *mode); !r.ok()) {
    return fail_check("seccomp: " + r.error().message());
  } else {
    hf::log::info("seccomp", {{"mode", std::string(hf::seccomp::mode_name(*mode))},
                              {"status", hf::seccomp::self_status_summary()}});
  }

  if (check) {
    // One more cycle and publish, under the final confinement.
    cycle++;
    generation++;
    builder.reset();
    collector.run_cycle(builder);
    payload = builder.encode();
    const auto published = (*seg)->publish(info(builder.section_count()), payload);
    ::unlink(segment_path.c_str());
    if (wake) {
      wake->drain();  // under the filter, as the loop does
      ::unlink(wake->path().c_str());
      std::printf("wake channel %s: created, drained under the filter\n",
                  hs::wake_path(segment).c_str());
    }
    bool ok = published.ok();
    for (const auto& e : collector.entries()) {
      std::printf("source %-10s %-8s %s\n", e.name.c_str(),
                  std::string(hf::shm::source_state_name(e.state)).c_str(), e.last_error.c_str());
      if (e.state == hf::shm::SourceState::kFailed) ok = false;
    }
    std::printf("segment %s: %s\n", segment.c_str(),
                published.ok() ? "created, mapped and published under the filter"
                               : published.error().message().c_str());
    std::printf("capabilities kept: %s; seccomp: %s\n", hs::capability_names(keep_caps).c_str(),
                no_seccomp ? "off" : std::string(hf::seccomp::mode_name(*mode)).c_str());
    std::printf("%s\n", ok ? "check passed" : "check FAILED");
    return ok ? 0 : 1;
  }
  hf::log::info("sampler started", {{"version", HOSTFLOW_VERSION},
                                    {"segment", segment},
                                    {"interval", interval_s},
                                    {"wake", wake ? wake->path() : std::string("off")},
                                    {"pid", std::to_string(::getpid())}});

  // ---- The loop. ----
  // A cycle runs at each tick of the --interval grid, or earlier when the wake channel asked for
  // one and --wake.min-interval allows it. While a wake-up cycle waits for the limit the channel
  // is not polled (a flooding writer cannot keep the loop busy); before every cycle it is
  // drained, so requests that arrived before the cycle are served by it.
  const std::uint64_t start = hf::mono_ns();
  std::uint64_t tick = 1;
  while (!g_stop && (cycles == 0 || cycle < cycles)) {
    // Next tick on the interval grid; skip ticks we overran instead of bunching cycles up.
    std::uint64_t now = hf::mono_ns();
    while (start + tick * interval_ns <= now) tick++;
    const std::uint64_t next_tick = start + tick * interval_ns;
    bool extra = false;
    while (!g_stop) {
      const bool watch = wake && !wake_limit.pending();
      const std::uint64_t until =
          wake_limit.pending() ? std::min(next_tick, wake_limit.earliest()) : next_tick;
      const bool readable = wait_until(until, watch ? wake->fd() : -1);
      now = hf::mono_ns();
      if (readable) wake_limit.requested(wake->drain(), now);
      if (now >= next_tick) break;
      if (wake_limit.due(now)) {
        extra = true;
        break;
      }
    }
    if (g_stop) break;
    if (wake) wake_limit.requested(wake->drain(), now);
    if (extra)
      wake_limit.wake_cycle_ran(now, hf::real_ns());
    else
      wake_limit.regular_cycle_ran();
    cycle++;
    generation++;
    builder.reset();
    collector.run_cycle(builder);
    payload = builder.encode();
    if (auto r = (*seg)->publish(info(builder.section_count()), payload); !r.ok()) {
      hf::log::error("publish failed", {{"err", r.error().message()}});
    }
  }
  hf::log::info("sampler stopping", {{"cycles", std::to_string(cycle)}});
  return 0;
}
