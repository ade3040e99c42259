// Threat-intelligence feeds: Tor exit and Tor relay addresses (Onionoo JSON, `or_addresses`),
// Spamhaus DROP (IPv4 and IPv6 text lists), EmergingThreats compromised IPs, and a custom list
// file. Each list is refreshed on its own schedule by one background thread of the exporter
// (libcurl, connect + total timeouts, a size cap); a refresh that fails keeps the last good list.
// Every good list is cached in the state dir (written to a temporary file, then renamed) and loaded
// from there at start, so a restart with the feed unreachable starts with the last list. The
// parsers are pure and fuzzed (tests/fuzz/fuzz_threat_feeds.cc). hostflow-exporter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "areas/conntrack/prefix_set.h"

namespace hostflow::exporter {

enum class FeedFormat {
  kOnionoo,   // {"relays":[{"or_addresses":["1.2.3.4:9001","[2001:db8::1]:9001"]}]}
  kCidrList,  // one IP or CIDR per line; ';' and '#' start comments (Spamhaus DROP, ET, custom)
};

// Direction filter of a list: contacts the workload initiated (out), received (in), or both.
enum class Direction { kOut, kIn, kAny };
bool parse_direction(std::string_view s, Direction* out);
std::string_view direction_name(Direction d);

inline constexpr std::size_t kMaxFeedEntries = 2'000'000;
// JSON nesting a feed may have (Onionoo's addresses sit at depth 4).
inline constexpr std::size_t kMaxFeedJsonDepth = 32;
// The broadest prefix a list may hold. A feed entry such as 0.0.0.0/0 or ::/0 (a broken or
// hostile feed) would turn every contact into a threat contact: shorter prefixes are refused and
// counted (hostflow_threat_feed_rejected_prefixes). No real list comes close: Spamhaus DROP's
// broadest entries are /10 (IPv4) and /19 (IPv6).
inline constexpr unsigned kMinFeedPrefixV4 = 8;
inline constexpr unsigned kMinFeedPrefixV6 = 16;

struct FeedParseStats {
  std::size_t too_broad = 0;  // prefixes shorter than kMinFeedPrefixV4/V6, refused
};

// Pure parsers: append the prefixes of `body` to `out`; false with a reason when the body is not a
// feed of that format (no valid entry, more invalid lines than valid ones, bad JSON, too deep, too
// many). Onionoo is parsed as a stream (no DOM): memory is the body plus the entries found.
bool parse_onionoo(std::string_view body, std::vector<Cidr>* out, std::string* err,
                   FeedParseStats* stats = nullptr);
bool parse_cidr_list(std::string_view body, std::vector<Cidr>* out, std::string* err,
                     FeedParseStats* stats = nullptr);
bool parse_feed(FeedFormat f, std::string_view body, std::vector<Cidr>* out, std::string* err,
                FeedParseStats* stats = nullptr);

struct FeedSpec {
  std::string name;  // label value: tor_exit, tor_relay, spamhaus, emergingthreats, customlist
  FeedFormat format = FeedFormat::kCidrList;
  std::vector<std::string> urls;  // http(s) URLs, all fetched and merged (Spamhaus v4 + v6)
  std::string path;               // a local file instead of URLs (customlist)
  std::chrono::milliseconds refresh{3'600'000};
  Direction direction = Direction::kAny;
};

struct FeedOptions {
  std::vector<FeedSpec> feeds;  // the enabled ones
  std::string state_dir;        // cache directory ("" = no cache)
  std::chrono::milliseconds fetch_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::uint64_t max_bytes = 64ull << 20;  // per URL, after decompression
  std::string
      ca_file;  // PEM bundle to verify HTTPS feeds with; "" = the system's (libcurl default)
  // A failed refresh is retried after min(refresh, retry).
  std::chrono::milliseconds retry{300'000};
};

struct FeedStatus {
  std::string name;
  double last_success_seconds = 0;  // unix time of the list in use (0 = none yet)
  double refresh_seconds = 0;       // duration of the last refresh attempt
  std::uint64_t errors = 0;         // failed refreshes since start
  std::size_t entries = 0;          // prefixes in the list in use
  bool from_cache = false;          // the list in use came from the disk cache
  std::size_t rejected_broad = 0;   // prefixes refused as too broad in the last good refresh
  std::uint64_t cache_errors = 0;   // good lists that could not be written to the disk cache
  std::string last_error;
};

struct ThreatList {
  std::string name;
  Direction direction = Direction::kAny;
  std::shared_ptr<const PrefixSet> set;  // never null (empty until the first good list)
};

class FeedManager {
 public:
  explicit FeedManager(FeedOptions opts);
  ~FeedManager();
  FeedManager(const FeedManager&) = delete;
  FeedManager& operator=(const FeedManager&) = delete;

  // Loads every list's disk cache (at start, before the refresh thread).
  void load_cache();
  // Starts the refresh thread (first refresh at once). stop() joins it (also on destruction).
  void start();
  void stop();
  // One synchronous refresh of list i (the thread's body; tests call it directly).
  void refresh(std::size_t i);

  std::vector<ThreatList> lists() const;
  std::vector<FeedStatus> status() const;
  bool any_url() const;

 private:
  struct Entry {
    FeedSpec spec;
    ThreatList list;
    FeedStatus st;
    std::chrono::steady_clock::time_point due{};
  };
  bool fetch_all(const FeedSpec& spec, std::vector<Cidr>* out, std::string* err,
                 FeedParseStats* stats) const;
  // False (logged) when the cache could not be written (a full or read-only state directory).
  bool write_cache(const std::string& name, const PrefixSet& set, double when) const;
  std::string cache_path(const std::string& name) const;
  void run();

  FeedOptions opts_;
  std::vector<Entry> entries_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  // Read by libcurl's progress callback: stop() aborts a download in flight within ~1 s.
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace hostflow::exporter
