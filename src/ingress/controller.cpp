#include "ingress/controller.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>

#include "api/object.h"
#include "api/resource.h"
#include "core/ip.h"
#include "ingress/gateway_model.h"
#include "ingress/gateway_service.h"
#include "ingress/gateway_status.h"

namespace podnet::ingress {

namespace {

// Only what routing reads: an Ingress whose status alone changed (our own
// status write coming back) does not need a compile.
bool routingFieldsDiffer(const Json& a, const Json& b) {
  auto field = [](const Json& o, const char* outer, const char* inner) -> const Json* {
    auto it = o.find(outer);
    if (it == o.end() || !it->is_object()) return nullptr;
    if (!inner) return &*it;
    auto in = it->find(inner);
    return in == it->end() ? nullptr : &*in;
  };
  auto same = [](const Json* x, const Json* y) {
    if (!x || !y) return x == y;
    return *x == *y;
  };
  return !same(field(a, "spec", nullptr), field(b, "spec", nullptr)) ||
         !same(field(a, "metadata", "annotations"), field(b, "metadata", "annotations")) ||
         !same(field(a, "metadata", "deletionTimestamp"),
               field(b, "metadata", "deletionTimestamp"));
}

}  // namespace

Json ingressLoadBalancer(const Json* publishedService, const std::vector<std::string>& fixed) {
  Json entries = Json::array();
  auto add = [&](const std::string& address) {
    if (address.empty()) return;
    bool ip = core::IpAddress::parse(address).has_value();
    entries.push_back({{ip ? "ip" : "hostname", address}});
  };
  for (const auto& a : fixed) add(a);
  if (entries.empty() && publishedService) {
    const Json& service = *publishedService;
    if (auto status = service.find("status"); status != service.end() && status->is_object()) {
      const Json lb = status->value("loadBalancer", Json::object());
      for (const Json& entry : lb.value("ingress", Json::array())) {
        if (!entry.is_object()) continue;
        if (entry.contains("ip") && entry["ip"].is_string())
          entries.push_back({{"ip", entry["ip"]}});
        else if (entry.contains("hostname") && entry["hostname"].is_string())
          entries.push_back({{"hostname", entry["hostname"]}});
      }
    }
    if (entries.empty())
      if (auto spec = service.find("spec"); spec != service.end() && spec->is_object())
        for (const Json& ip : spec->value("externalIPs", Json::array()))
          if (ip.is_string()) add(ip.get<std::string>());
  }
  Json lb = Json::object();
  if (!entries.empty()) lb["ingress"] = std::move(entries);
  return lb;
}

Controller::Controller(client::Client& api, Proxy& proxy, ControllerOptions options)
    : api_(api),
      proxy_(proxy),
      options_(std::move(options)),
      informers_(api, client::InformerOptions{.pollInterval = std::chrono::milliseconds(100)}),
      events_(api, "podnet-ingress-controller") {
  auto watch = [this](const char* kind, bool routingOnly) {
    auto& informer = informers_.forResource(api::resource(kind));
    informer.addHandlers({[this](const Json&) { markDirty(); },
                          [this, routingOnly, kind](const Json& before, const Json& after) {
                            if (routingOnly && !routingFieldsDiffer(before, after)) return;
                            // A Service's status matters for the one whose address we
                            // publish, and for Gateways' Services (their address).
                            if (std::string_view(kind) == "Service" &&
                                !routingFieldsDiffer(before, after) &&
                                client::objectKey(after) != options_.publishService &&
                                !gateway::readGatewayService(after))
                              return;
                            markDirty();
                          },
                          [this](const Json&) { markDirty(); }});
    return &informer;
  };
  ingresses_ = watch("Ingress", true);
  classes_ = watch("IngressClass", false);
  services_ = watch("Service", false);
  slices_ = watch("EndpointSlice", false);
  secrets_ = watch("Secret", false);
  if (options_.gatewayApi) {
    crds_ = watch("CustomResourceDefinition", false);
    namespaces_ = watch("Namespace", false);
  }
}

Controller::~Controller() { stop(); }

void Controller::start() {
  informers_.start();
  thread_ = std::thread([this] { run(); });
}

void Controller::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  informers_.stop();
}

