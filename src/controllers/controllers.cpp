#include "controllers/controllers.h"

#include <chrono>
#include <cstdio>

#include "api/object.h"
#include "controllers/default_ingress_class.h"
#include "controllers/default_storage_class.h"
#include "controllers/runtime.h"
#include "controllers/service_accounts.h"
#include "controllers/service_allocator.h"
#include "controllers/util.h"

namespace podnet::controllers {
namespace {

using namespace std::chrono_literals;

class RunningControllers : public Manager {
 public:
  ~RunningControllers() override {
    // Informers first: no handler may run into a controller being torn down.
    if (informers) informers->stop();
    for (auto& controller : controllers) controller->stop();
  }

  std::unique_ptr<client::SharedInformers> informers;
  std::unique_ptr<Context> context;
  std::vector<std::unique_ptr<Controller>> controllers;
};

core::Status createIfMissing(registry::Registry& registry, const ResourceInfo& resource,
                             const std::string& ns, Json obj) {
  // Look first: creating an existing Service would be refused by its
  // allocator (the address is taken, by itself) before AlreadyExists.
  if (registry.get(resource, ns, api::name(obj)).ok()) return core::Ok{};
  auto created = registry.create(resource, ns, std::move(obj));
  if (created.ok() || created.error().reason == "AlreadyExists") return core::Ok{};
  return created.takeError();
}

// The namespaces, the `kubernetes` Service and the default StorageClass
// `standard` every cluster has.
core::Status ensureBuiltins(registry::Registry& registry, const std::string& firstServiceIp) {
  for (const char* name : {"default", "kube-system", "kube-public"}) {
    auto st = createIfMissing(
        registry, api::resource("Namespace"), "",
        {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
    if (!st.ok()) return st;
  }
  Json kubernetes = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata",
       {{"name", "kubernetes"},
        {"namespace", "default"},
        {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
      {"spec",
       {{"type", "ClusterIP"},
        {"clusterIP", firstServiceIp},
        {"clusterIPs", Json::array({firstServiceIp})},
        {"sessionAffinity", "None"},
        {"ports",
         Json::array(
             {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", 6443}}})}}}};
  if (auto st =
          createIfMissing(registry, api::resource("Service"), "default", std::move(kubernetes));
      !st.ok())
    return st;
  // Only when missing: an administrator may have changed or replaced it
  // (one deleted on purpose comes back at the next server start).
  return createIfMissing(registry, api::resource("StorageClass"), "", standardStorageClass());
}

}  // namespace

core::Status installAdmission(registry::Registry& registry, const Config& config) {
  auto allocator = ServiceAllocator::create(config, registry.store());
  if (!allocator.ok()) return allocator.takeError();
  auto services = client::listAll(registry, api::resource("Service"));
  if (!services.ok()) return services.takeError();
  if (auto rebuilt = (*allocator)->rebuild(*services); !rebuilt) return rebuilt.takeError();
  registry.addAdmissionHook(*allocator);
  registry.addAdmissionHook(std::make_shared<DefaultIngressClass>(registry));
  registry.addAdmissionHook(std::make_shared<DefaultStorageClass>(registry));
  registry.addAdmissionHook(std::make_shared<ServiceAccountAdmission>(registry));

  if (auto st = ensureBuiltins(registry, (*allocator)->firstServiceIp()); !st.ok())
    return st.takeError();
  return core::Ok{};
}

core::Result<std::unique_ptr<Manager>> startControllers(registry::Registry& registry,
                                                        const Config& config) {
  auto pool = LoadBalancerPool::parse(config.loadBalancerPool);
  if (!pool.ok())
    return core::badRequest("invalid load balancer pool \"" + config.loadBalancerPool +
                            "\": " + pool.error().message);
  auto running = std::make_unique<RunningControllers>();
  running->informers = std::make_unique<client::SharedInformers>(registry);
  // One per Service (or more) and read by key or index: kept encoded, a
  // tenth of their parsed size (issue 21). Pods are still listed by several
  // controllers and stay parsed.
  for (const char* kind : {"Service", "EndpointSlice", "Endpoints"})
    running->informers->keepEncoded(api::resource(kind));
  running->context = std::make_unique<Context>(Context{registry, *running->informers, config});
  Context& context = *running->context;
  auto nodeIpam = makeNodeIpamController(context);
  if (!nodeIpam)
    return core::badRequest("invalid cluster CIDR " + config.clusterCidr + " for /" +
                            std::to_string(config.nodeCidrPrefix) + " node ranges");
  running->controllers.push_back(std::move(nodeIpam));
  running->controllers.push_back(makeNamespaceController(context));
  running->controllers.push_back(makeCrdCleanupController(context));
  running->controllers.push_back(makeSchedulerController(context));
  running->controllers.push_back(makeReplicaSetController(context));
  running->controllers.push_back(makeDeploymentController(context));
  running->controllers.push_back(makeStatefulSetController(context));
  running->controllers.push_back(makeDaemonSetController(context));
  running->controllers.push_back(makeEndpointSliceController(context));
  running->controllers.push_back(makeEndpointsController(context));
  running->controllers.push_back(makeJobController(context));
  running->controllers.push_back(makeCronJobController(context));
  running->controllers.push_back(makeServiceAccountController(context));
  running->controllers.push_back(makeServiceClaimRepairController(context));
  // Without a pool LoadBalancer Services stay <pending>, as on a cluster
  // without a cloud provider.
  if (!pool->empty())
    running->controllers.push_back(makeLoadBalancerIpamController(context, std::move(*pool)));

  running->informers->start();
  if (!running->informers->waitForSync(30s))
    return core::internal("controllers: informers did not sync within 30s");
  for (auto& controller : running->controllers) {
    controller->prepare();
    controller->startWorkers(1);
  }
  return std::unique_ptr<Manager>(std::move(running));
}

core::Result<std::unique_ptr<Manager>> start(registry::Registry& registry, const Config& config) {
  if (auto pool = LoadBalancerPool::parse(config.loadBalancerPool); !pool.ok())
    return core::badRequest("invalid load balancer pool \"" + config.loadBalancerPool +
                            "\": " + pool.error().message);
  if (auto installed = installAdmission(registry, config); !installed) return installed.takeError();
  return startControllers(registry, config);
}

}  // namespace podnet::controllers
