// Fuzz target: the OTLP output's string parsers (exporter/outputs/otlp_env.h) on arbitrary bytes:
// OTEL_EXPORTER_OTLP_HEADERS / OTEL_RESOURCE_ATTRIBUTES lists, Retry-After and a gRPC error's
// google.rpc.Status details (RetryInfo). Checks their promises: keys are non-empty HTTP tokens,
// decoded values carry no control character (no header splitting), at most the member cap, and a
// Retry-After or RetryInfo delay never above one day.
#include <cstdint>
#include <string>
#include <string_view>

#include "outputs/otlp_env.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string err;
  const auto kv = hostflow::exporter::parse_otel_key_values(in, &err, 8);
  if (kv) {
    if (kv->size() > 8) __builtin_trap();
    for (const auto& [k, v] : *kv) {
      if (k.empty()) __builtin_trap();
      for (unsigned char c : k)
        if (c <= 0x20 || c >= 0x7f || c == '=' || c == ',' || c == ':') __builtin_trap();
      for (unsigned char c : v)
        if (c < 0x20 || c == 0x7f) __builtin_trap();
    }
  } else if (err.empty()) {
    __builtin_trap();  // a refusal says why
  }
  if (auto s = hostflow::exporter::parse_retry_after(in); s && *s > 86400) __builtin_trap();
  if (auto d = hostflow::exporter::parse_grpc_retry_delay(in); d && *d > 86400) __builtin_trap();
  return 0;
}
