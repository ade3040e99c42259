// hostflow shared-memory segment, schema v1: the byte layout both processes agree on.
//
// Written by hostflow-sampler (root, confined), read by hostflow-exporter (unprivileged, maps the
// file read-only). Everything here is fixed-width, trivially copyable and pointer-free; every
// size and offset is pinned with static_assert. Depends on nothing but the standard library.
//
// File layout:
//   [0, kHeaderSize)                       FileHeader (rest of the page is zero)
//   [slot_offset[i], +slot_size)           SlotHeader followed by the slot payload, i = 0, 1
// Slot payload:
//   SectionEntry[section_count]            the section directory
//   section data, each section 8-aligned   records of one type, or the arena (bytes)
// Strings and blobs are StrRef (offset, length) into the arena section of the same slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace hostflow::shm {

// Bump kSchemaMajor on any layout change that an older reader would misread; bump kSchemaMinor
// when only adding section types or appending fields to records (record_size grows).
inline constexpr std::uint64_t kMagic = 0x31574c4654534f48ull;  // "HOSTFLW1" little-endian
inline constexpr std::uint16_t kSchemaMajor = 1;
// Minor 1: procs, taps, domains, LinkRecord.tap_dev. Minor 2: netns section, LinkRecord.netnsid.
// Minor 3: docker, conntrack, addrs, bpf_counters and bpf_attach sections.
// Minor 4: platform and platform_filesystems sections. Minor 5: platform_containers section.
// Minor 6: sampler_wake section.
inline constexpr std::uint16_t kSchemaMinor = 6;

inline constexpr std::uint32_t kSlotCount = 2;
inline constexpr std::uint64_t kHeaderSize = 4096;
inline constexpr std::uint64_t kMinSlotSize = 64 * 1024;
inline constexpr std::uint64_t kMaxSlotSize = 1ull << 30;
inline constexpr std::uint32_t kMaxSections = 64;

// The header of the segment file. Written once when the file is created, except `latest`
// (atomic, see publish.h) and `writer_pid`/`interval_ns` which never change for one file.
struct FileHeader {
  std::uint64_t magic;         // kMagic
  std::uint16_t schema_major;  // kSchemaMajor
  std::uint16_t schema_minor;  // kSchemaMinor
  std::uint32_t header_size;   // kHeaderSize
  std::uint64_t file_size;     // size of the whole file; never changes for one inode
  std::uint64_t slot_size;     // bytes per slot, SlotHeader included
  std::uint64_t slot_offset[kSlotCount];
  std::uint32_t writer_pid;             // the sampler that created this file
  std::uint32_t flags;                  // reserved, 0
  std::uint8_t boot_id[16];             // /proc/sys/kernel/random/boot_id of the writer's boot
  std::uint64_t sampler_start_real_ns;  // CLOCK_REALTIME at sampler start
  std::uint64_t interval_ns;            // the sampler's cycle interval
  std::uint64_t latest;                 // atomic: (generation << 1) | slot; 0 = nothing published
  std::uint8_t reserved[32];
};
static_assert(std::is_trivially_copyable_v<FileHeader>);
static_assert(sizeof(FileHeader) == 128);
static_assert(offsetof(FileHeader, schema_major) == 8);
static_assert(offsetof(FileHeader, header_size) == 12);
static_assert(offsetof(FileHeader, file_size) == 16);
static_assert(offsetof(FileHeader, slot_size) == 24);
static_assert(offsetof(FileHeader, slot_offset) == 32);
static_assert(offsetof(FileHeader, writer_pid) == 48);
static_assert(offsetof(FileHeader, boot_id) == 56);
static_assert(offsetof(FileHeader, sampler_start_real_ns) == 72);
static_assert(offsetof(FileHeader, interval_ns) == 80);
static_assert(offsetof(FileHeader, latest) == 88);
static_assert(offsetof(FileHeader, latest) % 8 == 0, "latest is accessed atomically");

// The start of each slot. `seq` is the slot's seqlock (odd while the writer copies into it).
struct SlotHeader {
  std::uint64_t seq;              // atomic seqlock counter
  std::uint64_t generation;       // publish generation (monotonic per sampler run, from 1)
  std::uint64_t cycle;            // sampler cycle number
  std::uint64_t publish_mono_ns;  // CLOCK_MONOTONIC at publish
  std::uint64_t publish_real_ns;  // CLOCK_REALTIME at publish
  std::uint64_t payload_size;     // bytes of payload after this header
  std::uint32_t section_count;    // entries in the directory at the start of the payload
  std::uint32_t flags;            // reserved, 0
  std::uint64_t reserved;
};
static_assert(std::is_trivially_copyable_v<SlotHeader>);
static_assert(sizeof(SlotHeader) == 64);
static_assert(offsetof(SlotHeader, seq) == 0);
static_assert(offsetof(SlotHeader, generation) == 8);
static_assert(offsetof(SlotHeader, cycle) == 16);
static_assert(offsetof(SlotHeader, publish_mono_ns) == 24);
static_assert(offsetof(SlotHeader, publish_real_ns) == 32);
static_assert(offsetof(SlotHeader, payload_size) == 40);
static_assert(offsetof(SlotHeader, section_count) == 48);

