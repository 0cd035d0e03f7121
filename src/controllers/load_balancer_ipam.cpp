// The LoadBalancer address controller, as MetalLB's controller: every
// LoadBalancer Service the pool serves (servedByPool) gets one address per IP
// family in status.loadBalancer.ingress, written through the status
// subresource. The decisions are load_balancer_pool.h's; this file keeps the
// allocation state and wires the Service informer to status writes and
// Events.
//
// The allocation state lives in memory and is rebuilt from the stored
// Services' status before the first sync (oldest Service first when two
// claim one address), so a restart changes no assignment. A Service that
// cannot get an address stays pending with an AllocationFailed Event and is
// tried again whenever an address goes back to the pool.
#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include "api/object.h"
#include "controllers/load_balancer_pool.h"
#include "controllers/runtime.h"
#include "controllers/service_allocator.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

std::string joinIps(const std::vector<core::IpAddress>& ips) {
  std::string out;
  for (const auto& ip : ips) out += std::string(out.empty() ? "" : ", ") + ip.toString();
  return out;
}

class LoadBalancerIpamController : public Controller {
 public:
  LoadBalancerIpamController(Context& context, LoadBalancerPool pool)
      : Controller("load-balancer-ipam", context),
        services_(context.informers.forResource(api::resource("Service"))),
        events_(context.registry, "podnet-lb-ipam"),
        ipam_(std::move(pool)) {
    auto onService = [this](const Json& svc) { enqueue(svc); };
    services_.addHandlers(
        {onService, [onService](const Json&, const Json& svc) { onService(svc); }, onService});
  }

  void prepare() override {
    auto services = services_.list();
    std::sort(services.begin(), services.end(), [](const auto& a, const auto& b) {
      auto age = [](const Json& svc) {
        return std::make_pair(stringAt(svc, {"metadata", "creationTimestamp"}),
                              client::objectKey(svc));
      };
      return age(*a) < age(*b);
    });
    std::lock_guard lock(mutex_);
    for (const auto& svc : services) {
      if (!servedByPool(*svc) || api::isBeingDeleted(*svc)) continue;
      std::string owner = client::objectKey(*svc);
      std::set<bool> families;
      for (const auto& ip : statusIngressIps(*svc)) {
        // One address per family: a second one in status is dropped by the
        // Service's first sync.
        if (!families.insert(ip.v6).second) continue;
        if (ipam_.assign(ip, owner) != PoolOutcome::Allocated)
          std::fprintf(stderr, "load-balancer-ipam: %s: %s is %s; it will get another address\n",
                       owner.c_str(), ip.toString().c_str(),
                       ipam_.pool().contains(ip) ? "held by an older Service" : "not in the pool");
      }
    }
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto svc = services_.get(ns, name);
    std::unique_lock lock(mutex_);
    if (!svc || api::isBeingDeleted(*svc)) {
      pending_.erase(key);
      if (ipam_.releaseAll(key)) wakePending();
      return core::Ok{};
    }
    if (!servedByPool(*svc)) {
      pending_.erase(key);
      if (ipam_.releaseAll(key)) wakePending();
      lock.unlock();
      // A Service that stopped being a LoadBalancer loses the addresses we
      // gave it; one of another class is its own controller's business.
      if (serviceType(*svc) != "LoadBalancer") return clearOurAddresses(*svc);
      return core::Ok{};
    }

    LoadBalancerAssignment assignment = assignLoadBalancerIps(ipam_, *svc, key);
    if (assignment.released) wakePending();
    if (assignment.ok())
      pending_.erase(key);
    else
      pending_.insert(key);
    lock.unlock();

    auto written = writeStatus(ns, name, loadBalancerStatus(assignment.ips));
    if (!written.ok()) return written.takeError();
    Json involved = *svc;
    involved["kind"] = "Service";
    involved["apiVersion"] = "v1";
    if (!assignment.ok()) {
      events_.warning(involved, "AllocationFailed",
                      "Failed to allocate IP for \"" + key + "\": " + assignment.error);
    } else if (*written) {
      events_.normal(involved, "IPAllocated", "Assigned IP [" + joinIps(assignment.ips) + "]");
    }
    return core::Ok{};
  }

 private:
  // Sets status.loadBalancer; true when it changed.
  core::Result<bool> writeStatus(const std::string& ns, const std::string& name,
                                 const Json& loadBalancer) {
    bool changed = false;
    client::WriteOptions options;
    options.subresource = "status";
    auto updated = context_.registry.guaranteedUpdate(
        api::resource("Service"), ns, name,
        [&](Json& current) -> core::Status {
          changed = false;
          if (api::isBeingDeleted(current)) return core::Ok{};
          const Json& now = objectAt(current, {"status", "loadBalancer"});
          if (now == loadBalancer) return core::Ok{};
          if (!current["status"].is_object()) current["status"] = Json::object();
          current["status"]["loadBalancer"] = loadBalancer;
          changed = true;
          return core::Ok{};
        },
        options);
    if (!updated.ok()) {
      if (updated.error().code == 404) return false;  // deleted meanwhile: its sync follows
      return updated.takeError();
    }
    return changed;
  }

  // Removes the pool's addresses from status.loadBalancer of a Service that
  // is no longer a LoadBalancer (other entries are someone else's).
  core::Status clearOurAddresses(const Json& svc) {
    const Json& ingress = arrayAt(svc, {"status", "loadBalancer", "ingress"});
    Json kept = Json::array();
    for (const auto& entry : ingress) {
      auto ip = core::IpAddress::parse(stringAt(entry, {"ip"}));
      if (!ip || !ipam_.pool().contains(*ip)) kept.push_back(entry);
    }
    if (kept.size() == ingress.size()) return core::Ok{};
    Json loadBalancer = kept.empty() ? Json::object() : Json{{"ingress", kept}};
    auto written = writeStatus(api::namespaceOf(svc), api::name(svc), loadBalancer);
    if (!written.ok()) return written.takeError();
    return core::Ok{};
  }

  // An address went back to the pool: Services waiting for one try again.
  void wakePending() {
    for (const auto& key : pending_) queue_.add(key);
  }

  client::Informer& services_;
  EventRecorder events_;
  std::mutex mutex_;  // ipam_ and pending_ (prepare runs before the worker)
  LoadBalancerIpam ipam_;
  std::set<std::string> pending_;  // Services of the pool without their addresses
};

}  // namespace

std::unique_ptr<Controller> makeLoadBalancerIpamController(Context& context,
                                                           LoadBalancerPool pool) {
  return std::make_unique<LoadBalancerIpamController>(context, std::move(pool));
}

}  // namespace podnet::controllers
