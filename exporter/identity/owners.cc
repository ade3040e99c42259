#include "identity/owners.h"

#include <algorithm>
#include <set>

#include "hostflow/common/sanitize.h"
#include "identity/cgroup.h"
#include "identity/docker_json.h"
#include "identity/pve_config.h"

namespace hostflow::exporter {
namespace {

constexpr std::size_t kNameCap = 128;

struct DockerState {
  std::map<std::string, DockerContainer> containers;     // by id
  std::map<std::string, DockerNetwork> networks;         // by id
  std::map<std::string, std::string> bridge_to_network;  // Linux bridge name -> network id
};

DockerState read_docker(const shm::Snapshot& snap, DockerStatus* st) {
  DockerState d;
  for (const auto& r : snap.records<shm::DockerRecord>()) {
    const auto q = static_cast<shm::DockerQuery>(r.query);
    auto body = snap.str(r.body);
    if (r.http_status != 200) continue;  // e.g. a network removed between list and inspect
    if (!body || (r.flags & shm::kDockerBodyTruncated)) {
      st->parse_errors++;
      continue;
    }
    if (q == shm::DockerQuery::kContainers) {
      DockerParse p = parse_docker_containers(*body);
      if (!p.error.empty()) st->parse_errors++;
      st->dropped += p.dropped;
      st->present = st->present || p.error.empty();
      for (auto& c : p.containers) {
        if (!d.containers.emplace(c.id, std::move(c)).second) st->dropped++;
      }
    } else if (q == shm::DockerQuery::kNetworks || q == shm::DockerQuery::kNetworkInspect) {
      DockerParse p = parse_docker_networks(*body);
      if (!p.error.empty()) st->parse_errors++;
      st->dropped += p.dropped;
      for (auto& n : p.networks) {
        auto [it, fresh] = d.networks.try_emplace(n.id, n);
        // The inspect carries Containers; the list does not. Keep whichever has more.
        if (!fresh && n.containers.size() > it->second.containers.size()) it->second = std::move(n);
      }
    }
  }
  for (const auto& [id, n] : d.networks) {
    if (!n.bridge.empty()) d.bridge_to_network.emplace(n.bridge, id);
  }
  st->containers = d.containers.size();
  st->networks = d.networks.size();
  return d;
}

std::string network_app(const DockerNetwork& n) {
  if (auto it = n.labels.find("com.docker.compose.project");
      it != n.labels.end() && !it->second.empty())
    return app_from_compose_project(it->second);
  return app_from_network_name(n.name);
}

// Adds `s` to `to`; with `swap`, from the other end's view (a host end's receive is the
// workload's transmit).
void add_stats(shm::LinkStats& to, shm::LinkStats s, bool swap) {
  if (swap) {
    std::swap(s.rx_packets, s.tx_packets);
    std::swap(s.rx_bytes, s.tx_bytes);
    std::swap(s.rx_errors, s.tx_errors);
    std::swap(s.rx_dropped, s.tx_dropped);
  }
  auto* t = reinterpret_cast<std::uint64_t*>(&to);
  const auto* f = reinterpret_cast<const std::uint64_t*>(&s);
  for (std::size_t i = 0; i < sizeof(shm::LinkStats) / 8; i++) t[i] += f[i];
}

std::string leaf(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  const auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string proxmox_vmid(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return {};
  name.remove_prefix(prefix.size());
  const auto i = name.find('i');
  if (i == 0 || i == std::string_view::npos || i > 9 || i + 1 >= name.size()) return {};
  for (std::size_t k = 0; k < name.size(); k++) {
    if (k != i && !(name[k] >= '0' && name[k] <= '9')) return {};
  }
  return std::string(name.substr(0, i));
}

Attribution attribute(const shm::Snapshot& snap, Model& m, const std::vector<Vm>& vms) {
  Attribution out;
  const DockerState docker = read_docker(snap, &out.docker);

  // nsid -> netns key (inode when the sampler saw a process in it).
  std::map<std::int32_t, std::uint64_t> nsid_key;
  for (const auto& n : snap.records<shm::NetnsRecord>()) {
    if (n.nsid >= 0 && n.inode != 0) nsid_key.emplace(n.nsid, n.inode);
  }
  auto key_of_nsid = [&](std::int32_t nsid) -> std::uint64_t {
    auto it = nsid_key.find(nsid);
    return it != nsid_key.end() ? it->second : (1ull << 63) | static_cast<std::uint32_t>(nsid);
  };

  // LXC containers the platform area names (raw id -> name): their veths carry the same name.
  std::map<std::string, std::string, std::less<>> lxc_names;
  for (const auto& r : snap.records<shm::PlatformContainerRecord>()) {
    const std::string_view id = snap.str(r.id).value_or(std::string_view{});
    std::string name =
        lxc_container_name(id, r.flags & shm::kCtProxmox, r.flags & shm::kCtConfigRead,
                           snap.str(r.config).value_or(std::string_view{}));
    if (!name.empty()) lxc_names.emplace(std::string(id), std::move(name));
  }
  auto lxc_name = [&](std::string_view id) -> const std::string* {
    auto it = lxc_names.find(id);
    return it == lxc_names.end() ? nullptr : &it->second;
  };

  // One owner per netns: the first process (lowest pid) in a known runtime's cgroup, else the
  // first process's cgroup leaf (or comm).
  // (The host's own namespace is not a workload: QEMU processes there have a cgroup copied too.)
  const std::uint64_t host_netns = m.interfaces.empty() ? 0 : m.interfaces.front().netns;
  std::map<std::uint64_t, Container> by_netns;
  for (const auto& p : snap.records<shm::ProcRecord>()) {
    if (p.netns_inode == 0 || p.netns_inode == host_netns || !(p.flags & shm::kProcHasCgroup))
      continue;
    auto cg = snap.str(p.cgroup);
    if (!cg) continue;
    Container& c = by_netns[p.netns_inode];
    c.netns = p.netns_inode;
    c.processes++;
    if (c.owner_type == "container") continue;
    const CgroupOwner o = parse_cgroup(*cg);
    if (!o.runtime.empty() && !o.id.empty()) {
      c.owner_type = "container";
      c.runtime = o.runtime;
      c.id = sanitize_label(o.id, kNameCap);
      c.cgroup = sanitize_label(o.path, 512);
      if (const std::string* n = o.runtime == "lxc" ? lxc_name(o.id) : nullptr) c.name = *n;
    } else if (c.owner_type.empty()) {
      c.owner_type = "netns";
      c.cgroup = sanitize_label(o.path, 512);
      std::string name = leaf(o.path);
      if (name.empty()) {
        auto comm = snap.str(p.comm);
        name = comm ? std::string(*comm) : "";
        while (!name.empty() && name.back() == '\n') name.pop_back();
      }
      c.name = sanitize_label(name, kNameCap);
    }
  }
  for (auto& [key, c] : by_netns) {
    if (c.owner_type != "container") continue;
    if (auto it = docker.containers.find(c.id); it != docker.containers.end()) {
      const DockerContainer& d = it->second;
      c.runtime = "docker";
      c.name = d.name;
      c.image = d.image;
      c.labels = d.labels;
      for (const DockerEndpoint& ep : d.endpoints)
        for (const std::string* a : {&ep.ipv4, &ep.ipv6})
          if (!a->empty()) c.addresses.push_back(*a);
      if (auto l = d.labels.find("com.docker.compose.project");
          l != d.labels.end() && !l->second.empty())
        c.app = app_from_compose_project(l->second);
    }
    if (c.name.empty()) c.name = c.id.size() == 64 ? c.id.substr(0, 12) : c.id;
  }
  // Owner names unique (two namespaces can share a cgroup leaf; a hostile snapshot anything).
  {
    std::vector<Container*> order;
    for (auto& [key, c] : by_netns) {
      if (c.name.empty()) c.name = "netns-" + std::to_string(key & ~(1ull << 63));
      order.push_back(&c);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const Container* a, const Container* b) { return a->name < b->name; });
    std::vector<NamedObject> objects;
    for (Container* c : order) objects.push_back({&c->name, c->netns & ~(1ull << 63)});
    make_names_unique(objects);
  }

  // Host interfaces by (netns, ifindex), for VM taps.
  std::map<std::pair<std::uint64_t, std::int32_t>, const Vm*> vm_ifs;
  for (const Vm& vm : vms) {
    for (const VmInterface& i : vm.interfaces)
      vm_ifs.emplace(std::make_pair(i.netns, i.ifindex), &vm);
  }
  std::map<std::string, const Interface*> host_by_name;
  for (const Interface& i : m.interfaces) host_by_name.emplace(i.name, &i);
  auto bridge_network = [&](const std::string& bridge) -> const DockerNetwork* {
    auto it = docker.bridge_to_network.find(bridge);
    if (it == docker.bridge_to_network.end()) return nullptr;
    return &docker.networks.at(it->second);
  };

  for (Interface& i : m.interfaces) {
    i.owner_type = "host";
    i.owner = i.name;
    i.app.clear();
    const DockerNetwork* on_bridge = i.master.empty() ? nullptr : bridge_network(i.master);
    if (auto v = vm_ifs.find({i.netns, i.ifindex}); v != vm_ifs.end()) {
      i.owner_type = "vm";
      i.owner = v->second->name;
    } else if (i.kind == "veth" && i.link_netnsid >= 0) {
      const std::uint64_t key = key_of_nsid(i.link_netnsid);
      auto c = by_netns.find(key);
      if (c != by_netns.end()) {
        i.owner_type = c->second.owner_type;
        i.owner = c->second.name;
        if (c->second.app.empty() && on_bridge) c->second.app = network_app(*on_bridge);
        i.app = c->second.app;
        c->second.host_interfaces.push_back(i.name);
      } else {
        i.owner_type = "unknown";  // an orphan: its namespace has no process we could see
        if (on_bridge) i.app = network_app(*on_bridge);
      }
    } else if (i.kind == "bridge") {
      i.owner_type = "bridge";
      if (const DockerNetwork* n = bridge_network(i.name)) {
        i.owner = n->name;
        i.app = network_app(*n);
      }
    }
    // Names as the last hint, where the kernel said nothing better.
    if (i.owner_type == "host" || i.owner_type == "unknown") {
      if (auto id = proxmox_vmid(i.name, "tap");
          !id.empty() && (i.kind == "tap" || i.kind == "tun")) {
        i.owner_type = "vm";
        i.owner = id;
      } else if (auto cid = proxmox_vmid(i.name, "veth"); !cid.empty() && i.kind == "veth") {
        i.owner_type = "container";
        const std::string* n = lxc_name(cid);
        i.owner = n ? *n : cid;
      }
    }
    if (i.app.empty() && on_bridge && i.owner_type != "host") i.app = network_app(*on_bridge);
  }

  // The containers' own view: their namespace's interfaces (all but loopback), else their
  // host ends swapped.
  std::map<std::uint64_t, std::pair<shm::LinkStats, bool>> netns_view;
  for (const Interface& w : m.workload_interfaces) {
    if (w.kind == "loopback" || !w.has_stats) continue;
    auto& v = netns_view[w.netns];
    add_stats(v.first, w.stats, false);
    v.second = true;
  }
  for (auto& [key, c] : by_netns) {
    if (auto v = netns_view.find(key); v != netns_view.end()) {
      c.view = v->second.first;
      c.has_view = c.view_from_netns = true;
    } else {
      for (const std::string& h : c.host_interfaces) {
        const Interface* hi = host_by_name.at(h);
        if (!hi->has_stats) continue;
        add_stats(c.view, hi->stats, true);
        c.has_view = true;
      }
    }
    out.containers.push_back(std::move(c));
  }
  std::sort(out.containers.begin(), out.containers.end(),
            [](const Container& a, const Container& b) { return a.name < b.name; });
  return out;
}

}  // namespace hostflow::exporter
