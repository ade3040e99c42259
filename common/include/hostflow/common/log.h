// Structured logging to stderr, logfmt or JSON, one line per event, thread-safe. Both binaries.
//   log::info("segment published", {{"generation", "3"}, {"bytes", "4096"}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace hostflow::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

using Field = std::pair<std::string_view, std::string>;
using Fields = std::initializer_list<Field>;

// Both return false for an unknown name (the caller reports it as a configuration error).
bool set_level(std::string_view name);
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
inline void warn(std::string_view m, Fields f = {}) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, Fields f = {}) {
  write(Level::kError, m, f);
}

// Formats one line without writing it (for tests).
std::string format_line(Format fmt, Level l, std::string_view ts, std::string_view msg,
                        Fields fields);

}  // namespace hostflow::log
