#include "controllers/load_balancer_pool.h"

#include <algorithm>
#include <set>

#include "api/object.h"
#include "controllers/service_allocator.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

int byteLength(const core::IpAddress& ip) { return ip.v6 ? 16 : 4; }

// ip + 1; false when ip is the family's last address.
bool increment(core::IpAddress& ip) {
  for (int i = byteLength(ip) - 1; i >= 0; --i)
    if (++ip.bytes[i] != 0) return true;
  return false;
}

core::IpAddress lastOf(const core::Cidr& cidr) {
  core::IpAddress ip = cidr.network;
  int bits = int(ip.bitLength());
  for (int i = cidr.prefix; i < bits; ++i) ip.bytes[i / 8] |= uint8_t(0x80u >> (i % 8));
  return ip;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

const char* familyName(bool v6) { return v6 ? "IPv6" : "IPv4"; }

core::Result<AddressRange> parseRange(std::string_view text) {
  std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return core::badRequest("empty range (two commas, or a comma at an end)");
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto cidr = core::Cidr::parse(text);
    if (!cidr) return core::badRequest(quoted + " is not a CIDR such as 10.0.0.0/28");
    if (*core::IpAddress::parse(text.substr(0, slash)) != cidr->network)
      return core::badRequest(quoted + " has host bits set; the network is " + cidr->toString());
    return AddressRange{cidr->network, lastOf(*cidr)};
  }
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto first = core::IpAddress::parse(trim(text.substr(0, dash)));
    auto last = core::IpAddress::parse(trim(text.substr(dash + 1)));
    if (!first || !last)
      return core::badRequest(quoted + " is not a range such as 172.30.0.200-172.30.0.250");
    if (first->v6 != last->v6) return core::badRequest(quoted + " mixes IPv4 and IPv6");
    if (*last < *first) return core::badRequest(quoted + " ends before it starts");
    return AddressRange{*first, *last};
  }
  auto ip = core::IpAddress::parse(text);
  if (!ip)
    return core::badRequest(quoted +
                            " is neither a CIDR (10.0.0.0/28), a range (10.0.0.1-10.0.0.9) "
                            "nor an address");
  return AddressRange{*ip, *ip};
}

}  // namespace

uint64_t AddressRange::size() const {
  // last - first + 1 over the low 8 bytes; any difference in the high bytes
  // saturates.
  int length = byteLength(first);
  for (int i = 0; i < length - 8; ++i)
    if (first.bytes[i] != last.bytes[i]) return UINT64_MAX;
  auto low = [&](const core::IpAddress& ip) {
    uint64_t value = 0;
    for (int i = std::max(0, length - 8); i < length; ++i) value = (value << 8) | ip.bytes[i];
    return value;
  };
  uint64_t difference = low(last) - low(first);
  return difference == UINT64_MAX ? UINT64_MAX : difference + 1;
}

std::string AddressRange::toString() const {
  if (first == last) return first.toString();
  return first.toString() + "-" + last.toString();
}

core::Result<LoadBalancerPool> LoadBalancerPool::parse(std::string_view text) {
  LoadBalancerPool pool;
  if (trim(text).empty()) return pool;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view part = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    auto range = parseRange(part);
    if (!range.ok()) return range.takeError();
    pool.ranges_.push_back(*range);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(pool.ranges_.begin(), pool.ranges_.end(),
            [](const AddressRange& a, const AddressRange& b) { return a.first < b.first; });
  for (size_t i = 1; i < pool.ranges_.size(); ++i) {
    const auto& previous = pool.ranges_[i - 1];
    const auto& current = pool.ranges_[i];
    if (previous.first.v6 == current.first.v6 && !(previous.last < current.first))
      return core::badRequest("ranges " + previous.toString() + " and " + current.toString() +
                              " overlap");
  }
  return pool;
}

bool LoadBalancerPool::contains(const core::IpAddress& ip) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const AddressRange& range) { return range.contains(ip); });
}

bool LoadBalancerPool::hasFamily(bool v6) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [&](const AddressRange& range) { return range.first.v6 == v6; });
}

uint64_t LoadBalancerPool::size(bool v6) const {
  uint64_t total = 0;
  for (const auto& range : ranges_) {
    if (range.first.v6 != v6) continue;
    uint64_t n = range.size();
    total = n > UINT64_MAX - total ? UINT64_MAX : total + n;
  }
  return total;
}