bool Controller::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

void Controller::markDirty() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
  }
  changed_.notify_all();
}

void Controller::run() {
  while (!informers_.waitForSync(std::chrono::milliseconds(200))) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  while (true) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(30), [this] { return dirty_ || stopping_; });
      if (stopping_) return;
      if (!dirty_) continue;
    }
    // A burst (a Service, then its EndpointSlice; kubectl apply of several
    // objects) becomes one compile; 10 ms keeps changes well inside 100 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    {
      std::lock_guard lock(mutex_);
      dirty_ = false;
    }
    syncOnce();
  }
}

void Controller::syncOnce() {
  if (crds_ && !gateways_) startGatewayInformers();
  // ReferenceGrant's CRD may be Established after the others (a bundle's
  // CRDs become Established one by one): its informer starts when it is.
  if (crds_ && gateways_ && !referenceGrants_) startReferenceGrantInformer();
  bool gatewayApi = gateways_ && gatewayInformersSynced();
  if (gateways_ && !gatewayApi) markDirty();  // again once they have listed
  if (gatewayApi) {
    ensureGatewayClass();
    syncGatewayServices();
  }
  RouteInputs inputs;
  if (gatewayApi) {
    inputs.gatewayClasses = gatewayClasses_->list();
    inputs.gateways = gateways_->list();
    inputs.httpRoutes = httpRoutes_->list();
    if (referenceGrants_) inputs.referenceGrants = referenceGrants_->list();
    inputs.namespaces = namespaces_->list();
    inputs.now = api::nowRfc3339();
  }
  inputs.classes = options_.classes;
  inputs.ingresses = ingresses_->list();
  inputs.ingressClasses = classes_->list();
  inputs.services = services_->list();
  inputs.endpointSlices = slices_->list();
  inputs.secrets = secrets_->list();
  auto started = std::chrono::steady_clock::now();
  CompiledRoutes compiled = compileRoutes(inputs);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  proxy_.publish(compiled.table, compiled.diagnostics.size());
  bool first;
  {
    std::lock_guard lock(mutex_);
    first = !ready_;
    ready_ = true;
  }
  if (first || took.count() > 100)
    std::fprintf(stderr, "podnet ingress: %zu routes from %zu Ingresses (%zu served) in %lld ms\n",
                 compiled.table->routeCount(), inputs.ingresses.size(), compiled.served.size(),
                 static_cast<long long>(took.count()));
  inputs = {};
  recordEvents(compiled);
  updateStatus(compiled);
  if (gatewayApi) updateGatewayStatus(compiled);
  ::malloc_trim(0);
}

Json Controller::withKind(const client::ObjectPtr& ingress) const {
  Json object = *ingress;
  object["kind"] = "Ingress";
  object["apiVersion"] = "networking.k8s.io/v1";
  return object;
}

void Controller::recordEvents(const CompiledRoutes& compiled) {
  // Sync: once per generation of each Ingress served.
  std::map<std::string, std::string> synced;
  for (const auto& key : compiled.served) {
    auto ingress = ingresses_->getByKey(key);
    if (!ingress) continue;
    const Json& meta = (*ingress)["metadata"];
    std::string version =
        meta.value("uid", "") + "/" + std::to_string(meta.value("generation", int64_t(0)));
    synced[key] = version;
    auto it = synced_.find(key);
    if (it == synced_.end() || it->second != version)
      events_.normal(withKind(ingress), "Sync", "Scheduled for sync");
  }
  synced_ = std::move(synced);
  // Problems: reported when they appear (a repeat is not news).
  std::set<std::pair<std::string, std::string>> problems;
  for (const auto& d : compiled.diagnostics) {
    auto entry = std::make_pair(d.ingress, d.reason + ": " + d.message);
    problems.insert(entry);
    if (lastProblems_.count(entry)) continue;
    if (auto ingress = ingresses_->getByKey(d.ingress))
      events_.warning(withKind(ingress), d.reason, d.message);
  }
  lastProblems_ = std::move(problems);
}

