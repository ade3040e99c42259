#include "areas/haproxy/haproxy_tail.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "areas/haproxy/sni_families.h"
#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"

namespace hostflow::exporter {

using Json = nlohmann::json;

namespace {

// Fingerprints of a followed file (see File): the first kHeadBytes read from offset 0, and the
// last kTailBytes before the offset consumed so far.
constexpr std::size_t kHeadBytes = 1024;
constexpr std::size_t kTailBytes = 64;

// FNV-1a, 64 bit: the checkpoint keeps a fingerprint's length and this hash, not its bytes.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Reads up to `n` bytes at `off` into `out` with lseek + read (pread64 is not in the exporter's
// seccomp allowlist; both of these are). Moves the file position: the caller puts it back.
// False only on an error; a file that ends early gives fewer bytes.
bool read_at(int fd, std::uint64_t off, std::size_t n, std::string* out) {
  out->assign(n, '\0');
  if (::lseek(fd, static_cast<off_t>(off), SEEK_SET) < 0) return false;
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, out->data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  out->resize(got);
  return true;
}

// Appends `add` to `s`, keeping only its last `max` bytes.
void keep_last(std::string* s, std::string_view add, std::size_t max) {
  if (add.size() >= max) {
    s->assign(add.substr(add.size() - max));
    return;
  }
  const std::size_t keep = std::min(s->size(), max - add.size());
  s->erase(0, s->size() - keep);
  s->append(add);
}

}  // namespace

struct HaproxyTailer::File {
  std::string path;
  UniqueFd fd;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t read_off = 0;  // bytes of fd read so far
  std::string pending;         // an incomplete last line
  bool skipping = false;       // inside a line longer than kMaxLineBytes: drop to its newline
  bool warned_missing = false;
  // What the file held where it was read, to tell a file truncated and rewritten past read_off
  // (copytruncate, then more lines than were read, between two polls) from one that grew:
  // head = file[0, head.size()), the first (up to kHeadBytes) bytes read at offset 0;
  // tail = file[consumed() - tail.size(), consumed()), the last (up to kTailBytes) bytes consumed
  // (the end of the last counted line, its newline included).
  std::string head, tail;
  // Offset after the last line counted (what the checkpoint saves).
  std::uint64_t consumed() const { return read_off - pending.size(); }

