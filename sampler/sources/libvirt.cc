#include "sources/libvirt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "hostflow/common/units.h"

namespace hostflow::sampler {

void add_flags(CLI::App& app, LibvirtOptions& opts) {
  app.add_option("--libvirt.uri", opts.uri,
                 "libvirt connection URI (read-only), e.g. qemu:///system or "
                 "qemu+unix:///system?socket=/path/to/libvirt-sock")
      ->capture_default_str();
  app.add_option("--libvirt.timeout", opts.timeout_flag,
                 "longest a cycle waits for libvirt before marking the source failed")
      ->capture_default_str();
  app.add_option("--libvirt.xml-refresh", opts.xml_refresh_flag,
                 "re-fetch a running domain's XML this often (new or restarted domains at once)")
      ->capture_default_str();
  app.add_flag("--libvirt.interface-stats,!--no-libvirt.interface-stats", opts.interface_stats,
               "ask libvirt for each vNIC's counters (hostflow_vm_vnic_*); libvirtd reads "
               "/proc/net/dev once per vNIC for them: turn off on hosts with thousands of "
               "interfaces (per-VM traffic comes from the taps' own counters either way)")
      ->capture_default_str();
}

Result<void> validate(LibvirtOptions& opts) {
  using std::chrono::milliseconds;
  auto budget = duration_flag_ms("--libvirt.timeout", opts.timeout_flag, milliseconds(10));
  if (!budget.ok()) return budget.error();
  auto refresh =
      duration_flag_ms("--libvirt.xml-refresh", opts.xml_refresh_flag, milliseconds(100));
  if (!refresh.ok()) return refresh.error();
  opts.budget = *budget;
  opts.xml_refresh = *refresh;
  return {};
}

namespace {

struct Param {
  std::string key;
  std::uint32_t type = 0;
  std::uint64_t bits = 0;
  std::string str;
};

struct Domain {
  std::string name, uuid;
  int id = -1;
  std::uint32_t flags = 0;
  std::shared_ptr<const std::string> xml;
  std::vector<Param> params;
};

struct Outcome {
  bool ok = false;
  Error error;
  std::vector<Domain> domains;
};

// The last libvirt error as an Error; connection failures to a missing or refusing daemon carry
// ENOENT/ECONNREFUSED so the collector reports "absent".
Error last_error(const std::string& what) {
  const virError* last = virGetLastError();
  std::string msg = last && last->message ? last->message : "unknown libvirt error";
  int code = 0;
  // libvirt words socket errors as "...: <strerror>"; keep the errno, drop the repeated text.
  for (const int e : {ENOENT, ECONNREFUSED, EACCES}) {
    const std::string suffix = std::string(": ") + std::strerror(e);
    if (msg.size() > suffix.size() &&
        msg.compare(msg.size() - suffix.size(), suffix.size(), suffix) == 0) {
      code = e;
      msg.resize(msg.size() - suffix.size());
      break;
    }
  }
  virResetLastError();
  return Error{code, what + ": " + msg};
}

void silent_error_handler(void*, virErrorPtr) {}

// Everything the worker thread touches. Shared with the thread, so a worker stuck in an RPC
// can be left behind (detached) at exit without touching freed memory.
struct Worker {
  explicit Worker(LibvirtOptions o) : opts(std::move(o)) {}
  const LibvirtOptions opts;
  std::mutex mu;
  std::condition_variable cv;
  bool quit = false, requested = false, busy = false;
  Outcome pending;
  // Worker-thread only.
  virConnectPtr conn = nullptr;
  bool nowait = true;
  struct CachedXml {
    int id = -1;
    std::uint64_t fetched_ns = 0;
    bool truncated = false;
    std::shared_ptr<const std::string> xml;
  };
  std::map<std::string, CachedXml> xml_cache;

  static void loop(std::shared_ptr<Worker> w) {
    std::unique_lock<std::mutex> lock(w->mu);
    for (;;) {
      w->cv.wait(lock, [&] { return w->quit || w->requested; });
      if (w->quit) break;
      w->requested = false;
      lock.unlock();
      Outcome o = w->query();
      lock.lock();
      w->pending = std::move(o);
      w->busy = false;
      w->cv.notify_all();
    }
    w->disconnect();
  }

