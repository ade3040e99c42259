// A stand-in guest for the direction test: built as "qemu-system-hfguest" so its comm matches the
// sampler's is_qemu_comm, with a QEMU-shaped command line (-uuid U -name guest=N) for the
// exporter's parser. It attaches to the tap -ifname (IFF_TAP | IFF_NO_PI, as QEMU does), then:
//  - on SIGUSR1 writes -frames frames of -size bytes into the tap (the guest transmits: the host
//    kernel counts them as the tap's rx);
//  - reads every frame the host sends into the tap (the guest receives: the tap's tx).
// After each change it rewrites -status with "tx_frames tx_bytes rx_frames rx_bytes" (guest view).
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
volatile sig_atomic_t g_send = 0;
void on_usr1(int) {
  g_send = 1;
}

void write_status(const std::string& path, unsigned long long txf, unsigned long long txb,
                  unsigned long long rxf, unsigned long long rxb) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return;
  std::fprintf(f, "%llu %llu %llu %llu\n", txf, txb, rxf, rxb);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}
}  // namespace

int main(int argc, char** argv) {
  std::string ifname, status;
  int frames = 0, size = 0;
  for (int i = 1; i + 1 < argc; i++) {
    const std::string a = argv[i];
    if (a == "-ifname")
      ifname = argv[++i];
    else if (a == "-status")
      status = argv[++i];
    else if (a == "-frames")
      frames = std::atoi(argv[++i]);
    else if (a == "-size")
      size = std::atoi(argv[++i]);
    else if (a == "-uuid" || a == "-name")
      i++;  // for the exporter, not for us
  }
  if (ifname.empty() || status.empty() || size < 60 || size > 1514) {
    std::fprintf(stderr,
                 "usage: %s -uuid U -name guest=N -ifname TAP -status FILE -frames K "
                 "-size 60..1514\n",
                 argv[0]);
    return 2;
  }
  const int fd = open("/dev/net/tun", O_RDWR);
  if (fd < 0) {
    std::perror("open /dev/net/tun");
    return 1;
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::perror("TUNSETIFF");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, nullptr);

  unsigned long long txf = 0, txb = 0, rxf = 0, rxb = 0;
  write_status(status, txf, txb, rxf, rxb);
  std::vector<unsigned char> frame(static_cast<std::size_t>(size), 0xab), buf(65536);
  // To a unicast MAC nobody has, with an ethertype nobody handles: the host drops it silently
  // (no reply that would add to the other direction).
  const unsigned char head[14] = {0x02, 0, 0, 0, 0, 0x99, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
  std::memcpy(frame.data(), head, sizeof head);
  for (;;) {
    if (g_send) {
      g_send = 0;
      for (int k = 0; k < frames; k++) {
        if (write(fd, frame.data(), frame.size()) == static_cast<ssize_t>(frame.size())) {
          txf++;
          txb += frame.size();
        } else {
          std::perror("write tap");
        }
      }
      write_status(status, txf, txb, rxf, rxb);
    }
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) return 1;
    if (r > 0 && (p.revents & POLLIN)) {
      const ssize_t n = read(fd, buf.data(), buf.size());
      if (n > 0) {
        rxf++;
        rxb += static_cast<unsigned long long>(n);
        write_status(status, txf, txb, rxf, rxb);
      }
    }
  }
}