  // Start over at offset 0 of the same fd (a truncation) or of a new one.
  void restart() {
    read_off = 0;
    pending.clear();
    skipping = false;
    head.clear();
    tail.clear();
  }
  // False when the bytes at the fingerprints' places differ from what was read there (or are no
  // longer there): the file was replaced in place. A read error tells nothing: true then (reading
  // from 0 on a transient error would count lines twice). Leaves the position at read_off.
  bool content_unchanged() {
    std::string now;
    bool same = true;
    bool known = true;
    if (!head.empty()) {
      if (!read_at(fd.get(), 0, head.size(), &now))
        known = false;
      else
        same = now == head;
    }
    if (same && known && !tail.empty()) {
      if (!read_at(fd.get(), consumed() - tail.size(), tail.size(), &now))
        known = false;
      else
        same = now == tail;
    }
    ::lseek(fd.get(), static_cast<off_t>(read_off), SEEK_SET);
    return !known || same;
  }
};

namespace {

std::pair<std::string, std::string> split_path(const std::string& p) {
  const std::size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

Json counters_json(const SniCounters& c) {
  return Json::array({c.connections, c.zero_byte_connections, c.bytes_in, c.bytes_out});
}

bool counters_from(const Json& j, SniCounters* c) {
  if (!j.is_array() || j.size() != 4) return false;
  for (const auto& v : j)
    if (!v.is_number_unsigned()) return false;
  *c = {j[0].get<std::uint64_t>(), j[1].get<std::uint64_t>(), j[2].get<std::uint64_t>(),
        j[3].get<std::uint64_t>()};
  return true;
}

Result<void> write_all(int fd, const std::string& s, const std::string& what) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write " + what);
    }
    off += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

HaproxyTailer::HaproxyTailer(const HaproxyOptions& opts) : opts_(opts), table_(opts.sni_limit) {}
HaproxyTailer::~HaproxyTailer() = default;

Result<std::unique_ptr<HaproxyTailer>> HaproxyTailer::open(const HaproxyOptions& opts) {
  std::unique_ptr<HaproxyTailer> t(new HaproxyTailer(opts));
  auto [dir, base] = split_path(opts.position_file);
  if (base.empty()) return Error{0, "--haproxy.position-file: want a file name, got " + dir + "/"};
  t->base_ = base;
  auto d = UniqueFd::open(dir, O_RDONLY | O_DIRECTORY);
  if (!d.ok() && d.error().code == ENOENT && opts.create_dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return Error::from_errno("creating the state directory " + dir +
                               " (create it, mode 0700, owned by the exporter's user, or pass "
                               "--state.dir / --haproxy.position-file)");
    d = UniqueFd::open(dir, O_RDONLY | O_DIRECTORY);
  }
  if (!d.ok())
    return Error{d.error().code, "state directory " + dir + " for the HAProxy position file (" +
                                     "it must exist and be writable by the exporter's user)"};
  t->dir_ = std::move(*d);
  if (::faccessat(t->dir_.get(), ".", W_OK, AT_EACCESS) != 0)
    return Error::from_errno("state directory " + dir + " is not writable by the exporter's user");
  for (const std::string& p : opts.logs) {
    auto f = std::make_unique<File>();
    f->path = p;
    t->files_.push_back(std::move(f));
  }
  if (opts.reset) {
    log::info("haproxy: --haproxy.reset: every log from its beginning, counters from zero", {});
    if (!opts.import_position.empty())
      log::info("haproxy: --haproxy.reset: --haproxy.import-position not imported",
                {{"file", opts.import_position}});
  } else if (auto r = t->load_checkpoint(); !r.ok()) {
    return Error{r.error().code, "HAProxy position file " + opts.position_file + ": " +
                                     r.error().message() +
                                     " (fix or remove it, or start once with --haproxy.reset)"};
  } else if (!*r && !opts.import_position.empty()) {
    if (auto i = t->import_position(); !i.ok())
      return Error{i.error().code, "--haproxy.import-position " + opts.import_position + ": " +
                                       i.error().message()};
  } else if (*r && !opts.import_position.empty()) {
    log::info("haproxy: a checkpoint exists; --haproxy.import-position is not imported again",
              {{"file", opts.import_position}});
  }
  for (auto& f : t->files_) {
    if (!f->fd.valid()) t->open_at_start(*f, Saved{});
  }
  return t;
}

Result<bool> HaproxyTailer::load_checkpoint() {
  auto fd = UniqueFd::openat(dir_.get(), base_, O_RDONLY | O_NOFOLLOW);
  if (!fd.ok()) {
    if (fd.error().code == ENOENT) return false;  // first start
    return fd.error();
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno("read");
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > (256u << 20)) return Error{0, "larger than 256 MiB"};
  }
  // Non-const: operator[] on a missing key then yields null (and fails the checks below)
  // instead of being undefined.
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
    return Error{0, "not a version 1 checkpoint"};
  Json& s = j["sni"];
  if (!s.is_object() || !counters_from(s["other"], &table_.other) ||
      !counters_from(s["none"], &table_.none) || !counters_from(s["invalid"], &table_.invalid) ||
      !s["folded"].is_number_unsigned() || !s["evictions"].is_number_unsigned() ||
      !s["tracked"].is_array() || !j["lines"].is_number_unsigned() || !j["files"].is_array() ||
      !j["unparsed"].is_object())
    return Error{0, "malformed checkpoint"};
  table_.folded_connections = s["folded"].get<std::uint64_t>();
  table_.evictions = s["evictions"].get<std::uint64_t>();
  lines_ = j["lines"].get<std::uint64_t>();
  for (std::size_t i = 0; i < unparsed_.size(); i++) {
    const auto it = j["unparsed"].find(std::string(line_error_name(static_cast<LineError>(i))));
    if (it != j["unparsed"].end() && it->is_number_unsigned())
      unparsed_[i] = it->get<std::uint64_t>();
  }
  std::string name;
  for (Json& e : s["tracked"]) {
    SniCounters c;
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !counters_from(e[1], &c))
      return Error{0, "malformed tracked SNI"};
    // A checkpoint is ours, but only host names ever become labels.
    if (normalise_sni(e[0].get<std::string>(), &name) != SniKind::kValid || name != e[0])
      return Error{0, "tracked SNI is not a normalised host name"};
    if (!table_.restore(name, c)) {
      // --haproxy.sni-limit was lowered: the surplus goes to the overflow series.
      table_.other.add(c);
      table_.evictions++;
    }
  }
  for (Json& e : j["files"]) {
    if (!e.is_object() || !e["path"].is_string() || !e["dev"].is_number_unsigned() ||
        !e["ino"].is_number_unsigned() || !e["offset"].is_number_unsigned() ||
        !e["skipping"].is_boolean())
      return Error{0, "malformed file entry"};
    Saved saved;
    saved.dev = static_cast<dev_t>(e["dev"].get<std::uint64_t>());
    saved.ino = static_cast<ino_t>(e["ino"].get<std::uint64_t>());
    saved.offset = e["offset"].get<std::uint64_t>();
    saved.skipping = e["skipping"].get<bool>();
    // Optional (checkpoints written before them have neither): a fingerprint's length and hash.
    auto fingerprint = [&](const char* len_key, const char* hash_key, std::uint64_t max,
                           std::optional<Fingerprint>* out) -> bool {
      const bool has_len = e.contains(len_key), has_hash = e.contains(hash_key);
      if (!has_len && !has_hash) return true;
      if (!has_len || !has_hash || !e[len_key].is_number_unsigned() ||
          !e[hash_key].is_number_unsigned() || e[len_key].get<std::uint64_t>() > max)
        return false;
      *out = Fingerprint{e[len_key].get<std::uint64_t>(), e[hash_key].get<std::uint64_t>()};
      return true;
    };
    if (!fingerprint("head_len", "head_hash", kHeadBytes, &saved.head) ||
        !fingerprint("tail_len", "tail_hash", std::min<std::uint64_t>(kTailBytes, saved.offset),
                     &saved.tail))
      return Error{0, "malformed file entry (fingerprint)"};
    for (auto& f : files_) {
      if (f->path != e["path"].get<std::string>() || f->fd.valid()) continue;
      open_at_start(*f, saved);
    }
  }
  log::info("haproxy: resuming from the position file",
            {{"file", opts_.position_file},
             {"lines", std::to_string(lines_)},
             {"tracked_snis", std::to_string(table_.tracked().size())}});
  return true;
}

