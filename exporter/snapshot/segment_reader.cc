#include "snapshot/segment_reader.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <mutex>

namespace bip = boost::interprocess;

namespace hostflow::exporter {

const char* read_status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::kNew:
      return "new";
    case ReadStatus::kUnchanged:
      return "unchanged";
    case ReadStatus::kMissing:
      return "missing";
    case ReadStatus::kNotPublished:
      return "not_published";
    case ReadStatus::kBusy:
      return "busy";
    case ReadStatus::kInvalid:
      return "invalid";
  }
  return "invalid";
}

namespace {

// The sampler never shrinks a mapped segment (it renames a new file over it), but root can
// truncate the file at any time, and a read of a mapped page past the new end of the file raises
// SIGBUS. The checks below (fstat before every read) catch a shrink between two polls; this
// guard catches one that races with the copy itself: while a thread copies from the mapping its
// jump buffer is armed, and the handler returns the copy as failed instead of letting the signal
// kill the process. A SIGBUS anywhere else is not ours: the handler restores the default action
// and returns, the faulting access repeats and the process dies as it would have.
thread_local sigjmp_buf* t_sigbus_jump = nullptr;

void on_sigbus(int, siginfo_t*, void*) {
  if (sigjmp_buf* j = t_sigbus_jump) siglongjmp(*j, 1);
  ::signal(SIGBUS, SIG_DFL);
}

}  // namespace

void SegmentReader::install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

// Runs `f` (which only reads the mapping); false when it was cut short by SIGBUS. `f` must not
// own anything that needs a destructor past the access that may fault.
template <class F>
static bool guarded_read(F&& f) {
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_sigbus_jump = nullptr;
    return false;
  }
  t_sigbus_jump = &jump;
  f();
  t_sigbus_jump = nullptr;
  return true;
}

bool guarded_copy_for_test(const std::byte* from, std::size_t n, std::byte* to) {
  SegmentReader::install_sigbus_handler();
  return guarded_read([&] { std::memcpy(to, from, n); });
}

struct SegmentReader::Mapping {
  bip::file_mapping file;
  bip::mapped_region region;
  const std::byte* base() const { return static_cast<const std::byte*>(region.get_address()); }
  std::size_t size() const { return region.get_size(); }
};

SegmentReader::SegmentReader(std::string path) : path_(std::move(path)) {
  install_sigbus_handler();
}
SegmentReader::~SegmentReader() = default;

bool SegmentReader::remap_if_replaced(std::string* err) {
  struct stat st {};
  missing_ = false;
  if (::stat(path_.c_str(), &st) != 0) {
    missing_ = errno == ENOENT;
    *err = "stat " + path_ + ": " + std::strerror(errno);
    return false;
  }
  if (map_ && st.st_dev == dev_ && st.st_ino == ino_) {
    // Same file: has it shrunk under the mapping? (Reading past its end would raise SIGBUS.)
    struct stat fst {};
    if (::fstat(map_->file.get_mapping_handle().handle, &fst) != 0) {
      *err = "fstat " + path_ + ": " + std::strerror(errno);
      map_.reset();
      return false;
    }
    if (static_cast<std::uint64_t>(fst.st_size) >= map_->size()) return true;
    *err = path_ + " shrank from " + std::to_string(map_->size()) + " to " +
           std::to_string(fst.st_size) + " bytes while mapped (truncated); unmapped";
    map_.reset();
    shrinks_++;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = path_ + " is not a regular file";
    return false;
  }
  auto m = std::make_unique<Mapping>();
  try {
    m->file = bip::file_mapping(path_.c_str(), bip::read_only);
    // Identify what we actually opened (the path may have been replaced since stat()).
    struct stat fst {};
    if (::fstat(m->file.get_mapping_handle().handle, &fst) != 0) {
      *err = "fstat " + path_ + ": " + std::strerror(errno);
      return false;
    }
    if (fst.st_size < static_cast<off_t>(shm::kHeaderSize)) {
      *err = path_ + " is smaller than a segment header";
      return false;
    }
    m->region =
        bip::mapped_region(m->file, bip::read_only, 0, static_cast<std::size_t>(fst.st_size));
    dev_ = fst.st_dev;
    ino_ = fst.st_ino;
  } catch (const bip::interprocess_exception& e) {
    *err = "map " + path_ + ": " + e.what();
    return false;
  }
  if (map_) remaps_++;
  map_ = std::move(m);
  last_generation_ = 0;
  return true;
}

ReadResult SegmentReader::poll() {
  ReadResult r;
  if (!remap_if_replaced(&r.error)) {
    r.status = missing_ ? ReadStatus::kMissing : ReadStatus::kInvalid;
    return r;
  }
  bool header_ok = false;
  std::uint64_t gen = 0;
  if (!guarded_read([&] {
        header_ok = shm::check_file_header(map_->base(), map_->size(), &header_, &r.error);
        if (header_ok) gen = shm::latest_generation(map_->base(), map_->size());
      })) {
    return truncated_while_reading();
  }
  if (!header_ok) {
    r.status = ReadStatus::kInvalid;
    return r;
  }
  if (gen == 0) {
    r.status = ReadStatus::kNotPublished;
    return r;
  }
  if (gen == last_generation_) {
    r.status = ReadStatus::kUnchanged;
    return r;
  }
  shm::CopiedSlot copy;
  shm::CopyStatus cs = shm::CopyStatus::kBadHeader;
  if (!guarded_read([&] { cs = shm::copy_latest(map_->base(), map_->size(), &copy, &r.error); }))
    return truncated_while_reading();
  switch (cs) {
    case shm::CopyStatus::kOk:
      break;
    case shm::CopyStatus::kNotPublished:
      r.status = ReadStatus::kNotPublished;
      return r;
    case shm::CopyStatus::kBusy:
      r.status = ReadStatus::kBusy;
      return r;
    case shm::CopyStatus::kBadHeader:
      r.status = ReadStatus::kInvalid;
      return r;
  }
  auto snap = shm::Snapshot::parse(std::move(copy), &r.error);
  if (!snap) {
    r.status = ReadStatus::kInvalid;
    last_generation_ = gen;  // do not re-validate the same bad generation every poll
    return r;
  }
  last_generation_ = snap->generation();
  r.status = ReadStatus::kNew;
  r.snapshot = std::move(snap);
  return r;
}

ReadResult SegmentReader::truncated_while_reading() {
  ReadResult r;
  r.status = ReadStatus::kInvalid;
  r.error = path_ + " was truncated while being read (SIGBUS caught); unmapped";
  map_.reset();
  shrinks_++;
  return r;
}

}  // namespace hostflow::exporter