void Controller::updateStatus(const CompiledRoutes& compiled) {
  client::ObjectPtr published;
  if (!options_.publishService.empty()) published = services_->getByKey(options_.publishService);
  Json lb = ingressLoadBalancer(published.get(), options_.publishAddresses);
  std::set<std::string> served(compiled.served.begin(), compiled.served.end());
  for (const auto& ingress : ingresses_->list()) {
    std::string key = client::objectKey(*ingress);
    Json current = Json::object();
    if (auto status = ingress->find("status"); status != ingress->end() && status->is_object())
      current = status->value("loadBalancer", Json::object());
    Json want;
    if (served.count(key)) {
      if (!lb.contains("ingress")) continue;  // no address known yet: leave it
      want = lb;
    } else {
      // Not ours (any more): clear only an address we wrote.
      if (current != lb || !lb.contains("ingress")) continue;
      want = Json::object();
    }
    if (current == want) continue;
    Json updated = *ingress;
    updated["status"]["loadBalancer"] = want;
    client::WriteOptions options;
    options.subresource = "status";
    options.fieldManager = "podnet-ingress";
    auto written = api_.update(api::resource("Ingress"), api::namespaceOf(updated),
                               std::move(updated), options);
    if (!written && written.error().code == 409)
      markDirty();  // retried from the fresh object
    else if (!written)
      std::fprintf(stderr, "podnet ingress: status of %s: %s\n", key.c_str(),
                   written.error().message.c_str());
  }
}

// ---- Gateway API ------------------------------------------------------------------

namespace {

// The resource a Gateway API CRD serves, if it is installed and established
// (v1 when served, else the first served version).
std::optional<api::ResourceInfo> servedResource(const client::Informer& crds,
                                                const std::string& plural) {
  auto crd = crds.get("", plural + "." + gateway::kGroup);
  if (!crd) return std::nullopt;
  const Json& object = *crd;
  bool established = false;
  if (auto status = api::member(object, "status"))
    if (auto conditions = api::member(*status, "conditions"); conditions && conditions->is_array())
      for (const Json& c : *conditions)
        if (c.is_object() && c.value("type", "") == "Established" &&
            c.value("status", "") == "True")
          established = true;
  const Json* spec = api::member(object, "spec");
  if (!established || !spec) return std::nullopt;
  std::string version;
  if (auto versions = api::member(*spec, "versions"); versions && versions->is_array())
    for (const Json& v : *versions)
      if (v.is_object() && v.value("served", false)) {
        std::string name = v.value("name", "");
        if (version.empty() || name == "v1") version = name;
      }
  const Json* names = api::member(*spec, "names");
  if (version.empty() || !names) return std::nullopt;
  api::ResourceInfo info;
  info.group = gateway::kGroup;
  info.version = version;
  info.kind = api::stringAt(*names, "kind");
  info.plural = plural;
  info.singular = api::stringAt(*names, "singular");
  info.namespaced = api::stringAt(*spec, "scope") != "Cluster";
  info.hasStatus = true;
  return info;
}

Json statusOf(const Json& object) {
  auto it = object.find("status");
  return it != object.end() && it->is_object() ? *it : Json::object();
}

}  // namespace

client::Informer* Controller::watchForChanges(const api::ResourceInfo& resource) {
  auto& informer = informers_.forResource(resource);
  informer.addHandlers({[this](const Json&) { markDirty(); },
                        [this](const Json& before, const Json& after) {
                          if (routingFieldsDiffer(before, after)) markDirty();
                        },
                        [this](const Json&) { markDirty(); }});
  return &informer;
}

