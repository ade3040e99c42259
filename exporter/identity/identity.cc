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
  return id;
}

}  // namespace hostflow::exporter
