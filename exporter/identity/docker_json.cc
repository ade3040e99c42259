#include "identity/docker_json.h"

#include <nlohmann/json.hpp>

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {
namespace {

using json = nlohmann::json;

std::string text(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return sanitize_label(it->get_ref<const std::string&>(), kDockerMaxText);
}

bool is_hex_id(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::map<std::string, std::string> labels(const json& j, const char* key, std::size_t* dropped) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (auto kv = it->begin(); kv != it->end(); ++kv) {
    if (!kv.value().is_string()) continue;
    if (out.size() >= kDockerMaxLabels) {
      (*dropped)++;
      break;
    }
    out.emplace(sanitize_label(kv.key(), kDockerMaxText),
                sanitize_label(kv.value().get_ref<const std::string&>(), kDockerMaxText));
  }
  return out;
}

json parse(std::string_view body, std::string* error) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) *error = "not valid JSON";
  return j;
}

DockerNetwork network_of(const json& n, std::size_t* dropped) {
  DockerNetwork net;
  net.id = text(n, "Id");
  net.name = text(n, "Name");
  net.driver = text(n, "Driver");
  net.labels = labels(n, "Labels", dropped);
  if (net.driver == "bridge") {
    std::string opt;
    if (auto o = n.find("Options"); o != n.end() && o->is_object())
      opt = text(*o, "com.docker.network.bridge.name");
    net.bridge = !opt.empty() ? opt : (is_hex_id(net.id) ? "br-" + net.id.substr(0, 12) : "");
  }
  if (auto c = n.find("Containers"); c != n.end() && c->is_object()) {
    for (auto kv = c->begin(); kv != c->end(); ++kv) {
      if (net.containers.size() >= kDockerMaxContainers) {
        (*dropped)++;
        break;
      }
      const std::string id = sanitize_label(kv.key(), 64);
      if (!is_hex_id(id) || !kv.value().is_object()) {
        (*dropped)++;
        continue;
      }
      DockerEndpoint ep;
      ep.network_id = net.id;
      ep.network_name = net.name;
      ep.ipv4 = text(kv.value(), "IPv4Address");
      ep.ipv6 = text(kv.value(), "IPv6Address");
      ep.mac = text(kv.value(), "MacAddress");
      net.containers.emplace_back(id, std::move(ep));
    }
  }
  return net;
}

}  // namespace

DockerParse parse_docker_containers(std::string_view body) {
  DockerParse out;
  const json j = parse(body, &out.error);
  if (!out.error.empty()) return out;
  if (!j.is_array()) {
    out.error = "expected a JSON array of containers";
    return out;
  }
  for (const json& c : j) {
    if (out.containers.size() >= kDockerMaxContainers) {
      out.dropped += 1;
      continue;
    }
    DockerContainer dc;
    dc.id = text(c, "Id");
    if (!is_hex_id(dc.id)) {
      out.dropped++;
      continue;
    }
    if (auto names = c.find("Names");
        names != c.end() && names->is_array() && !names->empty() && names->front().is_string()) {
      std::string_view n = names->front().get_ref<const std::string&>();
      if (!n.empty() && n.front() == '/') n.remove_prefix(1);
      dc.name = sanitize_label(n, kDockerMaxText);
    }
    dc.image = text(c, "Image");
    dc.labels = labels(c, "Labels", &out.dropped);
    if (auto ns = c.find("NetworkSettings"); ns != c.end() && ns->is_object()) {
      if (auto nets = ns->find("Networks"); nets != ns->end() && nets->is_object()) {
        for (auto kv = nets->begin(); kv != nets->end() && dc.endpoints.size() < 64; ++kv) {
          if (!kv.value().is_object()) continue;
          DockerEndpoint ep;
          ep.network_name = sanitize_label(kv.key(), kDockerMaxText);
          ep.network_id = text(kv.value(), "NetworkID");
          ep.ipv4 = text(kv.value(), "IPAddress");
          ep.ipv6 = text(kv.value(), "GlobalIPv6Address");
          ep.mac = text(kv.value(), "MacAddress");
          dc.endpoints.push_back(std::move(ep));
        }
      }
    }
    out.containers.push_back(std::move(dc));
  }
  return out;
}

DockerParse parse_docker_networks(std::string_view body) {
  DockerParse out;
  const json j = parse(body, &out.error);
  if (!out.error.empty()) return out;
  auto add = [&](const json& n) {
    if (!n.is_object()) {
      out.dropped++;
      return;
    }
    if (out.networks.size() >= kDockerMaxNetworks) {
      out.dropped++;
      return;
    }
    DockerNetwork net = network_of(n, &out.dropped);
    if (net.id.empty()) {
      out.dropped++;
      return;
    }
    out.networks.push_back(std::move(net));
  };
  if (j.is_array()) {
    for (const json& n : j) add(n);
  } else if (j.is_object()) {
    add(j);
  } else {
    out.error = "expected a JSON array or object of networks";
  }
  return out;
}

std::string app_from_compose_project(std::string_view p) {
  if (p.substr(0, 3) == "ix-") p.remove_prefix(3);
  return std::string(p);
}

std::string app_from_network_name(std::string_view n) {
  if (n.substr(0, 3) != "ix-") return {};
  n.remove_prefix(3);
  return std::string(n.substr(0, n.find('_')));
}

}  // namespace hostflow::exporter
