// Test support for hostflow's unit and integration tests: read files, run commands, own processes
// and network namespaces (RAII, cleaned up even when a test fails), fetch over HTTP, parse the
// exposition independently of the code under test, and start a sampler + exporter pair.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json_fwd.hpp>

namespace hostflow::test {

// HOSTFLOW_TEST_STRICT=1 (CI and the README's test command): a missing prerequisite fails.
bool strict();

// Skips the test with `reason` when `cond` is false (fails instead in strict mode).
#define HF_REQUIRE(cond, reason)                                                    \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      if (::hostflow::test::strict()) FAIL() << "prerequisite missing: " << reason; \
      GTEST_SKIP() << reason;                                                       \
    }                                                                               \
  } while (0)

bool is_root();
bool have_command(const std::string& name);  // in PATH and executable

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};
// Runs argv (no shell), captures stdout/stderr, kills it after `timeout`.
RunResult run(const std::vector<std::string>& argv,
              std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Runs a shell command line with /bin/sh -c.
RunResult sh(const std::string& cmd, std::chrono::milliseconds timeout = std::chrono::seconds(30));
// Like sh(), but a non-zero exit is a test failure (reported with the command and its stderr).
std::string sh_ok(const std::string& cmd);

// A unique name: prefix + pid + counter, at most `max_len` chars (interface names: 15).
std::string unique_name(const std::string& prefix, std::size_t max_len = 15);

// The whole file at `path`, as bytes: the one way tests read a fixture or any other file they
// expect to exist. A file that cannot be read is a test failure naming it and the reason; the
// test goes on with "" (so it also reports what else differs).
std::string read_file(const std::string& path);

// The same for a file that may not exist yet (a poll waiting for it to appear, or for a log file
// a logrotate step has just moved away): "" without a failure while it is absent.
std::string read_file_if_exists(const std::string& path);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with its output going to `log_path`. Killed (SIGKILL) and reaped on destruction.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& argv, const std::string& log_path);
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits up to `timeout` for exit; returns the wait status or nullopt.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill_and_wait();
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// `ip netns add` on construction, `ip netns del` on destruction.
class Netns {
 public:
  explicit Netns(const std::string& prefix = "hft");
  ~Netns();
  const std::string& name() const { return name_; }
  // Runs a shell command inside the netns (ip netns exec NAME sh -c ...); failure fails the test.
  std::string exec_ok(const std::string& cmd) const;
  // argv prefix to run a program inside the netns.
  std::vector<std::string> exec_prefix() const { return {"ip", "netns", "exec", name_}; }

 private:
  std::string name_;
};

struct HttpResult {
  long status = 0;  // 0: no connection
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;
};
HttpResult http_get(const std::string& url, const std::vector<std::string>& headers = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(5),
                    bool decode_gzip = false);

int free_port();

// Polls `pred` every 50 ms until it is true or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Exposition parsing, independent of prometheus-cpp: "name{a="x",b="y"}" -> value. Label order is
// kept as written. Duplicate series are reported in `duplicates`.
struct Exposition {
  std::map<std::string, double> series;
  std::vector<std::string> duplicates;
  std::vector<std::string> errors;  // lines that do not parse
  std::optional<double> get(const std::string& key) const;
  // All series of one metric name.
  std::map<std::string, double> family(const std::string& name) const;
};
Exposition parse_exposition(const std::string& text);

// The metric name of a series key ("name{...}" -> "name").
std::string series_name(const std::string& key);
// The labels of a series key as written by the exposition ("name{a=\"x\"}" -> {a: x}), with
// \\, \" and \n unescaped.
std::map<std::string, std::string> series_labels(const std::string& key);
// Series keyed by name and sorted labels: the same series whatever order a writer put its labels
// in (node_exporter re-serialises; the OTLP decoder's attributes have their own order).
std::map<std::string, double> canonical_series(const Exposition& e);
// A series of the exporter's per-scrape tail (self_metrics.cc, the process_* figures): in
// /metrics, never in a rendering's other outputs (text file, OTLP).
bool is_scrape_tail(const std::string& key);

