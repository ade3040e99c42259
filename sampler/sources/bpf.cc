#include "sources/bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fnmatch.h>
#include <linux/capability.h>
#include <net/if.h>

#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>

#include "hostflow/common/capabilities.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/shm/layout.h"
#include "tc_counters.h"
#include "tc_counters.skel.h"

namespace hostflow::sampler {

void add_flags(CLI::App& app, BpfOptions& opts) {
  app.add_option("--bpf.interfaces", opts.interfaces,
                 "interfaces the TC program attaches to: comma-separated shell patterns, "
                 "!pattern excludes (e.g. 'eth*,veth*,!lo')")
      ->capture_default_str();
  app.add_option("--bpf.array-ifindexes", opts.array_ifindexes,
                 "ifindexes below this are counted in the per-CPU array (fast path); higher ones "
                 "in a per-CPU hash")
      ->capture_default_str();
}

// ---- --bpf.interfaces
// ----------------------------------------------------------------------------

Result<InterfaceSelector> InterfaceSelector::parse(std::string_view spec) {
  InterfaceSelector s;
  std::size_t at = 0;
  while (at <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', at), spec.size());
    std::string_view p = spec.substr(at, comma - at);
    while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    const bool exclude = !p.empty() && p.front() == '!';
    if (exclude) p.remove_prefix(1);
    if (p.empty()) {
      if (exclude || comma < spec.size() || !s.include_.empty() || !s.exclude_.empty())
        return Error{0, "--bpf.interfaces: empty pattern in \"" + std::string(spec) + "\""};
    } else if (p.size() > 64) {
      return Error{0, "--bpf.interfaces: pattern longer than 64 characters"};
    } else {
      (exclude ? s.exclude_ : s.include_).emplace_back(p);
    }
    at = comma + 1;
  }
  return s;
}

bool InterfaceSelector::selected(std::string_view name) const {
  const std::string n(name);
  auto any = [&](const std::vector<std::string>& pats) {
    for (const auto& p : pats) {
      if (::fnmatch(p.c_str(), n.c_str(), 0) == 0) return true;
    }
    return false;
  };
  return (include_.empty() || any(include_)) && !any(exclude_);
}

namespace {
std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

// ---- the source
// -----------------------------------------------------------------------------------

namespace {

// Attaching costs 10-20 ms per interface (both hooks): a host with thousands of new interfaces
// is attached over several cycles rather than stalling one.
constexpr std::uint64_t kAttachBudgetNs = 1'000'000'000;
constexpr std::size_t kMaxInterfaces = 65536;

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  // bpf_tc_hook_create() on an interface that already has clsact (ours for the other
  // direction, or another program's): expected, and reported as EEXIST.
  if (level == LIBBPF_WARN && line.find("Exclusivity flag on") == std::string::npos)
    log::warn("libbpf", {{"msg", line}});
  else
    log::debug("libbpf", {{"msg", line}});
  return 0;
}

struct Attached {
  std::string name;
  shm::BpfAttachState state = shm::BpfAttachState::kPending;
  int attach_errno = 0;
  std::uint64_t attached_real_ns = 0;
  hf_tc_value base[2] = {};  // what the maps held for this ifindex before we attached
  hf_tc_value now[2] = {};   // this cycle's sums
};

class BpfSource final : public Source {
 public:
  explicit BpfSource(BpfOptions o) : opts_(std::move(o)) {}
  ~BpfSource() override {
    // Detach what we attached (the filters would otherwise outlive us with the program).
    for (const auto& [ifindex, a] : ifaces_) {
      if (a.state == shm::BpfAttachState::kAttached) tc_.detach(ifindex);
    }
    if (skel_) tc_counters__destroy(skel_);
  }

  std::string_view name() const override { return "bpf"; }

