// HAProxy log parsing speed (issue 8), one thread. Two modes over the same file:
//   parse FILE   read the whole file, then parse every line (syslog prefix, fields, SNI
//                normalisation) and count it into an SniTable: the parser's own speed
//   tail FILE    the exporter's real path: HaproxyTailer following FILE from 0 (read(2) in
//                1 MiB chunks, line splitting, parsing, counting), checkpoint at the end
// Prints lines, seconds and lines/s. Compare with `wc -l FILE` (bench/haproxy.sh does).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "areas/haproxy/haproxy_line.h"
#include "areas/haproxy/haproxy_tail.h"
#include "areas/haproxy/sni_table.h"
#include "hostflow/common/log.h"

using namespace hostflow::exporter;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s parse|tail FILE\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1], file = argv[2];
  hostflow::log::set_level("warn");
  std::uint64_t lines = 0;
  double secs = 0;
  if (mode == "parse") {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    SniTable table(1000);
    std::string name;
    const auto t0 = Clock::now();
    std::string_view rest(text);
    while (!rest.empty()) {
      const std::size_t nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      const HaproxyLine l = parse_haproxy_line(line, HaproxyFields{});
      lines++;
      if (l.error != LineError::kNone) continue;
      table.add(normalise_sni(l.sni_raw, &name), name, l.bytes_in, l.bytes_out);
    }
    table.rebalance();
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
  } else if (mode == "tail") {
    char tmpl[] = "/tmp/hostflow-bench-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    HaproxyOptions o;
    o.logs = {file};
    o.position_file = std::string(tmpl) + "/pos.json";
    o.reset = true;
    o.read_budget = SIZE_MAX;
    auto t = HaproxyTailer::open(o);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.error().message().c_str());
      return 1;
    }
    const auto t0 = Clock::now();
    (*t)->poll(1, true);
    secs = std::chrono::duration<double>(Clock::now() - t0).count();
    lines = (*t)->lines();
    std::system((std::string("rm -rf ") + tmpl).c_str());
  } else {
    return 2;
  }
  std::printf("%s lines=%llu seconds=%.3f lines_per_second=%.0f\n", mode.c_str(),
              static_cast<unsigned long long>(lines), secs, static_cast<double>(lines) / secs);
  return 0;
}
