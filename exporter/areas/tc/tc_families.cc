#include "areas/tc/tc_families.h"

namespace hostflow::exporter {

using metrics::Family;

void tc_up_family(const Model& m, const TcModel& tc, bool fresh, metrics::FamilySet* out) {
  if (!tc.present) return;
  bool ok = false;
  for (const SourceStatus& s : m.sources) {
    if (s.name == "bpf") ok = s.state == shm::SourceState::kOk;
  }
  out->add(std::move(Family("hostflow_tc_up",
                            "1 when the TC counters are current: the sampler is fresh and its bpf "
                            "source's last run succeeded.",
                            metrics::Type::kGauge)
                         .add(fresh && ok ? 1 : 0)));
}

void tc_families(const TcModel& tc, const TcRenderOptions& o, metrics::FamilySet* out) {
  if (!tc.present) return;
  static const char* kDirection[2] = {"ingress", "egress"};
  Family packets("hostflow_tc_packets_total",
                 "Packets seen by hostflow's TC program on the interface since it attached "
                 "(ingress = received, egress = sent; host view).",
                 metrics::Type::kCounter);
  Family bytes("hostflow_tc_bytes_total",
               "Bytes seen by hostflow's TC program (skb->len: includes the link-layer header).",
               metrics::Type::kCounter);
  Family pps("hostflow_tc_packets_per_second",
             "Packets per second between the two latest snapshots.", metrics::Type::kGauge);
  Family bps("hostflow_tc_bytes_per_second", "Bytes per second between the two latest snapshots.",
             metrics::Type::kGauge);
  Family active("hostflow_tc_interface_active",
                "1 when the interface's TC counters moved between the two latest snapshots.",
                metrics::Type::kGauge);
  Family attached("hostflow_tc_interface_attached",
                  "1 when hostflow's TC program is attached to the selected interface (0: the "
                  "attach failed or is pending).",
                  metrics::Type::kGauge);
  for (const TcInterface& i : tc.interfaces) {
    attached.add({{"interface", i.name}}, i.attached ? 1 : 0);
    if (!i.attached || (o.active_only && !i.active)) continue;
    active.add({{"interface", i.name}}, i.active ? 1 : 0);
    for (int d = 0; d < 2; d++) {
      const metrics::Labels l{{"interface", i.name}, {"direction", kDirection[d]}};
      packets.add(l, static_cast<double>(i.packets[d]));
      bytes.add(l, static_cast<double>(i.bytes[d]));
      if (i.has_rate) {
        pps.add(l, i.packets_rate[d]);
        bps.add(l, i.bytes_rate[d]);
      }
    }
  }
  for (Family* f : {&packets, &bytes, &pps, &bps, &active, &attached}) out->add(std::move(*f));
  const auto& a = tc.attach;
  auto scalar = [&](const char* name, const char* help, metrics::Type type, double v) {
    out->add(std::move(Family(name, help, type).add(v)));
  };
  scalar("hostflow_tc_collections_total",
         "Successful reads of the TC counters since the sampler started.", metrics::Type::kCounter,
         static_cast<double>(a.collections));
  scalar("hostflow_tc_last_collection_timestamp_seconds",
         "Unix time of the last successful read of the TC counters.", metrics::Type::kGauge,
         static_cast<double>(a.last_collection_real_ns) / 1e9);
  scalar("hostflow_tc_read_duration_seconds",
         "Time the sampler took to read the TC counter maps in its last cycle.",
         metrics::Type::kGauge, static_cast<double>(a.read_ns) / 1e9);
  scalar("hostflow_tc_read_cpu_seconds",
         "CPU time of that read (the sampler thread's; wall time minus waiting).",
         metrics::Type::kGauge, static_cast<double>(a.read_cpu_ns) / 1e9);
  scalar("hostflow_tc_uncounted_packets_total",
         "Packets the TC program could not count: the fallback hash for large ifindexes was full.",
         metrics::Type::kCounter, static_cast<double>(a.uncounted_packets));
  out->add(std::move(Family("hostflow_tc_fallback_entries",
                            "Entries in the fallback hash (ifindexes above the array), and its "
                            "capacity.",
                            metrics::Type::kGauge)
                         .add({{"kind", "used"}}, a.hash_entries)
                         .add({{"kind", "capacity"}}, a.hash_max_entries)));
  scalar("hostflow_tc_attach_failures_total",
         "Failed attaches of the TC program to an interface since sampler start.",
         metrics::Type::kCounter, static_cast<double>(a.attach_failures_total));
  scalar("hostflow_tc_stale_filters_removed",
         "Filters of an earlier hostflow run removed when the sampler started.",
         metrics::Type::kGauge, static_cast<double>(a.stale_filters_removed));
}

}  // namespace hostflow::exporter
