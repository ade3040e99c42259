// --output.otlp.* over HTTP/protobuf and gRPC (issue 15), the exporter under its seccomp filter in
// kill mode with every feature on. HTTP: the pushed requests are decoded by `protoc --decode` with
// the OpenTelemetry project's own .proto files (npm, tests/otlp/package.json), so a wrong field
// number or type fails. gRPC: a receiver made of @grpc/grpc-js and @grpc/proto-loader
// (tests/otlp/grpc_receiver.js) serves MetricsService/Export from the same files, decodes each
// request with them and saves it encoded again, which protoc then reads as for HTTP. Either way the
// decoded values equal the exporter's /metrics of the same snapshot. A receiver answering 503 with
// Retry-After (gRPC: UNAVAILABLE; RESOURCE_EXHAUSTED with a RetryInfo) and then 200 (OK) gets each
// request's data once (the retry waits for Retry-After / RetryInfo); one answering 400 (gRPC:
// INVALID_ARGUMENT) is never retried. gRPC runs over mutual TLS to a name with two addresses
// (127.0.0.1 and ::1). Label `daemon`.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

using json = nlohmann::json;

// A receiver in MODE, on a port of its own: tests/otlp/receiver.py (HTTP) or, with `grpc`,
// tests/otlp/grpc_receiver.js (`extra`: its certificate, key and client CA for TLS). Both log
// "N STATUS SHA256 MONOTONIC_S PATH DETAIL" and save each request as req-N.bin.
struct Receiver {
  TempDir dir;
  Process proc;
  int port = 0;
  explicit Receiver(const std::string& mode, bool grpc = false,
                    const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {grpc ? "node" : "python3",
                                     grpc ? HOSTFLOW_OTLP_GRPC_RECEIVER : HOSTFLOW_OTLP_RECEIVER,
                                     dir.path(), mode};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = Process(argv, dir.path() + "/out.log");
    wait_until([&] { return !read_file_if_exists(dir.path() + "/port").empty(); },
               std::chrono::seconds(20));
    port = std::atoi(read_file_if_exists(dir.path() + "/port").c_str());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  struct Entry {
    int n = 0, status = 0;
    std::string sha, path, content_type;  // gRPC: "header=...,encoding=..." for content_type
    double t = 0;
  };
  std::vector<Entry> log() const {
    std::vector<Entry> out;
    std::istringstream in(read_file_if_exists(dir.path() + "/log"));
    Entry e;
    while (in >> e.n >> e.status >> e.sha >> e.t >> e.path >> e.content_type) out.push_back(e);
    return out;
  }
  std::string body(int n) const { return dir.path() + "/req-" + std::to_string(n) + ".bin"; }
};

// protoc's text format of the request, with the official definitions.
std::string decode(const std::string& body_path) {
  const std::string protos = HOSTFLOW_OTLP_PROTOS;
  const RunResult r =
      run({"sh", "-c",
           "protoc -I '" + protos +
               "' --decode=opentelemetry.proto.collector.metrics.v1."
               "ExportMetricsServiceRequest "
               "opentelemetry/proto/collector/metrics/v1/metrics_service.proto < '" +
               body_path + "'"},
          std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// A C-escaped string of protoc's text format.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); i++) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c >= '0' && c <= '7') {
      int v = 0, k = 0;
      while (k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') v = v * 8 + (s[i++] - '0'), k++;
      i--;
      out += static_cast<char>(v);
    } else {
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
    }
  }
  return out;
}

struct Decoded {
  std::map<std::string, double> series;         // name{sorted labels,}
  std::map<std::string, std::string> kind;      // name -> gauge | sum-monotonic | sum
  std::map<std::string, std::string> unit;      // name -> unit
  std::map<std::string, std::string> resource;  // attributes
  std::uint64_t min_start = UINT64_MAX, max_time = 0;
  bool cumulative = true;  // every sum's temporality
  std::size_t points = 0;
};

// Reads protoc's text output: blocks `name {` ... `}`, fields `key: value`.
Decoded parse_decoded(const std::string& text) {
  Decoded d;
  std::vector<std::string> stack;
  std::string metric, kv_key, kv_value, unit;
  std::map<std::string, std::string> attrs;
  double value = 0;
  bool monotonic = false;
  std::istringstream in(text);
  std::string line;
  auto in_block = [&](const char* b) {
    return std::find(stack.begin(), stack.end(), b) != stack.end();
  };
  while (std::getline(in, line)) {
    const std::size_t a = line.find_first_not_of(' ');
    if (a == std::string::npos) continue;
    line = line.substr(a);
    if (line.size() > 2 && line.compare(line.size() - 2, 2, " {") == 0) {
      stack.push_back(line.substr(0, line.size() - 2));
      if (stack.back() == "data_points") attrs.clear(), value = 0;
      if (stack.back() == "metrics") monotonic = false;
      continue;
    }
    if (line == "}") {
      const std::string closed = stack.back();
      stack.pop_back();
      if (closed == "attributes") {
        if (in_block("data_points"))
          attrs[kv_key] = kv_value;
        else if (in_block("resource"))
          d.resource[kv_key] = kv_value;
      } else if (closed == "data_points") {
        std::string k = metric + "{";
        for (const auto& [n, v] : attrs) k += n + "=\"" + v + "\",";
        d.series[k + "}"] = value;
        d.points++;
      } else if (closed == "sum") {
        d.kind[metric] = monotonic ? "sum-monotonic" : "sum";
      } else if (closed == "gauge") {
        d.kind[metric] = "gauge";
      }
      continue;
    }
    const std::size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string val = line.substr(colon + 2);
    if (val.size() >= 2 && val.front() == '"') val = unescape(val.substr(1, val.size() - 2));
    if (!stack.empty() && stack.back() == "metrics") {
      if (key == "name") metric = val;
      if (key == "unit") d.unit[metric] = val;
    } else if (key == "key") {
      kv_key = val;
    } else if (key == "string_value") {
      kv_value = val;
    } else if (key == "as_double") {
      value = std::stod(val);
    } else if (key == "start_time_unix_nano") {
      d.min_start = std::min<std::uint64_t>(d.min_start, std::stoull(val));
    } else if (key == "time_unix_nano") {
      d.max_time = std::max<std::uint64_t>(d.max_time, std::stoull(val));
    } else if (key == "is_monotonic") {
      monotonic = val == "true";
    } else if (key == "aggregation_temporality") {
      d.cumulative &= val == "AGGREGATION_TEMPORALITY_CUMULATIVE";
    }
  }
  return d;
}

std::string diff(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  std::string out;
  int n = 0;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if ((it == b.end() || it->second != v) && n++ < 8)
      out += "  " + k + " " + std::to_string(v) + " vs " +
             (it == b.end() ? std::string("missing") : std::to_string(it->second)) + "\n";
  }
  for (const auto& [k, v] : b)
    if (!a.count(k) && n++ < 16) out += "  only in the second: " + k + "\n";
  return out;
}

