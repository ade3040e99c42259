#include "render/families.h"

#include "hostflow/common/version.h"
#include "render/exposition.h"
#include "snapshot/segment_reader.h"

namespace hostflow::exporter {

using prometheus::MetricType;
using Labels = std::vector<prometheus::ClientMetric::Label>;

namespace {

// The stable identity of an interface series: its name and owner (see model/owners.h).
Labels interface_labels(const Interface& i) {
  return {{"interface", i.name}, {"owner_type", i.owner_type}, {"owner", i.owner}, {"app", i.app}};
}

void interface_families(const Model& m, std::vector<prometheus::MetricFamily>* out) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t shm::LinkStats::*field;
  };
  static const Counter kCounters[] = {
      {"hostflow_interface_receive_bytes_total", "Bytes received by the interface (host view).",
       &shm::LinkStats::rx_bytes},
      {"hostflow_interface_transmit_bytes_total", "Bytes sent by the interface (host view).",
       &shm::LinkStats::tx_bytes},
      {"hostflow_interface_receive_packets_total", "Packets received (host view).",
       &shm::LinkStats::rx_packets},
      {"hostflow_interface_transmit_packets_total", "Packets sent (host view).",
       &shm::LinkStats::tx_packets},
      {"hostflow_interface_receive_errors_total", "Receive errors (host view).",
       &shm::LinkStats::rx_errors},
      {"hostflow_interface_transmit_errors_total", "Transmit errors (host view).",
       &shm::LinkStats::tx_errors},
      {"hostflow_interface_receive_dropped_total", "Received packets dropped (host view).",
       &shm::LinkStats::rx_dropped},
      {"hostflow_interface_transmit_dropped_total", "Packets dropped on transmit (host view).",
       &shm::LinkStats::tx_dropped},
      {"hostflow_interface_receive_multicast_packets_total", "Multicast packets received.",
       &shm::LinkStats::multicast},
      {"hostflow_interface_transmit_collisions_total", "Collisions on transmit.",
       &shm::LinkStats::collisions},
  };
  Family info("hostflow_interface_info",
              "Interface attributes; volatile ones (state, bridge, MAC) live here, not on counters.",
              MetricType::Gauge);
  Family mtu("hostflow_interface_mtu_bytes", "Interface MTU.", MetricType::Gauge);
  Family admin("hostflow_interface_admin_up", "1 when the interface is administratively up (IFF_UP).",
               MetricType::Gauge);
  for (const Interface& i : m.interfaces) {
    Labels l = interface_labels(i);
    mtu.add(l, i.mtu);
    admin.add(l, i.admin_up ? 1 : 0);
    l.insert(l.end(), {{"ifindex", std::to_string(i.ifindex)},
                       {"kind", i.kind},
                       {"operstate", i.operstate},
                       {"bridge", i.master},
                       {"mac", i.mac}});
    info.add(std::move(l), 1);
  }
  out->push_back(info.take());
  out->push_back(mtu.take());
  out->push_back(admin.take());
  for (const Counter& c : kCounters) {
    Family f(c.name, c.help, MetricType::Counter);
    for (const Interface& i : m.interfaces) {
      if (i.has_stats) f.add(interface_labels(i), static_cast<double>(i.stats.*c.field));
    }
    out->push_back(f.take());
  }
}

void source_families(const Model& m, std::vector<prometheus::MetricFamily>* out) {
  Family up("hostflow_source_up", "1 when the source's last run succeeded.", MetricType::Gauge);
  Family state("hostflow_source_state",
               "The source's state: ok, absent (not on this host), failed or disabled.",
               MetricType::Gauge);
  Family dur("hostflow_source_duration_seconds", "Wall time of the source's last run.",
             MetricType::Gauge);
  Family errs("hostflow_source_errors_total", "Failed runs of the source since sampler start.",
              MetricType::Counter);
  Family runs("hostflow_source_runs_total", "Runs of the source since sampler start.",
              MetricType::Counter);
  Family last("hostflow_source_last_success_timestamp_seconds",
              "Unix time of the source's last successful run (0 = never).", MetricType::Gauge);
  Family items("hostflow_source_records", "Records the source produced in its last run.",
               MetricType::Gauge);
  for (const SourceStatus& s : m.sources) {
    const Labels l{{"source", s.name}};
    up.add(l, s.state == shm::SourceState::kOk ? 1 : 0);
    for (auto st : {shm::SourceState::kOk, shm::SourceState::kAbsent, shm::SourceState::kFailed,
                    shm::SourceState::kDisabled}) {
      state.add({{"source", s.name}, {"state", std::string(source_state_name(st))}},
                s.state == st ? 1 : 0);
    }
    dur.add(l, static_cast<double>(s.duration_ns) / 1e9);
    errs.add(l, static_cast<double>(s.errors_total));
    runs.add(l, static_cast<double>(s.runs_total));
    last.add(l, static_cast<double>(s.last_success_real_ns) / 1e9);
    items.add(l, static_cast<double>(s.items));
  }
  for (Family* f : {&up, &state, &dur, &errs, &runs, &last, &items}) out->push_back(f->take());
  Family drops("hostflow_snapshot_dropped_records",
               "Records a section could not hold in the latest snapshot (its cap was reached).",
               MetricType::Gauge);
  for (const SectionDrop& d : m.drops) drops.add({{"section", d.section}}, static_cast<double>(d.dropped));
  out->push_back(drops.take());
}

}  // namespace

