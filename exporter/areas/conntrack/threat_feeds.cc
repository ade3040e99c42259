#include "areas/conntrack/threat_feeds.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"

namespace hostflow::exporter {

bool parse_direction(std::string_view s, Direction* out) {
  if (s == "out")
    *out = Direction::kOut;
  else if (s == "in")
    *out = Direction::kIn;
  else if (s == "any")
    *out = Direction::kAny;
  else
    return false;
  return true;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::kOut:
      return "out";
    case Direction::kIn:
      return "in";
    case Direction::kAny:
      return "any";
  }
  return "any";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "1.2.3.4:9001" or "[2001:db8::1]:9001" -> the address.
std::optional<IpAddr> or_address(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto ip = IpAddr::parse(s.substr(1, close - 1));
    if (!ip || ip->family != 6) return std::nullopt;
    return ip;
  }
  auto ip = IpAddr::parse(s.substr(0, s.rfind(':')));
  if (!ip || ip->family != 4) return std::nullopt;
  return ip;
}

}  // namespace

namespace {

// Onionoo's document as a SAX stream (nlohmann::json::sax_parse): no DOM, so memory stays at
// the body plus the addresses found, whatever the body holds (a DOM of 16 MB of "[" took 1.2 GB).
// Only {"relays":[{"or_addresses":["ip:port",...]},...]} at the top level is read; every other
// value is skipped as it streams past. Nesting deeper than kMaxFeedJsonDepth stops the parse.
class OnionooSax {
 public:
  explicit OnionooSax(std::vector<Cidr>* out) : out_(out) {}

  std::string error;
  bool saw_relays = false;
  std::size_t valid = 0, invalid = 0;

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool number_integer(std::int64_t) { return scalar(); }
  bool number_unsigned(std::uint64_t) { return scalar(); }
  bool number_float(double, const std::string&) { return scalar(); }
  bool binary(std::vector<std::uint8_t>&) { return scalar(); }
  bool string(std::string& v) {
    if (in_addresses()) return address(v);
    if (in_relays()) invalid++;  // a relay that is not an object
    return true;
  }
  bool start_object(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(false); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    // Only the keys that lead somewhere matter: "relays" at depth 1, "or_addresses" at depth 3.
    if (stack_.size() == 1) key1_ = k == "relays";
    if (stack_.size() == 3) key3_ = k == "or_addresses";
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::json::exception&) {
    if (error.empty()) error = "not valid JSON (at byte " + std::to_string(pos) + ")";
    return false;
  }

 private:
  // Where the parser is: stack_[i] is true for an object at depth i+1.
  bool in_relays() const { return stack_.size() == 2 && !stack_[1] && relays_open_; }
  bool in_addresses() const { return stack_.size() == 4 && !stack_[3] && addresses_open_; }

  bool scalar() {
    if (in_addresses() || in_relays()) invalid++;
    if (stack_.size() == 1 && stack_[0] && key1_) {
      error = "no \"relays\" array";
      return false;
    }
    return true;
  }
  bool open(bool object) {
    if (stack_.size() >= kMaxFeedJsonDepth) {
      error = "nested deeper than " + std::to_string(kMaxFeedJsonDepth);
      return false;
    }
    if (stack_.empty() && !object) {
      error = "not a JSON object";
      return false;
    }
    if (in_addresses() || (in_relays() && !object)) invalid++;
    if (stack_.size() == 1 && key1_) {
      if (object) {
        error = "no \"relays\" array";
        return false;
      }
      relays_open_ = true;
      saw_relays = true;
    }
    if (stack_.size() == 3 && stack_[2] && relays_open_ && key3_ && !object) addresses_open_ = true;
    stack_.push_back(object);
    key1_ = key3_ = false;
    return true;
  }
  bool close() {
    if (stack_.empty()) return false;
    stack_.pop_back();
    if (stack_.size() == 3) addresses_open_ = false;
    if (stack_.size() == 1) relays_open_ = false;
    key1_ = key3_ = false;
    return true;
  }
  bool address(const std::string& s) {
    if (out_->size() >= kMaxFeedEntries) {
      error = "more than " + std::to_string(kMaxFeedEntries) + " entries";
      return false;
    }
    const auto ip = or_address(s);
    if (!ip) {
      invalid++;
      return true;
    }
    out_->push_back(Cidr{*ip, static_cast<std::uint8_t>(ip->family == 4 ? 32 : 128)});
    valid++;
    return true;
  }

