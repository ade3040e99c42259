// common/: label sanitising and UTF-8 validation, durations, log line formatting, the process_*
// figures of /proc/self.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/process_stats.h"
#include "hostflow/common/sanitize.h"

namespace {

using hostflow::parse_duration;
using hostflow::sanitize_label;
using hostflow::valid_utf8;
using namespace std::chrono_literals;

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

// RFC 3629's ABNF, byte range by byte range: a second, independent opinion on well-formedness.
bool rfc3629(const std::string& s) {
  auto in = [](unsigned char c, int lo, int hi) { return c >= lo && c <= hi; };
  for (std::size_t i = 0; i < s.size();) {
    const auto b = [&](std::size_t k) -> int {
      return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
    };
    const int c = b(0);
    auto tail = [&](std::size_t k) { return b(k) >= 0x80 && b(k) <= 0xBF; };
    if (c <= 0x7F) {
      i += 1;
    } else if (in(c, 0xC2, 0xDF) && tail(1)) {
      i += 2;
    } else if (c == 0xE0 && b(1) >= 0xA0 && b(1) <= 0xBF && tail(2)) {
      i += 3;
    } else if ((in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) && tail(1) && tail(2)) {
      i += 3;
    } else if (c == 0xED && b(1) >= 0x80 && b(1) <= 0x9F && tail(2)) {
      i += 3;
    } else if (c == 0xF0 && b(1) >= 0x90 && b(1) <= 0xBF && tail(2) && tail(3)) {
      i += 4;
    } else if (in(c, 0xF1, 0xF3) && tail(1) && tail(2) && tail(3)) {
      i += 4;
    } else if (c == 0xF4 && b(1) >= 0x80 && b(1) <= 0x8F && tail(2) && tail(3)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

TEST(ValidUtf8, KnownGoodAndBad) {
  for (const char* good : {"", "eth0", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                           "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80"}) {
    EXPECT_TRUE(valid_utf8(good)) << good;
  }
  for (const char* bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xF0\x80\x80\x80",
        "\xF0\x8F\xBF\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
        "\xFF", "\xFE", "\xC3", "\xE2\x82", "\xF0\x9F\x98", "a\xC3(b"}) {
    EXPECT_FALSE(valid_utf8(bad)) << ::testing::PrintToString(std::string(bad));
  }
}

TEST(ValidUtf8, AgreesWithRfc3629OnAllShortStrings) {
  std::string s;
  for (int a = 0; a < 256; a++) {
    s.assign(1, static_cast<char>(a));
    ASSERT_EQ(valid_utf8(s), rfc3629(s)) << a;
    for (int b = 0; b < 256; b++) {
      s.assign({static_cast<char>(a), static_cast<char>(b)});
      ASSERT_EQ(valid_utf8(s), rfc3629(s)) << a << " " << b;
    }
  }
  // Every 3-byte string whose lead byte starts a multi-byte sequence.
  for (int a = 0xC0; a < 256; a++) {
    for (int b = 0x70; b < 0xD0; b++) {
      for (int c = 0x70; c < 0xD0; c++) {
        s.assign({static_cast<char>(a), static_cast<char>(b), static_cast<char>(c)});
        ASSERT_EQ(valid_utf8(s), rfc3629(s)) << a << " " << b << " " << c;
      }
    }
  }
  // Random 4..8-byte strings from an alphabet that makes multi-byte sequences likely.
  const unsigned char alphabet[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                    0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  std::mt19937 rng(42);
  for (int i = 0; i < 200000; i++) {
    s.clear();
    const int n = 4 + static_cast<int>(rng() % 5);
    for (int k = 0; k < n; k++) s += static_cast<char>(alphabet[rng() % sizeof alphabet]);
    ASSERT_EQ(valid_utf8(s), rfc3629(s)) << ::testing::PrintToString(s);
  }
}

TEST(SanitizeLabel, ReplacesWhatIsNotValidText) {
  EXPECT_EQ(sanitize_label("eth0"), "eth0");
  EXPECT_EQ(sanitize_label(""), "");
  EXPECT_EQ(sanitize_label("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(sanitize_label("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(sanitize_label("a\xFF"
                           "b"),
            "a" + R + "b");
  EXPECT_EQ(sanitize_label("a\x01"
                           "b\x1F\x7F"),
            "a" + R + "b" + R + R);
  EXPECT_EQ(sanitize_label(std::string("a\0b", 3)), "a" + R + "b");
  EXPECT_EQ(sanitize_label("x\ny\tz"), "x" + R + "y" + R + "z");
  // Each byte of an invalid sequence is one replacement.
  EXPECT_EQ(sanitize_label("\xC0\xAF"), R + R);                       // overlong '/'
  EXPECT_EQ(sanitize_label("\xE0\x80\xAF"), R + R + R);               // overlong, 3 bytes
  EXPECT_EQ(sanitize_label("\xED\xA0\x80"), R + R + R);               // surrogate U+D800
  EXPECT_EQ(sanitize_label("\xF4\x90\x80\x80"), R + R + R + R);       // > U+10FFFF
  EXPECT_EQ(sanitize_label("ok\xE2\x82"), "ok" + R + R);              // cut sequence
  EXPECT_EQ(sanitize_label("\xE2\x82\xAC\x80"), "\xE2\x82\xAC" + R);  // stray continuation
}

TEST(SanitizeLabel, CapsOnACharacterBoundary) {
  EXPECT_EQ(sanitize_label("abcdef", 4), "abcd");
  EXPECT_EQ(sanitize_label("abc\xE2\x82\xAC", 5), "abc");  // the euro sign would end at 6
  EXPECT_EQ(sanitize_label("abc\xE2\x82\xAC", 6), "abc\xE2\x82\xAC");
  EXPECT_EQ(sanitize_label("ab\xFF", 4), "ab");  // U+FFFD needs 3 bytes
  EXPECT_EQ(sanitize_label("ab\xFF", 5), "ab" + R);
  EXPECT_EQ(sanitize_label("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 7), "\xF0\x9F\x98\x80");
  EXPECT_EQ(sanitize_label("abc", 0), "");
  EXPECT_EQ(sanitize_label(std::string(1000, 'x')).size(), hostflow::kDefaultLabelCap);
}

TEST(SanitizeLabel, RandomInputsStayValidAndCapped) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; i++) {
    std::string in(rng() % 64, '\0');
    for (char& c : in) c = static_cast<char>(rng());
    const std::size_t cap = rng() % 70;
    const std::string out = sanitize_label(in, cap);
    ASSERT_LE(out.size(), cap);
    ASSERT_TRUE(rfc3629(out)) << ::testing::PrintToString(in);
    for (unsigned char c : out) ASSERT_FALSE(c < 0x20 || c == 0x7F);
    // Capping only ever cuts: the capped result is a prefix of the uncapped one.
    const std::string full = sanitize_label(in, 1000);
    ASSERT_EQ(full.compare(0, out.size(), out), 0);
    // And it cuts as late as it can: the next character would not have fitted.
    if (out.size() < full.size()) {
      std::size_t next = 1;
      while (out.size() + next < full.size() &&
             (static_cast<unsigned char>(full[out.size() + next]) & 0xC0) == 0x80) {
        next++;
      }
      ASSERT_GT(out.size() + next, cap);
    }
    // Valid text without controls passes through unchanged.
    if (rfc3629(in) &&
        in.find_first_of(std::string("\x7F\0", 2) +
                         "\x01\x02\x03\x04\x05\x06"
                         "\x07\x08\x09\x0A\x0B\x0C\x0D\x0E\x0F\x10\x11\x12\x13"
                         "\x14\x15\x16\x17\x18\x19\x1A\x1B\x1C\x1D\x1E\x1F") == std::string::npos) {
      ASSERT_EQ(full, in);
    }
  }
}

TEST(ParseDuration, Valid) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::nanoseconds(250ms));
  EXPECT_EQ(parse_duration("5s"), std::chrono::nanoseconds(5s));
  EXPECT_EQ(parse_duration("0s"), std::chrono::nanoseconds(0));
  EXPECT_EQ(parse_duration("1m"), std::chrono::nanoseconds(60s));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::nanoseconds(5400s));
  EXPECT_EQ(parse_duration("2d"), std::chrono::nanoseconds(48h));
  EXPECT_EQ(parse_duration("1m1s500ms"), std::chrono::nanoseconds(61500ms));
  EXPECT_EQ(parse_duration("100000s"), std::chrono::nanoseconds(100000s));
  // The largest whole number of days in int64 nanoseconds: 106751 d = 9.2233e18 ns.
  EXPECT_EQ(parse_duration("106751d"), std::chrono::nanoseconds(std::chrono::hours(24 * 106751)));
}

TEST(ParseDuration, Invalid) {
  for (const char* bad : {"", "5", "s", "ms", "5x", "5 s", " 5s", "5s ", "-5s", "+5s", "1.5s", "5S",
                          "5sec", "1h30", "h1", "5s5", "\xFF"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(ParseDuration, OverflowIsRefusedNotWrapped) {
  // Beyond int64 nanoseconds (~292 years) there is no right answer: refuse, never wrap.
  for (const char* big : {"106752d", "10000000000s", "10000000000d", "9999999999h", "3000000000m",
                          "106751d106751d", "9223372037s", "99999999999999999999s"}) {
    const auto d = parse_duration(big);
    EXPECT_FALSE(d.has_value()) << big << " gave " << (d ? d->count() : 0);
  }
}

TEST(LogFormat, LogfmtQuotesWhatNeedsIt) {
  using hostflow::log::Format;
  using hostflow::log::Level;
  EXPECT_EQ(hostflow::log::format_line(Format::kLogfmt, Level::kWarn, "2024-01-01T00:00:00.000Z",
                                       "segment published", {{"generation", "3"}}),
            "ts=2024-01-01T00:00:00.000Z level=warn msg=\"segment published\" generation=3\n");
  EXPECT_EQ(hostflow::log::format_line(Format::kLogfmt, Level::kError, "T", "m",
                                       {{"q", "say \"hi\""},
                                        {"nl", "a\nb"},
                                        {"tab", "a\tb"},
                                        {"eq", "a=b"},
                                        {"empty", ""},
                                        {"bs", "a\\b c"},
                                        {"ctl", std::string("a\x01", 2)}}),
            "ts=T level=error msg=m q=\"say \\\"hi\\\"\" nl=\"a\\nb\" tab=\"a\\tb\" eq=\"a=b\" "
            "empty=\"\" bs=\"a\\\\b c\" ctl=\"a\\x01\"\n");
  EXPECT_EQ(hostflow::log::format_line(Format::kLogfmt, Level::kDebug, "T", "x", {}),
            "ts=T level=debug msg=x\n");
}

TEST(LogFormat, JsonIsParseableAndRoundTrips) {
  using hostflow::log::Format;
  using hostflow::log::Level;
  const std::string nasty = std::string("q\"b\\s/n\nr\rt\tc\x01\x1f-\x7f") + "caf\xC3\xA9";
  const std::string line = hostflow::log::format_line(Format::kJson, Level::kInfo, "T", nasty,
                                                      {{"k", nasty}, {"n", "1"}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one event, one line";
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.at("ts"), "T");
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("msg"), nasty);
  EXPECT_EQ(j.at("k"), nasty);
  EXPECT_EQ(j.at("n"), "1");
}

TEST(LogFormat, JsonStaysValidWithInvalidUtf8) {
  // Field values can carry tenant-controlled bytes (interface names, SNIs): the line must still
  // be JSON, with each invalid byte replaced, and valid multi-byte text kept.
  using hostflow::log::Format;
  using hostflow::log::Level;
  const std::string line = hostflow::log::format_line(Format::kJson, Level::kWarn, "T", "m",
                                                      {{"ifname",
                                                        "eth\xff"
                                                        "0"},
                                                       {"ok", "caf\xC3\xA9"},
                                                       {"cut", "x\xE2\x82"}});
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(j.at("ifname"), "eth" + R + "0");
  EXPECT_EQ(j.at("ok"), "caf\xC3\xA9");
  EXPECT_EQ(j.at("cut"), "x" + R + R);
}

TEST(LogFormat, LevelAndFormatNames) {
  EXPECT_TRUE(hostflow::log::set_level("debug"));
  EXPECT_EQ(hostflow::log::level(), hostflow::log::Level::kDebug);
  EXPECT_TRUE(hostflow::log::set_level("error"));
  EXPECT_EQ(hostflow::log::level(), hostflow::log::Level::kError);
  EXPECT_FALSE(hostflow::log::set_level("verbose"));
  EXPECT_EQ(hostflow::log::level(), hostflow::log::Level::kError);
  EXPECT_TRUE(hostflow::log::set_level("info"));
  EXPECT_TRUE(hostflow::log::set_format("json"));
  EXPECT_TRUE(hostflow::log::set_format("logfmt"));
  EXPECT_FALSE(hostflow::log::set_format("xml"));
}

TEST(LogFormat, NoticeSitsBetweenInfoAndWarn) {
  using hostflow::log::Level;
  EXPECT_TRUE(hostflow::log::set_level("notice"));
  EXPECT_EQ(hostflow::log::level(), Level::kNotice);
  EXPECT_EQ(hostflow::log::level_name(Level::kNotice), "notice");
  EXPECT_LT(Level::kInfo, Level::kNotice);
  EXPECT_LT(Level::kNotice, Level::kWarn);
  EXPECT_TRUE(hostflow::log::set_level("info"));
}

// --log.file: lines at or above the level go to the file too; after the file is moved away (as
// logrotate does), reopen_file() starts a new one at the path and the moved one gets no more.
TEST(LogFile, LinesAreAppendedAndReopenStartsANewFileAtThePath) {
  char tmpl[] = "/tmp/hostflow-logfile-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = dir + "/x.log", moved = dir + "/x.log.1";
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string err;
  ASSERT_FALSE(hostflow::log::set_file(dir + "/no/such/dir.log", &err));
  EXPECT_NE(err.find("no/such"), std::string::npos);
  ASSERT_TRUE(hostflow::log::set_file(path, &err)) << err;
  hostflow::log::set_level("warn");
  hostflow::log::info("not written");
  hostflow::log::warn("first", {{"k", "v"}});
  ASSERT_EQ(std::rename(path.c_str(), moved.c_str()), 0);
  hostflow::log::warn("second");
  ASSERT_TRUE(hostflow::log::reopen_file(&err)) << err;
  hostflow::log::warn("third");
  hostflow::log::set_level("info");
  const std::string a = slurp(moved), b = slurp(path);
  EXPECT_NE(a.find("msg=first k=v"), std::string::npos) << a;
  EXPECT_NE(a.find("msg=second"), std::string::npos) << a;
  EXPECT_EQ(a.find("not written"), std::string::npos) << a;
  EXPECT_EQ(a.find("third"), std::string::npos) << a;
  EXPECT_NE(b.find("msg=third"), std::string::npos) << b;
  EXPECT_EQ(b.find("second"), std::string::npos) << b;
  // A symlink at the path is refused (O_NOFOLLOW), and the current file stays.
  std::remove(path.c_str());
  ASSERT_EQ(::symlink(moved.c_str(), path.c_str()), 0);
  EXPECT_FALSE(hostflow::log::reopen_file(&err));
  std::remove(path.c_str());
  std::remove(moved.c_str());
  ::rmdir(dir.c_str());
}

}  // namespace

// Issue 12, defect 4: a name can equal another object's generated "name~id"; whatever names are
// chosen, the result is unique, and no object's own name is taken from it by a generated one.
TEST(MakeNamesUnique, AGeneratedNameNeverEqualsAnotherObjectsOwnName) {
  // The VM repro: a < c < b; a and b claim X, c's own name is b's generated one.
  std::vector<std::string> names = {"X", "X~300", "X"};
  std::vector<hostflow::NamedObject> objs = {{&names[0], 100}, {&names[1], 200}, {&names[2], 300}};
  hostflow::make_names_unique(objs);
  EXPECT_EQ(names[0], "X");
  EXPECT_EQ(names[1], "X~300");    // its own name, kept
  EXPECT_EQ(names[2], "X~300~2");  // the generated name steps around it
}

TEST(MakeNamesUnique, RandomCollidingNamesAreAlwaysUniqueAndFirstComersKeepTheirs) {
  std::mt19937 rng(12);
  for (int round = 0; round < 2000; round++) {
    const std::size_t n = 1 + rng() % 12;
    std::vector<std::string> names(n), own(n);
    std::vector<std::uint64_t> ids(n);
    for (std::size_t i = 0; i < n; i++) {
      ids[i] = 1 + rng() % 4;  // ids may repeat (they only tell apart, they are not a key)
      // Names built from the same few pieces, so "a~3", "a~3~2" and friends occur.
      std::string s = (rng() % 2) ? "a" : "b";
      for (unsigned k = rng() % 3; k > 0; k--) s += "~" + std::to_string(1 + rng() % 4);
      if (rng() % 5 == 0) s += "~2";
      names[i] = own[i] = s;
    }
    std::vector<hostflow::NamedObject> objs;
    for (std::size_t i = 0; i < n; i++) objs.push_back({&names[i], ids[i]});
    hostflow::make_names_unique(objs);
    std::set<std::string> seen(names.begin(), names.end());
    ASSERT_EQ(seen.size(), n) << "round " << round;
    // The first object with each own name keeps it.
    std::set<std::string> first;
    for (std::size_t i = 0; i < n; i++) {
      if (first.insert(own[i]).second) {
        EXPECT_EQ(names[i], own[i]) << "round " << round;
      } else {
        EXPECT_EQ(names[i].rfind(own[i] + "~" + std::to_string(ids[i]), 0), 0u) << names[i];
      }
    }
  }
}

// common/units.h: the one parser of sizes, and the flag checks both binaries word alike.
TEST(Units, SizesReadWithOrWithoutABinaryUnitAndRefuseOverflow) {
  using hostflow::parse_size;
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("65536"), 65536u);
  EXPECT_EQ(parse_size("512KiB"), 512u << 10);
  EXPECT_EQ(parse_size("64MiB"), 64ull << 20);
  EXPECT_EQ(parse_size("64M"), 64ull << 20);
  EXPECT_EQ(parse_size("2GB"), 2ull << 30);
  EXPECT_EQ(parse_size("1TiB"), 1ull << 40);
  EXPECT_EQ(parse_size("18446744073709551615"), ~0ull);
  for (const char* bad :
       {"", "MiB", "1.5MiB", "-1", "1 MiB", "1mib", "18446744073709551616", "16777216TiB", "1Pi"})
    EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(Units, FlagChecksNameTheFlagTheBoundAndWhatWasGiven) {
  using namespace std::chrono_literals;
  auto d = hostflow::duration_flag("--web.read-timeout", "5", 100ms);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(), "--web.read-timeout: want a duration of at least 100ms (got 5)");
  EXPECT_FALSE(hostflow::duration_flag("--x", "50ms", 100ms).ok());
  EXPECT_FALSE(hostflow::duration_flag("--x", "2h", 1s, 1h).ok());
  EXPECT_EQ(*hostflow::duration_flag_ms("--x", "1m30s", 1s), 90000ms);
  auto s = hostflow::size_flag("--threat.max-bytes", "12", 1024);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "--threat.max-bytes: want a size of at least 1KiB, e.g. 64MiB (got 12)");
  EXPECT_EQ(*hostflow::size_flag("--x", "64MiB", 1024), 64ull << 20);
  EXPECT_EQ(hostflow::format_duration(90s), "1m30s");
  EXPECT_EQ(hostflow::format_duration(250ms), "250ms");
  EXPECT_EQ(hostflow::format_duration(49h), "2d1h");
}

namespace {

// A field of /proc/self/status ("VmRSS:     1234 kB") in kB.
long status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

}  // namespace

TEST(ProcessStats, StatFieldsAreReadAfterTheLastParenthesisOfTheCommandName) {
  const auto st = hostflow::parse_proc_pid_stat(
      "77 (a) b) (c\n) R 1 77 77 0 -1 4194560 10 0 0 0 250 125 0 0 20 0 3 0 9000 4096000 512 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->utime, 250u);
  EXPECT_EQ(st->stime, 125u);
  EXPECT_EQ(st->starttime, 9000u);
  EXPECT_EQ(st->vsize, 4096000u);
  EXPECT_EQ(st->rss, 512);
  EXPECT_FALSE(hostflow::parse_proc_pid_stat("77 (x) R 1 2"));            // cut short
  EXPECT_FALSE(hostflow::parse_proc_pid_stat("77 x R 1 2 3 4 5 6 7 8"));  // no name
  EXPECT_FALSE(hostflow::parse_proc_pid_stat(
      "1 (x) R 1 1 1 0 -1 0 0 0 0 0 ten 1 0 0 20 0 1 0 1 1 1\n"));  // utime not a number
}

TEST(ProcessStats, StatusFieldsAreKibibytesOfTheirOwnLine) {
  const std::string status =
      "Name:\tx\nVmPeak:\t  9000 kB\nVmSize:\t  8000 kB\nVmRSS:\t   512 kB\n";
  EXPECT_EQ(hostflow::parse_status_kb(status, "VmRSS"), 512u * 1024);
  EXPECT_EQ(hostflow::parse_status_kb(status, "VmSize"), 8000u * 1024);
  EXPECT_FALSE(hostflow::parse_status_kb(status, "VmSwap"));
  EXPECT_FALSE(hostflow::parse_status_kb("VmRSS:\t12 MB\n", "VmRSS"));  // not kB
  EXPECT_FALSE(hostflow::parse_status_kb("VmRSS:\t99999999999999999999 kB\n", "VmRSS"));
}

TEST(ProcessStats, BootTimeAndOpenFileLimitComeFromTheirLines) {
  EXPECT_EQ(hostflow::parse_boot_time("cpu  1 2 3\nbtime 1764806400\nprocesses 9\n"), 1764806400u);
  EXPECT_FALSE(hostflow::parse_boot_time("cpu 1\nbtimes 5\n"));
  EXPECT_EQ(hostflow::parse_max_open_files(
                "Limit                     Soft Limit           Hard Limit           Units     \n"
                "Max open files            1024                 524288               files     \n"),
            1024u);
  EXPECT_EQ(hostflow::parse_max_open_files("Max open files            unlimited            "
                                           "unlimited            files\n"),
            0u);
  EXPECT_FALSE(hostflow::parse_max_open_files("Max processes 5 5\n"));
}

// The figures of this very process against what the kernel says elsewhere: VmRSS and VmSize in
// /proc/self/status, the entries of /proc/self/fd, getrlimit, and the clock.
TEST(ProcessStats, OwnFiguresEqualProcSelfStatusFdsAndRlimit) {
  const auto p = hostflow::read_self_process_stats();
  ASSERT_TRUE(p.ok()) << p.error().message();
  const long rss_kb = status_kb("VmRSS"), vsz_kb = status_kb("VmSize");
  ASSERT_GT(rss_kb, 0);
  // Read a moment apart by a process that allocates as it goes (a sanitizer build), and the
  // kernel reads its RSS counters per CPU without summing them (up to 32 pages per CPU and
  // counter off): 1 MiB. Pages or kB mistaken for bytes are off by 1000x or more.
  EXPECT_NEAR(static_cast<double>(p.value().resident_bytes), rss_kb * 1024.0, 1 << 20);
  EXPECT_NEAR(static_cast<double>(p.value().virtual_bytes), vsz_kb * 1024.0, 1 << 20);
  std::size_t fds = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) fds++;
  // The directory iterator holds one fd of its own, as read_self_process_stats did.
  EXPECT_EQ(p.value().open_fds, fds);
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  EXPECT_EQ(p.value().max_fds, rl.rlim_cur == RLIM_INFINITY ? 0 : rl.rlim_cur);
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  EXPECT_LE(p.value().start_time_seconds, now + 1);
  EXPECT_GT(p.value().start_time_seconds, now - 3600);  // this test binary started just now
  EXPECT_GE(p.value().cpu_seconds, 0);
}
