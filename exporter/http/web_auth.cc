#include "http/web_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace hostflow::exporter {

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Go's base64.StdEncoding.DecodeString: padded to a multiple of 4, no stray characters.
std::optional<std::string> decode_base64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=') {
        // Padding only in the last group, only at its end.
        if (i + 4 != in.size() || j < 2) return std::nullopt;
        pad++;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = base64_value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned n = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                       (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
    // Non-zero bits after the last byte are ignored, as Go's (non-strict) StdEncoding does.
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A salt for the decoy (from a throwaway htpasswd run): any valid one costs the same.
constexpr std::string_view kDecoySalt = "7ayC6.g5nT6jHst2a.Sxse";

}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(std::string_view h) {
  constexpr std::string_view kScheme = "basic ";
  if (h.size() < kScheme.size() || !iequals(h.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  h.remove_prefix(kScheme.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  auto decoded = decode_base64(h);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool bcrypt_verify(std::string_view password, std::string_view hash) {
  if (bcrypt_cost(hash) < 0) return false;
  // crypt takes C strings: a NUL inside the password would cut it short.
  if (password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string pw(password), setting(hash);
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(), sizeof(crypt_data));
  if (!out || std::strlen(out) != hash.size()) return false;
  return CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  int cost = 10;
  if (!users_.empty()) {
    cost = 4;
    for (const auto& [u, h] : users_) cost = std::max(cost, bcrypt_cost(h));
  }
  decoy_ = "$2b$";
  decoy_ += static_cast<char>('0' + cost / 10);
  decoy_ += static_cast<char>('0' + cost % 10);
  decoy_ += "$";
  decoy_ += kDecoySalt;
}

std::string BasicAuth::key(const std::string& user, const std::string& hash,
                           const std::string& password) const {
  // Length-prefixed, so no two (user, hash, password) triples share an input.
  std::string in;
  for (const std::string* s : {&user, &hash, &password}) {
    in += std::to_string(s->size());
    in += ':';
    in += *s;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(in.data(), in.size());
  return std::string(reinterpret_cast<const char*>(md), len);
}

void BasicAuth::remember(std::string k, bool ok) {
  if (cache_.count(k)) return;
  while (cache_.size() >= kCacheEntries && !order_.empty()) {
    cache_.erase(order_.front());
    order_.pop_front();
  }
  cache_.emplace(k, ok);
  order_.push_back(std::move(k));
}

void BasicAuth::remember_for_test(const std::string& user, const std::string& password, bool ok) {
  auto it = users_.find(user);
  remember(key(user, it == users_.end() ? decoy_ : it->second, password), ok);
}

bool BasicAuth::check(const std::string& user, const std::string& password) {
  auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& hash = known ? it->second : decoy_;
  std::string k = key(user, hash, password);
  if (auto c = cache_.find(k); c != cache_.end()) return c->second && known;
  bool ok;
  if (known) {
    ok = bcrypt_verify(password, hash);
  } else {
    // The same work as a known user's check (the setting has no hash part: nothing can match).
    (void)bcrypt_verify(password, decoy_ + std::string(31, '.'));
    ok = false;
  }
  remember(std::move(k), ok);
  return ok;
}

bool TokenBucket::allow(std::chrono::steady_clock::time_point now) {
  if (r_.interval.count() <= 0) return true;
  if (last_) {
    const double earned = std::chrono::duration<double>(now - *last_).count() /
                          std::chrono::duration<double>(r_.interval).count();
    if (earned > 0) tokens_ = std::min<double>(r_.burst, tokens_ + earned);
  }
  if (!last_ || now > *last_) last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace hostflow::exporter