  std::vector<Cidr>* out_;
  std::vector<bool> stack_;
  bool key1_ = false, key3_ = false;
  bool relays_open_ = false, addresses_open_ = false;
};

}  // namespace

bool parse_onionoo(std::string_view body, std::vector<Cidr>* out, std::string* err,
                   FeedParseStats*) {
  // Onionoo holds host addresses only (/32, /128): never too broad.
  OnionooSax sax(out);
  // Virtual room for every address the body could hold ("1.2.3.4:1", with quotes and a comma,
  // is 12 bytes): pages are touched only as addresses arrive, and the vector never doubles
  // (a doubling copies, and holds both copies at once).
  out->reserve(out->size() + std::min(kMaxFeedEntries, body.size() / 12 + 1));
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(body.begin(), body.end(), &sax);
  } catch (const std::exception& e) {  // defensive: the SAX callbacks never throw
    sax.error = std::string("not valid JSON: ") + e.what();
  }
  if (!ok) {
    *err = "onionoo: " + (sax.error.empty() ? std::string("not valid JSON") : sax.error);
    return false;
  }
  if (!sax.saw_relays) {
    *err = "no \"relays\" array";
    return false;
  }
  if (sax.valid == 0 || sax.invalid > sax.valid) {
    *err = "onionoo: " + std::to_string(sax.valid) + " addresses, " + std::to_string(sax.invalid) +
           " invalid";
    return false;
  }
  return true;
}

bool parse_cidr_list(std::string_view body, std::vector<Cidr>* out, std::string* err,
                     FeedParseStats* stats) {
  std::size_t valid = 0, invalid = 0;
  out->reserve(out->size() + std::min(kMaxFeedEntries, body.size() / 8 + 1));  // "1.2.3.4\n"
  while (!body.empty()) {
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (const auto c = line.find_first_of(";#"); c != std::string_view::npos)
      line = line.substr(0, c);
    line = trim(line);
    if (line.empty()) continue;
    // The first field is the prefix ("1.10.16.0/20 ; SBL256894" is cut at ';' already).
    const auto sp = line.find_first_of(" \t");
    const auto cidr = parse_cidr(line.substr(0, sp));
    if (!cidr) {
      invalid++;
      continue;
    }
    if (cidr->len < (cidr->ip.family == 4 ? kMinFeedPrefixV4 : kMinFeedPrefixV6)) {
      // 0.0.0.0/0 in a feed would make every address a threat: refused, counted, the rest kept.
      if (stats) stats->too_broad++;
      continue;
    }
    if (out->size() >= kMaxFeedEntries) {
      *err = "more than " + std::to_string(kMaxFeedEntries) + " entries";
      return false;
    }
    out->push_back(*cidr);
    valid++;
  }
  if (valid == 0 || invalid > valid) {
    *err = "list: " + std::to_string(valid) + " prefixes, " + std::to_string(invalid) +
           " lines that are not an address or prefix";
    return false;
  }
  return true;
}

bool parse_feed(FeedFormat f, std::string_view body, std::vector<Cidr>* out, std::string* err,
                FeedParseStats* stats) {
  return f == FeedFormat::kOnionoo ? parse_onionoo(body, out, err, stats)
                                   : parse_cidr_list(body, out, err, stats);
}

// ---- FeedManager
// ---------------------------------------------------------------------------------

FeedManager::FeedManager(FeedOptions opts) : opts_(std::move(opts)) {
  for (const FeedSpec& s : opts_.feeds) {
    Entry e;
    e.spec = s;
    e.list = ThreatList{s.name, s.direction, std::make_shared<const PrefixSet>()};
    e.st.name = s.name;
    entries_.push_back(std::move(e));
  }
}

