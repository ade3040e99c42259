// --output.textfile: the rendering (no per-scrape tail) written for node_exporter's textfile
// collector, atomically: a new temporary file in the same directory (openat relative to the
// directory opened at start, O_CREAT|O_EXCL|O_NOFOLLOW), write, fchmod to the configured mode,
// fsync, renameat over the file, fsync of the directory. A reader sees the old file or the new
// one, never a part. Writes happen on the output's own thread (latest rendering wins), so a slow
// disk never delays the poll thread. hostflow-exporter: open() before the seccomp filter, the rest
// under it (exporter/privilege/seccomp_policy.cc, textfile group).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "hostflow/common/result.h"
#include "outputs/exposition.h"
#include "outputs/outputs_config.h"

namespace hostflow::exporter {

struct TextfileStats {
  std::uint64_t writes = 0, errors = 0;
  double last_success_seconds = 0;  // Unix time of the last completed write, 0: none yet
  double last_error_seconds = 0;    // Unix time of the last failed write, 0: none yet
  std::string last_error;           // what failed then (errno text), "" before any failure
};

class TextfileOutput {
 public:
  explicit TextfileOutput(const TextfileConfig& cfg);
  ~TextfileOutput();
  TextfileOutput(const TextfileOutput&) = delete;
  TextfileOutput& operator=(const TextfileOutput&) = delete;

  // Opens the file's directory (O_RDONLY|O_DIRECTORY): before the filter.
  Result<void> open();
  int dir_fd() const { return dir_fd_; }
  void start();
  void stop();
  // A new rendering (poll thread): written by the output's thread; a newer one replaces a
  // rendering not yet written.
  void submit(std::shared_ptr<const Exposition> e);
  // The atomic replacement itself (the thread calls it; tests too).
  Result<void> write_now(std::string_view text);
  TextfileStats stats() const;

 private:
  void run();

  TextfileConfig cfg_;
  std::string name_, tmp_name_;
  int dir_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const Exposition> pending_;
  bool stopping_ = false;
  bool failing_ = false;  // the last write failed (log once per failure streak)
  std::atomic<std::uint64_t> writes_{0}, errors_{0};
  std::atomic<double> last_success_{0};
  double last_error_time_ = 0;  // guarded by mu_, as last_error_
  std::string last_error_;
};

}  // namespace hostflow::exporter
