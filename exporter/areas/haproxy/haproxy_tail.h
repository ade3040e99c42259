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
// data; the old file is read to its end first (a writer may still append to it until then).
// Truncation (copytruncate, or a writer that truncated) is read from 0 and counted as a
// `truncate` rotation. It is seen by size (shorter than the offset read so far) or by content:
// the file may have been truncated and rewritten past that offset between two polls (or while
// the exporter was stopped), so each poll re-reads (lseek + read) two fingerprints, the first up
// to 1 KiB read at offset 0 and the last up to 64 bytes before the consumed offset (the end of
// the last counted line), and compares them with what was read there. The checkpoint keeps both
// as a length and an FNV-1a hash (optional fields: older checkpoints load, without the check for
// that start), so open_at_start catches a file truncated and regrown while stopped. Left
// undetectable: a rewrite byte-identical at both places. Lines appended and copied away between
// two polls just before a copytruncate are in the copy only (logrotate's own caveat); use rename
// rotation for exactness. NUL bytes at the start of a line are skipped (the hole a writer without
// O_APPEND leaves after a truncation). A missing file is waited for. At start, a saved inode no
// longer at its path is looked for in the same directory (rotated while the exporter was down)
// and finished first.
#pragma once

#include <sys/types.h>
#include "metrics/family.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "areas/haproxy/haproxy_line.h"
#include "areas/haproxy/sni_table.h"
#include "hostflow/common/result.h"
#include "hostflow/common/unique_fd.h"

namespace hostflow::exporter {

struct HaproxyOptions {
  std::vector<std::string> logs;  // empty: the feature is off
  std::string position_file;      // absolute or relative path of the checkpoint
  bool create_dir = false;        // create the checkpoint's directory (0700) when missing
  bool reset = false;             // ignore the checkpoint: start every file at 0, counters at 0
  HaproxyFormat format = HaproxyFormat::kFields;
  HaproxyFields fields;  // kFields only
  // The Traffic Exporter's position file (a decimal byte offset into the one log), imported when
  // there is no checkpoint yet; "" for none.
  std::string import_position;
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
  void append_families(metrics::FamilySet* out) const;

  const SniTable& table() const { return table_; }
  std::uint64_t lines() const { return lines_; }

 private:
  struct File;
  struct Fingerprint {
    std::uint64_t len = 0, hash = 0;  // bytes, FNV-1a 64 of them
  };
  // A file's entry in the checkpoint (all zero: none; start the path at 0).
  struct Saved {
    dev_t dev = 0;
    ino_t ino = 0;
    std::uint64_t offset = 0;
    bool skipping = false;
    std::optional<Fingerprint> head, tail;  // absent in checkpoints written before them
  };
  explicit HaproxyTailer(const HaproxyOptions& opts);
  // Result: true when a checkpoint was loaded, false when there is none yet.
  Result<bool> load_checkpoint();
  Result<void> import_position();
  Result<void> write_checkpoint();
  void open_at_start(File& f, const Saved& saved);
  bool poll_file(File& f);
  bool read_available(File& f, std::size_t budget);
  void consume(File& f, const char* data, std::size_t n);
  void split_lines(File& f, const char* data, std::size_t n);
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
  bool checkpoint_failing_ = false;  // the last checkpoint write failed (logged once per streak)
  std::uint64_t last_checkpoint_ns_ = 0;
  metrics::FamilySet families_;
};

}  // namespace hostflow::exporter
