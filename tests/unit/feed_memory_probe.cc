// The measuring half of the FeedMemory tests (conntrack_test.cc; issue 12, defect 3): the memory
// a feed parse takes is bounded by the body, whatever the body holds. One case per run, in a
// process of its own so that AddressSanitizer's quarantine can be off here and stay on in the
// test executables: it builds the body, resets its peak RSS (/proc/self/clear_refs "5"), parses,
// and prints "<parsed 0|1> <VmHWM minus the resident set before the body existed, kB> <body
// bytes>". (A DOM parse of 16 MB of "[" peaked at 1.22 GB; a valid 20 MB Onionoo document at 257
// MB.)
//
//   feed_memory_probe open-brackets | deep-in-object | onionoo | addresses | cidr-list
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "areas/conntrack/threat_feeds.h"

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer keeps freed memory in a quarantine (256 MiB by default) and so holds pages
// resident that a release build returns: this process measures the code, not the quarantine.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
}
#endif

namespace {

using hostflow::exporter::Cidr;
using hostflow::exporter::FeedFormat;
using hostflow::exporter::parse_feed;

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  return -1;
}

// 16 MiB of "[": the deepest a body of that size can nest.
std::string open_brackets() {
  return std::string(16u << 20, '[');
}

// The same depth inside an object, where the relays are expected.
std::string deep_in_object() {
  std::string b = "{\"relays\":";
  b.append((16u << 20) - b.size(), '[');
  return b;
}

// A realistic document: relays with the fields Onionoo's details documents have.
std::string onionoo() {
  std::string b = "{\"version\":\"8.0\",\"relays_published\":\"2026-12-04 12:00:00\",\"relays\":[";
  for (unsigned i = 0; b.size() < (20u << 20); i++) {
    char r[512];
    std::snprintf(r, sizeof r,
                  "%s{\"nickname\":\"relay%u\",\"fingerprint\":\"%040X\",\"or_addresses\":"
                  "[\"%u.%u.%u.%u:9001\",\"[2001:db8:%x::%x]:9001\"],\"exit_addresses\":"
                  "[\"%u.%u.%u.%u\"],\"running\":true,\"flags\":[\"Exit\",\"Fast\","
                  "\"Running\",\"Valid\"],\"country\":\"de\",\"as\":\"AS%u\"}",
                  i ? "," : "", i, i, 10 + (i >> 16) % 200, (i >> 8) & 255, i & 255, 1, i >> 16,
                  i & 0xffff, 10 + (i >> 16) % 200, (i >> 8) & 255, i & 255, 2, 64512 + i % 1000);
    b += r;
  }
  b += "]}";
  return b;
}

// The most addresses a body can hold: every byte an address.
std::string addresses() {
  std::string b = "{\"relays\":[{\"or_addresses\":[";
  for (unsigned i = 0; b.size() < (20u << 20); i++) {
    char a[32];
    std::snprintf(a, sizeof a, "%s\"%u.%u.%u.%u:1\"", i ? "," : "", 1 + (i >> 24), (i >> 16) & 255,
                  (i >> 8) & 255, i & 255);
    b += a;
  }
  b += "]}]}";
  return b;
}

std::string cidr_list() {
  std::string b;
  for (unsigned i = 0; b.size() < (20u << 20); i++) {
    char a[32];
    std::snprintf(a, sizeof a, "%u.%u.%u.%u\n", 1 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255,
                  i & 255);
    b += a;
  }
  return b;
}

struct Case {
  const char* name;
  FeedFormat format;
  std::string (*make_body)();
};
constexpr Case kCases[] = {
    {"open-brackets", FeedFormat::kOnionoo, open_brackets},
    {"deep-in-object", FeedFormat::kOnionoo, deep_in_object},
    {"onionoo", FeedFormat::kOnionoo, onionoo},
    {"addresses", FeedFormat::kOnionoo, addresses},
    {"cidr-list", FeedFormat::kCidrList, cidr_list},
};

}  // namespace

int main(int argc, char** argv) {
  const Case* c = nullptr;
  for (const Case& k : kCases)
    if (argc == 2 && std::string(argv[1]) == k.name) c = &k;
  if (!c) {
    std::fprintf(
        stderr,
        "usage: feed_memory_probe open-brackets|deep-in-object|onionoo|addresses|cidr-list\n");
    return 2;
  }
  const long before = status_kb("VmRSS:");
  std::string body = c->make_body();
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := current RSS
  std::vector<Cidr> out;
  std::string err;
  const bool ok = parse_feed(c->format, body, &out, &err);
  const long hwm = status_kb("VmHWM:");
  std::printf("%d %ld %zu\n", ok ? 1 : 0, hwm - before, body.size());
  return 0;
}
