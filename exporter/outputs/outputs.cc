#include "outputs/outputs.h"

#include "outputs/textfile.h"

namespace hostflow::exporter {

Outputs::Outputs(const OutputsConfig& cfg) {
  if (!cfg.textfile.path.empty()) textfile_ = std::make_unique<TextfileOutput>(cfg.textfile);
}

Outputs::~Outputs() {
  stop();
}

Result<void> Outputs::open() {
  if (textfile_)
    if (auto r = textfile_->open(); !r.ok()) return r;
  return {};
}

void Outputs::policy_needs(ExporterPolicyOptions& o) const {
  if (textfile_) o.textfile_dir_fd = textfile_->dir_fd();
}

void Outputs::start() {
  if (textfile_) textfile_->start();
}

void Outputs::stop() {
  if (textfile_) textfile_->stop();
}

void Outputs::publish(const std::shared_ptr<const Exposition>& text,
                      std::shared_ptr<const metrics::FamilySet> families) {
  (void)families;
  if (textfile_) textfile_->submit(text);
}

OutputCounters Outputs::counters() const {
  OutputCounters c;
  if (textfile_) {
    const TextfileStats s = textfile_->stats();
    c.textfile = true;
    c.textfile_writes = s.writes;
    c.textfile_errors = s.errors;
    c.textfile_last_success = s.last_success_seconds;
  }
  return c;
}

}  // namespace hostflow::exporter
