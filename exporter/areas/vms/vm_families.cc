#include "areas/vms/vm_families.h"

#include <cstdlib>

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Labels;

bool parse_thresholds(const std::string& spec, std::map<std::string, double>* out,
                      std::string* err) {
  out->clear();
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const auto colon = item.find(':');
    if (colon == std::string::npos || colon == 0) {
      *err = "want tier:value, got \"" + item + "\"";
      return false;
    }
    char* tail = nullptr;
    const std::string num = item.substr(colon + 1);
    const double v = std::strtod(num.c_str(), &tail);
    if (num.empty() || *tail != '\0' || v < 0) {
      *err = "bad threshold \"" + num + "\" for tier " + item.substr(0, colon);
      return false;
    }
    (*out)[item.substr(0, colon)] = v;
  }
  return true;
}

namespace {
double threshold(const std::map<std::string, double>& m, const std::string& tier, double dflt) {
  if (auto it = m.find(tier); it != m.end()) return it->second;
  if (auto it = m.find("default"); it != m.end()) return it->second;
  return dflt;
}
}  // namespace

void vm_families(const std::vector<Vm>& vms, const std::vector<VmDerived>& derived,
                 const VmRenderOptions& opts, metrics::FamilySet* out) {
  Family info("hostflow_vm_info", "A VM: identity from libvirt or the QEMU command line.",
              metrics::Type::kGauge);
  Family ids("hostflow_vm_cmdline_info",
             "Identifiers a VM's QEMU command line carries besides its identity: dstack's "
             "run/vm/<id> and the vhost-vsock guest CID (only VMs with either).",
             metrics::Type::kGauge);
  Family iface("hostflow_vm_interface_info",
               "Host interface owned by a VM (tap from QEMU's fdinfo, macvtap by device number).",
               metrics::Type::kGauge);
  Family rx("hostflow_vm_network_receive_bytes_total",
            "Bytes the VM received (the VM's view: its taps' host transmit), summed over its "
            "interfaces, monotonic across interface resets.",
            metrics::Type::kCounter);
  Family tx("hostflow_vm_network_transmit_bytes_total",
            "Bytes the VM sent (the VM's view: its taps' host receive).", metrics::Type::kCounter);
  Family rxp("hostflow_vm_network_receive_packets_total", "Packets the VM received (VM view).",
             metrics::Type::kCounter);
  Family txp("hostflow_vm_network_transmit_packets_total", "Packets the VM sent (VM view).",
             metrics::Type::kCounter);
  Family win("hostflow_vm_network_window_bytes",
             "Bytes the VM moved in the trailing window (VM view).", metrics::Type::kGauge);
  Family cpu("hostflow_vm_cpu_percent",
             "VM CPU use from libvirt CPU time, per vCPU, 0-100; exported at or above --cpu.min "
             "plus one trailing sample.",
             metrics::Type::kGauge);
  Family vcpus("hostflow_vm_vcpus",
               "vCPUs of the VM (libvirt's current count, else the Nova flavor's).",
               metrics::Type::kGauge);
  Family memory("hostflow_vm_memory_bytes",
                "Memory of the VM (libvirt's balloon maximum, else the Nova flavor's).",
                metrics::Type::kGauge);
  Family nova("hostflow_openstack_instance_info", "OpenStack Nova metadata of an instance.",
              metrics::Type::kGauge);
  Family disk_info("hostflow_vm_disk_info", "A VM disk from the domain XML.",
                   metrics::Type::kGauge);
  Family rth("hostflow_vm_disk_read_alert_threshold", "Read alert threshold for the disk's tier.",
             metrics::Type::kGauge);
  Family wth("hostflow_vm_disk_write_alert_threshold", "Write alert threshold for the disk's tier.",
             metrics::Type::kGauge);
  Family drb("hostflow_vm_disk_read_bytes_total", "Bytes read from the disk (on activity).",
             metrics::Type::kCounter);
  Family dwb("hostflow_vm_disk_write_bytes_total", "Bytes written to the disk (on activity).",
             metrics::Type::kCounter);
  Family drr("hostflow_vm_disk_read_requests_total", "Read requests (on activity).",
             metrics::Type::kCounter);
  Family dwr("hostflow_vm_disk_write_requests_total", "Write requests (on activity).",
             metrics::Type::kCounter);
  struct Vnic {
    const char* name;
    const char* help;
    std::uint64_t VmVnic::*field;
  };
  static const Vnic kVnic[] = {
      {"hostflow_vm_vnic_receive_bytes_total", "vNIC bytes received (libvirt, domain view).",
       &VmVnic::rx_bytes},
      {"hostflow_vm_vnic_transmit_bytes_total", "vNIC bytes sent (libvirt, domain view).",
       &VmVnic::tx_bytes},
      {"hostflow_vm_vnic_receive_packets_total", "vNIC packets received.", &VmVnic::rx_pkts},
      {"hostflow_vm_vnic_transmit_packets_total", "vNIC packets sent.", &VmVnic::tx_pkts},
      {"hostflow_vm_vnic_receive_errors_total", "vNIC receive errors.", &VmVnic::rx_errs},
      {"hostflow_vm_vnic_transmit_errors_total", "vNIC transmit errors.", &VmVnic::tx_errs},
      {"hostflow_vm_vnic_receive_dropped_total", "vNIC receive drops.", &VmVnic::rx_drop},
      {"hostflow_vm_vnic_transmit_dropped_total", "vNIC transmit drops.", &VmVnic::tx_drop},
  };
  std::vector<Family> vnic;
  for (const Vnic& v : kVnic) vnic.emplace_back(v.name, v.help, metrics::Type::kCounter);

  unsigned active_vcpus = 0;
  std::uint64_t active_mem = 0;
  std::uint64_t out_of_range = 0;
  for (std::size_t k = 0; k < vms.size(); k++) {
    const Vm& vm = vms[k];
    const VmDerived& d = derived[k];
    const Labels id{{"vm_uuid", vm.uuid}, {"vm_name", vm.name}};
    info.add({{"vm_uuid", vm.uuid}, {"vm_name", vm.name}, {"source", vm.source}}, 1);
    if (!vm.run_vm_id.empty() || !vm.guest_cid.empty())
      ids.add({{"vm_uuid", vm.uuid},
               {"vm_name", vm.name},
               {"run_vm_id", vm.run_vm_id},
               {"guest_cid", vm.guest_cid}},
              1);
    for (const VmInterface& i : vm.interfaces) {
      iface.add(
          {{"vm_uuid", vm.uuid}, {"vm_name", vm.name}, {"interface", i.name}, {"kind", i.kind}}, 1);
    }
    rx.add(id, static_cast<double>(d.rx_bytes));
    tx.add(id, static_cast<double>(d.tx_bytes));
    rxp.add(id, static_cast<double>(d.rx_packets));
    txp.add(id, static_cast<double>(d.tx_packets));
    for (std::size_t w = 0; w < kWindowSeconds.size(); w++) {
      win.add({{"vm_uuid", vm.uuid},
               {"vm_name", vm.name},
               {"direction", "receive"},
               {"window", kWindowNames[w]}},
              static_cast<double>(d.rx_window[w]));
      win.add({{"vm_uuid", vm.uuid},
               {"vm_name", vm.name},
               {"direction", "transmit"},
               {"window", kWindowNames[w]}},
              static_cast<double>(d.tx_window[w]));
    }
    if (d.cpu_percent) cpu.add(id, *d.cpu_percent);
    if (vm.vcpus) vcpus.add(id, vm.vcpus);
    if (vm.memory_bytes) memory.add(id, static_cast<double>(vm.memory_bytes));
    active_vcpus += vm.vcpus;
    active_mem += vm.memory_bytes;
    out_of_range += vm.out_of_range_values;
    if (vm.nova) {
      const NovaInstance& n = *vm.nova;
      auto l = [](const std::string& s) { return sanitize_label(s, 128); };
      nova.add({{"vm_uuid", vm.uuid},
                {"domain", vm.name},
                {"instance_name", l(n.name)},
                {"project_uuid", l(n.project_uuid)},
                {"project_name", l(n.project_name)},
                {"user_uuid", l(n.user_uuid)},
                {"user_name", l(n.user_name)},
                {"flavor", l(n.flavor)},
                {"vcpus", l(n.vcpus)},
                {"mem_mb", l(n.memory_mb)},
                {"root_type", l(n.root_type)},
                {"created_at", l(n.created_at)},
                {"metadata_version", l(n.metadata_version)},
                {"package_version", l(n.package_version)}},
               1);
    }
    for (const VmDisk& disk : vm.disks) {
      auto l = [](const std::string& s) { return sanitize_label(s, 256); };
      const Labels dl{{"vm_uuid", vm.uuid}, {"vm_name", vm.name}, {"disk", l(disk.info.target)}};
      disk_info.add({{"vm_uuid", vm.uuid},
                     {"vm_name", vm.name},
                     {"disk", l(disk.info.target)},
                     {"disk_uuid", l(disk.info.uuid)},
                     {"disk_type", l(disk.info.type)},
                     {"disk_path", l(disk.info.path)},
                     {"tier", l(disk.info.tier)}},
                    1);
      rth.add(dl, threshold(opts.read_thresholds, disk.info.tier, opts.default_read_threshold));
      wth.add(dl, threshold(opts.write_thresholds, disk.info.tier, opts.default_write_threshold));
      if (disk.has_stats && (disk.rd_reqs || disk.wr_reqs || disk.rd_bytes || disk.wr_bytes)) {
        drb.add(dl, static_cast<double>(disk.rd_bytes));
        dwb.add(dl, static_cast<double>(disk.wr_bytes));
        drr.add(dl, static_cast<double>(disk.rd_reqs));
        dwr.add(dl, static_cast<double>(disk.wr_reqs));
      }
    }
    for (const VmVnic& v : vm.vnics) {
      const Labels vl{{"vm_uuid", vm.uuid}, {"vm_name", vm.name}, {"interface", v.name}};
      for (std::size_t f = 0; f < vnic.size(); f++) {
        const std::uint64_t val = v.*(kVnic[f].field);
        if (val) vnic[f].add(vl, static_cast<double>(val));  // zero-suppressed
      }
    }
  }
  for (Family* f : {&info, &ids, &iface, &rx, &tx, &rxp, &txp, &win, &cpu, &nova, &disk_info, &rth,
                    &wth, &drb, &dwb, &drr, &dwr})
    if (!f->empty()) out->add(std::move(*f));
  for (Family* f : {&vcpus, &memory})
    if (!f->empty()) out->add(std::move(*f));
  for (Family& f : vnic)
    if (!f.empty()) out->add(std::move(f));
  out->add(std::move(
      Family("hostflow_host_active_vms", "VMs running on this host.", metrics::Type::kGauge)
          .add(static_cast<double>(vms.size()))));
  out->add(std::move(
      Family("hostflow_host_active_vcpus", "vCPUs of the running VMs.", metrics::Type::kGauge)
          .add(active_vcpus)));
  out->add(
      std::move(Family("hostflow_vm_out_of_range_values",
                       "Numbers of the VMs in this snapshot (libvirt stats, Nova flavor vCPUs and "
                       "memory) above their plausible range, ignored instead of wrapped.",
                       metrics::Type::kGauge)
                    .add(static_cast<double>(out_of_range))));
  out->add(std::move(Family("hostflow_host_active_memory_bytes",
                            "Memory of the running VMs (balloon maximum, else the Nova flavor).",
                            metrics::Type::kGauge)
                         .add(static_cast<double>(active_mem))));
}

}  // namespace hostflow::exporter
