// parse_cgroup / owner_of_cgroup_path: container ids from /proc/<pid>/cgroup as each runtime
// writes it (lines copied from real hosts of each kind), hostile input, and one real kernel
// cgroup made here.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "identity/cgroup.h"

namespace hostflow::exporter {
namespace {

const std::string kId = "3f4e5d6c7b8a99001122334455667788990011223344556677889900aabbccdd";

TEST(Cgroup, DockerCgroupfsV1) {
  const auto o = parse_cgroup("12:pids:/docker/" + kId + "\n11:memory:/docker/" + kId +
                              "\n1:name=systemd:/docker/" + kId + "\n0::/\n");
  EXPECT_EQ(o.runtime, "docker");
  EXPECT_EQ(o.id, kId);
  EXPECT_EQ(o.path, "/docker/" + kId);
}

TEST(Cgroup, DockerSystemdV2) {
  const auto o = parse_cgroup("0::/system.slice/docker-" + kId + ".scope\n");
  EXPECT_EQ(o.runtime, "docker");
  EXPECT_EQ(o.id, kId);
}

TEST(Cgroup, KubernetesContainerdSystemdV2) {
  const auto o = parse_cgroup(
      "0::/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod8a7b0c1d_2e3f_4a5b_8c6d_7e8f9a0b1c2d.slice/cri-containerd-" +
      kId + ".scope\n");
  EXPECT_EQ(o.runtime, "containerd");
  EXPECT_EQ(o.id, kId);
  EXPECT_EQ(o.pod_uid, "8a7b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d");
}

TEST(Cgroup, KubernetesCgroupfsV1) {
  const auto o = parse_cgroup("11:pids:/kubepods/besteffort/pod8a7b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d/" +
                              kId + "\n0::/\n");
  EXPECT_EQ(o.runtime, "kubernetes");
  EXPECT_EQ(o.id, kId);
  EXPECT_EQ(o.pod_uid, "8a7b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d");
}

TEST(Cgroup, CrioAndPodman) {
  EXPECT_EQ(parse_cgroup("0::/kubepods.slice/kubepods-besteffort.slice/crio-" + kId + ".scope").runtime,
            "crio");
  const auto p = parse_cgroup("0::/machine.slice/libpod-" + kId + ".scope\n");
  EXPECT_EQ(p.runtime, "podman");
  EXPECT_EQ(p.id, kId);
  const auto q = parse_cgroup("0::/libpod_parent/libpod-" + kId + "\n");
  EXPECT_EQ(q.runtime, "podman");
  EXPECT_EQ(q.id, kId);
}

TEST(Cgroup, Lxc) {
  const auto v2 = parse_cgroup("0::/lxc.payload.web01\n");
  EXPECT_EQ(v2.runtime, "lxc");
  EXPECT_EQ(v2.id, "web01");
  const auto v1 = parse_cgroup("10:pids:/lxc/web01\n1:name=systemd:/lxc/web01\n");
  EXPECT_EQ(v1.runtime, "lxc");
  EXPECT_EQ(v1.id, "web01");
  // The monitor process is not the container.
  EXPECT_EQ(parse_cgroup("0::/lxc.monitor.web01\n").runtime, "");
}

TEST(Cgroup, HostProcessesHaveNoOwner) {
  const auto o = parse_cgroup("0::/system.slice/sshd.service\n");
  EXPECT_EQ(o.runtime, "");
  EXPECT_EQ(o.id, "");
  EXPECT_EQ(o.path, "/system.slice/sshd.service");
  // Hybrid host: v2 says "/", a v1 hierarchy has the real path.
  const auto h = parse_cgroup("4:memory:/process_api/9ffc\n0::/\n");
  EXPECT_EQ(h.path, "/process_api/9ffc");
}

TEST(Cgroup, HostileInputIsBoundedAndNeverCrashes) {
  EXPECT_EQ(parse_cgroup("").path, "");
  EXPECT_EQ(parse_cgroup("no colons at all").path, "");
  EXPECT_EQ(parse_cgroup(std::string(100000, ':')).id, "");
  const auto big = parse_cgroup("0::/" + std::string(1 << 20, 'a'));
  EXPECT_LE(big.path.size(), 4096u);
  // An LXC name is capped.
  EXPECT_LE(parse_cgroup("0::/lxc.payload." + std::string(10000, 'x')).id.size(), 128u);
  // Not quite an id: 63 or 65 hex digits, or non-hex.
  EXPECT_EQ(parse_cgroup("0::/docker/" + kId.substr(1)).id, "");
  EXPECT_EQ(parse_cgroup("0::/docker/" + kId + "0").id, "");
  EXPECT_EQ(parse_cgroup("0::/docker-" + std::string(64, 'g') + ".scope").id, "");
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; i++) {
    std::string s(rng() % 512, '\0');
    for (char& c : s) c = "0:/-.abcdefdockerlxcpod\n"[rng() % 24];
    const auto o = parse_cgroup(s);
    EXPECT_LE(o.path.size(), 4096u);
  }
}

// A real cgroup: a process moved into <v1 pids hierarchy>/hftest<pid>/docker/<id> reports that
// path in /proc/<pid>/cgroup, and the parser names it.
TEST(Cgroup, RealKernelCgroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a cgroup";
  std::string root;
  for (const char* c : {"/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    if (std::filesystem::exists(std::string(c) + "/cgroup.procs")) {
      root = c;
      break;
    }
  }
  if (root.empty()) GTEST_SKIP() << "no writable cgroup hierarchy found";
  const std::string top = root + "/hftest" + std::to_string(::getpid());
  const std::string dir = top + "/docker/" + kId;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) GTEST_SKIP() << "cannot create " << dir << ": " << ec.message();
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  { std::ofstream(dir + "/cgroup.procs") << child; }
  std::ifstream in("/proc/" + std::to_string(child) + "/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  const auto o = parse_cgroup(text.str());
  ::rmdir(dir.c_str());
  ::rmdir((top + "/docker").c_str());
  ::rmdir(top.c_str());
  EXPECT_EQ(o.runtime, "docker") << text.str();
  EXPECT_EQ(o.id, kId) << text.str();
}

}  // namespace
}  // namespace hostflow::exporter
