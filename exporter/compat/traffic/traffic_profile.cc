#include "compat/traffic/traffic_profile.h"

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hostflow::exporter {

using metrics::Family;

namespace {

// The three SNI families, in the seed's (byte) order of names, with the native family of each.
struct SniFamily {
  const char* name;
  const char* help;
  const char* native;
};
constexpr SniFamily kSni[] = {
    {"haproxy_sni_connections", "Total connections per SNI",
     "hostflow_haproxy_sni_connections_total"},
    {"haproxy_sni_total_bytes", "Total bytes transferred per SNI",
     "hostflow_haproxy_sni_bytes_total"},
    {"haproxy_sni_zero_bytes", "Zero byte connections per SNI",
     "hostflow_haproxy_sni_zero_byte_connections_total"},
};

// The windows, in the seed's (byte) order of family names; total_bytes comes last.
struct Window {
  const char* name;
  const char* help;
  std::uint64_t seconds;
};
constexpr std::array<Window, 5> kWindows = {{
    {"qemu_network_15min_bytes", "Network bytes in last 15 minutes for QEMU process", 900},
    {"qemu_network_1h_bytes", "Network bytes in last 1 hour for QEMU process", 3600},
    {"qemu_network_1min_bytes", "Network bytes in last 1 minute for QEMU process", 60},
    {"qemu_network_30s_bytes", "Network bytes in last 30 seconds for QEMU process", 30},
    {"qemu_network_5min_bytes", "Network bytes in last 5 minutes for QEMU process", 300},
}};

std::unordered_map<std::string_view, double> by_vm(const Family* f) {
  std::unordered_map<std::string_view, double> m;
  if (!f) return m;
  const Column uuid(f, "vm_uuid");
  for (std::size_t s = 0; s < f->size(); s++) m.emplace(uuid(s), f->value(s));
  return m;
}

class TrafficProfile final : public Profile {
 public:
  void emit(const ProfileInput& in, metrics::FamilySet& out) override {
    emit_sni(in, out);
    emit_qemu(in, out);
  }

  // POST /reset: the totals count from the last totals seen (profile-side baselines; the native
  // counters stay monotonic) and the windows start over, as the seed's forgotten snapshots.
  void reset() override {
    for (auto& [id, s] : state_) {
      s.base_rx = s.last_rx;
      s.base_tx = s.last_tx;
      s.samples.clear();
    }
  }

 private:
  struct Sample {
    std::uint64_t t;
    double rx, tx;
  };
  struct State {
    double base_rx = 0, base_tx = 0;  // native totals at the last reset
    double last_rx = 0, last_tx = 0;  // native totals at the last rendering
    std::deque<Sample> samples;       // profile totals (native - base), oldest first
  };

  static void emit_sni(const ProfileInput& in, metrics::FamilySet& out) {
    for (const SniFamily& sf : kSni) {
      const Family* f = in.native.find(sf.native);
      if (!f || f->empty()) continue;  // the seed writes no family without a series
      const Column sni(f, "sni");
      std::vector<std::pair<std::string_view, double>> rows;
      rows.reserve(f->size());
      for (std::size_t s = 0; s < f->size(); s++) {
        // hostflow's "<none>" is the seed's raw "-" (HAProxy's "no SNI").
        const std::string_view v = sni(s) == "<none>" ? std::string_view("-") : sni(s);
        rows.emplace_back(v, f->value(s));
      }
      std::sort(rows.begin(), rows.end());
      Family g(sf.name, sf.help, metrics::Type::kGauge);
      g.set_label_names({"sni"});
      for (const auto& [v, value] : rows) g.add_values({v}, value);
      out.add(std::move(g));
    }
  }

  void emit_qemu(const ProfileInput& in, metrics::FamilySet& out) {
    if (!in.fresh) return;  // no per-VM series when stale; the history is kept for later
    const Family* ids = in.native.find("hostflow_vm_cmdline_info");
    const auto rx = by_vm(in.native.find("hostflow_vm_network_receive_bytes_total"));
    const auto tx = by_vm(in.native.find("hostflow_vm_network_transmit_bytes_total"));
    // The seed's id of each VM; the first VM of one id wins (hostflow's order: libvirt's VMs,
    // then by pid), where the seed lets its processes overwrite each other at random.
    std::map<std::string, std::pair<double, double>> now;
    if (ids) {
      const Column uuid(ids, "vm_uuid"), run_vm(ids, "run_vm_id"), cid(ids, "guest_cid");
      for (std::size_t s = 0; s < ids->size(); s++) {
        std::string id = !run_vm(s).empty() ? std::string(run_vm(s))
                         : !cid(s).empty()  ? "CID-" + std::string(cid(s))
                                            : std::string();
        const auto r = rx.find(uuid(s)), t = tx.find(uuid(s));
        if (id.empty() || r == rx.end() || t == tx.end()) continue;
        now.emplace(std::move(id), std::make_pair(r->second, t->second));
      }
    }
    const std::uint64_t t = in.now_real_ns;
    std::map<std::string, State> next;  // VMs that are gone are dropped (the seed freezes them)
    struct Row {
      const std::string* id;
      double total_rx, total_tx;
      std::array<double, kWindows.size()> win_rx{}, win_tx{};
    };
    std::vector<Row> rows;
    rows.reserve(now.size());
    for (auto& [id, v] : now) {
      auto it = state_.find(id);
      State s = it == state_.end() ? State{} : std::move(it->second);
      // A native total below the baseline is a new VM under an old id: count from zero.
      if (v.first < s.base_rx || v.second < s.base_tx) s = State{};
      s.last_rx = v.first;
      s.last_tx = v.second;
      const Sample cur{t, v.first - s.base_rx, v.second - s.base_tx};
      const std::size_t n = s.samples.size();
      if (n >= 2 && s.samples[n - 1].t - std::min(s.samples[n - 1].t, s.samples[n - 2].t) <
                        kTrafficSampleSpacingNs)
        s.samples.back() = cur;
      else
        s.samples.push_back(cur);
      while (!s.samples.empty() && t - std::min(t, s.samples.front().t) >= kTrafficKeepNs)
        s.samples.pop_front();
      Row row{nullptr, cur.rx, cur.tx, {}, {}};
      for (std::size_t w = 0; w < kWindows.size(); w++) {
        if (s.samples.size() < 2) continue;  // one snapshot: every window is 0
        // calculateBytesInWindow: the oldest sample not before now - W (the oldest of all when
        // none is); a counter that went down gives 0.
        const std::uint64_t span = kWindows[w].seconds * 1'000'000'000ull;
        const std::uint64_t cutoff = t - std::min(t, span);
        const Sample* start = &s.samples.front();
        for (const Sample& smp : s.samples)
          if (smp.t >= cutoff) {
            start = &smp;
            break;
          }
        const Sample& end = s.samples.back();
        row.win_rx[w] = end.rx >= start->rx ? end.rx - start->rx : 0;
        row.win_tx[w] = end.tx >= start->tx ? end.tx - start->tx : 0;
      }
      auto [pos, inserted] = next.emplace(id, std::move(s));
      row.id = &pos->first;
      rows.push_back(row);
    }
    state_ = std::move(next);
    if (rows.empty()) return;
    // Labels in name order as client_golang writes them; all rx by uuid, then all tx.
    auto family = [&](const char* name, const char* help, auto value) {
      Family f(name, help, metrics::Type::kGauge);
      f.set_label_names({"direction", "uuid"});
      for (const Row& r : rows) f.add_values({"rx", *r.id}, value(r, true));
      for (const Row& r : rows) f.add_values({"tx", *r.id}, value(r, false));
      out.add(std::move(f));
    };
    for (std::size_t w = 0; w < kWindows.size(); w++)
      family(kWindows[w].name, kWindows[w].help,
             [w](const Row& r, bool is_rx) { return is_rx ? r.win_rx[w] : r.win_tx[w]; });
    family("qemu_network_total_bytes", "Total network bytes for QEMU process",
           [](const Row& r, bool is_rx) { return is_rx ? r.total_rx : r.total_tx; });
  }

  std::map<std::string, State> state_;  // by the seed's id
};

}  // namespace

std::unique_ptr<Profile> make_traffic_profile(const ExporterConfig&) {
  return std::make_unique<TrafficProfile>();
}

}  // namespace hostflow::exporter
