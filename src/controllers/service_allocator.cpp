#include "controllers/service_allocator.h"

#include <algorithm>
#include <set>

#include "api/object.h"
#include "client/informer.h"
#include "controllers/util.h"

namespace podnet::controllers {

std::string serviceType(const Json& svc) {
  std::string type = stringAt(svc, {"spec", "type"});
  return type.empty() ? "ClusterIP" : type;
}

bool needsClusterIp(const Json& svc) { return serviceType(svc) != "ExternalName"; }

bool needsNodePorts(const Json& svc) {
  std::string type = serviceType(svc);
  if (type == "NodePort") return true;
  return type == "LoadBalancer" && boolAt(svc, {"spec", "allocateLoadBalancerNodePorts"}, true);
}

// LoadBalancer Services with externalTrafficPolicy Local get a port for the
// load balancer's health checks.
static bool needsHealthCheckNodePort(const Json& svc) {
  return serviceType(svc) == "LoadBalancer" &&
         stringAt(svc, {"spec", "externalTrafficPolicy"}) == "Local";
}

static std::string requestedClusterIp(const Json& svc) {
  std::string ip = stringAt(svc, {"spec", "clusterIP"});
  if (!ip.empty()) return ip;
  const Json& ips = arrayAt(svc, {"spec", "clusterIPs"});
  if (!ips.empty() && ips[0].is_string()) return ips[0].get<std::string>();
  return {};
}

// Every NodePort a Service holds (ports and health check).
static std::vector<int> nodePortsOf(const Json& svc) {
  std::vector<int> out;
  for (const auto& port : arrayAt(svc, {"spec", "ports"})) {
    int64_t n = intAt(port, {"nodePort"}, 0);
    if (n > 0) out.push_back(int(n));
  }
  int64_t health = intAt(svc, {"spec", "healthCheckNodePort"}, 0);
  if (health > 0) out.push_back(int(health));
  return out;
}

static core::Error invalidField(const Json& svc, std::string field, std::string message) {
  return core::invalid("", "Service", api::name(svc),
                       {core::Cause{"FieldValueInvalid", std::move(message), std::move(field)}});
}

static Json& specOf(Json& obj) {
  if (!obj.contains("spec") || obj["spec"].is_null()) obj["spec"] = Json::object();
  return obj["spec"];
}

core::Result<std::shared_ptr<ServiceAllocator>> ServiceAllocator::create(const Config& config) {
  auto ips = IpRangeAllocator::create(config.serviceCidr);
  if (!ips.ok()) return ips.takeError();
  if (config.nodePortMin <= 0 || config.nodePortMax < config.nodePortMin ||
      config.nodePortMax > 65535)
    return core::badRequest("invalid NodePort range");
  return std::shared_ptr<ServiceAllocator>(new ServiceAllocator(
      std::move(ips.value()), PortAllocator(config.nodePortMin, config.nodePortMax)));
}

ServiceAllocator::ServiceAllocator(IpRangeAllocator ips, PortAllocator ports)
    : ips_(std::move(ips)), ports_(std::move(ports)) {}

std::string ServiceAllocator::firstServiceIp() const { return ips_.first().toString(); }

bool ServiceAllocator::ipAllocated(const std::string& ip) {
  std::lock_guard lock(mutex_);
  auto parsed = core::IpAddress::parse(ip);
  return parsed && ips_.has(*parsed);
}

bool ServiceAllocator::nodePortAllocated(int port) {
  std::lock_guard lock(mutex_);
  return ports_.has(port);
}

void ServiceAllocator::takeIp(const std::string& ip, const std::string& owner) {
  auto parsed = core::IpAddress::parse(ip);
  if (parsed && ips_.allocate(*parsed) == AllocateOutcome::Allocated) ipOwners_[ip] = owner;
}

void ServiceAllocator::releaseIp(const std::string& ip, const std::string& owner) {
  auto it = ipOwners_.find(ip);
  if (it == ipOwners_.end() || it->second != owner) return;
  ipOwners_.erase(it);
  if (auto parsed = core::IpAddress::parse(ip)) ips_.release(*parsed);
}

void ServiceAllocator::takePort(int port, const std::string& owner) {
  if (ports_.allocate(port) == AllocateOutcome::Allocated) portOwners_[port] = owner;
}

void ServiceAllocator::releasePort(int port, const std::string& owner) {
  auto it = portOwners_.find(port);
  if (it == portOwners_.end() || it->second != owner) return;
  portOwners_.erase(it);
  ports_.release(port);
}

void ServiceAllocator::undo(const Change& change, const std::string& owner) {
  for (const auto& ip : change.ipsTaken) releaseIp(ip, owner);
  for (int port : change.portsTaken) releasePort(port, owner);
  for (const auto& ip : change.ipsReleased) takeIp(ip, owner);
  for (int port : change.portsReleased) takePort(port, owner);
}

void ServiceAllocator::rebuild(const std::vector<Json>& services) {
  std::lock_guard lock(mutex_);
  for (const auto& svc : services) {
    std::string owner = client::objectKey(svc);
    if (needsClusterIp(svc)) {
      std::string ip = stringAt(svc, {"spec", "clusterIP"});
      if (!ip.empty() && ip != "None") takeIp(ip, owner);
    }
    for (int port : nodePortsOf(svc)) takePort(port, owner);
  }
}

core::Status ServiceAllocator::allocateClusterIp(Json& obj, Change& change) {
  Json& spec = specOf(obj);
  if (!spec.is_object()) return core::Ok{};  // validation reports it
  std::string owner = client::objectKey(obj);
  std::string requested = requestedClusterIp(obj);
  std::string ip;
  if (requested == "None") {
    ip = "None";
  } else if (!requested.empty()) {
    auto parsed = core::IpAddress::parse(requested);
    std::string prefix = "Invalid value: \"" + requested + "\": ";
    if (!parsed)
      return invalidField(obj, "spec.clusterIPs[0]", prefix + "must be a valid IP address");
    switch (ips_.allocate(*parsed)) {
      case AllocateOutcome::OutOfRange:
        return invalidField(obj, "spec.clusterIPs[0]",
                            prefix +
                                "provided IP is not in the valid range. The range of valid "
                                "IPs is " +
                                ips_.cidr().toString());
      case AllocateOutcome::Taken:
        return invalidField(obj, "spec.clusterIPs[0]", prefix + "provided IP is already allocated");
      case AllocateOutcome::Allocated:
        break;
    }
    ip = parsed->toString();
    ipOwners_[ip] = owner;
    change.ipsTaken.push_back(ip);
  } else {
    auto next = ips_.allocateNext();
    if (!next) return core::internal("failed to allocate a serviceIP: range is full");
    ip = next->toString();
    ipOwners_[ip] = owner;
    change.ipsTaken.push_back(ip);
  }
  spec["clusterIP"] = ip;
  spec["clusterIPs"] = Json::array({ip});
  if (ip != "None" || !spec.contains("ipFamilies")) {
    if (!spec.contains("ipFamilies"))
      spec["ipFamilies"] = Json::array({ips_.cidr().network.v6 ? "IPv6" : "IPv4"});
    if (!spec.contains("ipFamilyPolicy")) spec["ipFamilyPolicy"] = "SingleStack";
  }
  return core::Ok{};
}

core::Status ServiceAllocator::allocateNodePorts(Json& obj, const Json* old, Change& change) {
  Json& spec = specOf(obj);
  if (!spec.is_object()) return core::Ok{};
  std::string owner = client::objectKey(obj);
  // Ports this Service already holds (so an update may keep them), and the
  // ones it gets in this admission (TCP and UDP of one port may share one).
  std::set<int> held;
  if (old)
    for (int port : nodePortsOf(*old))
      if (portOwners_.count(port) && portOwners_[port] == owner) held.insert(port);
  std::set<int> mine;
  auto claim = [&](int port, const std::string& field) -> core::Status {
    if (held.count(port) || mine.count(port)) {
      mine.insert(port);
      return core::Ok{};
    }
    std::string prefix = "Invalid value: " + std::to_string(port) + ": ";
    switch (ports_.allocate(port)) {
      case AllocateOutcome::OutOfRange:
        return invalidField(obj, field,
                            prefix +
                                "provided port is not in the valid range. The range of "
                                "valid ports is " +
                                ports_.rangeText());
      case AllocateOutcome::Taken:
        return invalidField(obj, field, prefix + "provided port is already allocated");
      case AllocateOutcome::Allocated:
        break;
    }
    portOwners_[port] = owner;
    change.portsTaken.push_back(port);
    mine.insert(port);
    return core::Ok{};
  };
  auto fresh = [&]() -> core::Result<int> {
    auto port = ports_.allocateNext();
    if (!port) return core::internal("failed to allocate a nodePort: range is full");
    portOwners_[*port] = owner;
    change.portsTaken.push_back(*port);
    mine.insert(*port);
    return *port;
  };

  if (needsNodePorts(obj) && spec.contains("ports") && spec["ports"].is_array()) {
    auto& ports = spec["ports"];
    for (size_t i = 0; i < ports.size(); ++i) {
      Json& port = ports[i];
      if (!port.is_object()) continue;
      std::string field = "spec.ports[" + std::to_string(i) + "].nodePort";
      int64_t requested = intAt(port, {"nodePort"}, 0);
      if (requested > 0) {
        auto st = claim(int(requested), field);
        if (!st.ok()) return st;
        continue;
      }
      // An update that leaves nodePort out keeps the one the same port had
      // (as upstream's PatchAllocatedValues), matched by name then number.
      int reuse = 0;
      if (old) {
        for (const auto& oldPort : arrayAt(*old, {"spec", "ports"})) {
          bool sameName = stringAt(oldPort, {"name"}) == stringAt(port, {"name"});
          bool samePort = intAt(oldPort, {"port"}, -1) == intAt(port, {"port"}, -2);
          int64_t n = intAt(oldPort, {"nodePort"}, 0);
          if (n > 0 && sameName && samePort && held.count(int(n))) reuse = int(n);
        }
      }
      if (reuse) {
        mine.insert(reuse);
        port["nodePort"] = reuse;
        continue;
      }
      auto got = fresh();
      if (!got.ok()) return got.takeError();
      port["nodePort"] = got.value();
    }
  }
  if (needsHealthCheckNodePort(obj)) {
    int64_t requested = intAt(obj, {"spec", "healthCheckNodePort"}, 0);
    if (requested > 0) {
      auto st = claim(int(requested), "spec.healthCheckNodePort");
      if (!st.ok()) return st;
    } else {
      auto got = fresh();
      if (!got.ok()) return got.takeError();
      spec["healthCheckNodePort"] = got.value();
    }
  }
  // Ports the old object held and the new one no longer uses go back.
  for (int port : held) {
    if (mine.count(port)) continue;
    releasePort(port, owner);
    change.portsReleased.push_back(port);
  }
  return core::Ok{};
}

core::Status ServiceAllocator::admitCreate(const ResourceInfo& resource, Json& obj) {
  if (resource.kind != "Service" || !obj.is_object()) return core::Ok{};
  std::lock_guard lock(mutex_);
  std::string owner = client::objectKey(obj);
  pendingCreates_.erase(owner);
  Change change;
  core::Status st = core::Ok{};
  if (needsClusterIp(obj)) st = allocateClusterIp(obj, change);
  if (st.ok()) st = allocateNodePorts(obj, nullptr, change);
  if (!st.ok()) {
    undo(change, owner);
    return st;
  }
  pendingCreates_[owner] = std::move(change);
  return core::Ok{};
}

core::Status ServiceAllocator::admitUpdate(const ResourceInfo& resource, const Json& old,
                                           Json& obj) {
  if (resource.kind != "Service" || !obj.is_object()) return core::Ok{};
  std::lock_guard lock(mutex_);
  std::string owner = client::objectKey(obj);
  pendingUpdates_.erase(owner);
  Change change;
  std::string oldIp = needsClusterIp(old) ? stringAt(old, {"spec", "clusterIP"}) : "";
  Json& spec = specOf(obj);
  if (!spec.is_object()) return core::Ok{};

  core::Status st = core::Ok{};
  if (!needsClusterIp(obj)) {
    // To ExternalName: drop the address unless the user changed it (then
    // validation refuses the update), and give it back.
    std::string requested = requestedClusterIp(obj);
    if (requested.empty() || requested == oldIp) {
      for (const char* field : {"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"})
        spec.erase(field);
      if (!oldIp.empty() && oldIp != "None") {
        releaseIp(oldIp, owner);
        change.ipsReleased.push_back(oldIp);
      }
    }
  } else if (oldIp.empty()) {
    st = allocateClusterIp(obj, change);  // from ExternalName
  } else if (requestedClusterIp(obj).empty()) {
    // An update that leaves the immutable clusterIP out keeps it.
    spec["clusterIP"] = oldIp;
    if (const Json* ips = at(old, {"spec", "clusterIPs"}))
      spec["clusterIPs"] = *ips;
    else
      spec["clusterIPs"] = Json::array({oldIp});
  }

  if (st.ok()) {
    if (!needsNodePorts(obj) && spec.contains("ports") && spec["ports"].is_array()) {
      // Leaving NodePort/LoadBalancer: drop the nodePorts the old object had.
      std::vector<int> oldPorts = nodePortsOf(old);
      for (auto& port : spec["ports"]) {
        int64_t n = intAt(port, {"nodePort"}, 0);
        if (n > 0 && std::find(oldPorts.begin(), oldPorts.end(), int(n)) != oldPorts.end())
          port.erase("nodePort");
      }
    }
    if (!needsHealthCheckNodePort(obj) && intAt(obj, {"spec", "healthCheckNodePort"}, 0) ==
                                              intAt(old, {"spec", "healthCheckNodePort"}, -1))
      spec.erase("healthCheckNodePort");
    st = allocateNodePorts(obj, &old, change);
  }
  if (!st.ok()) {
    undo(change, owner);
    return st;
  }
  pendingUpdates_[owner] = std::move(change);
  return core::Ok{};
}

void ServiceAllocator::abortCreate(const ResourceInfo& resource, const Json& obj) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = client::objectKey(obj);
  auto it = pendingCreates_.find(owner);
  if (it == pendingCreates_.end()) return;
  undo(it->second, owner);
  pendingCreates_.erase(it);
}

void ServiceAllocator::abortUpdate(const ResourceInfo& resource, const Json& old, const Json& obj) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = client::objectKey(obj);
  auto it = pendingUpdates_.find(owner);
  if (it == pendingUpdates_.end()) return;
  undo(it->second, owner);
  pendingUpdates_.erase(it);
}

void ServiceAllocator::deleted(const ResourceInfo& resource, const Json& old) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = client::objectKey(old);
  pendingCreates_.erase(owner);
  pendingUpdates_.erase(owner);
  std::string ip = stringAt(old, {"spec", "clusterIP"});
  if (!ip.empty() && ip != "None") releaseIp(ip, owner);
  for (int port : nodePortsOf(old)) releasePort(port, owner);
}

}  // namespace podnet::controllers