std::string LoadBalancerPool::toString() const {
  std::string out;
  for (const auto& range : ranges_) {
    if (!out.empty()) out += ",";
    out += range.toString();
  }
  return out;
}

PoolOutcome LoadBalancerIpam::assign(const core::IpAddress& ip, const std::string& owner) {
  if (!pool_.contains(ip)) return PoolOutcome::OutOfPool;
  auto it = owners_.find(ip);
  if (it != owners_.end()) return it->second == owner ? PoolOutcome::Allocated : PoolOutcome::Taken;
  owners_[ip] = owner;
  byOwner_[owner].push_back(ip);
  return PoolOutcome::Allocated;
}

std::optional<core::IpAddress> LoadBalancerIpam::assignNext(bool v6, const std::string& owner) {
  for (const auto& range : pool_.ranges()) {
    if (range.first.v6 != v6) continue;
    // Walk the taken addresses of the range in order until a gap: the cost
    // is the number of taken addresses below the first free one.
    core::IpAddress candidate = range.first;
    auto it = owners_.lower_bound(candidate);
    bool exhausted = false;
    while (it != owners_.end() && it->first == candidate) {
      if (candidate == range.last || !increment(candidate)) {
        exhausted = true;
        break;
      }
      ++it;
    }
    if (exhausted) continue;
    owners_[candidate] = owner;
    byOwner_[owner].push_back(candidate);
    return candidate;
  }
  return std::nullopt;
}

void LoadBalancerIpam::release(const core::IpAddress& ip, const std::string& owner) {
  auto it = owners_.find(ip);
  if (it == owners_.end() || it->second != owner) return;
  owners_.erase(it);
  auto held = byOwner_.find(owner);
  if (held == byOwner_.end()) return;
  std::erase(held->second, ip);
  if (held->second.empty()) byOwner_.erase(held);
}

bool LoadBalancerIpam::releaseAll(const std::string& owner) {
  auto held = byOwner_.find(owner);
  if (held == byOwner_.end()) return false;
  for (const auto& ip : held->second) owners_.erase(ip);
  byOwner_.erase(held);
  return true;
}

std::vector<core::IpAddress> LoadBalancerIpam::heldBy(const std::string& owner) const {
  auto held = byOwner_.find(owner);
  return held == byOwner_.end() ? std::vector<core::IpAddress>{} : held->second;
}

std::string LoadBalancerIpam::ownerOf(const core::IpAddress& ip) const {
  auto it = owners_.find(ip);
  return it == owners_.end() ? std::string{} : it->second;
}

uint64_t LoadBalancerIpam::used(bool v6) const {
  uint64_t n = 0;
  for (const auto& [ip, owner] : owners_)
    if (ip.v6 == v6) ++n;
  return n;
}

bool servedByPool(const Json& svc) {
  if (serviceType(svc) != "LoadBalancer") return false;
  const Json* cls = at(svc, {"spec", "loadBalancerClass"});
  if (!cls || cls->is_null()) return true;
  return cls->is_string() && (cls->get<std::string>().empty() || *cls == kLoadBalancerClass);
}

namespace {

// Splits "a, b" into {"a", "b"}, dropping empty items.
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string_view item = trim(std::string_view(text).substr(start, comma - start));
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

// The addresses the Service asks for, or an error message.
core::Result<std::vector<core::IpAddress>> requestedIps(const Json& svc) {
  std::string specIp = stringAt(svc, {"spec", "loadBalancerIP"});
  std::string annotation = stringAt(svc, {"metadata", "annotations", kMetallbIpsAnnotation});
  std::string source = kMetallbIpsAnnotation;
  if (annotation.empty()) {
    annotation = stringAt(svc, {"metadata", "annotations", kMetallbIoIpsAnnotation});
    source = kMetallbIoIpsAnnotation;
  }
  if (!specIp.empty() && !annotation.empty())
    return core::badRequest("spec.loadBalancerIP and the " + source +
                            " annotation are both set; use one");
  std::vector<std::string> texts;
  if (!specIp.empty()) {
    texts.push_back(specIp);
    source = "spec.loadBalancerIP";
  } else {
    texts = splitList(annotation);
  }
  std::vector<core::IpAddress> out;
  std::set<bool> families;
  for (const auto& text : texts) {
    auto ip = core::IpAddress::parse(text);
    if (!ip) return core::badRequest("invalid IP \"" + text + "\" in " + source);
    if (!families.insert(ip->v6).second)
      return core::badRequest(source + " asks for more than one " + familyName(ip->v6) +
                              " address");
    out.push_back(*ip);
  }
  return out;
}

// The families the Service wants, in order: spec.ipFamilies, else the family
// of its clusterIP, else IPv4.
std::vector<bool> wantedFamilies(const Json& svc) {
  std::vector<bool> out;
  for (const auto& family : arrayAt(svc, {"spec", "ipFamilies"})) {
    if (family == "IPv4" && std::find(out.begin(), out.end(), false) == out.end())
      out.push_back(false);
    if (family == "IPv6" && std::find(out.begin(), out.end(), true) == out.end())
      out.push_back(true);
  }
  if (out.empty()) {
    auto clusterIp = core::IpAddress::parse(stringAt(svc, {"spec", "clusterIP"}));
    out.push_back(clusterIp && clusterIp->v6);
  }
  return out;
}

std::string familiesText(const std::vector<bool>& families) {
  std::string out;
  for (bool v6 : families) out += std::string(out.empty() ? "" : ",") + familyName(v6);
  return out;
}

}  // namespace

