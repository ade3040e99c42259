// --web.config.file (exporter/http/web_config.cc, web_auth.cc): the exporter-toolkit file format
// parsed without I/O, the Authorization header, bcrypt through libcrypt, the rate limit.
// Expected values come from the toolkit's documentation and from htpasswd (apache2-utils).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "http/web_auth.h"
#include "http/web_config.h"

namespace hostflow::exporter {
namespace {

using namespace std::chrono_literals;

// htpasswd -nbBC 10 alice alice-secret; Python's crypt.crypt("bob-secret", $2b$ cost 10).
constexpr const char* kAliceHash = "$2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G";
constexpr const char* kBobHash = "$2b$10$k0jtJAcftr7.a0Ppp6vYweXeILYEQ6XiFPVWOHkft58Ee9Ntcy/x2";

std::string error_of(const std::string& yaml) {
  auto r = parse_web_config(yaml, "/etc/hostflow");
  return r.ok() ? std::string("(accepted)") : r.error().message();
}

TEST(WebConfig, TheToolkitsSampleFileIsAcceptedWithItsDefaults) {
  // prometheus/exporter-toolkit docs/web-config.yml, paths made relative.
  const std::string yaml = R"(tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  alice: $2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G
)";
  auto r = parse_web_config(yaml, "/etc/hostflow");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->tls.enabled);
  EXPECT_EQ(r->tls.cert_file, "/etc/hostflow/server.crt");
  EXPECT_EQ(r->tls.key_file, "/etc/hostflow/server.key");
  EXPECT_EQ(r->tls.min_version, 0x0303);
  EXPECT_EQ(r->tls.max_version, 0x0304);
  EXPECT_EQ(r->tls.client_auth, ClientAuth::kNoClientCert);
  EXPECT_TRUE(r->tls.prefer_server_cipher_suites);
  EXPECT_TRUE(r->http2);
  ASSERT_EQ(r->users.size(), 1u);
  EXPECT_EQ(r->users.at("alice"), kAliceHash);
  EXPECT_EQ(r->rate_limit.interval, 0ns);
}

TEST(WebConfig, AnEmptyFileMeansPlainHttpWithoutAuthentication) {
  for (const char* yaml : {"", "---\n", "# nothing\n", "tls_server_config:\n"}) {
    auto r = parse_web_config(yaml, ".");
    ASSERT_TRUE(r.ok()) << yaml << ": " << r.error().message();
    EXPECT_FALSE(r->tls.enabled);
    EXPECT_TRUE(r->users.empty());
  }
}

TEST(WebConfig, EveryKeyOfTheFormatIsReadAndGoNamesBecomeOpenSslNames) {
  const std::string yaml = R"(tls_server_config:
  cert: |
    -----BEGIN CERTIFICATE-----
    x
    -----END CERTIFICATE-----
  key: "inline key"
  client_ca_file: /abs/ca.pem
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [prometheus.example, 192.0.2.7]
  min_version: TLS13
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    - TLS_AES_128_GCM_SHA256
    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Content-Security-Policy: "default-src 'self'"
    Strict-Transport-Security: max-age=31536000
    X-XSS-Protection: "1; mode=block"
basic_auth_users:
  alice: $2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G
  bob: $2b$10$k0jtJAcftr7.a0Ppp6vYweXeILYEQ6XiFPVWOHkft58Ee9Ntcy/x2
rate_limit:
  interval: 1m30s
  burst: 5
)";
  auto r = parse_web_config(yaml, "rel/dir");
  ASSERT_TRUE(r.ok()) << r.error().message();
  const TlsServerConfig& t = r->tls;
  EXPECT_EQ(t.cert, "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(t.key, "inline key");
  EXPECT_EQ(t.client_ca_file, "/abs/ca.pem");  // absolute: not joined
  EXPECT_EQ(t.client_auth, ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(t.client_allowed_sans, (std::vector<std::string>{"prometheus.example", "192.0.2.7"}));
  EXPECT_EQ(t.min_version, 0x0304);
  // The TLS 1.3 suite is accepted and dropped, as Go ignores it.
  EXPECT_EQ(t.cipher_suites, (std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256",
                                                       "ECDHE-ECDSA-CHACHA20-POLY1305"}));
  EXPECT_EQ(t.curve_preferences, (std::vector<std::string>{"X25519", "P-256"}));
  EXPECT_FALSE(t.prefer_server_cipher_suites);
  EXPECT_FALSE(r->http2);
  ASSERT_EQ(r->headers.size(), 5u);
  EXPECT_EQ(r->headers[0], (std::pair<std::string, std::string>{"X-Frame-Options", "deny"}));
  EXPECT_EQ(r->users.size(), 2u);
  EXPECT_EQ(r->rate_limit.interval, 90s);
  EXPECT_EQ(r->rate_limit.burst, 5);
}

