#include "outputs/otlp_push.h"

#include <curl/curl.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "hostflow/common/clock.h"
#include "hostflow/common/log.h"
#include "outputs/otlp_convert.h"
#include "outputs/otlp_env.h"

namespace hostflow::exporter {

namespace {

constexpr int kMaxRetries = 5;
constexpr std::uint32_t kMaxRetryAfterS = 300;

// Per attempt: the Retry-After header, if any (header callback), and a stop flag (progress).
struct Attempt {
  std::optional<std::uint32_t> retry_after;
  const std::atomic<bool>* stopping = nullptr;
  std::string body;  // the response, first bytes only (for the log)
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; i++)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    if (match) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
      a->retry_after = parse_retry_after(v);
    }
  }
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  if (a->body.size() < 512) a->body.append(data, std::min<std::size_t>(size * n, 512));
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Attempt*>(user)->stopping->load() ? 1 : 0;
}

}  // namespace

OtlpOutput::OtlpOutput(const OtlpConfig& cfg, std::uint64_t start_unix_nano)
    : cfg_(cfg), start_ns_(start_unix_nano) {}

OtlpOutput::~OtlpOutput() {
  stop();
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<void> OtlpOutput::open() {
  // Before the filter: libcurl and OpenSSL initialised, and one name resolved, so every library
  // or NSS module they load is mapped while mmap(PROT_EXEC) is still allowed.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo("localhost", "80", &hints, &res) == 0) freeaddrinfo(res);
  for (const std::string* f : {&cfg_.ca_file, &cfg_.cert_file, &cfg_.key_file})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      return Error::from_errno("--output.otlp: " + *f);
  if (cfg_.grpc) {
    grpc_ = std::make_unique<OtlpGrpcClient>(cfg_);
    if (auto r = grpc_->open(); !r.ok()) return r;
  } else {
    curl_ = curl_easy_init();
    if (!curl_) return Error{0, "--output.otlp: curl_easy_init failed"};
  }
  // Resource attributes: service.name, service.instance.id and host.name unless
  // OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME set them (validate_outputs put those first).
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  auto has = [&](std::string_view k) {
    return std::any_of(cfg_.resource.begin(), cfg_.resource.end(),
                       [&](const auto& kv) { return kv.first == k; });
  };
  resource_ = cfg_.resource;
  if (!has("service.name")) resource_.emplace_back("service.name", "hostflow-exporter");
  if (!has("service.instance.id")) resource_.emplace_back("service.instance.id", host);
  if (!has("host.name")) resource_.emplace_back("host.name", host);
  return {};
}

std::string OtlpOutput::encode(const metrics::FamilySet& families, std::uint64_t time_unix_nano) {
  const auto& req = converter_.update(families, resource_, OtlpStamp{start_ns_, time_unix_nano});
  std::string body;
  if (!cfg_.gzip || cfg_.grpc) {
    req.SerializeToString(&body);
    return body;
  }
  body = serialize_gzip(req, last_body_size_ + last_body_size_ / 4);
  last_body_size_ = body.size();
  return body;
}

void OtlpOutput::start() {
  if (thread_.joinable() || (!curl_ && !grpc_)) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void OtlpOutput::stop() {
  stopping_ = true;
  if (grpc_) grpc_->cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OtlpOutput::submit(std::shared_ptr<const metrics::FamilySet> families,
                        std::uint64_t time_unix_nano) {
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = std::move(families);
  latest_time_ns_ = time_unix_nano;
}

OtlpOutput::Outcome OtlpOutput::send(const Request& r, std::uint32_t* retry_after_s,
                                     std::string* detail) {
  Outcome o =
      grpc_ ? grpc_->send(r.body, retry_after_s, detail) : send_http(r, retry_after_s, detail);
  *retry_after_s = std::min(*retry_after_s, kMaxRetryAfterS);
  return o;
}

OtlpOutput::Outcome OtlpOutput::send_http(const Request& r, std::uint32_t* retry_after_s,
                                          std::string* detail) {
  CURL* c = static_cast<CURL*>(curl_);
  Attempt a;
  a.stopping = &stopping_;
  curl_easy_reset(c);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
  if (cfg_.gzip) headers = curl_slist_append(headers, "Content-Encoding: gzip");
  for (const auto& [k, v] : cfg_.header_list)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(c, CURLOPT_URL, cfg_.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "hostflow-exporter");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &a);
  if (!cfg_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg_.ca_file.c_str());
  if (!cfg_.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, cfg_.cert_file.c_str());
  if (!cfg_.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, cfg_.key_file.c_str());
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  *retry_after_s = a.retry_after ? std::min(*a.retry_after, kMaxRetryAfterS) : 0;
  if (rc == CURLE_ABORTED_BY_CALLBACK && stopping_) return Outcome::kStopped;
  if (rc != CURLE_OK) {
    *detail = curl_easy_strerror(rc);
    return Outcome::kRetry;  // no answer (refused, reset, timeout): transient
  }
  if (status >= 200 && status < 300) return Outcome::kAccepted;
  *detail = "HTTP " + std::to_string(status) + (a.body.empty() ? "" : ": ") +
            std::string(a.body.substr(0, 200));
  for (char& ch : *detail)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  if (status == 429 || status == 502 || status == 503 || status == 504) return Outcome::kRetry;
  return Outcome::kRejected;
}

void OtlpOutput::run() {
  const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(cfg_.interval);
  std::uint64_t next_tick = mono_ns() + static_cast<std::uint64_t>(interval.count());
  std::uint64_t pushed_time = 0;  // the rendering last encoded (not pushed twice)
  while (!stopping_) {
    std::shared_ptr<const metrics::FamilySet> families;
    std::uint64_t time_ns = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      std::uint64_t wake = next_tick;
      if (!queue_.empty()) wake = std::min(wake, queue_.front().not_before_mono_ns);
      const std::uint64_t now = mono_ns();
      if (wake > now)
        cv_.wait_for(lock, std::chrono::nanoseconds(wake - now), [&] { return stopping_.load(); });
      if (stopping_) break;
      if (mono_ns() >= next_tick) {
        next_tick += static_cast<std::uint64_t>(interval.count());
        if (next_tick < mono_ns())
          next_tick = mono_ns() + static_cast<std::uint64_t>(interval.count());
        if (latest_ && latest_time_ns_ != pushed_time) {
          families = latest_;
          time_ns = latest_time_ns_;
          pushed_time = time_ns;
        }
      }
    }
    if (families) {
      const std::uint64_t t0 = mono_ns();
      Request r;
      r.body = encode(*families, time_ns);
      families.reset();
      last_encode_ = static_cast<double>(mono_ns() - t0) / 1e9;
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= cfg_.queue_size) {
        queue_.pop_front();
        dropped_++;
      }
      queue_.push_back(std::move(r));
      queued_ = queue_.size();
    }
    Request* head = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!queue_.empty() && queue_.front().not_before_mono_ns <= mono_ns()) head = &queue_.front();
    }
    if (!head) continue;
    // Only this thread pops the queue: `head` stays valid while sending.
    std::uint32_t retry_after = 0;
    std::string detail;
    const Outcome o = send(*head, &retry_after, &detail);
    std::lock_guard<std::mutex> lock(mu_);
    if (o == Outcome::kStopped) break;
    bytes_ += head->body.size();
    if (o != Outcome::kAccepted) {
      last_error_time_ = static_cast<double>(real_ns()) / 1e9;
      last_error_ = detail;
    }
    if (o == Outcome::kAccepted) {
      exports_++;
      last_success_ = static_cast<double>(real_ns()) / 1e9;
      if (failing_) log::info("OTLP export accepted again", {{"url", url_for_display(cfg_.url)}});
      failing_ = false;
      queue_.pop_front();
    } else if (o == Outcome::kRetry && head->attempts < kMaxRetries) {
      head->attempts++;
      retries_++;
      const std::uint64_t backoff_s = retry_after ? retry_after : (1u << (head->attempts - 1));
      head->not_before_mono_ns = mono_ns() + backoff_s * 1'000'000'000ull;
      if (!failing_)
        log::warn("OTLP export failed; retrying", {{"url", url_for_display(cfg_.url)},
                                                   {"err", detail},
                                                   {"in_s", std::to_string(backoff_s)}});
      failing_ = true;
    } else {
      (o == Outcome::kRetry ? exhausted_ : rejected_)++;
      log::error(o == Outcome::kRetry ? "OTLP export dropped after retries"
                                      : "OTLP export rejected (not retried)",
                 {{"url", url_for_display(cfg_.url)}, {"err", detail}});
      failing_ = true;
      queue_.pop_front();
    }
    queued_ = queue_.size();
  }
  std::lock_guard<std::mutex> lock(mu_);
  dropped_ += queue_.size();
  queue_.clear();
  queued_ = 0;
}

OtlpStats OtlpOutput::stats() const {
  OtlpStats s;
  s.exports = exports_;
  s.failed_rejected = rejected_;
  s.failed_exhausted = exhausted_;
  s.retries = retries_;
  s.dropped = dropped_;
  s.queued = queued_;
  s.bytes = bytes_;
  s.last_success_seconds = last_success_;
  s.last_encode_seconds = last_encode_;
  std::lock_guard<std::mutex> lock(mu_);
  s.last_error_seconds = last_error_time_;
  s.last_error = last_error_;
  return s;
}

}  // namespace hostflow::exporter
