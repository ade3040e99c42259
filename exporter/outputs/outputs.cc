#include "outputs/outputs.h"

#include "hostflow/common/clock.h"
#include "outputs/otlp_push.h"
#include "outputs/textfile.h"

namespace hostflow::exporter {

Outputs::Outputs(const OutputsConfig& cfg) {
  if (!cfg.textfile.path.empty()) textfile_ = std::make_unique<TextfileOutput>(cfg.textfile);
  // Every cumulative Sum starts at the exporter's start (docs/architecture.md, Outputs).
  if (cfg.otlp.enabled) otlp_ = std::make_unique<OtlpOutput>(cfg.otlp, real_ns());
}

Outputs::~Outputs() {
  stop();
}

Result<void> Outputs::open() {
  if (textfile_)
    if (auto r = textfile_->open(); !r.ok()) return r;
  if (otlp_)
    if (auto r = otlp_->open(); !r.ok()) return r;
  return {};
}

void Outputs::policy_needs(ExporterPolicyOptions& o) const {
  if (textfile_) o.textfile_dir_fd = textfile_->dir_fd();
  if (otlp_) o.otlp_push = true;
  if (otlp_ && otlp_->grpc()) o.otlp_grpc = true;
}

void Outputs::start() {
  if (textfile_) textfile_->start();
  if (otlp_) otlp_->start();
}

void Outputs::stop() {
  if (textfile_) textfile_->stop();
  if (otlp_) otlp_->stop();
}

void Outputs::publish(const std::shared_ptr<const Exposition>& text,
                      std::shared_ptr<const metrics::FamilySet> families) {
  if (textfile_) textfile_->submit(text);
  if (otlp_ && families) otlp_->submit(std::move(families), real_ns());
}

OutputCounters Outputs::counters() const {
  OutputCounters c;
  if (textfile_) {
    const TextfileStats s = textfile_->stats();
    c.textfile = true;
    c.textfile_writes = s.writes;
    c.textfile_errors = s.errors;
    c.textfile_last_success = s.last_success_seconds;
    c.textfile_last_error_time = s.last_error_seconds;
    c.textfile_last_error = s.last_error;
  }
  if (otlp_) {
    const OtlpStats s = otlp_->stats();
    c.otlp = true;
    c.otlp_exports = s.exports;
    c.otlp_rejected = s.failed_rejected;
    c.otlp_exhausted = s.failed_exhausted;
    c.otlp_retries = s.retries;
    c.otlp_dropped = s.dropped;
    c.otlp_queued = s.queued;
    c.otlp_bytes = s.bytes;
    c.otlp_last_success = s.last_success_seconds;
    c.otlp_last_encode = s.last_encode_seconds;
    c.otlp_last_error_time = s.last_error_seconds;
    c.otlp_last_error = s.last_error;
  }
  return c;
}

}  // namespace hostflow::exporter
