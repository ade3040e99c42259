// Containers (exporter/identity/cgroup, docker_json, exporter/areas/containers): container ids
// from /proc/<pid>/cgroup as each runtime writes it (lines copied from real hosts of each kind),
// hostile input and one real kernel cgroup made here; the Docker API parsers, the ix- app rules,
// Proxmox name hints and the container families with hostile input. Docker itself refuses
// hostile container names, so here (and in the fuzz target) is where a name with newlines,
// quotes, invalid UTF-8 and 10 KiB is exercised; the rendered exposition must still pass promtool.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "areas/containers/container_families.h"
#include "hostflow/common/sanitize.h"
#include "identity/cgroup.h"
#include "identity/docker_json.h"
#include "identity/owners.h"
#include "outputs/prometheus_text.h"
#include "support.h"

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
  const auto o = parse_cgroup(
      "11:pids:/kubepods/besteffort/pod8a7b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d/" + kId + "\n0::/\n");
  EXPECT_EQ(o.runtime, "kubernetes");
  EXPECT_EQ(o.id, kId);
  EXPECT_EQ(o.pod_uid, "8a7b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d");
}

TEST(Cgroup, CrioAndPodman) {
  EXPECT_EQ(
      parse_cgroup("0::/kubepods.slice/kubepods-besteffort.slice/crio-" + kId + ".scope").runtime,
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
  const std::string text = test::read_file("/proc/" + std::to_string(child) + "/cgroup");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  const auto o = parse_cgroup(text);
  ::rmdir(dir.c_str());
  ::rmdir((top + "/docker").c_str());
  ::rmdir(top.c_str());
  EXPECT_EQ(o.runtime, "docker") << text;
  EXPECT_EQ(o.id, kId) << text;
}

// ---- Docker API answers -------------------------------------------------------------------------

std::string fixture(const std::string& name) {
  return test::read_file(std::string(HOSTFLOW_FIXTURES_DIR) + "/docker/" + name);
}

const std::string kHostileId(64, 'a');

TEST(DockerJson, ContainersFromARealDaemon) {
  // Captured from dockerd 20.10 (API 1.41): two containers, one on a Compose-labelled network.
  auto p = parse_docker_containers(fixture("containers.json"));
  ASSERT_TRUE(p.error.empty()) << p.error;
  ASSERT_EQ(p.containers.size(), 2u);
  bool saw_compose = false;
  for (const auto& c : p.containers) {
    EXPECT_EQ(c.id.size(), 64u);
    EXPECT_FALSE(c.name.empty());
    EXPECT_NE(c.name[0], '/');
    ASSERT_EQ(c.endpoints.size(), 1u);
    EXPECT_FALSE(c.endpoints[0].ipv4.empty());
    if (c.labels.count("com.docker.compose.project")) {
      saw_compose = true;
      EXPECT_EQ(app_from_compose_project(c.labels.at("com.docker.compose.project")), "h5app");
    }
  }
  EXPECT_TRUE(saw_compose);
}

TEST(DockerJson, NetworksListAndInspect) {
  auto list = parse_docker_networks(fixture("networks.json"));
  ASSERT_TRUE(list.error.empty());
  bool saw_default = false, saw_user = false;
  for (const auto& n : list.networks) {
    if (n.name == "bridge") {
      saw_default = true;
      EXPECT_EQ(n.bridge, "h5dk0");  // the daemon ran with --bridge=h5dk0: the option wins
    }
    if (n.name == "ix-h5app_default") {
      saw_user = true;
      EXPECT_EQ(n.bridge, "br-" + n.id.substr(0, 12));
      EXPECT_EQ(app_from_network_name(n.name), "h5app");
    }
    if (n.driver != "bridge") {
      EXPECT_TRUE(n.bridge.empty()) << n.name;
    }
  }
  EXPECT_TRUE(saw_default && saw_user);
  auto one = parse_docker_networks(fixture("network-inspect.json"));
  ASSERT_EQ(one.networks.size(), 1u);
  EXPECT_EQ(one.networks[0].containers.size(), 1u);  // the inspect fills Containers
}

TEST(DockerJson, AppRules) {
  EXPECT_EQ(app_from_compose_project("ix-grafana"), "grafana");
  EXPECT_EQ(app_from_compose_project("myproject"), "myproject");
  EXPECT_EQ(app_from_network_name("ix-immich_ix-internal-immich-net"), "immich");
  EXPECT_EQ(app_from_network_name("ix-grafana_default"), "grafana");
  EXPECT_EQ(app_from_network_name("mynet"), "");
  EXPECT_EQ(app_from_network_name("ix-"), "");
  EXPECT_EQ(proxmox_vmid("tap100i0", "tap"), "100");
  EXPECT_EQ(proxmox_vmid("veth105i1", "veth"), "105");
  EXPECT_EQ(proxmox_vmid("tap100", "tap"), "");
  EXPECT_EQ(proxmox_vmid("tapi0", "tap"), "");
  EXPECT_EQ(proxmox_vmid("tap10x0i0", "tap"), "");
  EXPECT_EQ(proxmox_vmid("veth1234567890i0", "veth"), "");
  EXPECT_EQ(container_label_name("com.docker.compose.project"), "label_com_docker_compose_project");
}

TEST(DockerJson, MalformedInputIsAnErrorNotACrash) {
  for (const char* bad : {"", "{", "null", "42", "[1,2,3]", "{\"Id\":5}", "[{\"Id\":\"short\"}]"}) {
    auto c = parse_docker_containers(bad);
    EXPECT_TRUE(c.containers.empty()) << bad;
    EXPECT_TRUE(!c.error.empty() || c.dropped > 0 || std::string(bad) == "[]") << bad;
  }
  // 5,000 nested arrays (the fuzz seed docker_json/deep-nesting.json).
  auto deep = parse_docker_containers(std::string(5000, '[') + "\n");
  EXPECT_FALSE(deep.error.empty());
}

TEST(DockerJson, HostileNamesAndLabelsAreCappedAndTheExpositionStaysValid) {
  std::string evil = "/evil\"}\n# TYPE x counter\nx 1\\";
  evil += "\xff\xfe\xc3\x28";
  while (evil.size() < 10 * 1024) evil += "\"\n\\{}=,\xe2\x82";
  // nlohmann refuses to serialise invalid UTF-8, so build the JSON text by hand around it.
  std::string body = "[{\"Id\":\"" + kHostileId + "\",\"Names\":[\"";
  auto escape = [](const std::string& s) {
    std::string o;
    for (unsigned char ch : s) {
      if (ch == '"' || ch == '\\')
        o += '\\', o += static_cast<char>(ch);
      else if (ch == '\n')
        o += "\\n";
      else
        o += static_cast<char>(ch);
    }
    return o;
  };
  body += escape(evil) + "\"],\"Labels\":{\"com.docker.compose.project\":\"" + escape(evil) +
          "\",\"team\":\"" + escape(evil) + "\"}}]";
  auto p = parse_docker_containers(body);
  // Raw invalid UTF-8 inside a JSON string is rejected by the JSON parser: an error, counted.
  if (!p.error.empty()) {
    EXPECT_TRUE(p.containers.empty());
    // The same text as valid JSON (\u escapes, U+FFFD for the bad bytes) goes through.
    std::string valid = sanitize_label(evil, 1 << 20);
    nlohmann::json j = nlohmann::json::array(
        {{{"Id", kHostileId},
          {"Names", {valid}},
          {"Labels", {{"com.docker.compose.project", valid}, {"team", valid}}}}});
    p = parse_docker_containers(j.dump());
  }
  ASSERT_TRUE(p.error.empty()) << p.error;
  ASSERT_EQ(p.containers.size(), 1u);
  const auto& dc = p.containers[0];
  EXPECT_LE(dc.name.size(), kDockerMaxText);
  EXPECT_TRUE(valid_utf8(dc.name));
  EXPECT_EQ(dc.name.find('\n'), std::string::npos);

  Attribution a;
  Container k;
  k.owner_type = "container";
  k.name = dc.name;
  k.runtime = "docker";
  k.id = dc.id;
  k.app = app_from_compose_project(dc.labels.at("com.docker.compose.project"));
  k.labels = dc.labels;
  k.has_view = true;
  a.containers.push_back(k);
  ContainerRenderOptions opts;
  opts.label_allowlist = {"team", "com.docker.compose.project", "team"};
  metrics::FamilySet fams;
  container_families(a, opts, &fams);
  const std::string text = prometheus_text(fams);
  auto pc = test::promtool_check(text);
  EXPECT_EQ(pc.exit_code, 0) << pc.out << pc.err;
  auto e = test::parse_exposition(text);
  EXPECT_TRUE(e.errors.empty());
  EXPECT_TRUE(e.duplicates.empty());
  for (const auto& [key, v] : e.series) {
    for (const auto& [l, val] : test::series_labels(key)) EXPECT_LE(val.size(), 256u) << l;
  }
}

}  // namespace
}  // namespace hostflow::exporter
