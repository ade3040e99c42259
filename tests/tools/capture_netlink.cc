// capture_netlink DIR: dumps every link of the current network namespace with RTM_GETLINK over
// NETLINK_ROUTE and writes each RTM_NEWLINK message's raw bytes (header included, nlmsg_len bytes)
// to DIR/<ifname>.bin. Used once, as root inside a throwaway netns, to make the real-kernel
// fixtures under tests/fixtures/netlink/ (see tests/tools/capture_netlink.sh). Not installed.
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string ifname_of(const nlmsghdr* nlh) {
  std::string name;
  mnl_attr_parse(
      nlh, sizeof(ifinfomsg),
      [](const nlattr* a, void* data) {
        if (mnl_attr_get_type(a) == IFLA_IFNAME) {
          const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
          *static_cast<std::string*>(data) =
              std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
        }
        return MNL_CB_OK;
      },
      &name);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("netlink socket");
    return 1;
  }
  std::vector<char> buf(1 << 16);
  nlmsghdr* req = mnl_nlmsg_put_header(buf.data());
  req->nlmsg_type = RTM_GETLINK;
  req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req->nlmsg_seq = 1;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(req, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0) {
    std::perror("send RTM_GETLINK");
    return 1;
  }
  const unsigned portid = mnl_socket_get_portid(nl);
  int written = 0;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("recv");
      return 1;
    }
    const auto* msg = reinterpret_cast<const nlmsghdr*>(buf.data());
    int left = static_cast<int>(n);
    while (mnl_nlmsg_ok(msg, left)) {
      if (msg->nlmsg_seq == 1 && msg->nlmsg_pid == portid) {
        if (msg->nlmsg_type == NLMSG_DONE) {
          mnl_socket_close(nl);
          std::printf("%d messages written to %s\n", written, dir.c_str());
          return written > 0 ? 0 : 1;
        }
        if (msg->nlmsg_type == NLMSG_ERROR) {
          std::fprintf(stderr, "RTM_GETLINK: netlink error\n");
          return 1;
        }
        if (msg->nlmsg_flags & NLM_F_DUMP_INTR) {
          std::fprintf(stderr, "dump interrupted (links changed); run again\n");
          return 1;
        }
        if (msg->nlmsg_type == RTM_NEWLINK) {
          const std::string name = ifname_of(msg);
          if (name.empty() || name.find('/') != std::string::npos) {
            std::fprintf(stderr, "link without a usable name, skipped\n");
          } else {
            std::ofstream out(dir + "/" + name + ".bin", std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(msg), msg->nlmsg_len);
            if (!out) {
              std::fprintf(stderr, "cannot write %s/%s.bin\n", dir.c_str(), name.c_str());
              return 1;
            }
            written++;
          }
        }
      }
      msg = mnl_nlmsg_next(msg, &left);
    }
  }
}
