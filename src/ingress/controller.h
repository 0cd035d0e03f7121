// The ingress controller's control loop: informers for Ingresses,
// IngressClasses, Services, EndpointSlices and Secrets; every change marks
// the state dirty and one thread compiles the routing table from the caches
// and publishes it to the proxy (a burst of events is one compile). Then
// what users see through the API: status.loadBalancer.ingress of every
// Ingress served (the address of the controller's LoadBalancer Service),
// Events for what cannot be served (missing Service, port, Secret), a Sync
// Event per new generation, as ingress-nginx records them.
//
// Gateway API, once its CRDs are installed (watched through the CRDs
// themselves, so a cluster without them costs nothing): informers for
// GatewayClasses, Gateways, HTTPRoutes and ReferenceGrants join the same
// compile; the GatewayClass `podnet` is created if missing; each Gateway of
// our classes gets its LoadBalancer Service (gateway_service.h); statuses
// are written through /status, keeping lastTransitionTime and other
// controllers' route parents.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/events.h"
#include "client/informer.h"
#include "ingress/proxy.h"
#include "ingress/routes.h"

namespace podnet::ingress {

struct ControllerOptions {
  std::vector<std::string> classes = {"podnet", "nginx"};
  // The Service whose load-balancer address goes into Ingress status ("ns/name"; "" for none).
  std::string publishService;
  // Or fixed addresses (IPs or host names), as --publish-status-address.
  std::vector<std::string> publishAddresses;
  // Gateway API: where the Gateways' Services go and what they select
  // (the proxy's own pods).
  std::string gatewayServiceNamespace = "kube-system";
  std::map<std::string, std::string> proxySelector = {{"app.kubernetes.io/name", "podnet-ingress"}};
  bool gatewayApi = true;
};

// status.loadBalancer of an Ingress this controller serves, from the
// published Service (its load-balancer ingress, else its externalIPs) or
// the fixed addresses. Empty ingress list when nothing is known yet.
Json ingressLoadBalancer(const Json* publishedService, const std::vector<std::string>& fixed);

class Controller {
 public:
  Controller(client::Client& api, Proxy& proxy, ControllerOptions options);
  ~Controller();
  void start();
  void stop();
  // Whether every informer has listed once and a first table is published.
  bool ready() const;

 private:
  void markDirty();
  void run();
  void syncOnce();
  void updateStatus(const CompiledRoutes& compiled);
  void recordEvents(const CompiledRoutes& compiled);
  Json withKind(const client::ObjectPtr& ingress) const;
  // Gateway API.
  void startGatewayInformers();
  void startReferenceGrantInformer();
  client::Informer* watchForChanges(const api::ResourceInfo& resource);
  bool gatewayInformersSynced() const;
  void ensureGatewayClass();
  void syncGatewayServices();
  void updateGatewayStatus(const CompiledRoutes& compiled);
  void writeStatus(const api::ResourceInfo& resource, const client::ObjectPtr& object, Json status);

  client::Client& api_;
  Proxy& proxy_;
  ControllerOptions options_;
  client::SharedInformers informers_;
  client::Informer *ingresses_, *classes_, *services_, *slices_, *secrets_;
  client::Informer* crds_ = nullptr;
  client::Informer* namespaces_ = nullptr;
  // Set once the Gateway API CRDs exist (the resources as those CRDs serve them).
  client::Informer *gatewayClasses_ = nullptr, *gateways_ = nullptr, *httpRoutes_ = nullptr,
                   *referenceGrants_ = nullptr;
  api::ResourceInfo gatewayClassResource_, gatewayResource_, httpRouteResource_,
      referenceGrantResource_;
  bool gatewayClassEnsured_ = false;
  client::EventRecorder events_;
  std::map<std::string, std::string> synced_;  // Ingress key -> "uid/generation" announced
  std::set<std::pair<std::string, std::string>> lastProblems_;  // (ingress, reason: message)

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool dirty_ = true, stopping_ = false, ready_ = false;
  std::thread thread_;
};

}  // namespace podnet::ingress
