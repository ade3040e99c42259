// The OTLP conversion (exporter/outputs/otlp_convert.h): the request a push keeps and updates in
// place must serialize byte for byte as a request built from scratch, through any sequence of
// renderings in which series appear, disappear, are relabelled, and families come, go, move or
// change type. The truth is to_otlp's fresh request (no state) and protobuf's MessageDifferencer.
#include "outputs/otlp_convert.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hostflow::exporter {
namespace {

using metrics::Family;
using metrics::FamilySet;
using metrics::Type;
using Request = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;

const KeyValues kResource = {{"service.name", "hostflow-exporter"}, {"host.name", "h1"}};

Request fresh(const FamilySet& set, const KeyValues& resource, const OtlpStamp& stamp) {
  Request r;
  to_otlp(set, resource, stamp, &r);
  return r;
}

// The kept request equals a fresh one: serialized bytes, and message by message (which names the
// first difference).
void expect_same_as_fresh(OtlpConverter& conv, const FamilySet& set, const KeyValues& resource,
                          const OtlpStamp& stamp, const std::string& step) {
  SCOPED_TRACE(step);
  const Request& kept = conv.update(set, resource, stamp);
  const Request want = fresh(set, resource, stamp);
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(want, kept)) << diff;
  EXPECT_EQ(kept.SerializeAsString(), want.SerializeAsString());
}

Family counter(const std::string& name, const std::vector<std::vector<std::string>>& series,
               double base) {
  Family f(name, "help of " + name, Type::kCounter);
  f.set_label_names({"device", "netns"});
  double v = base;
  for (const auto& s : series) f.add_values({s[0], s[1]}, v++);
  return f;
}

TEST(OtlpConverter, AKeptRequestEqualsAFreshConversionThroughSeriesAndFamilyChurn) {
  OtlpConverter conv;
  const std::vector<std::vector<std::string>> base = {
      {"eth0", ""}, {"veth1", "c1"}, {"veth2", "c2"}};
  auto rendering = [&](int step) {
    FamilySet set;
    auto series = base;
    if (step == 2) series.insert(series.begin() + 1, {"veth9", "c9"});      // a series appears
    if (step == 3) series.erase(series.begin());                            // one goes away
    if (step == 4) series[1][1] = "c1-renamed";                             // a label value changes
    if (step == 5) series[2][0] = "a-much-longer-interface-name-than-sso";  // and grows
    if (step == 6) set.add(Family("hostflow_new_total", "new", Type::kCounter).add(1));  // first
    if (step != 7) set.add(counter("hostflow_interface_rx_bytes_total", series, 10 * step));
    Family g("hostflow_interface_mtu", "MTU", step == 8 ? Type::kCounter : Type::kGauge);
    g.set_label_names({step == 9 ? "dev" : "device"});  // step 9: a label renamed
    for (const auto& s : series) g.add_values({s[0]}, 1500);
    set.add(std::move(g));
    Family info("hostflow_container_info", "containers", Type::kGauge);
    if (step == 10)
      info.set_label_names({"id", "name", "runtime"});  // a label more
    else
      info.set_label_names({"id", "name"});
    for (int c = 0; c < (step == 11 ? 0 : 3); c++) {  // step 11: the family is empty
      const std::string id = "c" + std::to_string(c);
      if (step == 10)
        info.add_values({id, "name-" + id, "lxc"}, 1);
      else
        info.add_values({id, "name-" + id}, 1);
    }
    set.add(std::move(info));
    set.add(Family("hostflow_exporter_up", "", Type::kUntyped).add(step == 12 ? 0 : 1));
    if (step == 12) set.add(Family("hostflow_temperature_celsius", "t", Type::kGauge).add(-3.5));
    return set;
  };
  // Each step from the step before it, then every step again from the step after it (the
  // changes undone), then straight from step 0.
  for (int pass = 0; pass < 2; pass++)
    for (int step = 0; step <= 12; step++) {
      const OtlpStamp stamp{1000, 2000 + static_cast<std::uint64_t>(step)};
      expect_same_as_fresh(conv, rendering(step), kResource, stamp,
                           "pass " + std::to_string(pass) + " step " + std::to_string(step));
      if (pass == 1) expect_same_as_fresh(conv, rendering(0), kResource, stamp, "back to 0");
    }
  expect_same_as_fresh(conv, FamilySet{}, {}, OtlpStamp{}, "nothing at all");
  expect_same_as_fresh(conv, rendering(0), {{"service.name", "x"}}, OtlpStamp{1, 2},
                       "another resource");
}

