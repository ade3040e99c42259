// Basic authentication and the rate limit of --web.config.file (exporter-toolkit's web/handler.go):
// the Authorization header parser (pure, fuzzed), bcrypt verification through libcrypt with the
// toolkit's decoy for unknown users and its bounded cache of results, and one token bucket.
// hostflow-exporter, HTTP server thread (single-threaded: no locks).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "http/web_config.h"

namespace hostflow::exporter {

struct BasicCredentials {
  std::string user, password;
};

// "Basic <base64(user:password)>" (scheme case-insensitive, standard base64 with padding, as Go's
// Request.BasicAuth); nullopt for any other scheme or malformed value.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

// True when `password` hashes to `hash` (a $2a$/$2b$/$2y$ bcrypt hash) with libcrypt's crypt_rn;
// the comparison of the results takes constant time.
bool bcrypt_verify(std::string_view password, std::string_view hash);

// The users of one loaded config. An unknown user's password is hashed against a decoy setting
// of the highest cost among the users (so it costs what a known user's check costs, and timing
// does not tell which users exist); the result is false whatever it gives. Results are cached
// (at most kCacheEntries, the toolkit's size), keyed by a SHA-256 of user, hash and password: the
// cache never holds a password.
class BasicAuth {
 public:
  static constexpr std::size_t kCacheEntries = 100;
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  bool check(const std::string& user, const std::string& password);
  const std::string& decoy_setting() const { return decoy_; }
  std::size_t cache_size() const { return cache_.size(); }
  void remember_for_test(const std::string& user, const std::string& password, bool ok);

 private:
  std::string key(const std::string& user, const std::string& hash,
                  const std::string& password) const;
  void remember(std::string key, bool ok);

  std::map<std::string, std::string> users_;
  std::string decoy_;  // "$2b$NN$" + salt: hashed, never matched
  std::map<std::string, bool> cache_;
  std::deque<std::string> order_;  // oldest first: the first evicted
};

// rate_limit: Go's rate.NewLimiter(rate.Every(interval), burst): starts full, one token per
// interval, at most `burst`. Interval 0: no limit.
class TokenBucket {
 public:
  explicit TokenBucket(RateLimit r) : r_(r), tokens_(r.burst) {}
  bool allow(std::chrono::steady_clock::time_point now);

 private:
  RateLimit r_;
  double tokens_;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace hostflow::exporter
