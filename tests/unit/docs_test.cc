// The registries against the docs: every area and source row names a folder that exists and a
// heading of docs/metrics.md; every metric family the golden expositions hold is documented in
// docs/metrics.md; every flag either binary's --help lists is in the README's flag tables.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "areas/registry.h"
#include "compat/registry.h"
#include "sources/registry.h"
#include "support.h"

namespace hostflow::test {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = HOSTFLOW_SOURCE_DIR;

// GitHub's heading anchors: lower case; letters, digits, '-' and '_' kept; spaces become '-';
// everything else dropped.
std::set<std::string> heading_anchors(const std::string& markdown) {
  std::set<std::string> out;
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '#') continue;
    std::size_t i = line.find_first_not_of('#');
    if (i == std::string::npos || line[i] != ' ') continue;
    std::string a;
    for (char c : line.substr(i + 1)) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (std::isalnum(u))
        a += static_cast<char>(std::tolower(u));
      else if (c == ' ' || c == '-')
        a += '-';
      else if (c == '_')
        a += '_';
    }
    out.insert(a);
  }
  return out;
}

// Metric names in docs/metrics.md, with its shorthands expanded: `a_{x,y}_b` is a_x_b and a_y_b;
// "`hostflow_a_receive_bytes_total` / `transmit_bytes_total`" replaces the last words of the
// first name with the second's.
std::set<std::string> documented_metrics(const std::string& md) {
  std::set<std::string> out;
  std::function<void(const std::string&)> expand = [&](const std::string& s) {
    const auto open = s.find('{');
    if (open == std::string::npos) {
      out.insert(s);
      return;
    }
    const auto close = s.find('}', open);
    if (close == std::string::npos) return;
    const std::string inner = s.substr(open + 1, close - open - 1);
    std::size_t p = 0;
    while (p <= inner.size()) {
      std::size_t c = inner.find(',', p);
      if (c == std::string::npos) c = inner.size();
      expand(s.substr(0, open) + inner.substr(p, c - p) + s.substr(close + 1));
      p = c + 1;
    }
  };
  auto words = [](const std::string& s) {
    std::vector<std::string> w;
    std::size_t p = 0;
    while (p <= s.size()) {
      std::size_t u = s.find('_', p);
      if (u == std::string::npos) u = s.size();
      w.push_back(s.substr(p, u - p));
      p = u + 1;
    }
    return w;
  };
  const std::regex code("`(hostflow_[a-z0-9_{},]+)`((\\s*/\\s*`[a-z0-9_{},]+`)*)");
  const std::regex more("`([a-z0-9_{},]+)`");
  for (std::sregex_iterator it(md.begin(), md.end(), code), end; it != end; ++it) {
    const std::string first = (*it)[1];
    expand(first);
    const std::string rest = (*it)[2];
    const auto fw = words(first);
    for (std::sregex_iterator m(rest.begin(), rest.end(), more); m != end; ++m) {
      const auto sw = words((*m)[1]);
      if (sw.size() >= fw.size()) continue;
      std::string name;
      for (std::size_t i = 0; i < fw.size() - sw.size(); i++) name += fw[i] + "_";
      for (std::size_t i = 0; i < sw.size(); i++) name += sw[i] + (i + 1 < sw.size() ? "_" : "");
      expand(name);
    }
  }
  return out;
}

TEST(Docs, EveryAreaRowNamesItsFolderAHeadingAndPrefixesNoOtherRowClaims) {
  const auto anchors = heading_anchors(test::read_file(kRoot / "docs/metrics.md"));
  std::set<std::string> stems;
  const auto rows = exporter::area_table();
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(r.stem));
    EXPECT_TRUE(stems.insert(std::string(r.stem)).second) << "stem listed twice";
    const fs::path dir = kRoot / "exporter/areas" / std::string(r.stem);
    EXPECT_TRUE(fs::is_directory(dir)) << dir;
    EXPECT_TRUE(fs::exists(dir / (std::string(r.stem) + "_area.h"))) << dir;
    EXPECT_TRUE(anchors.count(std::string(r.docs))) << "no heading #" << r.docs;
    EXPECT_FALSE(r.prefixes.empty());
    EXPECT_NE(r.make, nullptr);
    // No prefix of this row is claimed by another row (a family belongs to one area).
    std::istringstream ps{std::string(r.prefixes)};
    for (std::string p; ps >> p;) {
      EXPECT_EQ(p.rfind("hostflow_", 0), 0u) << p;
      for (const auto& o : rows) {
        if (o.stem != r.stem) {
          EXPECT_FALSE(exporter::row_owns(o, p)) << p << " also in " << o.stem;
        }
      }
    }
  }
}