enum class SectionType : std::uint32_t {
  kArena = 1,                 // bytes; StrRef targets
  kSources = 2,               // SourceStatusRecord
  kLinks = 3,                 // LinkRecord
  kProcs = 4,                 // ProcRecord
  kTaps = 5,                  // TapRecord
  kDomains = 6,               // DomainRecord
  kDomainParams = 7,          // DomainParamRecord (typed stats of the domains, in domain order)
  kNetns = 8,                 // NetnsRecord
  kDocker = 9,                // DockerRecord
  kConntrack = 10,            // ConntrackRecord
  kAddrs = 11,                // AddrRecord
  kBpfCounters = 12,          // BpfCounterRecord (TC counters per selected interface)
  kBpfAttach = 13,            // BpfAttachRecord (one: the TC program and its attachments)
  kPlatform = 14,             // PlatformRecord (one: where the sampler runs, host CPU/memory)
  kPlatformFilesystems = 15,  // PlatformFilesystemRecord (the host's real filesystems)
  kSamplerProcess = 17,       // SamplerProcessRecord (one: the sampler's own process figures)
  kPlatformContainers = 16,   // PlatformContainerRecord (LXC containers on this host)
  kSamplerWake = 18,          // SamplerWakeRecord (one: the wake channel's figures, if it exists)
};

enum SectionFlags : std::uint16_t {
  kSectionTruncated = 1u << 0,  // the source had more records than the cap; see `dropped`
};

struct SectionEntry {
  std::uint32_t type;         // SectionType
  std::uint16_t version;      // record version of this section
  std::uint16_t flags;        // SectionFlags
  std::uint32_t record_size;  // bytes per record (1 for the arena)
  std::uint32_t count;        // records (bytes for the arena)
  std::uint64_t offset;       // from the start of the payload, 8-aligned
  std::uint64_t dropped;      // records the source could not include (cap reached)
};
static_assert(std::is_trivially_copyable_v<SectionEntry>);
static_assert(sizeof(SectionEntry) == 32);
static_assert(offsetof(SectionEntry, record_size) == 8);
static_assert(offsetof(SectionEntry, count) == 12);
static_assert(offsetof(SectionEntry, offset) == 16);
static_assert(offsetof(SectionEntry, dropped) == 24);

// A string or blob in the arena of the same slot. Never trusted: check with Snapshot::str().
struct StrRef {
  std::uint32_t offset;
  std::uint32_t length;
};
static_assert(sizeof(StrRef) == 8);

// ---- section kSources --------------------------------------------------------------------------

enum class SourceState : std::uint8_t {
  kOk = 1,        // the last run succeeded
  kAbsent = 2,    // the thing it reads is not on this host (no libvirt, no Docker, no BPF)
  kFailed = 3,    // it is there but the last run failed
  kDisabled = 4,  // turned off by a flag
};

// The state's name in logs and in hostflow_source_state{state=...}; a value outside the enum
// (a corrupt or hostile segment) reads as "failed".
constexpr std::string_view source_state_name(SourceState s) {
  switch (s) {
    case SourceState::kOk:
      return "ok";
    case SourceState::kAbsent:
      return "absent";
    case SourceState::kFailed:
      return "failed";
    case SourceState::kDisabled:
      return "disabled";
  }
  return "failed";
}

struct SourceStatusRecord {
  StrRef name;                         // 0   e.g. "links"
  StrRef last_error;                   // 8   empty when ok
  std::uint8_t state;                  // 16  SourceState
  std::uint8_t reserved0[3];           // 17
  std::int32_t last_errno;             // 20
  std::uint64_t duration_ns;           // 24  wall time of the last run
  std::uint64_t errors_total;          // 32  failed runs since sampler start
  std::uint64_t runs_total;            // 40
  std::uint64_t last_success_real_ns;  // 48  0 = never
  std::uint64_t items;                 // 56  records produced by the last run
};
static_assert(std::is_trivially_copyable_v<SourceStatusRecord>);
static_assert(sizeof(SourceStatusRecord) == 64);
static_assert(offsetof(SourceStatusRecord, state) == 16);
static_assert(offsetof(SourceStatusRecord, last_errno) == 20);
static_assert(offsetof(SourceStatusRecord, duration_ns) == 24);
static_assert(offsetof(SourceStatusRecord, items) == 56);

// ---- section kLinks (rtnetlink RTM_GETLINK)
// ------------------------------------------------------

// The first 24 fields of the kernel's struct rtnl_link_stats64, in its order.
struct LinkStats {
  std::uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
  std::uint64_t rx_errors, tx_errors, rx_dropped, tx_dropped;
  std::uint64_t multicast, collisions;
  std::uint64_t rx_length_errors, rx_over_errors, rx_crc_errors, rx_frame_errors;
  std::uint64_t rx_fifo_errors, rx_missed_errors;
  std::uint64_t tx_aborted_errors, tx_carrier_errors, tx_fifo_errors, tx_heartbeat_errors;
  std::uint64_t tx_window_errors;
  std::uint64_t rx_compressed, tx_compressed, rx_nohandler;
};
static_assert(sizeof(LinkStats) == 24 * 8);

enum LinkPresent : std::uint32_t {
  kLinkHasStats64 = 1u << 0,
  kLinkHasMaster = 1u << 1,
  kLinkHasLink = 1u << 2,         // IFLA_LINK
  kLinkHasLinkNetnsid = 1u << 3,  // IFLA_LINK_NETNSID
  kLinkHasDevice = 1u << 4,       // <sysfs>/class/net/<name>/device exists (a physical NIC)
  kLinkHasCarrier = 1u << 5,      // IFLA_CARRIER present; carrier value in `carrier`
  kLinkHasTapDev = 1u << 6,       // a macvtap whose character device number is in `tap_dev`
  kLinkInOtherNetns = 1u << 7,    // dumped from another netns: `netnsid` says which
};

