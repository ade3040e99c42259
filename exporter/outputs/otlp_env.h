// Parsers for the strings of the OTLP output's settings: the W3C-Baggage-like "key=value,..." lists
// of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES (values percent-decoded), an HTTP
// Retry-After and a gRPC error's google.rpc.RetryInfo. Pure functions of their input (fuzzed:
// tests/fuzz/fuzz_otlp_env.cc).
// hostflow-exporter: start-up (lists) and the OTLP push thread (Retry-After).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hostflow::exporter {

// "k1=v1,k2=v%202": keys and values trimmed of spaces and tabs, values percent-decoded; an empty
// member (",,") is skipped. Nullopt (with `error` set when given) on a member without '=', an empty
// key, a key that is not an HTTP token, a bad %XX escape, a decoded value with a control character
// (CR/LF would split an HTTP header), or more than `max_members` members.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_otel_key_values(
    std::string_view text, std::string* error = nullptr, std::size_t max_members = 64);

// Retry-After as delta-seconds ("120"); nullopt for anything else (an HTTP-date is not used: the
// exporter's own backoff applies). Capped at 1 day.
std::optional<std::uint32_t> parse_retry_after(std::string_view text);

// The retry delay of a gRPC error's details (the `grpc-status-details-bin` trailer: a serialized
// google.rpc.Status) when one of its details is a google.rpc.RetryInfo, in whole seconds rounded
// up (a delay of 0 < d < 1 s is 1 s); nullopt when the bytes do not parse, carry no RetryInfo, or
// its delay is negative. Capped at 1 day, like Retry-After.
std::optional<std::uint32_t> parse_grpc_retry_delay(std::string_view status_details);

// Whether an OTLP header's key may travel as gRPC metadata: lower-case letters, digits, '-', '_'
// and '.' after lower-casing, not starting with "grpc-" (reserved), not a binary ("-bin") key.
bool is_grpc_metadata_key(std::string_view key);

// `url` as /status and the log show it: a user and password in its authority
// ("https://user:pw@host/") become "***" ("https://***@host/"); anything else is unchanged.
std::string url_for_display(std::string_view url);

}  // namespace hostflow::exporter
