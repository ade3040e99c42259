// Fuzz target: the sampler's reading of HTTP replies from the Docker socket (Beast's response
// parser fed incrementally, with a body cap). The daemon is root's, but a compromised or buggy
// one must not crash the privileged sampler. Checks: a reply is either an error or complete, and
// a body never exceeds the cap.
#include <cstdint>
#include <string_view>

#include "sources/docker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kCap = 4096;
  for (bool eof : {false, true}) {
    auto r = hostflow::sampler::parse_http_reply(in, kCap, eof);
    if (r.ok()) {
      if (r->body.size() > kCap) __builtin_trap();
      if (r->truncated && !r->body.empty()) __builtin_trap();
    }
  }
  return 0;
}