// `ip -j ARGS` (inside `netns` with -n when not empty), parsed with nlohmann_json. A failing
// command or unparsable output fails the test and returns an empty array.
nlohmann::json ip_json(const std::string& args, const std::string& netns = "");

// Percent-encodes everything but RFC 3986 unreserved characters (for query strings).
std::string url_encode(const std::string& s);

// `promtool check metrics` on `text`; returns its exit code and output. The naming lint on the
// replaced tools' own names (OIE's `_total` on gauges, served exactly by --compat=oie) is waived:
// when it is all promtool said, the result is exit 0 and no output.
RunResult promtool_check(const std::string& text);

// The invariants every exposition a test scrapes must hold (issue 12), checked with gtest
// EXPECTs: valid UTF-8, every line parses, zero duplicate series (promtool does not see them:
// Prometheus keeps the first and drops the rest), no label value longer than
// kMaxLabelValueBytes, and `promtool check metrics` clean (run once per distinct shape: the same
// names, labels, HELP and TYPE lines with other values are not re-linted). http_get() calls it on
// every 200 response with the exposition's content type, so every scrape through the support
// library is checked; call it yourself on text obtained some other way.
inline constexpr std::size_t kMaxLabelValueBytes = 256 + 48;  // the largest cap + a unique suffix
void check_exposition_invariants(const std::string& text, const std::string& where = "",
                                 bool lint = true);
// How many expositions were checked so far in this process (a test can assert it ran).
std::size_t expositions_checked();

// A sampler (optionally inside a netns) + an exporter (as an unprivileged user) on their own
// segment file and port. Stopped on destruction.
struct StackOptions {
  std::string netns;                        // run the sampler inside this netns ("" = current)
  std::vector<std::string> sampler_prefix;  // e.g. {"setpriv", "--bounding-set=-bpf", "--"}
  std::string interval = "500ms";
  std::vector<std::string> sampler_args, exporter_args;
  std::string exporter_user = "nobody";  // "" = run as the current user with --allow-root
  // Lines for the exporter's own /etc/hosts (a private mount namespace with a file bind-mounted
  // over /etc/hosts; the machine's stays untouched). Empty: the machine's.
  std::vector<std::string> exporter_hosts;
  // Every optional exporter feature a test does not configure itself is turned on (issue 12: a
  // syscall reachable only by configuration must not hide from the suite): a threat feed fetched
  // by a host name with two addresses (127.0.0.1 and ::1) from a feed server of the Stack's own,
  // an HAProxy log, the state directory, the admin API, CORS, a --log.file, every
  // compatibility profile (--compat), a text file and an OTLP/HTTP push every second to that
  // server by that name (unless the test gives any --output.* flag). A test that needs
  // one of them off, or asserts on the absence of their series, sets this to false.
  // HOSTFLOW_TEST_ALL_FEATURES=0 turns it off for every Stack (diagnosis only).
  bool all_features = true;
};
class Stack {
 public:
  explicit Stack(StackOptions opts);
  ~Stack();
  void start_sampler();
  void start_exporter();
  Process& sampler() { return sampler_; }
  Process& exporter() { return exporter_; }
  const std::string& segment() const { return segment_; }
  int port() const { return port_; }
  std::string url(const std::string& path = "/metrics") const;
  // Waits until /metrics shows hostflow_sampler_up 1 and a generation newer than `after`.
  bool wait_fresh(std::uint64_t after_generation = 0,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Exposition scrape();
  std::uint64_t generation();

 private:
  // The all_features additions to the exporter's command line (and the feed server they need).
  std::vector<std::string> all_features_args();

  StackOptions opts_;
  TempDir dir_;
  std::string segment_;
  int port_ = 0;
  Process sampler_, exporter_, feed_server_;
  int feed_port_ = 0;
};

}  // namespace hostflow::test
