#include "support.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace hostflow::test {

bool strict() {
  const char* v = std::getenv("HOSTFLOW_TEST_STRICT");
  return v && std::string(v) == "1";
}

bool is_root() {
  return ::geteuid() == 0;
}

bool have_command(const std::string& name) {
  return sh("command -v " + name + " >/dev/null 2>&1").exit_code == 0;
}

namespace {

void read_all(int fd, std::string* out) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out->append(buf, static_cast<std::size_t>(n));
    if (n <= 0) break;
  }
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  RunResult r;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return r;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool done = false;
  while (!done) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    ::poll(fds, 2, 20);
    read_all(out[0], &r.out);
    read_all(err[0], &r.err);
    if (waitpid(pid, &status, WNOHANG) == pid) done = true;
    if (!done && std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.err += "\n[timed out]";
      close(out[0]);
      close(err[0]);
      return r;
    }
  }
  read_all(out[0], &r.out);
  read_all(err[0], &r.err);
  close(out[0]);
  close(err[0]);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

RunResult sh(const std::string& cmd, std::chrono::milliseconds timeout) {
  return run({"/bin/sh", "-c", cmd}, timeout);
}

std::string sh_ok(const std::string& cmd) {
  RunResult r = sh(cmd);
  EXPECT_EQ(r.exit_code, 0) << "command failed: " << cmd << "\nstdout: " << r.out
                            << "\nstderr: " << r.err;
  return r.out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    ADD_FAILURE() << "cannot read " << path << ": " << std::strerror(e);
    return "";
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) ADD_FAILURE() << "error reading " << path;
  return bytes;
}

std::string read_file_if_exists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string unique_name(const std::string& prefix, std::size_t max_len) {
  static std::atomic<int> counter{0};
  std::string s = prefix + std::to_string(::getpid() % 100000) + "x" + std::to_string(counter++);
  if (s.size() > max_len) s = s.substr(s.size() - max_len);
  return s;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/hostflow-test-XXXXXX";
  const char* p = mkdtemp(tmpl);
  path_ = p ? p : "/tmp";
}

TempDir::~TempDir() {
  if (path_ != "/tmp") {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    // Unblock everything the test runner may have blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  kill_and_wait();
}

Process::Process(Process&& o) noexcept : pid_(o.pid_), log_path_(std::move(o.log_path_)) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    kill_and_wait();
    pid_ = o.pid_;
    log_path_ = std::move(o.log_path_);
    o.pid_ = -1;
  }
  return *this;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

void Process::kill_and_wait() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Process::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Netns::Netns(const std::string& prefix) : name_(unique_name(prefix, 24)) {
  RunResult r = run({"ip", "netns", "add", name_});
  EXPECT_EQ(r.exit_code, 0) << "ip netns add " << name_ << ": " << r.err;
  exec_ok("ip link set lo up");
}

Netns::~Netns() {
  run({"ip", "netns", "del", name_});
}

std::string Netns::exec_ok(const std::string& cmd) const {
  RunResult r = run({"ip", "netns", "exec", name_, "/bin/sh", "-c", cmd});
  EXPECT_EQ(r.exit_code, 0) << "in netns " << name_ << ": " << cmd << "\nstdout: " << r.out
                            << "\nstderr: " << r.err;
  return r.out;
}

namespace {
std::size_t curl_write(char* p, std::size_t size, std::size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * n);
  return size * n;
}
std::size_t curl_header(char* p, std::size_t size, std::size_t n, void* ud) {
  auto* h = static_cast<std::map<std::string, std::string>*>(ud);
  std::string line(p, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!v.empty() && (v.front() == ' ')) v.erase(v.begin());
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.pop_back();
    (*h)[k] = v;
  }
  return size * n;
}
}  // namespace

