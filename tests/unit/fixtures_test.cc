// The test inputs' layout: real captured inputs live once, in tests/fixtures/ (which the unit tests
// read and which seeds the fuzz targets as a second directory, tests/fuzz/CMakeLists.txt); the
// fuzz corpus holds only what fuzzing alone needs. A corpus file with the same bytes as a fixture
// is a copy that would drift from it: delete it from the corpus.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support.h"

namespace {

namespace fs = std::filesystem;

struct File {
  fs::path path;
  std::string bytes;
};

// Every regular file under `root`, with its bytes.
std::vector<File> files_under(const fs::path& root) {
  std::vector<File> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    out.push_back({e.path(), hostflow::test::read_file(e.path())});
  }
  return out;
}

TEST(Fixtures, NoFuzzSeedIsAByteIdenticalCopyOfAFixture) {
  const auto fixtures = files_under(HOSTFLOW_FIXTURES_DIR);
  const auto seeds = files_under(HOSTFLOW_FUZZ_CORPUS_DIR);
  ASSERT_FALSE(fixtures.empty());
  ASSERT_FALSE(seeds.empty());
  std::multimap<std::size_t, const File*> by_hash;
  for (const File& f : fixtures) by_hash.emplace(std::hash<std::string>{}(f.bytes), &f);
  for (const File& s : seeds) {
    const auto [begin, end] = by_hash.equal_range(std::hash<std::string>{}(s.bytes));
    for (auto it = begin; it != end; ++it) {
      EXPECT_NE(it->second->bytes, s.bytes)
          << s.path.string() << " is a copy of " << it->second->path.string()
          << ": delete it from the corpus (the fixture already seeds its fuzz target)";
    }
  }
}

}  // namespace
