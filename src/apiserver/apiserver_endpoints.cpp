#include "apiserver/apiserver_endpoints.h"

#include <algorithm>
#include <optional>

#include "api/object.h"
#include "api/resource.h"
#include "core/ip.h"

namespace podnet::apiserver {

namespace {

// Create, or replace what a previous run published (the address or port may
// have changed across restarts).
core::Status createOrReplace(client::Client& client, const api::ResourceInfo& resource,
                             api::Json desired) {
  auto created = client.create(resource, "default", desired);
  if (created) return core::Ok{};
  if (created.error().reason != "AlreadyExists") return created.takeError();
  auto current = client.get(resource, "default", "kubernetes");
  if (!current) return current.takeError();
  desired["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
  if (auto updated = client.update(resource, "default", desired); !updated)
    return updated.takeError();
  return core::Ok{};
}

}  // namespace

core::Status publishApiServerEndpoints(client::Client& client, const std::string& ip,
                                       uint16_t port) {
  return publishApiServerEndpoints(client, std::vector<std::string>{ip}, port);
}

core::Status publishApiServerEndpoints(client::Client& client, std::vector<std::string> ips,
                                       uint16_t port) {
  if (ips.empty()) return core::badRequest("no API server address");
  std::sort(ips.begin(), ips.end());
  ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
  std::optional<core::IpAddress> address;
  api::Json addresses = api::Json::array(), sliceEndpoints = api::Json::array();
  for (const auto& ip : ips) {
    address = core::IpAddress::parse(ip);
    if (!address) return core::badRequest("not an IP address: " + ip);
    addresses.push_back({{"ip", ip}});
    sliceEndpoints.push_back({{"addresses", {ip}}, {"conditions", {{"ready", true}}}});
  }
  api::Json endpoints = {
      {"apiVersion", "v1"},
      {"kind", "Endpoints"},
      {"metadata",
       {{"name", "kubernetes"},
        {"namespace", "default"},
        {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
      {"subsets",
       {{{"addresses", addresses},
         {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}}}}};
  if (auto ok = createOrReplace(client, api::resource("Endpoints"), endpoints); !ok) return ok;
  api::Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata",
                      {{"name", "kubernetes"},
                       {"namespace", "default"},
                       {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
                     {"addressType", address->v6 ? "IPv6" : "IPv4"},
                     {"endpoints", sliceEndpoints},
                     {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}};
  return createOrReplace(client, api::resource("EndpointSlice"), slice);
}

namespace {

constexpr const char* kIdentityLabel = "apiserver.kubernetes.io/identity";

std::string leaseName(const std::string& ip) {
  std::string name = "apiserver-" + ip;
  for (char& c : name)
    if (c == '.' || c == ':') c = '-';
  return name;
}

std::string microTime(std::chrono::system_clock::time_point when) {
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch()).count();
  std::string seconds = api::formatRfc3339(micros / 1000000);  // ...Z
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%06lldZ", static_cast<long long>(micros % 1000000));
  return seconds.substr(0, seconds.size() - 1) + fraction;
}

}  // namespace

ApiServerEndpointReconciler::ApiServerEndpointReconciler(client::Client& client, std::string ip,
                                                         uint16_t port, std::chrono::seconds renew,
                                                         std::chrono::seconds expiry)
    : client_(client), ip_(std::move(ip)), port_(port), renew_(renew), expiry_(expiry) {}

ApiServerEndpointReconciler::~ApiServerEndpointReconciler() { stop(); }

void ApiServerEndpointReconciler::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      reconcile();
      lock.lock();
      wake_.wait_for(lock, renew_, [this] { return stopping_; });
    }
  });
}

core::Status ApiServerEndpointReconciler::reconcile() {
  const auto& leases = api::resource("Lease");
  std::string name = leaseName(ip_);
  std::string now = microTime(std::chrono::system_clock::now());
  api::Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata",
                      {{"name", name},
                       {"namespace", "kube-system"},
                       {"labels", {{kIdentityLabel, "kube-apiserver"}}}}},
                     {"spec",
                      {{"holderIdentity", ip_ + ":" + std::to_string(port_)},
                       {"leaseDurationSeconds", expiry_.count()},
                       {"renewTime", now}}}};
  auto current = client_.get(leases, "kube-system", name);
  if (current) {
    lease["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
    if (auto updated = client_.update(leases, "kube-system", lease); !updated)
      return updated.takeError();
  } else if (auto created = client_.create(leases, "kube-system", lease); !created) {
    return created.takeError();
  }
  return publishLive(std::string());
}

// Publishes every server whose lease is fresh, except `leaving`.
core::Status ApiServerEndpointReconciler::publishLive(const std::string& leaving) {
  const auto& leases = api::resource("Lease");
  client::ListOptions options;
  options.labelSelector = std::string(kIdentityLabel) + "=kube-apiserver";
  auto list = client_.list(leases, "kube-system", options);
  if (!list) return list.takeError();
  long long now = static_cast<long long>(std::time(nullptr));
  std::vector<std::string> ips;
  const api::Json& items = (*list)["items"];
  if (!items.is_array()) return core::Ok{};
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("spec")) continue;
    const api::Json& spec = item.at("spec");
    if (!spec.is_object() || !spec.contains("holderIdentity") || !spec.contains("renewTime") ||
        !spec.at("holderIdentity").is_string() || !spec.at("renewTime").is_string())
      continue;
    std::string holder = spec.at("holderIdentity").get<std::string>();
    std::string ip = holder.substr(0, holder.rfind(':'));
    // A lease written by hand must not stop the publication for everyone.
    if (ip == leaving || !core::IpAddress::parse(ip)) continue;
    long long renewed = api::parseRfc3339(spec.at("renewTime").get<std::string>());
    if (renewed <= 0 || now - renewed > expiry_.count()) continue;
    ips.push_back(ip);
  }
  if (ips.empty()) return core::Ok{};  // the last server leaves its address behind
  return publishApiServerEndpoints(client_, ips, port_);
}

void ApiServerEndpointReconciler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  client_.remove(api::resource("Lease"), "kube-system", leaseName(ip_));
  publishLive(ip_);
}

}  // namespace podnet::apiserver
