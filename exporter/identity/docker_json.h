// Parsers for the Docker Engine API answers the sampler copied raw (GET /containers/json,
// /networks, /networks/<id>). Container names, labels and network names are tenant text: the
// parsers are bounded (entries, labels, string lengths), never throw, and are fuzzed; every
// string is sanitised to valid UTF-8 and capped before it can reach a label. hostflow-exporter.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hostflow::exporter {

inline constexpr std::size_t kDockerMaxContainers = 20000;
inline constexpr std::size_t kDockerMaxNetworks = 4096;
inline constexpr std::size_t kDockerMaxLabels = 128;  // per container or network
inline constexpr std::size_t kDockerMaxText = 256;    // name, label key/value (bytes, UTF-8)

struct DockerEndpoint {
  std::string network_id, network_name;
  std::string ipv4, ipv6, mac;
};

struct DockerContainer {
  std::string id;    // 64 hex, lower case
  std::string name;  // without the leading "/"
  std::string image;
  std::map<std::string, std::string> labels;
  std::vector<DockerEndpoint> endpoints;
};

struct DockerNetwork {
  std::string id, name, driver;
  std::string bridge;  // the Linux bridge: the bridge-name option, else br-<id12> (bridge driver)
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, DockerEndpoint>> containers;  // container id -> endpoint
};

struct DockerParse {
  std::vector<DockerContainer> containers;
  std::vector<DockerNetwork> networks;
  std::size_t dropped = 0;  // entries skipped: malformed, over a cap, or a duplicate id
  std::string error;        // the body was not a JSON document of the expected shape
};

// GET /containers/json
DockerParse parse_docker_containers(std::string_view body);
// GET /networks (array) or GET /networks/<id> (one object)
DockerParse parse_docker_networks(std::string_view body);

// The app of a Compose project: the project, "ix-" stripped (TrueNAS apps are "ix-<app>").
// The app of a Docker network name: "<app>" for "ix-<app>_<suffix>" (TrueNAS), else "".
std::string app_from_compose_project(std::string_view project);
std::string app_from_network_name(std::string_view network);

}  // namespace hostflow::exporter