std::vector<prometheus::MetricFamily> snapshot_families(const RenderInput& in) {
  const Model* m = in.model;
  const bool fresh = in.fresh;
  std::vector<prometheus::MetricFamily> out;
  out.push_back(Family("hostflow_build_info", "hostflow-exporter version.", MetricType::Gauge)
                    .add({{"version", HOSTFLOW_VERSION}, {"revision", HOSTFLOW_REVISION}}, 1)
                    .take());
  out.push_back(Family("hostflow_sampler_up",
                       "1 when the sampler published a snapshot within 3 intervals.",
                       MetricType::Gauge)
                    .add(fresh ? 1 : 0)
                    .take());
  if (m) {
    out.push_back(Family("hostflow_snapshot_timestamp_seconds",
                         "Unix time the sampler published the latest snapshot.", MetricType::Gauge)
                      .add(static_cast<double>(m->publish_real_ns) / 1e9)
                      .take());
    out.push_back(Family("hostflow_snapshot_generation",
                         "Generation of the latest snapshot (grows by one per publish).",
                         MetricType::Gauge)
                      .add(static_cast<double>(m->generation))
                      .take());
    out.push_back(Family("hostflow_sampler_interval_seconds", "The sampler's collection interval.",
                         MetricType::Gauge)
                      .add(static_cast<double>(m->interval_ns) / 1e9)
                      .take());
    out.push_back(Family("hostflow_sampler_start_time_seconds",
                         "Unix time the running sampler started.", MetricType::Gauge)
                      .add(static_cast<double>(m->sampler_start_real_ns) / 1e9)
                      .take());
    out.push_back(Family("hostflow_snapshot_invalid_references",
                         "String references outside the arena in the latest snapshot.",
                         MetricType::Gauge)
                      .add(static_cast<double>(m->invalid_refs + m->duplicate_links))
                      .take());
  }
  if (m && in.tc) tc_up_family(*m, *in.tc, fresh, &out);
  if (m && fresh) {
    source_families(*m, &out);
    if (in.tc && in.tc_options) tc_families(*in.tc, *in.tc_options, &out);
    interface_families(*m, &out);
    if (m->has_vm_sources && in.vms && in.vm_derived && in.vm_options)
      vm_families(*in.vms, *in.vm_derived, *in.vm_options, &out);
    if (in.attribution && in.container_options)
      container_families(*in.attribution, *in.container_options, &out);
    if (in.conntrack) conntrack_families(*in.conntrack, &out);
  }
  return out;
}

std::vector<prometheus::MetricFamily> exporter_families(const ExporterCounters& c) {
  std::vector<prometheus::MetricFamily> out;
  if (c.snapshot_age_seconds >= 0) {
    out.push_back(Family("hostflow_snapshot_age_seconds",
                         "Seconds since the sampler published the snapshot being served.",
                         MetricType::Gauge)
                      .add(c.snapshot_age_seconds)
                      .take());
  }
  out.push_back(Family("hostflow_exporter_scrapes_total", "Scrapes of the metrics endpoint.",
                       MetricType::Counter)
                    .add(static_cast<double>(c.scrapes))
                    .take());
  out.push_back(Family("hostflow_exporter_render_duration_seconds",
                       "Time to render the current exposition (once per snapshot).",
                       MetricType::Gauge)
                    .add(c.render_seconds)
                    .take());
  Family reads("hostflow_exporter_snapshot_reads_total",
               "Polls of the segment by outcome (new, unchanged, missing, not_published, busy, "
               "invalid).",
               MetricType::Counter);
  for (int s = 0; s < 6; s++) {
    reads.add({{"result", read_status_name(static_cast<ReadStatus>(s))}},
              static_cast<double>(c.reads_by_status[s]));
  }
  out.push_back(reads.take());
  out.push_back(Family("hostflow_exporter_segment_remaps_total",
                       "Times the segment file was replaced (sampler restart or growth) and "
                       "remapped.",
                       MetricType::Counter)
                    .add(static_cast<double>(c.remaps))
                    .take());
  out.push_back(Family("hostflow_exporter_segment_truncations_total",
                       "Times the mapped segment file was found shorter than its mapping "
                       "(truncated by someone else; the sampler never shrinks it) and unmapped.",
                       MetricType::Counter)
                    .add(static_cast<double>(c.segment_truncations))
                    .take());
  out.push_back(Family("hostflow_exporter_vm_window_samples",
                       "Traffic-window samples held for all VMs (bounded by VMs x ~720).",
                       MetricType::Gauge)
                    .add(static_cast<double>(c.vm_state_samples))
                    .take());
  Family http("hostflow_exporter_http_errors_total",
              "HTTP connections refused or ended early, by reason.", MetricType::Counter);
  http.add({{"reason", "connection_limit"}}, static_cast<double>(c.http_rejected));
  http.add({{"reason", "timeout"}}, static_cast<double>(c.http_timeouts));
  http.add({{"reason", "bad_request"}}, static_cast<double>(c.http_bad_requests));
  http.add({{"reason", "evicted"}}, static_cast<double>(c.http_evicted));
  out.push_back(http.take());
  return out;
}

}  // namespace hostflow::exporter
