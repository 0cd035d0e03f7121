// The scheduler, the namespace controller (cascading deletion of a
// namespace's contents) and the node IPAM controller (podCIDRs).
#include <chrono>
#include <mutex>

#include "api/object.h"
#include "controllers/allocators.h"
#include "controllers/runtime.h"
#include "controllers/scheduling.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

bool needsScheduling(const Json& pod) {
  std::string scheduler = stringAt(pod, {"spec", "schedulerName"});
  return stringAt(pod, {"spec", "nodeName"}).empty() && isPodActive(pod) &&
         (scheduler.empty() || scheduler == "default-scheduler");
}

// The PodScheduled condition as the scheduler reports it; nullopt when the
// pod already says so (no write).
std::optional<Json> withScheduledCondition(const Json& pod, const std::string& status,
                                           const std::string& reason, const std::string& message) {
  Json conditions = arrayAt(pod, {"status", "conditions"});
  for (auto& c : conditions) {
    if (stringAt(c, {"type"}) != "PodScheduled") continue;
    if (stringAt(c, {"status"}) == status && stringAt(c, {"reason"}) == reason &&
        stringAt(c, {"message"}) == message)
      return std::nullopt;
    bool transition = stringAt(c, {"status"}) != status;
    c["status"] = status;
    if (reason.empty())
      c.erase("reason");
    else
      c["reason"] = reason;
    if (message.empty())
      c.erase("message");
    else
      c["message"] = message;
    if (transition) c["lastTransitionTime"] = api::nowRfc3339();
    return conditions;
  }
  Json c = {{"type", "PodScheduled"},
            {"status", status},
            {"lastProbeTime", nullptr},
            {"lastTransitionTime", api::nowRfc3339()}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  conditions.push_back(std::move(c));
  return conditions;
}

class SchedulerController : public Controller {
 public:
  explicit SchedulerController(Context& context)
      : Controller("scheduler", context),
        events_(context.registry, "default-scheduler"),
        pods_(context.informers.forResource(api::resource("Pod"))),
        nodes_(context.informers.forResource(api::resource("Node"))),
        claims_(context.informers.forResource(api::resource("PersistentVolumeClaim"))),
        volumes_(context.informers.forResource(api::resource("PersistentVolume"))),
        classes_(context.informers.forResource(api::resource("StorageClass"))) {
    // A claim that appears or binds may let a pending pod of its namespace in.
    auto onClaim = [this](const Json& claim) {
      for (const auto& pod : pods_.list(api::namespaceOf(claim)))
        if (needsScheduling(*pod)) enqueue(*pod);
    };
    claims_.addHandlers(
        {onClaim, [onClaim](const Json&, const Json& claim) { onClaim(claim); }, nullptr});
    auto onPod = [this](const Json& pod) {
      if (needsScheduling(pod)) enqueue(pod);
    };
    pods_.addHandlers({onPod, [onPod](const Json&, const Json& pod) { onPod(pod); }, nullptr});
    // A Node that turns Ready (or schedulable) may take the pending pods.
    auto onNode = [this](const Json&) {
      for (const auto& pod : pods_.list())
        if (needsScheduling(*pod)) enqueue(*pod);
    };
    nodes_.addHandlers({onNode,
                        [onNode](const Json& oldNode, const Json& node) {
                          if (nodeIsReady(oldNode) != nodeIsReady(node) ||
                              objectAt(oldNode, {"spec"}) != objectAt(node, {"spec"}) ||
                              objectAt(oldNode, {"metadata", "labels"}) !=
                                  objectAt(node, {"metadata", "labels"}))
                            onNode(node);
                        },
                        nullptr});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto [ns, name] = splitKey(key);
    auto pod = pods_.get(ns, name);
    if (!pod || !needsScheduling(*pod)) return core::Ok{};
    std::vector<client::ObjectPtr> nodeObjects = nodes_.list();
    std::vector<client::ObjectPtr> podObjects = pods_.list();
    std::vector<const Json*> nodes, pods;
    for (const auto& n : nodeObjects) nodes.push_back(n.get());
    for (const auto& p : podObjects) pods.push_back(p.get());
    std::vector<client::ObjectPtr> held;  // keeps the looked-up objects alive
    auto keep = [&held](client::ObjectPtr object) -> const Json* {
      if (!object) return nullptr;
      held.push_back(object);
      return held.back().get();
    };
    VolumeConstraints volumes = volumeConstraints(
        *pod, [&](const std::string& claim) { return keep(claims_.get(ns, claim)); },
        [&](const std::string& volume) { return keep(volumes_.get("", volume)); },
        [&](const std::string& storageClass) { return keep(classes_.get("", storageClass)); });
    SchedulingResult choice = chooseNode(*pod, nodes, pods, volumes);
    const auto& podResource = api::resource("Pod");
    client::WriteOptions statusWrite;
    statusWrite.subresource = "status";

    if (!choice.node) {
      // Unschedulable: say so once per reason, as the scheduler does.
      auto conditions = withScheduledCondition(*pod, "False", "Unschedulable", choice.reason);
      if (!conditions) return core::Ok{};
      Json updated = *pod;
      updated["status"]["conditions"] = *conditions;
      auto written = context_.registry.update(podResource, ns, std::move(updated), statusWrite);
      if (!written.ok()) return written.takeError();
      events_.warning(*pod, "FailedScheduling", choice.reason);
      return core::Ok{};
    }

    std::string node = *choice.node;
    // Unbound claims of podnet's provisioner are made on the chosen node
    // (WaitForFirstConsumer): the agent there provisions and binds them.
    for (const std::string& claimName : volumes.claimsToPlace) {
      auto claim = claims_.get(ns, claimName);
      if (!claim) continue;
      Json updated = *claim;
      updated["metadata"]["annotations"][kSelectedNodeAnnotation] = node;
      auto written =
          context_.registry.update(api::resource("PersistentVolumeClaim"), ns, std::move(updated));
      if (!written.ok()) return written.takeError();  // retried
    }
    // Bind through pods/binding, as kube-scheduler does: the one write that
    // may set spec.nodeName, and only once.
    Json binding = {{"metadata", {{"name", name}, {"namespace", ns}}},
                    {"spec", {{"nodeName", node}}}};
    client::WriteOptions bindWrite;
    bindWrite.subresource = "binding";
    auto bound = context_.registry.update(podResource, ns, std::move(binding), bindWrite);
    if (!bound.ok())
      return bound.error().reason == "Conflict" ? core::Status(core::Ok{}) : bound.takeError();
    int64_t lastWrite = revisionOf(*bound);
    if (auto conditions = withScheduledCondition(*bound, "True", "", "")) {
      Json updated = *bound;
      updated["status"]["conditions"] = *conditions;
      updated["metadata"].erase("resourceVersion");
      auto written = context_.registry.update(podResource, ns, std::move(updated), statusWrite);
      if (written.ok()) lastWrite = revisionOf(*written);
    }
    events_.normal(*bound, "Scheduled", "Successfully assigned " + ns + "/" + name + " to " + node);
    // The next pod's choice must count this one (spreading).
    pods_.waitForRevision(lastWrite, 2s);
    return core::Ok{};
  }

 private:
  EventRecorder events_;
  client::Informer& pods_;
  client::Informer& nodes_;
  client::Informer& claims_;
  client::Informer& volumes_;
  client::Informer& classes_;
};

class NamespaceController : public Controller {
 public:
  explicit NamespaceController(Context& context)
      : Controller("namespace", context),
        namespaces_(context.informers.forResource(api::resource("Namespace"))) {
    auto onNamespace = [this](const Json& ns) {
      if (api::isBeingDeleted(ns)) enqueue(ns);
    };
    namespaces_.addHandlers(
        {onNamespace, [onNamespace](const Json&, const Json& ns) { onNamespace(ns); }, nullptr});
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto ns = namespaces_.get("", key);
    if (!ns || !api::isBeingDeleted(*ns)) return core::Ok{};
    size_t remaining = 0;
    for (const api::ResourceInfo* resource : api::allResources()) {
      if (!resource->namespaced) continue;
      auto items = context_.registry.list(*resource, key);
      if (!items.ok()) return items.takeError();
      for (const auto& item : arrayAt(*items, {"items"})) {
        ++remaining;
        if (api::isBeingDeleted(item)) continue;  // on its way (a pod its agent stops)
        auto removed = context_.registry.remove(*resource, key, api::name(item));
        if (!removed.ok() && removed.error().code != 404) return removed.takeError();
      }
    }
    if (remaining > 0) {
      // Look again once the deletes (and graceful pod terminations) landed.
      queue_.addAfter(key, 1s);
      return core::Ok{};
    }
    auto finalized = context_.registry.guaranteedUpdate(
        api::resource("Namespace"), "", key, [](Json& current) -> core::Status {
          Json& finalizers = current["spec"]["finalizers"];
          if (!finalizers.is_array()) finalizers = Json::array();
          Json kept = Json::array();
          for (const auto& f : finalizers)
            if (f != "kubernetes") kept.push_back(f);
          finalizers = kept;
          return core::Ok{};
        });
    if (!finalized.ok() && finalized.error().code != 404) return finalized.takeError();
    return core::Ok{};
  }

 private:
  client::Informer& namespaces_;
};

class NodeIpamController : public Controller {
 public:
  NodeIpamController(Context& context, CidrSetAllocator cidrs)
      : Controller("nodeipam", context),
        cidrs_(std::move(cidrs)),
        nodes_(context.informers.forResource(api::resource("Node"))) {
    auto onNode = [this](const Json& node) {
      if (stringAt(node, {"spec", "podCIDR"}).empty()) enqueue(node);
    };
    nodes_.addHandlers({onNode, [onNode](const Json&, const Json& node) { onNode(node); },
                        [this](const Json& node) {
                          std::lock_guard lock(mutex_);
                          for (const auto& cidr : podCidrs(node)) cidrs_.release(cidr);
                        }});
  }

  // Every podCIDR already handed out is taken before the first allocation,
  // so a restart never gives one out twice.
  void prepare() override {
    std::lock_guard lock(mutex_);
    for (const auto& node : nodes_.list())
      for (const auto& cidr : podCidrs(*node)) cidrs_.allocate(cidr);
  }

 protected:
  core::Status sync(const std::string& key) override {
    auto node = nodes_.get("", key);
    if (!node || api::isBeingDeleted(*node)) return core::Ok{};
    if (!stringAt(*node, {"spec", "podCIDR"}).empty()) {
      std::lock_guard lock(mutex_);
      for (const auto& cidr : podCidrs(*node)) cidrs_.allocate(cidr);
      return core::Ok{};
    }
    std::optional<core::Cidr> cidr;
    {
      std::lock_guard lock(mutex_);
      cidr = cidrs_.allocateNext();
    }
    if (!cidr) return core::internal("no podCIDR left for node " + key);
    std::string text = cidr->toString();
    bool used = false;
    auto updated = context_.registry.guaranteedUpdate(
        api::resource("Node"), "", key, [&](Json& current) -> core::Status {
          if (!stringAt(current, {"spec", "podCIDR"}).empty()) return core::Ok{};
          if (!current.contains("spec") || !current["spec"].is_object())
            current["spec"] = Json::object();
          current["spec"]["podCIDR"] = text;
          current["spec"]["podCIDRs"] = Json::array({text});
          used = true;
          return core::Ok{};
        });
    if (!updated.ok() || !used) {
      std::lock_guard lock(mutex_);
      cidrs_.release(*cidr);
      if (updated.ok())
        for (const auto& existing : podCidrs(*updated)) cidrs_.allocate(existing);
    }
    if (!updated.ok() && updated.error().code != 404) return updated.takeError();
    if (updated.ok()) nodes_.waitForRevision(revisionOf(*updated), 2s);
    return core::Ok{};
  }

 private:
  static std::vector<core::Cidr> podCidrs(const Json& node) {
    std::vector<core::Cidr> out;
    auto addText = [&](const std::string& text) {
      auto cidr = core::Cidr::parse(text);
      if (cidr && std::find(out.begin(), out.end(), *cidr) == out.end()) out.push_back(*cidr);
    };
    addText(stringAt(node, {"spec", "podCIDR"}));
    for (const auto& entry : arrayAt(node, {"spec", "podCIDRs"}))
      if (entry.is_string()) addText(entry.get<std::string>());
    return out;
  }

  std::mutex mutex_;
  CidrSetAllocator cidrs_;
  client::Informer& nodes_;
};

}  // namespace

std::unique_ptr<Controller> makeSchedulerController(Context& context) {
  return std::make_unique<SchedulerController>(context);
}

std::unique_ptr<Controller> makeNamespaceController(Context& context) {
  return std::make_unique<NamespaceController>(context);
}

std::unique_ptr<Controller> makeNodeIpamController(Context& context) {
  auto cidrs = CidrSetAllocator::create(context.config.clusterCidr, context.config.nodeCidrPrefix);
  if (!cidrs.ok()) return nullptr;
  return std::make_unique<NodeIpamController>(context, std::move(cidrs.value()));
}

}  // namespace podnet::controllers
