#include "areas/conntrack/conntrack_area.h"

#include <curl/curl.h>
#include <netdb.h>
#include <unistd.h>

#include "areas/conntrack/conntrack_families.h"
#include "config.h"
#include "hostflow/common/units.h"

namespace hostflow::exporter {
namespace {

void add_feed(CLI::App& app, FeedFlag& f, const std::string& stem, const std::string& what,
              const std::string& url, const std::string& refresh, bool file = false) {
  f.refresh = refresh;
  app.add_flag("--" + stem + ".enable", f.enable, "match flows against " + what);
  if (file) {
    app.add_option("--" + stem + ".path", f.path,
                   "file with one IP or CIDR per line ('#' comments)");
  } else {
    f.url = url;
    app.add_option("--" + stem + ".url", f.url, what + " URL")->capture_default_str();
  }
  app.add_option("--" + stem + ".refresh", f.refresh, "how often to refresh " + what)
      ->capture_default_str();
  app.add_option("--" + stem + ".direction", f.direction,
                 "contacts counted for this list: out, in or any (default: --contacts.direction)");
}

}  // namespace

void add_conntrack_flags(CLI::App& app, ExporterConfig& cfg) {
  ConntrackConfig& flags = cfg.conntrack;
  ConntrackFeatureOptions& opts = flags.feature;
  app.add_option("--conntrack.min", opts.flows.min,
                 "export a fixed IP's flow count, and its outbound behaviour, only when it (or its "
                 "unique remotes) reach this per interval")
      ->capture_default_str();
  app.add_flag("--outbound.behavior.enable", opts.flows.outbound,
               "export outbound behaviour counts per fixed IP");
  app.add_option("--contacts.direction", flags.contacts_direction,
                 "default direction filter of the threat lists: out, in or any")
      ->capture_default_str();
  add_feed(app, flags.tor_exit, "tor.exit", "Tor exit relays (Onionoo JSON)",
           "https://onionoo.torproject.org/details?search=flag:exit&fields=or_addresses", "1h");
  add_feed(app, flags.tor_relay, "tor.relay", "all running Tor relays (Onionoo JSON)",
           "https://onionoo.torproject.org/details?search=flag:running&fields=or_addresses", "1h");
  add_feed(app, flags.spamhaus, "spamhaus", "Spamhaus DROP (IPv4)",
           "https://www.spamhaus.org/drop/drop.txt", "6h");
  flags.spamhaus.url6 = "https://www.spamhaus.org/drop/dropv6.txt";
  app.add_option("--spamhaus.ipv6.url", flags.spamhaus.url6, "Spamhaus DROP (IPv6) URL")
      ->capture_default_str();
  add_feed(app, flags.emergingthreats, "emergingthreats", "EmergingThreats compromised IPs",
           "https://rules.emergingthreats.net/blockrules/compromised-ips.txt", "6h");
  add_feed(app, flags.customlist, "customlist", "a custom list file", "", "10m", true);
  app.add_flag("--threatfile.enable", flags.threatfile,
               "write one JSON line per new threat contact to --threatfile.path");
  app.add_option("--threatfile.path", flags.threatfile_path,
                 "threat log (appended; reopened when rotated)")
      ->capture_default_str();
  app.add_option("--threat.fetch-timeout", flags.fetch_timeout,
                 "longest one feed download may take")
      ->capture_default_str();
  app.add_option("--threat.connect-timeout", flags.connect_timeout, "feed connect timeout")
      ->capture_default_str();
  app.add_option("--threat.retry", flags.retry,
                 "retry a failed refresh after this (or the list's refresh, if shorter)")
      ->capture_default_str();
  app.add_option("--threat.max-bytes", flags.max_bytes,
                 "largest feed body accepted per URL (after decompression): bytes, or with KiB, "
                 "MiB, GiB")
      ->capture_default_str();
  app.add_option("--threat.ca-file", flags.ca_file,
                 "PEM file of the CAs that HTTPS feeds are verified against, instead of the "
                 "system's (e.g. an internal mirror's CA; the AppArmor profile allows "
                 "/etc/hostflow/). Certificates are always verified.");
  app.add_flag("--host.threats.enable", opts.host_threats,
               "match the host's own addresses against the threat lists");
  app.add_flag("--host.ips.allow-private", opts.host.allow_private,
               "include private, loopback and link-local host addresses in host matching");
  app.add_option("--host.interfaces", flags.host_interfaces,
                 "comma-separated host interfaces for host matching (default: all but lo)");
}

Result<void> validate_conntrack(ExporterConfig& cfg) {
  ConntrackConfig& flags = cfg.conntrack;
  ConntrackFeatureOptions& opts = flags.feature;
  Direction dflt;
  if (!parse_direction(flags.contacts_direction, &dflt))
    return Error{
        0, "--contacts.direction: want out, in or any (got " + flags.contacts_direction + ")"};
  FeedOptions fo;
  fo.state_dir = cfg.core.state_dir;
  const auto mb = size_flag("--threat.max-bytes", flags.max_bytes, 1024);
  if (!mb.ok()) return mb.error();
  fo.max_bytes = *mb;
  fo.ca_file = flags.ca_file;
  auto ft = duration_flag_ms("--threat.fetch-timeout", flags.fetch_timeout,
                             std::chrono::milliseconds(100));
  if (!ft.ok()) return ft.error();
  fo.fetch_timeout = *ft;
  auto ct = duration_flag_ms("--threat.connect-timeout", flags.connect_timeout,
                             std::chrono::milliseconds(100));
  if (!ct.ok()) return ct.error();
  fo.connect_timeout = *ct;
  auto rt = duration_flag_ms("--threat.retry", flags.retry, std::chrono::milliseconds(100));
  if (!rt.ok()) return rt.error();
  fo.retry = *rt;
  struct Item {
    const FeedFlag* f;
    const char* stem;
    const char* name;
    FeedFormat format;
  };
  const Item items[] = {
      {&flags.tor_exit, "tor.exit", "tor_exit", FeedFormat::kOnionoo},
      {&flags.tor_relay, "tor.relay", "tor_relay", FeedFormat::kOnionoo},
      {&flags.spamhaus, "spamhaus", "spamhaus", FeedFormat::kCidrList},
      {&flags.emergingthreats, "emergingthreats", "emergingthreats", FeedFormat::kCidrList},
      {&flags.customlist, "customlist", "customlist", FeedFormat::kCidrList},
  };
  for (const Item& it : items) {
    if (!it.f->enable) continue;
    FeedSpec s;
    s.name = it.name;
    s.format = it.format;
    const std::string stem = it.stem;
    auto r =
        duration_flag_ms("--" + stem + ".refresh", it.f->refresh, std::chrono::milliseconds(100));
    if (!r.ok()) return r.error();
    s.refresh = *r;
    s.direction = dflt;
    if (!it.f->direction.empty() && !parse_direction(it.f->direction, &s.direction))
      return Error{0,
                   "--" + stem + ".direction: want out, in or any (got " + it.f->direction + ")"};
    if (std::string(it.name) == "customlist") {
      if (it.f->path.empty()) return Error{0, "--customlist.enable needs --customlist.path"};
      s.path = it.f->path;
    } else {
      for (const std::string& u : {it.f->url, it.f->url6}) {
        if (u.empty()) continue;
        if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
          return Error{0, "--" + stem + ": want an http:// or https:// URL (got " + u + ")"};
        s.urls.push_back(u);
      }
      if (s.urls.empty()) return Error{0, "--" + stem + ".url: empty"};
    }
    fo.feeds.push_back(std::move(s));
  }
  if (flags.threatfile) {
    if (flags.threatfile_path.empty()) return Error{0, "--threatfile.path: empty"};
    opts.threat_log = flags.threatfile_path;
  }
  opts.host.interfaces.clear();
  for (std::size_t pos = 0; pos < flags.host_interfaces.size();) {
    std::size_t end = flags.host_interfaces.find(',', pos);
    if (end == std::string::npos) end = flags.host_interfaces.size();
    if (end > pos) opts.host.interfaces.push_back(flags.host_interfaces.substr(pos, end - pos));
    pos = end + 1;
  }
  flags.feeds = std::move(fo);
  return {};
}

namespace {

class ConntrackArea final : public Area {
 public:
  explicit ConntrackArea(const ConntrackConfig& c) : cfg_(c) {}