// The Traffic Exporter's -pos file: the decimal byte offset (after surrounding white space, as its
// readStartingOffset trims it) into its one -log, no counters. It becomes the one log's saved
// position (identity: the file now at the path); the first poll writes hostflow's checkpoint.
// An offset past the end is read from 0 (as the Traffic Exporter does once it sees the file
// shorter); one inside a line skips to that line's end.
Result<void> HaproxyTailer::import_position() {
  if (files_.size() != 1) return Error{0, "needs exactly one --haproxy.log"};
  auto fd = UniqueFd::open(opts_.import_position, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  if (!fd.ok()) return fd.error();
  std::string text;
  if (!read_at(fd->get(), 0, 256, &text)) return Error::from_errno("read");
  std::string_view v = text;
  while (!v.empty() && (v.front() == ' ' || (v.front() >= '\t' && v.front() <= '\r')))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || (v.back() >= '\t' && v.back() <= '\r')))
    v.remove_suffix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  std::uint64_t offset = 0;
  bool ok = !v.empty() && v.size() <= 19 && text.size() < 256;
  for (char c : v) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) offset = offset * 10 + static_cast<unsigned>(c - '0');
  }
  if (!ok || offset > static_cast<std::uint64_t>(INT64_MAX))
    return Error{0,
                 "not a Traffic Exporter position file (want one non-negative decimal byte "
                 "offset, got \"" +
                     std::string(text.substr(0, 64)) + "\")"};
  File& f = *files_.front();
  struct stat st {};
  if (::stat(f.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    log::warn("haproxy: the log is not there: position not imported (the log is read from 0)",
              {{"file", opts_.import_position}, {"path", f.path}});
    return {};
  }
  Saved saved;
  saved.dev = st.st_dev;
  saved.ino = st.st_ino;
  saved.offset = offset;
  if (offset > 0 && offset <= static_cast<std::uint64_t>(st.st_size)) {
    auto log_fd = UniqueFd::open(f.path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    std::string before;
    if (log_fd.ok() && read_at(log_fd->get(), offset - 1, 1, &before) && before.size() == 1)
      saved.skipping = before[0] != '\n';
  }
  log::info("haproxy: imported the Traffic Exporter's position file",
            {{"file", opts_.import_position},
             {"path", f.path},
             {"offset", std::to_string(offset)},
             {"mid_line", saved.skipping ? "yes (skipped to the line's end)" : "no"}});
  open_at_start(f, saved);
  return {};
}

// Before the seccomp filter. With a saved identity: resume in the file that has it (at its path,
// or rotated beside it while we were down); otherwise start the path at 0. A file with the saved
// identity that is shorter than the saved offset, or whose bytes at the saved fingerprints differ,
// was truncated (and maybe rewritten) while we were down: it is read from 0.
void HaproxyTailer::open_at_start(File& f, const Saved& saved) {
  ino_t ino = saved.ino;
  auto try_open = [&](const std::string& p) -> bool {
    auto fd = UniqueFd::open(p, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!fd.ok()) return false;
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if (ino != 0 && (st.st_dev != saved.dev || st.st_ino != ino)) return false;
    std::uint64_t off = ino != 0 ? saved.offset : 0;
    bool skip = ino != 0 && saved.skipping;
    std::string bytes;
    // Unreadable fingerprint bytes tell nothing (as in File::content_unchanged).
    auto differs = [&](const std::optional<Fingerprint>& fp, std::uint64_t at) {
      return fp && fp->len > 0 && read_at(fd->get(), at, fp->len, &bytes) &&
             (bytes.size() != fp->len || fnv1a(bytes) != fp->hash);
    };
    const char* why = nullptr;
    if (static_cast<std::uint64_t>(st.st_size) < off)
      why = "haproxy: log shorter than the saved position (truncated while stopped); from 0";
    else if (ino != 0 &&
             (differs(saved.head, 0) || (saved.tail && differs(saved.tail, off - saved.tail->len))))
      why =
          "haproxy: log content differs from the saved position's (truncated and rewritten "
          "while stopped); from 0";
    if (why) {
      log::warn(why, {{"path", p}});
      rotations_truncate_++;
      off = 0;
      skip = false;
    }
    f.restart();
    // The fingerprints of what is now taken as read: the file as it is.
    if (off > 0) {
      if (read_at(fd->get(), 0, std::min<std::uint64_t>(kHeadBytes, off), &bytes)) f.head = bytes;
      const std::uint64_t t = std::min<std::uint64_t>(kTailBytes, off);
      if (read_at(fd->get(), off - t, t, &bytes) && bytes.size() == t) f.tail = bytes;
    }
    if (::lseek(fd->get(), static_cast<off_t>(off), SEEK_SET) < 0) return false;
    f.fd = std::move(*fd);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.read_off = off;
    f.skipping = skip;
    if (p != f.path) log::info("haproxy: finishing a log rotated while stopped", {{"path", p}});
    return true;
  };
  if (ino == 0) {
    try_open(f.path);
    return;
  }
  if (try_open(f.path)) return;
  // Rotated while stopped: look for the saved inode in the same directory.
  auto [dir, base] = split_path(f.path);
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_ino != ino || std::strcmp(e->d_name, base.c_str()) == 0) continue;
      if (try_open(dir + "/" + e->d_name)) break;
    }
    ::closedir(d);
  }
  if (f.fd.valid()) return;
  log::warn(
      "haproxy: the file of the saved position is gone; reading the log from 0 (the rest "
      "of the old file is not counted)",
      {{"path", f.path}});
  ino = 0;
  try_open(f.path);
}

