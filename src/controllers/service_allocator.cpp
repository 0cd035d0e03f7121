#include "controllers/service_allocator.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "api/object.h"
#include "client/informer.h"
#include "controllers/util.h"

namespace podnet::controllers {

using namespace std::chrono_literals;

// A random pick that another server claimed first is tried again this many
// times before the create fails (with a cache kept current by the claim
// watch, a second try is already rare).
static constexpr int kClaimAttempts = 32;

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

core::Result<std::shared_ptr<ServiceAllocator>> ServiceAllocator::create(const Config& config,
                                                                         store::Store& store) {
  auto ips = IpRangeAllocator::create(config.serviceCidr);
  if (!ips.ok()) return ips.takeError();
  if (config.nodePortMin <= 0 || config.nodePortMax < config.nodePortMin ||
      config.nodePortMax > 65535)
    return core::badRequest("invalid NodePort range");
  return std::shared_ptr<ServiceAllocator>(new ServiceAllocator(
      std::move(ips.value()), PortAllocator(config.nodePortMin, config.nodePortMax), store));
}

ServiceAllocator::ServiceAllocator(IpRangeAllocator ips, PortAllocator ports, store::Store& store)
    : ips_(std::move(ips)),
      ports_(std::move(ports)),
      ipClaims_(store, "serviceips"),
      portClaims_(store, "nodeports"),
      store_(store) {}

ServiceAllocator::~ServiceAllocator() {
  stopping_ = true;
  if (follower_.joinable()) follower_.join();
}

void ServiceAllocator::noteClaim(const std::string& key, int64_t revision) {
  int64_t& known = claimRevisions_[key];
  known = std::max(known, revision);
}

core::Result<bool> ServiceAllocator::claimIp(const std::string& ip, const std::string& owner) {
  auto holder = ipClaims_.claim(ip, owner);
  if (!holder.ok()) {
    releaseIp(ip, owner);
    return holder.takeError();
  }
  noteClaim(ipClaims_.key(ip), holder->revision);
  if (holder->owner == owner) return true;
  ipOwners_[ip] = holder->owner;  // the bit stays set: another server's Service has it
  return false;
}

core::Result<bool> ServiceAllocator::claimPort(int port, const std::string& owner) {
  std::string value = std::to_string(port);
  auto holder = portClaims_.claim(value, owner);
  if (!holder.ok()) {
    releasePort(port, owner);
    return holder.takeError();
  }
  noteClaim(portClaims_.key(value), holder->revision);
  if (holder->owner == owner) return true;
  portOwners_[port] = holder->owner;
  return false;
}

void ServiceAllocator::releaseClaims(const std::vector<std::string>& ips,
                                     const std::vector<int>& ports, const std::string& owner) {
  // A failed release leaves a claim without its Service: the repair
  // controller gives it back later.
  for (const auto& ip : ips) {
    auto released = ipClaims_.release(ip, owner);
    if (released)
      noteClaim(ipClaims_.key(ip), *released);
    else
      std::fprintf(stderr, "service allocator: releasing %s: %s\n", ip.c_str(),
                   released.error().message.c_str());
  }
  for (int port : ports) {
    std::string value = std::to_string(port);
    auto released = portClaims_.release(value, owner);
    if (released)
      noteClaim(portClaims_.key(value), *released);
    else
      std::fprintf(stderr, "service allocator: releasing node port %d: %s\n", port,
                   released.error().message.c_str());
  }
}

void ServiceAllocator::applyClaimEvent(const store::Event& event) {
  // This server's own claims and releases are known already, by revision:
  // their events (which may arrive after a later local change of the same
  // value, e.g. an update giving a port up before it is stored) are skipped.
  int64_t& known = claimRevisions_[event.kv.key];
  if (event.kv.modRevision <= known) return;
  known = event.kv.modRevision;
  std::string owner = ValueClaims::ownerOf(event.kv.value);
  bool put = event.type == store::Event::Type::Put;
  // The store is the truth and this event is newer than anything this
  // server knows of the claim: a put names the holder now.
  if (std::string ip = ipClaims_.valueOf(event.kv.key); !ip.empty()) {
    if (put) {
      takeIp(ip, owner);
      if (ipAllocatedLocked(ip)) ipOwners_[ip] = owner;
    } else {
      releaseIp(ip, owner);
    }
  } else if (std::string port = portClaims_.valueOf(event.kv.key); !port.empty()) {
    int n = std::atoi(port.c_str());
    if (put) {
      takePort(n, owner);
      if (ports_.has(n)) portOwners_[n] = owner;
    } else {
      releasePort(n, owner);
    }
  }
}

void ServiceAllocator::followClaims(int64_t fromRevision) {
  int64_t revision = fromRevision;
  std::unique_ptr<store::Watch> watch;
  while (!stopping_) {
    if (!watch) {
      auto opened = store_.watch(kAllocationsPrefix, revision);
      if (!opened.ok()) {
        std::this_thread::sleep_for(500ms);
        continue;
      }
      watch = std::move(opened.value());
    }
    auto events = watch->next(300ms);
    if (!events.ok()) {
      // A broken watch (compacted past us, a slow watcher dropped): list
      // the claims again. Every claim there is now is taken; a value the
      // cache holds from a claim that is gone is given back, unless an
      // admission of this server holds it right now (values from Services
      // stored before claims existed have no claim revision and stay until
      // the repair claims them).
      watch.reset();
      auto ips = ipClaims_.list();
      auto ports = portClaims_.list();
      if (!ips.ok() || !ports.ok()) {
        std::this_thread::sleep_for(500ms);
        continue;
      }
      std::lock_guard lock(mutex_);
      for (const auto& [ip, owner] : ips->owners) takeIp(ip, owner);
      for (const auto& [port, owner] : ports->owners) takePort(std::atoi(port.c_str()), owner);
      for (const auto& [ip, at] : ips->revisions) noteClaim(ipClaims_.key(ip), at);
      for (const auto& [port, at] : ports->revisions) noteClaim(portClaims_.key(port), at);
      std::set<std::string> pendingIps;
      std::set<int> pendingPorts;
      for (const auto* changes : {&pendingCreates_, &pendingUpdates_})
        for (const auto& [owner, change] : *changes) {
          pendingIps.insert(change.ipsTaken.begin(), change.ipsTaken.end());
          pendingPorts.insert(change.portsTaken.begin(), change.portsTaken.end());
        }
      std::vector<std::pair<std::string, std::string>> goneIps;
      for (const auto& [ip, owner] : ipOwners_)
        if (!ips->owners.count(ip) && !pendingIps.count(ip) &&
            claimRevisions_.count(ipClaims_.key(ip)))
          goneIps.emplace_back(ip, owner);
      for (const auto& [ip, owner] : goneIps) releaseIp(ip, owner);
      std::vector<std::pair<int, std::string>> gonePorts;
      for (const auto& [port, owner] : portOwners_)
        if (!ports->owners.count(std::to_string(port)) && !pendingPorts.count(port) &&
            claimRevisions_.count(portClaims_.key(std::to_string(port))))
          gonePorts.emplace_back(port, owner);
      for (const auto& [port, owner] : gonePorts) releasePort(port, owner);
      revision = std::min(ips->revision, ports->revision);
      continue;
    }
    std::lock_guard lock(mutex_);
    for (const auto& event : *events) {
      applyClaimEvent(event);
      revision = std::max(revision, event.kv.modRevision);
    }
  }
}

std::string ServiceAllocator::firstServiceIp() const { return ips_.first().toString(); }

bool ServiceAllocator::ipAllocated(const std::string& ip) {
  std::lock_guard lock(mutex_);
  return ipAllocatedLocked(ip);
}

bool ServiceAllocator::ipAllocatedLocked(const std::string& ip) const {
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
  // What admission claimed goes back; what it meant to release was still
  // claimed in the store (releases are written once the update is stored).
  releaseClaims(change.ipsTaken, change.portsTaken, owner);
}

core::Status ServiceAllocator::rebuild(const std::vector<Json>& services) {
  auto ips = ipClaims_.list();
  if (!ips.ok()) return ips.takeError();
  auto ports = portClaims_.list();
  if (!ports.ok()) return ports.takeError();
  {
    std::lock_guard lock(mutex_);
    for (const auto& svc : services) {
      std::string owner = claimOwner(svc);
      if (needsClusterIp(svc)) {
        std::string ip = stringAt(svc, {"spec", "clusterIP"});
        if (!ip.empty() && ip != "None") takeIp(ip, owner);
      }
      for (int port : nodePortsOf(svc)) takePort(port, owner);
    }
    for (const auto& [ip, owner] : ips->owners) takeIp(ip, owner);
    for (const auto& [port, owner] : ports->owners) takePort(std::atoi(port.c_str()), owner);
    for (const auto& [ip, revision] : ips->revisions) noteClaim(ipClaims_.key(ip), revision);
    for (const auto& [port, revision] : ports->revisions)
      noteClaim(portClaims_.key(port), revision);
  }
  int64_t from = std::min(ips->revision, ports->revision);
  follower_ = std::thread([this, from] { followClaims(from); });
  return core::Ok{};
}

core::Status ServiceAllocator::allocateClusterIp(Json& obj, Change& change) {
  Json& spec = specOf(obj);
  if (!spec.is_object()) return core::Ok{};  // validation reports it
  std::string owner = claimOwner(obj);
  std::string requested = requestedClusterIp(obj);
  std::string ip;
  if (requested == "None") {
    ip = "None";
  } else if (!requested.empty()) {
    auto parsed = core::IpAddress::parse(requested);
    std::string prefix = "Invalid value: \"" + requested + "\": ";
    if (!parsed)
      return invalidField(obj, "spec.clusterIPs[0]", prefix + "must be a valid IP address");
    ip = parsed->toString();
    switch (ips_.allocate(*parsed)) {
      case AllocateOutcome::OutOfRange:
        return invalidField(obj, "spec.clusterIPs[0]",
                            prefix +
                                "provided IP is not in the valid range. The range of valid "
                                "IPs is " +
                                ips_.cidr().toString());
      case AllocateOutcome::Taken:
        // The cache may not know yet that another server released it: the
        // claim in the store decides.
        if (ipOwners_.count(ip) && ipOwners_[ip] == owner) break;
        ipOwners_.erase(ip);
        break;
      case AllocateOutcome::Allocated:
        break;
    }
    ipOwners_[ip] = owner;
    auto claimed = claimIp(ip, owner);
    if (!claimed.ok()) return claimed.takeError();
    if (!*claimed)
      return invalidField(obj, "spec.clusterIPs[0]", prefix + "provided IP is already allocated");
    change.ipsTaken.push_back(ip);
  } else {
    for (int attempt = 0; ip.empty(); ++attempt) {
      auto next = ips_.allocateNext();
      if (!next || attempt == kClaimAttempts)
        return core::internal("failed to allocate a serviceIP: range is full");
      std::string candidate = next->toString();
      ipOwners_[candidate] = owner;
      auto claimed = claimIp(candidate, owner);
      if (!claimed.ok()) return claimed.takeError();
      if (*claimed) ip = candidate;
    }
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
  std::string owner = claimOwner(obj);
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
        portOwners_.erase(port);  // the claim in the store decides, as for IPs
        break;
      case AllocateOutcome::Allocated:
        break;
    }
    portOwners_[port] = owner;
    auto claimed = claimPort(port, owner);
    if (!claimed.ok()) return claimed.takeError();
    if (!*claimed) return invalidField(obj, field, prefix + "provided port is already allocated");
    change.portsTaken.push_back(port);
    mine.insert(port);
    return core::Ok{};
  };
  auto fresh = [&]() -> core::Result<int> {
    for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
      auto port = ports_.allocateNext();
      if (!port) break;
      portOwners_[*port] = owner;
      auto claimed = claimPort(*port, owner);
      if (!claimed.ok()) return claimed.takeError();
      if (!*claimed) continue;
      change.portsTaken.push_back(*port);
      mine.insert(*port);
      return *port;
    }
    return core::internal("failed to allocate a nodePort: range is full");
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
  std::string owner = claimOwner(obj);
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
  std::string owner = claimOwner(obj);
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
  std::string owner = claimOwner(obj);
  auto it = pendingCreates_.find(owner);
  if (it == pendingCreates_.end()) return;
  undo(it->second, owner);
  pendingCreates_.erase(it);
}