TEST(WebConfig, RelativeFilesAreJoinedWithTheConfigFilesDirectory) {
  auto r =
      parse_web_config("tls_server_config: {cert_file: a.crt, key_file: ../k/a.key}", "/etc/x");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->tls.cert_file, "/etc/x/a.crt");
  EXPECT_EQ(r->tls.key_file, "/etc/x/../k/a.key");
  EXPECT_EQ(config_dir_of("/etc/x/web.yml"), "/etc/x");
  EXPECT_EQ(config_dir_of("web.yml"), ".");
  EXPECT_EQ(config_dir_of("/web.yml"), "/");
  auto here = parse_web_config("tls_server_config: {cert_file: a.crt, key_file: a.key}", ".");
  ASSERT_TRUE(here.ok());
  EXPECT_EQ(here->tls.cert_file, "a.crt");
}

TEST(WebConfig, UnknownKeysAndInvalidValuesAreOneLineErrorsNamingTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {"tls_config: {}", "tls_config: unknown key"},
      {"tls_server_config: {cert_file: a, key_file: b, ciphers: []}",
       "tls_server_config.ciphers: unknown key"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS14}",
       "tls_server_config.min_version: unknown TLS version \"TLS14\""},
      {"tls_server_config: {cert_file: a, key_file: b, cipher_suites: [RC4]}",
       "tls_server_config.cipher_suites: unknown cipher \"RC4\""},
      {"tls_server_config: {cert_file: a, key_file: b, curve_preferences: [P-256]}",
       "tls_server_config.curve_preferences: unknown curve \"P-256\""},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: Maybe}",
       "tls_server_config.client_auth_type: unknown value \"Maybe\""},
      {"tls_server_config: {cert_file: a}", "tls_server_config: missing one of key or key_file"},
      {"tls_server_config: {key: k}", "tls_server_config: missing one of cert or cert_file"},
      {"tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}",
       "client_auth_type is NoClientCert"},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: "
       "RequireAndVerifyClientCert}",
       "needs client_ca_file or client_ca"},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequestClientCert, "
       "client_allowed_sans: [x]}",
       "client_allowed_sans: needs client_auth_type RequireAnyClientCert"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}",
       "min_version is above max_version"},
      // Found by fuzz_web_config: without a cert (TLS off) the order was not checked.
      {"tls_server_config: {min_version: TLS13, max_version: TLS12}",
       "min_version is above max_version"},
      {"tls_server_config: {cert_file: a, cert: b, key_file: c}", "set cert or cert_file"},
      {"tls_server_config: {cert_file: a, key_file: b, prefer_server_cipher_suites: maybe}",
       "want true or false"},
      {"http_server_config: {headers: {Server: x}}",
       "http_server_config.headers.Server: this header can not be configured"},
      {"http_server_config: {headers: {X-Frame-Options: allow}}",
       "invalid value \"allow\" (want deny or sameorigin)"},
      {"http_server_config: {headers: {X-Content-Type-Options: sniff}}", "(want nosniff)"},
      {"http_server_config: {headers: {X-XSS-Protection: \"a\\r\\nSet-Cookie: x\"}}",
       "cannot hold a line break"},
      {"http_server_config: {http3: true}", "http_server_config.http3: unknown key"},
      {"basic_auth_users: {alice: hunter2}", "basic_auth_users.\"alice\": not a bcrypt hash"},
      {"basic_auth_users: {alice: $2x$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G}",
       "not a bcrypt hash"},
      {"basic_auth_users: [alice]", "basic_auth_users: want a map, got a list"},
      {"rate_limit: {interval: soon, burst: 1}", "rate_limit.interval: want a duration"},
      {"rate_limit: {interval: -1s, burst: 1}", "rate_limit.interval: want a duration"},
      {"rate_limit: {interval: 1s, burst: -3}", "rate_limit.burst: want a whole number"},
      {"rate_limit: {interval: 1s}", "rate_limit.burst: must be at least 1"},
      {"rate_limit: {interval: 1s, burst: 1, period: 2}", "rate_limit.period: unknown key"},
      {"basic_auth_users:\n  alice: $2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G\n"
       "  alice: $2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3G\n",
       "basic_auth_users.alice: set twice"},
      {"[1, 2]", "web config: want a map"},
      {"tls_server_config: {cert_file: [a]}", "tls_server_config.cert_file: want a string"},
      {"tls_server_config: {", "web config: not valid YAML"},
  };
  for (const auto& [yaml, want] : cases) {
    const std::string err = error_of(yaml);
    EXPECT_NE(err.find(want), std::string::npos) << yaml << "\n  got: " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
    EXPECT_EQ(err.rfind("web config: ", 0), 0u) << err;
  }
}

