#include "publish/segment_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include "hostflow/common/unique_fd.h"

namespace bip = boost::interprocess;

namespace hostflow::sampler {

namespace {
// Maps the fd we created rather than reopening the file by path (bip::file_mapping would open it
// again O_RDWR): under the seccomp filter the sampler may create files but never open an existing
// one for writing.
struct FdMappable {
  int fd;
  bip::mapping_handle_t get_mapping_handle() const {
    return bip::ipcdetail::mapping_handle_from_file_handle(fd);
  }
};
}  // namespace

struct SegmentFile::Mapping {
  bip::mapped_region region;
  std::span<std::byte> bytes() {
    return {static_cast<std::byte*>(region.get_address()), region.get_size()};
  }
};

SegmentFile::SegmentFile(SegmentOptions opts) : opts_(std::move(opts)) {}
SegmentFile::~SegmentFile() = default;

Result<std::unique_ptr<SegmentFile>> SegmentFile::create(const SegmentOptions& opts,
                                                         const shm::PublishInfo& first,
                                                         std::span<const std::byte> payload) {
  std::unique_ptr<SegmentFile> f(new SegmentFile(opts));
  if (auto r = f->replace_file(shm::slot_size_for(payload.size()), first, payload); !r.ok())
    return r.error();
  return f;
}

Result<void> SegmentFile::publish(const shm::PublishInfo& info,
                                  std::span<const std::byte> payload) {
  if (shm::publish(map_->bytes(), info, payload)) return {};
  // Outgrown: double until it fits (with room to spare so we do not grow every cycle).
  grows_++;
  return replace_file(shm::slot_size_for(payload.size() + payload.size() / 4), info, payload);
}

Result<void> SegmentFile::replace_file(std::uint64_t slot_size, const shm::PublishInfo& info,
                                       std::span<const std::byte> payload) {
  if (payload.size() + sizeof(shm::SlotHeader) > slot_size) {
    return Error{
        EFBIG, "snapshot of " + std::to_string(payload.size()) + " bytes exceeds the largest slot"};
  }
  const std::string tmp = opts_.path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a crashed run with our pid
  auto fd = UniqueFd::open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, opts_.mode);
  if (!fd.ok()) return fd.error();
  // The umask may have narrowed the mode; the group may not be ours yet.
  if (::fchmod(fd->get(), opts_.mode) != 0) return Error::from_errno("fchmod " + tmp);
  if (opts_.group != static_cast<gid_t>(-1) &&
      ::fchown(fd->get(), static_cast<uid_t>(-1), opts_.group) != 0)
    return Error::from_errno("fchown " + tmp);
  const std::uint64_t size = shm::file_size_for(slot_size);
  // A fresh file nobody maps yet: extending it is safe (never truncate a mapped file).
  if (::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
    const Error e = Error::from_errno("ftruncate " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  auto m = std::make_unique<Mapping>();
  try {
    m->region = bip::mapped_region(FdMappable{fd->get()}, bip::read_write, 0, size);
  } catch (const bip::interprocess_exception& e) {
    ::unlink(tmp.c_str());
    return Error{e.get_native_error(), "map " + tmp + ": " + e.what()};
  }
  shm::format_segment(m->bytes(), slot_size, opts_.meta);
  shm::publish(m->bytes(), info, payload);
  if (::rename(tmp.c_str(), opts_.path.c_str()) != 0) {
    const Error e = Error::from_errno("rename " + tmp + " -> " + opts_.path);
    ::unlink(tmp.c_str());
    return e;
  }
  map_ = std::move(m);  // unmaps the old file; readers keep their own mapping until they remap
  slot_size_ = slot_size;
  return {};
}

}  // namespace hostflow::sampler