void require_tools() {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("protoc"), "protoc (protobuf-compiler) is not installed");
  HF_REQUIRE(have_command("python3"), "python3 is not installed");
  HF_REQUIRE(std::ifstream(std::string(HOSTFLOW_OTLP_PROTOS) +
                           "/opentelemetry/proto/metrics/v1/metrics.proto")
                 .good(),
             "the OpenTelemetry .proto files are not installed: (cd tests/otlp && npm ci)");
}

void require_grpc_tools() {
  require_tools();
  HF_REQUIRE(have_command("node"), "node (nodejs) is not installed");
  HF_REQUIRE(have_command("openssl"), "openssl is not installed");
  HF_REQUIRE(
      std::ifstream(std::string(HOSTFLOW_OTLP_NODE_MODULES) + "/@grpc/grpc-js/package.json").good(),
      "@grpc/grpc-js is not installed: (cd tests/otlp && npm ci)");
}

// Waits until the receiver's latest request and the exporter's /metrics show one rendering and
// returns that request decoded (`own`: the scrape). Fails the test when they never agree.
Decoded latest_push_equal_to_scrape(Stack& stack, const Receiver& rx,
                                    std::map<std::string, double>* own) {
  Decoded d;
  std::map<std::string, double> own_rendering;
  bool same = false;
  for (int attempt = 0; attempt < 20 && !same; attempt++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const auto log = rx.log();
    if (log.empty()) continue;
    *own = canonical_series(stack.scrape());
    d = parse_decoded(decode(rx.body(log.back().n)));
    if (rx.log().size() != log.size()) continue;  // a newer push arrived meanwhile
    own_rendering.clear();
    for (const auto& [k, v] : *own)
      if (!is_scrape_tail(k)) own_rendering[k] = v;
    same = own_rendering == d.series;
  }
  EXPECT_TRUE(same) << "never equal\n" << diff(d.series, own_rendering) << stack_logs(stack);
  return d;
}

