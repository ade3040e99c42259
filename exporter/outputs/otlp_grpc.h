// --output.otlp.protocol=grpc: one export request sent as a synchronous unary
// opentelemetry.proto.collector.metrics.v1.MetricsService/Export call (the method grpc_cpp_plugin
// generates from proto/, called through grpc::GenericStub so the serialized request is sent as it
// is, not parsed back into messages), with Debian's grpc++. The deadline is --output.otlp.timeout;
// an https:// endpoint is TLS (grpc::SslCredentials with --output.otlp.certificate,
// client-certificate and client-key); --output.otlp.headers travel as metadata; gzip is gRPC's own
// message compression. The outcome follows the OTLP specification: CANCELLED, DEADLINE_EXCEEDED,
// ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retryable, RESOURCE_EXHAUSTED only when the
// server attached a google.rpc.RetryInfo (whose delay is then used); every other code is a
// rejection. hostflow-exporter: open() at start-up before the seccomp filter (reads the PEM files);
// send() on the OTLP push thread, which creates the channel at its first call, under the filter, so
// every gRPC thread inherits its blocked signals; cancel() from stop(). The grpc++ headers stay in
// otlp_grpc.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hostflow/common/result.h"
#include "outputs/outputs_config.h"

namespace hostflow::exporter {

enum class OtlpOutcome { kAccepted, kRetry, kRejected, kStopped };

class OtlpGrpcClient {
 public:
  explicit OtlpGrpcClient(const OtlpConfig& cfg);
  ~OtlpGrpcClient();
  OtlpGrpcClient(const OtlpGrpcClient&) = delete;
  OtlpGrpcClient& operator=(const OtlpGrpcClient&) = delete;

  Result<void> open();
  // `request`: a serialized ExportMetricsServiceRequest (uncompressed). `retry_after_s`: the
  // RetryInfo delay when the server sent one (0 otherwise); `detail`: the status for the log.
  OtlpOutcome send(const std::string& request, std::uint32_t* retry_after_s, std::string* detail);
  // Cancels the call in flight, and every later one (stop()).
  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hostflow::exporter
