#include "http/web_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <set>

namespace hostflow::exporter {

namespace {

// Go's secure cipher suites (crypto/tls CipherSuites(), also the RSA key exchange ones older Go
// listed there, so files written for older exporters still load) -> OpenSSL's names. The TLS 1.3
// suites are accepted and ignored, as Go ignores them (kTls13).
struct CipherName {
  std::string_view go, openssl;
};
constexpr std::string_view kTls13 = "";
constexpr std::array<CipherName, 17> kCiphers = {{
    {"TLS_AES_128_GCM_SHA256", kTls13},
    {"TLS_AES_256_GCM_SHA384", kTls13},
    {"TLS_CHACHA20_POLY1305_SHA256", kTls13},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
}};

constexpr std::array<CipherName, 4> kCurves = {{
    {"CurveP256", "P-256"},
    {"CurveP384", "P-384"},
    {"CurveP521", "P-521"},
    {"X25519", "X25519"},
}};

struct VersionName {
  std::string_view name;
  std::uint16_t wire;
};
constexpr std::array<VersionName, 4> kVersions = {{
    {"TLS10", 0x0301},
    {"TLS11", 0x0302},
    {"TLS12", 0x0303},
    {"TLS13", 0x0304},
}};

// The five headers the toolkit allows, and the values it accepts (empty: any).
struct HeaderRule {
  std::string_view name;
  std::array<std::string_view, 2> values;
};
constexpr std::array<HeaderRule, 5> kHeaders = {{
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff", ""}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
}};

struct ClientAuthName {
  std::string_view name;
  ClientAuth value;
};
constexpr std::array<ClientAuthName, 7> kClientAuth = {{
    {"", ClientAuth::kNoClientCert},
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

// Thrown inside this file only, turned into the Result at the top.
struct Bad {
  std::string line;
};

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The error stays one line whatever the keys hold: control characters as \xNN.
std::string one_line(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "a scalar";
  }
}

// The (key, value) pairs of a map node, refusing non-scalar and duplicate keys. Null: none.
std::vector<std::pair<std::string, YAML::Node>> entries(const YAML::Node& n,
                                                        const std::string& where) {
  std::vector<std::pair<std::string, YAML::Node>> out;
  if (n.IsNull()) return out;
  if (!n.IsMap()) throw Bad{where + ": want a map, got " + kind_of(n)};
  std::set<std::string> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar())
      throw Bad{where + ": a key must be a string, got " + kind_of(it->first)};
    std::string key = it->first.Scalar();
    if (!seen.insert(key).second)
      throw Bad{(where.empty() ? "" : where + ".") + key + ": set twice"};
    out.emplace_back(std::move(key), it->second);
  }
  return out;
}

std::string join(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

// A scalar as text; null is "" (yaml.v2 leaves the field empty).
std::string string_of(const YAML::Node& n, const std::string& where) {
  if (n.IsNull()) return "";
  if (!n.IsScalar()) throw Bad{where + ": want a string, got " + kind_of(n)};
  return n.Scalar();
}

bool bool_of(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) throw Bad{where + ": want true or false, got " + kind_of(n)};
  // YAML 1.1's booleans, as yaml.v2 resolves them.
  static constexpr std::array<std::string_view, 8> kTrue = {"true", "True", "TRUE", "yes",
                                                            "Yes",  "YES",  "on",   "On"};
  static constexpr std::array<std::string_view, 8> kFalse = {"false", "False", "FALSE", "no",
                                                             "No",    "NO",    "off",   "Off"};
  const std::string& s = n.Scalar();
  for (std::string_view t : kTrue)
    if (s == t) return true;
  for (std::string_view f : kFalse)
    if (s == f) return false;
  throw Bad{where + ": want true or false, got " + quoted(s)};
}

std::vector<std::string> strings_of(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) throw Bad{where + ": want a list of strings, got " + kind_of(n)};
  for (std::size_t i = 0; i < n.size(); ++i)
    out.push_back(string_of(n[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

// Go's filepath.Join(dir, p) for a relative p (the toolkit's config_util.JoinDir).
std::string join_dir(std::string_view dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  std::string d(dir.empty() ? "." : dir);
  if (d == ".") return p;
  if (d.back() != '/') d += '/';
  return d + p;
}

void parse_tls(const YAML::Node& node, std::string_view dir, TlsServerConfig& t) {
  const std::string w = "tls_server_config";
  std::string client_auth_text;
  bool sans_given = false;
  for (auto& [k, v] : entries(node, w)) {
    const std::string where = join(w, k);
    if (k == "cert") {
      t.cert = string_of(v, where);
    } else if (k == "key") {
      t.key = string_of(v, where);
    } else if (k == "client_ca") {
      t.client_ca = string_of(v, where);
    } else if (k == "cert_file") {
      t.cert_file = string_of(v, where);
    } else if (k == "key_file") {
      t.key_file = string_of(v, where);
    } else if (k == "client_ca_file") {
      t.client_ca_file = string_of(v, where);
    } else if (k == "client_auth_type") {
      client_auth_text = string_of(v, where);
      bool found = false;
      for (const auto& c : kClientAuth)
        if (c.name == client_auth_text) {
          t.client_auth = c.value;
          found = true;
        }
      if (!found)
        throw Bad{where + ": unknown value " + quoted(client_auth_text) +
                  " (want NoClientCert, RequestClientCert, RequireAnyClientCert, "
                  "VerifyClientCertIfGiven or RequireAndVerifyClientCert)"};
    } else if (k == "client_allowed_sans") {
      sans_given = !v.IsNull();
      t.client_allowed_sans = strings_of(v, where);
    } else if (k == "min_version" || k == "max_version") {
      const std::string s = string_of(v, where);
      const VersionName* found = nullptr;
      for (const auto& ver : kVersions)
        if (ver.name == s) found = &ver;
      if (!found)
        throw Bad{where + ": unknown TLS version " + quoted(s) +
                  " (want TLS10, TLS11, TLS12 or TLS13)"};
      (k == "min_version" ? t.min_version : t.max_version) = found->wire;
    } else if (k == "cipher_suites") {
      for (const std::string& s : strings_of(v, where)) {
        const CipherName* found = nullptr;
        for (const auto& c : kCiphers)
          if (c.go == s) found = &c;
        if (!found)
          throw Bad{where + ": unknown cipher " + quoted(s) +
                    " (want a name from Go's tls.CipherSuites(), e.g. "
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)"};
        if (!found->openssl.empty()) t.cipher_suites.emplace_back(found->openssl);
      }
    } else if (k == "curve_preferences") {
      for (const std::string& s : strings_of(v, where)) {
        const CipherName* found = nullptr;
        for (const auto& c : kCurves)
          if (c.go == s) found = &c;
        if (!found)
          throw Bad{where + ": unknown curve " + quoted(s) +
                    " (want CurveP256, CurveP384, CurveP521 or X25519)"};
        t.curve_preferences.emplace_back(found->openssl);
      }
    } else if (k == "prefer_server_cipher_suites") {
      t.prefer_server_cipher_suites = bool_of(v, where);
    } else {
      throw Bad{where + ": unknown key"};
    }
  }
  // The toolkit's IsEnabled: any of these turns TLS on, and then cert and key are required.
  t.enabled = !t.cert_file.empty() || !t.cert.empty() || !t.key_file.empty() || !t.key.empty() ||
              !t.client_ca_file.empty() || !t.client_ca.empty() || !client_auth_text.empty();
  // A wrong order is refused even without TLS on: the file says something that cannot be meant,
  // and the server's TLS setup relies on min <= max once someone adds a cert.
  if (t.min_version > t.max_version) throw Bad{w + ": min_version is above max_version"};
  if (!t.enabled) return;
  if (t.cert_file.empty() && t.cert.empty()) throw Bad{w + ": missing one of cert or cert_file"};
  if (t.key_file.empty() && t.key.empty()) throw Bad{w + ": missing one of key or key_file"};
  if (!t.cert_file.empty() && !t.cert.empty()) throw Bad{w + ": set cert or cert_file, not both"};
  if (!t.key_file.empty() && !t.key.empty()) throw Bad{w + ": set key or key_file, not both"};
  if (!t.client_ca_file.empty() && !t.client_ca.empty())
    throw Bad{w + ": set client_ca or client_ca_file, not both"};
  const bool have_ca = !t.client_ca_file.empty() || !t.client_ca.empty();
  if (have_ca && t.client_auth == ClientAuth::kNoClientCert)
    throw Bad{w +
              ": a client CA is set but client_auth_type is NoClientCert (want e.g. "
              "RequireAndVerifyClientCert)"};
  if (!have_ca && client_cert_verified(t.client_auth))
    throw Bad{w + ".client_auth_type: " + client_auth_name(t.client_auth) +
              " needs client_ca_file or client_ca to verify against"};
  if (sans_given && !client_cert_required(t.client_auth))
    throw Bad{w +
              ".client_allowed_sans: needs client_auth_type RequireAnyClientCert or "
              "RequireAndVerifyClientCert (got " +
              client_auth_name(t.client_auth) + ")"};
  t.cert_file = join_dir(dir, t.cert_file);
  t.key_file = join_dir(dir, t.key_file);
  t.client_ca_file = join_dir(dir, t.client_ca_file);
}

void parse_http(const YAML::Node& node, WebConfigFile& c) {
  const std::string w = "http_server_config";
  for (auto& [k, v] : entries(node, w)) {
    const std::string where = join(w, k);
    if (k == "http2") {
      c.http2 = bool_of(v, where);
    } else if (k == "headers") {
      for (auto& [name, value] : entries(v, where)) {
        const std::string hw = join(where, name);
        const HeaderRule* rule = nullptr;
        for (const auto& h : kHeaders)
          if (h.name == name) rule = &h;
        if (!rule)
          throw Bad{hw +
                    ": this header can not be configured (want Content-Security-Policy, "
                    "X-Frame-Options, X-Content-Type-Options, X-XSS-Protection or "
                    "Strict-Transport-Security)"};
        std::string s = string_of(value, hw);
        for (char ch : s)
          if (ch == '\r' || ch == '\n' || ch == '\0')
            throw Bad{hw + ": a header value cannot hold a line break or NUL"};
        if (!rule->values[0].empty() && s != rule->values[0] && s != rule->values[1]) {
          std::string want(rule->values[0]);
          if (!rule->values[1].empty()) want += " or " + std::string(rule->values[1]);
          throw Bad{hw + ": invalid value " + quoted(s) + " (want " + want + ")"};
        }
        c.headers.emplace_back(name, std::move(s));
      }
    } else {
      throw Bad{where + ": unknown key"};
    }
  }
}

void parse_users(const YAML::Node& node, WebConfigFile& c) {
  const std::string w = "basic_auth_users";
  for (auto& [user, v] : entries(node, w)) {
    const std::string where = w + "." + quoted(user);
    std::string hash = string_of(v, where);
    if (bcrypt_cost(hash) < 0)
      throw Bad{where +
                ": not a bcrypt hash (want $2a$, $2b$ or $2y$, cost 4-31, 60 "
                "characters, e.g. from `htpasswd -nBC 10 USER`)"};
    c.users.emplace(user, std::move(hash));
  }
}

bool parse_int(std::string_view s, long long max, long long* out) {
  if (s.empty() || s.size() > 18) return false;
  long long v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

void parse_rate_limit(const YAML::Node& node, WebConfigFile& c) {
  const std::string w = "rate_limit";
  for (auto& [k, v] : entries(node, w)) {
    const std::string where = join(w, k);
    if (k == "interval") {
      const std::string s = string_of(v, where);
      long long ns = 0;
      if (parse_int(s, 1'000'000'000'000'000'000LL, &ns)) {  // yaml.v2: an integer is nanoseconds
        c.rate_limit.interval = std::chrono::nanoseconds(ns);
      } else if (!parse_go_duration(s, &c.rate_limit.interval)) {
        throw Bad{where + ": want a duration like 1s or 100ms, got " + quoted(s)};
      }
    } else if (k == "burst") {
      const std::string s = string_of(v, where);
      long long b = 0;
      if (!parse_int(s, 1'000'000'000, &b))
        throw Bad{where + ": want a whole number of requests, got " + quoted(s)};
      c.rate_limit.burst = static_cast<int>(b);
    } else {
      throw Bad{where + ": unknown key"};
    }
  }
  if (c.rate_limit.interval.count() > 0 && c.rate_limit.burst < 1)
    throw Bad{w +
              ".burst: must be at least 1 when an interval is set (0 would refuse every "
              "request)"};
}

}  // namespace

const char* client_auth_name(ClientAuth a) {
  switch (a) {
    case ClientAuth::kNoClientCert:
      return "NoClientCert";
    case ClientAuth::kRequestClientCert:
      return "RequestClientCert";
    case ClientAuth::kRequireAnyClientCert:
      return "RequireAnyClientCert";
    case ClientAuth::kVerifyClientCertIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuth::kRequireAndVerifyClientCert:
      return "RequireAndVerifyClientCert";
  }
  return "?";
}

bool client_cert_required(ClientAuth a) {
  return a == ClientAuth::kRequireAnyClientCert || a == ClientAuth::kRequireAndVerifyClientCert;
}

bool client_cert_verified(ClientAuth a) {
  return a == ClientAuth::kVerifyClientCertIfGiven || a == ClientAuth::kRequireAndVerifyClientCert;
}

bool parse_go_duration(std::string_view s, std::chrono::nanoseconds* out) {
  if (s == "0") {
    *out = std::chrono::nanoseconds(0);
    return true;
  }
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return false;
    s.remove_prefix(i);
    std::size_t u = 0;
    while (u < s.size() && !(s[u] >= '0' && s[u] <= '9') && s[u] != '.') ++u;
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else
      return false;
    total += v * mult;
    if (total > 9.2e18L) return false;  // Go's int64 nanoseconds
  }
  *out = std::chrono::nanoseconds(static_cast<std::int64_t>(total));
  return true;
}

int bcrypt_cost(std::string_view h) {
  // $2x$NN$ + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet.
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return -1;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return -1;
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') return -1;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return -1;
  for (std::size_t i = 7; i < h.size(); ++i) {
    const char c = h[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/';
    if (!ok) return -1;
  }
  return cost;
}

std::string config_dir_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Result<WebConfigFile> parse_web_config(std::string_view yaml, std::string_view dir) {
  if (yaml.size() > kMaxWebConfigBytes)
    return Error{0, "web config: the file is larger than 1 MiB"};
  WebConfigFile c;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsNull() && !root.IsMap())
      return Error{0,
                   "web config: want a map of tls_server_config, http_server_config, "
                   "basic_auth_users and rate_limit, got " +
                       kind_of(root)};
    for (auto& [k, v] : entries(root, "")) {
      if (k == "tls_server_config")
        parse_tls(v, dir, c.tls);
      else if (k == "http_server_config")
        parse_http(v, c);
      else if (k == "basic_auth_users")
        parse_users(v, c);
      else if (k == "rate_limit")
        parse_rate_limit(v, c);
      else
        throw Bad{k +
                  ": unknown key (want tls_server_config, http_server_config, "
                  "basic_auth_users or rate_limit)"};
    }
  } catch (const Bad& b) {
    return Error{0, one_line("web config: " + b.line)};
  } catch (const YAML::Exception& e) {
    return Error{0, one_line(std::string("web config: not valid YAML: ") + e.what())};
  }
  return c;
}

}  // namespace hostflow::exporter
