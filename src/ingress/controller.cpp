#include "ingress/controller.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>

#include "api/object.h"
#include "api/resource.h"
#include "core/ip.h"

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
                            // A Service's status matters for the one whose address we publish.
                            if (std::string_view(kind) == "Service" &&
                                !routingFieldsDiffer(before, after) &&
                                client::objectKey(after) != options_.publishService)
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
  RouteInputs inputs;
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

}  // namespace podnet::ingress