HttpResult http_get(const std::string& url, const std::vector<std::string>& headers,
                    std::chrono::milliseconds timeout, bool decode_gzip) {
  HttpResult r;
  CURL* c = curl_easy_init();
  curl_slist* hl = nullptr;
  for (const auto& h : headers) hl = curl_slist_append(hl, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, curl_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  if (decode_gzip) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  const auto ct = r.headers.find("content-type");
  const auto ce = r.headers.find("content-encoding");
  const bool encoded =
      ce != r.headers.end() && ce->second.find("gzip") != std::string::npos && !decode_gzip;
  if (r.status == 200 && !encoded && ct != r.headers.end() &&
      ct->second.rfind("text/plain; version=0.0.4", 0) == 0)
    check_exposition_invariants(r.body, url);
  return r;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::optional<double> Exposition::get(const std::string& key) const {
  auto it = series.find(key);
  if (it == series.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, double> Exposition::family(const std::string& name) const {
  std::map<std::string, double> out;
  for (const auto& [k, v] : series) {
    if (k == name ||
        (k.size() > name.size() && k.compare(0, name.size(), name) == 0 && k[name.size()] == '{'))
      out.emplace(k, v);
  }
  return out;
}

Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    // The series key ends at the last space outside a quoted label value.
    bool quoted = false, escaped = false;
    std::size_t split = std::string::npos;
    for (std::size_t i = 0; i < line.size(); i++) {
      const char c = line[i];
      if (escaped) {
        escaped = false;
        continue;
      }
      if (c == '\\')
        escaped = true;
      else if (c == '"')
        quoted = !quoted;
      else if (c == ' ' && !quoted) {
        split = i;
        break;
      }
    }
    if (split == std::string::npos || quoted) {
      e.errors.push_back(line);
      continue;
    }
    const std::string key = line.substr(0, split);
    std::string value = line.substr(split + 1);
    const auto sp = value.find(' ');  // optional timestamp
    if (sp != std::string::npos) value = value.substr(0, sp);
    double v;
    try {
      v = std::stod(value);
    } catch (...) {
      e.errors.push_back(line);
      continue;
    }
    if (!e.series.emplace(key, v).second) e.duplicates.push_back(key);
  }
  return e;
}

std::string series_name(const std::string& key) {
  return key.substr(0, key.find('{'));
}

std::map<std::string, std::string> series_labels(const std::string& key) {
  std::map<std::string, std::string> out;
  std::size_t i = key.find('{');
  if (i == std::string::npos) return out;
  i++;
  while (i < key.size() && key[i] != '}') {
    const std::size_t eq = key.find('=', i);
    if (eq == std::string::npos || eq + 1 >= key.size() || key[eq + 1] != '"') break;
    std::string name = key.substr(i, eq - i), value;
    std::size_t j = eq + 2;
    for (; j < key.size() && key[j] != '"'; j++) {
      if (key[j] == '\\' && j + 1 < key.size()) {
        j++;
        value += key[j] == 'n' ? '\n' : key[j];
      } else {
        value += key[j];
      }
    }
    out[name] = value;
    i = j + 1;
    if (i < key.size() && key[i] == ',') i++;
  }
  return out;
}

std::map<std::string, double> canonical_series(const Exposition& e) {
  std::map<std::string, double> out;
  for (const auto& [key, v] : e.series) {
    std::string k = series_name(key) + "{";
    for (const auto& [n, l] : series_labels(key)) k += n + "=\"" + l + "\",";
    out[k + "}"] = v;
  }
  return out;
}

bool is_scrape_tail(const std::string& key) {
  return key.rfind("hostflow_exporter_", 0) == 0 ||
         key.rfind("hostflow_snapshot_age_seconds", 0) == 0 || key.rfind("process_", 0) == 0;
}

nlohmann::json ip_json(const std::string& args, const std::string& netns) {
  const std::string cmd =
      "ip " + (netns.empty() ? std::string() : "-n " + netns + " ") + "-j " + args;
  RunResult r = sh(cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
  if (r.exit_code != 0) return nlohmann::json::array();
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << cmd << " printed no JSON: " << r.out;
  return j.is_discarded() ? nlohmann::json::array() : j;
}

std::string url_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

// RFC 3629 UTF-8, written here independently of the code under test.
bool is_utf8(const std::string& s, std::size_t* bad_at) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07;
    } else {
      *bad_at = i;
      return false;
    }
    if (i + n > s.size()) {
      *bad_at = i;
      return false;
    }
    for (std::size_t k = 1; k < n; k++) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        *bad_at = i;
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    const std::uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad_at = i;
      return false;
    }
    i += n;
  }
  return true;
}

