/* What the TC counter program (tc_counters.bpf.c, in the kernel) and the bpf source
 * (sources/bpf.cc, in hostflow-sampler) share: map layouts, key and value structs, and the
 * constants that identify hostflow's own TC filters. C and C++; UAPI types only.
 *
 * Counting: per packet, per interface (skb->ifindex) and direction, packets and bytes (skb->len,
 * which includes the link-layer header at TC). The fast path is a per-CPU array indexed by
 * ifindex * 2 + direction for ifindexes below the array's size (set by the sampler at load time,
 * --bpf.array-ifindexes); larger ifindexes go to a per-CPU hash keyed by hf_tc_key. Slot 0 of the
 * array (ifindex 0, which no interface has) counts packets that found the hash full. */
#ifndef HOSTFLOW_SAMPLER_BPF_TC_COUNTERS_H
#define HOSTFLOW_SAMPLER_BPF_TC_COUNTERS_H

#include <linux/types.h>

#define HF_TC_INGRESS 0
#define HF_TC_EGRESS 1

/* The array's default size in ifindexes (entries = 2 x this) and the hash's capacity. */
#define HF_TC_ARRAY_IFINDEXES_DEFAULT 4096
#define HF_TC_HASH_MAX_ENTRIES 16384
/* Array slot counting packets that could not be counted because the hash was full. */
#define HF_TC_SLOT_UNCOUNTED 0

/* hostflow's filters: this handle at this priority, on the clsact ingress and egress hooks, with
 * a program named HF_TC_PROG_INGRESS / HF_TC_PROG_EGRESS. A filter is removed by hostflow only
 * when all three match (never another program's filter). The priority is low, so our filter runs
 * before tc's default (49152) and most others (it returns TC_ACT_UNSPEC: they still run after
 * it), and unusual, so it rarely meets a foreign filter of another kind at the same priority. */
#define HF_TC_HANDLE 0x4846u /* "HF" */
#define HF_TC_PRIORITY 72u
#define HF_TC_PROG_INGRESS "hf_tc_ingress"
#define HF_TC_PROG_EGRESS "hf_tc_egress"

/* Hash key (fallback path). */
struct hf_tc_key {
  __u32 ifindex;
  __u32 direction; /* HF_TC_INGRESS or HF_TC_EGRESS */
};

/* Value of both maps, per CPU. */
struct hf_tc_value {
  __u64 packets;
  __u64 bytes;
};

#endif