// Every request the receiver logged went to `path` with `detail` (HTTP: the content type) and got
// `ok`; the self-metrics (`own`) count accepted pushes, no rejection and a last success.
void expect_every_push_accepted(Stack& stack, const Receiver& rx,
                                std::map<std::string, double>& own, const std::string& path,
                                const std::string& detail, int ok) {
  for (const auto& e : rx.log()) {
    EXPECT_EQ(e.path, path);
    EXPECT_EQ(e.content_type, detail);
    EXPECT_EQ(e.status, ok);
  }
  EXPECT_GE(own["hostflow_exporter_otlp_exports_total{}"], 1);
  EXPECT_EQ(own["hostflow_exporter_otlp_export_failures_total{reason=\"rejected\",}"], 0);
  EXPECT_GT(own["hostflow_exporter_otlp_last_success_timestamp_seconds{}"], 1.6e9);
  EXPECT_TRUE(stack.exporter().running()) << stack.exporter().log();
}

// Types, units, times and resource attributes as OpenTelemetry's Prometheus compatibility says.
void expect_otlp_shape(const Decoded& d) {
  EXPECT_GT(d.points, 50u);
  EXPECT_EQ(d.series.at("hostflow_sampler_up{}"), 1);
  EXPECT_EQ(d.kind.at("hostflow_interface_receive_bytes_total"), "sum-monotonic");
  EXPECT_EQ(d.unit.at("hostflow_interface_receive_bytes_total"), "By");
  EXPECT_EQ(d.kind.at("hostflow_sampler_up"), "gauge");
  EXPECT_EQ(d.kind.at("hostflow_build_info"), "sum");  // an info series: non-monotonic Sum
  EXPECT_TRUE(d.cumulative);
  EXPECT_GT(d.min_start, 1'600'000'000'000'000'000ull);
  EXPECT_LE(d.min_start, d.max_time);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(d.resource.at("service.name"), "hostflow-exporter");
  EXPECT_EQ(d.resource.at("host.name"), host);
  EXPECT_EQ(d.resource.at("service.instance.id"), host);
}

TEST(Otlp, PushesDecodedWithTheOfficialProtosEqualTheExportersOwnScrape) {
  require_tools();
  Receiver rx("ok");
  Topology t;
  StackOptions o = in_netns(t.ns.name(), "3s");
  o.exporter_args = {"--output.otlp.endpoint=" + rx.url(), "--output.otlp.interval=500ms"};
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(stack);

  std::map<std::string, double> own;
  const Decoded d = latest_push_equal_to_scrape(stack, rx, &own);
  if (HasFailure()) return;
  expect_otlp_shape(d);
  // The receiver saw the standard path and content type.
  expect_every_push_accepted(stack, rx, own, "/v1/metrics", "application/x-protobuf", 200);
}

// A Stack whose exporter pushes to `endpoint` with `args`, fresh; nullopt-free: fails the test.
struct PushStack {
  Topology t;
  std::unique_ptr<Stack> stack;
  PushStack(const std::vector<std::string>& args, const std::string& interval,
            const std::vector<std::string>& hosts = {}) {
    StackOptions o = in_netns(t.ns.name(), interval);
    o.exporter_args = args;
    o.exporter_hosts = hosts;
    stack = std::make_unique<Stack>(o);
    stack->start_sampler();
    stack->start_exporter();
    EXPECT_TRUE(stack->wait_fresh(0, std::chrono::seconds(20))) << stack_logs(*stack);
  }
};

