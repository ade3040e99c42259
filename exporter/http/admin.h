// Admin endpoints, only registered with --web.enable-admin-api (otherwise /reset is 404).
// hostflow-exporter, HTTP server thread: handlers only set flags the poll thread acts on, or
// (POST /collect) write one byte into the sampler's wake channel; WakeWriter::open() runs at
// start-up, before the seccomp filter.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "hostflow/common/result.h"
#include "hostflow/common/unique_fd.h"
#include "http/server.h"

namespace hostflow::exporter {

// POST /reset: calls `reset` (the SNI counters and the VM traffic windows) and logs the client's
// address. Other methods: 405. A request with an Origin header (a browser page posting
// cross-site) is refused with 403: the endpoint is for operators' tools, not web pages.
HttpResponse admin_reset(const HttpRequest& req, const std::function<void()>& reset);

// GET /debug/log-level: "current log level: <name>". POST /debug/log-level?level=<name> (or the
// form body level=<name>): sets it at runtime (OIE's endpoint), logged with the client address
// and both levels; an unknown level is a 400 that changes nothing; a request from a web page
// (Origin) is refused like /reset.
HttpResponse admin_log_level(const HttpRequest& req);

// The exporter's end of the sampler's wake channel (<segment>.wake, a FIFO the sampler creates
// 0620 root:hostflow and alone reads; sampler/wake.h). The exporter can only put a byte in it:
// it opens the channel write-only, non-blocking, never creating it, never through a symlink,
// relative to the segment's directory, which it opens (O_PATH) before the seccomp filter -- the
// filter allows exactly that open, relative to exactly that fd (privilege/seccomp_policy.cc).
// Opened per request, so a restarted sampler's new channel is simply the next one opened.
class WakeWriter {
 public:
  static Result<WakeWriter> open(const std::string& segment);
  int dir_fd() const { return dir_.get(); }
  enum class Sent {
    kWoken,    // one byte written
    kFull,     // the pipe is full of earlier requests: the sampler has a wake-up waiting anyway
    kAbsent,   // no channel (no sampler yet, or it runs with --no-wake), or no reader (stopped)
    kRefused,  // anything else: permissions, not a FIFO
  };
  // One wake-up byte; `why` says what went wrong otherwise.
  Sent wake(std::string* why) const;

 private:
  WakeWriter(UniqueFd dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  UniqueFd dir_;
  std::string name_;
};

// What POST /collect needs to know of the served rendering.
struct RenderedSnapshot {
  bool has_snapshot = false;
  std::uint64_t generation = 0, publish_mono_ns = 0, publish_real_ns = 0;
};

// POST /collect: wakes the sampler and answers, as JSON, 200 once a snapshot published after
// the request has been rendered (its generation and time), or 202 when none was within
// `timeout` (--web.collect-timeout). The wait is a pending response (http/server.h): the
// server thread is never blocked. 503 when the sampler has no wake channel or is not running;
// other methods 405; a request from a web page (Origin) 403, like /reset. Each request is
// logged with the client's address. `current` reads the rendering being served.
HttpResponse admin_collect(const HttpRequest& req, const WakeWriter* wake,
                           std::function<RenderedSnapshot()> current,
                           std::chrono::milliseconds timeout);

}  // namespace hostflow::exporter