struct LinkRecord {
  std::uint64_t netns_inode;    // 0   inode of the network namespace the link lives in
  std::int32_t ifindex;         // 8
  std::int32_t master_ifindex;  // 12  IFLA_MASTER (bridge, bond), 0 = none
  std::int32_t link_ifindex;    // 16  IFLA_LINK (veth peer, macvtap lower), 0 = none
  std::int32_t link_netnsid;    // 20  IFLA_LINK_NETNSID, -1 = same netns / none
  std::uint32_t mtu;            // 24
  std::uint32_t if_flags;       // 28  ifi_flags (IFF_UP, ...)
  std::uint16_t if_type;        // 32  ifi_type (ARPHRD_*)
  std::uint8_t operstate;       // 34  IF_OPER_* (RFC 2863)
  std::uint8_t addr_len;        // 35  bytes used in `address`
  std::uint32_t present;        // 36  LinkPresent bits
  std::uint8_t address[32];     // 40  IFLA_ADDRESS
  StrRef name;                  // 72  IFLA_IFNAME
  StrRef kind;                  // 80  IFLA_INFO_KIND, empty for physical/loopback
  StrRef slave_kind;            // 88  IFLA_INFO_SLAVE_KIND ("bridge" for a bridge port)
  std::uint8_t carrier;         // 96
  std::uint8_t reserved[3];     // 97
  std::int32_t netnsid;         // 100 with kLinkInOtherNetns: the nsid (in the sampler's netns)
                                //     of the netns this link is in
  LinkStats stats;              // 104 IFLA_STATS64
  std::uint64_t tap_dev;        // 296 macvtap: dev_t of /dev/tapN (sysfs macvtap/tapN/dev)
};
static_assert(std::is_trivially_copyable_v<LinkRecord>);
static_assert(sizeof(LinkRecord) == 304);
static_assert(offsetof(LinkRecord, ifindex) == 8);
static_assert(offsetof(LinkRecord, link_netnsid) == 20);
static_assert(offsetof(LinkRecord, operstate) == 34);
static_assert(offsetof(LinkRecord, present) == 36);
static_assert(offsetof(LinkRecord, address) == 40);
static_assert(offsetof(LinkRecord, name) == 72);
static_assert(offsetof(LinkRecord, kind) == 80);
static_assert(offsetof(LinkRecord, slave_kind) == 88);
static_assert(offsetof(LinkRecord, carrier) == 96);
static_assert(offsetof(LinkRecord, netnsid) == 100);
static_assert(offsetof(LinkRecord, stats) == 104);
static_assert(offsetof(LinkRecord, tap_dev) == 296);

// ---- section kNetns (network namespaces other than the sampler's) ------------------------------

enum NetnsFlags : std::uint32_t {
  kNetnsDumped = 1u << 0,      // its links were dumped (IFLA_TARGET_NETNSID) into kLinks
  kNetnsDumpFailed = 1u << 1,  // the dump was refused or failed (see the links source status)
};

struct NetnsRecord {
  std::uint64_t inode;      // 0   st_ino of /proc/<pid>/ns/net; 0 = known only by its nsid
  std::int32_t nsid;        // 8   nsid in the sampler's netns; -1 = none assigned
  std::int32_t pid;         // 12  one process in it (0 = none seen)
  std::uint32_t processes;  // 16  processes seen in it
  std::uint32_t flags;      // 20  NetnsFlags
  std::uint32_t links;      // 24  links dumped from it
  std::uint32_t reserved;   // 28
};
static_assert(std::is_trivially_copyable_v<NetnsRecord>);
static_assert(sizeof(NetnsRecord) == 32);
static_assert(offsetof(NetnsRecord, nsid) == 8);
static_assert(offsetof(NetnsRecord, pid) == 12);
static_assert(offsetof(NetnsRecord, flags) == 20);

// ---- section kProcs (one pass over /proc)
// --------------------------------------------------------

enum ProcFlags : std::uint32_t {
  kProcQemu = 1u << 0,              // comm looks like QEMU; cmdline copied
  kProcCmdlineTruncated = 1u << 1,  // cmdline longer than the cap
  kProcNetnsUnknown = 1u << 2,      // ns/net could not be read (netns_inode is 0)
  kProcHasCgroup = 1u << 3,         // cgroup copied (process outside the sampler's netns, or QEMU)
};

struct ProcRecord {
  std::int32_t pid;           // 0
  std::uint32_t uid;          // 4   owner of /proc/<pid>
  std::uint64_t netns_inode;  // 8   inode of /proc/<pid>/ns/net
  StrRef comm;                // 16  /proc/<pid>/comm, raw
  StrRef cgroup;              // 24  /proc/<pid>/cgroup, raw bytes (parsed by the exporter)
  StrRef cmdline;             // 32  /proc/<pid>/cmdline, NUL-separated raw bytes (QEMU only)
  std::uint32_t flags;        // 40  ProcFlags
  std::uint32_t reserved;     // 44
};
static_assert(std::is_trivially_copyable_v<ProcRecord>);
static_assert(sizeof(ProcRecord) == 48);
static_assert(offsetof(ProcRecord, netns_inode) == 8);
static_assert(offsetof(ProcRecord, comm) == 16);
static_assert(offsetof(ProcRecord, cmdline) == 32);
static_assert(offsetof(ProcRecord, flags) == 40);

// ---- section kTaps (tap fds held by QEMU-like processes)
// -----------------------------------------

