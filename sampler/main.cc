// hostflow-sampler: starts as root, opens everything it will read, publishes snapshots of the
// host into the shared-memory segment every --interval. Reads top to bottom in the order things
// happen: flags -> sources opened -> segment created -> loop.
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <map>

#include "collector.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/version.h"
#include "publish/segment_file.h"
#include "sources/registry.h"

namespace hf = hostflow;
namespace hs = hostflow::sampler;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int fail(const std::string& what) {
  hf::log::error(what);
  return 1;
}

// Sleeps until the absolute monotonic time `ns`; returns early when a stop signal arrived.
void sleep_until(std::uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000ull),
              static_cast<long>(ns % 1'000'000'000ull)};
  while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostflow-sampler: collects host network facts into the hostflow segment"};
  std::string segment = "/run/hostflow/segment";
  std::string segment_group = "hostflow";
  std::string interval_s = "5s";
  std::string log_level = "info", log_format = "logfmt";
  hs::SamplerPaths paths;
  bool check = false, version = false;
  std::uint64_t cycles = 0;
  std::map<std::string, bool> enabled;
  app.add_option("--segment", segment, "segment file (created by the sampler)")
      ->capture_default_str();
  app.add_option("--segment.group", segment_group,
                 "group owning the segment (mode 0640); empty = the sampler's own group")
      ->capture_default_str();
  app.add_option("--interval", interval_s, "collection interval (e.g. 5s, 500ms)")
      ->capture_default_str();
  app.add_option("--path.procfs", paths.procfs, "procfs mount point")->capture_default_str();
  app.add_option("--path.sysfs", paths.sysfs, "sysfs mount point")->capture_default_str();
  app.add_option("--path.rootfs", paths.rootfs, "host root filesystem (when run in a container)")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")->capture_default_str();
  app.add_option("--cycles", cycles, "stop after this many cycles (0 = run until signalled)")
      ->capture_default_str();
  for (const hs::SourceEntry& s : hs::source_table()) {
    const std::string n(s.name);
    enabled[n] = s.enabled_by_default;
    app.add_flag("--source." + n + ",!--no-source." + n, enabled[n],
                 std::string(s.help) + (s.enabled_by_default ? " (default on)" : " (default off)"));
  }
  app.add_flag("--check", check,
               "open every source, collect once, check the segment directory, then exit 0 or "
               "say what is wrong");
  app.add_flag("--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (version) {
    std::printf("hostflow-sampler %s (%s)\n", HOSTFLOW_VERSION, HOSTFLOW_REVISION);
    return 0;
  }
  if (!hf::log::set_level(log_level)) return fail("--log.level: unknown level " + log_level);
  if (!hf::log::set_format(log_format)) return fail("--log.format: unknown format " + log_format);
  const auto interval = hf::parse_duration(interval_s);
  if (!interval || *interval < std::chrono::milliseconds(100))
    return fail("--interval: want a duration of at least 100ms, e.g. 5s (got " + interval_s + ")");
  const auto interval_ns = static_cast<std::uint64_t>(interval->count());

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
                  " (create it, e.g. `groupadd --system hostflow`, or pass --segment.group='')");
    }
  }
  const std::string dir = segment.substr(0, segment.find_last_of('/') + 1);
  if (!dir.empty() && ::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail("segment directory " + dir + " is not writable: " + std::strerror(errno));

  // Open every source while we still hold our privileges.
  hs::Collector collector;
  for (const hs::SourceEntry& s : hs::source_table()) {
    const std::string n(s.name);
    if (enabled[n]) collector.add(n, s.make(), paths);
    else collector.add_disabled(n);
  }

  hf::shm::SnapshotBuilder builder;
  collector.run_cycle(builder);
  if (check) {
    bool ok = true;
    for (const auto& e : collector.entries()) {
      const char* state = e.state == hf::shm::SourceState::kOk       ? "ok"
                          : e.state == hf::shm::SourceState::kAbsent ? "absent"
                          : e.state == hf::shm::SourceState::kFailed ? "failed"
                                                                     : "disabled";
      std::printf("source %-10s %-8s %s\n", e.name.c_str(), state, e.last_error.c_str());
      if (e.state == hf::shm::SourceState::kFailed) ok = false;
    }
    std::printf("segment %s: directory writable\n", segment.c_str());
    std::printf("%s\n", ok ? "check passed" : "check FAILED");
    return ok ? 0 : 1;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

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
  auto seg = hs::SegmentFile::create(
      hs::SegmentOptions{segment, gid, 0640, meta}, info(builder.section_count()), payload);
  if (!seg.ok()) return fail("segment: " + seg.error().message());
  hf::log::info("sampler started", {{"version", HOSTFLOW_VERSION},
                                    {"segment", segment},
                                    {"interval", interval_s},
                                    {"pid", std::to_string(::getpid())}});

  const std::uint64_t start = hf::mono_ns();
  std::uint64_t tick = 1;
  while (!g_stop && (cycles == 0 || cycle < cycles)) {
    // Next tick on the interval grid; skip ticks we overran instead of bunching cycles up.
    const std::uint64_t now = hf::mono_ns();
    while (start + tick * interval_ns <= now) tick++;
    sleep_until(start + tick * interval_ns);
    if (g_stop) break;
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
