// The procs source's pure helpers (sampler/sources/procs): is_qemu_comm, which decides whose
// command line and taps the sampler reads.
#include <gtest/gtest.h>

#include "sources/procs.h"

using hostflow::sampler::is_qemu_comm;

namespace {

TEST(QemuComm, Forms) {
  EXPECT_TRUE(is_qemu_comm("qemu-system-x86\n"));  // comm is 15 bytes + newline
  EXPECT_TRUE(is_qemu_comm("qemu-system-aar"));
  EXPECT_TRUE(is_qemu_comm("qemu-kvm"));
  EXPECT_TRUE(is_qemu_comm("kvm\n"));
  EXPECT_FALSE(is_qemu_comm("kvm-pit/1234"));
  EXPECT_FALSE(is_qemu_comm("qemu-img"));
  EXPECT_FALSE(is_qemu_comm(""));
  EXPECT_FALSE(is_qemu_comm("bash"));
}

}  // namespace
