#include "apiserver/apiserver_endpoints.h"

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
  auto address = core::IpAddress::parse(ip);
  if (!address) return core::badRequest("not an IP address: " + ip);
  api::Json endpoints = {
      {"apiVersion", "v1"},
      {"kind", "Endpoints"},
      {"metadata",
       {{"name", "kubernetes"},
        {"namespace", "default"},
        {"labels", {{"endpointslice.kubernetes.io/skip-mirror", "true"}}}}},
      {"subsets",
       {{{"addresses", {{{"ip", ip}}}},
         {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}}}}};
  if (auto ok = createOrReplace(client, api::resource("Endpoints"), endpoints); !ok) return ok;
  api::Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata",
                      {{"name", "kubernetes"},
                       {"namespace", "default"},
                       {"labels", {{"kubernetes.io/service-name", "kubernetes"}}}}},
                     {"addressType", address->v6 ? "IPv6" : "IPv4"},
                     {"endpoints", {{{"addresses", {ip}}, {"conditions", {{"ready", true}}}}}},
                     {"ports", {{{"name", "https"}, {"port", port}, {"protocol", "TCP"}}}}};
  return createOrReplace(client, api::resource("EndpointSlice"), slice);
}

}  // namespace podnet::apiserver
