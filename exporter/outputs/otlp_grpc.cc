#include "outputs/otlp_grpc.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "outputs/otlp_env.h"

namespace hostflow::exporter {

namespace pbc = opentelemetry::proto::collector::metrics::v1;

// The full method name gRPC sends (":path"), as grpc_cpp_plugin names it from the .proto.
const std::string kExportMethod =
    std::string("/") + pbc::MetricsService::service_full_name() + "/Export";

struct OtlpGrpcClient::Impl {
  OtlpConfig cfg;
  grpc::SslCredentialsOptions tls;  // the PEM files' contents, read by open()
  std::shared_ptr<grpc::Channel> channel;
  // Sends the request's bytes as they are: the method generated from proto/, called by name.
  std::unique_ptr<grpc::GenericStub> stub;
  std::mutex mu;
  grpc::ClientContext* active = nullptr;
  bool cancelled = false;
};

namespace {

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::from_errno("--output.otlp: " + path);
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Error::from_errno("--output.otlp: " + path);
  return s.str();
}

bool retryable(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    default:
      return false;
  }
}

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

OtlpGrpcClient::OtlpGrpcClient(const OtlpConfig& cfg) : impl_(std::make_unique<Impl>()) {
  impl_->cfg = cfg;
}

OtlpGrpcClient::~OtlpGrpcClient() = default;

Result<void> OtlpGrpcClient::open() {
  Impl& m = *impl_;
  // Names resolve through glibc's getaddrinfo on a gRPC thread (nsswitch and /etc/hosts, as
  // libcurl's do, and the same seccomp group) instead of the bundled c-ares, unless the operator
  // chose otherwise. Read by grpc_init, which runs at the first channel (on the push thread).
  ::setenv("GRPC_DNS_RESOLVER", "native", 0);
  if (m.cfg.tls) {
    // Read now, before the filter and any privilege change; a rotated file is read at restart.
    if (!m.cfg.ca_file.empty()) {
      auto s = slurp(m.cfg.ca_file);
      if (!s.ok()) return s.error();
      m.tls.pem_root_certs = std::move(*s);
    }
    if (!m.cfg.cert_file.empty()) {
      auto c = slurp(m.cfg.cert_file);
      if (!c.ok()) return c.error();
      auto k = slurp(m.cfg.key_file);
      if (!k.ok()) return k.error();
      m.tls.pem_cert_chain = std::move(*c);
      m.tls.pem_private_key = std::move(*k);
    }
  }
  return {};
}

void OtlpGrpcClient::cancel() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cancelled = true;
  if (impl_->active) impl_->active->TryCancel();
}

OtlpOutcome OtlpGrpcClient::send(const std::string& request, std::uint32_t* retry_after_s,
                                 std::string* detail) {
  Impl& m = *impl_;
  *retry_after_s = 0;
  if (!m.stub) {
    grpc::ChannelArguments args;
    args.SetUserAgentPrefix("hostflow-exporter");
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);  // the push thread retries, with its own backoff
    args.SetMaxReceiveMessageSize(1 << 20);   // an ExportMetricsServiceResponse is small
    m.channel = grpc::CreateCustomChannel(
        m.cfg.url, m.cfg.tls ? grpc::SslCredentials(m.tls) : grpc::InsecureChannelCredentials(),
        args);
    m.stub = std::make_unique<grpc::GenericStub>(m.channel);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + m.cfg.timeout);
  if (m.cfg.gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  for (const auto& [k, v] : m.cfg.header_list) {
    std::string key = k;
    for (char& c : key)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    ctx.AddMetadata(key, v);
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.cancelled) return OtlpOutcome::kStopped;
    m.active = &ctx;
  }
  // The queue keeps requests serialized, as the HTTP output sends them; a generated stub would
  // want them parsed back into messages, to serialize them again. A generic call sends the bytes
  // (copied once into a slice), on a completion queue of its own as the generated blocking
  // call does.
  grpc::Status st;
  {
    grpc::Slice slice(request.data(), request.size());
    const grpc::ByteBuffer body(&slice, 1);
    grpc::ByteBuffer resp;
    grpc::CompletionQueue cq;
    auto call = m.stub->PrepareUnaryCall(&ctx, kExportMethod, body, &cq);
    call->StartCall();
    call->Finish(&resp, &st, &st);
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok) || !ok)
      st = grpc::Status(grpc::StatusCode::INTERNAL, "the completion queue failed (a bug)");
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
  }
  bool cancelled = false;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.active = nullptr;
    cancelled = m.cancelled;
  }
  if (st.ok()) return OtlpOutcome::kAccepted;
  if (cancelled) return OtlpOutcome::kStopped;
  *detail = std::string("gRPC ") + code_name(st.error_code()) +
            (st.error_message().empty() ? "" : ": ") + st.error_message().substr(0, 200);
  for (char& ch : *detail)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  const auto delay = parse_grpc_retry_delay(st.error_details());
  if (delay) *retry_after_s = *delay;
  if (retryable(st.error_code())) return OtlpOutcome::kRetry;
  if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && delay) return OtlpOutcome::kRetry;
  return OtlpOutcome::kRejected;
}

}  // namespace hostflow::exporter
