#include "identity/identity.h"

namespace hostflow::exporter {

std::shared_ptr<const Identity> build_identity(const shm::Snapshot& snap) {
  auto id = std::make_shared<Identity>();
  id->model = build_model(snap);
  id->vms = build_vms(snap, id->model.interfaces, id->model.workload_interfaces);
  // The one step that writes into the model: owner labels of the host interfaces. It happens
  // here, before the value is shared; afterwards it is const.
  id->attribution = attribute(snap, id->model, id->vms);
  id->addrs = build_addrs(snap);
  id->workloads = build_workload_ips(id->vms, id->addrs, id->attribution.containers);
  // The other namespaces' interfaces served the joins above (VM taps in a namespace, the
  // containers' own-view totals); no area reads them. Not kept for the life of the identity:
  // 1.1 MB at 200 x 10, and as much again while the next snapshot's identity is built (issue
  // 13's RSS).
  std::vector<Interface>().swap(id->model.workload_interfaces);
  return id;
}

}  // namespace hostflow::exporter
