#include "proxy/service_port.h"

#include <algorithm>
#include <set>

namespace podnet::proxy {

namespace {

std::string stringField(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int intField(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : 0;
}

const Json& member(const Json& obj, const char* key) {
  static const Json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it == obj.end() ? null : *it;
}

std::vector<std::string> stringList(const Json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const auto& item : value)
    if (item.is_string() && !item.get<std::string>().empty())
      out.push_back(item.get<std::string>());
  return out;
}

bool condition(const Json& conditions, const char* key, bool fallback) {
  const Json& value = member(conditions, key);
  return value.is_boolean() ? value.get<bool>() : fallback;
}

std::string lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The endpoints of `slices` that serve the Service port named `portName` with
// `protocol`, each address once.
std::vector<Endpoint> endpointsFor(const std::vector<const SliceEndpoints*>& slices,
                                   const std::string& portName, const std::string& protocol) {
  std::vector<Endpoint> out;
  std::set<std::string> seen;
  for (const SliceEndpoints* slice : slices) {
    if (!slice) continue;
    int port = 0;
    for (const auto& p : slice->ports)
      if (p.name == portName && p.protocol == protocol) {
        port = p.port;
        break;
      }
    if (port <= 0 || port > 65535) continue;
    for (const Endpoint& listed : slice->endpoints) {
      if (!seen.insert(listed.ip).second) continue;
      Endpoint endpoint = listed;
      endpoint.port = port;
      out.push_back(std::move(endpoint));
    }
  }
  // Slices come in any order; the program must not change with it.
  std::sort(out.begin(), out.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.ip < b.ip; });
  return out;
}

}  // namespace

std::string ServicePort::id() const { return ns + "/" + name + "/" + protocol + "/" + portName; }

std::string serviceKeyOfSlice(const Json& slice) {
  const Json& metadata = member(slice, "metadata");
  std::string service = stringField(member(metadata, "labels"), "kubernetes.io/service-name");
  if (service.empty()) return {};
  return stringField(metadata, "namespace") + "/" + service;
}

SliceEndpoints sliceEndpointsOf(const Json& slice) {
  SliceEndpoints out;
  for (const auto& p : member(slice, "ports")) {
    std::string proto = stringField(p, "protocol");
    out.ports.push_back(
        {stringField(p, "name"), lower(proto.empty() ? "TCP" : proto), intField(p, "port")});
  }
  std::set<std::string> seen;
  for (const auto& ep : member(slice, "endpoints")) {
    const Json& addresses = member(ep, "addresses");
    if (!addresses.is_array() || addresses.empty() || !addresses[0].is_string()) continue;
    Endpoint endpoint;
    endpoint.ip = addresses[0].get<std::string>();
    if (!seen.insert(endpoint.ip).second) continue;
    const Json& conditions = member(ep, "conditions");
    endpoint.ready = condition(conditions, "ready", true);
    endpoint.serving = condition(conditions, "serving", endpoint.ready);
    endpoint.terminating = condition(conditions, "terminating", false);
    endpoint.nodeName = stringField(ep, "nodeName");
    out.endpoints.push_back(std::move(endpoint));
  }
  out.ports.shrink_to_fit();
  out.endpoints.shrink_to_fit();
  return out;
}

std::vector<ServicePort> withEndpoints(std::vector<ServicePort> ports,
                                       const std::vector<const SliceEndpoints*>& slices) {
  for (ServicePort& port : ports)
    port.endpoints = endpointsFor(slices, port.portName, port.protocol);
  return ports;
}

std::vector<ServicePort> servicePortsOf(const Json& service,
                                        const std::vector<std::shared_ptr<const Json>>& slices) {
  std::vector<SliceEndpoints> compact;
  compact.reserve(slices.size());
  for (const auto& slice : slices)
    if (slice) compact.push_back(sliceEndpointsOf(*slice));
  std::vector<const SliceEndpoints*> pointers;
  for (const SliceEndpoints& slice : compact) pointers.push_back(&slice);
  return withEndpoints(servicePortsOf(service), pointers);
}

std::vector<ServicePort> servicePortsOf(const Json& service) {
  std::vector<ServicePort> out;
  const Json& metadata = member(service, "metadata");
  const Json& spec = member(service, "spec");
  std::string type = stringField(spec, "type");
  if (type == "ExternalName") return out;
  std::vector<std::string> clusterIps = stringList(member(spec, "clusterIPs"));
  if (clusterIps.empty()) clusterIps = stringList(Json::array({member(spec, "clusterIP")}));
  clusterIps.erase(std::remove(clusterIps.begin(), clusterIps.end(), "None"), clusterIps.end());
  if (clusterIps.empty()) return out;  // headless

  std::vector<std::string> lbIps;
  for (const auto& ingress : member(member(member(service, "status"), "loadBalancer"), "ingress")) {
    std::string ip = stringField(ingress, "ip");
    // ipMode Proxy means the load balancer itself delivers to the node: no
    // VIP rules for it (KEP-1860).
    if (!ip.empty() && stringField(ingress, "ipMode") != "Proxy") lbIps.push_back(ip);
  }
  bool isLoadBalancer = type == "LoadBalancer";
  int affinity = 0;
  if (stringField(spec, "sessionAffinity") == "ClientIP") {
    affinity =
        intField(member(member(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
    if (affinity <= 0) affinity = 10800;  // the API's default: 3 hours
  }

  for (const auto& p : member(spec, "ports")) {
    ServicePort sp;
    sp.ns = stringField(metadata, "namespace");
    sp.name = stringField(metadata, "name");
    sp.portName = stringField(p, "name");
    std::string proto = stringField(p, "protocol");
    sp.protocol = lower(proto.empty() ? "TCP" : proto);
    if (sp.protocol != "tcp" && sp.protocol != "udp" && sp.protocol != "sctp") continue;
    sp.port = intField(p, "port");
    if (sp.port <= 0 || sp.port > 65535) continue;
    sp.nodePort = (type == "NodePort" || isLoadBalancer) ? intField(p, "nodePort") : 0;
    sp.clusterIps = clusterIps;
    sp.externalIps = stringList(member(spec, "externalIPs"));
    if (isLoadBalancer) {
      sp.loadBalancerIps = lbIps;
      sp.loadBalancerSourceRanges = stringList(member(spec, "loadBalancerSourceRanges"));
      sp.healthCheckNodePort = intField(spec, "healthCheckNodePort");
    }
    bool external = sp.nodePort || !sp.externalIps.empty() || !sp.loadBalancerIps.empty();
    sp.externalPolicyLocal = external && stringField(spec, "externalTrafficPolicy") == "Local";
    sp.internalPolicyLocal = stringField(spec, "internalTrafficPolicy") == "Local";
    sp.affinityTimeoutSeconds = affinity;
    out.push_back(std::move(sp));
  }
  return out;
}

}  // namespace podnet::proxy
