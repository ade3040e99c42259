#include "outputs/exposition.h"

#include <zlib.h>

#include <cstring>
#include <stdexcept>

namespace hostflow::exporter {

struct Exposition::Deflate {
  z_stream z{};
  bool ok = false;
  ~Deflate() {
    if (ok) deflateEnd(&z);
  }
};

namespace {
// Runs deflate over `in` with `flush` until it has consumed everything, appending to `out`.
void pump(z_stream* z, std::string_view in, int flush, std::string* out) {
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z->avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  do {
    z->next_out = reinterpret_cast<Bytef*>(buf);
    z->avail_out = sizeof buf;
    const int rc = deflate(z, flush);
    if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out->append(buf, sizeof buf - z->avail_out);
  } while (z->avail_out == 0 || z->avail_in > 0);
}
}  // namespace

Exposition::Exposition(std::string text) : text_(std::move(text)), z_(std::make_unique<Deflate>()) {
  // windowBits 15 + 16 = gzip wrapper; level 1: rendered every cycle, and exposition text
  // compresses ~10x even at the fastest level.
  if (deflateInit2(&z_->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  z_->ok = true;
  gzip_prefix_.reserve(text_.size() / 6 + 64);
  pump(&z_->z, text_, Z_SYNC_FLUSH, &gzip_prefix_);
  // Exposition text compresses 10-20x at level 1: the guess above is often 2-3x the stream, and
  // this buffer lives as long as the rendering.
  if (gzip_prefix_.capacity() - gzip_prefix_.size() > gzip_prefix_.size() / 4)
    gzip_prefix_.shrink_to_fit();
}

Exposition::~Exposition() = default;

std::string Exposition::gzip_finish(std::string_view tail) const {
  z_stream copy{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (deflateCopy(&copy, &z_->z) != Z_OK) throw std::runtime_error("deflateCopy failed");
  }
  std::string out;
  try {
    pump(&copy, tail, Z_FINISH, &out);
  } catch (...) {
    deflateEnd(&copy);
    throw;
  }
  deflateEnd(&copy);
  return out;
}

}  // namespace hostflow::exporter
