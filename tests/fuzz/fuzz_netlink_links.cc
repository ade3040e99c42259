// Fuzz target: decode_link_message and decode_stats_message over a netlink receive buffer (a batch
// of messages), walked the way the links source walks a recv() batch.

#include <cstdint>
#include <cstring>
#include <string>

#include "hostflow/common/sanitize.h"
#include "netlink_batch.h"
#include "sources/links.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t sink = 0;
  hostflow::fuzz::for_each_netlink_message(data, size, [&](const nlmsghdr* msg, std::size_t left) {
    hostflow::sampler::DecodedLink d;
    std::string err;
    if (hostflow::sampler::decode_link_message(msg, left, &d, &err)) {
      // Touch every byte the views claim, so a view past the message is caught.
      for (char c : d.name) sink += static_cast<unsigned char>(c);
      for (char c : d.kind) sink += static_cast<unsigned char>(c);
      for (char c : d.slave_kind) sink += static_cast<unsigned char>(c);
      sink += hostflow::sanitize_label(d.name, 16).size();
      if (d.rec.addr_len > sizeof d.rec.address) __builtin_trap();
    } else if (err.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    // The counters-only path reads RTM_NEWSTATS from the same socket.
    hostflow::sampler::DecodedStats st;
    std::string serr;
    if (hostflow::sampler::decode_stats_message(msg, left, &st, &serr)) {
      sink += st.stats.rx_bytes;
    } else if (serr.empty()) {
      __builtin_trap();
    }
  });
  return sink == 0x7fffffff ? 1 : 0;
}