FeedManager::~FeedManager() {
  stop();
}

bool FeedManager::any_url() const {
  for (const Entry& e : entries_)
    if (!e.spec.urls.empty()) return true;
  return false;
}

std::string FeedManager::cache_path(const std::string& name) const {
  return opts_.state_dir + "/threat-" + name + ".cache";
}

void FeedManager::load_cache() {
  if (opts_.state_dir.empty()) return;
  for (Entry& e : entries_) {
    const std::string path = cache_path(e.spec.name);
    std::FILE* f = std::fopen(path.c_str(), "re");
    if (!f) continue;
    std::string body;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && body.size() <= opts_.max_bytes * 2)
      body.append(buf, n);
    std::fclose(f);
    double when = 0;
    std::sscanf(body.c_str(), "# hostflow threat list fetched %lf", &when);
    std::vector<Cidr> cidrs;
    std::string err;
    if (!parse_cidr_list(body, &cidrs, &err)) {
      log::warn("threat list cache unusable",
                {{"list", e.spec.name}, {"path", path}, {"err", err}});
      continue;
    }
    auto set = std::make_shared<const PrefixSet>(std::move(cidrs));
    std::lock_guard<std::mutex> lock(mu_);
    e.st.entries = set->entries();
    e.st.last_success_seconds = when;
    e.st.from_cache = true;
    e.list.set = std::move(set);
    log::info("threat list loaded from cache",
              {{"list", e.spec.name}, {"entries", std::to_string(e.st.entries)}});
  }
}

bool FeedManager::write_cache(const std::string& name, const PrefixSet& set, double when) const {
  if (opts_.state_dir.empty()) return true;
  const std::string path = cache_path(name);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a crash; O_EXCL below never follows or reuses a file
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    log::warn("threat list cache not written",
              {{"list", name}, {"path", tmp}, {"err", std::strerror(errno)}});
    return false;
  }
  std::string text = "# hostflow threat list fetched " + std::to_string(when) + "\n";
  for (const Cidr& c : set.prefixes()) {
    text += format_cidr(c);
    text += '\n';
  }
  bool ok = true;
  for (std::size_t off = 0; off < text.size();) {
    const ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(w);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    log::warn(
        "threat list cache not written (the list is in use; the cache keeps the previous one)",
        {{"list", name}, {"path", path}, {"err", std::strerror(ok ? errno : saved)}});
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

namespace {
struct Body {
  std::string data;
  std::uint64_t cap;
  bool too_large = false;
};
std::size_t on_data(char* p, std::size_t size, std::size_t n, void* user) {
  auto* b = static_cast<Body*>(user);
  const std::size_t len = size * n;
  if (b->data.size() + len > b->cap) {
    b->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  b->data.append(p, len);
  return len;
}
int on_progress(void* stopping, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(stopping)->load() ? 1 : 0;  // non-zero aborts
}
}  // namespace

bool FeedManager::fetch_all(const FeedSpec& spec, std::vector<Cidr>* out, std::string* err,
                            FeedParseStats* stats) const {
  if (!spec.path.empty()) {
    std::FILE* f = std::fopen(spec.path.c_str(), "re");
    if (!f) {
      *err = spec.path + ": " + std::strerror(errno);
      return false;
    }
    std::string body;
    char buf[65536];
    std::size_t n;
    bool too_large = false;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
      if (body.size() + n > opts_.max_bytes) {
        too_large = true;
        break;
      }
      body.append(buf, n);
    }
    std::fclose(f);
    if (too_large) {
      *err = spec.path + ": larger than " + std::to_string(opts_.max_bytes) + " bytes";
      return false;
    }
    if (!parse_feed(spec.format, body, out, err, stats)) {
      *err = spec.path + ": " + *err;
      return false;
    }
    return true;
  }
  for (const std::string& url : spec.urls) {
    CURL* c = curl_easy_init();
    if (!c) {
      *err = "curl_easy_init failed";
      return false;
    }
    Body body{{}, opts_.max_bytes};
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.fetch_timeout.count()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(opts_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opts_.max_bytes));
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip; the cap applies after decoding
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hostflow-exporter");
    // Certificates are always verified (libcurl's default); only the trust anchors can change.
    if (!opts_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    // Shutdown must not wait for a slow feed (--threat.fetch-timeout may be minutes): libcurl
    // calls this at least once a second, also while resolving and connecting.
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &stopping_);
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      *err = url + ": download aborted: the exporter is stopping";
      return false;
    }
    if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      *err = url + ": larger than " + std::to_string(opts_.max_bytes) + " bytes";
      return false;
    }
    if (rc != CURLE_OK) {
      *err = url + ": " + (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
      return false;
    }
    if (!parse_feed(spec.format, body.data, out, err, stats)) {
      *err = url + ": " + *err;
      return false;
    }
  }
  return true;
}

