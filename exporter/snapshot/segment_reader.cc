#include "snapshot/segment_reader.h"

#include <sys/stat.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

namespace bip = boost::interprocess;

namespace hostflow::exporter {

const char* read_status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::kNew: return "new";
    case ReadStatus::kUnchanged: return "unchanged";
    case ReadStatus::kMissing: return "missing";
    case ReadStatus::kNotPublished: return "not_published";
    case ReadStatus::kBusy: return "busy";
    case ReadStatus::kInvalid: return "invalid";
  }
  return "invalid";
}

struct SegmentReader::Mapping {
  bip::file_mapping file;
  bip::mapped_region region;
  const std::byte* base() const { return static_cast<const std::byte*>(region.get_address()); }
  std::size_t size() const { return region.get_size(); }
};

SegmentReader::SegmentReader(std::string path) : path_(std::move(path)) {}
SegmentReader::~SegmentReader() = default;

bool SegmentReader::remap_if_replaced(std::string* err) {
  struct stat st {};
  missing_ = false;
  if (::stat(path_.c_str(), &st) != 0) {
    missing_ = errno == ENOENT;
    *err = "stat " + path_ + ": " + std::strerror(errno);
    return false;
  }
  if (map_ && st.st_dev == dev_ && st.st_ino == ino_) return true;
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
    m->region = bip::mapped_region(m->file, bip::read_only, 0, static_cast<std::size_t>(fst.st_size));
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
  if (!shm::check_file_header(map_->base(), map_->size(), &header_, &r.error)) {
    r.status = ReadStatus::kInvalid;
    return r;
  }
  const std::uint64_t gen = shm::latest_generation(map_->base(), map_->size());
  if (gen == 0) {
    r.status = ReadStatus::kNotPublished;
    return r;
  }
  if (gen == last_generation_) {
    r.status = ReadStatus::kUnchanged;
    return r;
  }
  shm::CopiedSlot copy;
  switch (shm::copy_latest(map_->base(), map_->size(), &copy, &r.error)) {
    case shm::CopyStatus::kOk: break;
    case shm::CopyStatus::kNotPublished: r.status = ReadStatus::kNotPublished; return r;
    case shm::CopyStatus::kBusy: r.status = ReadStatus::kBusy; return r;
    case shm::CopyStatus::kBadHeader: r.status = ReadStatus::kInvalid; return r;
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

}  // namespace hostflow::exporter