void HaproxyTailer::count_line(std::string_view line) {
  const HaproxyLine l = opts_.format == HaproxyFormat::kSniMarker
                            ? parse_sni_marker_line(line)
                            : parse_haproxy_line(line, opts_.fields);
  if (l.error != LineError::kNone) {
    unparsed_[static_cast<std::size_t>(l.error)]++;
    return;
  }
  lines_++;
  const SniKind kind = normalise_sni(l.sni_raw, &name_buf_);
  table_.add(kind, name_buf_, l.bytes_in, l.bytes_out);
}

// `data` = file[f.read_off, f.read_off + n): counts its complete lines and keeps the fingerprints.
void HaproxyTailer::consume(File& f, const char* data, std::size_t n) {
  const std::uint64_t from = f.read_off, consumed_before = f.consumed();
  if (f.head.size() < kHeadBytes && f.head.size() >= from && from + n > f.head.size()) {
    const std::size_t skip = static_cast<std::size_t>(f.head.size() - from);
    f.head.append(data + skip, std::min(n - skip, kHeadBytes - f.head.size()));
  }
  // Whenever the consumed offset moves, all of `pending` was consumed (counted or dropped as too
  // long) and then a prefix of `data`: the new tail is the end of those.
  const std::size_t pending_before = f.pending.size();
  char pending_end[kTailBytes];
  const std::size_t pending_end_len = std::min(kTailBytes, pending_before);
  std::memcpy(pending_end, f.pending.data() + pending_before - pending_end_len, pending_end_len);
  split_lines(f, data, n);
  const std::uint64_t done = f.consumed() - consumed_before;
  if (done > 0) {
    keep_last(&f.tail, std::string_view(pending_end, pending_end_len), kTailBytes);
    keep_last(&f.tail, std::string_view(data, static_cast<std::size_t>(done - pending_before)),
              kTailBytes);
  }
}

