// The seccomp rule groups the exporter's areas ask for (areas/area.h policy_needs()), as plain
// data; privilege/seccomp_policy.cc turns them into rules. hostflow-exporter.
#pragma once

namespace hostflow::exporter {

struct ExporterPolicyOptions {
  bool feed_fetch = false;  // a threat list with a URL: TCP to the feed, DNS (libcurl, glibc)
  bool state_writes =
      false;  // the feed cache (state dir) or the threat log: create, append, rename
  // >= 0 (--haproxy.log given): writing the HAProxy position file is allowed -- creating or
  // truncating a file write-only relative to this directory fd (never through a symlink),
  // renaming within it, and fsync.
  int haproxy_state_dir_fd = -1;
  bool log_file = false;  // --log.file: reopening it on SIGHUP (openat O_WRONLY|O_APPEND|O_CREAT)
  bool tls = false;       // --web.config.file with TLS: OpenSSL reseeding its DRBG (getrandom)
  // >= 0 (--output.textfile given): the text file's directory fd; creating a new file in it
  // (O_CREAT|O_EXCL|O_NOFOLLOW), fchmod, fsync, renaming and unlinking within it are allowed.
  int textfile_dir_fd = -1;
  // --output.otlp.endpoint (or OTEL_EXPORTER_OTLP_*): outbound HTTP(S) with libcurl, like
  // feed_fetch (the same rule group).
  bool otlp_push = false;
  // --output.otlp.protocol=grpc: grpc++'s own threads, pollers and wake-ups on top of otlp_push
  // (seccomp_policy.cc, the "OTLP over gRPC" group).
  bool otlp_grpc = false;
  // >= 0 (--web.enable-admin-api): the segment's directory fd (O_PATH); opening the sampler's
  // wake FIFO in it write-only and non-blocking is allowed (POST /collect).
  int wake_dir_fd = -1;
};

}  // namespace hostflow::exporter