// promtool's naming lint on names the replaced tools chose and users' dashboards know: their
// compatibility profiles (docs/compat.md) serve them exactly, so only these two naming problems
// of these prefixes are accepted; anything else promtool says still fails.
// node_processes_total: seed 003's gauge (docs/compat.md#platform).
constexpr const char* kFixedToolPrefixes[] = {"oie_", "node_processes_total"};
std::string unexpected_lint(const std::string& out) {
  std::string rest;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    bool fixed = false;
    for (const char* p : kFixedToolPrefixes)
      fixed = fixed ||
              (line.rfind(p, 0) == 0 &&
               (line.find(" counter metrics should have \"_total\" suffix") != std::string::npos ||
                line.find(" non-counter metrics should not have \"_total\" suffix") !=
                    std::string::npos));
    if (!fixed && !line.empty()) rest += line + "\n";
  }
  return rest;
}

std::atomic<std::size_t> g_checked{0};
std::mutex g_shapes_mu;
std::set<std::size_t> g_shapes_linted;

}  // namespace

std::size_t expositions_checked() {
  return g_checked.load();
}

void check_exposition_invariants(const std::string& text, const std::string& where, bool lint) {
  g_checked++;
  SCOPED_TRACE("exposition invariants" + (where.empty() ? std::string() : " of " + where));
  std::size_t bad_at = 0;
  EXPECT_TRUE(is_utf8(text, &bad_at)) << "invalid UTF-8 at byte " << bad_at << ": "
                                      << text.substr(bad_at >= 80 ? bad_at - 80 : 0, 160);
  const Exposition e = parse_exposition(text);
  EXPECT_TRUE(e.duplicates.empty())
      << e.duplicates.size()
      << " duplicate series, first: " << (e.duplicates.empty() ? "" : e.duplicates.front());
  EXPECT_TRUE(e.errors.empty()) << e.errors.size() << " unparsable lines, first: "
                                << (e.errors.empty() ? "" : e.errors.front());
  std::size_t too_long = 0;
  std::string example;
  for (const auto& [key, v] : e.series) {
    for (const auto& [name, value] : series_labels(key)) {
      if (value.size() > kMaxLabelValueBytes) {
        too_long++;
        if (example.empty())
          example = name + " (" + std::to_string(value.size()) + " bytes) in " + key.substr(0, 200);
      }
    }
  }
  EXPECT_EQ(too_long, 0u) << "label values over " << kMaxLabelValueBytes << " bytes, e.g. "
                          << example;
  if (!lint) return;
  // promtool lints names, HELP and TYPE: once per distinct shape (values stripped).
  std::string shape;
  shape.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::size_t nl = text.find('\n', i);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + i, nl - i);
    if (!line.empty() && line.front() != '#') {
      const std::size_t close = line.rfind('}');
      const std::size_t sp = line.find(' ', close == std::string_view::npos ? 0 : close);
      line = line.substr(0, sp);
    }
    shape.append(line).push_back('\n');
    i = nl + 1;
  }
  const std::size_t h = std::hash<std::string>{}(shape);
  if (!strict() && !have_command("promtool")) return;  // reported by the tests that need it
  {
    std::lock_guard<std::mutex> lock(g_shapes_mu);
    if (!g_shapes_linted.insert(h).second) return;
  }
  const RunResult p = promtool_check(text);
  const bool clean = p.exit_code == 0;
  EXPECT_TRUE(clean) << "promtool check metrics (exit " << p.exit_code << "): " << p.out;
  if (!clean) {
    std::lock_guard<std::mutex> lock(g_shapes_mu);
    g_shapes_linted.erase(h);
  }
}

