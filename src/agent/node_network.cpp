#include "agent/node_network.h"

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace podnet::agent {
namespace {

bool cidrLess(const core::Cidr& a, const core::Cidr& b) {
  return std::tie(a.network, a.prefix) < std::tie(b.network, b.prefix);
}

bool overlaps(const core::Cidr& a, const core::Cidr& b) {
  return a.network.v6 == b.network.v6 && (a.contains(b) || b.contains(a));
}

using RouteKey = std::tuple<core::IpAddress, int, uint32_t>;
RouteKey keyOf(const net::Route& route) {
  return {route.dst.network, route.dst.prefix, route.table};
}
using NeighbourKey = std::pair<std::string, core::IpAddress>;
NeighbourKey keyOf(const net::Neighbour& neighbour) { return {neighbour.device, neighbour.ip}; }
using FdbKey = std::pair<std::string, std::array<uint8_t, 6>>;
FdbKey keyOf(const net::FdbEntry& entry) { return {entry.device, entry.mac.bytes}; }

// Appends to `toDelete` the entries of `from` whose key is gone from `to`, and
// to `toReplace` the entries of `to` that are new or differ. Entries on a
// device that is being deleted/recreated are not deleted one by one (the
// kernel drops them with the device) and are always re-added.
template <typename Entry>
void diffEntries(const std::vector<Entry>& from, const std::vector<Entry>& to,
                 const std::string& recreatedDevice, std::vector<Entry>& toDelete,
                 std::vector<Entry>& toReplace) {
  using Key = decltype(keyOf(std::declval<const Entry&>()));
  std::map<Key, const Entry*> before;
  for (const auto& entry : from) before.emplace(keyOf(entry), &entry);
  std::set<Key> after;
  for (const auto& entry : to) {
    after.insert(keyOf(entry));
    auto it = before.find(keyOf(entry));
    bool onRecreated = !recreatedDevice.empty() && entry.device == recreatedDevice;
    if (it == before.end() || !(*it->second == entry) || onRecreated) toReplace.push_back(entry);
  }
  for (const auto& entry : from) {
    if (after.count(keyOf(entry))) continue;
    if (!recreatedDevice.empty() && entry.device == recreatedDevice) continue;
    toDelete.push_back(entry);
  }
}

core::Error withContext(core::Error error, const std::string& context) {
  error.message = context + ": " + error.message;
  return error;
}

}  // namespace

net::MacAddress vtepMacFor(const core::IpAddress& nodeIp) {
  net::MacAddress mac;
  mac.bytes = {0x0a, 0x58, nodeIp.bytes[0], nodeIp.bytes[1], nodeIp.bytes[2], nodeIp.bytes[3]};
  return mac;
}

core::IpAddress vtepAddressFor(const core::Cidr& podCidr) { return podCidr.network; }

core::Result<NodeNetworkProgram> compileNodeNetwork(const LocalNode& local,
                                                    const std::vector<RemoteNode>& remotes) {
  if (local.podCidr.prefix == 0) {
    return core::badRequest("node " + local.name + ": no podCIDR");
  }
  if (local.nodeIp.v6 != local.podCidr.network.v6) {
    return core::badRequest("node " + local.name + ": node IP and podCIDR differ in family");
  }
  if (local.underlyingDevice.empty()) {
    return core::badRequest("node " + local.name + ": no underlying device");
  }
  const bool vxlan = local.mode == OverlayMode::vxlan;
  if (vxlan && local.nodeIp.v6) {
    // The MAC derivation and the 50-byte overhead assume an IPv4 underlay.
    return core::badRequest("node " + local.name + ": vxlan needs an IPv4 node IP");
  }
  if (vxlan && local.underlyingMtu < 576 + kVxlanOverhead) {
    return core::badRequest("node " + local.name + ": underlying MTU " +
                            std::to_string(local.underlyingMtu) + " too small for vxlan");
  }

  NodeNetworkProgram program;
  const std::string vtepName(kVtepDeviceName);
  if (vxlan) {
    VtepDevice vtep;
    vtep.name = vtepName;
    vtep.vni = local.vni;
    vtep.local = local.nodeIp;
    vtep.dstPort = local.vxlanPort;
    vtep.learning = false;
    vtep.underlyingDevice = local.underlyingDevice;
    vtep.mtu = local.underlyingMtu - kVxlanOverhead;
    vtep.mac = vtepMacFor(local.nodeIp);
    vtep.address = vtepAddressFor(local.podCidr);
    program.vtep = vtep;
  }

  // Sort the remote nodes by podCIDR (then name), so the result and the choice
  // between two nodes claiming the same range do not depend on input order.
  std::vector<const RemoteNode*> sorted;
  sorted.reserve(remotes.size());
  for (const auto& remote : remotes) sorted.push_back(&remote);
  std::sort(sorted.begin(), sorted.end(), [](const RemoteNode* a, const RemoteNode* b) {
    if (a->podCidr == b->podCidr) return a->name < b->name;
    return cidrLess(a->podCidr, b->podCidr);
  });

  program.routes.reserve(sorted.size());
  const core::Cidr* previousCidr = nullptr;
  for (const RemoteNode* remote : sorted) {
    auto skip = [&](std::string reason) {
      program.skipped.push_back({remote->name, std::move(reason)});
    };
    if (remote->name == local.name) {
      skip("this node");
      continue;
    }
    if (remote->podCidr.prefix == 0) {
      skip("no podCIDR");
      continue;
    }
    if (remote->podCidr.network.v6 != local.podCidr.network.v6 ||
        remote->nodeIp.v6 != local.nodeIp.v6) {
      skip("address family differs from this node's");
      continue;
    }
    if (remote->nodeIp == core::IpAddress{} || remote->nodeIp == local.nodeIp) {
      skip("no usable InternalIP");
      continue;
    }
    if (overlaps(remote->podCidr, local.podCidr)) {
      skip("podCIDR overlaps this node's");
      continue;
    }
    // Sorted by network address: an overlap with any earlier range shows up
    // as an overlap with the previous accepted one.
    if (previousCidr && overlaps(*previousCidr, remote->podCidr)) {
      skip("podCIDR overlaps another node's");
      continue;
    }
    previousCidr = &remote->podCidr;

    net::Route route;
    route.dst = remote->podCidr;
    if (!vxlan) {
      route.gateway = remote->nodeIp;
      route.device = local.underlyingDevice;
      program.routes.push_back(std::move(route));
      continue;
    }
    const core::IpAddress remoteVtepAddress = vtepAddressFor(remote->podCidr);
    const net::MacAddress remoteMac = remote->vtepMac.value_or(vtepMacFor(remote->nodeIp));
    route.gateway = remoteVtepAddress;
    route.device = vtepName;
    route.onlink = true;  // the gateway is on no subnet of podnet.1 (only a /32 is)
    program.routes.push_back(std::move(route));
    program.neighbours.push_back({remoteVtepAddress, remoteMac, vtepName});
    program.fdb.push_back({remoteMac, vtepName, remote->nodeIp});
  }
  // Routes are sorted already (by podCIDR); neighbours follow the same order
  // because the VTEP address is the podCIDR's network address. FDB entries are
  // keyed by MAC, so sort them by MAC.
  std::sort(
      program.fdb.begin(), program.fdb.end(),
      [](const net::FdbEntry& a, const net::FdbEntry& b) { return a.mac.bytes < b.mac.bytes; });

  for (const auto& range : local.unreachableCidrs) {
    net::Route route;
    route.dst = range;
    route.type = net::RouteType::unreachable;
    program.safetyRoutes.push_back(route);
  }
  for (const auto& range : local.serviceCidrs) {
    net::Route route;
    route.dst = range;
    if (range.network.v6 == local.nodeIp.v6) {
      route.device = "lo";
      route.source = local.nodeIp;
    } else {
      route.type = net::RouteType::unreachable;  // no address of that family
    }
    program.safetyRoutes.push_back(route);
  }
  std::sort(program.safetyRoutes.begin(), program.safetyRoutes.end(),
            [](const net::Route& a, const net::Route& b) { return cidrLess(a.dst, b.dst); });
  program.safetyRoutes.erase(std::unique(program.safetyRoutes.begin(), program.safetyRoutes.end()),
                             program.safetyRoutes.end());
  return program;
}

bool NodeNetworkDiff::empty() const { return size() == 0; }

size_t NodeNetworkDiff::size() const {
  return (vtepToDelete ? 1 : 0) + (vtepToCreate ? 1 : 0) + routesToDelete.size() +
         routesToReplace.size() + neighboursToDelete.size() + neighboursToReplace.size() +
         fdbToDelete.size() + fdbToReplace.size();
}

NodeNetworkDiff diffNodeNetwork(const NodeNetworkProgram& from, const NodeNetworkProgram& to) {
  NodeNetworkDiff diff;
  std::string recreatedDevice;
  if (from.vtep != to.vtep) {
    if (from.vtep) {
      diff.vtepToDelete = from.vtep;
      recreatedDevice = from.vtep->name;
    }
    if (to.vtep) diff.vtepToCreate = to.vtep;
  }
  // Routes and safety routes share one key space (destination + table).
  std::vector<net::Route> routesFrom = from.routes;
  routesFrom.insert(routesFrom.end(), from.safetyRoutes.begin(), from.safetyRoutes.end());
  std::vector<net::Route> routesTo = to.routes;
  routesTo.insert(routesTo.end(), to.safetyRoutes.begin(), to.safetyRoutes.end());
  diffEntries(routesFrom, routesTo, recreatedDevice, diff.routesToDelete, diff.routesToReplace);
  diffEntries(from.neighbours, to.neighbours, recreatedDevice, diff.neighboursToDelete,
              diff.neighboursToReplace);
  diffEntries(from.fdb, to.fdb, recreatedDevice, diff.fdbToDelete, diff.fdbToReplace);
  return diff;
}

core::Status setLinkMacInCurrentNetns(std::string_view device, const net::MacAddress& mac) {
  if (device.size() >= IFNAMSIZ)
    return core::badRequest("link name too long: " + std::string(device));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::internal(std::string("socket: ") + std::strerror(errno));
  ifreq request{};
  std::memcpy(request.ifr_name, device.data(), device.size());
  request.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  std::memcpy(request.ifr_hwaddr.sa_data, mac.bytes.data(), mac.bytes.size());
  int rc = ioctl(fd, SIOCSIFHWADDR, &request);
  int savedErrno = errno;
  close(fd);
  if (rc != 0) {
    return core::internal("SIOCSIFHWADDR " + std::string(device) + " " + mac.toString() + ": " +
                          std::strerror(savedErrno));
  }
  return core::Ok{};
}

NodeNetworkApplier::NodeNetworkApplier(net::Netlink& netlink, LinkMacSetter setLinkMac)
    : netlink_(netlink), setLinkMac_(std::move(setLinkMac)) {}

core::Status NodeNetworkApplier::createVtep(const VtepDevice& vtep) {
  net::VxlanOptions options;
  options.name = vtep.name;
  options.vni = vtep.vni;
  options.local = vtep.local;
  options.dstPort = vtep.dstPort;
  options.learning = vtep.learning;
  options.underlyingDevice = vtep.underlyingDevice;
  options.mtu = vtep.mtu;
  if (auto created = netlink_.createVxlan(options); !created) return created;
  // The MAC is set while the device is still down: other nodes already program
  // it (derived from our node IP), and not every driver allows a live change.
  if (auto set = setLinkMac_(vtep.name, vtep.mac); !set) return set;
  if (auto added = netlink_.addAddress(vtep.name, vtep.address, vtep.address.v6 ? 128 : 32,
                                       net::IfExists::succeed);
      !added) {
    return added;
  }
  return netlink_.setLinkUp(vtep.name);
}

core::Status NodeNetworkApplier::ensureVtep(const VtepDevice& vtep) {
  auto existing = netlink_.link(vtep.name);
  if (existing.ok()) {
    // VNI, port and local address are not reported by LinkInfo; kind, MTU and
    // MAC are, and a device from an older run with other values is recreated.
    // A restart with a changed VNI/port needs the device removed by hand.
    if (existing->kind == "vxlan" && existing->mtu == vtep.mtu && existing->mac == vtep.mac) {
      if (auto added = netlink_.addAddress(vtep.name, vtep.address, vtep.address.v6 ? 128 : 32,
                                           net::IfExists::succeed);
          !added) {
        return added;
      }
      return netlink_.setLinkUp(vtep.name);
    }
    if (auto deleted = netlink_.deleteLink(vtep.name, net::IfAbsent::succeed); !deleted) {
      return deleted;
    }
  } else if (!net::isNotFound(existing.error())) {
    return existing.takeError();
  }
  return createVtep(vtep);
}

core::Status NodeNetworkApplier::apply(const NodeNetworkDiff& diff) {
  // Deletes first (an FDB entry before its neighbour before its route), then
  // the device, then adds in the reverse order, so a route never points at a
  // neighbour that is not there yet.
  for (const auto& entry : diff.fdbToDelete) {
    if (auto s = netlink_.deleteFdb(entry, net::IfAbsent::succeed); !s) return s;
  }
  for (const auto& neighbour : diff.neighboursToDelete) {
    if (auto s = netlink_.deleteNeighbour(neighbour, net::IfAbsent::succeed); !s) return s;
  }
  for (const auto& route : diff.routesToDelete) {
    if (auto s = netlink_.deleteRoute(route, net::IfAbsent::succeed); !s) return s;
  }
  if (diff.vtepToDelete) {
    if (auto s = netlink_.deleteLink(diff.vtepToDelete->name, net::IfAbsent::succeed); !s) return s;
  }
  if (diff.vtepToCreate) {
    if (auto s = ensureVtep(*diff.vtepToCreate); !s) return s;
  }
  for (const auto& entry : diff.fdbToReplace) {
    if (auto s = netlink_.replaceFdb(entry); !s) return s;
  }
  for (const auto& neighbour : diff.neighboursToReplace) {
    if (auto s = netlink_.replaceNeighbour(neighbour); !s) return s;
  }
  for (const auto& route : diff.routesToReplace) {
    if (auto s = netlink_.replaceRoute(route); !s) return s;
  }
  return core::Ok{};
}

core::Status NodeNetworkApplier::sync(const NodeNetworkProgram& desired) {
  if (!inSync_) return fullSync(desired);
  NodeNetworkDiff diff = diffNodeNetwork(applied_, desired);
  lastOperationCount_ = diff.size();
  if (diff.empty()) {
    applied_ = desired;  // `skipped` may differ; nothing for the kernel
    return core::Ok{};
  }
  if (auto s = apply(diff); !s) {
    inSync_ = false;  // partly applied: the next sync converges from scratch
    return withContext(s.takeError(), "node network sync");
  }
  applied_ = desired;
  return core::Ok{};
}

core::Status NodeNetworkApplier::fullSync(const NodeNetworkProgram& desired) {
  inSync_ = false;
  NodeNetworkDiff diff;
  const std::string vtepName(kVtepDeviceName);
  if (desired.vtep) {
    diff.vtepToCreate = desired.vtep;
  } else {
    // A previous run in vxlan mode: its device (and everything on it) goes.
    if (auto s = netlink_.deleteLink(vtepName, net::IfAbsent::succeed); !s) {
      return withContext(s.takeError(), "node network full sync");
    }
  }
  diff.routesToReplace = desired.routes;
  diff.routesToReplace.insert(diff.routesToReplace.end(), desired.safetyRoutes.begin(),
                              desired.safetyRoutes.end());
  diff.neighboursToReplace = desired.neighbours;
  diff.fdbToReplace = desired.fdb;
  lastOperationCount_ = diff.size();
  if (auto s = apply(diff); !s) return withContext(s.takeError(), "node network full sync");

  // Leftovers of a previous run: listed once, here, never on the hot path.
  if (desired.vtep) {
    auto fdb = netlink_.listFdb(desired.vtep->name);
    if (!fdb) return withContext(fdb.takeError(), "node network full sync");
    for (const auto& entry : *fdb) {
      bool wanted = std::any_of(desired.fdb.begin(), desired.fdb.end(),
                                [&](const net::FdbEntry& e) { return e.mac == entry.mac; });
      if (wanted) continue;
      ++lastOperationCount_;
      if (auto s = netlink_.deleteFdb(entry, net::IfAbsent::succeed); !s) {
        return withContext(s.takeError(), "node network full sync");
      }
    }
    auto neighbours = netlink_.listNeighbours(desired.vtep->name);
    if (!neighbours) return withContext(neighbours.takeError(), "node network full sync");
    for (const auto& neighbour : *neighbours) {
      bool wanted = std::any_of(desired.neighbours.begin(), desired.neighbours.end(),
                                [&](const net::Neighbour& n) { return n.ip == neighbour.ip; });
      if (wanted) continue;
      ++lastOperationCount_;
      if (auto s = netlink_.deleteNeighbour(neighbour, net::IfAbsent::succeed); !s) {
        return withContext(s.takeError(), "node network full sync");
      }
    }
  }
  if (!desired.safetyRoutes.empty()) {
    // Gateway routes inside our ranges that we no longer want: host-gw routes
    // of nodes removed while the agent was down.
    auto routes = netlink_.listRoutes(desired.safetyRoutes.front().dst.network.v6);
    if (!routes) return withContext(routes.takeError(), "node network full sync");
    for (const auto& route : *routes) {
      if (route.type != net::RouteType::unicast || !route.gateway) continue;
      bool inOurRanges =
          std::any_of(desired.safetyRoutes.begin(), desired.safetyRoutes.end(),
                      [&](const net::Route& r) { return r.dst.contains(route.dst); });
      bool wanted = std::any_of(desired.routes.begin(), desired.routes.end(),
                                [&](const net::Route& r) { return r.dst == route.dst; });
      if (!inOurRanges || wanted) continue;
      ++lastOperationCount_;
      if (auto s = netlink_.deleteRoute(route, net::IfAbsent::succeed); !s) {
        return withContext(s.takeError(), "node network full sync");
      }
    }
  }
  applied_ = desired;
  inSync_ = true;
  return core::Ok{};
}

}  // namespace podnet::agent