void ServiceAllocator::abortUpdate(const ResourceInfo& resource, const Json& old, const Json& obj) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = claimOwner(obj);
  auto it = pendingUpdates_.find(owner);
  if (it == pendingUpdates_.end()) return;
  undo(it->second, owner);
  pendingUpdates_.erase(it);
}

void ServiceAllocator::deleted(const ResourceInfo& resource, const Json& old) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = claimOwner(old);
  pendingCreates_.erase(owner);
  pendingUpdates_.erase(owner);
  std::vector<std::string> ips;
  std::string ip = stringAt(old, {"spec", "clusterIP"});
  if (!ip.empty() && ip != "None") {
    releaseIp(ip, owner);
    ips.push_back(ip);
  }
  std::vector<int> ports = nodePortsOf(old);
  for (int port : ports) releasePort(port, owner);
  releaseClaims(ips, ports, owner);
}

void ServiceAllocator::stored(const ResourceInfo& resource, const Json& obj) {
  if (resource.kind != "Service") return;
  std::lock_guard lock(mutex_);
  std::string owner = claimOwner(obj);
  pendingCreates_.erase(owner);
  auto it = pendingUpdates_.find(owner);
  if (it == pendingUpdates_.end()) return;
  releaseClaims(it->second.ipsReleased, it->second.portsReleased, owner);
  pendingUpdates_.erase(it);
}

