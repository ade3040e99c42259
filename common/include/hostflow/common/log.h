// Structured logging to stderr (and, with set_file(), also appended to a file), logfmt or JSON,
// one line per event, thread-safe. Both binaries.
//   log::info("segment published", {{"generation", "3"}, {"bytes", "4096"}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hostflow::log {

// notice: between info and warn (syslog's order; OIE's --log.level=notice): events an operator
// wants in a quiet log (threat hits, admin actions) without every info line.
enum class Level { kDebug = 0, kInfo = 1, kNotice = 2, kWarn = 3, kError = 4 };
enum class Format { kLogfmt, kJson };

using Field = std::pair<std::string_view, std::string>;
using Fields = std::initializer_list<Field>;

// Both return false for an unknown name (the caller reports it as a configuration error).
bool set_level(std::string_view name);  // debug, info, notice, warn, error
bool set_format(std::string_view name);
Level level();
std::string_view level_name(Level l);

void write(Level l, std::string_view msg, Fields fields = {});
inline void debug(std::string_view m, Fields f = {}) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, Fields f = {}) {
  write(Level::kInfo, m, f);
}
inline void notice(std::string_view m, Fields f = {}) {
  write(Level::kNotice, m, f);
}
inline void warn(std::string_view m, Fields f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, Fields f = {}) {
  write(Level::kError, m, f);
}

// Every line also appended to `path` (O_APPEND, created 0640, never through a symlink), as well as
// to stderr. Opened by the caller before its seccomp filter; reopen_file() (SIGHUP, after
// logrotate moved the file) opens the path again with the same flags and swaps the descriptor.
// Both return false with `err` set and keep the previous file.
bool set_file(const std::string& path, std::string* err);
bool reopen_file(std::string* err);

// Formats one line without writing it (for tests).
std::string format_line(Format fmt, Level l, std::string_view ts, std::string_view msg,
                        Fields fields);

}  // namespace hostflow::log
