#include "features/threat_feeds.h"

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
  if (s == "out") *out = Direction::kOut;
  else if (s == "in") *out = Direction::kIn;
  else if (s == "any") *out = Direction::kAny;
  else return false;
  return true;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::kOut: return "out";
    case Direction::kIn: return "in";
    case Direction::kAny: return "any";
  }
  return "any";
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
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

bool parse_onionoo(std::string_view body, std::vector<Cidr>* out, std::string* err) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    *err = "not a JSON object";
    return false;
  }
  const auto relays = doc.find("relays");
  if (relays == doc.end() || !relays->is_array()) {
    *err = "no \"relays\" array";
    return false;
  }
  std::size_t valid = 0, invalid = 0;
  for (const auto& r : *relays) {
    if (!r.is_object()) {
      invalid++;
      continue;
    }
    const auto addrs = r.find("or_addresses");
    if (addrs == r.end() || !addrs->is_array()) continue;  // a relay without addresses
    for (const auto& a : *addrs) {
      if (out->size() >= kMaxFeedEntries) {
        *err = "more than " + std::to_string(kMaxFeedEntries) + " entries";
        return false;
      }
      const auto ip = a.is_string() ? or_address(a.get_ref<const std::string&>()) : std::nullopt;
      if (!ip) {
        invalid++;
        continue;
      }
      out->push_back(Cidr{*ip, static_cast<std::uint8_t>(ip->family == 4 ? 32 : 128)});
      valid++;
    }
  }
  if (valid == 0 || invalid > valid) {
    *err = "onionoo: " + std::to_string(valid) + " addresses, " + std::to_string(invalid) +
           " invalid";
    return false;
  }
  return true;
}

bool parse_cidr_list(std::string_view body, std::vector<Cidr>* out, std::string* err) {
  std::size_t valid = 0, invalid = 0;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (const auto c = line.find_first_of(";#"); c != std::string_view::npos) line = line.substr(0, c);
    line = trim(line);
    if (line.empty()) continue;
    // The first field is the prefix ("1.10.16.0/20 ; SBL256894" is cut at ';' already).
    const auto sp = line.find_first_of(" \t");
    const auto cidr = parse_cidr(line.substr(0, sp));
    if (!cidr) {
      invalid++;
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

bool parse_feed(FeedFormat f, std::string_view body, std::vector<Cidr>* out, std::string* err) {
  return f == FeedFormat::kOnionoo ? parse_onionoo(body, out, err)
                                   : parse_cidr_list(body, out, err);
}

// ---- FeedManager ---------------------------------------------------------------------------------

FeedManager::FeedManager(FeedOptions opts) : opts_(std::move(opts)) {
  for (const FeedSpec& s : opts_.feeds) {
    Entry e;
    e.spec = s;
    e.list = ThreatList{s.name, s.direction, std::make_shared<const PrefixSet>()};
    e.st.name = s.name;
    entries_.push_back(std::move(e));
  }
}

FeedManager::~FeedManager() { stop(); }

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
      log::warn("threat list cache unusable", {{"list", e.spec.name}, {"path", path}, {"err", err}});
      continue;
    }
    auto set = std::make_shared<const PrefixSet>(cidrs);
    std::lock_guard<std::mutex> lock(mu_);
    e.st.entries = set->entries();
    e.st.last_success_seconds = when;
    e.st.from_cache = true;
    e.list.set = std::move(set);
    log::info("threat list loaded from cache", {{"list", e.spec.name},
                                                {"entries", std::to_string(e.st.entries)}});
  }
}

void FeedManager::write_cache(const std::string& name, const PrefixSet& set, double when) const {
  if (opts_.state_dir.empty()) return;
  const std::string path = cache_path(name);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a crash; O_EXCL below never follows or reuses a file
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    log::warn("threat list cache not written", {{"list", name}, {"path", tmp}, {"err", std::strerror(errno)}});
    return;
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
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    log::warn("threat list cache not written", {{"list", name}, {"path", path}, {"err", std::strerror(errno)}});
    ::unlink(tmp.c_str());
  }
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
}  // namespace

bool FeedManager::fetch_all(const FeedSpec& spec, std::vector<Cidr>* out, std::string* err) const {
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
    if (!parse_feed(spec.format, body, out, err)) {
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
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opts_.max_bytes));
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip; the cap applies after decoding
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hostflow-exporter");
    // Certificates are always verified (libcurl's default); only the trust anchors can change.
    if (!opts_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      *err = url + ": larger than " + std::to_string(opts_.max_bytes) + " bytes";
      return false;
    }
    if (rc != CURLE_OK) {
      *err = url + ": " + (errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc)));
      return false;
    }
    if (!parse_feed(spec.format, body.data, out, err)) {
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
  const bool ok = fetch_all(spec, &cidrs, &err);
  const double took = static_cast<double>(mono_ns() - t0) / 1e9;
  std::shared_ptr<const PrefixSet> set;
  const double now = static_cast<double>(real_ns()) / 1e9;
  if (ok) {
    set = std::make_shared<const PrefixSet>(cidrs);
    write_cache(spec.name, *set, now);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[i];
  e.st.refresh_seconds = took;
  if (ok) {
    e.st.entries = set->entries();
    e.st.last_success_seconds = now;
    e.st.from_cache = false;
    e.st.last_error.clear();
    e.list.set = std::move(set);
    e.due = std::chrono::steady_clock::now() + spec.refresh;
    log::info("threat list refreshed", {{"list", spec.name}, {"entries", std::to_string(e.st.entries)}});
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
    for (Entry& e : entries_) e.due = std::chrono::steady_clock::now();
  }
  thread_ = std::thread([this] { run(); });
}

void FeedManager::stop() {
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
