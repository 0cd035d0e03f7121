// Between nodes: how pods of this node reach the podCIDRs of the other nodes,
// either with plain routes via the other node's IP (flannel host-gw, needs L2
// adjacency) or with a VXLAN overlay programmed as flannel does (one VTEP
// device, and per remote node a route, a permanent neighbour and an FDB entry;
// no learning, no miss callouts).
//
// Three layers, as ARCHITECTURE.md asks:
//   compileNodeNetwork  pure: desired state -> NodeNetworkProgram (no I/O)
//   diffNodeNetwork     pure: program(old) vs program(new) -> only what changed
//   NodeNetworkApplier  thin: sends a diff through net::Netlink, remembers what
//                       it applied, never lists kernel state except once in
//                       fullSync (the initial sync after start).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip.h"
#include "core/result.h"
#include "net/netlink.h"

namespace podnet::agent {

enum class OverlayMode { hostGw, vxlan };

inline constexpr std::string_view kVtepDeviceName = "podnet.1";
inline constexpr uint32_t kDefaultVni = 1;
inline constexpr uint16_t kDefaultVxlanPort = 8472;  // flannel's and the kernel's default
// Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers.
inline constexpr uint32_t kVxlanOverhead = 50;

struct LocalNode {
  std::string name;
  core::IpAddress nodeIp;         // InternalIP; the VTEP's local address
  core::Cidr podCidr;             // node.spec.podCIDR
  std::string underlyingDevice;   // the device carrying node-to-node traffic (eth0)
  uint32_t underlyingMtu = 1500;  // MTU of that device
  OverlayMode mode = OverlayMode::hostGw;
  uint32_t vni = kDefaultVni;
  uint16_t vxlanPort = kDefaultVxlanPort;
  // Ranges that must never leave through the default route (cluster CIDR,
  // service CIDR): each gets an `unreachable` route, behind the more specific
  // per-node routes.
  std::vector<core::Cidr> unreachableCidrs;
  // Service ranges: routed to the loopback device with the node's address as
  // source instead, so the node's own processes (hostNetwork pods) can
  // connect to ClusterIPs: the service proxy's nat output chain rewrites the
  // destination to an endpoint before the packet leaves, and what it does not
  // rewrite ends on lo and goes nowhere.
  std::vector<core::Cidr> serviceCidrs;
};

struct RemoteNode {
  std::string name;
  core::IpAddress nodeIp;  // InternalIP
  core::Cidr podCidr;
  // The remote VTEP's MAC; empty: vtepMacFor(nodeIp), which is what every
  // podnet agent sets on its own VTEP, so no annotation round trip is needed.
  std::optional<net::MacAddress> vtepMac;
};

// 0a:58:<the 4 bytes of the IPv4 node IP> (0a: locally administered, unicast;
// 0a:58 is the prefix Kubernetes' kubenet/ovn also use for derived MACs).
net::MacAddress vtepMacFor(const core::IpAddress& nodeIp);
// The VTEP's address: the network address of the node's podCIDR (10.244.1.0
// for 10.244.1.0/24), as flannel's ".0/32". It never collides with a pod or the
// bridge gateway (.1), and it is unique per node because podCIDRs are.
core::IpAddress vtepAddressFor(const core::Cidr& podCidr);

struct VtepDevice {
  std::string name;
  uint32_t vni = kDefaultVni;
  core::IpAddress local;
  uint16_t dstPort = kDefaultVxlanPort;
  bool learning = false;
  std::string underlyingDevice;
  uint32_t mtu = 0;
  net::MacAddress mac;
  core::IpAddress address;  // assigned as /32 (/128)
  bool operator==(const VtepDevice&) const = default;
};

struct SkippedNode {
  std::string name;
  std::string reason;
  bool operator==(const SkippedNode&) const = default;
};

// The desired dataplane between nodes. Every list is sorted (routes by
// destination, neighbours by IP, FDB entries by MAC), so equal inputs give
// equal programs whatever the order of the nodes.
struct NodeNetworkProgram {
  std::optional<VtepDevice> vtep;          // vxlan only
  std::vector<net::Route> routes;          // one per remote podCIDR
  std::vector<net::Neighbour> neighbours;  // vxlan only: remote VTEP address -> MAC
  std::vector<net::FdbEntry> fdb;          // vxlan only: remote VTEP MAC -> node IP
  std::vector<net::Route> safetyRoutes;    // unreachableCidrs and serviceCidrs
  std::vector<SkippedNode> skipped;        // remote nodes that got nothing, and why
  bool operator==(const NodeNetworkProgram&) const = default;
};

// Fails only when the local node itself is unusable (no podCIDR, IPv6 vxlan,
// MTU too small...). Bad remote nodes (this node's name, no IP, a podCIDR that
// overlaps ours or an earlier node's, family mismatch) land in `skipped`.
core::Result<NodeNetworkProgram> compileNodeNetwork(const LocalNode& local,
                                                    const std::vector<RemoteNode>& remotes);

// What to change to go from one program to another. Entries are keyed (route:
// destination + table; neighbour: device + IP; FDB: device + MAC); a changed
// entry with the same key is replaced in place, never deleted and re-added, so
// traffic to that node is not interrupted. A changed VTEP is recreated, and
// then every entry on it is re-added (the kernel dropped them with the device).
struct NodeNetworkDiff {
  std::optional<VtepDevice> vtepToDelete;
  std::optional<VtepDevice> vtepToCreate;
  std::vector<net::Route> routesToDelete;
  std::vector<net::Route> routesToReplace;  // added or changed
  std::vector<net::Neighbour> neighboursToDelete;
  std::vector<net::Neighbour> neighboursToReplace;
  std::vector<net::FdbEntry> fdbToDelete;
  std::vector<net::FdbEntry> fdbToReplace;
  bool empty() const;
  size_t size() const;  // number of operations
};

NodeNetworkDiff diffNodeNetwork(const NodeNetworkProgram& from, const NodeNetworkProgram& to);

// Sets a link's MAC address. The Netlink layer has no such call, so the applier
// takes one; setLinkMacInCurrentNetns uses SIOCSIFHWADDR in the calling
// thread's namespace (wrap it in net::runInNetns for another namespace).
using LinkMacSetter = std::function<core::Status(std::string_view, const net::MacAddress&)>;
core::Status setLinkMacInCurrentNetns(std::string_view device, const net::MacAddress& mac);

class NodeNetworkApplier {
 public:
  // `netlink` must outlive the applier; it is the namespace that is configured.
  explicit NodeNetworkApplier(net::Netlink& netlink,
                              LinkMacSetter setLinkMac = setLinkMacInCurrentNetns);

  // The first sync after start: makes the kernel hold everything of `desired`
  // whatever it held before (existing VTEP checked and recreated if it differs,
  // every entry replaced), and removes what a previous run left behind: FDB
  // entries and neighbours on the VTEP, and gateway routes inside the
  // unreachable ranges, that `desired` does not have. Lists kernel state once.
  core::Status fullSync(const NodeNetworkProgram& desired);

  // Applies only diff(applied, desired); no kernel listing. Before the first
  // successful fullSync, and after any failure (the kernel state is then
  // unknown), it runs fullSync instead.
  core::Status sync(const NodeNetworkProgram& desired);

  const NodeNetworkProgram& applied() const { return applied_; }
  size_t lastOperationCount() const { return lastOperationCount_; }

 private:
  core::Status apply(const NodeNetworkDiff& diff);
  core::Status createVtep(const VtepDevice& vtep);
  core::Status ensureVtep(const VtepDevice& vtep);

  net::Netlink& netlink_;
  LinkMacSetter setLinkMac_;
  NodeNetworkProgram applied_;
  bool inSync_ = false;
  size_t lastOperationCount_ = 0;
};

}  // namespace podnet::agent