void HaproxyTailer::split_lines(File& f, const char* data, std::size_t n) {
  f.read_off += n;
  std::string_view in(data, n);
  while (!in.empty()) {
    if (!f.skipping && f.pending.empty()) {
      // NUL bytes where a line starts: the hole a writer without O_APPEND (HAProxy clears it on
      // its stdout) leaves when it goes on writing at its offset after a copytruncate.
      const std::size_t text = in.find_first_not_of('\0');
      if (text == std::string_view::npos) return;
      in.remove_prefix(text);
    }
    const char* nl = static_cast<const char*>(std::memchr(in.data(), '\n', in.size()));
    if (f.skipping) {
      if (!nl) return;  // still inside the long line
      f.skipping = false;
      in.remove_prefix(static_cast<std::size_t>(nl - in.data()) + 1);
      continue;
    }
    if (!nl) {
      if (f.pending.size() + in.size() > kMaxLineBytes) {
        unparsed_[static_cast<std::size_t>(LineError::kTooLong)]++;
        f.pending.clear();
        f.skipping = true;
        return;
      }
      f.pending.append(in);
      return;
    }
    const std::size_t len = static_cast<std::size_t>(nl - in.data());
    if (f.pending.empty()) {
      if (len > kMaxLineBytes)
        unparsed_[static_cast<std::size_t>(LineError::kTooLong)]++;
      else
        count_line(in.substr(0, len));
    } else {
      if (f.pending.size() + len > kMaxLineBytes) {
        unparsed_[static_cast<std::size_t>(LineError::kTooLong)]++;
      } else {
        f.pending.append(in.substr(0, len));
        count_line(f.pending);
      }
      f.pending.clear();
    }
    in.remove_prefix(len + 1);
  }
}

