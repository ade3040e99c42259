// make_segment_seeds DIR: writes seed segment files for fuzz_segment_reader, made with the real
// builder and publish(): a valid two-slot segment with links (masters, a duplicate, odd names)
// and sources, one formatted but never published, one with only the empty arena, and one with the
// platform sections (a Proxmox host's facts, filesystems -- one of them failed -- and containers),
// and one with the sampler's own sections (its process figures and its wake channel's).
// Regenerate with: build/tests/fuzz/make_segment_seeds tests/fuzz/corpus/segment_reader
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "hostflow/shm/builder.h"
#include "hostflow/shm/seqlock.h"

using namespace hostflow::shm;

namespace {

std::vector<std::uint64_t> fresh() {
  std::vector<std::uint64_t> f(file_size_for(kMinSlotSize) / 8, 0);
  SegmentMeta meta;
  meta.writer_pid = 1234;
  meta.interval_ns = 5'000'000'000ull;
  format_segment({reinterpret_cast<std::byte*>(f.data()), f.size() * 8}, kMinSlotSize, meta);
  return f;
}

bool publish_into(std::vector<std::uint64_t>& f, SnapshotBuilder& b, std::uint64_t g) {
  PublishInfo info;
  info.generation = g;
  info.cycle = g;
  const auto payload = b.encode();
  info.section_count = b.section_count();
  return publish({reinterpret_cast<std::byte*>(f.data()), f.size() * 8}, info, payload);
}

bool write(const std::string& path, const std::vector<std::uint64_t>& f) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size() * 8));
  return static_cast<bool>(out);
}

void add_links(SnapshotBuilder& b, std::uint64_t g) {
  struct L {
    int ifindex, master;
    const char *name, *kind, *slave;
  };
  const L links[] = {{1, 0, "lo", "", ""},
                     {2, 0, "eth0", "", ""},
                     {3, 0, "vmbr0", "bridge", ""},
                     {4, 3, "tap100i0", "tun", "bridge"},
                     {5, 3, "veth101i0", "veth", "bridge"},
                     {6, 0, "x\xff\x01", "weird", ""},
                     {5, 0, "dup", "veth", ""}};
  for (const L& l : links) {
    LinkRecord r{};
    r.netns_inode = 4026531840ull;
    r.ifindex = l.ifindex;
    r.master_ifindex = l.master;
    r.present = kLinkHasStats64 | (l.master ? std::uint32_t{kLinkHasMaster} : 0u);
    r.link_netnsid = -1;
    r.mtu = 1500;
    r.operstate = 6;
    r.addr_len = 6;
    r.address[0] = 2;
    r.stats.rx_bytes = g * 1000 + static_cast<std::uint64_t>(l.ifindex);
    r.name = b.add_string(l.name, 16);
    r.kind = b.add_string(l.kind, 32);
    r.slave_kind = b.add_string(l.slave, 32);
    b.add(r);
  }
  SourceStatusRecord s{};
  s.name = b.add_string("links", 32);
  s.state = 1;
  s.runs_total = g;
  b.add(s);
  SourceStatusRecord f{};
  f.name = b.add_string("conntrack", 32);
  f.last_error = b.add_string("open: Permission denied", 256);
  f.state = 3;
  b.add(f);
}

void add_platform(SnapshotBuilder& b) {
  PlatformRecord p{};
  p.facts = kPlatformPveMount | kPlatformPveVersion | kPlatformPid1Container;
  p.collected = kPlatformCpu | kPlatformMemory | kPlatformMemAvailable | kPlatformFilesystem |
                kPlatformProcesses;
  p.pid1_container = b.add_string("lxc\xff", 256);
  p.osrelease = b.add_string("6.8.12-4-pve", 256);
  p.clk_tck = 100;
  for (std::uint64_t i = 0; i < 10; i++) p.cpu_ticks[i] = 1000 * i;
  p.mem_total = 1ull << 34;
  p.mem_free = 1ull << 30;
  p.mem_available = 1ull << 33;
  p.processes = 321;
  b.add(p);
  const char* mps[] = {"/", "/etc/pve", "/mnt/a\x01b"};
  for (int i = 0; i < 3; i++) {
    PlatformFilesystemRecord f{};
    f.device = b.add_string(i == 1 ? "/dev/fuse" : "/dev/sda1", 256);
    f.mountpoint = b.add_string(mps[i], 4096);
    f.fstype = b.add_string(i == 1 ? "fuse" : "ext4", 64);
    f.dev_major = 8;
    f.dev_minor = static_cast<std::uint32_t>(i);
    f.size_bytes = 1ull << 36;
    f.free_bytes = 1ull << 35;
    f.avail_bytes = 1ull << 34;
    f.statfs_errno = i == 2 ? 5 : 0;
    b.add(f);
  }
  PlatformContainerRecord c{};
  c.id = b.add_string("101", 256);
  c.config = b.add_string("hostname: ct\xff\n[snap]\nhostname: old\n", 65536);
  c.flags = kCtProxmox | kCtCgroupV2 | kCtHasMemory | kCtHasLimit | kCtHasCpu | kCtHasPids |
            kCtConfigRead;
  c.init_pid = 4242;
  c.memory_usage = 1ull << 29;
  c.memory_cache = 1ull << 30;  // more cache than usage: used is clamped at 0
  c.memory_limit = 1ull << 31;
  c.cpu_usage_ns = 7;
  c.pids_current = 23;
  b.add(c);
  c.id = b.add_string("", 256);  // no id: skipped by the exporter
  b.add(c);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  {
    auto f = fresh();
    for (std::uint64_t g = 1; g <= 2; g++) {
      SnapshotBuilder b;
      add_links(b, g);
      ok &= publish_into(f, b, g);
    }
    ok &= write(dir + "/valid-two-slots.seg", f);
  }
  ok &= write(dir + "/unpublished.seg", fresh());
  {
    auto f = fresh();
    SnapshotBuilder b;
    b.touch<LinkRecord>();
    ok &= publish_into(f, b, 1);
    ok &= write(dir + "/empty-links.seg", f);
  }
  {
    auto f = fresh();
    SnapshotBuilder b;
    add_links(b, 1);
    add_platform(b);
    ok &= publish_into(f, b, 1);
    ok &= write(dir + "/platform.seg", f);
  }
  {
    auto f = fresh();
    SnapshotBuilder b;
    add_links(b, 1);
    b.touch<SamplerProcessRecord>();
    b.add(SamplerProcessRecord{1'500'000'000ull, 8u << 20, 64u << 20, 12, 1024, 1'733'000'000ull});
    b.touch<SamplerWakeRecord>();
    b.add(SamplerWakeRecord{100, 2, 1, 1'000'000'000ull, 1'733'000'001'000'000'000ull});
    ok &= publish_into(f, b, 3);
    ok &= write(dir + "/sampler-wake.seg", f);
  }
  return ok ? 0 : 1;
}