// The first request was refused with `refused` and retried no earlier than `min_wait_s` later
// with the same data, accepted with `ok`; no accepted data arrived twice; the self-metrics count
// the retry and no failure.
void expect_retried_once_then_delivered_once(Stack& stack, const Receiver& rx, int refused, int ok,
                                             double min_wait_s) {
  ASSERT_TRUE(wait_until([&] { return rx.log().size() >= 4; }, std::chrono::seconds(30)))
      << stack_logs(stack);
  const auto log = rx.log();
  ASSERT_EQ(log[0].status, refused);
  ASSERT_EQ(log[1].status, ok);
  EXPECT_EQ(log[1].sha, log[0].sha);
  EXPECT_GE(log[1].t - log[0].t, min_wait_s);
  std::set<std::string> accepted;
  for (const auto& e : log) {
    if (e.status == ok) {
      EXPECT_TRUE(accepted.insert(e.sha).second) << "delivered twice: " << e.n;
    }
  }
  // And it decodes with the official definitions.
  EXPECT_EQ(parse_decoded(decode(rx.body(1))).series.count("hostflow_sampler_up{}"), 1u);
  const auto own = canonical_series(stack.scrape());
  EXPECT_GE(own.at("hostflow_exporter_otlp_retries_total{}"), 1);
  EXPECT_EQ(own.at("hostflow_exporter_otlp_export_failures_total{reason=\"retries_exhausted\",}"),
            0);
  EXPECT_TRUE(stack.exporter().running()) << stack.exporter().log();
}

// Every request was refused with `refused` and none was sent twice; counted as rejections, and
// /status's OTLP output shows the last refusal as `error` said it.
void expect_refusals_never_retried(Stack& stack, const Receiver& rx, int refused,
                                   const std::string& error) {
  ASSERT_TRUE(wait_until([&] { return rx.log().size() >= 3; }, std::chrono::seconds(30)))
      << stack_logs(stack);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // time a retry would have had
  const auto log = rx.log();
  std::set<std::string> seen;
  for (const auto& e : log) {
    EXPECT_EQ(e.status, refused);
    EXPECT_TRUE(seen.insert(e.sha).second) << "request " << e.n << " was a retry";
  }
  const auto own = canonical_series(stack.scrape());
  EXPECT_EQ(own.at("hostflow_exporter_otlp_retries_total{}"), 0);
  EXPECT_GE(own.at("hostflow_exporter_otlp_export_failures_total{reason=\"rejected\",}"), 3);
  EXPECT_EQ(own.at("hostflow_exporter_otlp_exports_total{}"), 0);
  const HttpResult st = http_get(stack.url("/status"));
  ASSERT_EQ(st.status, 200) << st.body;
  const json doc = json::parse(st.body, nullptr, false);
  ASSERT_TRUE(doc.is_object() && doc["outputs"].is_array()) << st.body;
  const json& outputs = doc["outputs"];
  const auto otlp = std::find_if(outputs.begin(), outputs.end(),
                                 [](const json& o) { return o.value("name", "") == "otlp"; });
  ASSERT_NE(otlp, outputs.end()) << st.body;
  ASSERT_TRUE((*otlp)["last_error"].is_object()) << st.body;
  EXPECT_EQ((*otlp)["last_error"]["message"], error) << st.body;
  EXPECT_GT((*otlp)["last_error"]["time"].get<std::string>(), "2026") << st.body;
  EXPECT_FALSE((*otlp)["healthy"].get<bool>()) << st.body;
  EXPECT_TRUE(stack.exporter().running()) << stack.exporter().log();
}

TEST(Otlp, A503WithRetryAfterThenA200DeliversTheDataOnce) {
  require_tools();
  Receiver rx("503-once");
  PushStack p({"--output.otlp.endpoint=" + rx.url(), "--output.otlp.interval=300ms",
               "--output.otlp.compression=none"},
              "1s");
  if (HasFailure()) return;
  expect_retried_once_then_delivered_once(*p.stack, rx, 503, 200, 1.95);  // Retry-After: 2
}

TEST(Otlp, A400IsNotRetried) {
  require_tools();
  Receiver rx("400");
  PushStack p({"--output.otlp.endpoint=" + rx.url(), "--output.otlp.interval=300ms"}, "1s");
  if (HasFailure()) return;
  expect_refusals_never_retried(*p.stack, rx, 400, "HTTP 400: test receiver says no");
}

