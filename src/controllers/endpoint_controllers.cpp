// The EndpointSlice controller and the legacy Endpoints controller: for every
// Service with a selector, the addresses of the pods it selects. The content
// is computed by endpoints.h; this file wires informers to writes.
#include <chrono>

#include "api/object.h"
#include "controllers/endpoints.h"
#include "controllers/runtime.h"
#include "controllers/service_allocator.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> serviceSelector(const Json& svc) {
  return api::stringMap(objectAt(svc, {"spec", "selector"}));
}

// Services are indexed by each pair of their selector ("ns/key=value"): a
// Service can only select a pod that carries all its pairs, so the pod's own
// pairs find every candidate without reading the other Services.
constexpr const char* kSelectorPairIndex = "selector-pair";
std::string selectorPair(std::string_view ns, std::string_view key, std::string_view value) {
  std::string pair;
  pair.reserve(ns.size() + key.size() + value.size() + 2);
  pair.append(ns).append("/").append(key).append("=").append(value);
  return pair;
}

void indexServicesBySelector(client::Informer& services) {
  services.addIndex(kSelectorPairIndex, [](const Json& svc) {
    std::vector<std::string> pairs;
    for (const auto& [key, value] : serviceSelector(svc))
      pairs.push_back(selectorPair(api::namespaceOf(svc), key, value));
    return pairs;
  });
}

// Services whose selector matches the pod's labels now or before a change.
void enqueueServicesOfPod(client::Informer& services, WorkQueue& queue, const Json& pod,
                          const Json* oldPod) {
  auto labels = api::labels(pod);
  std::map<std::string, std::string> oldLabels;
  if (oldPod) oldLabels = api::labels(*oldPod);
  std::string ns = api::namespaceOf(pod);
  std::set<std::string> queued;
  auto consider = [&](const std::map<std::string, std::string>& podLabels) {
    for (const auto& [key, value] : podLabels) {
      for (const auto& svc : services.byIndex(kSelectorPairIndex, selectorPair(ns, key, value))) {
        std::string svcKey = client::objectKey(*svc);
        if (queued.count(svcKey)) continue;
        auto selector = serviceSelector(*svc);
        if (mapSelectorMatches(selector, labels) ||
            (oldPod && mapSelectorMatches(selector, oldLabels))) {
          queue.add(svcKey);
          queued.insert(std::move(svcKey));
        }
      }
    }
  };
  consider(labels);
  if (oldPod) consider(oldLabels);
}

std::vector<const Json*> selectedPods(const std::vector<client::ObjectPtr>& pods,
                                      const std::map<std::string, std::string>& selector) {
  std::vector<const Json*> out;
  for (const auto& pod : pods)
    if (mapSelectorMatches(selector, api::labels(*pod))) out.push_back(pod.get());
  return out;
}

void watchServicesAndPods(client::Informer& services, client::Informer& pods, WorkQueue& queue) {
  indexServicesBySelector(services);
  services.addHandlers({
      [&queue](const Json& svc) { queue.add(client::objectKey(svc)); },
      [&queue](const Json&, const Json& svc) { queue.add(client::objectKey(svc)); },
      [&queue](const Json& svc) { queue.add(client::objectKey(svc)); },
  });
  pods.addHandlers({
      [&services, &queue](const Json& pod) { enqueueServicesOfPod(services, queue, pod, nullptr); },
      [&services, &queue](const Json& oldPod, const Json& pod) {
        enqueueServicesOfPod(services, queue, pod, &oldPod);
      },
      [&services, &queue](const Json& pod) { enqueueServicesOfPod(services, queue, pod, nullptr); },
  });
}

// The slices this controller manages, by their Service's "ns/name".
constexpr const char* kOwnedSlicesIndex = "owning-service";

// The "ns/name" of the Service a slice this controller manages is for ("" for
// any other slice).
std::string managingServiceKey(const Json& slice) {
  auto labels = api::labels(slice);
  auto service = labels.find(kServiceNameLabel);
  if (service == labels.end() || labels[kManagedByLabel] != kSliceControllerName) return "";
  return client::objectKey(api::namespaceOf(slice), service->second);
}

