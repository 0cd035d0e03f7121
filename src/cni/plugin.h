// The CNI command dispatcher: everything the podnet-cni executable does,
// except touching the kernel, which goes through NetworkBackend (implemented
// with netlink in src/net by the agent side; a fake in the tests). Pure apart
// from the IPAM state files.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cni/ipam.h"
#include "cni/types.h"

namespace podnet::cni {

// What the backend builds for one attachment: a veth pair whose pod end is
// `ifname` in `netns` with `address`, whose host end joins `bridge`.
struct PodNetworkSpec {
  std::string netns;
  std::string ifname;
  std::string bridge;
  InterfaceAddress address;
  core::IpAddress gateway;
  bool isGateway = false;  // put gateway/prefix on the bridge and enable forwarding
  int mtu = 0;             // 0: the kernel's default
  bool hairpin = false;
  std::vector<Route> routes;  // in the pod; includes the default route for isDefaultGateway
  // Set only for a backend that acceptsLateAddress(): IPAM is still choosing
  // `address.ip` (its prefix, the gateway and the routes are known). The
  // backend calls it once it needs the address, after the work that does not,
  // and stops (undoing what it did) with its error if it fails.
  std::function<Outcome<InterfaceAddress>()> awaitAddress;
};

struct LinkInfo {
  std::string name;
  std::string mac;
  int mtu = 0;
};

// The links setUpPod created or found, reported in the ADD result as the
// reference bridge plugin does: [bridge, host veth, pod interface].
struct PodLinks {
  LinkInfo bridge;
  LinkInfo hostVeth;
  LinkInfo pod;
};

class NetworkBackend {
 public:
  virtual ~NetworkBackend() = default;
  // Fails (with a CNI error) if `ifname` already exists in the netns.
  virtual Outcome<PodLinks> setUpPod(const PodNetworkSpec& spec) = 0;
  // Idempotent: success when the netns (empty or missing) or the link is gone.
  virtual CniStatus tearDownPod(const std::string& netns, const std::string& ifname) = 0;
  // Whether the pod's links and addresses are still as `spec` says.
  virtual CniStatus checkPod(const PodNetworkSpec& spec) = 0;
  // Whether ADD can be served now (STATUS).
  virtual bool ready() = 0;
  // Whether setUpPod can start before IPAM has chosen the address (see
  // PodNetworkSpec::awaitAddress), so that both overlap.
  virtual bool acceptsLateAddress() const { return false; }
};

// What the executable prints on stdout and its exit status. Errors are JSON
// on stdout as libcni expects; successful DEL/STATUS/GC print nothing.
struct Response {
  int exitCode = 0;
  std::string stdoutJson;
};

struct PluginOptions {
  // When set, replaces ipam.dataDir of every config (tests and fuzzing, so
  // input never picks where files are written).
  std::string dataDirOverride;
};

// Runs one command. A config may be a single plugin config (what runtimes
// pass) or, for manual runs, a conflist, of which the first plugin is used.
Response runPlugin(const Invocation& invocation, std::string_view stdinConfig,
                   NetworkBackend& backend, const PluginOptions& options = {});
// The same, first parsing the CNI_* environment (bad variables: code 4).
Response runPlugin(const std::map<std::string, std::string>& environment,
                   std::string_view stdinConfig, NetworkBackend& backend,
                   const PluginOptions& options = {});

Response errorResponse(const CniError& error, std::string_view cniVersion);

}  // namespace podnet::cni
