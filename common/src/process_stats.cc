#include "hostflow/common/process_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "hostflow/common/unique_fd.h"

namespace hostflow {

namespace {

// Space- or tab-separated fields; each returns false at a missing or malformed field.
bool next_field(std::string_view& s, std::string_view* field) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  if (s.empty()) return false;
  const std::size_t end = s.find_first_of(" \t\n");
  *field = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return true;
}

template <class T>
bool number(std::string_view text, T* out) {
  if (text.empty()) return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

// The whole of a small /proc file (at most 64 KiB).
Result<std::string> read_small(const char* path) {
  auto opened = UniqueFd::open(path, O_RDONLY);
  if (!opened.ok()) return opened.error();
  const UniqueFd fd = std::move(opened.value());
  std::string out;
  char buf[4096];
  while (out.size() < 65536) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(std::string("read ") + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::optional<ProcPidStat> parse_proc_pid_stat(std::string_view text) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view s = text.substr(close + 1);
  // Fields from 3 (state) on; 1-based numbering as in proc(5).
  ProcPidStat st;
  std::string_view f;
  for (int field = 3; field <= 24; field++) {
    if (!next_field(s, &f)) return std::nullopt;
    bool ok = true;
    switch (field) {
      case 14:
        ok = number(f, &st.utime);
        break;
      case 15:
        ok = number(f, &st.stime);
        break;
      case 22:
        ok = number(f, &st.starttime);
        break;
      case 23:
        ok = number(f, &st.vsize);
        break;
      case 24:
        ok = number(f, &st.rss);
        break;
      default:
        break;
    }
    if (!ok) return std::nullopt;
  }
  return st;
}

std::optional<std::uint64_t> parse_status_kb(std::string_view status, std::string_view field) {
  while (!status.empty()) {
    const std::size_t nl = status.find('\n');
    std::string_view line = status.substr(0, nl);
    status.remove_prefix(nl == std::string_view::npos ? status.size() : nl + 1);
    if (line.size() <= field.size() || line.substr(0, field.size()) != field ||
        line[field.size()] != ':')
      continue;
    line.remove_prefix(field.size() + 1);
    std::string_view kb;
    if (!next_field(line, &kb)) return std::nullopt;
    line = line.substr(0, line.find_last_not_of(" \t") + 1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    std::uint64_t v = 0;
    if (!number(kb, &v) || line != "kB" || v > (~std::uint64_t{0} >> 10)) return std::nullopt;
    return v << 10;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) {
  while (!proc_stat.empty()) {
    const std::size_t nl = proc_stat.find('\n');
    std::string_view line = proc_stat.substr(0, nl);
    proc_stat.remove_prefix(nl == std::string_view::npos ? proc_stat.size() : nl + 1);
    if (line.substr(0, 6) != "btime ") continue;
    line.remove_prefix(6);
    std::uint64_t v = 0;
    if (!number(line, &v)) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view limits) {
  // "Max open files            1024                 1048576              files"
  constexpr std::string_view kName = "Max open files";
  while (!limits.empty()) {
    const std::size_t nl = limits.find('\n');
    std::string_view line = limits.substr(0, nl);
    limits.remove_prefix(nl == std::string_view::npos ? limits.size() : nl + 1);
    if (line.substr(0, kName.size()) != kName) continue;
    line.remove_prefix(kName.size());
    std::string_view soft;
    if (!next_field(line, &soft)) return std::nullopt;
    if (soft == "unlimited") return 0;
    std::uint64_t v = 0;
    if (!number(soft, &v)) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

Result<ProcessStats> read_self_process_stats() {
  static const std::uint64_t boot_time = [] {
    auto text = read_small("/proc/stat");
    return text.ok() ? parse_boot_time(text.value()).value_or(0) : 0;
  }();
  auto stat_text = read_small("/proc/self/stat");
  if (!stat_text.ok()) return stat_text.error();
  const auto st = parse_proc_pid_stat(stat_text.value());
  if (!st) return Error{EINVAL, "/proc/self/stat is malformed"};
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  const double hz = ticks > 0 ? static_cast<double>(ticks) : 100.0;
  ProcessStats p;
  p.cpu_seconds = static_cast<double>(st->utime + st->stime) / hz;
  auto status = read_small("/proc/self/status");
  if (!status.ok()) return status.error();
  p.resident_bytes = parse_status_kb(status.value(), "VmRSS").value_or(0);
  p.virtual_bytes = parse_status_kb(status.value(), "VmSize").value_or(st->vsize);
  if (boot_time)  // else 0: unknown
    p.start_time_seconds = static_cast<double>(boot_time) + static_cast<double>(st->starttime) / hz;
  if (auto limits = read_small("/proc/self/limits"); limits.ok())
    p.max_fds = parse_max_open_files(limits.value()).value_or(0);
  // Entries of /proc/self/fd, without "." and ".." (the directory's own fd is one of them, as
  // it is for client_golang's count). Since Linux 6.2 stat() of the directory gives the count as
  // its size without listing it (the sampler's platform source keeps an fd per container file:
  // listing 1,400 entries was a tenth of its cycle); its own fd is then not open, so + 1.
  struct stat fdst {};
  if (::stat("/proc/self/fd", &fdst) == 0 && fdst.st_size > 0) {
    p.open_fds = static_cast<std::uint64_t>(fdst.st_size) + 1;
    return p;
  }
  auto dfd = UniqueFd::open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
  if (!dfd.ok()) return dfd.error();
  DIR* dir = ::fdopendir(dfd.value().get());
  if (!dir) return Error::from_errno("fdopendir /proc/self/fd");
  dfd.value().release();
  while (const dirent* e = ::readdir(dir))
    if (e->d_name[0] != '.') p.open_fds++;
  ::closedir(dir);
  return p;
}

}  // namespace hostflow