void Controller::startReferenceGrantInformer() {
  auto grants = servedResource(*crds_, "referencegrants");
  if (!grants) return;
  referenceGrantResource_ = *grants;
  referenceGrants_ = watchForChanges(referenceGrantResource_);
  markDirty();  // routes refused for want of a grant are looked at again
}

void Controller::startGatewayInformers() {
  auto classes = servedResource(*crds_, "gatewayclasses");
  auto gateways = servedResource(*crds_, "gateways");
  auto routes = servedResource(*crds_, "httproutes");
  if (!classes || !gateways || !routes) return;
  gatewayClassResource_ = *classes;
  gatewayResource_ = *gateways;
  httpRouteResource_ = *routes;
  gatewayClasses_ = watchForChanges(gatewayClassResource_);
  httpRoutes_ = watchForChanges(httpRouteResource_);
  startReferenceGrantInformer();                  // or later, when its CRD is Established
  gateways_ = watchForChanges(gatewayResource_);  // last: its being set means all are
  std::fprintf(stderr, "podnet ingress: Gateway API CRDs found: serving Gateways of class %s\n",
               gateway::kControllerName);
}

bool Controller::gatewayInformersSynced() const {
  for (const client::Informer* informer :
       {gatewayClasses_, gateways_, httpRoutes_, referenceGrants_, namespaces_})
    if (informer && !informer->hasSynced()) return false;
  return true;
}

void Controller::ensureGatewayClass() {
  if (gatewayClassEnsured_) return;
  gatewayClassEnsured_ = true;
  if (gatewayClasses_->get("", "podnet")) return;
  Json object = {{"apiVersion", std::string(gateway::kGroup) + "/" + gatewayClassResource_.version},
                 {"kind", "GatewayClass"},
                 {"metadata", {{"name", "podnet"}}},
                 {"spec",
                  {{"controllerName", gateway::kControllerName},
                   {"description", "podnet's own proxy (the one serving Ingresses)"}}}};
  auto created = api_.create(gatewayClassResource_, "", std::move(object));
  if (!created && created.error().code != 409)
    std::fprintf(stderr, "podnet ingress: creating GatewayClass podnet: %s\n",
                 created.error().message.c_str());
}

