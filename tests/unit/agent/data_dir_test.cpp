// Which paths of the agent's data dir are the pods' own (their modes are
// the pod's to choose) and which are the agent's private state.
#include "agent/data_dir.h"

#include <gtest/gtest.h>

namespace podnet::agent {
namespace {

TEST(AgentDataDir, PodsKeepTheirVolumesAndEtcFiles) {
  for (const char* path :
       {"volumes", "volumes/pvc-1/data", "pods/uid-1/volumes", "pods/uid-1/volumes/token/token",
        "pods/uid-1/mnt", "pods/uid-1/hosts", "pods/uid-1/resolv.conf", "pods/uid-1/hostname"})
    EXPECT_TRUE(isPodFacing(path)) << path;
  for (const char* path :
       {"", "pods", "pods/uid-1", "pods/uid-1/sandbox.json", "pods/uid-1/logs/app/0.log",
        "pods/uid-1/attach-0", "ipam/podnet/10.244.0.2", "pki/node.key", "cni.conf", "lb-addresses",
        "podsvolumes", "pods/volumes"})
    EXPECT_FALSE(isPodFacing(path)) << path;
}

}  // namespace
}  // namespace podnet::agent
