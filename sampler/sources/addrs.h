// addrs: interface addresses via rtnetlink RTM_GETADDR (libmnl): those of the sampler's netns (the
// host's addresses, for host threat matching) and, bounded, those of every other netns the links
// source dumped this cycle (by nsid, IFA_TARGET_NETNSID; CAP_NET_ADMIN over it), so a netns
// workload's fixed IPs come from kernel facts. Fills section kAddrs. Runs in hostflow-sampler
// after links.
#pragma once

#include <linux/netlink.h>

#include <memory>
#include <string>

#include "hostflow/shm/layout.h"
#include "source.h"
#include "sources/cycle_facts.h"

namespace hostflow::sampler {

// Pure: decodes one RTM_NEWADDR message of at most `len` bytes. False with a reason otherwise.
bool decode_addr_message(const nlmsghdr* nlh, std::size_t len, shm::AddrRecord* out,
                         std::string* err);

// Reads the namespaces links dumped this cycle from `netns` (cycle_facts.h).
std::unique_ptr<Source> make_addrs_source(std::shared_ptr<const NetnsScan> netns);

}  // namespace hostflow::sampler
