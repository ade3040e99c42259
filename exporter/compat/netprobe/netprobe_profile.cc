#include "compat/netprobe/netprobe_profile.h"

#include <cmath>
#include <string>
#include <unordered_map>

namespace hostflow::exporter {

using metrics::Family;

namespace {

// Per interface name and direction: a native family's values.
using ByDirection = std::unordered_map<std::string_view, std::pair<double, double>>;

ByDirection by_direction(const Family* f) {
  ByDirection m;
  if (!f) return m;
  const Column iface(f, "interface"), dir(f, "direction");
  for (std::size_t s = 0; s < f->size(); s++) {
    auto& v = m[iface(s)];
    (dir(s) == "egress" ? v.second : v.first) = f->value(s);
  }
  return m;
}

class NetprobeProfile final : public Profile {
 public:
  void emit(const ProfileInput& in, metrics::FamilySet& out) override {
    const Family* packets = in.native.find("hostflow_tc_packets_total");
    const Family* collections = in.native.find("hostflow_tc_collections_total");
    const Family* last = in.native.find("hostflow_tc_last_collection_timestamp_seconds");
    // NetProbe's own families, in its (byte) order of names.
    Family total("netprobe_collection_total", "Total number of metric collections performed",
                 metrics::Type::kCounter);
    if (collections && !collections->empty()) total.add(collections->value(0));
    out.add(std::move(total));

    Family active("netprobe_interface_active",
                  "Whether the network interface is currently active (1 = active, 0 = inactive)",
                  metrics::Type::kGauge);
    active.set_label_names({"ifindex", "interface"});
    Family last_ts("netprobe_last_collection_timestamp_seconds",
                   "Unix timestamp of the last collection", metrics::Type::kGauge);
    // NetProbe stamps whole seconds (time.Now().Unix()).
    if (last && !last->empty()) last_ts.add(std::floor(last->value(0)));
    Family bps("netprobe_tc_bytes_per_second", "Rate of bytes per second processed by TC",
               metrics::Type::kGauge);
    Family bytes_total("netprobe_tc_bytes_total", "Total number of bytes processed by TC",
                       metrics::Type::kCounter);
    Family pps("netprobe_tc_packets_per_second", "Rate of packets per second processed by TC",
               metrics::Type::kGauge);
    Family packets_total("netprobe_tc_packets_total", "Total number of packets processed by TC",
                         metrics::Type::kCounter);
    for (Family* f : {&bps, &bytes_total, &pps, &packets_total})
      f->set_label_names({"direction", "ifindex", "interface"});

    if (packets) {
      std::unordered_map<std::string_view, std::string_view> ifindex;
      if (const Family* info = in.native.find("hostflow_interface_info")) {
        const Column n(info, "interface"), ix(info, "ifindex");
        for (std::size_t s = 0; s < info->size(); s++) ifindex.emplace(n(s), ix(s));
      }
      const ByDirection pk = by_direction(packets);
      const ByDirection by = by_direction(in.native.find("hostflow_tc_bytes_total"));
      const ByDirection pr = by_direction(in.native.find("hostflow_tc_packets_per_second"));
      const ByDirection br = by_direction(in.native.find("hostflow_tc_bytes_per_second"));
      const Column iface(packets, "interface"), dir(packets, "direction");
      for (std::size_t s = 0; s < packets->size(); s++) {
        if (dir(s) != "ingress") continue;  // one pass per interface
        const std::string_view name = iface(s);
        const auto p = pk.at(name);
        // NetProbe's map has an interface once a packet was counted on it.
        if (p.first == 0 && p.second == 0) continue;
        const auto ix_it = ifindex.find(name);
        const std::string_view ix = ix_it == ifindex.end() ? std::string_view("0") : ix_it->second;
        const auto get = [&](const ByDirection& m) {
          const auto it = m.find(name);
          return it == m.end() ? std::pair<double, double>{0, 0} : it->second;
        };
        // A first snapshot has no rate yet: NetProbe shows 0 there.
        const auto b = get(by), prate = get(pr), brate = get(br);
        packets_total.add_values({"ingress", ix, name}, p.first);
        packets_total.add_values({"egress", ix, name}, p.second);
        bytes_total.add_values({"ingress", ix, name}, b.first);
        bytes_total.add_values({"egress", ix, name}, b.second);
        pps.add_values({"ingress", ix, name}, prate.first);
        pps.add_values({"egress", ix, name}, prate.second);
        bps.add_values({"ingress", ix, name}, brate.first);
        bps.add_values({"egress", ix, name}, brate.second);
        const bool on = prate.first > kNetprobeActivePps || prate.second > kNetprobeActivePps;
        active.add_values({ix, name}, on ? 1 : 0);
      }
    }
    out.add(std::move(active));
    out.add(std::move(last_ts));
    out.add(std::move(bps));
    out.add(std::move(bytes_total));
    out.add(std::move(pps));
    out.add(std::move(packets_total));
    Family up("netprobe_up", "Whether the netprobe exporter is up", metrics::Type::kGauge);
    up.add(1);
    out.add(std::move(up));
  }
};

}  // namespace

std::unique_ptr<Profile> make_netprobe_profile(const ExporterConfig&) {
  return std::make_unique<NetprobeProfile>();
}

}  // namespace hostflow::exporter
