// The neutral metric model (exporter/metrics/family.h): what areas emit and every output reads.
// It must never let a duplicate series through, whatever an area does.
#include <gtest/gtest.h>

#include <string>

#include "metrics/family.h"
#include "outputs/prometheus_text.h"

namespace hostflow::exporter {
namespace {

using metrics::Family;
using metrics::FamilySet;
using metrics::Type;

TEST(MetricModel, ASecondSeriesWithTheSameNameAndLabelsIsRefusedAndCounted) {
  const std::uint64_t before = metrics::refused_series_total();
  Family f("hostflow_test_bytes_total", "Test.", Type::kCounter);
  f.add({{"interface", "eth0"}, {"owner", "a"}}, 1);
  f.add({{"interface", "eth0"}, {"owner", "b"}}, 2);
  f.add({{"interface", "eth0"}, {"owner", "a"}}, 3);  // the duplicate: the first one stays
  FamilySet set;
  set.add(std::move(f));
  ASSERT_EQ(set.families().size(), 1u);
  const Family& out = set.families()[0];
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.label_value(0, 1), "a");
  EXPECT_EQ(out.value(0), 1);
  EXPECT_EQ(out.label_value(1, 1), "b");
  EXPECT_EQ(set.refused(), 1u);
  EXPECT_EQ(metrics::refused_series_total() - before, 1u);
  const std::string text = prometheus_text(set);
  EXPECT_EQ(text,
            "# HELP hostflow_test_bytes_total Test.\n"
            "# TYPE hostflow_test_bytes_total counter\n"
            "hostflow_test_bytes_total{interface=\"eth0\",owner=\"a\"} 1\n"
            "hostflow_test_bytes_total{interface=\"eth0\",owner=\"b\"} 2\n");
}

TEST(MetricModel, ValuesThatOnlyLookAlikeWhenConcatenatedAreDistinctSeries) {
  Family f("hostflow_test", "", Type::kGauge);
  f.add({{"a", "xy"}, {"b", ""}}, 1);
  f.add({{"a", "x"}, {"b", "y"}}, 2);
  f.add({{"a", ""}, {"b", "xy"}}, 3);
  FamilySet set;
  set.add(std::move(f));
  EXPECT_EQ(set.families()[0].size(), 3u);
  EXPECT_EQ(set.refused(), 0u);
}

TEST(MetricModel, ManyDuplicatesAmongManySeriesKeepExactlyTheFirstOfEach) {
  Family f("hostflow_test", "", Type::kGauge);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 1000; i++) f.add({{"i", std::to_string(i)}}, round * 1000 + i);
  FamilySet set;
  set.add(std::move(f));
  const Family& out = set.families()[0];
  ASSERT_EQ(out.size(), 1000u);
  for (std::size_t s = 0; s < out.size(); s++) {
    EXPECT_EQ(out.label_value(s, 0), std::to_string(s));
    EXPECT_EQ(out.value(s), static_cast<double>(s));  // round 0's value
  }
  EXPECT_EQ(set.refused(), 2000u);
}

TEST(MetricModel, ASecondFamilyOfOneNameIsRefusedWhole) {
  FamilySet set;
  set.add(std::move(Family("hostflow_x", "first", Type::kGauge).add({{"k", "1"}}, 1)));
  set.add(std::move(Family("hostflow_x", "second", Type::kCounter).add({{"k", "2"}}, 2)));
  ASSERT_EQ(set.families().size(), 1u);
  EXPECT_EQ(set.families()[0].help(), "first");
  EXPECT_EQ(set.refused(), 1u);
  EXPECT_EQ(set.samples(), 1u);
}

TEST(MetricModel, ASampleWhoseLabelNamesDifferFromItsFamilysIsRefused) {
  Family f("hostflow_x", "", Type::kGauge);
  f.add({{"a", "1"}}, 1);
  f.add({{"b", "1"}}, 2);              // another label name
  f.add({{"a", "2"}, {"b", "3"}}, 3);  // another label count
  f.add_values({"4"}, 4);
  f.add_values({"5", "6"}, 5);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.mismatched(), 3u);
  FamilySet set;
  set.add(std::move(f));
  EXPECT_EQ(set.refused(), 3u);
}

TEST(MetricModel, FamiliesOutsideAnAreasPrefixesAreRefusedFromWhereTheAreaBegan) {
  FamilySet set;
  set.add(std::move(Family("hostflow_a_one", "", Type::kGauge).add(1)));
  const std::size_t first = set.families().size();
  set.add(std::move(Family("hostflow_b_ok", "", Type::kGauge).add(1)));
  set.add(std::move(
      Family("hostflow_a_stolen", "", Type::kGauge).add({{"k", "1"}}, 1).add({{"k", "2"}}, 2)));
  const std::size_t removed = set.refuse_from(
      first, [](const std::string& n) { return n.rfind("hostflow_b_", 0) == 0; }, "test");
  EXPECT_EQ(removed, 1u);
  ASSERT_EQ(set.families().size(), 2u);
  EXPECT_EQ(set.families()[1].name(), "hostflow_b_ok");
  EXPECT_EQ(set.refused(), 2u);
  EXPECT_EQ(set.samples(), 2u);
}

TEST(MetricModel, AFamilyWithoutAUnitTakesTheOneItsNameStates) {
  EXPECT_EQ(Family("hostflow_interface_receive_bytes_total", "", Type::kCounter).unit(), "bytes");
  EXPECT_EQ(Family("hostflow_interface_mtu_bytes", "", Type::kGauge).unit(), "bytes");
  EXPECT_EQ(Family("hostflow_source_duration_seconds", "", Type::kGauge).unit(), "seconds");
  EXPECT_EQ(Family("hostflow_vm_cpu_percent", "", Type::kGauge).unit(), "percent");
  EXPECT_EQ(Family("hostflow_tc_bytes_per_second", "", Type::kGauge).unit(), "");
  EXPECT_EQ(Family("hostflow_interface_info", "", Type::kGauge).unit(), "");
  EXPECT_EQ(Family("hostflow_x_total", "", Type::kCounter, "packets").unit(), "packets");
}

}  // namespace
}  // namespace hostflow::exporter
