// HaproxyTailer: follows HAProxy log files (--haproxy.log), counts each complete line exactly
// once into an SniTable, and keeps a checkpoint (positions + counters) in the exporter's state
// directory. hostflow-exporter; open() runs before the seccomp filter, everything else on the
// pipeline's poll thread.
//
// Exactly once: the checkpoint holds, written together and atomically (temp file, fsync,
// rename, fsync of the directory), each file's identity (dev, inode) and the offset after its
// last counted line, *and* every counter. The metrics are rebuilt only right after a checkpoint
// was written, so what a scrape has seen is never ahead of what a restart resumes from: after a
// crash or restart the counters continue (no counter reset) and the lines after the saved offset
// are read again, once.
//
// Rotation: a path whose inode changed (rename + new file) is switched to once the new file has
// data; the old file is read to its end first (a writer may still append to it until then). A
// file shorter than the offset read so far was truncated (copytruncate): it is read from 0.
// Lines appended and copied away between two polls just before a copytruncate are in the copy
// only (logrotate's own caveat); use rename rotation for exactness. A missing file is waited for.
// At start, a saved inode no longer at its path is looked for in the same directory (rotated
// while the exporter was down) and finished first.
#pragma once

#include <prometheus/metric_family.h>
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "features/haproxy_line.h"
#include "features/sni_table.h"
#include "hostflow/common/result.h"
#include "hostflow/common/unique_fd.h"

namespace hostflow::exporter {

struct HaproxyOptions {
  std::vector<std::string> logs;  // empty: the feature is off
  std::string position_file;      // absolute or relative path of the checkpoint
  bool create_dir = false;        // create the checkpoint's directory (0700) when missing
  bool reset = false;             // ignore the checkpoint: start every file at 0, counters at 0
  HaproxyFields fields;
  std::size_t sni_limit = 1000;
  std::chrono::milliseconds render_interval{5000};
  std::size_t read_budget = 16u << 20;  // bytes per file per poll (keeps polls short)
};

class HaproxyTailer {
 public:
  static Result<std::unique_ptr<HaproxyTailer>> open(const HaproxyOptions& opts);
  ~HaproxyTailer();

  // The checkpoint directory (the seccomp policy allows creating/renaming files only there).
  int state_dir_fd() const { return dir_.get(); }

  // Reads what is new. When counters changed (or a reset happened) and render_interval has
  // passed since the last checkpoint, writes the checkpoint and rebuilds the metric families;
  // returns true then (the caller re-renders). `force` skips the interval (tests, shutdown).
  bool poll(std::uint64_t now_ns, bool force = false);
  // POST /reset: counters to zero (positions stay); the next poll checkpoints and re-renders.
  void reset_stats();
  // The families built at the last checkpoint (cheap: a copy of a bounded vector).
  void append_families(std::vector<prometheus::MetricFamily>* out) const;

  const SniTable& table() const { return table_; }
  std::uint64_t lines() const { return lines_; }

 private:
  struct File;
  explicit HaproxyTailer(const HaproxyOptions& opts);
  Result<void> load_checkpoint();
  Result<void> write_checkpoint();
  void open_at_start(File& f, dev_t dev, ino_t ino, std::uint64_t offset, bool skipping);
  bool poll_file(File& f);
  bool read_available(File& f, std::size_t budget);
  void consume(File& f, const char* data, std::size_t n);
  void count_line(std::string_view line);
  void build_families();

  HaproxyOptions opts_;
  UniqueFd dir_;
  std::string base_;  // file name of the checkpoint inside dir_
  std::vector<std::unique_ptr<File>> files_;
  SniTable table_;
  std::string name_buf_;
  std::uint64_t lines_ = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(LineError::kCount)> unparsed_{};
  std::uint64_t rotations_rename_ = 0, rotations_truncate_ = 0;
  std::uint64_t checkpoint_errors_ = 0, checkpoints_ = 0;
  bool dirty_ = true;
  std::uint64_t last_checkpoint_ns_ = 0;
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace hostflow::exporter
