#include "hostflow/common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "hostflow/common/sanitize.h"

namespace hostflow::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kLogfmt};
std::mutex g_mu;
int g_file_fd = -1;       // guarded by g_mu
std::string g_file_path;  // guarded by g_mu

void write_all(int fd, const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

int open_log_file(const std::string& path, std::string* err) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) *err = path + ": " + std::strerror(errno);
  return fd;
}

void append_logfmt_value(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) quote = true;
  }
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void append_json_string(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// JSON text must be UTF-8: values may carry tenant-controlled bytes (interface names), so each
// byte of an invalid sequence becomes U+FFFD before escaping.
void append_json_text(std::string& out, std::string_view v) {
  if (valid_utf8(v)) return append_json_string(out, v);
  std::string fixed;
  for (std::size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    const std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (i + n <= v.size() && valid_utf8(v.substr(i, n))) {
      fixed += v.substr(i, n);
      i += n;
    } else {
      fixed += "\xEF\xBF\xBD";
      i++;
    }
  }
  append_json_string(out, fixed);
}

std::string now_rfc3339() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

bool set_level(std::string_view name) {
  if (name == "debug")
    g_level = Level::kDebug;
  else if (name == "info")
    g_level = Level::kInfo;
  else if (name == "notice")
    g_level = Level::kNotice;
  else if (name == "warn")
    g_level = Level::kWarn;
  else if (name == "error")
    g_level = Level::kError;
  else
    return false;
  return true;
}

bool set_format(std::string_view name) {
  if (name == "logfmt")
    g_format = Format::kLogfmt;
  else if (name == "json")
    g_format = Format::kJson;
  else
    return false;
  return true;
}

Level level() {
  return g_level.load();
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kNotice:
      return "notice";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

std::string format_line(Format fmt, Level l, std::string_view ts, std::string_view msg,
                        Fields fields) {
  std::string out;
  out.reserve(128);
  if (fmt == Format::kJson) {
    out += "{\"ts\":";
    append_json_text(out, ts);
    out += ",\"level\":";
    append_json_text(out, level_name(l));
    out += ",\"msg\":";
    append_json_text(out, msg);
    for (const auto& [k, v] : fields) {
      out += ',';
      append_json_text(out, k);
      out += ':';
      append_json_text(out, v);
    }
    out += "}\n";
  } else {
    out += "ts=";
    out += ts;
    out += " level=";
    out += level_name(l);
    out += " msg=";
    append_logfmt_value(out, msg);
    for (const auto& [k, v] : fields) {
      out += ' ';
      out += k;
      out += '=';
      append_logfmt_value(out, v);
    }
    out += '\n';
  }
  return out;
}

void write(Level l, std::string_view msg, Fields fields) {
  if (l < g_level.load(std::memory_order_relaxed)) return;
  const std::string line = format_line(g_format.load(), l, now_rfc3339(), msg, fields);
  std::lock_guard<std::mutex> lock(g_mu);
  // write(2) directly: no stdio buffering, and it is in every seccomp allowlist.
  write_all(STDERR_FILENO, line);
  if (g_file_fd >= 0) write_all(g_file_fd, line);
}

bool set_file(const std::string& path, std::string* err) {
  const int fd = open_log_file(path, err);
  if (fd < 0) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_file_fd >= 0) ::close(g_file_fd);
  g_file_fd = fd;
  g_file_path = path;
  return true;
}

bool reopen_file(std::string* err) {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_file_fd < 0) return true;
    path = g_file_path;
  }
  return set_file(path, err);
}

}  // namespace hostflow::log