  void disconnect() {
    if (conn) virConnectClose(conn);
    conn = nullptr;
  }

  Outcome query();
  bool ever_ok = false;  // once libvirt answered, losing it is "failed", not "absent"
};

Outcome Worker::query() {
  Outcome o;
  if (conn && virConnectIsAlive(conn) != 1) {
    log::warn("libvirt connection lost; reconnecting", {{"uri", opts.uri}});
    disconnect();
  }
  if (!conn) {
    conn = virConnectOpenReadOnly(opts.uri.c_str());
    if (!conn) {
      o.error = last_error("connect " + opts.uri);
      if (ever_ok) o.error.code = 0;  // it was here: a daemon that went away has failed
      return o;
    }
  }
  virDomainStatsRecordPtr* records = nullptr;
  const unsigned stats =
      VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
      VIR_DOMAIN_STATS_VCPU |
      (opts.interface_stats ? static_cast<unsigned>(VIR_DOMAIN_STATS_INTERFACE) : 0u) |
      VIR_DOMAIN_STATS_BLOCK;
  unsigned flags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE;
  if (nowait) flags |= VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
  int n = virConnectGetAllDomainStats(conn, stats, &records, flags);
  if (n < 0 && nowait) {
    // Drivers that do not know NOWAIT (the test driver, old daemons) reject the flag.
    virResetLastError();
    nowait = false;
    n = virConnectGetAllDomainStats(conn, stats, &records,
                                    VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE);
  }
  if (n < 0) {
    o.error = last_error("virConnectGetAllDomainStats");
    if (virConnectIsAlive(conn) != 1) disconnect();
    return o;
  }
  const std::uint64_t now = mono_ns();
  const std::uint64_t refresh_ns =
      static_cast<std::uint64_t>(opts.xml_refresh.count()) * 1'000'000ull;
  std::map<std::string, CachedXml> seen;
  for (int i = 0; i < n && o.domains.size() < opts.max_domains; i++) {
    virDomainStatsRecordPtr rec = records[i];
    Domain d;
    if (const char* nm = virDomainGetName(rec->dom)) d.name = nm;
    char uuid[VIR_UUID_STRING_BUFLEN] = {};
    if (virDomainGetUUIDString(rec->dom, uuid) == 0) d.uuid = uuid;
    d.id = static_cast<int>(virDomainGetID(rec->dom));
    for (int k = 0; k < rec->nparams && d.params.size() < opts.max_params_per_domain; k++) {
      const virTypedParameter& tp = rec->params[k];
      Param p;
      p.key.assign(tp.field, strnlen(tp.field, VIR_TYPED_PARAM_FIELD_LENGTH));
      p.type = static_cast<std::uint32_t>(tp.type);
      switch (tp.type) {
        case VIR_TYPED_PARAM_INT:
          p.bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(tp.value.i));
          break;
        case VIR_TYPED_PARAM_UINT:
          p.bits = tp.value.ui;
          break;
        case VIR_TYPED_PARAM_LLONG:
          p.bits = static_cast<std::uint64_t>(tp.value.l);
          break;
        case VIR_TYPED_PARAM_ULLONG:
          p.bits = tp.value.ul;
          break;
        case VIR_TYPED_PARAM_DOUBLE:
          std::memcpy(&p.bits, &tp.value.d, sizeof p.bits);
          break;
        case VIR_TYPED_PARAM_BOOLEAN:
          p.bits = tp.value.b ? 1 : 0;
          break;
        case VIR_TYPED_PARAM_STRING:
          if (tp.value.s) p.str = tp.value.s;
          break;
        default:
          continue;
      }
      d.params.push_back(std::move(p));
    }
    // XML: reuse the cached copy unless the domain is new, restarted or the copy is old.
    auto it = xml_cache.find(d.uuid);
    CachedXml c;
    if (it != xml_cache.end() && it->second.id == d.id &&
        now - it->second.fetched_ns < refresh_ns) {
      c = it->second;
    } else {
      c.id = d.id;
      c.fetched_ns = now;
      if (char* xml = virDomainGetXMLDesc(rec->dom, 0)) {
        const std::size_t len = std::strlen(xml);
        if (len <= opts.max_xml_bytes)
          c.xml = std::make_shared<const std::string>(xml, len);
        else
          c.truncated = true;
        free(xml);
      } else {
        virResetLastError();
        if (it != xml_cache.end()) c.xml = it->second.xml;  // keep the last good copy
      }
    }
    d.xml = c.xml;
    if (c.truncated) d.flags |= shm::kDomainXmlTruncated;
    if (!c.xml) d.flags |= shm::kDomainXmlMissing;
    seen.emplace(d.uuid, c);
    o.domains.push_back(std::move(d));
  }
  virDomainStatsRecordListFree(records);
  xml_cache = std::move(seen);  // forget domains that are gone
  o.ok = true;
  ever_ok = true;
  return o;
}

class LibvirtSource final : public Source {
 public:
  explicit LibvirtSource(LibvirtOptions opts) : w_(std::make_shared<Worker>(std::move(opts))) {}

