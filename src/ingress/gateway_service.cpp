#include "ingress/gateway_service.h"

#include <cctype>
#include <cstdio>

#include "api/object.h"

namespace podnet::ingress::gateway {

namespace {

uint32_t fnv1a(const std::string& text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

const char* kLoadBalancerIpsAnnotation = "metallb.universe.tf/loadBalancerIPs";

std::map<std::string, std::string> annotationsOf(const Json& object) {
  const Json* meta = api::member(object, "metadata");
  const Json* annotations = meta ? api::member(*meta, "annotations") : nullptr;
  return annotations ? api::stringMap(*annotations) : std::map<std::string, std::string>{};
}

}  // namespace

std::string gatewayServiceName(const std::string& ns, const std::string& name) {
  std::string base;
  for (char c : name) {
    char lower = char(std::tolower(static_cast<unsigned char>(c)));
    base += std::isalnum(static_cast<unsigned char>(lower)) ? lower : '-';
  }
  if (base.size() > 40) base.resize(40);
  while (!base.empty() && base.back() == '-') base.pop_back();
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", fnv1a(ns + "/" + name));
  return "gateway-" + (base.empty() ? std::string() : base + "-") + hash;
}

std::optional<GatewayServiceInfo> readGatewayService(const Json& service) {
  auto annotations = annotationsOf(service);
  auto it = annotations.find(kGatewayAnnotation);
  if (it == annotations.end() || it->second.find('/') == std::string::npos) return std::nullopt;
  GatewayServiceInfo info;
  info.gateway = it->second;
  const Json spec = service.value("spec", Json::object());
  if (spec.is_object())
    for (const Json& p : spec.value("ports", Json::array())) {
      if (!p.is_object() || !p.contains("port") || !p["port"].is_number_integer() ||
          !p.contains("targetPort") || !p["targetPort"].is_number_integer())
        continue;
      int64_t port = p["port"].get<int64_t>(), target = p["targetPort"].get<int64_t>();
      if (port < 1 || port > 65535 || target < 1 || target > 65535) continue;
      info.bindPorts[uint16_t(port)] = uint16_t(target);
    }
  const Json status = service.value("status", Json::object());
  if (status.is_object()) {
    const Json lb = status.value("loadBalancer", Json::object());
    if (lb.is_object())
      for (const Json& entry : lb.value("ingress", Json::array()))
        if (entry.is_object() && entry.contains("ip") && entry["ip"].is_string())
          info.addresses.push_back(entry["ip"].get<std::string>());
  }
  return info;
}

Json desiredGatewayService(const Gateway& gateway, const Json* existing,
                           const std::set<uint16_t>& taken, const GatewayServiceOptions& options) {
  std::map<uint16_t, uint16_t> kept;
  if (existing)
    if (auto info = readGatewayService(*existing)) kept = info->bindPorts;
  std::set<uint16_t> used = taken;
  for (const auto& [listener, bind] : kept) used.insert(bind);
  std::set<uint16_t> listenerPorts;
  for (const auto& l : gateway.listeners) listenerPorts.insert(l.port);
  Json ports = Json::array();
  uint16_t next = options.firstBindPort;
  for (uint16_t port : listenerPorts) {
    uint16_t bind = 0;
    if (auto it = kept.find(port); it != kept.end()) {
      bind = it->second;
    } else {
      while (next <= options.lastBindPort && used.count(next)) ++next;
      if (next > options.lastBindPort) return Json();
      bind = next;
      used.insert(bind);
    }
    ports.push_back({{"name", "port-" + std::to_string(port)},
                     {"port", port},
                     {"targetPort", bind},
                     {"protocol", "TCP"}});
  }
  Json selector = Json::object();
  for (const auto& [k, v] : options.selector) selector[k] = v;
  std::string key = gateway.ns + "/" + gateway.name;
  // spec.infrastructure's labels and annotations, then ours (which win).
  Json labels = Json::object(), annotations = Json::object();
  for (const auto& [k, v] : gateway.infrastructureLabels) labels[k] = v;
  for (const auto& [k, v] : gateway.infrastructureAnnotations) annotations[k] = v;
  labels[kGatewayServiceLabel] = "true";
  if (gateway.name.size() <= 63) labels["gateway.networking.k8s.io/gateway-name"] = gateway.name;
  annotations[kGatewayAnnotation] = key;
  if (!gateway.requestedAddresses.empty()) {
    std::string ips;
    for (const auto& a : gateway.requestedAddresses) ips += (ips.empty() ? "" : ",") + a;
    annotations[kLoadBalancerIpsAnnotation] = ips;
  }
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", gatewayServiceName(gateway.ns, gateway.name)},
            {"namespace", options.ns},
            {"labels", labels},
            {"annotations", annotations}}},
          {"spec",
           {{"type", "LoadBalancer"},
            // As the Ingress Service: clients' addresses reach the proxy.
            {"externalTrafficPolicy", "Local"},
            {"selector", selector},
            {"ports", ports}}}};
}

bool gatewayServiceUpToDate(const Json& existing, const Json& desired) {
  auto field = [](const Json& o, const char* a, const char* b) {
    const Json* at = &o;
    for (const char* k : {a, b}) {
      if (!at->is_object() || !at->contains(k)) return Json();
      at = &(*at)[k];
    }
    return *at;
  };
  auto portsOf = [&](const Json& o) {
    Json out = Json::array();
    for (const Json& p :
         field(o, "spec", "ports").is_array() ? field(o, "spec", "ports") : Json::array())
      out.push_back({{"port", p.value("port", Json())},
                     {"targetPort", p.value("targetPort", Json())},
                     {"protocol", p.value("protocol", "TCP")}});
    return out;
  };
  auto annotation = [](const Json& o, const char* name) {
    auto all = annotationsOf(o);
    auto it = all.find(name);
    return it == all.end() ? std::string() : it->second;
  };
  // Every label and annotation asked for is there (others may be added by anyone).
  for (const char* map : {"labels", "annotations"}) {
    const Json wanted = field(desired, "metadata", map);
    const Json has = field(existing, "metadata", map);
    if (wanted.is_object())
      for (const auto& [k, v] : wanted.items())
        if (!has.is_object() || !has.contains(k) || has[k] != v) return false;
  }
  return portsOf(existing) == portsOf(desired) &&
         field(existing, "spec", "selector") == field(desired, "spec", "selector") &&
         field(existing, "spec", "type") == field(desired, "spec", "type") &&
         annotation(existing, kGatewayAnnotation) == annotation(desired, kGatewayAnnotation) &&
         annotation(existing, kLoadBalancerIpsAnnotation) ==
             annotation(desired, kLoadBalancerIpsAnnotation);
}

}  // namespace podnet::ingress::gateway