enum class TapType : std::uint8_t {
  kTun = 1,      // an fd on /dev/net/tun; `ifname` from fdinfo "iff:"
  kMacvtap = 2,  // an fd on /dev/tapN; `rdev` is its device number
};

struct TapRecord {
  std::int32_t pid;           // 0
  std::int32_t fd;            // 4
  std::uint8_t type;          // 8   TapType
  std::uint8_t reserved[7];   // 9
  std::uint64_t rdev;         // 16  macvtap device number (0 for tun)
  std::uint64_t netns_inode;  // 24  the process's netns
  StrRef ifname;              // 32  tun: the interface name from fdinfo
};
static_assert(std::is_trivially_copyable_v<TapRecord>);
static_assert(sizeof(TapRecord) == 40);
static_assert(offsetof(TapRecord, type) == 8);
static_assert(offsetof(TapRecord, rdev) == 16);
static_assert(offsetof(TapRecord, netns_inode) == 24);
static_assert(offsetof(TapRecord, ifname) == 32);

// ---- sections kDomains + kDomainParams (libvirt, read-only connection)
// ---------------------------

enum DomainFlags : std::uint32_t {
  kDomainXmlTruncated = 1u << 0,  // the domain XML was larger than the blob cap (not published)
  kDomainXmlMissing = 1u << 1,    // no XML could be fetched yet
};

struct DomainRecord {
  StrRef name;                // 0   virDomainGetName
  StrRef uuid;                // 8   virDomainGetUUIDString
  std::int32_t id;            // 16  virDomainGetID (-1 when inactive)
  std::uint32_t flags;        // 20  DomainFlags
  StrRef xml;                 // 24  virDomainGetXMLDesc, raw (parsed only by the exporter)
  std::uint32_t param_begin;  // 32  first DomainParamRecord of this domain
  std::uint32_t param_count;  // 36
};
static_assert(std::is_trivially_copyable_v<DomainRecord>);
static_assert(sizeof(DomainRecord) == 40);
static_assert(offsetof(DomainRecord, id) == 16);
static_assert(offsetof(DomainRecord, xml) == 24);
static_assert(offsetof(DomainRecord, param_begin) == 32);

// One virTypedParameter of virConnectGetAllDomainStats, copied as is ("net.0.rx.bytes", ...).
enum class ParamType : std::uint32_t {  // the values of virTypedParameterType
  kInt = 1,
  kUint = 2,
  kLLong = 3,
  kULLong = 4,
  kDouble = 5,
  kBoolean = 6,
  kString = 7,
};

struct DomainParamRecord {
  StrRef key;              // 0
  std::uint32_t type;      // 8   ParamType
  std::uint32_t reserved;  // 12
  std::uint64_t bits;      // 16  integer value (sign-extended for kInt/kLLong), or a double's bits
  StrRef str;              // 24  kString value
};
static_assert(std::is_trivially_copyable_v<DomainParamRecord>);
static_assert(sizeof(DomainParamRecord) == 32);
static_assert(offsetof(DomainParamRecord, type) == 8);
static_assert(offsetof(DomainParamRecord, bits) == 16);
static_assert(offsetof(DomainParamRecord, str) == 24);

// ---- section kDocker (Docker Engine API responses, raw)
// -------------------------------------------

enum class DockerQuery : std::uint32_t {
  kContainers = 1,      // GET /containers/json (running containers)
  kNetworks = 2,        // GET /networks
  kNetworkInspect = 3,  // GET /networks/<id> for a bridge network whose bridge is on this host
};

enum DockerFlags : std::uint32_t {
  kDockerBodyTruncated = 1u << 0,  // over the per-body or per-cycle cap (body not published)
};

struct DockerRecord {
  std::uint32_t query;        // 0   DockerQuery
  std::uint32_t http_status;  // 4   e.g. 200, 404
  std::uint32_t flags;        // 8   DockerFlags
  std::uint32_t reserved;     // 12
  StrRef path;                // 16  the request path
  StrRef body;                // 24  the JSON body, raw (parsed only by the exporter)
};
static_assert(std::is_trivially_copyable_v<DockerRecord>);
static_assert(sizeof(DockerRecord) == 32);
static_assert(offsetof(DockerRecord, http_status) == 4);
static_assert(offsetof(DockerRecord, path) == 16);
static_assert(offsetof(DockerRecord, body) == 24);

// ---- sections kBpfCounters + kBpfAttach (the TC counter program, sampler/bpf/) -----------------

enum class BpfAttachState : std::uint8_t {
  kAttached = 1,  // our filters are on the interface's clsact ingress and egress hooks
  kFailed = 2,    // attaching failed (`attach_errno`); retried next cycle
  kPending = 3,   // selected, not attached yet (the cycle's attach budget ran out)
};

// One selected interface of the sampler's netns. Counters are since this run attached to this
// ifindex (both directions summed over CPUs); zero unless kAttached.
struct BpfCounterRecord {
  std::int32_t ifindex;            // 0
  std::uint8_t state;              // 4   BpfAttachState
  std::uint8_t reserved[3];        // 5
  std::int32_t attach_errno;       // 8   kFailed: the errno
  std::uint32_t flags;             // 12  reserved, 0
  StrRef name;                     // 16  interface name when listed (raw)
  std::uint64_t attached_real_ns;  // 24  CLOCK_REALTIME of the attach, 0 = not attached
  std::uint64_t ingress_packets;   // 32
  std::uint64_t ingress_bytes;     // 40  skb->len: includes the link-layer header
  std::uint64_t egress_packets;    // 48
  std::uint64_t egress_bytes;      // 56
};
static_assert(std::is_trivially_copyable_v<BpfCounterRecord>);
static_assert(sizeof(BpfCounterRecord) == 64);
static_assert(offsetof(BpfCounterRecord, state) == 4);
static_assert(offsetof(BpfCounterRecord, attach_errno) == 8);
static_assert(offsetof(BpfCounterRecord, name) == 16);
static_assert(offsetof(BpfCounterRecord, attached_real_ns) == 24);
static_assert(offsetof(BpfCounterRecord, ingress_packets) == 32);
static_assert(offsetof(BpfCounterRecord, egress_bytes) == 56);

