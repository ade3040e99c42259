// Conntrack benchmark (issue 6), run by bench/conntrack.sh inside a netns holding many entries:
//   hostflow-conntrack-bench dump N      N rounds of: a bare libmnl count-only ctnetlink dump, then
//                                        the sampler's conntrack source into a SnapshotBuilder;
//                                        prints the median of each and their ratio
//   hostflow-conntrack-bench match FLOWS PREFIXES WORKLOADS ROUNDS
//                                        the exporter's aggregation + threat matching
//                                        (ConntrackFeature::compute) over synthetic flows against
//                                        synthetic lists; prints the median time per snapshot
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "areas/conntrack/conntrack_feature.h"
#include "hostflow/shm/builder.h"
#include "sources/conntrack.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The floor: the same dump, counting messages and nothing else.
std::size_t count_only_dump() {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("netlink");
    std::exit(1);
  }
  std::vector<char> buf(64 * 1024);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = 1;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
  std::size_t n = 0;
  for (bool done = false; !done;) {
    const ssize_t r = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (r <= 0) break;
    const auto* m = reinterpret_cast<const nlmsghdr*>(buf.data());
    int left = static_cast<int>(r);
    for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
        done = true;
        break;
      }
      n++;
    }
  }
  mnl_socket_close(nl);
  return n;
}

int dump(int rounds) {
  using namespace hostflow;
  std::vector<double> bare, ours;
  std::size_t nb = 0, no = 0;
  auto src = sampler::make_conntrack_source({});
  if (!src->open({}).ok()) return 1;
  shm::SnapshotBuilder b;
  for (int i = 0; i < rounds; i++) {
    double t = now();
    nb = count_only_dump();
    bare.push_back(now() - t);
    b.reset();
    t = now();
    auto r = src->collect(b);
    ours.push_back(now() - t);
    if (!r.ok()) return 1;
    no = *r;
  }
  std::printf("entries bare=%zu sampler=%zu\nbare_median_s=%.4f sampler_median_s=%.4f ratio=%.3f\n",
              nb, no, median(bare), median(ours), median(ours) / median(bare));
  return 0;
}

int match(std::size_t flows, std::size_t prefixes, std::size_t workloads, int rounds) {
  using namespace hostflow::exporter;
  std::mt19937 rng(7);
  auto ip4 = [&](std::uint32_t v) {
    IpAddr a;
    a.family = 4;
    a.b[0] = v >> 24;
    a.b[1] = (v >> 16) & 255;
    a.b[2] = (v >> 8) & 255;
    a.b[3] = v & 255;
    return a;
  };
  std::vector<WorkloadIps> w;
  for (std::size_t i = 0; i < workloads; i++)
    w.push_back(
        {"vm", "vm-" + std::to_string(i), {ip4(0x0a000000u + static_cast<std::uint32_t>(i))}});
  ConntrackTable ct;
  ct.present = true;
  for (std::size_t i = 0; i < flows; i++) {
    Flow f;
    f.src = ip4(0x0a000000u +
                static_cast<std::uint32_t>(rng() % (workloads * 2)));  // half are workloads
    f.dst = ip4(rng());
    f.responder = f.dst;
    f.sport = static_cast<std::uint16_t>(rng());
    f.dport = static_cast<std::uint16_t>(rng() % 1024);
    f.proto = 6;
    ct.flows.push_back(f);
  }
  std::vector<Cidr> cidrs;
  for (std::size_t i = 0; i < prefixes; i++) {
    const unsigned len = 16 + rng() % 17;
    cidrs.push_back(*parse_cidr(ip4(rng()).str() + "/" + std::to_string(len)));
  }
  // The five lists split the prefixes between them (all enabled, direction any). The timed part
  // is what ConntrackFeature::compute does per snapshot: index, flows + outbound, threat matching.
  ConntrackFeatureOptions o;
  o.flows = {20, true};
  ThreatMatcher matcher("");
  FlowSummarizer summarizer(o.flows);
  std::vector<ThreatList> lists;
  const char* names[5] = {"tor_exit", "tor_relay", "spamhaus", "emergingthreats", "customlist"};
  for (int l = 0; l < 5; l++) {
    std::vector<Cidr> part(cidrs.begin() + static_cast<long>(l * prefixes / 5),
                           cidrs.begin() + static_cast<long>((l + 1) * prefixes / 5));
    lists.push_back({names[l], Direction::kAny, std::make_shared<const PrefixSet>(part)});
  }
  std::vector<double> t, ts, tm;
  std::size_t contacts = 0;
  for (int r = 0; r < rounds; r++) {
    const double t0 = now();
    const IpIndex index(w);
    const std::vector<FlowEnd> ends = classify_flows(ct.flows, index);
    auto ips = summarizer.update(ct.flows, ends, w, index);
    const double t1 = now();
    auto th = matcher.update(ct.flows, ends, w, index, lists, 0);
    t.push_back(now() - t0);
    ts.push_back(t1 - t0);
    tm.push_back(now() - t1);
    contacts = th.size() + ips.size();
  }
  std::printf(
      "flows=%zu prefixes=%zu workloads=%zu series=%zu median_ms=%.2f (flows+outbound %.2f, "
      "threat matching %.2f)\n",
      flows, prefixes, workloads, contacts, median(t) * 1e3, median(ts) * 1e3, median(tm) * 1e3);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "dump") return dump(std::atoi(argv[2]));
  if (argc >= 6 && std::string(argv[1]) == "match")
    return match(std::strtoul(argv[2], nullptr, 10), std::strtoul(argv[3], nullptr, 10),
                 std::strtoul(argv[4], nullptr, 10), std::atoi(argv[5]));
  std::fprintf(stderr, "usage: %s dump ROUNDS | match FLOWS PREFIXES WORKLOADS ROUNDS\n", argv[0]);
  return 2;
}
