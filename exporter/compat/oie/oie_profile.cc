#include "compat/oie/oie_profile.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Type;

double oie_round5(double v) {
  return std::round(v * 100000) / 100000;
}

double oie_gbytes(double bytes) {
  return oie_round5(bytes * (1.0 / (1024.0 * 1024.0 * 1024.0)));
}

namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

}  // namespace

std::string oie_text_label(std::string_view s) {
  s = trim(s);
  return s.empty() ? std::string("unknown") : std::string(s);
}

std::optional<std::string> oie_int_label(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::string("0");
  bool neg = false;
  if (s.front() == '+' || s.front() == '-') {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // strconv.ParseInt(s, 10, 64): digits only, within int64.
  unsigned long long v = 0;
  const unsigned long long limit = neg ? 9223372036854775808ull : 9223372036854775807ull;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const unsigned d = static_cast<unsigned>(c - '0');
    if (v > (limit - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v == 0) return std::string("0");
  return (neg ? "-" : "") + std::to_string(v);
}

OieDisk oie_disk_labels(std::string_view disk_type, std::string_view disk_path) {
  if (disk_type == "file") return {"local", std::string(disk_path)};
  // parseDiskType(<source name>): strings.Split(name, "/"), parts[0] and parts[1]. hostflow's
  // disk_path of a disk with a <source name> (network disks) is that name; block and volume
  // disks have none (OIE: "unknown").
  if (disk_type == "network") {
    const auto slash = disk_path.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view rest = disk_path.substr(slash + 1);
      return {std::string(disk_path.substr(0, slash)), std::string(rest.substr(0, rest.find('/')))};
    }
  }
  return {"unknown", "unknown"};
}

double oie_threshold(const std::map<std::string, double>& per_tier, std::string_view tier,
                     double dflt) {
  if (auto it = per_tier.find(std::string(tier)); it != per_tier.end()) return it->second;
  if (auto it = per_tier.find("default"); it != per_tier.end()) return it->second;
  return dflt;
}

namespace {

// The five lists, with the words OIE's HELP texts use for them.
struct ListText {
  const char* name;     // list label and <list> in the family names
  const char* contact;  // "Total <contact> contacts ...", "Active <contact> flows ..."
  const char* refresh;  // "Last successful <refresh> list refresh ..."
  const char* loaded;   // "Number of <loaded> currently loaded"
};
constexpr ListText kLists[] = {
    {"tor_exit", "Tor exit-node", "Tor exit-node", "Tor exit-node IPs"},
    {"tor_relay", "Tor relay-node", "Tor relay", "Tor relay IPs"},
    {"spamhaus", "Spamhaus DROP", "Spamhaus", "Spamhaus CIDRs"},
    {"emergingthreats", "EmergingThreats", "EmergingThreats", "EmergingThreats IPs"},
    {"customlist", "custom list", "custom", "custom list IPs"},
};
constexpr std::size_t kListCount = std::size(kLists);

// OIE's names of a list's direction (ContactDirection.String()), hostflow's values of its
// observed `direction` label.
std::string_view dir_name(Direction d) {
  switch (d) {
    case Direction::kIn:
      return "in";
    case Direction::kAny:
      return "any";
    case Direction::kOut:
      break;
  }
  return "out";
}

int list_index(std::string_view name) {
  for (std::size_t i = 0; i < kListCount; i++)
    if (name == kLists[i].name) return static_cast<int>(i);
  return -1;
}

// The first sample of a family whose `label` equals `value` (or the first sample when `label` is
// empty); nullopt when there is none.
std::optional<double> value_of(const NativeFamilies& n, std::string_view family,
                               std::string_view label = {}, std::string_view value = {}) {
  const Family* f = n.find(family);
  if (!f) return std::nullopt;
  const Column c(f, label);
  for (std::size_t s = 0; s < f->size(); s++)
    if (label.empty() || c(s) == value) return f->value(s);
  return std::nullopt;
}

// One libvirt domain as OIE labels it.
struct Instance {
  std::string uuid, domain, project_uuid, user_uuid;
  bool skipped = false;  // Nova numbers Go cannot parse: OIE skips the whole domain
};

// Label sets, in the wire order of client_golang (sorted by label name).
const std::vector<std::string> kCpu4 = {"domain", "instance_uuid", "project_uuid", "user_uuid"};
const std::vector<std::string> kDisk7 = {"disk_path",     "disk_type",    "disk_uuid", "domain",
                                         "instance_uuid", "project_uuid", "user_uuid"};
const std::vector<std::string> kNet5 = {"domain", "instance_uuid", "interface", "project_uuid",
                                        "user_uuid"};
const std::vector<std::string> kIp6 = {"domain", "family",       "instance_uuid",
                                       "ip",     "project_uuid", "user_uuid"};
const std::vector<std::string> kThreat5 = {"direction", "domain", "instance_uuid", "project_uuid",
                                           "user_uuid"};

class OieProfile final : public Profile {
 public:
  explicit OieProfile(const ExporterConfig& cfg)
      : cpu_min_(cfg.vms.cpu_min), render_(cfg.vms.render), contacts_enabled_(false) {
    for (std::size_t i = 0; i < kListCount; i++) direction_[i] = Direction::kOut;
    for (const FeedSpec& f : cfg.conntrack.feeds.feeds) {
      const int i = list_index(f.name);
      if (i < 0) continue;
      enabled_[static_cast<std::size_t>(i)] = true;
      direction_[static_cast<std::size_t>(i)] = f.direction;
      contacts_enabled_ = true;
    }
  }

  void emit(const ProfileInput& in, metrics::FamilySet& out) override;

 private:
  void instances(const NativeFamilies& n);
  void per_instance(const NativeFamilies& n, std::vector<Family>& fams);
  void threats(const NativeFamilies& n, bool new_snapshot, std::vector<Family>& fams);
  void feeds(const NativeFamilies& n, std::vector<Family>& fams);
  void host(const NativeFamilies& n, std::vector<Family>& fams);
  void cleanup(std::uint64_t now_real_ns);

  const double cpu_min_;
  const VmRenderOptions render_;
  bool contacts_enabled_;
  bool enabled_[kListCount] = {};
  Direction direction_[kListCount];

  // This rendering's instances (libvirt domains), by uuid and by name.
  std::vector<Instance> vms_;
  std::unordered_map<std::string, std::size_t> by_uuid_, by_name_;

  // Snapshot bookkeeping (a rendering is not always a new snapshot).
  double generation_ = -1;
  double first_generation_ = -1;
  double last_ts_ = 0, prev_ts_ = 0;
  // oie_<list>_contact: the running sum of the active value over snapshots, per instance.
  std::map<std::pair<std::string, std::size_t>, double> contact_totals_;
  // Feed refresh duration of the last success (OIE does not update it on failures).
  double feed_last_success_[kListCount] = {};
  double feed_duration_[kListCount] = {};
  // The minute-tick cleanup of the per-instance state (OIE's startCacheCleanup).
  std::set<std::string> known_;  // uuids with state
  std::uint64_t next_cleanup_ns_ = 0;
  double cleanup_seconds_ = 0;
  std::uint64_t evictions_ = 0;
};

void OieProfile::instances(const NativeFamilies& n) {
  vms_.clear();
  by_uuid_.clear();
  by_name_.clear();
  const Family* info = n.find("hostflow_vm_info");
  if (!info) return;
  const Column uuid(info, "vm_uuid"), name(info, "vm_name"), source(info, "source");
  for (std::size_t s = 0; s < info->size(); s++) {
    if (source(s) != "libvirt") continue;  // OIE sees libvirt's domains only
    Instance i;
    i.uuid = std::string(uuid(s));
    i.domain = std::string(name(s));
    by_uuid_.emplace(i.uuid, vms_.size());
    by_name_.emplace(i.domain, vms_.size());
    vms_.push_back(std::move(i));
  }
}

void OieProfile::per_instance(const NativeFamilies& n, std::vector<Family>& fams) {
  // oie_instance_info: Nova metadata, or OIE's defaults for a domain without it.
  Family info("oie_instance_info", "Static instance metadata (one series per active instance)",
              Type::kGauge);
  info.set_label_names({"created_at", "domain", "flavor", "instance_uuid", "mem_mb",
                        "metadata_version", "project_name", "project_uuid", "root_type",
                        "user_name", "user_uuid", "vcpus"});
  std::vector<bool> has_nova(vms_.size(), false);
  struct NovaText {
    std::string created_at, flavor, mem_mb, metadata_version, project_name, root_type, user_name,
        vcpus;
  };
  std::vector<NovaText> nova(vms_.size());
  if (const Family* f = n.find("hostflow_openstack_instance_info")) {
    const Column uuid(f, "vm_uuid"), pu(f, "project_uuid"), pn(f, "project_name"),
        uu(f, "user_uuid"), un(f, "user_name"), fl(f, "flavor"), vc(f, "vcpus"), mm(f, "mem_mb"),
        rt(f, "root_type"), ca(f, "created_at"), pv(f, "package_version");
    for (std::size_t s = 0; s < f->size(); s++) {
      const auto it = by_uuid_.find(std::string(uuid(s)));
      if (it == by_uuid_.end()) continue;
      Instance& i = vms_[it->second];
      const auto vcpus = oie_int_label(vc(s)), mem = oie_int_label(mm(s));
      if (!vcpus || !mem) {
        i.skipped = true;
        continue;
      }
      // OIE writes the UUID attributes as they are, the texts trimmed.
      i.project_uuid = std::string(pu(s));
      i.user_uuid = std::string(uu(s));
      has_nova[it->second] = true;
      nova[it->second] = NovaText{oie_text_label(ca(s)),
                                  oie_text_label(fl(s)),
                                  *mem,
                                  oie_text_label(pv(s)),
                                  oie_text_label(pn(s)),
                                  oie_text_label(rt(s)),
                                  oie_text_label(un(s)),
                                  *vcpus};
    }
  }
  for (std::size_t k = 0; k < vms_.size(); k++) {
    const Instance& i = vms_[k];
    if (i.skipped) continue;
    const NovaText t = has_nova[k] ? nova[k] : NovaText{"unknown", "unknown", "0",       "unknown",
                                                        "unknown", "unknown", "unknown", "0"};
    info.add_values(
        {t.created_at, i.domain, t.flavor, i.uuid, t.mem_mb, t.metadata_version, t.project_name,
         i.project_uuid, t.root_type, t.user_name, i.user_uuid, t.vcpus},
        1);
  }
  fams.push_back(std::move(info));

  auto vm_of = [&](const Column& uuid, std::size_t s) -> const Instance* {
    const auto it = by_uuid_.find(std::string(uuid(s)));
    if (it == by_uuid_.end() || vms_[it->second].skipped) return nullptr;
    return &vms_[it->second];
  };

  // CPU: hostflow's samples already follow --cpu.min with one trailing sample (vm_history.cc).
  // With --cpu.min=0 OIE also writes a 0 where it had no usage yet (a VM's first cycle).
  Family cpu("oie_cpu_percent", "CPU usage percentage", Type::kGauge);
  cpu.set_label_names(kCpu4);
  {
    std::set<std::string_view> sampled;
    if (const Family* f = n.find("hostflow_vm_cpu_percent")) {
      const Column uuid(f, "vm_uuid");
      for (std::size_t s = 0; s < f->size(); s++) {
        const Instance* i = vm_of(uuid, s);
        if (!i) continue;
        sampled.insert(i->uuid);
        cpu.add_values({i->domain, i->uuid, i->project_uuid, i->user_uuid},
                       oie_round5(f->value(s)));
      }
    }
    if (cpu_min_ <= 0)
      for (const Instance& i : vms_)
        if (!i.skipped && !sampled.count(i.uuid))
          cpu.add_values({i.domain, i.uuid, i.project_uuid, i.user_uuid}, 0);
  }
  fams.push_back(std::move(cpu));

  // Disks: info and thresholds for every disk, the four I/O counters together on activity.
  Family dinfo("oie_disk_info", "Static disk metadata (one series per disk per active instance)",
               Type::kGauge);
  Family rth("oie_disk_r_alert_threshold", "Disk read alert threshold", Type::kGauge);
  Family wth("oie_disk_w_alert_threshold", "Disk write alert threshold", Type::kGauge);
  Family rgb("oie_disk_r_gbytes", "Disk read gigabytes", Type::kCounter);
  Family wgb("oie_disk_w_gbytes", "Disk write gigabytes", Type::kCounter);
  Family rrq("oie_disk_r_requests", "Disk read requests", Type::kCounter);
  Family wrq("oie_disk_w_requests", "Disk write requests", Type::kCounter);
  for (Family* f : {&dinfo, &rth, &wth, &rgb, &wgb, &rrq, &wrq}) f->set_label_names(kDisk7);
  if (const Family* f = n.find("hostflow_vm_disk_info")) {
    // I/O by (vm_uuid, disk): hostflow writes all four or none, on the same activity rule.
    using Key = std::pair<std::string, std::string>;
    std::map<Key, double> io[4];
    const char* io_names[4] = {
        "hostflow_vm_disk_read_bytes_total", "hostflow_vm_disk_write_bytes_total",
        "hostflow_vm_disk_read_requests_total", "hostflow_vm_disk_write_requests_total"};
    for (int k = 0; k < 4; k++)
      if (const Family* g = n.find(io_names[k])) {
        const Column u(g, "vm_uuid"), d(g, "disk");
        for (std::size_t s = 0; s < g->size(); s++)
          io[k][Key(std::string(u(s)), std::string(d(s)))] = g->value(s);
      }
    const Column uuid(f, "vm_uuid"), disk(f, "disk"), type(f, "disk_type"), path(f, "disk_path");
    for (std::size_t s = 0; s < f->size(); s++) {
      const Instance* i = vm_of(uuid, s);
      if (!i) continue;
      const OieDisk d = oie_disk_labels(type(s), path(s));
      const std::initializer_list<std::string_view> l = {
          disk(s), d.tier, d.uuid, i->domain, i->uuid, i->project_uuid, i->user_uuid};
      dinfo.add_values(l, 1);
      rth.add_values(
          l, oie_threshold(render_.read_thresholds, d.tier, render_.default_read_threshold));
      wth.add_values(
          l, oie_threshold(render_.write_thresholds, d.tier, render_.default_write_threshold));
      const Key key(i->uuid, std::string(disk(s)));
      const auto rb = io[0].find(key);
      if (rb == io[0].end()) continue;
      rgb.add_values(l, oie_gbytes(rb->second));
      wgb.add_values(l, oie_gbytes(io[1][key]));
      rrq.add_values(l, io[2][key]);
      wrq.add_values(l, io[3][key]);
    }
  }
  for (Family* f : {&dinfo, &rth, &wth, &rgb, &wgb, &rrq, &wrq}) fams.push_back(std::move(*f));

  // vNICs: libvirt's domain view, each counter written only when not zero (as hostflow's).
  struct Net {
    const char* name;
    const char* help;
    const char* native;
    bool gbytes;
  };
  static constexpr Net kNet[] = {
      {"oie_net_rx_gbytes", "Network receive gigabytes", "hostflow_vm_vnic_receive_bytes_total",
       true},
      {"oie_net_tx_gbytes", "Network transmit gigabytes", "hostflow_vm_vnic_transmit_bytes_total",
       true},
      {"oie_net_rx_pkt_total", "Network receive packets", "hostflow_vm_vnic_receive_packets_total",
       false},
      {"oie_net_tx_pkt_total", "Network transmit packets",
       "hostflow_vm_vnic_transmit_packets_total", false},
      {"oie_net_rx_er_total", "Network receive errors", "hostflow_vm_vnic_receive_errors_total",
       false},
      {"oie_net_tx_er_total", "Network transmit errors", "hostflow_vm_vnic_transmit_errors_total",
       false},
      {"oie_net_rx_drp_total", "Network receive dropped packets",
       "hostflow_vm_vnic_receive_dropped_total", false},
      {"oie_net_tx_drp_total", "Network transmit dropped packets",
       "hostflow_vm_vnic_transmit_dropped_total", false},
  };
  for (const Net& k : kNet) {
    Family g(k.name, k.help, Type::kCounter);
    g.set_label_names(kNet5);
    if (const Family* f = n.find(k.native)) {
      const Column uuid(f, "vm_uuid"), iface(f, "interface");
      for (std::size_t s = 0; s < f->size(); s++) {
        const Instance* i = vm_of(uuid, s);
        if (!i || f->value(s) == 0) continue;
        g.add_values({i->domain, i->uuid, iface(s), i->project_uuid, i->user_uuid},
                     k.gbytes ? oie_gbytes(f->value(s)) : f->value(s));
      }
    }
    fams.push_back(std::move(g));
  }

  // Conntrack per fixed IP and outbound behaviour: OIE looks at flows only when the table has
  // entries (hostflow's gates: --conntrack.min, the outbound OR-gate).
  const double entries =
      value_of(n, "hostflow_conntrack_entries").value_or(0) +
      value_of(n, "hostflow_snapshot_dropped_records", "section", "conntrack").value_or(0);
  struct Ip {
    const char* name;
    const char* help;
    const char* native;
  };
  static constexpr Ip kIp[] = {
      {"oie_conntrack_ip_flows_total", "Conntrack flow entries matched to this fixed IP",
       "hostflow_conntrack_ip_flows"},
      {"oie_outbound_unique_remotes",
       "Outbound unique remote IPs for this fixed IP in the current interval",
       "hostflow_outbound_unique_remotes"},
      {"oie_outbound_new_remotes", "Outbound new remote IPs discovered since previous interval",
       "hostflow_outbound_new_remotes"},
      {"oie_outbound_flows",
       "Outbound conntrack flows initiated by this fixed IP in the current interval",
       "hostflow_outbound_flows"},
      {"oie_outbound_max_flows_single_remote",
       "Maximum outbound flows to a single remote IP in the current interval",
       "hostflow_outbound_max_flows_single_remote"},
      {"oie_outbound_unique_dst_ports", "Outbound unique destination ports in the current interval",
       "hostflow_outbound_unique_dst_ports"},
      {"oie_outbound_new_dst_ports",
       "Outbound new destination ports discovered since previous interval",
       "hostflow_outbound_new_dst_ports"},
      {"oie_outbound_max_flows_single_dst_port",
       "Maximum outbound flows to a single destination port in the current interval",
       "hostflow_outbound_max_flows_single_dst_port"},
  };
  // OIE writes the three port families only when the fixed IP has destination ports.
  std::set<std::pair<std::string, std::string>> with_ports;
  if (const Family* f = n.find("hostflow_outbound_unique_dst_ports")) {
    const Column owner(f, "owner"), ip(f, "ip");
    for (std::size_t s = 0; s < f->size(); s++)
      if (f->value(s) > 0) with_ports.emplace(std::string(owner(s)), std::string(ip(s)));
  }
  for (std::size_t k = 0; k < std::size(kIp); k++) {
    Family g(kIp[k].name, kIp[k].help, Type::kGauge);
    g.set_label_names(kIp6);
    const Family* f = entries > 0 ? n.find(kIp[k].native) : nullptr;
    if (f) {
      const Column ot(f, "owner_type"), owner(f, "owner"), ip(f, "ip"), fam(f, "family");
      for (std::size_t s = 0; s < f->size(); s++) {
        if (ot(s) != "vm") continue;
        const auto it = by_name_.find(std::string(owner(s)));
        if (it == by_name_.end() || vms_[it->second].skipped) continue;
        if (k >= 5 && !with_ports.count({std::string(owner(s)), std::string(ip(s))})) continue;
        const Instance& i = vms_[it->second];
        g.add_values({i.domain, fam(s), i.uuid, ip(s), i.project_uuid, i.user_uuid}, f->value(s));
      }
    }
    fams.push_back(std::move(g));
  }
}

void OieProfile::threats(const NativeFamilies& n, bool new_snapshot, std::vector<Family>& fams) {
  if (!contacts_enabled_) return;
  // Active contacts per (instance, list) in the list's configured direction: hostflow counts
  // them per observed direction; "any" is both.
  std::map<std::pair<std::size_t, std::size_t>, double> active;
  if (const Family* f = n.find("hostflow_threat_contacts_active")) {
    const Column ot(f, "owner_type"), owner(f, "owner"), list(f, "list"), dir(f, "direction");
    for (std::size_t s = 0; s < f->size(); s++) {
      if (ot(s) != "vm") continue;
      const int li = list_index(list(s));
      if (li < 0 || !enabled_[li]) continue;
      const auto it = by_name_.find(std::string(owner(s)));
      if (it == by_name_.end() || vms_[it->second].skipped) continue;
      const Direction want = direction_[li];
      const bool counts = want == Direction::kAny || dir_name(want) == dir(s);
      if (counts) active[{it->second, static_cast<std::size_t>(li)}] += f->value(s);
    }
  }
  if (new_snapshot)
    for (const auto& [key, v] : active)
      if (v > 0) contact_totals_[{vms_[key.first].uuid, key.second}] += v;
  for (std::size_t li = 0; li < kListCount; li++) {
    if (!enabled_[li]) continue;
    const ListText& t = kLists[li];
    const std::string dir(dir_name(direction_[li]));
    Family total(
        std::string("oie_") + t.name + "_contact",
        std::string("Total ") + t.contact + " contacts for this instance (presence over intervals)",
        Type::kCounter);
    Family act(std::string("oie_") + t.name + "_contact_active",
               std::string("Active ") + t.contact + " flows for this instance", Type::kGauge);
    total.set_label_names(kThreat5);
    act.set_label_names(kThreat5);
    for (std::size_t k = 0; k < vms_.size(); k++) {
      const Instance& i = vms_[k];
      if (i.skipped) continue;
      const auto a = active.find({k, li});
      if (a != active.end() && a->second > 0)
        act.add_values({dir, i.domain, i.uuid, i.project_uuid, i.user_uuid}, a->second);
      const auto c = contact_totals_.find({i.uuid, li});
      if (c != contact_totals_.end() && c->second > 0)
        total.add_values({dir, i.domain, i.uuid, i.project_uuid, i.user_uuid}, c->second);
    }
    fams.push_back(std::move(total));
    fams.push_back(std::move(act));
  }
}

void OieProfile::feeds(const NativeFamilies& n, std::vector<Family>& fams) {
  const Family* last = n.find("hostflow_threat_feed_last_success_timestamp_seconds");
  if (!last) return;
  const Column lc(last, "list");
  for (std::size_t s = 0; s < last->size(); s++) {
    const int li = list_index(lc(s));
    if (li < 0) continue;
    const ListText& t = kLists[li];
    const std::string list(lc(s));
    const double ts = std::floor(last->value(s));  // time.Now().Unix()
    // The duration of the refresh that gave the list in use (hostflow: of the last attempt).
    if (ts != feed_last_success_[li]) {
      feed_last_success_[li] = ts;
      feed_duration_[li] =
          value_of(n, "hostflow_threat_feed_refresh_duration_seconds", "list", list).value_or(0);
    }
    const std::string base = std::string("oie_") + t.name;
    const std::string words = t.refresh;
    Family a(base + "_refresh_last_success_timestamp_seconds",
             "Last successful " + words + " list refresh (unix timestamp)", Type::kGauge);
    a.add(ts);
    Family d(base + "_refresh_duration_seconds",
             "Duration of last " + words + " list refresh in seconds", Type::kGauge);
    d.add(ts > 0 ? oie_round5(feed_duration_[li]) : 0);
    Family e(base + "_refresh_errors_total", "Total " + words + " list refresh errors",
             Type::kCounter);
    e.add(value_of(n, "hostflow_threat_feed_refresh_errors_total", "list", list).value_or(0));
    Family c(base + "_entries", std::string("Number of ") + t.loaded + " currently loaded",
             Type::kGauge);
    c.add(value_of(n, "hostflow_threat_feed_entries", "list", list).value_or(0));
    for (Family* f : {&a, &d, &e, &c}) fams.push_back(std::move(*f));
  }
  // Host addresses in a list: one series per (list, address), whatever the interface.
  Family listed("oie_host_threat_listed", "Host IP is listed in threat list", Type::kGauge);
  listed.set_label_names({"family", "ip", "list"});
  if (const Family* f = n.find("hostflow_host_threat_listed")) {
    const Column list(f, "list"), ip(f, "ip"), fam(f, "family");
    for (std::size_t s = 0; s < f->size(); s++)
      if (list_index(list(s)) >= 0) listed.add_values({fam(s), ip(s), list(s)}, 1);
    listed.drop_duplicate_series();  // the same address on two interfaces
  }
  fams.push_back(std::move(listed));
}

void OieProfile::host(const NativeFamilies& n, std::vector<Family>& fams) {
  const Family* dur = n.find("hostflow_source_duration_seconds");
  if (!dur) return;  // no sampler families: OIE has no host slice before its first cycle
  auto gauge = [&](const char* name, const char* help, double v, Type t = Type::kGauge) {
    Family f(name, help, t);
    f.add(v);
    fams.push_back(std::move(f));
  };
  double vcpus = 0, mem = 0;
  for (auto [family, sum] :
       {std::pair{"hostflow_vm_vcpus", &vcpus}, std::pair{"hostflow_vm_memory_bytes", &mem}})
    if (const Family* f = n.find(family)) {
      const Column uuid(f, "vm_uuid");
      for (std::size_t s = 0; s < f->size(); s++)
        if (by_uuid_.count(std::string(uuid(s)))) *sum += f->value(s);
    }
  double cycle = 0;
  for (std::size_t s = 0; s < dur->size(); s++) cycle += dur->value(s);
  const double lag = prev_ts_ > 0 ? std::max(0.0, last_ts_ - prev_ts_ - cycle) : 0;
  const double ct_errors =
      value_of(n, "hostflow_source_errors_total", "source", "conntrack").value_or(0);
  const double lv_errors =
      value_of(n, "hostflow_source_errors_total", "source", "libvirt").value_or(0);
  std::size_t cached = 0;
  for (const Instance& i : vms_) cached += i.skipped ? 0 : 1;
  std::size_t lists_loaded = 0;
  for (std::size_t li = 0; li < kListCount; li++) lists_loaded += feed_last_success_[li] > 0;
  // glibc's allocator: bytes in use (arena chunks + mmapped chunks), the exporter's live heap.
  const struct mallinfo2 mi = ::mallinfo2();

  gauge("oie_cache_cleanup_duration_seconds",
        "Duration of last cache cleanup cycle on this host (seconds)",
        oie_round5(cleanup_seconds_));
  gauge("oie_cache_evictions_total", "Total cache entries evicted on this host",
        static_cast<double>(evictions_), Type::kCounter);
  gauge("oie_conntrack_read_errors_total", "Conntrack read errors on this host", ct_errors,
        Type::kCounter);
  gauge("oie_dynamic_cache_entries", "Number of dynamic cache entries",
        static_cast<double>(cached));
  gauge("oie_host_active_mem_gbytes",
        "Sum of max memory allocated to active domains on this hypervisor (GB)", oie_gbytes(mem));
  gauge("oie_host_active_vcpus", "Sum of vCPUs allocated to active domains on this hypervisor",
        vcpus);
  gauge("oie_host_active_vms", "Active libvirt domains on this hypervisor",
        static_cast<double>(vms_.size()));
  gauge("oie_host_collection_duration_seconds",
        "Duration of last background collection cycle on this host (seconds)", oie_round5(cycle));
  gauge("oie_host_collection_errors_total", "Total background collection errors on this host",
        ct_errors + lv_errors, Type::kCounter);
  gauge("oie_host_collection_lag_seconds",
        "Seconds since prior background collection cycle ended on this host", oie_round5(lag));
  gauge("oie_host_conntrack_entries_total",
        "Conntrack entries observed in last snapshot on this host",
        value_of(n, "hostflow_conntrack_entries").value_or(0) +
            value_of(n, "hostflow_snapshot_dropped_records", "section", "conntrack").value_or(0));
  gauge("oie_host_conntrack_read_duration_seconds",
        "Seconds spent reading conntrack tables on this host",
        oie_round5(
            value_of(n, "hostflow_source_duration_seconds", "source", "conntrack").value_or(0)));
  gauge("oie_host_conntrack_read_errors_total", "Conntrack read errors on this host", ct_errors,
        Type::kCounter);
  gauge("oie_host_dynamic_cache_series_total",
        "Number of instance series currently cached on this host", static_cast<double>(cached));
  gauge("oie_host_go_heap_alloc_bytes", "Current Go heap allocation in bytes on this host",
        static_cast<double>(mi.uordblks + mi.hblkhd));
  gauge(
      "oie_host_libvirt_list_duration_seconds",
      "Seconds spent listing active libvirt domains on this host",
      oie_round5(value_of(n, "hostflow_source_duration_seconds", "source", "libvirt").value_or(0)));
  // OIE's static cache: host_active from its second cycle on, and one host_<list> entry per
  // list with a successful refresh.
  gauge("oie_static_cache_entries", "Number of static cache entries",
        static_cast<double>((generation_ != first_generation_ ? 1 : 0) + lists_loaded));
}

void OieProfile::cleanup(std::uint64_t now_real_ns) {
  for (const Instance& i : vms_) known_.insert(i.uuid);
  constexpr std::uint64_t kMinute = 60'000'000'000ull;
  if (next_cleanup_ns_ == 0) next_cleanup_ns_ = now_real_ns + kMinute;
  if (now_real_ns < next_cleanup_ns_) return;
  next_cleanup_ns_ = now_real_ns + kMinute;
  const auto t0 = std::chrono::steady_clock::now();
  // The state of instances that are gone (OIE: no longer defined in libvirt).
  for (auto it = known_.begin(); it != known_.end();) {
    if (by_uuid_.count(*it)) {
      ++it;
      continue;
    }
    for (auto c = contact_totals_.begin(); c != contact_totals_.end();)
      c = c->first.first == *it ? contact_totals_.erase(c) : std::next(c);
    it = known_.erase(it);
    evictions_++;
  }
  cleanup_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void OieProfile::emit(const ProfileInput& in, metrics::FamilySet& out) {
  const NativeFamilies& n = in.native;
  // A rendering is a new snapshot when the generation moved (renderings also follow freshness
  // flips and other inputs): OIE's running sums advance once per collection cycle.
  const double gen = value_of(n, "hostflow_snapshot_generation").value_or(-1);
  const bool new_snapshot = in.fresh && gen >= 0 && gen != generation_;
  if (new_snapshot) {
    if (first_generation_ < 0) first_generation_ = gen;
    generation_ = gen;
    prev_ts_ = last_ts_;
    last_ts_ = value_of(n, "hostflow_snapshot_timestamp_seconds").value_or(0);
  }
  instances(n);
  std::vector<Family> fams;
  per_instance(n, fams);
  threats(n, new_snapshot, fams);
  feeds(n, fams);
  if (new_snapshot) cleanup(in.now_real_ns);
  host(n, fams);
  // client_golang writes families sorted by name, and none without a sample.
  std::sort(fams.begin(), fams.end(),
            [](const Family& a, const Family& b) { return a.name() < b.name(); });
  for (Family& f : fams)
    if (!f.empty()) out.add(std::move(f));
}

}  // namespace

std::unique_ptr<Profile> make_oie_profile(const ExporterConfig& cfg) {
  // Before the seccomp filter (profiles are made with the pipeline): the first mallinfo2() of a
  // process whose malloc glibc has not initialised yet (an AddressSanitizer build, whose malloc
  // is ASan's) initialises it, and glibc 2.36 then draws its tcache key with getrandom(2), which
  // the exporter's allowlist does not have without a threat feed URL.
  (void)::mallinfo2();
  return std::make_unique<OieProfile>(cfg);
}

}  // namespace hostflow::exporter