  Result<void> open(const SamplerPaths&) override {
    auto sel = InterfaceSelector::parse(opts_.interfaces);
    if (!sel.ok()) return sel.error();
    selector_ = std::move(sel.value());
    if (opts_.array_ifindexes < 2 || opts_.array_ifindexes > (1u << 20))
      return Error{0, "--bpf.array-ifindexes: want 2 to 1048576"};
    // The capabilities it keeps after the drop; CAP_SYS_ADMIN alone would also let the load
    // succeed, but could not be kept.
    const std::uint64_t permitted = caps::current().permitted;
    if (!((permitted >> CAP_BPF) & 1u) || !((permitted >> CAP_NET_ADMIN) & 1u))
      return Error{ENOENT, "bpf: CAP_BPF and CAP_NET_ADMIN are not both permitted: source absent"};
    libbpf_set_print(libbpf_log);
    ncpu_ = libbpf_num_possible_cpus();
    if (ncpu_ <= 0) return Error{-ncpu_, "bpf: number of possible CPUs"};
    skel_ = tc_counters__open();
    if (!skel_) return absent_or(errno, "bpf: open the TC program");
    skel_->rodata->array_ifindexes = opts_.array_ifindexes;
    bpf_map__set_max_entries(skel_->maps.hf_tc_array, 2 * opts_.array_ifindexes);
    if (const int e = tc_counters__load(skel_); e != 0)
      return absent_or(-e, "bpf: load the TC program (needs CAP_BPF and CAP_NET_ADMIN)");
    // Key and value sizes as the shared header says (a mismatched build fails here, not later).
    if (bpf_map__key_size(skel_->maps.hf_tc_hash) != sizeof(hf_tc_key) ||
        bpf_map__value_size(skel_->maps.hf_tc_array) != sizeof(hf_tc_value))
      return Error{EINVAL, "bpf: map layout differs from tc_counters.h"};
    array_fd_ = bpf_map__fd(skel_->maps.hf_tc_array);
    hash_fd_ = bpf_map__fd(skel_->maps.hf_tc_hash);
    prog_fd_[0] = bpf_program__fd(skel_->progs.hf_tc_ingress);
    prog_fd_[1] = bpf_program__fd(skel_->progs.hf_tc_egress);
    for (int d = 0; d < 2; d++) {
      bpf_prog_info info{};
      __u32 len = sizeof info;
      if (bpf_obj_get_info_by_fd(prog_fd_[d], &info, &len) == 0) prog_id_[d] = info.id;
    }
    values_.resize(static_cast<std::size_t>(ncpu_));
    if (auto r = tc_.open(); !r.ok()) return r.error();
    // Filters an earlier hostflow run left (it was killed before it could detach): ours only.
    auto links = list_interfaces();
    if (!links.ok()) return links.error();
    for (const auto& [ifindex, name] : *links) stale_removed_ += tc_.remove_stale(ifindex);
    if (stale_removed_) {
      log::info("bpf: removed filters left by an earlier run",
                {{"filters", std::to_string(stale_removed_)}});
    }
    log::info("bpf: TC program loaded",
              {{"ingress_prog_id", std::to_string(prog_id_[0])},
               {"egress_prog_id", std::to_string(prog_id_[1])},
               {"array_ifindexes", std::to_string(opts_.array_ifindexes)}});
    // First attach happens in the first collect(), still before the drop.
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    auto links = list_interfaces();
    if (!links.ok()) return links.error();
    // Forget interfaces that are gone (their filters went with them).
    for (auto it = ifaces_.begin(); it != ifaces_.end();) {
      auto l = links->find(it->first);
      if (l == links->end() || !selector_.selected(l->second)) {
        if (l != links->end() && it->second.state == shm::BpfAttachState::kAttached)
          tc_.detach(it->first);  // renamed out of the selection
        forget_counters(it->first);
        it = ifaces_.erase(it);
      } else {
        it->second.name = l->second;
        ++it;
      }
    }
    // Attach to new (and previously failed) selected interfaces, within the budget.
    const std::uint64_t t0 = mono_ns();
    for (const auto& [ifindex, name] : *links) {
      if (!selector_.selected(name)) continue;
      Attached& a = ifaces_[ifindex];
      a.name = name;
      if (a.state == shm::BpfAttachState::kAttached) continue;
      if (mono_ns() - t0 > kAttachBudgetNs) {
        if (a.state != shm::BpfAttachState::kFailed) a.state = shm::BpfAttachState::kPending;
        continue;
      }
      attach(ifindex, a);
    }
    // Read both maps.
    const std::uint64_t r0 = mono_ns(), c0 = thread_cpu_ns();
    for (auto& [ifindex, a] : ifaces_) a.now[0] = a.now[1] = hf_tc_value{};
    if (auto r = read_array(); !r.ok()) return r.error();
    if (auto r = read_hash(); !r.ok()) return r.error();
    summary_.read_ns = mono_ns() - r0;
    summary_.read_cpu_ns = thread_cpu_ns() - c0;
    summary_.collections++;
    summary_.last_collection_real_ns = real_ns();

    out.touch<shm::BpfCounterRecord>();
    std::uint32_t attached = 0;
    for (const auto& [ifindex, a] : ifaces_) {
      shm::BpfCounterRecord r{};
      r.ifindex = ifindex;
      r.state = static_cast<std::uint8_t>(a.state);
      r.attach_errno = a.attach_errno;
      r.name = out.add_string(a.name, IFNAMSIZ);
      r.attached_real_ns = a.attached_real_ns;
      if (a.state == shm::BpfAttachState::kAttached) {
        attached++;
        r.ingress_packets = a.now[0].packets - a.base[0].packets;
        r.ingress_bytes = a.now[0].bytes - a.base[0].bytes;
        r.egress_packets = a.now[1].packets - a.base[1].packets;
        r.egress_bytes = a.now[1].bytes - a.base[1].bytes;
      }
      out.add(r);
    }
    summary_.ingress_prog_id = prog_id_[0];
    summary_.egress_prog_id = prog_id_[1];
    summary_.array_ifindexes = opts_.array_ifindexes;
    summary_.hash_max_entries = HF_TC_HASH_MAX_ENTRIES;
    summary_.attached = attached;
    summary_.stale_filters_removed = stale_removed_;
    out.add(summary_);
    return ifaces_.size();
  }