void Controller::syncGatewayServices() {
  std::set<std::string> ourClasses;
  for (const auto& object : gatewayClasses_->list())
    if (auto c = gateway::parseGatewayClass(*object);
        c && c->controllerName == gateway::kControllerName)
      ourClasses.insert(c->name);
  std::map<std::string, client::ObjectPtr> existing;  // by Gateway key
  std::map<std::string, std::set<uint16_t>> bindPorts;
  for (const auto& svc : services_->list(options_.gatewayServiceNamespace))
    if (auto info = gateway::readGatewayService(*svc)) {
      existing[info->gateway] = svc;
      for (const auto& [port, bind] : info->bindPorts) bindPorts[info->gateway].insert(bind);
    }
  gateway::GatewayServiceOptions options;
  options.ns = options_.gatewayServiceNamespace;
  options.selector = options_.proxySelector;
  const api::ResourceInfo& services = api::resource("Service");
  std::set<std::string> wanted;
  for (const auto& object : gateways_->list()) {
    auto gw = gateway::parseGateway(*object);
    if (!gw || !ourClasses.count(gw->gatewayClassName) || api::isBeingDeleted(*object)) continue;
    std::string key = gw->ns + "/" + gw->name;
    wanted.insert(key);
    std::set<uint16_t> taken;
    for (const auto& [other, ports] : bindPorts)
      if (other != key) taken.insert(ports.begin(), ports.end());
    auto found = existing.find(key);
    const Json* current = found == existing.end() ? nullptr : found->second.get();
    Json desired = gateway::desiredGatewayService(*gw, current, taken, options);
    if (desired.is_null()) {
      std::fprintf(stderr, "podnet ingress: Gateway %s: no free proxy port left\n", key.c_str());
      continue;
    }
    for (const Json& p : desired["spec"]["ports"])
      bindPorts[key].insert(p["targetPort"].get<uint16_t>());
    client::WriteOptions write;
    write.fieldManager = "podnet-gateway";
    core::Result<Json> result = Json();
    if (!current) {
      result = api_.create(services, options.ns, std::move(desired), write);
    } else if (!gateway::gatewayServiceUpToDate(*current, desired)) {
      Json updated = *current;
      updated["spec"]["ports"] = desired["spec"]["ports"];
      updated["spec"]["selector"] = desired["spec"]["selector"];
      updated["spec"]["type"] = desired["spec"]["type"];
      for (const auto& [k, v] : desired["metadata"]["annotations"].items())
        updated["metadata"]["annotations"][k] = v;
      for (const auto& [k, v] : desired["metadata"]["labels"].items())
        updated["metadata"]["labels"][k] = v;
      result = api_.update(services, options.ns, std::move(updated), write);
    }
    if (!result && result.error().code != 409)
      std::fprintf(stderr, "podnet ingress: Service of Gateway %s: %s\n", key.c_str(),
                   result.error().message.c_str());
    else if (!result)
      markDirty();
  }
  for (const auto& [key, svc] : existing)
    if (!wanted.count(key)) {
      auto removed = api_.remove(services, options.ns, api::name(*svc));
      if (!removed && removed.error().code != 404)
        std::fprintf(stderr, "podnet ingress: removing the Service of Gateway %s: %s\n",
                     key.c_str(), removed.error().message.c_str());
    }
}

void Controller::writeStatus(const api::ResourceInfo& resource, const client::ObjectPtr& object,
                             Json status) {
  if (statusOf(*object) == status) return;
  Json updated = *object;
  updated["status"] = std::move(status);
  client::WriteOptions options;
  options.subresource = "status";
  options.fieldManager = "podnet-gateway";
  auto written = api_.update(resource, api::namespaceOf(updated), std::move(updated), options);
  if (!written && written.error().code == 409)
    markDirty();
  else if (!written && written.error().code != 404)
    std::fprintf(stderr, "podnet ingress: status of %s %s: %s\n", resource.kind.c_str(),
                 client::objectKey(*object).c_str(), written.error().message.c_str());
}

void Controller::updateGatewayStatus(const CompiledRoutes& compiled) {
  for (const auto& [name, fresh] : compiled.gatewayClassStatus) {
    auto object = gatewayClasses_->get("", name);
    if (!object) continue;
    Json status = statusOf(*object);
    status["conditions"] = fresh["conditions"];
    writeStatus(gatewayClassResource_, object,
                gateway::carryTransitionTimes(statusOf(*object), std::move(status)));
  }
  for (const auto& [key, fresh] : compiled.gatewayStatus) {
    auto object = gateways_->getByKey(key);
    if (!object) continue;
    Json status = statusOf(*object);
    for (const char* field : {"addresses", "conditions", "listeners"}) status[field] = fresh[field];
    writeStatus(gatewayResource_, object,
                gateway::carryTransitionTimes(statusOf(*object), std::move(status)));
  }
  for (const auto& object : httpRoutes_->list()) {
    std::string key = client::objectKey(*object);
    auto ours = compiled.httpRouteParents.find(key);
    Json status = statusOf(*object);
    Json written = status.value("parents", Json::array());
    Json merged = gateway::mergeRouteParents(
        written, ours == compiled.httpRouteParents.end() ? Json::array() : ours->second);
    if (merged == written) continue;
    status["parents"] = std::move(merged);
    writeStatus(httpRouteResource_, object, std::move(status));
  }
}

}  // namespace podnet::ingress