void FeedManager::refresh(std::size_t i) {
  FeedSpec spec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spec = entries_.at(i).spec;
  }
  const std::uint64_t t0 = mono_ns();
  std::vector<Cidr> cidrs;
  std::string err;
  FeedParseStats stats;
  const bool ok = fetch_all(spec, &cidrs, &err, &stats);
  if (!ok && stopping_) return;  // aborted by stop(): not a failure of the feed
  const double took = static_cast<double>(mono_ns() - t0) / 1e9;
  std::shared_ptr<const PrefixSet> set;
  bool cache_ok = true;
  const double now = static_cast<double>(real_ns()) / 1e9;
  if (ok) {
    set = std::make_shared<const PrefixSet>(std::move(cidrs));
    cache_ok = write_cache(spec.name, *set, now);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  e.st.refresh_seconds = took;
  if (ok) {
    e.st.entries = set->entries();
    e.st.last_success_seconds = now;
    e.st.from_cache = false;
    e.st.rejected_broad = stats.too_broad;
    if (!cache_ok) e.st.cache_errors++;
    e.st.last_error.clear();
    e.list.set = std::move(set);
    e.due = std::chrono::steady_clock::now() + spec.refresh;
    log::info("threat list refreshed",
              {{"list", spec.name}, {"entries", std::to_string(e.st.entries)}});
    if (stats.too_broad > 0)
      log::warn("threat list: prefixes broader than the minimum refused",
                {{"list", spec.name},
                 {"refused", std::to_string(stats.too_broad)},
                 {"min_v4", std::to_string(kMinFeedPrefixV4)},
                 {"min_v6", std::to_string(kMinFeedPrefixV6)}});
  } else {
    e.st.errors++;
    e.st.last_error = err;
    e.due = std::chrono::steady_clock::now() + std::min(spec.refresh, opts_.retry);
    log::warn("threat list refresh failed, keeping the last good list",
              {{"list", spec.name}, {"err", err}, {"entries", std::to_string(e.st.entries)}});
  }
}

void FeedManager::start() {
  if (thread_.joinable() || entries_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    stopping_ = false;
    for (Entry& e : entries_) e.due = std::chrono::steady_clock::now();
  }
  thread_ = std::thread([this] { run(); });
}

void FeedManager::stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FeedManager::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto next = std::chrono::steady_clock::time_point::max();
    std::size_t due = entries_.size();
    for (std::size_t i = 0; i < entries_.size(); i++) {
      if (entries_[i].due < next) {
        next = entries_[i].due;
        due = i;
      }
    }
    if (due == entries_.size()) break;
    if (std::chrono::steady_clock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    lock.unlock();
    refresh(due);  // a hung server costs at most --threat.fetch-timeout per URL
    lock.lock();
  }
}

std::vector<ThreatList> FeedManager::lists() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ThreatList> out;
  for (const Entry& e : entries_) out.push_back(e.list);
  return out;
}

std::vector<FeedStatus> FeedManager::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FeedStatus> out;
  for (const Entry& e : entries_) out.push_back(e.st);
  return out;
}

}  // namespace hostflow::exporter
