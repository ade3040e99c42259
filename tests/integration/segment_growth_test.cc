// Segment growth: a snapshot that outgrows the segment makes the sampler write a larger file
// and rename() it over the old one; the exporter notices the new inode and remaps. Nothing is
// lost on the way: the exporter shows exactly the kernel's links.
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

constexpr int kIfbs = 1500;

TEST(SegmentGrowth, ThousandsOfLinksGrowTheFileAndTheExporterRemaps) {
  HF_REQUIRE(is_root(), "needs root: creates a network namespace and links");
  Netns ns("hfg");
  quiet_netns(ns);
  // Started on a namespace holding only lo: the smallest segment the sampler makes.
  Stack stack(in_netns(ns.name()));
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh()) << stack.sampler().log() << stack.exporter().log();
  Exposition e = stack.scrape();
  ASSERT_EQ(e.family("hostflow_interface_info").size(), 1u);
  EXPECT_EQ(e.get("hostflow_exporter_segment_remaps_total"), 0);
  struct stat st0 {};
  ASSERT_EQ(::stat(stack.segment().c_str(), &st0), 0);

  // One `ip -batch` for all of them (LAB.md: ~0.1 s per 500).
  TempDir d;
  const std::string batch = d.path() + "/links.batch";
  {
    std::ofstream out(batch);
    const std::string prefix = unique_name("g", 8);
    for (int i = 0; i < kIfbs; i++) out << "link add " << prefix << "n" << i << " type ifb\n";
  }
  const RunResult add = run({"ip", "-n", ns.name(), "-batch", batch}, std::chrono::seconds(120));
  ASSERT_EQ(add.exit_code, 0) << add.err;

  const nlohmann::json kernel = ip_json("link show", ns.name());
  ASSERT_EQ(kernel.size(), static_cast<std::size_t>(kIfbs) + 1);
  std::set<std::string> kernel_names;
  for (const auto& l : kernel) kernel_names.insert(l.value("ifname", ""));

  ASSERT_TRUE(wait_until(
      [&] {
        e = stack.scrape();
        return e.family("hostflow_interface_info").size() == kernel.size();
      },
      std::chrono::seconds(30)))
      << "exporter shows " << e.family("hostflow_interface_info").size() << " links, kernel "
      << kernel.size() << stack.sampler().log() << stack.exporter().log();

  struct stat st1 {};
  ASSERT_EQ(::stat(stack.segment().c_str(), &st1), 0);
  EXPECT_NE(st1.st_ino, st0.st_ino) << "the file should have been replaced, not resized";
  EXPECT_GT(st1.st_size, st0.st_size);
  // Replaced with the same ownership and mode (the exporter user could read the new file).
  EXPECT_EQ(st1.st_mode & 07777, 0640u);
  EXPECT_EQ(st1.st_gid, st0.st_gid);
  EXPECT_GE(e.get("hostflow_exporter_segment_remaps_total").value_or(0), 1);
  EXPECT_EQ(e.get("hostflow_sampler_up"), 1);
  EXPECT_TRUE(e.duplicates.empty());

  // Exactly the kernel's links, by name, each with its counters; nothing dropped.
  std::set<std::string> exported_names;
  for (const auto& [key, _] : e.family("hostflow_interface_info"))
    exported_names.insert(series_labels(key)["interface"]);
  EXPECT_EQ(exported_names, kernel_names);
  EXPECT_EQ(e.family("hostflow_interface_receive_bytes_total").size(), kernel.size());
  EXPECT_EQ(e.get("hostflow_snapshot_dropped_records{section=\"links\"}"), 0);
  EXPECT_EQ(e.get("hostflow_snapshot_invalid_references"), 0);
  EXPECT_EQ(stack.sampler().log().find("level=error"), std::string::npos) << stack.sampler().log();
  // No leftover temporary file beside the segment (and its wake channel, sampler/wake.h).
  std::size_t entries = 0;
  for (const auto& f :
       std::filesystem::directory_iterator(std::filesystem::path(stack.segment()).parent_path())) {
    const std::string name = f.path().filename().string();
    if (name.rfind("segment", 0) == 0 && name != "segment.wake") entries++;
  }
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace hostflow::test