TEST(Docs, EverySourceRowNamesItsFileAndAHeading) {
  const auto anchors = heading_anchors(test::read_file(kRoot / "docs/metrics.md"));
  for (const auto& s : sampler::source_table()) {
    SCOPED_TRACE(std::string(s.name));
    EXPECT_TRUE(fs::exists(kRoot / "sampler/sources" / (std::string(s.name) + ".cc")));
    EXPECT_TRUE(anchors.count(std::string(s.docs_anchor))) << "no heading #" << s.docs_anchor;
    EXPECT_EQ(std::string(s.metric_prefix).rfind("hostflow_", 0), 0u);
  }
}

TEST(Docs, EveryFamilyOfTheGoldenExpositionsIsInMetricsMd) {
  const auto documented = documented_metrics(test::read_file(kRoot / "docs/metrics.md"));
  std::size_t checked = 0;
  for (const auto& r : exporter::area_table()) {
    const auto text = test::read_file(kRoot / "tests/golden" / (std::string(r.stem) + ".prom"));
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) != 0) continue;
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(documented.count(name))
          << name << " (area " << r.stem << ") is not in docs/metrics.md";
      EXPECT_TRUE(exporter::row_owns(r, name)) << name << " is in " << r.stem << ".prom";
      checked++;
    }
  }
  EXPECT_GT(checked, 100u);
}

TEST(Docs, EveryProfileRowNamesItsFolderASectionAGoldenAndEachFamilyItEmits) {
  const std::string compat = test::read_file(kRoot / "docs/compat.md");
  const auto anchors = heading_anchors(compat);
  std::size_t checked = 0;
  for (const auto& r : exporter::profile_table()) {
    SCOPED_TRACE(std::string(r.stem));
    const std::string stem(r.stem);
    EXPECT_TRUE(fs::exists(kRoot / "exporter/compat" / stem / (stem + "_profile.h")));
    EXPECT_TRUE(anchors.count(std::string(r.docs))) << "no heading #" << r.docs << " in compat.md";
    EXPECT_NE(compat.find("`--compat=` | replaces"), std::string::npos);
    EXPECT_NE(compat.find("| `" + stem + "` |"), std::string::npos) << "not in the profile table";
    const auto golden = kRoot / "tests/golden" / ("compat_" + stem + ".prom");
    ASSERT_TRUE(fs::exists(golden)) << golden;
    std::istringstream in(test::read_file(golden));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) != 0) continue;
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_NE(compat.find("`" + name + "`"), std::string::npos)
          << name << " (profile " << stem << ") is not in docs/compat.md";
      EXPECT_TRUE(exporter::profile_owns(r, name)) << name;
      EXPECT_NE(name.rfind("hostflow_", 0), 0u) << name << ": a profile emits its tool's names";
      checked++;
    }
  }
  EXPECT_GT(checked, 10u);
}

// Flags of a binary's --help: "--name" tokens (CLI11 lists them as "--a,--b" or "--name TEXT").
std::set<std::string> help_flags(const std::string& binary) {
  const auto r = run({binary, "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  const std::regex flag("(--[a-z][a-z0-9.-]*)");
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), flag), end; it != end; ++it) {
    std::string f = (*it)[1];
    while (!f.empty() && (f.back() == '.' || f.back() == '-')) f.pop_back();
    out.insert(f);
  }
  return out;
}

TEST(Docs, EveryFlagOfBothBinariesIsInTheReadmesFlagTables) {
  const std::string readme = test::read_file(kRoot / "README.md");
  for (const std::string bin : {HOSTFLOW_SAMPLER_BIN, HOSTFLOW_EXPORTER_BIN}) {
    SCOPED_TRACE(bin);
    const auto flags = help_flags(bin);
    EXPECT_GT(flags.size(), 10u);
    for (const std::string& f : flags) {
      if (f == "--help") continue;
      // --source.NAME / --no-source.NAME: one README row for every source's switch.
      std::string key = f;
      for (const auto& s : sampler::source_table()) {
        if (f == "--source." + std::string(s.name)) key = "--source.NAME";
        if (f == "--no-source." + std::string(s.name)) key = "--no-source.NAME";
      }
      EXPECT_NE(readme.find("`" + key + "`"), std::string::npos) << key << " is not in README.md";
    }
  }
}

}  // namespace
}  // namespace hostflow::test