TEST(OtlpConverter, AKeptRequestEqualsAFreshConversionForRandomRenderings) {
  // Random families drawn from a small pool of names, types, label names and values, so that
  // consecutive renderings share some series and differ in others.
  std::mt19937 rng(15);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> names = {"a_total",         "b", "c_info", "d_bytes",
                                          "e_seconds_total", "f"};
  const std::vector<std::string> values = {"", "x", "eth0", "veth0123456789abcdef", "c1", "é"};
  OtlpConverter conv;
  for (int step = 0; step < 200; step++) {
    FamilySet set;
    for (const std::string& name : names) {
      if (pick(5) == 0) continue;  // the family is absent
      const Type type = name.ends_with("_total") ? Type::kCounter
                                                 : (pick(4) == 0 ? Type::kUntyped : Type::kGauge);
      Family f(name, pick(8) == 0 ? "other help" : "help", type);
      const int labels = pick(4) == 0 ? pick(4) : 2;
      std::vector<std::string> ln;
      for (int j = 0; j < labels; j++)
        ln.push_back(j == 1 && pick(6) == 0 ? "z" : "l" + std::to_string(j));
      f.set_label_names(ln);
      const int series = pick(6);
      for (int s = 0; s < series; s++) {
        metrics::Labels l;
        for (int j = 0; j < labels; j++)
          l.push_back({ln[static_cast<std::size_t>(j)],
                       values[static_cast<std::size_t>(pick(static_cast<int>(values.size())))] +
                           std::to_string(s)});
        f.add(l, pick(3) == 0 ? 0.0 : s * 1.5);
      }
      set.add(std::move(f));
    }
    // Families in another order now and then.
    FamilySet shuffled;
    std::vector<Family> fs = set.families();
    if (pick(4) == 0) std::shuffle(fs.begin(), fs.end(), rng);
    for (Family& f : fs) shuffled.add(std::move(f));
    expect_same_as_fresh(conv, shuffled, kResource,
                         OtlpStamp{7, 100 + static_cast<std::uint64_t>(step)},
                         "step " + std::to_string(step));
  }
  // What churn leaves unreachable on the arena was reclaimed by building again now and then, and
  // most renderings were updates.
  EXPECT_GT(conv.builds(), 1u);
  EXPECT_LT(conv.builds(), 100u);
}

TEST(OtlpConverter, ARenderingWithTheSameSeriesReusesEveryMessageAndString) {
  OtlpConverter conv;
  FamilySet a;
  a.add(
      counter("hostflow_rx_bytes_total", {{"veth0123456789abcdef-long", "netns-long-name-c1"}}, 1));
  const Request& r1 = conv.update(a, kResource, OtlpStamp{1, 2});
  const auto& p1 = r1.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0);
  const void* point = &p1;
  const void* value = p1.attributes(0).value().string_value().data();
  FamilySet b;
  b.add(
      counter("hostflow_rx_bytes_total", {{"veth0123456789abcdef-long", "netns-long-name-c1"}}, 5));
  const Request& r2 = conv.update(b, kResource, OtlpStamp{1, 3});
  const auto& p2 = r2.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0);
  EXPECT_EQ(&p2, point);
  EXPECT_EQ(p2.attributes(0).value().string_value().data(), value);
  EXPECT_EQ(p2.as_double(), 5);
  EXPECT_EQ(p2.time_unix_nano(), 3u);
  EXPECT_EQ(conv.builds(), 1u);
}

}  // namespace
}  // namespace hostflow::exporter
