// Command-line flags of the conntrack features: flow summaries (--conntrack.min), outbound
// behaviour, threat feeds (one group per list, as in the OpenStack Instance Exporter), the threat
// log and host threat matching. main.cc only registers and finishes them. hostflow-exporter.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "features/threat_feeds.h"
#include "hostflow/common/result.h"
#include "pipeline.h"
#include "privilege/seccomp_policy.h"

namespace hostflow::exporter {

struct FeedFlag {
  bool enable = false;
  std::string url, url6, path, refresh, direction;
};

struct ConntrackFlags {
  std::string contacts_direction = "any";
  FeedFlag tor_exit, tor_relay, spamhaus, emergingthreats, customlist;
  bool threatfile = false;
  std::string threatfile_path = "/var/log/hostflow-exporter/threats.log";
  std::string fetch_timeout = "30s", connect_timeout = "10s", retry = "5m";
  std::uint64_t max_bytes = 64ull << 20;
  std::string ca_file;
  std::string host_interfaces;
};

void add_conntrack_flags(CLI::App& app, PipelineOptions& opts, ConntrackFlags& flags);
// The seccomp rule groups these flags need (see exporter/privilege/seccomp_policy.cc).
ExporterPolicyOptions conntrack_policy_needs(const ConntrackFlags& flags);

// Before the seccomp filter: initialises libcurl and OpenSSL and resolves once, so that every
// library or NSS module they load is mapped while mmap(PROT_EXEC) is still possible.
void prepare_feed_fetching(const PipelineOptions& opts);

// Validates, fills opts.conntrack and creates opts.feeds (with its disk cache loaded) when a list is
// enabled. An error names the flag.
Result<void> finish_conntrack_flags(PipelineOptions& opts, const ConntrackFlags& flags);

}  // namespace hostflow::exporter