// The program and its attachments, one record per snapshot.
struct BpfAttachRecord {
  std::uint32_t ingress_prog_id;          // 0   kernel program ids (bpftool prog show id N)
  std::uint32_t egress_prog_id;           // 4
  std::uint32_t array_ifindexes;          // 8   ifindexes below this use the per-CPU array
  std::uint32_t hash_max_entries;         // 12  capacity of the fallback per-CPU hash
  std::uint32_t hash_entries;             // 16  entries in the hash at the last read
  std::uint32_t attached;                 // 20  interfaces attached now
  std::uint64_t uncounted_packets;        // 24  packets not counted: the hash was full
  std::uint64_t collections;              // 32  successful counter reads since sampler start
  std::uint64_t last_collection_real_ns;  // 40  CLOCK_REALTIME of the last successful read
  std::uint64_t attaches_total;           // 48  successful attaches since start
  std::uint64_t attach_failures_total;    // 56
  std::uint64_t stale_filters_removed;    // 64  filters of an earlier hostflow run removed at start
  std::uint64_t read_ns;                  // 72  wall time of the last counter read
  std::uint64_t read_cpu_ns;              // 80  CPU time (the sampler thread's) of that read
};
static_assert(std::is_trivially_copyable_v<BpfAttachRecord>);
static_assert(sizeof(BpfAttachRecord) == 88);
static_assert(offsetof(BpfAttachRecord, hash_entries) == 16);
static_assert(offsetof(BpfAttachRecord, uncounted_packets) == 24);
static_assert(offsetof(BpfAttachRecord, collections) == 32);
static_assert(offsetof(BpfAttachRecord, stale_filters_removed) == 64);
static_assert(offsetof(BpfAttachRecord, read_ns) == 72);
static_assert(offsetof(BpfAttachRecord, read_cpu_ns) == 80);
// ---- section kConntrack (ctnetlink dump of the sampler's netns, IPv4 + IPv6)
// ---------------------

enum ConntrackFlags : std::uint32_t {
  kCtHasCounters = 1u << 0,  // CTA_COUNTERS_ORIG/REPLY present (nf_conntrack_acct=1)
  kCtHasZone = 1u << 1,      // CTA_ZONE present
  kCtHasMark = 1u << 2,      // CTA_MARK present
};

// One conntrack entry. Addresses are in network byte order, IPv4 in the first 4 bytes (rest 0);
// ports are in host byte order (0 for protocols without ports; ICMP: id in the src ports,
// type << 8 | code in the dst ports).
struct ConntrackRecord {
  std::uint8_t orig_src[16];    // 0   CTA_TUPLE_ORIG
  std::uint8_t orig_dst[16];    // 16
  std::uint8_t reply_src[16];   // 32  CTA_TUPLE_REPLY (differs from orig under NAT)
  std::uint8_t reply_dst[16];   // 48
  std::uint16_t orig_sport;     // 64
  std::uint16_t orig_dport;     // 66
  std::uint16_t reply_sport;    // 68
  std::uint16_t reply_dport;    // 70
  std::uint8_t family;          // 72  AF_INET or AF_INET6 (nfgen_family)
  std::uint8_t proto;           // 73  IPPROTO_* of the original tuple
  std::uint16_t zone;           // 74  CTA_ZONE
  std::uint32_t mark;           // 76  CTA_MARK
  std::uint32_t status;         // 80  CTA_STATUS (IPS_* bits)
  std::uint32_t flags;          // 84  ConntrackFlags
  std::uint64_t orig_packets;   // 88  CTA_COUNTERS_ORIG
  std::uint64_t orig_bytes;     // 96
  std::uint64_t reply_packets;  // 104 CTA_COUNTERS_REPLY
  std::uint64_t reply_bytes;    // 112
};
static_assert(std::is_trivially_copyable_v<ConntrackRecord>);
static_assert(sizeof(ConntrackRecord) == 120);
static_assert(offsetof(ConntrackRecord, orig_dst) == 16);
static_assert(offsetof(ConntrackRecord, reply_src) == 32);
static_assert(offsetof(ConntrackRecord, reply_dst) == 48);
static_assert(offsetof(ConntrackRecord, orig_sport) == 64);
static_assert(offsetof(ConntrackRecord, reply_dport) == 70);
static_assert(offsetof(ConntrackRecord, family) == 72);
static_assert(offsetof(ConntrackRecord, proto) == 73);
static_assert(offsetof(ConntrackRecord, zone) == 74);
static_assert(offsetof(ConntrackRecord, mark) == 76);
static_assert(offsetof(ConntrackRecord, status) == 80);
static_assert(offsetof(ConntrackRecord, flags) == 84);
static_assert(offsetof(ConntrackRecord, orig_packets) == 88);
static_assert(offsetof(ConntrackRecord, reply_bytes) == 112);

