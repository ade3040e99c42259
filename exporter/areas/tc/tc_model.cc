#include "areas/tc/tc_model.h"

#include <algorithm>
#include <set>

#include "hostflow/common/sanitize.h"

namespace hostflow::exporter {

TcModel build_tc_model(const shm::Snapshot& snap) {
  TcModel m;
  const auto* attach = snap.section(shm::SectionType::kBpfAttach);
  m.present = attach != nullptr;
  if (!m.present) return m;
  if (attach->count >= 1) m.attach = snap.record<shm::BpfAttachRecord>(0);
  if (attach->count > 1) m.invalid_records += attach->count - 1;
  std::set<std::int32_t> seen;
  for (const auto& r : snap.records<shm::BpfCounterRecord>()) {
    const auto state = static_cast<shm::BpfAttachState>(r.state);
    if (r.state < 1 || r.state > 3 || r.ifindex <= 0 || !seen.insert(r.ifindex).second) {
      m.invalid_records++;
      continue;
    }
    TcInterface i;
    i.ifindex = r.ifindex;
    auto name = snap.str(r.name);
    i.name = name ? sanitize_label(*name, 64) : std::string();
    if (i.name.empty()) i.name = "if" + std::to_string(r.ifindex);
    i.attached = state == shm::BpfAttachState::kAttached;
    i.attach_errno = r.attach_errno;
    i.attached_real_ns = r.attached_real_ns;
    if (i.attached) {
      i.packets[0] = r.ingress_packets;
      i.bytes[0] = r.ingress_bytes;
      i.packets[1] = r.egress_packets;
      i.bytes[1] = r.egress_bytes;
    }
    m.interfaces.push_back(std::move(i));
  }
  // Unique label values even when sanitising (or a hostile snapshot) collides names.
  {
    std::vector<NamedObject> objects;
    for (auto& i : m.interfaces)
      objects.push_back({&i.name, static_cast<std::uint32_t>(i.ifindex)});
    make_names_unique(objects);
  }
  std::sort(m.interfaces.begin(), m.interfaces.end(),
            [](const TcInterface& a, const TcInterface& b) { return a.name < b.name; });
  return m;
}

void TcRates::update(TcModel& m, std::uint64_t publish_mono_ns) {
  std::map<std::int32_t, Prev> next;
  const bool have_dt = prev_mono_ns_ != 0 && publish_mono_ns > prev_mono_ns_;
  const double dt = have_dt ? static_cast<double>(publish_mono_ns - prev_mono_ns_) / 1e9 : 0;
  for (TcInterface& i : m.interfaces) {
    if (!i.attached) continue;
    Prev cur;
    cur.attached_real_ns = i.attached_real_ns;
    for (int d = 0; d < 2; d++) {
      cur.packets[d] = i.packets[d];
      cur.bytes[d] = i.bytes[d];
    }
    auto p = prev_.find(i.ifindex);
    // Same attachment and counters that did not go back (a new sampler starts from zero).
    if (have_dt && p != prev_.end() && p->second.attached_real_ns == i.attached_real_ns &&
        i.packets[0] >= p->second.packets[0] && i.packets[1] >= p->second.packets[1] &&
        i.bytes[0] >= p->second.bytes[0] && i.bytes[1] >= p->second.bytes[1]) {
      i.has_rate = true;
      for (int d = 0; d < 2; d++) {
        i.packets_rate[d] = static_cast<double>(i.packets[d] - p->second.packets[d]) / dt;
        i.bytes_rate[d] = static_cast<double>(i.bytes[d] - p->second.bytes[d]) / dt;
        if (i.packets[d] != p->second.packets[d]) i.active = true;
      }
    }
    next.emplace(i.ifindex, cur);
  }
  prev_ = std::move(next);
  prev_mono_ns_ = publish_mono_ns;
}

}  // namespace hostflow::exporter
