// Identity: who is who in one snapshot, computed once and then immutable. Interfaces with their
// owner labels (identity/owners.h), VMs (identity/vms.h), containers and other workload
// namespaces, the kernel's addresses and the fixed IPs of each workload. Every area reads the
// same value; none changes it (it is shared as shared_ptr<const Identity>).
// Pure: built from a validated Snapshot. hostflow-exporter, poll thread.
#pragma once

#include <memory>
#include <vector>

#include "hostflow/shm/snapshot.h"
#include "identity/addresses.h"
#include "identity/interfaces.h"
#include "identity/owners.h"
#include "identity/vms.h"
#include "identity/workload_ips.h"

namespace hostflow::exporter {

struct Identity {
  Model model;  // snapshot facts; host interfaces carry their owners;
                // workload_interfaces is empty (used by the joins only)
  std::vector<Vm> vms;
  Attribution attribution;             // containers (sorted, unique names) and Docker status
  AddrTable addrs;                     // interface addresses, host and workload namespaces
  std::vector<WorkloadIps> workloads;  // fixed IPs per VM / workload namespace
};

std::shared_ptr<const Identity> build_identity(const shm::Snapshot& snap);

}  // namespace hostflow::exporter
