// --output.textfile (issue 15): a real prometheus-node-exporter (1.5) with its textfile collector
// reads the file the exporter writes under its seccomp filter (kill mode, all features on): no
// scrape error, and every hostflow series node_exporter serves equals the file's and the
// exporter's own /metrics of the same snapshot; a reader loop never sees a partial file.
// Label `daemon`.
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "lab.h"
#include "support.h"

namespace hostflow::test {
namespace {

// node_exporter's own families (its textfile collector's, Go's, its process's).
bool is_node_exporters(const std::string& key) {
  for (const char* p : {"node_", "go_", "process_", "promhttp_"})
    if (key.rfind(p, 0) == 0) return true;
  return false;
}

// The first differences between two series maps, for failure messages.
std::string diff(const std::map<std::string, double>& a, const std::map<std::string, double>& b) {
  std::string out;
  int n = 0;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) {
      out += "  " + k + " " + std::to_string(v) + " vs " +
             (it == b.end() ? std::string("missing") : std::to_string(it->second)) + "\n";
      if (++n == 8) break;
    }
  }
  for (const auto& [k, v] : b)
    if (!a.count(k) && n++ < 16) out += "  only in the second: " + k + "\n";
  return out;
}

// A directory the exporter's user (nobody) may create files in.
std::string writable_dir(const TempDir& d) {
  ::chmod(d.path().c_str(), 0711);  // TempDir is 0700: let the exporter's user through
  const std::string dir = d.path() + "/textfile";
  ::mkdir(dir.c_str(), 0777);
  ::chmod(dir.c_str(), 0777);
  return dir;
}

TEST(Textfile, NodeExporterReadsItCleanAndItsValuesEqualTheExportersOwnScrape) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  HF_REQUIRE(have_command("prometheus-node-exporter"), "prometheus-node-exporter is not installed");
  TempDir d;
  const std::string dir = writable_dir(d);
  const std::string file = dir + "/hostflow.prom";
  Topology t;
  // A slow sampler: the snapshot stays the same across the three reads below.
  StackOptions o = in_netns(t.ns.name(), "3s");
  o.exporter_args.push_back("--output.textfile=" + file);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(stack);

  const int port = free_port();
  Process node({"prometheus-node-exporter", "--collector.disable-defaults", "--collector.textfile",
                "--collector.textfile.directory=" + dir,
                "--web.listen-address=127.0.0.1:" + std::to_string(port)},
               d.path() + "/node_exporter.log");
  const std::string node_url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  ASSERT_TRUE(
      wait_until([&] { return http_get(node_url).status == 200; }, std::chrono::seconds(10)))
      << node.log();

  // The file, node_exporter's reading of it and /metrics, until all three show one rendering
  // (a new snapshot between the reads makes them differ: read again).
  std::map<std::string, double> file_series, node_series, own_series, own_rendering;
  std::string file_text, node_text;
  bool same = false;
  for (int attempt = 0; attempt < 10 && !same; attempt++) {
    file_text = read_file_if_exists(file);
    node_text = http_get(node_url).body;
    own_series = canonical_series(stack.scrape());
    const std::string file_again = read_file_if_exists(file);
    if (file_again != file_text) continue;
    file_series = canonical_series(parse_exposition(file_text));
    // node_exporter's own families out, but not the file's (--compat=platform writes node_*).
    std::set<std::string> file_families;
    for (const auto& [k, v] : file_series) file_families.insert(k.substr(0, k.find('{')));
    node_series.clear();
    for (const auto& [k, v] : canonical_series(parse_exposition(node_text)))
      if (file_families.count(k.substr(0, k.find('{'))) || !is_node_exporters(k))
        node_series[k] = v;
    own_rendering.clear();
    for (const auto& [k, v] : own_series)
      if (!is_scrape_tail(k)) own_rendering[k] = v;
    same = node_series == file_series && own_rendering == file_series;
  }
  check_exposition_invariants(file_text, "the text file");
  const Exposition node_e = parse_exposition(node_text);
  ASSERT_TRUE(node_e.get("node_textfile_scrape_error").has_value()) << node_text.substr(0, 2000);
  EXPECT_EQ(*node_e.get("node_textfile_scrape_error"), 0) << node.log();
  EXPECT_TRUE(node_e.get("node_textfile_mtime_seconds{file=\"" + file + "\"}").has_value())
      << node.log();
  ASSERT_TRUE(same) << "file, node_exporter and /metrics never agreed\nfile vs node_exporter:\n"
                    << diff(file_series, node_series) << "file vs /metrics:\n"
                    << diff(file_series, own_rendering) << node.log();
  // Not a trivial agreement: the file has the sampler's and the interfaces' series.
  EXPECT_GT(file_series.size(), 50u);
  EXPECT_EQ(file_series.at("hostflow_sampler_up{}"), 1);
  bool has_veth = false;
  for (const auto& [k, v] : file_series)
    has_veth |= k.find("interface=\"" + t.veth + "\"") != std::string::npos;
  EXPECT_TRUE(has_veth);
  // The tail is not in the file; /metrics has it.
  for (const auto& [k, v] : file_series) EXPECT_FALSE(is_scrape_tail(k)) << k;
  EXPECT_TRUE(own_series.count("hostflow_exporter_textfile_writes_total{result=\"ok\",}"));
  EXPECT_GE(own_series["hostflow_exporter_textfile_writes_total{result=\"ok\",}"], 1);
  EXPECT_EQ(own_series["hostflow_exporter_textfile_writes_total{result=\"error\",}"], 0);
  // The documented mode, owned by the exporter's user; no temporary file left.
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_NE(st.st_uid, 0u);
  EXPECT_TRUE(stack.exporter().running()) << stack.exporter().log();
}

TEST(Textfile, AReaderLoopNeverSeesAPartialFile) {
  HF_REQUIRE(is_root(), "needs root: creates network namespaces and links");
  TempDir d;
  const std::string dir = writable_dir(d);
  const std::string file = dir + "/hostflow.prom";
  Topology t;
  StackOptions o = in_netns(t.ns.name(), "100ms");
  o.exporter_args.push_back("--output.textfile=" + file);
  Stack stack(o);
  stack.start_sampler();
  stack.start_exporter();
  ASSERT_TRUE(stack.wait_fresh(0, std::chrono::seconds(20))) << stack_logs(stack);
  ASSERT_TRUE(wait_until(
      [&] {
        return read_file_if_exists(file).find("hostflow_sampler_up 1\n") != std::string::npos;
      },
      std::chrono::seconds(10)));

  std::set<std::string> generations;
  std::size_t reads = 0, bad = 0;
  std::string first_bad;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < end) {
    const std::string text = read_file_if_exists(file);
    reads++;
    const Exposition e = parse_exposition(text);
    // Whole: ends with a newline, every line parses, the generation and sampler_up are there.
    const auto gen = e.get("hostflow_snapshot_generation");
    if (text.empty() || text.back() != '\n' || !e.errors.empty() || !gen ||
        !e.get("hostflow_sampler_up")) {
      if (bad++ == 0) first_bad = text.substr(text.size() > 300 ? text.size() - 300 : 0);
      continue;
    }
    generations.insert(std::to_string(*gen));
  }
  EXPECT_EQ(bad, 0u) << "of " << reads << " reads; the end of the first: " << first_bad;
  // The file was replaced many times while it was read.
  EXPECT_GE(generations.size(), 10u) << reads << " reads";
  EXPECT_GE(reads, 100u);
  EXPECT_TRUE(stack.exporter().running()) << stack.exporter().log();
}

}  // namespace
}  // namespace hostflow::test
