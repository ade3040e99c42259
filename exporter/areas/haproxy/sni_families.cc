#include "areas/haproxy/sni_families.h"

#include <algorithm>
#include <string>

namespace hostflow::exporter {

using metrics::Family;

namespace {
void scalar(metrics::FamilySet* out, const char* name, const char* help, metrics::Type type,
            double value) {
  out->add(std::move(Family(name, help, type).add(value)));
}
}  // namespace

void sni_families(const SniFamiliesInput& in, metrics::FamilySet* out) {
  struct Counter {
    const char* name;
    const char* help;
    std::uint64_t (*get)(const SniCounters&);
  };
  static const Counter kCounters[] = {
      {"hostflow_haproxy_sni_connections_total", "Connections (HAProxy log lines) per SNI.",
       [](const SniCounters& c) { return c.connections; }},
      {"hostflow_haproxy_sni_zero_byte_connections_total",
       "Connections per SNI that moved no byte either way (%U + %B = 0).",
       [](const SniCounters& c) { return c.zero_byte_connections; }},
      {"hostflow_haproxy_sni_in_bytes_total", "Bytes from clients per SNI (%U).",
       [](const SniCounters& c) { return c.bytes_in; }},
      {"hostflow_haproxy_sni_out_bytes_total", "Bytes to clients per SNI (%B).",
       [](const SniCounters& c) { return c.bytes_out; }},
      {"hostflow_haproxy_sni_bytes_total", "Bytes both ways per SNI (%U + %B).",
       [](const SniCounters& c) { return saturating_add(c.bytes_in, c.bytes_out); }},
  };
  const SniTable& t = *in.table;
  // Sorted by name so the exposition is stable between renders.
  std::vector<const std::pair<const std::string, SniTable::Tracked>*> rows;
  rows.reserve(t.tracked().size());
  for (const auto& e : t.tracked()) rows.push_back(&e);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const Counter& c : kCounters) {
    Family f(c.name, c.help, metrics::Type::kCounter);
    for (const auto* r : rows) f.add({{"sni", r->first}}, static_cast<double>(c.get(r->second.c)));
    const std::pair<std::string_view, const SniCounters*> reserved[] = {
        {kSniOther, &t.other}, {kSniNone, &t.none}, {kSniInvalid, &t.invalid}};
    for (const auto& [label, counters] : reserved) {
      if (counters->connections > 0)
        f.add({{"sni", std::string(label)}}, static_cast<double>(c.get(*counters)));
    }
    out->add(std::move(f));
  }
  scalar(out, "hostflow_haproxy_sni_folded_connections_total",
         "Connections counted in sni=\"<other>\" because their SNI was not tracked when they were "
         "read.",
         metrics::Type::kCounter, static_cast<double>(t.folded_connections));
  scalar(out, "hostflow_haproxy_sni_evictions_total",
         "Tracked SNIs replaced by busier ones; their counters moved to sni=\"<other>\".",
         metrics::Type::kCounter, static_cast<double>(t.evictions));
  scalar(out, "hostflow_haproxy_sni_tracked", "SNIs with their own series now.",
         metrics::Type::kGauge, static_cast<double>(t.tracked().size()));
  scalar(out, "hostflow_haproxy_sni_limit", "--haproxy.sni-limit.", metrics::Type::kGauge,
         static_cast<double>(t.limit()));
  scalar(out, "hostflow_haproxy_lines_total", "Log lines counted (parsed).",
         metrics::Type::kCounter, static_cast<double>(in.lines));
  Family unparsed("hostflow_haproxy_lines_unparsed_total",
                  "Log lines not counted, by reason (docs/haproxy.md).", metrics::Type::kCounter);
  for (const auto& [reason, n] : in.unparsed)
    unparsed.add({{"reason", std::string(reason)}}, static_cast<double>(n));
  out->add(std::move(unparsed));
  out->add(std::move(Family("hostflow_haproxy_rotations_total", "Log rotations seen, by kind.",
                            metrics::Type::kCounter)
                         .add({{"kind", "rename"}}, static_cast<double>(in.rotations_rename))
                         .add({{"kind", "truncate"}}, static_cast<double>(in.rotations_truncate))));
  scalar(out, "hostflow_haproxy_checkpoint_errors_total",
         "Failed writes of the position file (counts since the last good one may be counted again "
         "after a restart).",
         metrics::Type::kCounter, static_cast<double>(in.checkpoint_errors));
}

}  // namespace hostflow::exporter