TEST(WebConfig, TheRequireClientCertAliasAndAllFiveClientAuthTypesAreKnown) {
  const std::pair<const char*, ClientAuth> cases[] = {
      {"NoClientCert", ClientAuth::kNoClientCert},
      {"RequestClientCert", ClientAuth::kRequestClientCert},
      {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
      {"RequireClientCert", ClientAuth::kRequireAnyClientCert},
      {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
      {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
  };
  for (const auto& [name, want] : cases) {
    const bool ca = want != ClientAuth::kNoClientCert;
    auto r = parse_web_config(std::string("tls_server_config: {cert_file: a, key_file: b, "
                                          "client_auth_type: ") +
                                  name + (ca ? ", client_ca_file: ca}" : "}"),
                              "/d");
    ASSERT_TRUE(r.ok()) << name << ": " << r.error().message();
    EXPECT_EQ(r->tls.client_auth, want) << name;
  }
}

TEST(WebConfig, DurationsAreGoDurationsOrIntegerNanoseconds) {
  std::chrono::nanoseconds d{};
  EXPECT_TRUE(parse_go_duration("1s", &d));
  EXPECT_EQ(d, 1s);
  EXPECT_TRUE(parse_go_duration("1.5h", &d));
  EXPECT_EQ(d, 90min);
  EXPECT_TRUE(parse_go_duration("2m3s4ms5us6ns", &d));
  EXPECT_EQ(d, 2min + 3s + 4ms + 5us + 6ns);
  EXPECT_TRUE(parse_go_duration("0", &d));
  EXPECT_EQ(d, 0ns);
  for (const char* bad : {"", "1", "s", "1x", "1.s.", "-1s", "1 s", "99999999999h"})
    EXPECT_FALSE(parse_go_duration(bad, &d)) << bad;
  auto r = parse_web_config("rate_limit: {interval: 250000000, burst: 2}", ".");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->rate_limit.interval, 250ms);
  auto off = parse_web_config("rate_limit: {interval: 0, burst: 0}", ".");
  ASSERT_TRUE(off.ok()) << off.error().message();
  EXPECT_EQ(off->rate_limit.interval, 0ns);
}

TEST(WebConfig, BcryptHashesOfTheThreeVersionsAreRecognisedWithTheirCost) {
  EXPECT_EQ(bcrypt_cost(kAliceHash), 10);
  EXPECT_EQ(bcrypt_cost(kBobHash), 10);
  EXPECT_EQ(bcrypt_cost("$2a$04$7ayC6.g5nT6jHst2a.SxsegghxVJ13PbfrY.yfkZFbh0QZCo4/H/S"), 4);
  EXPECT_EQ(bcrypt_cost("$2y$03$7ayC6.g5nT6jHst2a.SxsegghxVJ13PbfrY.yfkZFbh0QZCo4/H/S"), -1);
  EXPECT_EQ(bcrypt_cost("$2y$10$UZlKVGmlM08lQm/Lg9pfaue81WmVRdtxYrTTFXsh0g7z5G04r4o3"), -1);
  EXPECT_EQ(bcrypt_cost("$1$abc$"), -1);
}

TEST(WebConfig, TooLargeFilesAreRefusedBeforeParsing) {
  const std::string big(kMaxWebConfigBytes + 1, '#');
  EXPECT_NE(error_of(big).find("larger than 1 MiB"), std::string::npos);
}

// The Authorization header.

TEST(WebAuthHeader, BasicCredentialsAreDecodedAndSplitAtTheFirstColon) {
  // base64("alice:pa:ss") = YWxpY2U6cGE6c3M=
  auto c = parse_basic_authorization("Basic YWxpY2U6cGE6c3M=");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "pa:ss");
  auto lower = parse_basic_authorization("basic   YWxpY2U6cGE6c3M=");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->user, "alice");
  auto empty = parse_basic_authorization("Basic Og==");  // ":"
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->user, "");
  EXPECT_EQ(empty->password, "");
}