// ---- section kAddrs (rtnetlink RTM_GETADDR: the host's and workload namespaces' addresses) -----

enum AddrPresent : std::uint32_t {
  kAddrInOtherNetns = 1u << 0,  // dumped from another netns by nsid (IFA_TARGET_NETNSID)
};

struct AddrRecord {
  std::uint64_t netns_inode;  // 0   the netns the address is in (0 = known only by nsid)
  std::int32_t nsid;         // 8   with kAddrInOtherNetns: its nsid in the sampler's netns, else -1
  std::int32_t ifindex;      // 12  ifa_index (per netns)
  std::uint8_t family;       // 16  AF_INET or AF_INET6
  std::uint8_t prefixlen;    // 17
  std::uint8_t scope;        // 18  RT_SCOPE_*
  std::uint8_t reserved;     // 19
  std::uint32_t ifa_flags;   // 20  IFA_FLAGS (or ifa_flags), IFA_F_*
  std::uint8_t address[16];  // 24  IFA_LOCAL, else IFA_ADDRESS; network byte order
  std::uint32_t present;     // 40  AddrPresent
  std::uint32_t reserved2;   // 44
};
static_assert(std::is_trivially_copyable_v<AddrRecord>);
static_assert(sizeof(AddrRecord) == 48);
static_assert(offsetof(AddrRecord, nsid) == 8);
static_assert(offsetof(AddrRecord, ifindex) == 12);
static_assert(offsetof(AddrRecord, family) == 16);
static_assert(offsetof(AddrRecord, ifa_flags) == 20);
static_assert(offsetof(AddrRecord, address) == 24);
static_assert(offsetof(AddrRecord, present) == 40);

// ---- sections kPlatform + kPlatformFilesystems (sampler/sources/platform.cc) -------------------

// Facts for "where am I" (systemd's detect_container order; the exporter classifies them).
enum PlatformFacts : std::uint32_t {
  kPlatformProcVz = 1u << 0,             // <procfs>/vz exists
  kPlatformProcBc = 1u << 1,             // <procfs>/bc exists (only outside an OpenVZ container)
  kPlatformContainerManager = 1u << 2,   // <rootfs>/run/host/container-manager was read
  kPlatformSystemdContainer = 1u << 3,   // <rootfs>/run/systemd/container was read
  kPlatformPid1Container = 1u << 4,      // PID 1's environment has container=
  kPlatformPid1EnvUnreadable = 1u << 5,  // <procfs>/1/environ could not be read
  kPlatformContainerenv = 1u << 6,       // <rootfs>/run/.containerenv exists (Podman)
  kPlatformDockerenv = 1u << 7,          // <rootfs>/.dockerenv exists
  kPlatformPveMount = 1u << 8,           // /etc/pve is a FUSE mount in PID 1's mountinfo (pmxcfs)
  kPlatformPveVersion = 1u << 9,         // <rootfs>/usr/bin/pveversion exists
};

// Which collectors (--platform.collectors) ran and succeeded this cycle.
enum PlatformCollectors : std::uint32_t {
  kPlatformCpu = 1u << 0,           // cpu_ticks from <procfs>/stat
  kPlatformMemory = 1u << 1,        // mem_* from <procfs>/meminfo
  kPlatformFilesystem = 1u << 2,    // the kPlatformFilesystems section
  kPlatformProcesses = 1u << 3,     // processes: numeric entries of <procfs>
  kPlatformLxc = 1u << 4,           // the kPlatformContainers section (LXC cgroups)
  kPlatformMemAvailable = 1u << 8,  // meminfo had MemAvailable (kernels >= 3.14)
};

// /proc/stat's "cpu" line, in its order (USER_HZ ticks; divide by clk_tck).
enum class PlatformCpuMode : std::uint32_t {
  kUser = 0,
  kNice,
  kSystem,
  kIdle,
  kIowait,
  kIrq,
  kSoftirq,
  kSteal,
  kGuest,
  kGuestNice,
  kCount
};

struct PlatformRecord {
  std::uint32_t facts;          // 0   PlatformFacts
  std::uint32_t collected;      // 4   PlatformCollectors
  StrRef container_manager;     // 8   first line of /run/host/container-manager (raw)
  StrRef systemd_container;     // 16  first line of /run/systemd/container (raw)
  StrRef pid1_container;        // 24  value of container= in PID 1's environment (raw)
  StrRef osrelease;             // 32  <procfs>/sys/kernel/osrelease (WSL says so there)
  std::uint64_t clk_tck;        // 40  sysconf(_SC_CLK_TCK)
  std::uint64_t cpu_ticks[10];  // 48  PlatformCpuMode order, summed over CPUs
  std::uint64_t mem_total;      // 128 bytes (meminfo's kB * 1024)
  std::uint64_t mem_free;       // 136
  std::uint64_t mem_available;  // 144
  std::uint64_t mem_buffers;    // 152
  std::uint64_t mem_cached;     // 160 Cached (page cache, without SwapCached)
  std::uint64_t swap_total;     // 168
  std::uint64_t swap_free;      // 176
  std::uint64_t processes;      // 184 numeric entries of <procfs> (thread groups)
};
static_assert(std::is_trivially_copyable_v<PlatformRecord>);
static_assert(sizeof(PlatformRecord) == 192);
static_assert(offsetof(PlatformRecord, container_manager) == 8);
static_assert(offsetof(PlatformRecord, osrelease) == 32);
static_assert(offsetof(PlatformRecord, clk_tck) == 40);
static_assert(offsetof(PlatformRecord, cpu_ticks) == 48);
static_assert(offsetof(PlatformRecord, mem_total) == 128);
static_assert(offsetof(PlatformRecord, swap_free) == 176);
static_assert(offsetof(PlatformRecord, processes) == 184);

