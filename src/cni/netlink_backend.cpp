#include "cni/netlink_backend.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

#include "net/netlink.h"
#include "net/netns.h"

namespace podnet::cni {

namespace {

CniError backendError(std::string_view what, const core::Error& error) {
  return CniError{kBackendFailure, std::string(what) + ": " + error.message, ""};
}

LinkInfo linkInfo(const net::LinkInfo& link) {
  return LinkInfo{link.name, link.mac.toString(), int(link.mtu)};
}

// Ensures the node bridge exists and is up. Concurrent ADDs race to create it
// (plugins#366), so "already exists" is success as long as it is a bridge.
std::optional<CniError> ensureBridge(net::Netlink& host, const PodNetworkSpec& spec) {
  auto existing = host.link(spec.bridge);
  if (!existing) {
    if (!net::isNotFound(existing.error()))
      return backendError("bridge " + spec.bridge, existing.error());
    auto created = host.createBridge(spec.bridge, uint32_t(spec.mtu > 0 ? spec.mtu : 0));
    if (!created && !net::isAlreadyExists(created.error()))
      return backendError("create bridge " + spec.bridge, created.error());
    existing = host.link(spec.bridge);
    if (!existing) return backendError("bridge " + spec.bridge, existing.error());
  }
  if (existing->kind != "bridge")
    return CniError{kBackendFailure, spec.bridge + " exists and is not a bridge", ""};
  if (auto up = host.setLinkUp(spec.bridge); !up)
    return backendError("set " + spec.bridge + " up", up.error());
  if (spec.isGateway) {
    auto added =
        host.addAddress(spec.bridge, spec.gateway, spec.address.prefix, net::IfExists::succeed);
    if (!added) return backendError("gateway address on " + spec.bridge, added.error());
    const char* key = spec.gateway.v6 ? "net/ipv6/conf/all/forwarding" : "net/ipv4/ip_forward";
    if (auto forwarding = net::writeSysctl(key, "1"); !forwarding)
      return backendError("enable forwarding", forwarding.error());
  }
  return std::nullopt;
}

// Configures the pod end inside its netns: lo up, the interface up with its
// address, then the routes (which need the address's subnet route).
std::optional<CniError> configurePod(net::Netlink& pod, const PodNetworkSpec& spec) {
  if (auto up = pod.setLinkUp("lo"); !up) return backendError("set lo up", up.error());
  if (auto up = pod.setLinkUp(spec.ifname); !up)
    return backendError("set " + spec.ifname + " up", up.error());
  if (auto added = pod.addAddress(spec.ifname, spec.address.ip, spec.address.prefix); !added)
    return backendError("address on " + spec.ifname, added.error());
  for (const auto& route : spec.routes) {
    net::Route kernelRoute;
    kernelRoute.dst = route.dst;
    kernelRoute.gateway = route.gw;
    kernelRoute.device = spec.ifname;
    if (auto added = pod.addRoute(kernelRoute); !added)
      return backendError("route " + route.dst.toString() + " in pod", added.error());
  }
  return std::nullopt;
}

}  // namespace

std::string hostVethName(std::string_view netns, std::string_view ifname) {
  // FNV-1a: unlike std::hash, the same in every build and process.
  uint32_t hash = 2166136261u;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 16777619u;
    }
  };
  mix(netns);
  mix(std::string_view("\0", 1));  // so ("ab","c") and ("a","bc") differ
  mix(ifname);
  char name[16];
  std::snprintf(name, sizeof name, "veth%08x", unsigned(hash));
  return name;
}

