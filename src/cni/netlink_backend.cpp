#include "cni/netlink_backend.h"

#include <sys/random.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

#include "cni/trace.h"
#include "net/netlink.h"
#include "net/netns.h"

namespace podnet::cni {

namespace {

CniError backendError(std::string_view what, const core::Error& error) {
  return CniError{kBackendFailure, std::string(what) + ": " + error.message, ""};
}

// A random unicast, locally administered MAC (what the kernel would pick),
// starting with `first` when given.
net::MacAddress randomMac(std::optional<uint8_t> first = std::nullopt) {
  net::MacAddress mac;
  if (getrandom(mac.bytes.data(), mac.bytes.size(), 0) != ssize_t(mac.bytes.size())) {
    // No entropy at hand: the clock's bits are still unique enough per node.
    uint64_t t = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    for (size_t i = 0; i < mac.bytes.size(); ++i) mac.bytes[i] = uint8_t(t >> (8 * i));
  }
  mac.bytes[0] = first ? *first : uint8_t((mac.bytes[0] & 0xfe) | 0x02);
  return mac;
}

// Host ends of pod veths start with fe: (as libvirt's taps), above any MAC a
// bridge is likely to have, so adding one never changes the bridge's MAC
// (a bridge without a MAC of its own takes its lowest port's).
constexpr uint8_t kHostVethMacPrefix = 0xfe;
// Bridges we create get a MAC of their own (below fe:), which they keep.
constexpr uint8_t kBridgeMacPrefix = 0x02;

LinkInfo linkInfo(const net::LinkInfo& link) {
  return LinkInfo{link.name, link.mac.toString(), int(link.mtu)};
}

// Ensures the node bridge exists, is up and (isGateway) holds the gateway
// address; returns it. Concurrent ADDs race to create it (plugins#366), so
// "already exists" is success as long as it is a bridge. Each step is skipped
// when already right, so the usual ADD (bridge in place) costs one lookup, one
// address add answered EEXIST and the forwarding sysctl.
Outcome<net::LinkInfo> ensureBridge(net::Netlink& host, const PodNetworkSpec& spec) {
  auto existing = host.link(spec.bridge);
  if (!existing) {
    if (!net::isNotFound(existing.error()))
      return backendError("bridge " + spec.bridge, existing.error());
    auto created = host.createBridge(spec.bridge, uint32_t(spec.mtu > 0 ? spec.mtu : 0),
                                     randomMac(kBridgeMacPrefix));
    if (!created && !net::isAlreadyExists(created.error()))
      return backendError("create bridge " + spec.bridge, created.error());
    existing = host.link(spec.bridge);
    if (!existing) return backendError("bridge " + spec.bridge, existing.error());
  }
  if (existing->kind != "bridge")
    return CniError{kBackendFailure, spec.bridge + " exists and is not a bridge", ""};
  if (!existing->up) {
    if (auto up = host.setLinkUp(existing->index); !up)
      return backendError("set " + spec.bridge + " up", up.error());
  }
  if (spec.isGateway) {
    auto added =
        host.addAddress(existing->index, spec.gateway, spec.address.prefix, net::IfExists::succeed);
    if (!added) return backendError("gateway address on " + spec.bridge, added.error());
    // Writing the value it already has is a no-op for the kernel; reading it
    // first would cost as much as writing.
    const char* key = spec.gateway.v6 ? "net/ipv6/conf/all/forwarding" : "net/ipv4/ip_forward";
    if (auto forwarding = net::writeSysctl(key, "1"); !forwarding)
      return backendError("enable forwarding", forwarding.error());
  }
  return *existing;
}

// Configures the pod end inside its netns in one netlink batch: lo and the
// interface up, the address, then the routes (which need the address's subnet
// route; the kernel applies a batch in order).
std::optional<CniError> configurePod(net::Netlink& pod, const PodNetworkSpec& spec,
                                     const InterfaceAddress& address, int podIndex) {
  net::Netlink::Batch batch;
  batch.setLinkUp("lo");
  batch.setLinkUp(spec.ifname);
  batch.addAddress(podIndex, address.ip, address.prefix);
  for (const auto& route : spec.routes) {
    net::Route kernelRoute;
    kernelRoute.dst = route.dst;
    kernelRoute.gateway = route.gw;
    batch.addRoute(kernelRoute, podIndex);
  }
  if (auto done = pod.execute(batch); !done)
    return backendError("configure " + spec.ifname + " in pod", done.error());
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
  auto bridge = ensureBridge(*host, spec);
  if (!bridge) return bridge.error();
  traceMark("bridge ensured");

  auto netns = net::NetnsHandle::open(spec.netns);
  if (!netns) return backendError("open netns", netns.error());
  auto pod = net::Netlink::openIn(*netns);
  if (!pod) return backendError("netlink in " + spec.netns, pod.error());
  traceMark("pod netns socket");

  // One request creates the pair, the pod end directly inside the pod netns
  // (with a MAC of ours, so it need not be asked for) and the host end up and
  // on the bridge.
  const std::string hostName = hostVethName(spec.netns, spec.ifname);
  net::VethOptions veth;
  veth.name = hostName;
  veth.peerName = spec.ifname;
  veth.mtu = uint32_t(spec.mtu > 0 ? spec.mtu : 0);
  veth.peerNetnsFd = netns->fd();
  veth.masterIndex = bridge->index;
  veth.up = true;
  veth.mac = randomMac(kHostVethMacPrefix);
  veth.peerMac = randomMac();
  auto created = host->createVeth(veth);
  if (!created) {
    // The spec's error for an interface name taken in the container; only
    // looked up on failure, which saves the lookup on every ADD.
    if (net::isAlreadyExists(created.error()) && pod->linkIndex(spec.ifname))
      return CniError{kBackendFailure,
                      "container interface " + spec.ifname + " already exists in " + spec.netns,
                      ""};
    return backendError("create veth " + hostName, created.error());
  }
  traceMark("veth created");

  // From here on a failure removes the pair (deleting one end deletes both),
  // so a failed ADD leaves nothing behind.
  auto fail = [&](CniError error) -> Outcome<PodLinks> {
    (void)host->deleteLink(hostName, net::IfAbsent::succeed);
    return error;
  };
  // The kernel's echo of the creation gives our end's MAC and the pod end's
  // index; kernels before 6.3 send none, so ask them.
  net::LinkInfo hostLink;
  net::LinkInfo podLink;
  if (*created && (*created)->linkIndex > 0) {
    hostLink = **created;
    podLink.index = hostLink.linkIndex;
    podLink.name = spec.ifname;
    podLink.mac = *veth.peerMac;
    podLink.mtu = hostLink.mtu;
  } else {
    auto asked = host->link(hostName);
    if (!asked) return fail(backendError("link " + hostName, asked.error()));
    hostLink = *asked;
    auto inPod = pod->link(spec.ifname);
    if (!inPod) return fail(backendError("link " + spec.ifname, inPod.error()));
    podLink = *inPod;
  }
  // Hairpin is a bridge-port flag: only settable once the veth is a port.
  if (spec.hairpin) {
    if (auto hairpin = host->setHairpin(hostLink.index, true); !hairpin)
      return fail(backendError("hairpin on " + hostName, hairpin.error()));
  }
  InterfaceAddress address = spec.address;
  if (spec.awaitAddress) {  // IPAM ran while the links were made
    auto chosen = spec.awaitAddress();
    if (!chosen) return fail(chosen.error());
    address = *chosen;
    traceMark("address awaited");
  }
  if (auto failed = configurePod(*pod, spec, address, podLink.index)) return fail(*failed);
  traceMark("pod end configured");

  // A bridge without a MAC of its own takes its lowest port's: only a port
  // below its MAC can have changed it (not ours, normally: see above).
  net::LinkInfo bridgeLink = *bridge;
  if (hostLink.mac.bytes < bridgeLink.mac.bytes) {
    auto reread = host->link(spec.bridge);
    if (!reread) return fail(backendError("bridge " + spec.bridge, reread.error()));
    bridgeLink = *reread;
  }
  return PodLinks{linkInfo(bridgeLink), linkInfo(hostLink), linkInfo(podLink)};
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
