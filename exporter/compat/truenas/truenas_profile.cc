#include "compat/truenas/truenas_profile.h"

#include <cctype>
#include <unordered_map>

namespace hostflow::exporter {

using metrics::Family;

namespace {

bool starts(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// TrueNAS names a VM's libvirt domain (and QEMU's -name) "<id>_<name>"; its exporter asks the
// middleware and shows <name>.
std::string_view truenas_vm_name(std::string_view owner) {
  std::size_t i = 0;
  while (i < owner.size() && std::isdigit(static_cast<unsigned char>(owner[i]))) i++;
  if (i > 0 && i + 1 < owner.size() && owner[i] == '_') return owner.substr(i + 1);
  return owner;
}

// The eight counters, in the seed's order, with the native families they come from. rx_dropped
// is the kernel's /proc/net/dev "drop" column: rx_dropped + rx_missed_errors.
struct Counter {
  const char* name;
  const char* help;
  const char* native;
  const char* native_plus;  // added to `native`, or null
};
constexpr Counter kCounters[] = {
    {"net_interface_rx_bytes_total", "Total bytes received on this interface.",
     "hostflow_interface_receive_bytes_total", nullptr},
    {"net_interface_tx_bytes_total", "Total bytes transmitted on this interface.",
     "hostflow_interface_transmit_bytes_total", nullptr},
    {"net_interface_rx_packets_total", "Total packets received on this interface.",
     "hostflow_interface_receive_packets_total", nullptr},
    {"net_interface_tx_packets_total", "Total packets transmitted on this interface.",
     "hostflow_interface_transmit_packets_total", nullptr},
    {"net_interface_rx_errors_total", "Total receive errors on this interface.",
     "hostflow_interface_receive_errors_total", nullptr},
    {"net_interface_tx_errors_total", "Total transmit errors on this interface.",
     "hostflow_interface_transmit_errors_total", nullptr},
    {"net_interface_rx_dropped_total", "Total received packets dropped on this interface.",
     "hostflow_interface_receive_dropped_total", "hostflow_interface_receive_missed_errors_total"},
    {"net_interface_tx_dropped_total", "Total transmitted packets dropped on this interface.",
     "hostflow_interface_transmit_dropped_total", nullptr},
};

class TruenasProfile final : public Profile {
 public:
  void emit(const ProfileInput& in, metrics::FamilySet& out) override {
    const Family* info = in.native.find("hostflow_interface_info");
    if (!info) return;
    // Containers: the seed maps a veth to a container only through Docker, and takes its app
    // from the Compose project label (presence) or the container's name.
    struct Owner {
      std::string app;
    };
    std::unordered_map<std::string_view, Owner> docker;
    if (const Family* c = in.native.find("hostflow_container_info")) {
      const Column owner(c, "owner"), runtime(c, "runtime"),
          project(c, "label_com_docker_compose_project");
      for (std::size_t s = 0; s < c->size(); s++) {
        if (runtime(s) != "docker") continue;
        // An exported but empty label and an absent one read alike here (docs/compat.md).
        docker[owner(s)] = Owner{truenas_app_name(project(s), !project(s).empty(), owner(s))};
      }
    }
    const Column name(info, "interface"), owner_type(info, "owner_type"), owner(info, "owner"),
        kind(info, "kind"), operstate(info, "operstate"), bridge(info, "bridge");
    // Docker network name of each bridge (the native owner of a bridge Docker made).
    std::unordered_map<std::string_view, std::string_view> network;
    for (std::size_t s = 0; s < info->size(); s++)
      if (owner_type(s) == "bridge" && owner(s) != name(s)) network[name(s)] = owner(s);

    struct Row {
      std::string interface, instance, instance_type, app, bridge, state;
    };
    // Rows in the order of hostflow_interface_info; the counters come from the same interface
    // list, so sample s of a counter is nearly always row s (checked by name; else looked up).
    std::vector<Row> rows;
    rows.reserve(info->size());
    std::unordered_map<std::string_view, std::size_t> row_of;
    row_of.reserve(info->size());
    for (std::size_t s = 0; s < info->size(); s++) {
      TruenasInput ti{name(s), owner_type(s), owner(s), kind(s), {}, {}};
      if (owner_type(s) == "container") {
        if (auto it = docker.find(owner(s)); it != docker.end())
          ti.container_app = it->second.app;
        else
          ti.owner_type = "";  // not a Docker container: the seed leaves it unmapped
      }
      if (auto it = network.find(bridge(s)); it != network.end()) ti.bridge_network = it->second;
      TruenasLabels l = truenas_classify(ti);
      const std::string_view st = operstate(s);
      if (!row_of.emplace(name(s), rows.size()).second) continue;
      rows.push_back(Row{std::string(name(s)), std::move(l.instance), std::move(l.instance_type),
                         std::move(l.app), std::string(bridge(s)),
                         std::string(st.empty() ? "unknown" : st)});
    }
    auto find_row = [&](std::size_t s, std::string_view interface) -> const Row* {
      if (s < rows.size() && rows[s].interface == interface) return &rows[s];
      const auto it = row_of.find(interface);
      return it == row_of.end() ? nullptr : &rows[it->second];
    };
    for (const Counter& c : kCounters) {
      const Family* base = in.native.find(c.native);
      if (!base) continue;
      const Family* plus = c.native_plus ? in.native.find(c.native_plus) : nullptr;
      const Column bi(base, "interface");
      // `plus` by interface, for the samples not at the same index in both families.
      std::unordered_map<std::string_view, double> extra;
      const Column pi(plus, "interface");
      auto plus_value = [&](std::size_t s, std::string_view interface) -> double {
        if (!plus) return 0;
        if (s < plus->size() && pi(s) == interface) return plus->value(s);
        if (extra.empty())
          for (std::size_t t = 0; t < plus->size(); t++) extra.emplace(pi(t), plus->value(t));
        const auto e = extra.find(interface);
        return e == extra.end() ? 0 : e->second;
      };
      // client_golang prints labels sorted by name; the text is the same series either way.
      Family f(c.name, c.help, metrics::Type::kCounter);
      f.set_label_names({"app", "bridge", "instance", "instance_type", "interface", "state"});
      for (std::size_t s = 0; s < base->size(); s++) {
        const std::string_view interface = bi(s);
        const Row* r = find_row(s, interface);
        if (!r) continue;
        f.add_values({r->app, r->bridge, r->instance, r->instance_type, r->interface, r->state},
                     base->value(s) + plus_value(s, interface));
      }
      out.add(std::move(f));
    }
  }
};

}  // namespace

std::string truenas_app_name(std::string_view project, bool has_project, std::string_view name) {
  if (has_project) return std::string(starts(project, "ix-") ? project.substr(3) : project);
  if (starts(name, "ix-")) name.remove_prefix(3);
  const std::size_t dash = name.rfind('-');
  if (dash != std::string_view::npos && dash > 0 && dash + 1 < name.size()) {
    bool digits = true;
    for (char ch : name.substr(dash + 1))
      digits = digits && std::isdigit(static_cast<unsigned char>(ch));
    if (digits) name = name.substr(0, dash);
  }
  return std::string(name);
}

std::string truenas_app_from_network(std::string_view network) {
  if (!starts(network, "ix-")) return "";
  network.remove_prefix(3);
  const std::size_t us = network.find('_');
  if (us != std::string_view::npos && us > 0) network = network.substr(0, us);
  return std::string(network);
}

TruenasLabels truenas_classify(const TruenasInput& in) {
  const std::string_view n = in.interface;
  const std::string self(n);
  if (n == "lo") return {"loopback", "loopback", ""};
  if (starts(n, "veth")) {
    if (in.owner_type == "container")
      return {"docker", std::string(in.owner), std::string(in.container_app)};
    return {"docker", self, truenas_app_from_network(in.bridge_network)};
  }
  const bool vm = in.owner_type == "vm";
  if (starts(n, "vnet")) return {"vm", vm ? std::string(truenas_vm_name(in.owner)) : self, ""};
  if (starts(n, "macvtap") || starts(n, "macvlan"))
    return {"macvtap", vm ? std::string(truenas_vm_name(in.owner)) : self, ""};
  if (starts(n, "vlan")) return {"vlan", self, ""};
  if (starts(n, "br") || starts(n, "docker") || starts(n, "incus")) {
    // Only a "br-" bridge is looked up among Docker's networks.
    if (starts(n, "br-") && in.owner_type == "bridge" && in.owner != n)
      return {"bridge", std::string(in.owner), truenas_app_from_network(in.owner)};
    return {"bridge", self, ""};
  }
  return {in.kind == "physical" ? "physical" : "unknown", self, ""};
}

std::unique_ptr<Profile> make_truenas_profile(const ExporterConfig&) {
  return std::make_unique<TruenasProfile>();
}

}  // namespace hostflow::exporter