RunResult promtool_check(const std::string& text) {
  TempDir d;
  const std::string f = d.path() + "/metrics.prom";
  std::ofstream(f) << text;
  RunResult r = sh("promtool check metrics < " + f + " 2>&1");
  // Exit 3: lint problems only (1: the text does not parse). The replaced tools' own names are
  // the only ones waived; the result then reads as clean.
  if (r.exit_code == 3) {
    r.out = unexpected_lint(r.out);
    if (r.out.empty()) r.exit_code = 0;
  }
  return r;
}

Stack::Stack(StackOptions opts) : opts_(std::move(opts)) {
  segment_ = dir_.path() + "/segment";
  port_ = free_port();
  if (!getgrnam("hostflow")) sh("groupadd --system hostflow");
  // The exporter's user must reach the segment: dir 0750 root:hostflow, file 0640 root:hostflow.
  sh("chgrp hostflow " + dir_.path() + " && chmod 0750 " + dir_.path());
}

Stack::~Stack() {
  exporter_.kill_and_wait();
  sampler_.kill_and_wait();
}

void Stack::start_sampler() {
  std::vector<std::string> argv;
  if (!opts_.netns.empty()) argv = {"ip", "netns", "exec", opts_.netns};
  for (const auto& a : opts_.sampler_prefix) argv.push_back(a);
  for (const auto& a : std::vector<std::string>{HOSTFLOW_SAMPLER_BIN, "--segment", segment_,
                                                "--interval", opts_.interval})
    argv.push_back(a);
  for (const auto& a : opts_.sampler_args) argv.push_back(a);
  sampler_ = Process(argv, dir_.path() + "/sampler.log");
}

std::vector<std::string> Stack::all_features_args() {
  const char* env = std::getenv("HOSTFLOW_TEST_ALL_FEATURES");
  if (!opts_.all_features || (env && std::string(env) == "0")) return {};
  auto given = [&](const std::string& prefix) {
    for (const auto& a : opts_.exporter_args)
      if (a.rfind(prefix, 0) == 0) return true;
    return false;
  };
  std::vector<std::string> args;
  const std::string all = dir_.path() + "/all-features";
  const std::string owner = opts_.exporter_user.empty() ? "root" : opts_.exporter_user;
  sh("mkdir -p " + all + "/state " + all + "/feeds && chmod 0755 " + all + " " + all +
     "/feeds && chown " + owner + " " + all + "/state && chmod 0700 " + all + "/state");
  if (!given("--state.dir")) args.insert(args.end(), {"--state.dir", all + "/state"});
  if (!given("--haproxy.")) {
    std::ofstream(all + "/haproxy.log")
        << "127.0.0.1:40000 [04/Dec/2026:13:00:00.000] fe be/srv 0/0/5 100 200 -- 1/1/0/0/0 0/0 "
           "all-features.example\n";
    ::chmod((all + "/haproxy.log").c_str(), 0644);
    args.insert(args.end(),
                {"--haproxy.log", all + "/haproxy.log", "--haproxy.render-interval", "1s"});
  }
  if (!given("--web.enable-admin-api")) args.push_back("--web.enable-admin-api");
  // --log.file: in the exporter's own state directory (it may create a new one after SIGHUP).
  if (!given("--log.file")) args.insert(args.end(), {"--log.file", all + "/state/exporter.log"});
  // Every compatibility profile at once (issue 14): each scrape's invariants (promtool, no
  // duplicate series) then hold with all of them on.
  if (!given("--compat")) args.push_back("--compat=truenas,netprobe,oie,traffic,platform");
  if (!given("--web.cors") && !given("--no-web.cors")) args.push_back("--web.cors");
  const bool feeds = !given("--tor.") && !given("--spamhaus.") && !given("--emergingthreats.") &&
                     !given("--customlist.");
  // The outputs (issue 15): a text file, and an OTLP/HTTP push every second to the feed server
  // (it answers a POST 200 and drops the body) by the same host name with two addresses.
  const bool outputs = !given("--output.");
  if (feeds || outputs) {
    if (!feed_server_.running()) {
      std::ofstream(all + "/feeds/et.txt") << "# all-features feed\n198.51.100.77\n";
      ::chmod((all + "/feeds/et.txt").c_str(), 0644);
      feed_port_ = free_port();
      feed_server_ = Process({"/usr/bin/python3", "-u", HOSTFLOW_FEED_SERVER, all + "/feeds",
                              std::to_string(feed_port_)},
                             all + "/feed_server.log");
      wait_until(
          [&] {
            return feed_server_.log().find("ready") != std::string::npos || !feed_server_.running();
          },
          std::chrono::seconds(10));
    }
    const std::string host = "all-features-" + std::to_string(::getpid()) + ".hostflow.test";
    if (std::find(opts_.exporter_hosts.begin(), opts_.exporter_hosts.end(), "::1 " + host) ==
        opts_.exporter_hosts.end()) {
      opts_.exporter_hosts.push_back("127.0.0.1 " + host);
      opts_.exporter_hosts.push_back("::1 " + host);
      if (opts_.exporter_hosts.size() == 2) {  // the machine's own names too
        opts_.exporter_hosts.push_back("127.0.0.1 localhost");
        opts_.exporter_hosts.push_back("::1 localhost");
      }
    }
    const std::string server = "http://" + host + ":" + std::to_string(feed_port_);
    if (feeds)
      args.insert(args.end(), {"--emergingthreats.enable", "--emergingthreats.url",
                               server + "/et.txt", "--emergingthreats.refresh", "2s"});
    if (outputs) {
      sh("mkdir -p " + all + "/textfile && chown " + owner + " " + all + "/textfile");
      args.insert(args.end(), {"--output.textfile", all + "/textfile/hostflow.prom",
                               "--output.otlp.endpoint", server, "--output.otlp.interval", "1s"});
    }
  }
  return args;
}

