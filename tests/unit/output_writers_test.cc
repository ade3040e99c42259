// The output writers (exporter/outputs): --output.textfile's atomic replacement (content, mode
// under any umask, leftovers and symlinks at the temporary name), the --output.* flag and OTEL_*
// environment resolution (flags win, the spec's endpoint rules), and the key=value list parser.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "outputs/otlp_env.h"
#include "outputs/outputs_config.h"
#include "outputs/textfile.h"

namespace {

namespace fs = std::filesystem;
using namespace hostflow::exporter;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hf-outputs-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TextfileConfig textfile_at(const fs::path& p, const std::string& mode = "0644") {
  OutputsConfig c;
  c.textfile.path = p.string();
  c.textfile.mode_text = mode;
  EXPECT_TRUE(validate_outputs(c).ok());
  return c.textfile;
}

TEST(Textfile, ReplacesTheFileWithExactlyTheTextAndLeavesNoTemporaryFile) {
  TempDir d;
  TextfileOutput out(textfile_at(d.path / "hostflow.prom"));
  ASSERT_TRUE(out.open().ok());
  ASSERT_TRUE(out.write_now("a 1\n").ok());
  ASSERT_TRUE(out.write_now("# TYPE b gauge\nb 2\n").ok());
  EXPECT_EQ(slurp(d.path / "hostflow.prom"), "# TYPE b gauge\nb 2\n");
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.path)) {
    files++;
    EXPECT_EQ(e.path().filename(), "hostflow.prom");
  }
  EXPECT_EQ(files, 1u);
}

