// LoadBalancer addresses from a configured pool, as MetalLB's controller or
// k3s ServiceLB hand them out on clusters without a cloud provider. Pure code
// (no I/O, not thread-safe: the controller holds a lock): the pool flag's
// parser, the address allocator, and the per-Service decision which
// addresses a LoadBalancer Service gets. The controller that applies the
// decision to status.loadBalancer is load_balancer_ipam.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "core/ip.h"
#include "core/result.h"

namespace podnet::controllers {

using api::Json;

// The loadBalancerClass this pool serves; a Service without a class is ours
// too, one with any other class belongs to another implementation.
inline constexpr const char* kLoadBalancerClass = "podnet.io/lb";
// MetalLB's annotations asking for specific addresses (one per family).
inline constexpr const char* kMetallbIpsAnnotation = "metallb.universe.tf/loadBalancerIPs";
inline constexpr const char* kMetallbIoIpsAnnotation = "metallb.io/loadBalancerIPs";

// An inclusive range of addresses of one family.
struct AddressRange {
  core::IpAddress first;
  core::IpAddress last;

  bool contains(const core::IpAddress& ip) const {
    return ip.v6 == first.v6 && first <= ip && ip <= last;
  }
  // Number of addresses, saturating at 2^64-1.
  uint64_t size() const;
  std::string toString() const;  // "a-b", or "a" for one address
};

// The --load-balancer-pool flag: RANGE[,RANGE...] where RANGE is a CIDR
// ("10.0.0.0/28": every address in it, as MetalLB without avoidBuggyIPs),
// an inclusive range ("172.30.0.200-172.30.0.250") or one address; IPv4 and
// IPv6 may be mixed. Ranges must not overlap.
class LoadBalancerPool {
 public:
  // "" is the empty pool (LoadBalancer Services stay pending). Errors say
  // which range is wrong and why.
  static core::Result<LoadBalancerPool> parse(std::string_view text);

  bool empty() const { return ranges_.empty(); }
  bool contains(const core::IpAddress& ip) const;
  bool hasFamily(bool v6) const;
  // Sorted: IPv4 ranges first, then IPv6, each by first address.
  const std::vector<AddressRange>& ranges() const { return ranges_; }
  // Number of addresses of one family, saturating.
  uint64_t size(bool v6) const;
  // The ranges as the flag would spell them, e.g. "172.30.0.200-172.30.0.250".
  std::string toString() const;

 private:
  std::vector<AddressRange> ranges_;
};

enum class PoolOutcome { Allocated, Taken, OutOfPool };

// Which Service (its "namespace/name") holds which pool address. Dynamic
// allocation hands out the lowest free address of a family, as MetalLB does,
// so assignments are predictable; one address is never held twice.
class LoadBalancerIpam {
 public:
  explicit LoadBalancerIpam(LoadBalancerPool pool) : pool_(std::move(pool)) {}

  const LoadBalancerPool& pool() const { return pool_; }
  // Gives `ip` to `owner`; Allocated also when the owner already holds it.
  PoolOutcome assign(const core::IpAddress& ip, const std::string& owner);
  // The lowest free address of the family, given to `owner`.
  std::optional<core::IpAddress> assignNext(bool v6, const std::string& owner);
  // Gives back `ip` if `owner` holds it.
  void release(const core::IpAddress& ip, const std::string& owner);
  // Gives back everything `owner` holds; true when it held something.
  bool releaseAll(const std::string& owner);
  std::vector<core::IpAddress> heldBy(const std::string& owner) const;
  // The holder of `ip`, or "" when it is free.
  std::string ownerOf(const core::IpAddress& ip) const;
  uint64_t used(bool v6) const;

 private:
  LoadBalancerPool pool_;
  std::map<core::IpAddress, std::string> owners_;
  std::map<std::string, std::vector<core::IpAddress>> byOwner_;
};

// A LoadBalancer Service this pool serves: type LoadBalancer and no
// loadBalancerClass, or ours.
bool servedByPool(const Json& svc);

// The outcome of assignLoadBalancerIps: the Service's addresses in the order
// of its ipFamilies, or why it gets none (then it holds nothing).
struct LoadBalancerAssignment {
  std::vector<core::IpAddress> ips;
  std::string error;
  bool released = false;  // an address went back to the pool (pending Services may want it)
  bool ok() const { return error.empty(); }
};

// Decides the addresses of `svc` (owner "namespace/name") and records them in
// `ipam`: one per entry of spec.ipFamilies (IPv4 when unset); a requested
// address (spec.loadBalancerIP or MetalLB's loadBalancerIPs annotation) is
// honoured when it is in the pool and free, otherwise the Service keeps the
// address it holds or gets the lowest free one. On failure the Service holds
// nothing and `error` says why in words for `kubectl describe`.
LoadBalancerAssignment assignLoadBalancerIps(LoadBalancerIpam& ipam, const Json& svc,
                                             const std::string& owner);

// status.loadBalancer for these addresses: {"ingress": [{"ip", "ipMode": "VIP"}]},
// or {} when there are none.
Json loadBalancerStatus(const std::vector<core::IpAddress>& ips);

// The ingress IPs in status.loadBalancer that parse as addresses.
std::vector<core::IpAddress> statusIngressIps(const Json& svc);

}  // namespace podnet::controllers
