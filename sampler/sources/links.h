// links: every network interface of the sampler's netns via rtnetlink RTM_GETLINK (libmnl), and
// bounded, those of the other network namespaces that hold workloads (by nsid). Fills section
// kLinks with one LinkRecord per interface: ifindex, name, kind, master, link + link-netnsid,
// operstate, MTU, MAC, flags and all 64-bit stats; and kNetns with the namespaces it saw. The
// sampler's own dump needs no privilege; other namespaces' dumps need CAP_NET_ADMIN.
#pragma once

#include <linux/netlink.h>

#include <memory>
#include <string>
#include <string_view>

#include "hostflow/shm/layout.h"
#include "source.h"
#include "sources/cycle_facts.h"

namespace hostflow::sampler {

// One RTM_NEWLINK message, decoded. The string views point into the message bytes.
struct DecodedLink {
  shm::LinkRecord rec{};  // name/kind/slave_kind refs unset
  std::string_view name, kind, slave_kind;
};

// Pure: decodes one netlink message of `len` bytes (len >= nlh->nlmsg_len is checked).
// Returns false with a reason for anything that is not a well-formed RTM_NEWLINK.
bool decode_link_message(const nlmsghdr* nlh, std::size_t len, DecodedLink* out, std::string* err);

// One RTM_NEWSTATS message (RTM_GETSTATS with IFLA_STATS_LINK_64), decoded.
struct DecodedStats {
  std::int32_t ifindex = 0;
  shm::LinkStats stats{};
};

// Pure, like decode_link_message: false with a reason for anything that is not a well-formed
// RTM_NEWSTATS carrying IFLA_STATS_LINK_64.
bool decode_stats_message(const nlmsghdr* nlh, std::size_t len, DecodedStats* out,
                          std::string* err);

// With `scan` (from procs, may be null): also dumps the links of every other netns that has an
// nsid here and holds a process or a veth peer of ours (IFLA_TARGET_NETNSID, CAP_NET_ADMIN),
// bounded, and publishes the netns table (kNetns). With `bridges` (may be null): the names of
// the host's bridges, for the docker source; with `netns` (may be null): the namespaces it
// dumped, for the addrs source. Both run after it. The facts are described in cycle_facts.h.
std::unique_ptr<Source> make_links_source(std::shared_ptr<const ProcScan> scan,
                                          std::shared_ptr<HostBridges> bridges = nullptr,
                                          std::shared_ptr<NetnsScan> netns = nullptr);

}  // namespace hostflow::sampler