 private:
  // EPERM (no CAP_BPF), ENOSYS/EOPNOTSUPP (no BPF in this kernel) mean absent, not failed.
  static Error absent_or(int code, const std::string& what) {
    if (code == EPERM || code == EACCES || code == ENOSYS || code == EOPNOTSUPP) {
      return Error{ENOENT, what + " failed (" + std::strerror(code) + "): source absent"};
    }
    return Error{code, what};
  }

  // ifindex -> name of every interface in the sampler's netns (glibc: one RTM_GETLINK dump).
  Result<std::map<std::int32_t, std::string>> list_interfaces() {
    struct if_nameindex* all = ::if_nameindex();
    if (!all) return Error::from_errno("bpf: list interfaces");
    std::map<std::int32_t, std::string> m;
    for (struct if_nameindex* i = all; i->if_index != 0 && m.size() < kMaxInterfaces; i++) {
      m.emplace(static_cast<std::int32_t>(i->if_index), i->if_name ? i->if_name : "");
    }
    ::if_freenameindex(all);
    return m;
  }

  void attach(std::int32_t ifindex, Attached& a) {
    // What the maps hold for this ifindex before our filters exist (an earlier interface with
    // the same ifindex in this run): subtracted, so counts start at zero.
    read_one(ifindex, a.base);
    if (const int err = tc_.attach(ifindex, prog_fd_); err != 0) {
      if (a.state != shm::BpfAttachState::kFailed || a.attach_errno != err) {
        log::warn("bpf: attach failed", {{"interface", a.name},
                                         {"ifindex", std::to_string(ifindex)},
                                         {"err", std::strerror(err)}});
      }
      a.state = shm::BpfAttachState::kFailed;
      a.attach_errno = err;
      summary_.attach_failures_total++;
      return;
    }
    a.state = shm::BpfAttachState::kAttached;
    a.attach_errno = 0;
    a.attached_real_ns = real_ns();
    summary_.attaches_total++;
    log::debug("bpf: attached", {{"interface", a.name}, {"ifindex", std::to_string(ifindex)}});
  }

  bool in_array(std::int32_t ifindex) const {
    return ifindex >= 0 && static_cast<std::uint32_t>(ifindex) < opts_.array_ifindexes;
  }

  // Sums the per-CPU values of one (ifindex, direction) into out[direction].
  void read_one(std::int32_t ifindex, hf_tc_value out[2]) {
    for (int d = 0; d < 2; d++) {
      out[d] = hf_tc_value{};
      int rc;
      if (in_array(ifindex)) {
        const __u32 slot = static_cast<__u32>(ifindex) * 2 + static_cast<__u32>(d);
        rc = bpf_map_lookup_elem(array_fd_, &slot, values_.data());
      } else {
        const hf_tc_key k{static_cast<__u32>(ifindex), static_cast<__u32>(d)};
        rc = bpf_map_lookup_elem(hash_fd_, &k, values_.data());
      }
      if (rc == 0) out[d] = sum(values_.data());
    }
  }

  hf_tc_value sum(const hf_tc_value* per_cpu) const {
    hf_tc_value s{};
    for (int c = 0; c < ncpu_; c++) {
      s.packets += per_cpu[c].packets;
      s.bytes += per_cpu[c].bytes;
    }
    return s;
  }