class EndpointSliceController : public Controller {
 public:
  explicit EndpointSliceController(Context& context)
      : Controller("endpointslice", context),
        services_(context.informers.forResource(api::resource("Service"))),
        pods_(context.informers.forResource(api::resource("Pod"))),
        slices_(context.informers.forResource(api::resource("EndpointSlice"))),
        nodes_(context.informers.forResource(api::resource("Node"))) {
    watchServicesAndPods(services_, pods_, queue_);
    slices_.addIndex(kOwnedSlicesIndex, [](const Json& slice) {
      std::string key = managingServiceKey(slice);
      return key.empty() ? std::vector<std::string>{} : std::vector<std::string>{key};
    });
    // A slice changed or deleted by someone else is put back.
    auto onSlice = [this](const Json& slice) {
      if (std::string key = managingServiceKey(slice); !key.empty()) queue_.add(key);
    };
    slices_.addHandlers({onSlice, [onSlice](const Json&, const Json& s) { onSlice(s); }, onSlice});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    const auto& sliceResource = api::resource("EndpointSlice");
    std::vector<client::ObjectPtr> mineOwned = slices_.byIndex(kOwnedSlicesIndex, key);
    auto svc = services_.get(ns, name);
    bool wanted = svc && !api::isBeingDeleted(*svc) && !serviceSelector(*svc).empty() &&
                  serviceType(*svc) != "ExternalName";
    int64_t lastWrite = 0;
    if (!wanted) {
      for (const auto& slice : mineOwned) {
        auto removed = context_.registry.remove(sliceResource, ns, api::name(*slice));
        if (!removed.ok() && removed.error().code != 404) return removed.takeError();
      }
      return core::Ok{};
    }

    std::map<std::string, std::string> zones;
    for (const auto& node : nodes_.list()) {
      std::string zone = api::labels(*node)["topology.kubernetes.io/zone"];
      if (!zone.empty()) zones[api::name(*node)] = zone;
    }
    auto pods = pods_.list(ns);
    std::vector<const Json*> existing;
    for (const auto& slice : mineOwned) existing.push_back(slice.get());
    SlicePlan plan =
        planEndpointSlices(*svc, selectedPods(pods, serviceSelector(*svc)), existing, zones);
    for (auto& slice : plan.create) {
      auto created = context_.registry.create(sliceResource, ns, std::move(slice));
      if (!created.ok()) return created.takeError();
      lastWrite = std::max(lastWrite, revisionOf(*created));
    }
    for (auto& slice : plan.update) {
      auto updated = context_.registry.update(sliceResource, ns, std::move(slice));
      if (!updated.ok()) return updated.takeError();
      lastWrite = std::max(lastWrite, revisionOf(*updated));
    }
    for (const auto& sliceName : plan.remove) {
      auto removed = context_.registry.remove(sliceResource, ns, sliceName);
      if (!removed.ok() && removed.error().code != 404) return removed.takeError();
      if (removed.ok()) lastWrite = std::max(lastWrite, revisionOf(*removed));
    }
    // The next sync of this Service must see these writes, or it would
    // create the same slices again.
    if (lastWrite) slices_.waitForRevision(lastWrite, 2s);
    return core::Ok{};
  }

 private:
  client::Informer& services_;
  client::Informer& pods_;
  client::Informer& slices_;
  client::Informer& nodes_;
};

class EndpointsController : public Controller {
 public:
  explicit EndpointsController(Context& context)
      : Controller("endpoints", context),
        services_(context.informers.forResource(api::resource("Service"))),
        pods_(context.informers.forResource(api::resource("Pod"))),
        endpoints_(context.informers.forResource(api::resource("Endpoints"))) {
    watchServicesAndPods(services_, pods_, queue_);
    auto onEndpoints = [this](const Json& ep) {
      // Only Endpoints of Services we manage are ours to repair.
      auto svc = services_.get(api::namespaceOf(ep), api::name(ep));
      if (svc && !serviceSelector(*svc).empty()) enqueue(ep);
    };
    endpoints_.addHandlers(
        {nullptr, [onEndpoints](const Json&, const Json& ep) { onEndpoints(ep); }, onEndpoints});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    const auto& resource = api::resource("Endpoints");
    auto svc = services_.get(ns, name);
    auto current = endpoints_.get(ns, name);
    if (!svc) {
      // As upstream: the Endpoints of a deleted Service go with it.
      if (current) {
        auto removed = context_.registry.remove(resource, ns, name);
        if (!removed.ok() && removed.error().code != 404) return removed.takeError();
      }
      return core::Ok{};
    }
    // Without a selector the Endpoints are the user's to write.
    if (serviceSelector(*svc).empty() || serviceType(*svc) == "ExternalName" ||
        api::isBeingDeleted(*svc))
      return core::Ok{};

    auto pods = pods_.list(ns);
    Json desired = buildEndpoints(*svc, selectedPods(pods, serviceSelector(*svc)));
    core::Result<Json> written = core::internal("unset");
    if (!current) {
      written = context_.registry.create(resource, ns, std::move(desired));
    } else {
      if (endpointsUpToDate(*current, desired)) return core::Ok{};
      Json next = *current;
      next["metadata"]["labels"] = desired["metadata"]["labels"];
      auto& annotations = next["metadata"]["annotations"];
      if (!annotations.is_object()) annotations = Json::object();
      annotations.erase("endpoints.kubernetes.io/over-capacity");
      if (const Json* a = at(desired, {"metadata", "annotations"})) annotations.update(*a);
      if (annotations.empty()) next["metadata"].erase("annotations");
      if (desired.contains("subsets"))
        next["subsets"] = desired["subsets"];
      else
        next.erase("subsets");
      written = context_.registry.update(resource, ns, std::move(next));
    }
    if (!written.ok()) return written.takeError();
    endpoints_.waitForRevision(revisionOf(*written), 2s);
    return core::Ok{};
  }

 private:
  client::Informer& services_;
  client::Informer& pods_;
  client::Informer& endpoints_;
};

}  // namespace

std::unique_ptr<Controller> makeEndpointSliceController(Context& context) {
  return std::make_unique<EndpointSliceController>(context);
}

std::unique_ptr<Controller> makeEndpointsController(Context& context) {
  return std::make_unique<EndpointsController>(context);
}

}  // namespace podnet::controllers
