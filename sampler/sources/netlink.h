// Small pieces the netlink sources share (links, addrs, conntrack): opening a libmnl socket and
// checking a message's frame before its attributes are decoded. Runs in hostflow-sampler.
#pragma once

#include <libmnl/libmnl.h>

#include <cstdint>
#include <string>
#include <vector>

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

// Sends the request in `nlh`, then receives the dump's replies into `buf` until NLMSG_DONE,
// calling on_message(msg, bytes_left_in_batch) for each message of this request. An NLMSG_ERROR
// ends it with that errno; `interrupted` (optional) is set when the kernel flags NLM_F_DUMP_INTR.
template <class F>
Result<void> run_dump(mnl_socket* nl, nlmsghdr* nlh, std::vector<char>& buf,
                      const std::string& what, F&& on_message, bool* interrupted = nullptr) {
  const std::uint32_t seq = nlh->nlmsg_seq;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return Error::from_errno(what + " send");
  const unsigned portid = mnl_socket_get_portid(nl);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(what + " recv");
    }
    // Walk the batch ourselves so NLM_F_DUMP_INTR and decode errors are seen per message.
    const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
    int left = static_cast<int>(n);
    for (; mnl_nlmsg_ok(msg, left); msg = mnl_nlmsg_next(msg, &left)) {
      if (msg->nlmsg_seq != seq || msg->nlmsg_pid != portid) continue;
      if (interrupted && (msg->nlmsg_flags & NLM_F_DUMP_INTR)) *interrupted = true;
      if (msg->nlmsg_type == NLMSG_DONE) return {};
      if (msg->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
        if (e->error == 0) continue;  // an ACK
        return Error{-e->error, what};
      }
      on_message(msg, static_cast<std::size_t>(left));
    }
  }
}

}  // namespace hostflow::sampler
