// links: every network interface of the sampler's netns via rtnetlink RTM_GETLINK (libmnl).
// Fills section kLinks with one LinkRecord per interface: ifindex, name, kind, master, link +
// link-netnsid, operstate, MTU, MAC, flags and all 64-bit stats. No privilege needed.
#pragma once

#include <linux/netlink.h>

#include <memory>
#include <string>
#include <string_view>

#include "hostflow/shm/layout.h"
#include "source.h"

namespace hostflow::sampler {

// One RTM_NEWLINK message, decoded. The string views point into the message bytes.
struct DecodedLink {
  shm::LinkRecord rec{};  // name/kind/slave_kind refs unset
  std::string_view name, kind, slave_kind;
};

// Pure: decodes one netlink message of `len` bytes (len >= nlh->nlmsg_len is checked).
// Returns false with a reason for anything that is not a well-formed RTM_NEWLINK.
bool decode_link_message(const nlmsghdr* nlh, std::size_t len, DecodedLink* out,
                         std::string* err);

std::unique_ptr<Source> make_links_source();

}  // namespace hostflow::sampler
