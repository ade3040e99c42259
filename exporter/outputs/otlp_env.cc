#include "outputs/otlp_env.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace hostflow::exporter {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 9110 token characters.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) continue;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '.':
      case '^':
      case '_':
      case '`':
      case '|':
      case '~':
        continue;
      default:
        return false;
    }
  }
  return true;
}

bool fail(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return false;
}

bool decode(std::string_view in, std::string* out, std::string* error) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return fail(error, "truncated %XX escape");
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return fail(error, "bad %XX escape");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return fail(error, "control character in a value");
    out->push_back(c);
  }
  return true;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_otel_key_values(
    std::string_view text, std::string* error, std::size_t max_members) {
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view member = trim(text.substr(0, comma));
    if (!member.empty()) {
      const std::size_t eq = member.find('=');
      if (eq == std::string_view::npos) {
        fail(error, "a member without '=': \"" + std::string(member.substr(0, 64)) + "\"");
        return std::nullopt;
      }
      const std::string_view key = trim(member.substr(0, eq));
      if (!is_token(key)) {
        fail(error, "a key that is empty or not an HTTP token");
        return std::nullopt;
      }
      if (out.size() == max_members) {
        fail(error, "more than " + std::to_string(max_members) + " members");
        return std::nullopt;
      }
      std::string value;
      if (!decode(trim(member.substr(eq + 1)), &value, error)) return std::nullopt;
      out.emplace_back(std::string(key), std::move(value));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<std::uint32_t> parse_retry_after(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return static_cast<std::uint32_t>(v > 86400 ? 86400 : v);
}

std::optional<std::uint32_t> parse_grpc_retry_delay(std::string_view status_details) {
  google::rpc::Status status;
  if (!status.ParseFromArray(status_details.data(), static_cast<int>(status_details.size())))
    return std::nullopt;
  for (const google::protobuf::Any& any : status.details()) {
    google::rpc::RetryInfo info;
    if (!any.Is<google::rpc::RetryInfo>() || !any.UnpackTo(&info)) continue;
    const std::int64_t s = info.retry_delay().seconds();
    const std::int32_t n = info.retry_delay().nanos();
    if (s < 0 || n < 0) return std::nullopt;
    const std::int64_t up = s + (n > 0 ? 1 : 0);
    return static_cast<std::uint32_t>(up > 86400 ? 86400 : up);
  }
  return std::nullopt;
}

bool is_grpc_metadata_key(std::string_view key) {
  if (key.empty() || key.size() > 256) return false;
  std::string lower;
  for (char c : key) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '_' || l == '.'))
      return false;
    lower.push_back(l);
  }
  if (lower.rfind("grpc-", 0) == 0) return false;
  return lower.size() < 4 || lower.compare(lower.size() - 4, 4, "-bin") != 0;
}

std::string url_for_display(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t host = scheme + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", host), url.size());
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return std::string(url.substr(0, host)) + "***" + std::string(url.substr(at));
}

}  // namespace hostflow::exporter