TEST(Textfile, GetsTheConfiguredModeWhateverTheUmask) {
  TempDir d;
  const mode_t old = ::umask(077);
  TextfileOutput out(textfile_at(d.path / "a.prom"));
  ASSERT_TRUE(out.open().ok());
  ASSERT_TRUE(out.write_now("a 1\n").ok());
  TextfileOutput out2(textfile_at(d.path / "b.prom", "0640"));
  ASSERT_TRUE(out2.open().ok());
  ASSERT_TRUE(out2.write_now("b 1\n").ok());
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((d.path / "a.prom").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat((d.path / "b.prom").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(Textfile, ALeftoverOrSymlinkAtTheTemporaryNameIsRemovedNotFollowed) {
  TempDir d;
  const fs::path victim = d.path / "victim";
  std::ofstream(victim) << "keep\n";
  fs::create_symlink(victim, d.path / ".x.prom.tmp");
  TextfileOutput out(textfile_at(d.path / "x.prom"));
  ASSERT_TRUE(out.open().ok());
  ASSERT_TRUE(out.write_now("x 1\n").ok());
  EXPECT_EQ(slurp(victim), "keep\n");
  EXPECT_EQ(slurp(d.path / "x.prom"), "x 1\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(d.path / ".x.prom.tmp")));
}

TEST(Textfile, AMissingDirectoryFailsAtOpenNamingIt) {
  TextfileOutput out(textfile_at("/nonexistent-hf/dir/x.prom"));
  auto r = out.open();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("/nonexistent-hf/dir"), std::string::npos);
}

TEST(Textfile, TheThreadWritesTheLatestSubmittedRenderingAndCountsIt) {
  TempDir d;
  TextfileOutput out(textfile_at(d.path / "t.prom"));
  ASSERT_TRUE(out.open().ok());
  out.submit(std::make_shared<const Exposition>("old 1\n"));
  out.submit(std::make_shared<const Exposition>("new 2\n"));
  out.start();
  out.stop();  // writes what is pending before it returns
  EXPECT_EQ(slurp(d.path / "t.prom"), "new 2\n");
  EXPECT_EQ(out.stats().writes, 1u);
  EXPECT_EQ(out.stats().errors, 0u);
  EXPECT_GT(out.stats().last_success_seconds, 1.6e9);
}

TEST(OutputFlags, TextfileNeedsAnAbsolutePathAndAModeWithoutExecuteBits) {
  for (const char* bad : {"rel.prom", "/tmp/", "/tmp/.."}) {
    OutputsConfig c;
    c.textfile.path = bad;
    EXPECT_FALSE(validate_outputs(c).ok()) << bad;
  }
  for (const char* bad : {"0755", "4644", "644x", "", "99"}) {
    OutputsConfig c;
    c.textfile.path = "/tmp/x.prom";
    c.textfile.mode_text = bad;
    EXPECT_FALSE(validate_outputs(c).ok()) << bad;
  }
  OutputsConfig c;
  c.textfile.path = "/tmp/x.prom";
  c.textfile.mode_text = "600";
  ASSERT_TRUE(validate_outputs(c).ok());
  EXPECT_EQ(c.textfile.mode, 0600u);
}

TEST(OtlpConfig, IsOffWithoutAnEndpointAndRefusesItsOtherFlagsThen) {
  OutputsConfig c;
  ASSERT_TRUE(resolve_otlp(c.otlp).ok());
  EXPECT_FALSE(c.otlp.enabled);
  c.otlp.protocol = "grpc";
  EXPECT_FALSE(resolve_otlp(c.otlp).ok());
  EXPECT_FALSE(validate_outputs(c).ok());
}

TEST(OtlpConfig, FlagsWinOverTheEnvironmentAndTheMetricsVariablesOverTheGeneralOnes) {
  OutputsConfig c;
  c.otlp.env = {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/base/"},
                {"OTEL_EXPORTER_OTLP_HEADERS", "a=general"},
                {"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "a=metrics,b=x%20y"},
                {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "none"},
                {"OTEL_METRIC_EXPORT_INTERVAL", "15000"},
                {"OTEL_RESOURCE_ATTRIBUTES", "service.name=fromattrs,deployment.environment=lab"},
                {"OTEL_SERVICE_NAME", "fromname"}};
  ASSERT_TRUE(resolve_otlp(c.otlp).ok());
  EXPECT_TRUE(c.otlp.enabled);
  EXPECT_FALSE(c.otlp.grpc);
  // OTEL_EXPORTER_OTLP_ENDPOINT is a base: /v1/metrics is appended to its path.
  EXPECT_EQ(c.otlp.url, "http://env:4318/base/v1/metrics");
  EXPECT_EQ(c.otlp.header_list, (KeyValues{{"a", "metrics"}, {"b", "x y"}}));
  EXPECT_EQ(c.otlp.timeout.count(), 2500);
  EXPECT_EQ(c.otlp.interval.count(), 15000);
  EXPECT_FALSE(c.otlp.gzip);
  EXPECT_EQ(c.otlp.resource,
            (KeyValues{{"deployment.environment", "lab"}, {"service.name", "fromname"}}));

  c.otlp.endpoint = "https://flag:4318";
  c.otlp.headers = "c=flag";
  c.otlp.timeout_text = "3s";
  c.otlp.interval_text = "5s";
  c.otlp.compression = "gzip";
  c.otlp.env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = "http://metrics:4318/exact";
  ASSERT_TRUE(resolve_otlp(c.otlp).ok());
  EXPECT_EQ(c.otlp.url, "https://flag:4318/v1/metrics");
  EXPECT_TRUE(c.otlp.tls);
  EXPECT_EQ(c.otlp.header_list, (KeyValues{{"c", "flag"}}));
  EXPECT_EQ(c.otlp.timeout.count(), 3000);
  EXPECT_EQ(c.otlp.interval.count(), 5000);
  EXPECT_TRUE(c.otlp.gzip);

  // The signal-specific variable is used as it is.
  OutputsConfig m;
  m.otlp.env = {{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4318/exact"},
                {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"}};
  ASSERT_TRUE(resolve_otlp(m.otlp).ok());
  EXPECT_EQ(m.otlp.url, "http://metrics:4318/exact");
}

TEST(OtlpConfig, GrpcTakesHostAndPortAndBadValuesNameTheirSource) {
  OutputsConfig c;
  c.otlp.endpoint = "http://127.0.0.1:4317";
  c.otlp.protocol = "grpc";
  ASSERT_TRUE(resolve_otlp(c.otlp).ok());
  EXPECT_TRUE(c.otlp.grpc);
  EXPECT_EQ(c.otlp.url, "127.0.0.1:4317");

  struct Case {
    std::map<std::string, std::string> env;
    std::string endpoint, expect;
  } cases[] = {
      {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}, "http://h:1", "OTEL_EXPORTER_OTLP_PROTOCOL"},
      {{{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}}, "http://h:1", "OTEL_EXPORTER_OTLP_TIMEOUT"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}, "http://h:1", "OTEL_EXPORTER_OTLP_HEADERS"},
      {{{"OTEL_RESOURCE_ATTRIBUTES", "a=%zz"}}, "http://h:1", "OTEL_RESOURCE_ATTRIBUTES"},
      {{}, "ftp://h:1", "--output.otlp.endpoint"},
      {{}, "http://user@h:1", "--output.otlp.endpoint"},
      {{{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem"}}, "http://h:1", "not https"},
  };
  for (const Case& k : cases) {
    OutputsConfig b;
    b.otlp.env = k.env;
    b.otlp.endpoint = k.endpoint;
    auto r = resolve_otlp(b.otlp);
    ASSERT_FALSE(r.ok()) << k.expect;
    EXPECT_NE(r.error().message().find(k.expect), std::string::npos) << r.error().message();
  }
}

TEST(OtelKeyValues, DecodesPercentEscapesTrimsAndRefusesWhatWouldBreakAHeader) {
  auto kv = parse_otel_key_values(" a = 1 ,, b=%3D%2C%20x ,c=");
  ASSERT_TRUE(kv);
  EXPECT_EQ(*kv, (KeyValues{{"a", "1"}, {"b", "=, x"}, {"c", ""}}));
  EXPECT_TRUE(parse_otel_key_values("")->empty());
  for (const char* bad :
       {"a", "=v", "a b=1", "a=%", "a=%4", "a=%0D%0Aevil: 1", "a=\x01", "k\xc3\xa9=1"})
    EXPECT_FALSE(parse_otel_key_values(bad)) << bad;
  std::string many;
  for (int i = 0; i < 65; i++) many += "k" + std::to_string(i) + "=v,";
  EXPECT_FALSE(parse_otel_key_values(many));
}

TEST(OtlpUrl, AUserAndPasswordInItAreNeverShownInStatusOrTheLog) {
  EXPECT_EQ(url_for_display("https://user:s3cret@otlp.example:4318/v1/metrics"),
            "https://***@otlp.example:4318/v1/metrics");
  EXPECT_EQ(url_for_display("http://tok@host"), "http://***@host");
  EXPECT_EQ(url_for_display("http://a:b@c@host/x@y?q=@#@"), "http://***@host/x@y?q=@#@");
  EXPECT_EQ(url_for_display("http://host:4318/v1/metrics?x=a@b"),
            "http://host:4318/v1/metrics?x=a@b");
  EXPECT_EQ(url_for_display("no scheme@host"), "no scheme@host");
  EXPECT_EQ(url_for_display(""), "");
}

TEST(RetryAfter, ReadsDeltaSecondsOnly) {
  EXPECT_EQ(parse_retry_after("3"), 3u);
  EXPECT_EQ(parse_retry_after(" 120 "), 120u);
  EXPECT_EQ(parse_retry_after("9999999"), 86400u);
  EXPECT_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after(""));
}

TEST(OtlpConfig, GrpcIsAcceptedAndItsHeadersMustBeValidMetadataKeys) {
  OutputsConfig c;
  c.otlp.endpoint = "https://collector:4317";
  c.otlp.protocol = "grpc";
  c.otlp.headers = "Authorization=Bearer%20x,x-tenant=a";
  ASSERT_TRUE(validate_outputs(c).ok());
  EXPECT_TRUE(c.otlp.grpc);
  EXPECT_TRUE(c.otlp.tls);
  for (const char* bad : {"grpc-timeout=1", "x-data-bin=1", "a!b=1"}) {
    OutputsConfig b;
    b.otlp.endpoint = "http://collector:4317";
    b.otlp.protocol = "grpc";
    b.otlp.headers = bad;
    EXPECT_FALSE(validate_outputs(b).ok()) << bad;
    b.otlp.protocol = "http/protobuf";
    EXPECT_TRUE(validate_outputs(b).ok()) << bad;  // fine as HTTP headers
  }
}

// google.rpc.Status with `details`, serialized as a gRPC server sends it.
std::string status_with(const std::vector<google::protobuf::Message*>& details) {
  google::rpc::Status st;
  st.set_code(8);
  for (auto* d : details) st.add_details()->PackFrom(*d);
  return st.SerializeAsString();
}

TEST(GrpcRetryDelay, IsTheRetryInfoDelayRoundedUpAndNothingElse) {
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(2);
  info.mutable_retry_delay()->set_nanos(500'000'000);
  google::rpc::Status other;  // a detail of another type first
  other.set_message("not a RetryInfo");
  EXPECT_EQ(parse_grpc_retry_delay(status_with({&other, &info})), 3u);
  info.mutable_retry_delay()->set_nanos(0);
  EXPECT_EQ(parse_grpc_retry_delay(status_with({&info})), 2u);
  info.mutable_retry_delay()->set_seconds(10'000'000);
  EXPECT_EQ(parse_grpc_retry_delay(status_with({&info})), 86400u);
  info.mutable_retry_delay()->set_seconds(-1);
  EXPECT_FALSE(parse_grpc_retry_delay(status_with({&info})));
  EXPECT_FALSE(parse_grpc_retry_delay(status_with({&other})));
  EXPECT_FALSE(parse_grpc_retry_delay(""));
  EXPECT_FALSE(parse_grpc_retry_delay("\xff\xff\xff"));
}

}  // namespace