  // Array slots [2 * lowest, 2 * highest + 1] of the interfaces we follow, plus the uncounted
  // slot, in batches.
  Result<void> read_array() {
    std::uint32_t hi = 0;
    for (const auto& [ifindex, a] : ifaces_) {
      if (a.state == shm::BpfAttachState::kAttached && in_array(ifindex))
        hi = std::max<std::uint32_t>(hi, static_cast<std::uint32_t>(ifindex) * 2 + 1);
    }
    const std::uint32_t entries = hi + 1;  // slots 0..hi (slot 0 = uncounted)
    constexpr std::uint32_t kBatch = 1024;
    batch_keys_.resize(kBatch);
    batch_values_.resize(static_cast<std::size_t>(kBatch) * ncpu_);
    bool first = true;
    __u32 in_key = 0, out_key = 0;
    std::uint32_t done = 0;
    while (done < entries) {
      __u32 count = std::min(kBatch, entries - done);
      LIBBPF_OPTS(bpf_map_batch_opts, bo);
      const int rc = bpf_map_lookup_batch(array_fd_, first ? nullptr : &in_key, &out_key,
                                          batch_keys_.data(), batch_values_.data(), &count, &bo);
      if (rc != 0 && errno != ENOENT) return Error::from_errno("bpf: array batch lookup");
      for (__u32 i = 0; i < count; i++) {
        const std::uint32_t slot = batch_keys_[i];
        const hf_tc_value v = sum(&batch_values_[static_cast<std::size_t>(i) * ncpu_]);
        if (slot == HF_TC_SLOT_UNCOUNTED) summary_.uncounted_packets = v.packets;
        auto it = ifaces_.find(static_cast<std::int32_t>(slot / 2));
        if (it != ifaces_.end()) it->second.now[slot % 2] = v;
      }
      done += count;
      in_key = out_key;
      first = false;
      if (rc != 0 || count == 0) break;  // ENOENT: the end of the map
    }
    return {};
  }

  Result<void> read_hash() {
    std::vector<hf_tc_key>& keys = hash_keys_;
    constexpr std::uint32_t kBatch = 1024;
    keys.resize(kBatch);
    batch_values_.resize(static_cast<std::size_t>(kBatch) * ncpu_);
    std::uint64_t in_batch = 0, out_batch = 0;
    bool first = true;
    std::uint32_t entries = 0;
    for (;;) {
      __u32 count = kBatch;
      LIBBPF_OPTS(bpf_map_batch_opts, bo);
      const int rc = bpf_map_lookup_batch(hash_fd_, first ? nullptr : &in_batch, &out_batch,
                                          keys.data(), batch_values_.data(), &count, &bo);
      if (rc != 0 && errno != ENOENT) return Error::from_errno("bpf: hash batch lookup");
      for (__u32 i = 0; i < count; i++) {
        entries++;
        auto it = ifaces_.find(static_cast<std::int32_t>(keys[i].ifindex));
        if (it != ifaces_.end() && keys[i].direction < 2)
          it->second.now[keys[i].direction] =
              sum(&batch_values_[static_cast<std::size_t>(i) * ncpu_]);
      }
      if (rc != 0) break;
      in_batch = out_batch;
      first = false;
    }
    summary_.hash_entries = entries;
    return {};
  }

  // An interface we no longer follow: its hash entries are deleted (the hash is bounded); its
  // array slots are left and become the baseline if the ifindex comes back.
  void forget_counters(std::int32_t ifindex) {
    if (in_array(ifindex)) return;
    for (__u32 d = 0; d < 2; d++) {
      const hf_tc_key k{static_cast<__u32>(ifindex), d};
      bpf_map_delete_elem(hash_fd_, &k);
    }
  }

  BpfOptions opts_;
  InterfaceSelector selector_;
  tc_counters* skel_ = nullptr;
  int ncpu_ = 0;
  int array_fd_ = -1, hash_fd_ = -1;
  int prog_fd_[2] = {-1, -1};
  std::uint32_t prog_id_[2] = {0, 0};
  TcFilters tc_;
  std::uint64_t stale_removed_ = 0;
  std::map<std::int32_t, Attached> ifaces_;
  std::vector<hf_tc_value> values_;
  std::vector<__u32> batch_keys_;
  std::vector<hf_tc_key> hash_keys_;
  std::vector<hf_tc_value> batch_values_;
  shm::BpfAttachRecord summary_{};
};

}  // namespace

std::unique_ptr<Source> make_bpf_source(const BpfOptions& opts) {
  return std::make_unique<BpfSource>(opts);
}

}  // namespace hostflow::sampler