// Reads up to `budget` bytes; true when anything was read.
bool HaproxyTailer::read_available(File& f, std::size_t budget) {
  static thread_local std::string buf(1u << 20, '\0');
  bool any = false;
  while (budget > 0) {
    const ssize_t n = ::read(f.fd.get(), buf.data(), std::min(buf.size(), budget));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    consume(f, buf.data(), static_cast<std::size_t>(n));
    budget -= static_cast<std::size_t>(n);
    any = true;
  }
  return any;
}

bool HaproxyTailer::poll_file(File& f) {
  struct stat at_path {};
  const bool path_ok = ::stat(f.path.c_str(), &at_path) == 0 && S_ISREG(at_path.st_mode);
  if (!f.fd.valid()) {
    if (!path_ok) {
      if (!f.warned_missing) log::warn("haproxy: log not there (yet); waiting", {{"path", f.path}});
      f.warned_missing = true;
      return false;
    }
    auto fd = UniqueFd::open(f.path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    struct stat st {};
    if (!fd.ok() || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (!f.warned_missing)
        log::warn(
            "haproxy: cannot open log",
            {{"path", f.path}, {"err", fd.ok() ? "not a regular file" : fd.error().message()}});
      f.warned_missing = true;
      return false;
    }
    log::info("haproxy: following log", {{"path", f.path}});
    f.warned_missing = false;
    f.fd = std::move(*fd);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    f.restart();
  }
  bool any = false;
  struct stat st {};
  if (::fstat(f.fd.get(), &st) == 0) {
    // copytruncate (or a writer that truncated): read the file again from its start. Shorter than
    // what was read, or — truncated and rewritten past that between two polls — not holding what
    // was read where it was read.
    const char* why = nullptr;
    if (static_cast<std::uint64_t>(st.st_size) < f.read_off)
      why = "haproxy: log truncated; reading from 0";
    else if (!f.content_unchanged())
      why = "haproxy: log truncated and rewritten past the position read; reading from 0";
    if (why) {
      log::info(why, {{"path", f.path}});
      rotations_truncate_++;
      f.restart();
      ::lseek(f.fd.get(), 0, SEEK_SET);
      any = true;
    }
  }
  any |= read_available(f, opts_.read_budget);
  if (path_ok && (at_path.st_dev != f.dev || at_path.st_ino != f.ino) && at_path.st_size > 0) {
    // Renamed away and a new file has data: the writer moved on. Finish the old file (all of it,
    // with a last line that never got its newline), then follow the new one from 0.
    while (read_available(f, opts_.read_budget)) {
    }
    if (!f.pending.empty()) {
      if (!f.skipping) count_line(f.pending);
      f.pending.clear();
    }
    log::info("haproxy: log rotated; following the new file", {{"path", f.path}});
    rotations_rename_++;
    f.fd.reset();
    any = true;
    any |= poll_file(f);
  }
  return any;
}

bool HaproxyTailer::poll(std::uint64_t now_ns, bool force) {
  for (auto& f : files_) dirty_ |= poll_file(*f);
  if (!dirty_) return false;
  const auto interval = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.render_interval).count());
  if (!force && last_checkpoint_ns_ != 0 && now_ns - last_checkpoint_ns_ < interval) return false;
  last_checkpoint_ns_ = now_ns == 0 ? 1 : now_ns;
  table_.rebalance();
  if (auto r = write_checkpoint(); !r.ok()) {
    checkpoint_errors_++;
    if (!checkpoint_failing_)
      log::error(
          "haproxy: writing the position file failed (retried every render interval); a "
          "restart before it succeeds resumes from the last good one, counting nothing twice",
          {{"file", opts_.position_file}, {"err", r.error().message()}});
    checkpoint_failing_ = true;
    dirty_ = true;  // retried at the next render interval, new lines or not
  } else {
    checkpoints_++;
    if (checkpoint_failing_)
      log::info("haproxy: position file written again", {{"file", opts_.position_file}});
    checkpoint_failing_ = false;
    dirty_ = false;
  }
  build_families();
  return true;
}

