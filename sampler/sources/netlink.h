// Small pieces the netlink sources share (links, addrs, conntrack): opening a libmnl socket and
// checking a message's frame before its attributes are decoded. Runs in hostflow-sampler.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <string>

#include "hostflow/common/result.h"

namespace hostflow::sampler {

// A bound libmnl socket on `bus` (NETLINK_ROUTE, NETLINK_NETFILTER), close-on-exec.
inline Result<mnl_socket*> open_netlink(int bus, const char* what) {
  mnl_socket* nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
  if (!nl) return Error::from_errno(std::string("netlink socket (") + what + ")");
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    Error e = Error::from_errno("netlink bind");
    mnl_socket_close(nl);
    return e;
  }
  return nl;
}

// True when `nlh` is a whole message (within `len` bytes) of `type` that holds at least a
// `family_header`-byte header; otherwise false with a reason.
inline bool check_message(const nlmsghdr* nlh, std::size_t len, std::uint16_t type,
                          std::size_t family_header, const char* name, std::string* err) {
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > len) {
    *err = "truncated netlink message";
    return false;
  }
  if (nlh->nlmsg_type != type) {
    *err = std::string("not ") + name + " (type " + std::to_string(nlh->nlmsg_type) + ")";
    return false;
  }
  if (nlh->nlmsg_len < mnl_nlmsg_size(family_header)) {
    *err = std::string(name) + " shorter than its header";
    return false;
  }
  return true;
}

}  // namespace hostflow::sampler