Outcome<PodLinks> NetlinkBackend::setUpPod(const PodNetworkSpec& spec) {
  auto host = net::Netlink::open();
  if (!host) return backendError("netlink", host.error());
  if (auto failed = ensureBridge(*host, spec)) return *failed;

  auto netns = net::NetnsHandle::open(spec.netns);
  if (!netns) return backendError("open netns", netns.error());
  auto pod = net::Netlink::openIn(*netns);
  if (!pod) return backendError("netlink in " + spec.netns, pod.error());
  if (auto present = pod->linkIndex(spec.ifname); present)
    return CniError{kBackendFailure,
                    "container interface " + spec.ifname + " already exists in " + spec.netns, ""};

  const std::string hostName = hostVethName(spec.netns, spec.ifname);
  net::VethOptions veth;
  veth.name = hostName;
  veth.peerName = spec.ifname;
  veth.mtu = uint32_t(spec.mtu > 0 ? spec.mtu : 0);
  veth.peerNetnsFd = netns->fd();
  if (auto created = host->createVeth(veth); !created)
    return backendError("create veth " + hostName, created.error());

  // From here on a failure removes the pair (deleting one end deletes both),
  // so a failed ADD leaves nothing behind.
  auto fail = [&](CniError error) -> Outcome<PodLinks> {
    (void)host->deleteLink(hostName, net::IfAbsent::succeed);
    return error;
  };
  if (auto attached = host->setMaster(hostName, spec.bridge); !attached)
    return fail(backendError("attach " + hostName + " to " + spec.bridge, attached.error()));
  // Hairpin is a bridge-port flag: only settable once the veth is a port.
  if (spec.hairpin) {
    if (auto hairpin = host->setHairpin(hostName, true); !hairpin)
      return fail(backendError("hairpin on " + hostName, hairpin.error()));
  }
  if (auto up = host->setLinkUp(hostName); !up)
    return fail(backendError("set " + hostName + " up", up.error()));
  if (auto failed = configurePod(*pod, spec)) return fail(*failed);

  auto bridgeLink = host->link(spec.bridge);
  auto hostLink = host->link(hostName);
  auto podLink = pod->link(spec.ifname);
  if (!bridgeLink) return fail(backendError("bridge " + spec.bridge, bridgeLink.error()));
  if (!hostLink) return fail(backendError("link " + hostName, hostLink.error()));
  if (!podLink) return fail(backendError("link " + spec.ifname, podLink.error()));
  return PodLinks{linkInfo(*bridgeLink), linkInfo(*hostLink), linkInfo(*podLink)};
}

CniStatus NetlinkBackend::tearDownPod(const std::string& netns, const std::string& ifname) {
  // DEL must succeed when there is nothing left: no netns given, the netns is
  // gone (its veth went with it), or the interface was already removed.
  if (netns.empty()) return Done{};
  auto handle = net::NetnsHandle::open(netns);
  if (!handle) {
    if (net::isNotFound(handle.error())) return Done{};
    return backendError("open netns", handle.error());
  }
  auto pod = net::Netlink::openIn(*handle);
  if (!pod) return backendError("netlink in " + netns, pod.error());
  if (auto deleted = pod->deleteLink(ifname, net::IfAbsent::succeed); !deleted)
    return backendError("delete " + ifname, deleted.error());
  return Done{};
}

CniStatus NetlinkBackend::checkPod(const PodNetworkSpec& spec) {
  auto handle = net::NetnsHandle::open(spec.netns);
  if (!handle) return backendError("open netns", handle.error());
  auto pod = net::Netlink::openIn(*handle);
  if (!pod) return backendError("netlink in " + spec.netns, pod.error());
  auto link = pod->link(spec.ifname);
  if (!link) return backendError("interface " + spec.ifname, link.error());
  auto addresses = pod->listAddresses(spec.ifname);
  if (!addresses) return backendError("addresses of " + spec.ifname, addresses.error());
  for (const auto& address : *addresses)
    if (address.ip == spec.address.ip && address.prefix == spec.address.prefix) return Done{};
  return CniError{kBackendFailure,
                  spec.ifname + " in " + spec.netns + " lacks " + spec.address.toString(), ""};
}

}  // namespace podnet::cni
