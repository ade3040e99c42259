/* hostflow's TC counter program: attached by the bpf source (sources/bpf.cc) to the clsact
 * ingress and egress hooks of the selected host interfaces. Counts packets and bytes per
 * interface and direction into per-CPU maps (layout in tc_counters.h) and lets every packet
 * through unchanged: it returns TC_ACT_UNSPEC, so the next filter (another program's, if any)
 * still runs and the packet continues as if no filter had matched. UAPI headers only. */
/* bpf_helpers.h needs the UAPI types of linux/bpf.h first. */
// clang-format off
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
// clang-format on

#include "tc_counters.h"

char LICENSE[] SEC("license") = "GPL";

/* Fast path: ifindex * 2 + direction. max_entries is set by the loader (--bpf.array-ifindexes);
 * the program reads the same size from array_ifindexes. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2 * HF_TC_ARRAY_IFINDEXES_DEFAULT);
  __type(key, __u32);
  __type(value, struct hf_tc_value);
} hf_tc_array SEC(".maps");

/* Fallback for ifindexes the array cannot hold. Not preallocated: entries cost memory only
 * when such interfaces exist; the sampler deletes the entries of interfaces that are gone. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, HF_TC_HASH_MAX_ENTRIES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct hf_tc_key);
  __type(value, struct hf_tc_value);
} hf_tc_hash SEC(".maps");

/* Set by the loader before load (read-only to the program). */
const volatile __u32 array_ifindexes = HF_TC_ARRAY_IFINDEXES_DEFAULT;

static __always_inline void add(struct hf_tc_value* v, __u64 len) {
  v->packets += 1;
  v->bytes += len;
}

static __always_inline int count(struct __sk_buff* skb, __u32 direction) {
  const __u32 ifindex = skb->ifindex;
  const __u64 len = skb->len;
  struct hf_tc_value* v;
  if (ifindex < array_ifindexes) {
    __u32 slot = ifindex * 2 + direction;
    v = bpf_map_lookup_elem(&hf_tc_array, &slot);
    if (v) add(v, len);
    return TC_ACT_UNSPEC;
  }
  struct hf_tc_key key = {.ifindex = ifindex, .direction = direction};
  v = bpf_map_lookup_elem(&hf_tc_hash, &key);
  if (v) {
    add(v, len);
    return TC_ACT_UNSPEC;
  }
  struct hf_tc_value first = {.packets = 1, .bytes = len};
  long err = bpf_map_update_elem(&hf_tc_hash, &key, &first, BPF_NOEXIST);
  if (err == -17 /* EEXIST: another CPU created it first */) {
    v = bpf_map_lookup_elem(&hf_tc_hash, &key);
    if (v) add(v, len);
  } else if (err) {
    __u32 slot = HF_TC_SLOT_UNCOUNTED;
    v = bpf_map_lookup_elem(&hf_tc_array, &slot);
    if (v) add(v, len);
  }
  return TC_ACT_UNSPEC;
}

SEC("tc")
int hf_tc_ingress(struct __sk_buff* skb) {
  return count(skb, HF_TC_INGRESS);
}

SEC("tc")
int hf_tc_egress(struct __sk_buff* skb) {
  return count(skb, HF_TC_EGRESS);
}
