// The HTTP server's limits, as plain data (config.h holds them; http/server.h obeys them).
// hostflow-exporter.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace hostflow::exporter {

struct HttpOptions {
  std::string listen_address = ":9471";
  std::size_t max_connections = 64;
  // Connections from one source address (IPv4-mapped IPv6 counts as the IPv4 address); 0 = no cap.
  std::size_t max_connections_per_source = 16;
  // Deadlines from the start of a wait for a request (accept, or the previous response on a
  // keep-alive connection): its head must be complete within read_header_timeout, the whole
  // request (head and body) within read_timeout. The smaller of the two bounds the head.
  std::chrono::milliseconds read_header_timeout{5'000};
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};  // for one response
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // --web.systemd-socket: serve the listening socket systemd passed (LISTEN_FDS, fd 3) instead of
  // binding listen_address. Last: aggregate initialisers list the fields above in order.
  bool systemd_socket = false;
};

}  // namespace hostflow::exporter
