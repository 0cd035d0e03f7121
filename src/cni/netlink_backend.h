// NetworkBackend on the real kernel (src/net), doing what the reference bridge
// plugin does: a node bridge, and per pod a veth pair whose pod end is created
// directly inside the pod's netns and whose host end joins the bridge.
//
// Host-side work happens in the calling thread's network namespace (the root
// one when run as podnet-cni; a throwaway "node" namespace in tests).
#pragma once

#include <string>
#include <string_view>

#include "cni/plugin.h"

namespace podnet::cni {

// "veth" + 8 hex digits of a stable hash of netns and ifname: deterministic, so
// a retried ADD or a DEL can name it, and within IFNAMSIZ.
std::string hostVethName(std::string_view netns, std::string_view ifname);

class NetlinkBackend : public NetworkBackend {
 public:
  Outcome<PodLinks> setUpPod(const PodNetworkSpec& spec) override;
  CniStatus tearDownPod(const std::string& netns, const std::string& ifname) override;
  CniStatus checkPod(const PodNetworkSpec& spec) override;
  bool ready() override { return true; }
  bool acceptsLateAddress() const override { return true; }
};

}  // namespace podnet::cni
