// --output.otlp.*: pushes the latest rendering's families over OTLP, HTTP/protobuf with libcurl or
// gRPC with grpc++ (outputs/otlp_grpc.h), every --output.otlp.interval, from a thread of its own.
// Export requests wait in a bounded queue (--output.otlp.queue-size; when full the oldest is
// dropped and counted); only retryable outcomes are retried (HTTP 429, 502, 503, 504, a failed
// connection or a timeout; gRPC: the codes otlp_grpc.h lists), with exponential backoff (1 s
// doubling to 32 s, at most 5 retries) or the server's Retry-After / RetryInfo (capped at 5 min);
// any other status (e.g. HTTP 400, gRPC INVALID_ARGUMENT) is a counted failure, never retried. A
// down collector never blocks the poll thread or a scrape: they only hand over a shared_ptr.
// hostflow-exporter: open() before the seccomp filter (libcurl, OpenSSL and the resolver's modules
// loaded, PEM files read), the rest after.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hostflow/common/result.h"
#include "metrics/family.h"
#include "outputs/otlp_convert.h"
#include "outputs/otlp_grpc.h"
#include "outputs/outputs_config.h"

namespace hostflow::exporter {

struct OtlpStats {
  std::uint64_t exports = 0;           // requests the collector accepted (2xx)
  std::uint64_t failed_rejected = 0;   // a status that is not retried (e.g. 400)
  std::uint64_t failed_exhausted = 0;  // retryable outcomes until the retries ran out
  std::uint64_t retries = 0;           // attempts after the first
  std::uint64_t dropped = 0;           // requests dropped from a full queue (or at stop)
  std::uint64_t queued = 0;            // requests waiting now
  std::uint64_t bytes = 0;  // request bodies sent (HTTP: as sent, gzip when on; gRPC: before
                            // gRPC's own compression)
  double last_success_seconds = 0;  // Unix time of the last accepted export, 0: none
  double last_encode_seconds = 0;   // wall time of the last conversion + encoding
  double last_error_seconds = 0;    // Unix time of the last failed attempt, 0: none
  std::string last_error;           // its text (curl's, or the status and the answer's start)
};

class OtlpOutput {
 public:
  // `start_unix_nano`: every cumulative Sum's start time (the exporter's start).
  OtlpOutput(const OtlpConfig& cfg, std::uint64_t start_unix_nano);
  ~OtlpOutput();
  OtlpOutput(const OtlpOutput&) = delete;
  OtlpOutput& operator=(const OtlpOutput&) = delete;

  Result<void> open();
  void start();
  void stop();
  // The latest rendering (poll thread); the push thread converts it at its next interval.
  void submit(std::shared_ptr<const metrics::FamilySet> families, std::uint64_t time_unix_nano);
  OtlpStats stats() const;
  bool grpc() const { return cfg_.grpc; }

  // One request body for `families` (protobuf; gzip when configured over HTTP, gRPC compresses
  // itself): the conversion and encoding a push does. Updates the request kept from the last
  // call (OtlpConverter): the push thread only.
  std::string encode(const metrics::FamilySet& families, std::uint64_t time_unix_nano);

 private:
  struct Request {
    std::string body;
    int attempts = 0;
    std::uint64_t not_before_mono_ns = 0;
  };
  using Outcome = OtlpOutcome;
  void run();
  Outcome send(const Request& r, std::uint32_t* retry_after_s, std::string* detail);
  Outcome send_http(const Request& r, std::uint32_t* retry_after_s, std::string* detail);

  OtlpConfig cfg_;
  KeyValues resource_;
  std::uint64_t start_ns_;
  void* curl_ = nullptr;                  // CURL*, used by the push thread only (HTTP)
  std::unique_ptr<OtlpGrpcClient> grpc_;  // gRPC
  OtlpConverter converter_;               // the push thread's request, kept between pushes
  std::size_t last_body_size_ = 0;        // the last gzip body's size (the next one's reserve)
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const metrics::FamilySet> latest_;
  std::uint64_t latest_time_ns_ = 0;
  std::deque<Request> queue_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> exports_{0}, rejected_{0}, exhausted_{0}, retries_{0}, dropped_{0},
      bytes_{0};
  std::atomic<std::uint64_t> queued_{0};
  std::atomic<double> last_success_{0}, last_encode_{0};
  bool failing_ = false;
  double last_error_time_ = 0;  // under mu_
  std::string last_error_;      // under mu_
};

}  // namespace hostflow::exporter