  // Before the seccomp filter: the CA file is checked, the lists' disk caches (and local list
  // files) are loaded, and
  // libcurl + OpenSSL are initialised and a name resolved once, so that every library or NSS
  // module they load is mapped while mmap(PROT_EXEC) is still allowed.
  Result<void> open() override {
    if (!cfg_.feeds.ca_file.empty() && ::access(cfg_.feeds.ca_file.c_str(), R_OK) != 0)
      return Error::from_errno("--threat.ca-file " + cfg_.feeds.ca_file);
    if (!cfg_.feeds.feeds.empty()) {
      feeds_ = std::make_shared<FeedManager>(cfg_.feeds);
      feeds_->load_cache();
      // Lists read from a local file (--customlist.path) are loaded now, so the first rendering
      // has them; lists with URLs wait for the refresh thread (their disk cache serves meanwhile).
      for (std::size_t i = 0; i < cfg_.feeds.feeds.size(); i++)
        if (cfg_.feeds.feeds[i].urls.empty()) feeds_->refresh(i);
      if (feeds_->any_url()) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        if (getaddrinfo("localhost", "80", &hints, &res) == 0) freeaddrinfo(res);
      }
    }
    feature_ = std::make_unique<ConntrackFeature>(cfg_.feature, feeds_);
    return {};
  }
  void policy_needs(ExporterPolicyOptions& o) const override {
    const ConntrackConfig& f = cfg_;
    o.feed_fetch =
        f.tor_exit.enable || f.tor_relay.enable || f.spamhaus.enable || f.emergingthreats.enable;
    o.state_writes = o.feed_fetch || f.customlist.enable || f.threatfile;
  }
  void start() override {
    if (feeds_) feeds_->start();
  }
  void stop() override {
    if (feeds_) feeds_->stop();
  }
  void update(const Frame& f) override {
    if (!feature_) feature_ = std::make_unique<ConntrackFeature>(cfg_.feature, feeds_);
    view_ = feature_->update(f.snapshot, f.identity, static_cast<double>(f.now_real_ns) / 1e9);
  }
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (ctx.identity && ctx.fresh) conntrack_families(view_, &out);
  }

 private:
  ConntrackConfig cfg_;
  std::shared_ptr<FeedManager> feeds_;
  std::unique_ptr<ConntrackFeature> feature_;
  ConntrackView view_;
};

}  // namespace

std::unique_ptr<Area> make_conntrack_area(const ExporterConfig& cfg) {
  return std::make_unique<ConntrackArea>(cfg.conntrack);
}

}  // namespace hostflow::exporter
