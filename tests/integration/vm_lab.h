// Shared pieces of the VM integration tests (issue 4): unique uuids, QEMU processes that
// daemonize (killed by their own pid), and reading the VM families back from the exposition.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

// libvirtd + virtlogd in their own mount namespace: /run/libvirt and /var/lib/libvirt/qemu are
// private tmpfs and /etc/libvirt is a copy with a qemu.conf that runs QEMU as root, so they never
// touch another libvirtd's state; their sockets live in `dir`.
class Libvirtd {
 public:
  explicit Libvirtd(const std::string& dir) : dir_(dir) {}
  ~Libvirtd() {
    libvirtd_.stop(SIGTERM);
    virtlogd_.stop(SIGTERM);
  }
  std::string sock_dir() const { return dir_ + "/sock"; }
  std::string rw_uri() const {
    return "qemu+unix:///system?socket=" + sock_dir() + "/libvirt-sock";
  }
  std::string ro_uri() const {
    return "qemu+unix:///system?socket=" + sock_dir() + "/libvirt-sock-ro";
  }
  std::string log() const { return sh("tail -n 30 " + dir_ + "/libvirtd.log").out; }

  // "" on success, else why not.
  std::string start_all() {
    sh_ok("mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt " + sock_dir() + " " + dir_ +
          "/etc");
    sh_ok("cp -a /etc/libvirt/. " + dir_ + "/etc/ 2>/dev/null || true");
    std::ofstream(dir_ + "/etc/qemu.conf") << "user = \"root\"\ngroup = \"root\"\n";
    std::ofstream(dir_ + "/libvirtd.conf")
        << "listen_tls = 0\nlisten_tcp = 0\n"
        << "unix_sock_dir = \"" << sock_dir() << "\"\n"
        << "unix_sock_ro_perms = \"0777\"\nunix_sock_rw_perms = \"0700\"\n"
        << "auth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\n"
        << "log_outputs = \"3:file:" << dir_ << "/libvirtd.log\"\n";
    const std::string setup =
        "mount --bind " + dir_ + "/etc /etc/libvirt && mount -t tmpfs -o mode=0755 hfvirt " +
        "/run/libvirt && mkdir -p /var/lib/libvirt/qemu && mount -t tmpfs -o mode=0751 hfvirt " +
        "/var/lib/libvirt/qemu && exec virtlogd -d -p " + dir_ + "/virtlogd.pid";
    RunResult r = run({"unshare", "-m", "--propagation", "private", "sh", "-c", setup});
    const pid_t vl = PidFileProcess::read_pid(dir_ + "/virtlogd.pid");
    if (r.exit_code != 0 || vl <= 0) return "virtlogd did not start: " + r.err;
    virtlogd_ = PidFileProcess(vl);
    return start_libvirtd();
  }
  // (Re)starts libvirtd in virtlogd's mount namespace and waits until it answers.
  std::string start_libvirtd() {
    ::unlink((dir_ + "/libvirtd.pid").c_str());
    RunResult r = run({"nsenter", "-t", std::to_string(virtlogd_.pid()), "-m", "libvirtd", "-d",
                       "-f", dir_ + "/libvirtd.conf", "-p", dir_ + "/libvirtd.pid"});
    if (r.exit_code != 0) return "libvirtd -d failed: " + r.err + log();
    // The first start on a machine probes QEMU's capabilities (8-40 s measured under load).
    bool up = wait_until(
        [&] {
          return run({"virsh", "-c", rw_uri(), "version"}, std::chrono::seconds(10)).exit_code == 0;
        },
        std::chrono::seconds(90));
    const pid_t pid = PidFileProcess::read_pid(dir_ + "/libvirtd.pid");
    if (pid > 0) libvirtd_ = PidFileProcess(pid);
    if (!up || pid <= 0) return "libvirtd did not answer within 90 s: " + log();
    return "";
  }
  void stop_libvirtd() { libvirtd_.stop(SIGTERM); }
  // SIGSTOP/SIGCONT: the daemon keeps its socket but answers nothing while frozen.
  void freeze() { ::kill(libvirtd_.pid(), SIGSTOP); }
  void thaw() { ::kill(libvirtd_.pid(), SIGCONT); }
  pid_t qemu_pid(const std::string& domain) const {
    const RunResult r = run({"nsenter", "-t", std::to_string(virtlogd_.pid()), "-m", "cat",
                             "/run/libvirt/qemu/" + domain + ".pid"});
    return r.exit_code == 0 ? static_cast<pid_t>(std::atol(r.out.c_str())) : -1;
  }

 private:
  std::string dir_;
  PidFileProcess virtlogd_, libvirtd_;
};

// A transient domain, destroyed on destruction (by its QEMU pid if libvirtd is not there).
struct Domain {
  std::string uri, name, uuid;
  pid_t qemu_pid = -1;
  ~Domain() {
    if (name.empty()) return;
    if (run({"virsh", "-c", uri, "destroy", name}).exit_code != 0 && qemu_pid > 0) {
      PidFileProcess p(qemu_pid);  // killed by its pid
    }
  }
};

inline void ensure_user_and_groups() {
  // LAB.md: on these machines Debian's QEMU driver needs user + group libvirt-qemu and group kvm
  // (its build defaults; libvirt-daemon-system creates them). Our qemu.conf runs QEMU as root,
  // but the test does not rely on that for their existence: create them if missing.
  if (!getgrnam("kvm")) sh("groupadd --system kvm");
  if (!getgrnam("libvirt-qemu")) sh("groupadd --system libvirt-qemu");
  if (!getpwnam("libvirt-qemu"))
    sh("useradd --system --no-create-home --home-dir /var/lib/libvirt --gid kvm "
       "--shell /usr/sbin/nologin libvirt-qemu");
}

// Sends `count` frames of `size` bytes out of `ifname` in netns `ns` from the host side (an
// AF_PACKET socket opened on a thread that joined the netns).
inline bool host_send(const std::string& ns, const std::string& ifname, int count, int size) {
  bool ok = false;
  std::thread t([&] {
    const int nsfd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
      ADD_FAILURE() << "setns " << ns << ": " << std::strerror(errno);
      if (nsfd >= 0) ::close(nsfd);
      return;
    }
    ::close(nsfd);
    const int s = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    const unsigned idx = if_nametoindex(ifname.c_str());
    if (s < 0 || idx == 0) {
      ADD_FAILURE() << "AF_PACKET on " << ifname << ": " << std::strerror(errno);
      if (s >= 0) ::close(s);
      return;
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(idx);
    to.sll_halen = 6;
    std::vector<unsigned char> frame(static_cast<std::size_t>(size), 0x5a);
    const unsigned char head[14] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x77, 0x88, 0xb5};
    std::memcpy(frame.data(), head, sizeof head);
    int sent = 0;
    for (int k = 0; k < count; k++) {
      if (::sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
          static_cast<ssize_t>(frame.size()))
        sent++;
      else
        ADD_FAILURE() << "sendto: " << std::strerror(errno);
    }
    ::close(s);
    ok = sent == count;
  });
  t.join();
  return ok;
}

// The stand-in guest's status file (qemu_guest_helper.cc): frames and bytes it sent and received.
struct GuestStatus {
  std::uint64_t tx_frames = 0, tx_bytes = 0, rx_frames = 0, rx_bytes = 0;
};
inline GuestStatus read_status(const std::string& path) {
  GuestStatus g;
  std::ifstream in(path);
  in >> g.tx_frames >> g.tx_bytes >> g.rx_frames >> g.rx_bytes;
  return g;
}

}  // namespace hostflow::test
