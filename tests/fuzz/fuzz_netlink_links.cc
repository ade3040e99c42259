// Fuzz target: decode_link_message over a netlink receive buffer (a batch of messages), walked
// the way the links source walks a recv() batch.
#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hostflow/common/sanitize.h"
#include "sources/links.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (std::size_t{64} << 20)) return 0;  // bounds the copy below (and GCC's warning)
  // A recv() buffer is aligned; give the decoder the same.
  std::vector<std::uint32_t> buf((size + 3) / 4);
  std::copy_n(data, size, reinterpret_cast<std::uint8_t*>(buf.data()));
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(size);
  std::size_t sink = 0;
  // mnl_nlmsg_ok compares (int)nlmsg_len, so a length >= 2^31 passes it and mnl_nlmsg_next then
  // jumps far outside the buffer: check the length unsigned first. (The sampler walks kernel
  // replies the same way; the kernel never sends such a length, a fuzzer does.)
  while (left >= static_cast<int>(sizeof(nlmsghdr)) &&
         msg->nlmsg_len <= static_cast<std::uint32_t>(left) && mnl_nlmsg_ok(msg, left)) {
    hostflow::sampler::DecodedLink d;
    std::string err;
    if (hostflow::sampler::decode_link_message(msg, static_cast<std::size_t>(left), &d, &err)) {
      // Touch every byte the views claim, so a view past the message is caught.
      for (char c : d.name) sink += static_cast<unsigned char>(c);
      for (char c : d.kind) sink += static_cast<unsigned char>(c);
      for (char c : d.slave_kind) sink += static_cast<unsigned char>(c);
      sink += hostflow::sanitize_label(d.name, 16).size();
      if (d.rec.addr_len > sizeof d.rec.address) __builtin_trap();
    } else if (err.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    msg = mnl_nlmsg_next(msg, &left);
  }
  return sink == 0x7fffffff ? 1 : 0;
}