void Stack::start_exporter() {
  const std::vector<std::string> extra = all_features_args();
  std::vector<std::string> argv;
  if (!opts_.exporter_hosts.empty()) {
    const std::string hosts = dir_.path() + "/hosts";
    {
      std::ofstream out(hosts);
      for (const auto& l : opts_.exporter_hosts) out << l << "\n";
    }
    ::chmod(hosts.c_str(), 0644);
    argv = {"unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
            hosts};
  }
  if (!opts_.exporter_user.empty()) {
    // As the unit runs it: its own user, no groups, an empty bounding set
    // (CapabilityBoundingSet=) and nothing inheritable.
    for (const std::string& a :
         std::vector<std::string>{"setpriv", "--reuid=" + opts_.exporter_user, "--regid=hostflow",
                                  "--clear-groups", "--bounding-set=-all", "--inh-caps=-all", "--"})
      argv.push_back(a);
  }
  for (const auto& a : std::vector<std::string>{
           HOSTFLOW_EXPORTER_BIN, "--segment", segment_, "--web.listen-address",
           "127.0.0.1:" + std::to_string(port_), "--segment.poll-interval", "50ms"})
    argv.push_back(a);
  if (opts_.exporter_user.empty()) argv.push_back("--allow-root");
  for (const auto& a : opts_.exporter_args) argv.push_back(a);
  for (const auto& a : extra) argv.push_back(a);
  exporter_ = Process(argv, dir_.path() + "/exporter.log");
}

std::string Stack::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

Exposition Stack::scrape() {
  return parse_exposition(http_get(url()).body);
}

std::uint64_t Stack::generation() {
  auto v = scrape().get("hostflow_snapshot_generation");
  return v ? static_cast<std::uint64_t>(*v) : 0;
}

bool Stack::wait_fresh(std::uint64_t after, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        Exposition e = scrape();
        auto up = e.get("hostflow_sampler_up");
        auto gen = e.get("hostflow_snapshot_generation");
        return up && *up == 1 && gen && static_cast<std::uint64_t>(*gen) > after;
      },
      timeout);
}

}  // namespace hostflow::test