  ~LibvirtSource() override {
    bool busy;
    {
      std::lock_guard<std::mutex> lock(w_->mu);
      w_->quit = true;
      busy = w_->busy;
    }
    w_->cv.notify_all();
    if (thread_.joinable()) {
      // A worker stuck in an RPC cannot be interrupted: leave it; it owns its state.
      if (busy)
        thread_.detach();
      else
        thread_.join();
    }
  }

  std::string_view name() const override { return "libvirt"; }

  Result<void> open(const SamplerPaths&) override {
    if (virInitialize() < 0) return Error{EIO, "virInitialize failed"};
    virSetErrorFunc(nullptr, silent_error_handler);
    thread_ = std::thread(&Worker::loop, w_);
    // Connect now, while privileged; later reconnects use the confined process's rights. A
    // libvirtd that is down or slow now is not fatal: every cycle retries and reports the state.
    if (auto r = run_request(); !r.ok()) {
      log::info("libvirt not reachable at start; will retry every cycle",
                {{"uri", w_->opts.uri}, {"err", r.error().message()}});
    }
    return {};
  }

  Result<std::size_t> collect(shm::SnapshotBuilder& out) override {
    if (auto r = run_request(); !r.ok()) return r.error();
    out.touch<shm::DomainRecord>();
    out.touch<shm::DomainParamRecord>();
    std::size_t n = 0;
    std::uint32_t param_index = 0;
    for (const Domain& d : outcome_.domains) {
      shm::DomainRecord rec{};
      rec.name = out.add_string(d.name, 256);
      rec.uuid = out.add_string(d.uuid, 64);
      rec.id = d.id;
      rec.flags = d.flags;
      if (d.xml) rec.xml = out.add_string(*d.xml, w_->opts.max_xml_bytes);
      rec.param_begin = param_index;
      for (const Param& p : d.params) {
        shm::DomainParamRecord pr{};
        pr.key = out.add_string(p.key, 80);
        pr.type = p.type;
        pr.bits = p.bits;
        if (!p.str.empty()) pr.str = out.add_string(p.str, 1024);
        if (!out.add(pr)) break;
        param_index++;
        rec.param_count++;
      }
      if (out.add(rec)) n++;
    }
    return n;
  }

 private:
  // Hands one request to the worker and waits up to the budget.
  Result<void> run_request() {
    std::unique_lock<std::mutex> lock(w_->mu);
    if (w_->busy)
      return Error{ETIMEDOUT, "libvirt call from an earlier cycle still pending (libvirtd hung?)"};
    w_->busy = true;
    w_->requested = true;
    w_->cv.notify_all();
    if (!w_->cv.wait_for(lock, w_->opts.budget, [this] { return !w_->busy; })) {
      return Error{ETIMEDOUT, "libvirt did not answer within " +
                                  std::to_string(w_->opts.budget.count()) + " ms"};
    }
    outcome_ = std::move(w_->pending);
    if (!outcome_.ok) return outcome_.error;
    return {};
  }

  std::shared_ptr<Worker> w_;
  std::thread thread_;
  Outcome outcome_;
};

}  // namespace

std::unique_ptr<Source> make_libvirt_source(LibvirtOptions opts) {
  return std::make_unique<LibvirtSource>(std::move(opts));
}

}  // namespace hostflow::sampler