enum PlatformFilesystemFlags : std::uint32_t {
  kFsReadOnly = 1u << 0,  // mounted read-only (mount options "ro")
};

// One filesystem from PID 1's mountinfo that passed the filters, with its statfs figures.
struct PlatformFilesystemRecord {
  StrRef device;              // 0   mount source (raw, octal escapes decoded)
  StrRef mountpoint;          // 8   as in mountinfo (not prefixed with --path.rootfs)
  StrRef fstype;              // 16
  std::uint32_t dev_major;    // 24
  std::uint32_t dev_minor;    // 28
  std::uint64_t size_bytes;   // 32  f_blocks * f_frsize
  std::uint64_t free_bytes;   // 40  f_bfree * f_frsize (root's reserve included)
  std::uint64_t avail_bytes;  // 48  f_bavail * f_frsize (what an unprivileged user can use)
  std::uint64_t files;        // 56  f_files
  std::uint64_t files_free;   // 64  f_ffree
  std::int32_t statfs_errno;  // 72  0, or why statfs failed (figures are 0 then)
  std::uint32_t flags;        // 76  PlatformFilesystemFlags
};
static_assert(std::is_trivially_copyable_v<PlatformFilesystemRecord>);
static_assert(sizeof(PlatformFilesystemRecord) == 80);
static_assert(offsetof(PlatformFilesystemRecord, fstype) == 16);
static_assert(offsetof(PlatformFilesystemRecord, dev_major) == 24);
static_assert(offsetof(PlatformFilesystemRecord, size_bytes) == 32);
static_assert(offsetof(PlatformFilesystemRecord, avail_bytes) == 48);
static_assert(offsetof(PlatformFilesystemRecord, files_free) == 64);
static_assert(offsetof(PlatformFilesystemRecord, statfs_errno) == 72);
static_assert(offsetof(PlatformFilesystemRecord, flags) == 76);

enum PlatformContainerFlags : std::uint32_t {
  kCtProxmox = 1u << 0,     // Proxmox layout: <cgroup>/lxc/<vmid>; else lxc.payload.<name>
  kCtCgroupV2 = 1u << 1,    // figures from the unified hierarchy (else v1 controllers)
  kCtHasMemory = 1u << 2,   // memory_usage and memory_cache read
  kCtHasLimit = 1u << 3,    // memory_limit read and not "max"/unlimited
  kCtHasSwap = 1u << 4,     // swap_usage read
  kCtHasCpu = 1u << 5,      // cpu_usage_ns read
  kCtHasPids = 1u << 6,     // pids_current read
  kCtHasRootfs = 1u << 7,   // rootfs_* from statfs of /proc/<init_pid>/root
  kCtConfigRead = 1u << 8,  // config holds /etc/pve/lxc/<vmid>.conf (raw)
  kCtConfigTruncated = 1u << 9,
};

// One LXC container's cgroup figures (--platform.collectors lxc), as Proxmox computes them.
struct PlatformContainerRecord {
  StrRef id;                   // 0   vmid (Proxmox layout) or the LXC name (raw directory name)
  StrRef config;               // 8   /etc/pve/lxc/<vmid>.conf, raw (parsed in the exporter)
  std::uint32_t flags;         // 16  PlatformContainerFlags
  std::int32_t init_pid;       // 20  smallest pid in the container's cgroups (0 = none)
  std::uint64_t memory_usage;  // 24  v2 memory.current, v1 memory.usage_in_bytes
  std::uint64_t memory_cache;  // 32  v2 memory.stat file, v1 memory.stat total_cache
  std::uint64_t memory_limit;  // 40  v2 memory.max, v1 memory.limit_in_bytes
  std::uint64_t swap_usage;    // 48  v2 memory.swap.current, v1 memsw.usage - usage
  std::uint64_t cpu_usage_ns;  // 56  v2 cpu.stat usage_usec * 1000, v1 cpuacct.usage
  std::uint64_t pids_current;  // 64  pids.current
  std::uint64_t rootfs_size;   // 72  statfs of /proc/<init_pid>/root/, bytes
  std::uint64_t rootfs_free;   // 80
  std::uint64_t rootfs_avail;  // 88
  std::int32_t rootfs_errno;   // 96
  std::uint32_t reserved;      // 100
};
static_assert(std::is_trivially_copyable_v<PlatformContainerRecord>);
static_assert(sizeof(PlatformContainerRecord) == 104);
static_assert(offsetof(PlatformContainerRecord, flags) == 16);
static_assert(offsetof(PlatformContainerRecord, memory_usage) == 24);
static_assert(offsetof(PlatformContainerRecord, cpu_usage_ns) == 56);
static_assert(offsetof(PlatformContainerRecord, rootfs_size) == 72);
static_assert(offsetof(PlatformContainerRecord, rootfs_errno) == 96);

