#include "outputs/outputs_config.h"

#include "hostflow/common/units.h"
#include "outputs/otlp_env.h"

namespace hostflow::exporter {

namespace {

constexpr const char* kEnvNames[] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SERVICE_NAME",
};

// The flag's value, else OTEL_EXPORTER_OTLP_METRICS_<X>, else OTEL_EXPORTER_OTLP_<X>; `from` names
// where it came from (for errors).
std::string pick(const OtlpConfig& o, const std::string& flag_value, const std::string& flag,
                 const std::string& x, std::string* from) {
  if (!flag_value.empty()) {
    *from = flag;
    return flag_value;
  }
  for (const auto& name : {"OTEL_EXPORTER_OTLP_METRICS_" + x, "OTEL_EXPORTER_OTLP_" + x}) {
    auto it = o.env.find(name);
    if (it != o.env.end() && !it->second.empty()) {
      *from = name;
      return it->second;
    }
  }
  from->clear();
  return "";
}

// Milliseconds as the OTEL_* variables write them (an integer), or a duration as the flags do.
Result<std::chrono::milliseconds> env_or_flag_ms(const std::string& from, const std::string& v,
                                                 std::chrono::milliseconds min) {
  if (from.rfind("OTEL_", 0) == 0) {
    std::uint64_t ms = 0;
    if (v.empty() || v.size() > 9)
      return Error{0, from + ": want milliseconds (got \"" + v + "\")"};
    for (char c : v) {
      if (c < '0' || c > '9') return Error{0, from + ": want milliseconds (got \"" + v + "\")"};
      ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (std::chrono::milliseconds(ms) < min)
      return Error{0, from + ": want at least " + std::to_string(min.count()) + " ms"};
    return std::chrono::milliseconds(ms);
  }
  return duration_flag_ms(from, v, min, std::chrono::hours(24));
}

bool absolute(const std::string& p) {
  return !p.empty() && p[0] == '/';
}

Result<void> validate_textfile(TextfileConfig& t) {
  if (t.path.empty()) return {};
  if (!absolute(t.path) || t.path.back() == '/')
    return Error{0, "--output.textfile: want an absolute file path (got \"" + t.path + "\")"};
  const std::string base = t.path.substr(t.path.rfind('/') + 1);
  if (base == "." || base == "..")
    return Error{0, "--output.textfile: want a file name, not \"" + base + "\""};
  const std::string& m = t.mode_text;
  unsigned mode = 0;
  bool ok = !m.empty() && m.size() <= 4;
  for (char c : m) {
    if (c < '0' || c > '7') ok = false;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (!ok || (mode & ~0666u) != 0)
    return Error{0,
                 "--output.textfile.mode: want octal permissions without execute or special "
                 "bits, e.g. 0644 or 0640 (got \"" +
                     m + "\")"};
  t.mode = mode;
  return {};
}

}  // namespace

Result<void> resolve_otlp(OtlpConfig& o) {
  std::string from;
  std::string endpoint = o.endpoint;
  bool base_url = false;  // OTEL_EXPORTER_OTLP_ENDPOINT: /v1/metrics is appended to its path
  if (endpoint.empty()) {
    auto m = o.env.find("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    auto g = o.env.find("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (m != o.env.end() && !m->second.empty()) {
      endpoint = m->second;
      from = m->first;
    } else if (g != o.env.end() && !g->second.empty()) {
      endpoint = g->second;
      from = g->first;
      base_url = true;
    }
  } else {
    from = "--output.otlp.endpoint";
  }
  if (endpoint.empty()) {
    if (!o.protocol.empty() || !o.headers.empty() || !o.certificate.empty() ||
        !o.client_certificate.empty() || !o.client_key.empty())
      return Error{0,
                   "--output.otlp.*: set --output.otlp.endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT)"};
    o.enabled = false;
    return {};
  }
  o.enabled = true;

  std::string pfrom;
  const std::string protocol = pick(o, o.protocol, "--output.otlp.protocol", "PROTOCOL", &pfrom);
  if (protocol.empty() || protocol == "http/protobuf") {
    o.grpc = false;
  } else if (protocol == "grpc") {
    o.grpc = true;
  } else {
    return Error{0, pfrom + ": want grpc or http/protobuf (got \"" + protocol + "\")"};
  }

  // scheme://host[:port][/path]
  const std::size_t sep = endpoint.find("://");
  const std::string scheme = sep == std::string::npos ? "" : endpoint.substr(0, sep);
  if (scheme != "http" && scheme != "https")
    return Error{0, from + ": want an http:// or https:// URL (got \"" + endpoint + "\")"};
  o.tls = scheme == "https";
  const std::string rest = endpoint.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.empty() || authority.find_first_of("@ \t?#") != std::string::npos)
    return Error{0, from + ": want scheme://host[:port][/path] without user info (got \"" +
                        endpoint + "\")"};
  for (char c : endpoint)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return Error{0, from + ": control character or space in the URL"};
  if (o.grpc) {
    o.url = authority;  // the target; the path of a gRPC endpoint is the service's, fixed
  } else {
    if (base_url) {
      if (!path.empty() && path.back() == '/') path.pop_back();
      path += "/v1/metrics";
    } else if (path.empty() || path == "/") {
      path = "/v1/metrics";
    }
    o.url = scheme + "://" + authority + path;
  }

  std::string hfrom;
  const std::string headers = pick(o, o.headers, "--output.otlp.headers", "HEADERS", &hfrom);
  if (!headers.empty()) {
    std::string err;
    auto kv = parse_otel_key_values(headers, &err);
    if (!kv) return Error{0, hfrom + ": " + err};
    o.header_list = std::move(*kv);
    if (o.grpc)
      for (const auto& [k, v] : o.header_list)
        if (!is_grpc_metadata_key(k))
          return Error{0, hfrom + ": \"" + k +
                              "\" cannot be gRPC metadata (want letters, digits, '-', '_', '.'; "
                              "not grpc-*, not *-bin)"};
  }

  std::string tfrom;
  const std::string timeout = pick(o, o.timeout_text, "--output.otlp.timeout", "TIMEOUT", &tfrom);
  if (!timeout.empty()) {
    auto t = env_or_flag_ms(tfrom, timeout, std::chrono::milliseconds(100));
    if (!t.ok()) return t.error();
    o.timeout = *t;
  }
  std::string ifrom = "--output.otlp.interval";
  std::string interval = o.interval_text;
  if (interval.empty()) {
    auto it = o.env.find("OTEL_METRIC_EXPORT_INTERVAL");
    if (it != o.env.end() && !it->second.empty()) {
      interval = it->second;
      ifrom = it->first;
    }
  }
  if (!interval.empty()) {
    auto t = env_or_flag_ms(ifrom, interval, std::chrono::milliseconds(100));
    if (!t.ok()) return t.error();
    o.interval = *t;
  }

  std::string cfrom;
  const std::string comp =
      pick(o, o.compression, "--output.otlp.compression", "COMPRESSION", &cfrom);
  if (comp.empty() || comp == "gzip") {
    o.gzip = true;
  } else if (comp == "none") {
    o.gzip = false;
  } else {
    return Error{0, cfrom + ": want gzip or none (got \"" + comp + "\")"};
  }

  struct File {
    const std::string& flag_value;
    const char* flag;
    const char* x;
    std::string* out;
  } files[] = {
      {o.certificate, "--output.otlp.certificate", "CERTIFICATE", &o.ca_file},
      {o.client_certificate, "--output.otlp.client-certificate", "CLIENT_CERTIFICATE",
       &o.cert_file},
      {o.client_key, "--output.otlp.client-key", "CLIENT_KEY", &o.key_file},
  };
  for (File& f : files) {
    std::string ffrom;
    *f.out = pick(o, f.flag_value, f.flag, f.x, &ffrom);
    if (!f.out->empty() && !absolute(*f.out))
      return Error{0, ffrom + ": want an absolute path (got \"" + *f.out + "\")"};
  }
  if (o.cert_file.empty() != o.key_file.empty())
    return Error{0, "--output.otlp.client-certificate and --output.otlp.client-key go together"};
  if (!o.tls && (!o.ca_file.empty() || !o.cert_file.empty()))
    return Error{0, from + ": TLS files are set but the endpoint is not https:// (got \"" +
                        endpoint + "\")"};
  if (o.queue_size == 0 || o.queue_size > 1024)
    return Error{0, "--output.otlp.queue-size: want 1 to 1024"};

  // Resource: defaults, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME (the spec's order).
  KeyValues res;
  if (auto it = o.env.find("OTEL_RESOURCE_ATTRIBUTES"); it != o.env.end() && !it->second.empty()) {
    std::string err;
    auto kv = parse_otel_key_values(it->second, &err);
    if (!kv) return Error{0, "OTEL_RESOURCE_ATTRIBUTES: " + err};
    res = std::move(*kv);
  }
  if (auto it = o.env.find("OTEL_SERVICE_NAME"); it != o.env.end() && !it->second.empty()) {
    std::erase_if(res, [](const auto& kv) { return kv.first == "service.name"; });
    res.emplace_back("service.name", it->second);
  }
  o.resource = std::move(res);
  return {};
}

const std::vector<std::string>& otlp_environment_names() {
  static const std::vector<std::string> names(std::begin(kEnvNames), std::end(kEnvNames));
  return names;
}

void add_output_flags(CLI::App& app, OutputsConfig& cfg) {
  TextfileConfig& t = cfg.textfile;
  app.add_option("--output.textfile", t.path,
                 "after each rendering, write the exposition (no per-scrape self-metrics) to this "
                 "file atomically, for node_exporter's textfile collector (name it *.prom); the "
                 "directory is opened at start");
  app.add_option("--output.textfile.mode", t.mode_text,
                 "permissions of the text file (octal, no execute bits)")
      ->capture_default_str();
  OtlpConfig& o = cfg.otlp;
  app.add_option("--output.otlp.endpoint", o.endpoint,
                 "push the metrics over OTLP to this URL (http/protobuf: a URL without a path "
                 "gets /v1/metrics; grpc: scheme://host:port); default OTEL_EXPORTER_OTLP_"
                 "[METRICS_]ENDPOINT, none: no push");
  app.add_option("--output.otlp.protocol", o.protocol,
                 "http/protobuf or grpc (default OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL, else "
                 "http/protobuf)");
  app.add_option("--output.otlp.headers", o.headers,
                 "extra request headers, key=value,... with percent-encoded values (default "
                 "OTEL_EXPORTER_OTLP_[METRICS_]HEADERS)");
  app.add_option("--output.otlp.interval", o.interval_text,
                 "time between pushes (default OTEL_METRIC_EXPORT_INTERVAL ms, else 60s)");
  app.add_option("--output.otlp.timeout", o.timeout_text,
                 "time one export request may take (default OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT "
                 "ms, else 10s)");
  app.add_option("--output.otlp.compression", o.compression,
                 "gzip or none (default OTEL_EXPORTER_OTLP_[METRICS_]COMPRESSION, else gzip)");
  app.add_option("--output.otlp.certificate", o.certificate,
                 "CA certificate file (PEM) to verify an https:// collector with (default "
                 "OTEL_EXPORTER_OTLP_[METRICS_]CERTIFICATE, else the system's CAs)");
  app.add_option("--output.otlp.client-certificate", o.client_certificate,
                 "client certificate (PEM) for mutual TLS (default OTEL_EXPORTER_OTLP_[METRICS_]"
                 "CLIENT_CERTIFICATE)");
  app.add_option("--output.otlp.client-key", o.client_key,
                 "client private key (PEM) for mutual TLS (default OTEL_EXPORTER_OTLP_[METRICS_]"
                 "CLIENT_KEY)");
  app.add_option("--output.otlp.queue-size", o.queue_size,
                 "export requests kept while the collector is slow or down; when full the oldest "
                 "is dropped (and counted)")
      ->capture_default_str();
}

Result<void> validate_outputs(OutputsConfig& cfg) {
  if (auto r = validate_textfile(cfg.textfile); !r.ok()) return r;
  if (auto r = resolve_otlp(cfg.otlp); !r.ok()) return r;
  return {};
}

}  // namespace hostflow::exporter