namespace {

class ServiceClaimRepairController : public Controller {
 public:
  explicit ServiceClaimRepairController(Context& context)
      : Controller("serviceclaimrepair", context),
        services_(context.informers.forResource(api::resource("Service"))),
        ipClaims_(context.registry.store(), "serviceips"),
        portClaims_(context.registry.store(), "nodeports") {}

  void prepare() override { queue_.add(kKey); }

 protected:
  core::Status sync(const std::string& key) override {
    queue_.addAfter(key, std::chrono::seconds(std::max(1, context_.config.claimRepairSeconds)));
    std::map<std::string, std::string> ips;
    std::map<std::string, std::string> ports;
    for (const auto& svc : services_.list()) {
      std::string owner = claimOwner(*svc);
      std::string ip = stringAt(*svc, {"spec", "clusterIP"});
      if (needsClusterIp(*svc) && !ip.empty() && ip != "None") ips[ip] = owner;
      for (int port : nodePortsOf(*svc)) ports[std::to_string(port)] = owner;
    }
    if (auto st = repair(ipClaims_, ips, orphanIps_); !st) return st;
    return repair(portClaims_, ports, orphanPorts_);
  }

 private:
  static constexpr const char* kKey = "repair";

  core::Status repair(ValueClaims& claims, const std::map<std::string, std::string>& held,
                      std::map<std::string, int64_t>& orphans) {
    auto snapshot = claims.list();
    if (!snapshot.ok()) return snapshot.takeError();
    for (const auto& [value, owner] : held) {
      auto it = snapshot->owners.find(value);
      if (it != snapshot->owners.end() && it->second == owner) continue;
      if (it != snapshot->owners.end()) {
        std::fprintf(stderr, "service claims: %s %s is held by %s and claimed by %s\n",
                     claims.kind().c_str(), value.c_str(), owner.c_str(), it->second.c_str());
        continue;
      }
      auto holder = claims.claim(value, owner);
      if (!holder.ok()) return holder.takeError();
    }
    std::map<std::string, int64_t> seen;
    for (const auto& [value, owner] : snapshot->owners) {
      auto it = held.find(value);
      if (it != held.end() && it->second == owner) continue;
      int64_t revision = snapshot->revisions[value];
      auto before = orphans.find(value);
      if (before != orphans.end() && before->second == revision) {
        std::fprintf(stderr, "service claims: releasing %s %s of %s (no such Service)\n",
                     claims.kind().c_str(), value.c_str(), owner.c_str());
        if (auto st = claims.releaseAt(value, revision); !st) return st;
        continue;
      }
      seen[value] = revision;
    }
    orphans = std::move(seen);
    return core::Ok{};
  }

  client::Informer& services_;
  ValueClaims ipClaims_;
  ValueClaims portClaims_;
  std::map<std::string, int64_t> orphanIps_;
  std::map<std::string, int64_t> orphanPorts_;
};

}  // namespace

std::unique_ptr<Controller> makeServiceClaimRepairController(Context& context) {
  return std::make_unique<ServiceClaimRepairController>(context);
}

}  // namespace podnet::controllers
