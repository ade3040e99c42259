#include "identity/vms.h"

#include <cstring>
#include <map>
#include <set>

#include "hostflow/common/sanitize.h"
#include "identity/qemu_cmdline.h"

namespace hostflow::exporter {
namespace {

constexpr std::size_t kMaxVms = 8192;

struct Params {
  std::map<std::string, shm::DomainParamRecord, std::less<>> by_key;
  const shm::Snapshot* snap = nullptr;

  std::optional<std::uint64_t> u64(const std::string& k) const {
    auto it = by_key.find(k);
    if (it == by_key.end()) return std::nullopt;
    const auto t = static_cast<shm::ParamType>(it->second.type);
    if (t == shm::ParamType::kDouble || t == shm::ParamType::kString) return std::nullopt;
    return it->second.bits;
  }
  std::string str(const std::string& k) const {
    auto it = by_key.find(k);
    if (it == by_key.end() ||
        static_cast<shm::ParamType>(it->second.type) != shm::ParamType::kString)
      return "";
    auto s = snap->str(it->second.str);
    return s ? std::string(*s) : "";
  }
};

Params domain_params(const shm::Snapshot& snap, const shm::DomainRecord& d,
                     const std::vector<shm::DomainParamRecord>& all) {
  Params p;
  p.snap = &snap;
  const std::size_t begin = d.param_begin;
  if (begin > all.size()) return p;
  const std::size_t end = begin + std::min<std::size_t>(d.param_count, all.size() - begin);
  for (std::size_t i = begin; i < end; i++) {
    auto k = snap.str(all[i].key);
    if (k && !k->empty()) p.by_key.emplace(std::string(*k), all[i]);
  }
  return p;
}

std::string label(std::string_view s, std::size_t cap = 128) {
  return sanitize_label(s, cap);
}

// "123" -> 123; past 2^64-1 -> 2^64-1 (certainly out of any range); nullopt for empty text or
// anything but digits (a flavor without the field is "not given", not out of range).
std::optional<std::uint64_t> parse_decimal_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10)
      v = UINT64_MAX;
    else
      v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::vector<Vm> build_vms(const shm::Snapshot& snap, const std::vector<Interface>& interfaces,
                          const std::vector<Interface>& workload_interfaces) {
  std::vector<Vm> vms;
  // Interfaces by (netns, name), host interfaces by name, and macvtaps by device number.
  std::map<std::pair<std::uint64_t, std::string>, const Interface*> by_name;
  std::map<std::string, const Interface*> by_bare_name;
  std::map<std::uint64_t, const Interface*> by_dev;
  for (const auto* list : {&interfaces, &workload_interfaces}) {
    for (const Interface& i : *list) {
      by_name.emplace(std::make_pair(i.netns, i.name), &i);
      if (i.netnsid < 0) by_bare_name.emplace(i.name, &i);
      if (i.tap_dev) by_dev.emplace(i.tap_dev, &i);
    }
  }

  // QEMU processes and what their command lines say.
  struct Qemu {
    int pid;
    std::uint64_t netns;
    QemuCmdline cmd;
  };
  std::map<int, Qemu> qemus;
  for (const auto& p : snap.records<shm::ProcRecord>()) {
    if (!(p.flags & shm::kProcQemu)) continue;
    auto cmd = snap.str(p.cmdline);
    qemus[p.pid] = Qemu{p.pid, p.netns_inode, cmd ? parse_qemu_cmdline(*cmd) : QemuCmdline{}};
  }
  std::map<int, std::vector<shm::TapRecord>> taps_by_pid;
  for (const auto& t : snap.records<shm::TapRecord>()) taps_by_pid[t.pid].push_back(t);

  auto attach_taps = [&](Vm& vm, int pid, std::uint64_t netns, std::set<const Interface*>& seen) {
    for (const auto& t : taps_by_pid[pid]) {
      const Interface* i = nullptr;
      if (t.type == static_cast<std::uint8_t>(shm::TapType::kTun)) {
        auto n = snap.str(t.ifname);
        if (!n) continue;
        auto it = by_name.find({netns, sanitize_label(*n, 64)});
        if (it != by_name.end()) i = it->second;
      } else if (t.type == static_cast<std::uint8_t>(shm::TapType::kMacvtap)) {
        auto it = by_dev.find(t.rdev);
        if (it != by_dev.end()) i = it->second;
      }
      if (!i || !seen.insert(i).second) continue;
      vm.interfaces.push_back(
          VmInterface{i->netns, i->ifindex, i->name, i->kind, i->kind == "macvtap", i->stats});
    }
  };

  // libvirt domains first: they carry the authoritative identity.
  std::set<int> claimed_pids;
  const auto params = snap.records<shm::DomainParamRecord>();
  for (const auto& d : snap.records<shm::DomainRecord>()) {
    if (vms.size() >= kMaxVms) break;
    Vm vm;
    vm.source = "libvirt";
    auto uuid = snap.str(d.uuid);
    auto name = snap.str(d.name);
    vm.uuid = label(uuid.value_or(""), 64);
    vm.name = label(name.value_or(""));
    vm.key = "libvirt:" + vm.uuid;
    std::optional<DomainInfo> info;
    if (auto xml = snap.str(d.xml); xml && !xml->empty()) {
      info = parse_domain_xml(*xml, &vm.xml_error);
      if (info) vm.nova = info->nova;
    } else {
      vm.xml_error =
          (d.flags & shm::kDomainXmlTruncated) ? "domain XML larger than the cap" : "no domain XML";
    }
    const Params p = domain_params(snap, d, params);
    vm.cpu_time_ns = p.u64("cpu.time");
    // Numbers from libvirt's stats and from Nova's metadata (tenant-influenced XML) are
    // range-checked before any unit conversion: out of range is ignored and counted, never
    // truncated or wrapped (2^32+1 vCPUs is not 1, 10^20 MiB is not 1.8e19 bytes).
    auto bounded = [&vm](std::optional<std::uint64_t> v,
                         std::uint64_t max) -> std::optional<std::uint64_t> {
      if (!v) return std::nullopt;
      if (*v > max) {
        vm.out_of_range_values++;
        return std::nullopt;
      }
      return v;
    };
    if (auto v = bounded(p.u64("vcpu.current"), kMaxVcpus)) vm.vcpus = static_cast<unsigned>(*v);
    if (vm.vcpus == 0 && vm.nova) {
      if (auto v = bounded(parse_decimal_u64(vm.nova->vcpus), kMaxVcpus))
        vm.vcpus = static_cast<unsigned>(*v);
    }
    if (auto m = bounded(p.u64("balloon.maximum"), kMaxMemoryBytes >> 10))
      vm.memory_bytes = *m << 10;
    else if (vm.nova) {
      if (auto mb = bounded(parse_decimal_u64(vm.nova->memory_mb), kMaxMemoryBytes >> 20))
        vm.memory_bytes = *mb << 20;
    }

    const std::uint64_t nets = std::min<std::uint64_t>(p.u64("net.count").value_or(0), 256);
    std::set<std::string> vnic_names;
    for (std::uint64_t k = 0; k < nets; k++) {
      const std::string pre = "net." + std::to_string(k) + ".";
      VmVnic v;
      v.name = label(p.str(pre + "name"), 64);
      if (v.name.empty() || !vnic_names.insert(v.name).second) continue;  // unique series
      v.rx_bytes = p.u64(pre + "rx.bytes").value_or(0);
      v.rx_pkts = p.u64(pre + "rx.pkts").value_or(0);
      v.rx_errs = p.u64(pre + "rx.errs").value_or(0);
      v.rx_drop = p.u64(pre + "rx.drop").value_or(0);
      v.tx_bytes = p.u64(pre + "tx.bytes").value_or(0);
      v.tx_pkts = p.u64(pre + "tx.pkts").value_or(0);
      v.tx_errs = p.u64(pre + "tx.errs").value_or(0);
      v.tx_drop = p.u64(pre + "tx.drop").value_or(0);
      vm.vnics.push_back(std::move(v));
    }
    // Disks from the XML, stats from block.N.* matched by target name.
    std::map<std::string, std::size_t> block_by_name;
    const std::uint64_t blocks = std::min<std::uint64_t>(p.u64("block.count").value_or(0), 256);
    for (std::uint64_t k = 0; k < blocks; k++)
      block_by_name.emplace(p.str("block." + std::to_string(k) + ".name"), k);
    if (info) {
      // A disk is identified by its target in every disk series: one without a target or with
      // a target seen before (XML libvirt would refuse) would make duplicate series.
      std::set<std::string> targets;
      for (const DomainDisk& disk : info->disks) {
        const std::string target = sanitize_label(disk.target, 256);  // as in the labels
        if (target.empty() || !targets.insert(target).second) continue;
        VmDisk vd;
        vd.info = disk;
        auto it = block_by_name.find(disk.target);
        if (it != block_by_name.end()) {
          const std::string pre = "block." + std::to_string(it->second) + ".";
          vd.has_stats = true;
          vd.rd_reqs = p.u64(pre + "rd.reqs").value_or(0);
          vd.rd_bytes = p.u64(pre + "rd.bytes").value_or(0);
          vd.wr_reqs = p.u64(pre + "wr.reqs").value_or(0);
          vd.wr_bytes = p.u64(pre + "wr.bytes").value_or(0);
        }
        vm.disks.push_back(std::move(vd));
      }
    }
    // The QEMU process of this domain (its -uuid is the domain's uuid), and its taps.
    std::set<const Interface*> seen;
    for (auto& [pid, q] : qemus) {
      if (!q.cmd.uuid.empty() && q.cmd.uuid == uuid.value_or("")) {
        vm.pid = pid;
        vm.run_vm_id = q.cmd.run_vm_id;
        vm.guest_cid = q.cmd.guest_cid;
        claimed_pids.insert(pid);
        attach_taps(vm, pid, q.netns, seen);
        break;
      }
    }
    // Fallback (no ptrace access, QEMU elsewhere): the XML's <target dev> in any netns we see.
    if (info) {
      for (const DomainInterface& di : info->interfaces) {
        auto it = by_bare_name.find(di.target);
        if (it == by_bare_name.end() || !seen.insert(it->second).second) continue;
        const Interface* i = it->second;
        vm.interfaces.push_back(
            VmInterface{i->netns, i->ifindex, i->name, i->kind, i->kind == "macvtap", i->stats});
      }
    }
    vms.push_back(std::move(vm));
  }

  // QEMU processes that libvirt did not claim: identity from the command line.
  for (auto& [pid, q] : qemus) {
    if (claimed_pids.count(pid) || vms.size() >= kMaxVms) continue;
    Vm vm;
    vm.source = "cmdline";
    vm.pid = pid;
    vm.run_vm_id = q.cmd.run_vm_id;
    vm.guest_cid = q.cmd.guest_cid;
    // Never an empty identity or owner: -uuid / run/vm/<id> / CID-<n> / the name, else
    // qemu-<pid>; the name (the owner of its interfaces) falls back to that identity.
    const std::string id = q.cmd.identity();
    vm.uuid = label(id.empty() ? "qemu-" + std::to_string(pid) : id, 64);
    vm.name = q.cmd.name.empty() ? vm.uuid : label(q.cmd.name);
    vm.key = "cmdline:" + vm.uuid;
    std::set<const Interface*> seen;
    attach_taps(vm, pid, q.netns, seen);
    vms.push_back(std::move(vm));
  }
  // Two processes claiming one identity (a hostile or broken command line, or a name chosen to
  // equal another VM's suffixed one): unique by construction, libvirt's VMs first (they keep
  // theirs), then command-line ones in pid order; the key follows the uuid.
  {
    std::vector<NamedObject> objects;
    for (Vm& vm : vms) objects.push_back({&vm.uuid, static_cast<std::uint64_t>(vm.pid)});
    std::vector<std::string> before;
    for (const Vm& vm : vms) before.push_back(vm.uuid);
    make_names_unique(objects);
    for (std::size_t k = 0; k < vms.size(); k++)
      if (vms[k].uuid != before[k]) vms[k].key += vms[k].uuid.substr(before[k].size());
  }
  return vms;
}

}  // namespace hostflow::exporter
