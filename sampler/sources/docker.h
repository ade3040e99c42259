// docker: the Docker Engine API over its unix socket (--docker.socket; under --path.rootfs by
// default, so it works with the host mounted at /host). Per cycle, within --docker.timeout:
// GET /containers/json, GET /networks, and GET /networks/<id> for each bridge network whose
// bridge is on this host (its name comes from the kernel -- `br-<12 hex>` links that the links
// source saw -- plus the default "bridge" network), never from parsing Docker's answers: the
// sampler copies the bodies as bounded raw blobs and only the exporter parses them (container
// names and labels are tenant text). No socket, or nothing listening -> source "absent".
// Runs in hostflow-sampler; needs no capability (the socket is root's).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "hostflow/common/result.h"
#include "source.h"
#include "sources/cycle_facts.h"

namespace CLI {
class App;
}

namespace hostflow::sampler {

struct DockerOptions {
  std::string socket;                       // --docker.socket; "" = <rootfs>/var/run/docker.sock
  std::string timeout_flag = "2s";          // --docker.timeout as written; validate() sets `budget`
  std::chrono::milliseconds budget{2000};   // the whole cycle's requests
  std::size_t max_body_bytes = 16u << 20;   // /containers/json of a few thousand containers
  std::size_t max_total_bytes = 32u << 20;  // all bodies of one cycle together
  std::size_t max_inspects = 256;           // network inspects per cycle
};

// --docker.socket and --docker.timeout, into `opts`.
void add_flags(CLI::App& app, DockerOptions& opts);
// Converts --docker.timeout (at least 10ms); the error names the flag. Run once after parsing.
Result<void> validate(DockerOptions& opts);

// The Docker network id prefix a bridge name carries (`br-` + 12 lowercase hex), or "".
std::string_view docker_network_prefix(std::string_view bridge_name);

// Pure HTTP response handling, for tests and the fuzz target: parses a complete HTTP/1.x
// response (Content-Length, chunked or close-delimited) with a body cap.
struct HttpReply {
  unsigned status = 0;
  std::string body;
  bool truncated = false;
};
Result<HttpReply> parse_http_reply(std::string_view bytes, std::size_t max_body, bool eof);

// Reads the host's bridge names links found this cycle from `bridges` (cycle_facts.h).
std::unique_ptr<Source> make_docker_source(DockerOptions opts,
                                           std::shared_ptr<const HostBridges> bridges);

}  // namespace hostflow::sampler