LoadBalancerAssignment assignLoadBalancerIps(LoadBalancerIpam& ipam, const Json& svc,
                                             const std::string& owner) {
  LoadBalancerAssignment result;
  std::vector<core::IpAddress> before = ipam.heldBy(owner);
  auto fail = [&](std::string message) {
    result.ips.clear();
    result.error = std::move(message);
    ipam.releaseAll(owner);
    result.released = !before.empty();
    return result;
  };

  auto requested = requestedIps(svc);
  if (!requested.ok()) return fail(requested.error().message);
  std::vector<bool> families = wantedFamilies(svc);
  for (const auto& ip : *requested)
    if (std::find(families.begin(), families.end(), ip.v6) == families.end())
      return fail("requested IP " + ip.toString() + " is " + familyName(ip.v6) +
                  " but the Service's ipFamilies are " + familiesText(families));

  for (bool v6 : families) {
    auto asked = std::find_if(requested->begin(), requested->end(),
                              [&](const core::IpAddress& ip) { return ip.v6 == v6; });
    if (asked != requested->end()) {
      switch (ipam.assign(*asked, owner)) {
        case PoolOutcome::OutOfPool:
          return fail(
              "requested IP " + asked->toString() + " is not in the load balancer pool " +
              (ipam.pool().empty() ? std::string("(none configured)") : ipam.pool().toString()));
        case PoolOutcome::Taken:
          return fail("requested IP " + asked->toString() + " is already allocated to " +
                      ipam.ownerOf(*asked));
        case PoolOutcome::Allocated:
          break;
      }
      result.ips.push_back(*asked);
      continue;
    }
    auto held = std::find_if(before.begin(), before.end(),
                             [&](const core::IpAddress& ip) { return ip.v6 == v6; });
    if (held != before.end()) {
      result.ips.push_back(*held);
      continue;
    }
    if (!ipam.pool().hasFamily(v6))
      return fail(
          std::string("no ") + familyName(v6) + " addresses in the load balancer pool " +
          (ipam.pool().empty() ? std::string("(none configured)") : ipam.pool().toString()));
    auto next = ipam.assignNext(v6, owner);
    if (!next)
      return fail(std::string("no available IPs: all ") + std::to_string(ipam.pool().size(v6)) +
                  " " + familyName(v6) + " addresses of the pool " + ipam.pool().toString() +
                  " are in use");
    result.ips.push_back(*next);
  }
  // What the Service held and no longer uses goes back.
  for (const auto& ip : ipam.heldBy(owner)) {
    if (std::find(result.ips.begin(), result.ips.end(), ip) != result.ips.end()) continue;
    ipam.release(ip, owner);
    result.released = true;
  }
  return result;
}

Json loadBalancerStatus(const std::vector<core::IpAddress>& ips) {
  if (ips.empty()) return Json::object();
  Json ingress = Json::array();
  for (const auto& ip : ips) ingress.push_back({{"ip", ip.toString()}, {"ipMode", "VIP"}});
  return {{"ingress", ingress}};
}

std::vector<core::IpAddress> statusIngressIps(const Json& svc) {
  std::vector<core::IpAddress> out;
  for (const auto& ingress : arrayAt(svc, {"status", "loadBalancer", "ingress"}))
    if (auto ip = core::IpAddress::parse(stringAt(ingress, {"ip"}))) out.push_back(*ip);
  return out;
}

}  // namespace podnet::controllers
