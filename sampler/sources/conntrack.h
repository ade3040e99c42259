// conntrack: one ctnetlink dump (libmnl, IPCTNL_MSG_CT_GET + NLM_F_DUMP, AF_UNSPEC = IPv4 and IPv6)
// of the sampler's netns per cycle. Fills section kConntrack with one fixed-width ConntrackRecord
// per entry: original and reply tuples, protocol, zone, mark, status, and the counters when
// accounting is on. At most --conntrack.max-entries records; the rest are counted as dropped
// (section flag "truncated"). No conntrack in the kernel -> absent. The dump needs CAP_NET_ADMIN
// (nfnetlink checks it on every request). Runs in hostflow-sampler.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <memory>
#include <string>

#include "hostflow/shm/layout.h"
#include "source.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct ConntrackOptions {
  std::uint32_t max_entries = 1'000'000;  // --conntrack.max-entries
};

// --conntrack.max-entries, into `opts` (CLI11 checks it is a number; no other validation).
void add_flags(CLI::App& app, ConntrackOptions& opts);

// Pure: decodes one ctnetlink IPCTNL_MSG_CT_NEW message of at most `len` bytes into `out`.
// Returns false with a reason for anything that is not a well-formed conntrack entry.
bool decode_ct_message(const nlmsghdr* nlh, std::size_t len, shm::ConntrackRecord* out,
                       std::string* err);

std::unique_ptr<Source> make_conntrack_source(ConntrackOptions opts);

}  // namespace hostflow::sampler
