// Fuzz target: the exporter's parsers of Docker Engine API answers (GET /containers/json,
// /networks, /networks/<id>) -- container names, labels and network names are tenant text.
// Checks the documented bounds: entry and label counts capped, every string valid UTF-8 and at
// most kDockerMaxText bytes, ids 64 lower-case hex, and the app rules never grow a string.
#include <cstdint>
#include <string_view>

#include "hostflow/common/sanitize.h"
#include "identity/docker_json.h"

namespace he = hostflow::exporter;

namespace {
void check_text(const std::string& s) {
  if (s.size() > he::kDockerMaxText || !hostflow::valid_utf8(s)) __builtin_trap();
}
void check_labels(const std::map<std::string, std::string>& l) {
  if (l.size() > he::kDockerMaxLabels) __builtin_trap();
  for (const auto& [k, v] : l) {
    check_text(k);
    check_text(v);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto c = he::parse_docker_containers(in);
  if (c.containers.size() > he::kDockerMaxContainers) __builtin_trap();
  for (const auto& x : c.containers) {
    if (x.id.size() != 64) __builtin_trap();
    check_text(x.name);
    check_text(x.image);
    check_labels(x.labels);
    for (const auto& e : x.endpoints) {
      check_text(e.network_name);
      check_text(e.ipv4);
    }
    if (auto it = x.labels.find("com.docker.compose.project"); it != x.labels.end()) {
      if (he::app_from_compose_project(it->second).size() > it->second.size()) __builtin_trap();
    }
  }
  const auto n = he::parse_docker_networks(in);
  if (n.networks.size() > he::kDockerMaxNetworks) __builtin_trap();
  for (const auto& x : n.networks) {
    if (x.id.empty()) __builtin_trap();
    check_text(x.id);
    check_text(x.name);
    check_text(x.bridge);
    check_labels(x.labels);
    if (he::app_from_network_name(x.name).size() > x.name.size()) __builtin_trap();
    for (const auto& [id, ep] : x.containers) {
      if (id.size() != 64) __builtin_trap();
      check_text(ep.ipv4);
      check_text(ep.mac);
    }
  }
  return 0;
}
