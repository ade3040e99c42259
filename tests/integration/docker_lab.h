// A private dockerd for the integration tests (docker_test, faults_test): its own data and exec
// roots, socket, containerd namespace and default bridge; a busybox image imported from the
// host's static busybox (no registry). Stopped, and everything it made removed, on destruction.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support.h"

namespace hostflow::test {

// A private dockerd. Its default bridge is a bridge this test creates, so nothing of the host's
// Docker (docker0, iptables) is touched.
class Dockerd {
 public:
  Dockerd() {
    bridge_ = unique_name("hf5dk");
    sh_ok("ip link add " + bridge_ + " type bridge && ip addr add 10.57.0.1/24 dev " + bridge_ +
          " && ip link set " + bridge_ + " up");
    sock_ = dir_.path() + "/docker.sock";
    start();
    // The image: static busybox, imported (no registry).
    const std::string root = dir_.path() + "/rootfs";
    sh_ok("mkdir -p " + root + "/bin && cp /bin/busybox " + root +
          "/bin/busybox && for c in sh sleep cat ping ip; do ln -sf busybox " + root +
          "/bin/$c; done");
    sh_ok("tar -C " + root + " -c . | " + docker() + " import - hf5bb:latest >/dev/null");
  }
  ~Dockerd() {
    // Containers, then the user networks: dockerd leaves their br-<id> bridges behind otherwise.
    if (proc_.running()) {
      sh(docker() + " rm -f $(" + docker() + " ps -aq) >/dev/null 2>&1");
      sh(docker() + " network prune -f >/dev/null 2>&1");
    }
    stop();
    sh("ip link del " + bridge_);
    // Unmount whatever the daemon left under its roots before the TempDir is removed.
    sh("grep -o ' " + dir_.path() + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
  }
  void start() {
    proc_ =
        Process({"dockerd", "--data-root", dir_.path() + "/data", "--exec-root",
                 dir_.path() + "/exec", "--pidfile", dir_.path() + "/docker.pid", "-H",
                 "unix://" + sock_, "--iptables=false", "--ip6tables=false", "--bridge=" + bridge_,
                 // Apart from a system containerd's other clients (a host dockerd's "moby").
                 "--containerd-namespace=hostflow-test",
                 "--containerd-plugins-namespace=hostflow-test-plugins"},
                dir_.path() + "/dockerd.log");
    ASSERT_TRUE(wait_until([&] { return sh(docker() + " version >/dev/null 2>&1").exit_code == 0; },
                           std::chrono::seconds(30)))
        << proc_.log();
  }
  void stop() {
    proc_.signal(SIGTERM);
    if (!proc_.wait(std::chrono::seconds(20))) proc_.kill_and_wait();
  }
  void freeze() { proc_.signal(SIGSTOP); }
  void thaw() { proc_.signal(SIGCONT); }
  pid_t pid() { return proc_.pid(); }
  std::string docker() const { return "docker -H unix://" + sock_; }
  nlohmann::json inspect(const std::string& what) const {
    auto j = nlohmann::json::parse(sh_ok(docker() + " inspect " + what), nullptr, false);
    return j.is_array() && !j.empty() ? j[0] : nlohmann::json();
  }
  const std::string& sock() const { return sock_; }
  const std::string& bridge() const { return bridge_; }
  std::string log() const { return proc_.log(); }

 private:
  TempDir dir_;
  std::string bridge_, sock_;
  Process proc_;
};

}  // namespace hostflow::test
