// Shared pieces of the VM integration tests (issue 4): unique uuids, QEMU processes that
// daemonize (killed by their own pid), and reading the VM families back from the exposition.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "support.h"

namespace hostflow::test {

// A random (v4) uuid from the kernel, lower case.
inline std::string random_uuid() {
  std::ifstream in("/proc/sys/kernel/random/uuid");
  std::string u;
  std::getline(in, u);
  return u;
}

inline bool pid_alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto p = line.rfind(')');
  return p != std::string::npos && p + 2 < line.size() && line[p + 2] != 'Z';
}

// A process that daemonized and wrote its pid to a file (QEMU -daemonize -pidfile, libvirtd,
// virtlogd): SIGKILLed by that pid on destruction, never by name.
class PidFileProcess {
 public:
  PidFileProcess() = default;
  explicit PidFileProcess(pid_t pid) : pid_(pid) {}
  PidFileProcess(PidFileProcess&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
  PidFileProcess& operator=(PidFileProcess&& o) noexcept {
    if (this != &o) {
      stop();
      pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
  }
  ~PidFileProcess() { stop(); }
  static pid_t read_pid(const std::string& file) {
    std::ifstream in(file);
    long pid = -1;
    in >> pid;
    return in ? static_cast<pid_t>(pid) : -1;
  }
  pid_t pid() const { return pid_; }
  // SIGTERM first (daemons clean up their sockets), SIGKILL after `grace`.
  void stop(int sig = SIGKILL, std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (!wait_until([&] { return !pid_alive(pid_); }, grace)) {
      ::kill(pid_, SIGKILL);
      wait_until([&] { return !pid_alive(pid_); }, std::chrono::seconds(5));
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// hostflow_vm_info / hostflow_vm_interface_info read back for one vm_uuid.
struct ExportedVm {
  std::map<std::string, std::string> info;                   // labels of hostflow_vm_info
  std::set<std::pair<std::string, std::string>> interfaces;  // (interface, kind)
  std::map<std::string, double> values;                      // metric{direction,window} -> value
};
inline std::map<std::string, ExportedVm> exported_vms(const Exposition& e) {
  std::map<std::string, ExportedVm> out;
  for (const auto& [k, v] : e.series) {
    const std::string name = series_name(k);
    if (name.rfind("hostflow_vm_", 0) != 0) continue;
    auto l = series_labels(k);
    if (!l.count("vm_uuid")) continue;
    ExportedVm& vm = out[l["vm_uuid"]];
    if (name == "hostflow_vm_info") {
      vm.info = l;
    } else if (name == "hostflow_vm_interface_info") {
      vm.interfaces.emplace(l["interface"], l["kind"]);
    } else {
      std::string key = name;
      if (l.count("direction"))
        key += "{" + l["direction"] + "," + l["window"] + "}";
      else if (l.count("interface"))
        key += "{" + l["interface"] + "}";
      else if (l.count("disk"))
        key += "{" + l["disk"] + "}";
      vm.values[key] = v;
    }
  }
  return out;
}

// promtool accepts the text and no series appears twice.
inline void expect_valid_exposition(const std::string& text) {
  const RunResult p = promtool_check(text);
  EXPECT_EQ(p.exit_code, 0) << "promtool check metrics:\n" << p.out << p.err;
  const Exposition e = parse_exposition(text);
  EXPECT_TRUE(e.duplicates.empty()) << "duplicate series, first: " << e.duplicates.front();
  EXPECT_TRUE(e.errors.empty()) << "unparsable line: " << e.errors.front();
}

inline std::string stack_logs(Stack& s) {
  return "\n--- sampler log ---\n" + s.sampler().log() + "--- exporter log ---\n" +
         s.exporter().log();
}

}  // namespace hostflow::test
