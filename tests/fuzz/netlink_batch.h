// Shared by the netlink fuzz targets: walks fuzz input as a netlink receive buffer (a batch of
// messages) the way the sampler's sources walk a recv(), calling `each(msg, bytes_left)`.
#pragma once

#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hostflow::fuzz {

template <class F>
void for_each_netlink_message(const std::uint8_t* data, std::size_t size, F each) {
  if (size > (std::size_t{64} << 20)) return;  // bounds the copy below (and GCC's warning)
  // A recv() buffer is aligned; give the decoders the same.
  std::vector<std::uint32_t> buf((size + 3) / 4);
  std::copy_n(data, size, reinterpret_cast<std::uint8_t*>(buf.data()));
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(size);
  // mnl_nlmsg_ok compares (int)nlmsg_len, so a length >= 2^31 passes it and mnl_nlmsg_next then
  // jumps far outside the buffer: check the length unsigned first. (The sampler walks kernel
  // replies the same way; the kernel never sends such a length, a fuzzer does.)
  while (left >= static_cast<int>(sizeof(nlmsghdr)) &&
         msg->nlmsg_len <= static_cast<std::uint32_t>(left) && mnl_nlmsg_ok(msg, left)) {
    each(msg, static_cast<std::size_t>(left));
    msg = mnl_nlmsg_next(msg, &left);
  }
}

}  // namespace hostflow::fuzz