// The record type and current version of each known section, for the builder and the validator.
template <class T>
struct SectionTraits;
template <>
struct SectionTraits<SourceStatusRecord> {
  static constexpr SectionType type = SectionType::kSources;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<LinkRecord> {
  static constexpr SectionType type = SectionType::kLinks;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<NetnsRecord> {
  static constexpr SectionType type = SectionType::kNetns;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<ProcRecord> {
  static constexpr SectionType type = SectionType::kProcs;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<TapRecord> {
  static constexpr SectionType type = SectionType::kTaps;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<DomainRecord> {
  static constexpr SectionType type = SectionType::kDomains;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<DomainParamRecord> {
  static constexpr SectionType type = SectionType::kDomainParams;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<DockerRecord> {
  static constexpr SectionType type = SectionType::kDocker;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<BpfCounterRecord> {
  static constexpr SectionType type = SectionType::kBpfCounters;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<BpfAttachRecord> {
  static constexpr SectionType type = SectionType::kBpfAttach;
  static constexpr std::uint16_t version = 1;
};

template <>
struct SectionTraits<ConntrackRecord> {
  static constexpr SectionType type = SectionType::kConntrack;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<AddrRecord> {
  static constexpr SectionType type = SectionType::kAddrs;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<PlatformRecord> {
  static constexpr SectionType type = SectionType::kPlatform;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<PlatformFilesystemRecord> {
  static constexpr SectionType type = SectionType::kPlatformFilesystems;
  static constexpr std::uint16_t version = 1;
};
template <>
struct SectionTraits<PlatformContainerRecord> {
  static constexpr SectionType type = SectionType::kPlatformContainers;
  static constexpr std::uint16_t version = 1;
};

// ---- section kSamplerProcess (sampler/collector.cc) --------------------------------------------

// The sampler's own process figures (common/process_stats.h), read from /proc/self each cycle:
// the exporter serves them as hostflow_sampler_process_* (it cannot read a root process's /proc
// entries).
struct SamplerProcessRecord {
  std::uint64_t cpu_ns;          // 0   utime + stime of every thread
  std::uint64_t resident_bytes;  // 8   VmRSS
  std::uint64_t virtual_bytes;   // 16  VmSize
  std::uint64_t open_fds;        // 24  entries of /proc/self/fd
  std::uint64_t max_fds;         // 32  soft RLIMIT_NOFILE; 0 = unlimited
  std::uint64_t start_real_ns;   // 40  Unix time; 0 = unknown
};
static_assert(std::is_trivially_copyable_v<SamplerProcessRecord>);
static_assert(sizeof(SamplerProcessRecord) == 48);
static_assert(offsetof(SamplerProcessRecord, open_fds) == 24);
static_assert(offsetof(SamplerProcessRecord, start_real_ns) == 40);

template <>
struct SectionTraits<SamplerProcessRecord> {
  static constexpr SectionType type = SectionType::kSamplerProcess;
  static constexpr std::uint16_t version = 1;
};

// ---- section kSamplerWake (sampler/wake.h, published by sampler/collector.cc) ------------------

// The wake channel (the FIFO POST /collect writes a byte into, sampler/wake.h): what came in, what
// it caused, and the rate limit. Present only when the sampler has the channel (not --no-wake).
// The channel's path is the segment's plus this suffix (both processes derive it from --segment).
inline constexpr std::string_view kWakeSuffix = ".wake";
struct SamplerWakeRecord {
  std::uint64_t requests_total;      // 0   bytes read from the channel (content ignored)
  std::uint64_t cycles_total;        // 8   extra cycles run because of them
  std::uint64_t rate_limited_total;  // 16  of those, cycles that waited for --wake.min-interval
  std::uint64_t min_interval_ns;     // 24  --wake.min-interval
  std::uint64_t last_cycle_real_ns;  // 32  Unix time of the last extra cycle; 0 = none yet
};
static_assert(std::is_trivially_copyable_v<SamplerWakeRecord>);
static_assert(sizeof(SamplerWakeRecord) == 40);
static_assert(offsetof(SamplerWakeRecord, rate_limited_total) == 16);
static_assert(offsetof(SamplerWakeRecord, last_cycle_real_ns) == 32);

template <>
struct SectionTraits<SamplerWakeRecord> {
  static constexpr SectionType type = SectionType::kSamplerWake;
  static constexpr std::uint16_t version = 1;
};

// Smallest record size a reader accepts for a known section (later minors may append fields).
constexpr std::uint32_t min_record_size(SectionType t) {
  switch (t) {
    case SectionType::kArena:
      return 1;
    case SectionType::kSources:
      return sizeof(SourceStatusRecord);
    case SectionType::kLinks:
      return sizeof(LinkRecord);
    case SectionType::kProcs:
      return sizeof(ProcRecord);
    case SectionType::kTaps:
      return sizeof(TapRecord);
    case SectionType::kDomains:
      return sizeof(DomainRecord);
    case SectionType::kDomainParams:
      return sizeof(DomainParamRecord);
    case SectionType::kNetns:
      return sizeof(NetnsRecord);
    case SectionType::kDocker:
      return sizeof(DockerRecord);
    case SectionType::kBpfCounters:
      return sizeof(BpfCounterRecord);
    case SectionType::kBpfAttach:
      return sizeof(BpfAttachRecord);
    case SectionType::kConntrack:
      return sizeof(ConntrackRecord);
    case SectionType::kAddrs:
      return sizeof(AddrRecord);
    case SectionType::kPlatform:
      return sizeof(PlatformRecord);
    case SectionType::kPlatformFilesystems:
      return sizeof(PlatformFilesystemRecord);
    case SectionType::kSamplerProcess:
      return sizeof(SamplerProcessRecord);
    case SectionType::kPlatformContainers:
      return sizeof(PlatformContainerRecord);
    case SectionType::kSamplerWake:
      return sizeof(SamplerWakeRecord);
  }
  return 1;  // unknown (newer minor): skipped by readers, still bounds-checked
}

}  // namespace hostflow::shm