// A CA, a server certificate for otlp.hostflow.test and a client certificate, from the openssl
// CLI; readable by the exporter's user (a test directory, not a key store).
struct GrpcPki {
  TempDir dir;
  std::string p(const std::string& name) const { return dir.path() + "/" + name; }
  GrpcPki() {
    ::chmod(dir.path().c_str(), 0755);
    sh_ok("cd " + dir.path() +
          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
          "ca.key -out ca.crt -days 2 -subj /CN=otlp-test-ca 2>/dev/null"
          " && for leaf in server:DNS:otlp.hostflow.test:serverAuth "
          "client:DNS:hostflow.example:clientAuth; do"
          " n=${leaf%%:*}; rest=${leaf#*:}; usage=${rest##*:}; san=${rest%:*};"
          " openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key"
          " -out $n.csr -subj /CN=$n 2>/dev/null || exit 1;"
          " printf 'subjectAltName=%s\\nextendedKeyUsage=%s\\n' $san $usage > $n.ext;"
          " openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt"
          " -days 2 -extfile $n.ext 2>/dev/null || exit 1; done"
          " && chmod 0644 *");
  }
};

TEST(Otlp, GrpcOverMutualTlsToANameWithTwoAddressesDecodedByGrpcJsEqualsTheExportersOwnScrape) {
  require_grpc_tools();
  GrpcPki pki;
  Receiver rx("ok", true, {pki.p("server.crt"), pki.p("server.key"), pki.p("ca.crt")});
  const std::string name = "otlp.hostflow.test";
  PushStack p({"--output.otlp.endpoint=https://" + name + ":" + std::to_string(rx.port),
               "--output.otlp.protocol=grpc", "--output.otlp.interval=500ms",
               "--output.otlp.certificate=" + pki.p("ca.crt"),
               "--output.otlp.client-certificate=" + pki.p("client.crt"),
               "--output.otlp.client-key=" + pki.p("client.key"),
               "--output.otlp.headers=X-Hostflow-Test=yes%3Dreally"},
              "3s", {"127.0.0.1 " + name, "::1 " + name});
  if (HasFailure()) return;
  std::map<std::string, double> own;
  const Decoded d = latest_push_equal_to_scrape(*p.stack, rx, &own);
  if (HasFailure()) return;
  expect_otlp_shape(d);
  // The official method, the header as metadata, gzip as gRPC's message compression.
  expect_every_push_accepted(*p.stack, rx, own,
                             "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                             "header=yes=really,encoding=gzip", 0);
}

constexpr int kGrpcOk = 0, kGrpcInvalidArgument = 3, kGrpcResourceExhausted = 8,
              kGrpcUnavailable = 14;

TEST(Otlp, GrpcUnavailableThenOkDeliversTheDataOnce) {
  require_grpc_tools();
  Receiver rx("unavailable-once", true);
  PushStack p({"--output.otlp.endpoint=" + rx.url(), "--output.otlp.protocol=grpc",
               "--output.otlp.interval=300ms", "--output.otlp.compression=none"},
              "1s");
  if (HasFailure()) return;
  // The exporter's own backoff: 1 s before the first retry.
  expect_retried_once_then_delivered_once(*p.stack, rx, kGrpcUnavailable, kGrpcOk, 0.95);
}

TEST(Otlp, GrpcResourceExhaustedWithRetryInfoWaitsItsDelayThenDeliversOnce) {
  require_grpc_tools();
  Receiver rx("exhausted-retryinfo-once", true);
  PushStack p({"--output.otlp.endpoint=" + rx.url(), "--output.otlp.protocol=grpc",
               "--output.otlp.interval=300ms"},
              "1s");
  if (HasFailure()) return;
  expect_retried_once_then_delivered_once(*p.stack, rx, kGrpcResourceExhausted, kGrpcOk,
                                          1.95);  // RetryInfo: 2 s
}

TEST(Otlp, GrpcInvalidArgumentIsNotRetried) {
  require_grpc_tools();
  Receiver rx("invalid-argument", true);
  PushStack p({"--output.otlp.endpoint=" + rx.url(), "--output.otlp.protocol=grpc",
               "--output.otlp.interval=300ms"},
              "1s");
  if (HasFailure()) return;
  expect_refusals_never_retried(*p.stack, rx, kGrpcInvalidArgument,
                                "gRPC INVALID_ARGUMENT: test receiver says no");
}

}  // namespace
}  // namespace hostflow::test
