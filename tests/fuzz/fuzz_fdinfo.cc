// Fuzz target: parse_fdinfo_iff (the sampler's parser of /proc/<pid>/fdinfo/<fd>; the kernel
// writes it, but the name inside is chosen by whoever created the tap) and is_macvtap_path /
// is_qemu_comm on arbitrary bytes. Checks: the result is a view into the input and a valid
// kernel interface name (1..15 bytes, no '/', whitespace, controls or NUL).
#include <cstdint>
#include <string_view>

#include "sources/procs.h"
#include "sources/taps.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (const auto iff = hostflow::sampler::parse_fdinfo_iff(in)) {
    if (iff->empty() || iff->size() > 15) __builtin_trap();
    if (iff->data() < in.data() || iff->data() + iff->size() > in.data() + in.size())
      __builtin_trap();
    for (char c : *iff) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '/' || u <= ' ' || u == 0x7f) __builtin_trap();
    }
  }
  if (hostflow::sampler::is_macvtap_path(in)) {
    if (in.size() <= 8 || in.size() > 18 || in.substr(0, 8) != "/dev/tap") __builtin_trap();
  }
  (void)hostflow::sampler::is_qemu_comm(in);
  return 0;
}
