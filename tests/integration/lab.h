// Shared pieces of the integration tests: a quiet network topology in private namespaces, the
// kernel's own view of its links (`ip -s -d -j link`, the independent truth), the exporter's view
// of the same links (parsed from the exposition), and their comparison.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "support.h"

namespace hostflow::test {

// Every interface counter the exporter publishes, keyed by its metric name, with the key of the
// same counter in `ip -s -j link` stats64 ("rx.bytes", ...).
struct CounterMapping {
  const char* metric;
  const char* direction;  // "rx" or "tx"
  const char* field;
};
extern const CounterMapping kCounterMappings[10];

// One link as the kernel reports it.
struct KernelLink {
  std::string name, kind, master, operstate, mac;
  std::int64_t ifindex = 0, mtu = 0;
  std::map<std::string, std::uint64_t> counters;  // by exporter metric name
};
using KernelLinks = std::map<std::string, KernelLink>;

// `ip -s -d -j link` inside `netns`. kind is linkinfo.info_kind ("loopback" for lo, which has
// none); operstate is lower-cased.
KernelLinks kernel_links(const std::string& netns);

// One link as the exporter serves it.
struct ExportedLink {
  std::map<std::string, std::string> info;  // hostflow_interface_info labels
  std::map<std::string, double> counters;   // by metric name
  std::optional<double> mtu;                // hostflow_interface_mtu_bytes
};
using ExportedLinks = std::map<std::string, ExportedLink>;
ExportedLinks exported_links(const Exposition& e);

// Asserts (non-fatally) that the exporter shows exactly the kernel's links with the kernel's
// counters and attributes.
void expect_links_match(const ExportedLinks& exported, const KernelLinks& kernel);

// Scrapes once the exporter serves a snapshot collected after this call began: two generations
// past the one served now and published after now.
std::optional<Exposition> scrape_after_now(
    Stack& stack, std::chrono::milliseconds timeout = std::chrono::seconds(15));

// Sets up a namespace without background traffic (IPv6 off before any link exists, static
// neighbour entries, bridge multicast snooping off) holding:
//   lo; `veth` (192.0.2.1/30) whose peer `veth_peer` (192.0.2.2/30) is in `peer`;
//   `bridge` with `port` enslaved (a veth whose peer `port_peer` is in `peer`); `ifb`.
// Everything is up. Destroying it deletes both namespaces (and so every link).
struct Topology {
  Netns ns{"hfi"}, peer{"hfp"};
  std::string veth, veth_peer, bridge, port, port_peer, ifb;
  std::string addr = "192.0.2.1", peer_addr = "192.0.2.2";
  Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
};

// The daemons' seccomp mode flag from HOSTFLOW_TEST_SECCOMP (e.g. "log"), or nothing: the
// default, kill mode. Only for diagnosis (e.g. which syscall a sanitizer runtime needs).
std::vector<std::string> seccomp_args();

// Stack options for a sampler inside `netns` with the given interval (+ seccomp_args()).
StackOptions in_netns(const std::string& netns, const std::string& interval = "500ms");

// Disables IPv6 in `netns` (all + default), so new links send no router/neighbour solicitations.
void quiet_netns(const Netns& netns);

// The sampler's and exporter's logs, for failure messages.
std::string stack_logs(Stack& s);

// The labels of the first series of `metric` whose `label` equals `value` ({} when none).
std::map<std::string, std::string> series_where(const Exposition& e, const std::string& metric,
                                                const std::string& label, const std::string& value);
// The value of that series.
std::optional<double> value_where(const Exposition& e, const std::string& metric,
                                  const std::string& label, const std::string& value);
// The state ("ok", "absent", ...) hostflow_source_state says `source` is in ("" when none).
std::string source_state(const Exposition& e, const std::string& source);

// A real Prometheus (2.42) on a free loopback port with its own TSDB in a temporary directory,
// scraping every 1s. `scrape_configs` is the YAML list under `scrape_configs:` (indented by two
// spaces); use dir() for files it refers to (file_sd). With `scrape_itself` a job "prometheus"
// scrapes its own /metrics too (prometheus_target_* figures become queryable). Killed on
// destruction.
class Prometheus {
 public:
  explicit Prometheus(const std::string& scrape_configs, bool scrape_itself = false);
  // A scrape config for one static target, job "hostflow", scrape_timeout 1s.
  static std::string static_job(int target_port);
  // The `result` array of an instant query, or nullopt when the API did not answer "success".
  std::optional<nlohmann::json> query(const std::string& q);
  Process& process() { return proc_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  int port_;
  Process proc_;
};
// The value of one series of an instant query's result.
double sample_value(const nlohmann::json& series);

}  // namespace hostflow::test
