#include "areas/links/links_area.h"

namespace hostflow::exporter {

using metrics::Family;

namespace {

// The stable identity of an interface series: its name and owner (see model/owners.h).
const std::vector<std::string> kInterfaceLabels = {"interface", "owner_type", "owner", "app"};

void interface_families(const Model& m, metrics::FamilySet* out) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t shm::LinkStats::*field;
  };
  static const Counter kCounters[] = {
      {"hostflow_interface_receive_bytes_total", "Bytes received by the interface (host view).",
       &shm::LinkStats::rx_bytes},
      {"hostflow_interface_transmit_bytes_total", "Bytes sent by the interface (host view).",
       &shm::LinkStats::tx_bytes},
      {"hostflow_interface_receive_packets_total", "Packets received (host view).",
       &shm::LinkStats::rx_packets},
      {"hostflow_interface_transmit_packets_total", "Packets sent (host view).",
       &shm::LinkStats::tx_packets},
      {"hostflow_interface_receive_errors_total", "Receive errors (host view).",
       &shm::LinkStats::rx_errors},
      {"hostflow_interface_transmit_errors_total", "Transmit errors (host view).",
       &shm::LinkStats::tx_errors},
      {"hostflow_interface_receive_dropped_total", "Received packets dropped (host view).",
       &shm::LinkStats::rx_dropped},
      {"hostflow_interface_transmit_dropped_total", "Packets dropped on transmit (host view).",
       &shm::LinkStats::tx_dropped},
      {"hostflow_interface_receive_missed_errors_total",
       "Packets the device missed on receive (rx_missed_errors, e.g. a full ring); "
       "/proc/net/dev's drop column is dropped + missed.",
       &shm::LinkStats::rx_missed_errors},
      {"hostflow_interface_receive_multicast_packets_total", "Multicast packets received.",
       &shm::LinkStats::multicast},
      {"hostflow_interface_transmit_collisions_total", "Collisions on transmit.",
       &shm::LinkStats::collisions},
  };
  Family info(
      "hostflow_interface_info",
      "Interface attributes; volatile ones (state, bridge, MAC) live here, not on counters.",
      metrics::Type::kGauge);
  Family mtu("hostflow_interface_mtu_bytes", "Interface MTU.", metrics::Type::kGauge);
  Family admin("hostflow_interface_admin_up",
               "1 when the interface is administratively up (IFF_UP).", metrics::Type::kGauge);
  std::vector<std::string> info_labels = kInterfaceLabels;
  info_labels.insert(info_labels.end(), {"ifindex", "kind", "operstate", "bridge", "mac"});
  info.set_label_names(std::move(info_labels));
  mtu.set_label_names(kInterfaceLabels);
  admin.set_label_names(kInterfaceLabels);
  for (const Interface& i : m.interfaces) {
    mtu.add_values({i.name, i.owner_type, i.owner, i.app}, i.mtu);
    admin.add_values({i.name, i.owner_type, i.owner, i.app}, i.admin_up ? 1 : 0);
    const std::string ifindex = std::to_string(i.ifindex);
    info.add_values(
        {i.name, i.owner_type, i.owner, i.app, ifindex, i.kind, i.operstate, i.master, i.mac}, 1);
  }
  out->add(std::move(info));
  out->add(std::move(mtu));
  out->add(std::move(admin));
  for (const Counter& c : kCounters) {
    Family f(c.name, c.help, metrics::Type::kCounter);
    f.set_label_names(kInterfaceLabels);
    for (const Interface& i : m.interfaces) {
      if (i.has_stats)
        f.add_values({i.name, i.owner_type, i.owner, i.app}, static_cast<double>(i.stats.*c.field));
    }
    out->add(std::move(f));
  }
}

class LinksArea final : public Area {
 public:
  void emit(const EmitContext& ctx, metrics::FamilySet& out) const override {
    if (ctx.identity && ctx.fresh) interface_families(ctx.identity->model, &out);
  }
};

}  // namespace

std::unique_ptr<Area> make_links_area(const ExporterConfig&) {
  return std::make_unique<LinksArea>();
}

}  // namespace hostflow::exporter
