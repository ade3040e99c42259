// TC counters in the exporter (exporter/areas/tc): the TC model and rates between snapshots, the
// /health document and the --web.gzip flag's help. The bpf source's own parts (interface
// patterns, tc filter decoding) are in sampler_bpf_test.cc.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "areas/tc/tc_model.h"
#include "config.h"
#include "http/health.h"
#include "segment_util.h"

namespace hostflow::test {
namespace {

shm::BpfCounterRecord rec(shm::SnapshotBuilder& b, std::int32_t ifindex, const char* name,
                          std::uint64_t in_p, std::uint64_t out_p, std::uint64_t attached = 5) {
  shm::BpfCounterRecord r{};
  r.ifindex = ifindex;
  r.state = static_cast<std::uint8_t>(shm::BpfAttachState::kAttached);
  r.name = b.add_string(name, 16);
  r.attached_real_ns = attached;
  r.ingress_packets = in_p;
  r.ingress_bytes = in_p * 100;
  r.egress_packets = out_p;
  r.egress_bytes = out_p * 100;
  return r;
}

std::optional<shm::Snapshot> snapshot(shm::SnapshotBuilder& b, SegmentBuf& seg, std::uint64_t gen) {
  if (!seg.publish(b, gen)) return std::nullopt;
  std::string err;
  return read_segment(seg.data(), seg.size, &err);
}

TEST(TcModel, ValidatesRecordsAndComputesRatesBetweenSnapshots) {
  SegmentBuf seg;
  shm::SnapshotBuilder b;
  b.add(rec(b, 2, "eth0", 10, 20));
  b.add(rec(b, 3, "veth\n\xff", 0, 0));
  b.add(rec(b, 2, "dup", 1, 1));  // duplicate ifindex: ignored, counted
  shm::BpfCounterRecord bad = rec(b, 4, "x", 1, 1);
  bad.state = 9;
  b.add(bad);
  shm::BpfAttachRecord a{};
  a.collections = 3;
  b.add(a);
  auto s1 = snapshot(b, seg, 1);
  ASSERT_TRUE(s1);
  exporter::TcModel m1 = exporter::build_tc_model(*s1);
  EXPECT_TRUE(m1.present);
  EXPECT_EQ(m1.invalid_records, 2u);
  ASSERT_EQ(m1.interfaces.size(), 2u);
  EXPECT_EQ(m1.interfaces[0].name, "eth0");
  EXPECT_EQ(m1.interfaces[1].name, "veth\xef\xbf\xbd\xef\xbf\xbd") << "sanitised label";
  EXPECT_EQ(m1.attach.collections, 3u);
  exporter::TcRates rates;
  rates.update(m1, 1'000'000'000);
  EXPECT_FALSE(m1.interfaces[0].has_rate) << "no rate from one snapshot";

  b.reset();
  b.add(rec(b, 2, "eth0", 30, 20));   // +20 ingress packets in 2 s
  b.add(rec(b, 3, "veth", 5, 0, 6));  // re-attached: no rate across attachments
  b.add(a);
  auto s2 = snapshot(b, seg, 2);
  ASSERT_TRUE(s2);
  exporter::TcModel m2 = exporter::build_tc_model(*s2);
  rates.update(m2, 3'000'000'000);
  ASSERT_EQ(m2.interfaces.size(), 2u);
  const auto& eth = m2.interfaces[0];
  ASSERT_TRUE(eth.has_rate);
  EXPECT_DOUBLE_EQ(eth.packets_rate[0], 10.0);
  EXPECT_DOUBLE_EQ(eth.bytes_rate[0], 1000.0);
  EXPECT_DOUBLE_EQ(eth.packets_rate[1], 0.0);
  EXPECT_TRUE(eth.active);
  EXPECT_FALSE(m2.interfaces[1].has_rate);
  EXPECT_FALSE(m2.interfaces[1].active);

  // A snapshot without the bpf sections: nothing present.
  b.reset();
  b.touch<shm::LinkRecord>();
  auto s3 = snapshot(b, seg, 3);
  ASSERT_TRUE(s3);
  EXPECT_FALSE(exporter::build_tc_model(*s3).present);
}

TEST(Health, DocumentFields) {
  exporter::HealthInput in;
  in.fresh = true;
  in.now_real_ns = 1'701'945'000'000'000'000ull;  // 2023-12-07T10:30:00Z
  in.port = 9471;
  in.requests = 42;
  in.metrics = 16;
  in.collections = 8;
  in.last_collection_real_ns = 1'701'944'995'000'000'000ull;
  auto r = exporter::health_response(in);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.owned);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["timestamp"], "2023-12-07T10:30:00Z");
  EXPECT_EQ(j["server"]["running"], true);
  EXPECT_EQ(j["server"]["port"], 9471);
  EXPECT_EQ(j["server"]["requests"], 42);
  EXPECT_EQ(j["server"]["metrics"], 16);
  EXPECT_EQ(j["server"]["collections"], 8);
  EXPECT_EQ(j["server"]["last_collection"], "2023-12-07T10:29:55Z");
  in.fresh = false;
  in.reason = "snapshot older than 3 sampler intervals \xff";
  in.last_collection_real_ns = 0;
  r = exporter::health_response(in);
  EXPECT_EQ(r.status, 503u);
  j = nlohmann::json::parse(r.owned);
  EXPECT_EQ(j["status"], "stale");
  EXPECT_TRUE(j["server"]["last_collection"].is_null());
  EXPECT_FALSE(j["reason"].get<std::string>().empty());
}

}  // namespace
}  // namespace hostflow::test

// Issue 12 (8): --help said "--web.gzip,--no-web.gzip{false}" while gzip is on by default.
TEST(TcFlags, HelpSaysGzipIsOnAndBothFormsWork) {
  auto parse = [](std::vector<std::string> args, std::string* help = nullptr) {
    CLI::App app{"t"};
    hostflow::exporter::ExporterConfig cfg;
    hostflow::exporter::add_flags(app, cfg);
    if (help) *help = app.help();
    std::vector<const char*> argv = {"t"};
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return cfg.web.gzip;
  };
  std::string help;
  EXPECT_TRUE(parse({}, &help));
  EXPECT_TRUE(parse({"--web.gzip"}));
  EXPECT_FALSE(parse({"--no-web.gzip"}));
  EXPECT_THROW(parse({"--web.gzip", "--no-web.gzip"}), CLI::ParseError);
  const auto at = help.find("--web.gzip");
  ASSERT_NE(at, std::string::npos) << help;
  const std::string line = help.substr(at, help.find('\n', help.find('\n', at) + 1) - at);
  EXPECT_EQ(line.find("{false}"), std::string::npos) << line;
  EXPECT_NE(line.find("on by default"), std::string::npos) << line;
}
