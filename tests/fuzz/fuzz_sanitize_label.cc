// Fuzz target: sanitize_label and valid_utf8 on arbitrary bytes, checking the promises in
// sanitize.h (valid UTF-8 out, no controls, never longer than the cap, cut only at a boundary).
#include <cstdint>
#include <string>
#include <string_view>

#include "hostflow/common/sanitize.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string full = hostflow::sanitize_label(in, size * 3 + 3);
  if (!hostflow::valid_utf8(full)) __builtin_trap();
  for (unsigned char c : full) {
    if (c < 0x20 || c == 0x7F) __builtin_trap();
  }
  // Text that is already valid and control-free passes through untouched.
  bool clean = hostflow::valid_utf8(in);
  for (unsigned char c : in) clean = clean && c >= 0x20 && c != 0x7F;
  if (clean && full != in) __builtin_trap();
  for (std::size_t cap :
       {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4},
        std::size_t{7}, std::size_t{16}, std::size_t{64}, hostflow::kDefaultLabelCap, size}) {
    const std::string out = hostflow::sanitize_label(in, cap);
    if (out.size() > cap) __builtin_trap();
    if (!hostflow::valid_utf8(out)) __builtin_trap();
    if (full.compare(0, out.size(), out) != 0) __builtin_trap();  // a cap only cuts
  }
  return 0;
}
