// Fuzz target: decode_link_message over a netlink receive buffer (a batch of messages), walked
// the way the links source walks a recv() batch.
#include <libmnl/libmnl.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hostflow/common/sanitize.h"
#include "sources/links.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A recv() buffer is aligned; give the decoder the same.
  std::vector<std::uint32_t> buf((size + 3) / 4);
  if (size) std::memcpy(buf.data(), data, size);
  const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
  int left = static_cast<int>(size);
  std::size_t sink = 0;
  while (mnl_nlmsg_ok(msg, left)) {
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