void HaproxyTailer::reset_stats() {
  table_.reset();
  lines_ = 0;
  unparsed_.fill(0);
  dirty_ = true;
  last_checkpoint_ns_ = 0;  // checkpoint and re-render at the next poll
}

Result<void> HaproxyTailer::write_checkpoint() {
  Json files = Json::array();
  for (const auto& f : files_) {
    if (!f->fd.valid()) continue;
    files.push_back({{"path", f->path},
                     {"dev", static_cast<std::uint64_t>(f->dev)},
                     {"ino", static_cast<std::uint64_t>(f->ino)},
                     {"offset", f->consumed()},
                     {"skipping", f->skipping},
                     {"head_len", static_cast<std::uint64_t>(f->head.size())},
                     {"head_hash", fnv1a(f->head)},
                     {"tail_len", static_cast<std::uint64_t>(f->tail.size())},
                     {"tail_hash", fnv1a(f->tail)}});
  }
  Json tracked = Json::array();
  for (const auto& [name, t] : table_.tracked()) tracked.push_back({name, counters_json(t.c)});
  Json unparsed = Json::object();
  for (std::size_t i = 1; i < unparsed_.size(); i++)
    unparsed[std::string(line_error_name(static_cast<LineError>(i)))] = unparsed_[i];
  const Json j = {{"version", 1},
                  {"files", std::move(files)},
                  {"lines", lines_},
                  {"unparsed", std::move(unparsed)},
                  {"sni",
                   {{"tracked", std::move(tracked)},
                    {"other", counters_json(table_.other)},
                    {"none", counters_json(table_.none)},
                    {"invalid", counters_json(table_.invalid)},
                    {"folded", table_.folded_connections},
                    {"evictions", table_.evictions}}}};
  const std::string tmp = base_ + ".tmp";
  // The only file the exporter creates: in its own directory, never through a symlink.
  const int fd = ::openat(dir_.get(), tmp.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno("create " + tmp);
  UniqueFd owner = UniqueFd::adopt(fd);
  if (auto r = write_all(fd, j.dump() + "\n", tmp); !r.ok()) return r;
  if (::fsync(fd) != 0) return Error::from_errno("fsync " + tmp);
  owner.reset();
  if (::renameat(dir_.get(), tmp.c_str(), dir_.get(), base_.c_str()) != 0)
    return Error::from_errno("rename " + tmp + " to " + base_);
  if (::fsync(dir_.get()) != 0) return Error::from_errno("fsync of the state directory");
  return {};
}

void HaproxyTailer::build_families() {
  SniFamiliesInput in;
  in.table = &table_;
  in.lines = lines_;
  for (std::size_t i = 1; i < unparsed_.size(); i++)
    in.unparsed.emplace_back(line_error_name(static_cast<LineError>(i)), unparsed_[i]);
  in.rotations_rename = rotations_rename_;
  in.rotations_truncate = rotations_truncate_;
  in.checkpoint_errors = checkpoint_errors_;
  families_ = metrics::FamilySet{};
  sni_families(in, &families_);
}

void HaproxyTailer::append_families(metrics::FamilySet* out) const {
  for (const metrics::Family& f : families_.families()) out->add(f);
}

}  // namespace hostflow::exporter
