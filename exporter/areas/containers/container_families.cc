#include "areas/containers/container_families.h"

namespace hostflow::exporter {

using metrics::Family;
using metrics::Labels;

std::string container_label_name(std::string_view key) {
  std::string out = "label_";
  for (char c : key.substr(0, 100)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

void container_families(const Attribution& a, const ContainerRenderOptions& opts,
                        metrics::FamilySet* out) {
  // Allowlisted label names, unique and not clashing with the fixed ones.
  std::vector<std::pair<std::string, std::string>> extra;  // (key, label name)
  for (const std::string& k : opts.label_allowlist) {
    const std::string n = container_label_name(k);
    bool dup = false;
    for (const auto& e : extra) dup = dup || e.second == n;
    if (!dup) extra.emplace_back(k, n);
  }
  Family info("hostflow_container_info",
              "A container or other workload network namespace: runtime, id, app, image; "
              "Docker labels only as allowed by --container.labels.",
              metrics::Type::kGauge);
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t shm::LinkStats::*field;
  };
  static const Counter kCounters[] = {
      {"hostflow_container_receive_bytes_total",
       "Bytes the container received (its own view: its namespace's interfaces but loopback).",
       &shm::LinkStats::rx_bytes},
      {"hostflow_container_transmit_bytes_total", "Bytes the container sent (its own view).",
       &shm::LinkStats::tx_bytes},
      {"hostflow_container_receive_packets_total", "Packets the container received (its view).",
       &shm::LinkStats::rx_packets},
      {"hostflow_container_transmit_packets_total", "Packets the container sent (its view).",
       &shm::LinkStats::tx_packets},
      {"hostflow_container_receive_dropped_total", "Packets dropped on receive (its view).",
       &shm::LinkStats::rx_dropped},
      {"hostflow_container_transmit_dropped_total", "Packets dropped on transmit (its view).",
       &shm::LinkStats::tx_dropped},
  };
  std::vector<Family> counters;
  for (const Counter& c : kCounters) counters.emplace_back(c.name, c.help, metrics::Type::kCounter);
  Family procs("hostflow_container_processes",
               "Processes seen in the container's network namespace.", metrics::Type::kGauge);
  for (const Container& c : a.containers) {
    const Labels id{{"owner_type", c.owner_type}, {"owner", c.name}, {"app", c.app}};
    Labels l = id;
    l.push_back({"runtime", c.runtime});
    l.push_back({"id", c.id});
    l.push_back({"image", c.image});
    l.push_back({"view", c.has_view ? (c.view_from_netns ? "netns" : "host_veth") : "none"});
    for (const auto& [key, name] : extra) {
      auto it = c.labels.find(key);
      l.push_back({name, it == c.labels.end() ? "" : it->second});
    }
    info.add(std::move(l), 1);
    procs.add(id, c.processes);
    if (!c.has_view) continue;
    for (std::size_t k = 0; k < counters.size(); k++) {
      counters[k].add(id, static_cast<double>(c.view.*kCounters[k].field));
    }
  }
  out->add(std::move(info));
  out->add(std::move(procs));
  for (Family& f : counters) out->add(std::move(f));

  Family docker("hostflow_docker_objects", "Objects the Docker Engine API listed, by kind.",
                metrics::Type::kGauge);
  docker.add({{"kind", "containers"}}, static_cast<double>(a.docker.containers));
  docker.add({{"kind", "networks"}}, static_cast<double>(a.docker.networks));
  out->add(std::move(docker));
  out->add(std::move(Family("hostflow_docker_dropped_entries",
                            "Docker API entries skipped: malformed, over a cap, or duplicated.",
                            metrics::Type::kGauge)
                         .add(static_cast<double>(a.docker.dropped))));
  out->add(
      std::move(Family("hostflow_docker_parse_errors",
                       "Docker API answers in the latest snapshot that were not the expected JSON "
                       "or were truncated.",
                       metrics::Type::kGauge)
                    .add(static_cast<double>(a.docker.parse_errors))));
}

}  // namespace hostflow::exporter