TEST(WebAuthHeader, OtherSchemesAndMalformedBase64AreNotCredentials) {
  for (const char* bad :
       {"", "Basic", "Basic ", "Bearer YWxpY2U6cGE=", "Basic YWxpY2U", "Basic YWxpY2U6cGE",
        "Basic YWxp*2U6cGE=", "Basic YWxpY2U=", "Basic YWxpY2U6cGE=x", "BasicYWxpY2U6cGE="})
    EXPECT_FALSE(parse_basic_authorization(bad).has_value()) << bad;
}

// bcrypt through libcrypt.

TEST(WebAuthBcrypt, HtpasswdAndPythonHashesVerifyTheirPasswordAndNoOther) {
  EXPECT_TRUE(bcrypt_verify("alice-secret", kAliceHash));
  EXPECT_FALSE(bcrypt_verify("alice-secreT", kAliceHash));
  EXPECT_TRUE(bcrypt_verify("bob-secret", kBobHash));
  EXPECT_FALSE(bcrypt_verify("", kBobHash));
  EXPECT_FALSE(bcrypt_verify("bob-secret", "not a hash"));
}

TEST(WebAuthBcrypt, UsersAreCheckedAndUnknownOnesNeverPass) {
  std::map<std::string, std::string> users{{"alice", kAliceHash}, {"bob", kBobHash}};
  BasicAuth auth(users);
  EXPECT_TRUE(auth.check("alice", "alice-secret"));
  EXPECT_TRUE(auth.check("bob", "bob-secret"));
  EXPECT_FALSE(auth.check("alice", "bob-secret"));
  EXPECT_FALSE(auth.check("carol", "alice-secret"));
  // The decoy is a hash of the highest cost among the users.
  EXPECT_EQ(bcrypt_cost(auth.decoy_setting() + std::string(31, 'a')), 10);
}

TEST(WebAuthBcrypt, ResultsAreCachedBoundedAndAWrongPasswordIsNotTheRightOne) {
  std::map<std::string, std::string> users{{"alice", kAliceHash}};
  BasicAuth auth(users);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(auth.check("alice", "alice-secret"));
  const auto first = std::chrono::steady_clock::now() - t0;
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(auth.check("alice", "alice-secret"));
  const auto fifty = std::chrono::steady_clock::now() - t1;
  EXPECT_LT(fifty, first) << "cached checks must not run bcrypt again";
  EXPECT_FALSE(auth.check("alice", "wrong"));
  EXPECT_FALSE(auth.check("alice", "wrong"));  // cached as a failure
  for (int i = 0; i < 3 * static_cast<int>(BasicAuth::kCacheEntries); ++i)
    auth.remember_for_test("alice", "pw" + std::to_string(i), false);
  EXPECT_LE(auth.cache_size(), BasicAuth::kCacheEntries);
  EXPECT_TRUE(auth.check("alice", "alice-secret"));
}

// The rate limit.

TEST(WebRateLimit, ABurstPassesThenOneRequestPerInterval) {
  TokenBucket b(RateLimit{std::chrono::seconds(1), 3});
  const auto t = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(b.allow(t));
  EXPECT_TRUE(b.allow(t));
  EXPECT_TRUE(b.allow(t));
  EXPECT_FALSE(b.allow(t));
  EXPECT_FALSE(b.allow(t + 999ms));
  EXPECT_TRUE(b.allow(t + 1001ms));
  EXPECT_FALSE(b.allow(t + 1002ms));
  // Tokens never exceed the burst however long it was idle.
  const auto later = t + std::chrono::hours(2);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.allow(later));
  EXPECT_FALSE(b.allow(later));
}

TEST(WebRateLimit, AZeroIntervalAllowsEverything) {
  TokenBucket b(RateLimit{});
  const auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.allow(t));
}

}  // namespace
}  // namespace hostflow::exporter
