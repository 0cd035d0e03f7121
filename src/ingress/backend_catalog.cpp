#include "ingress/backend_catalog.h"

#include <algorithm>

#include "api/object.h"
#include "core/base64.h"

namespace podnet::ingress {

BackendCatalog::BackendCatalog(const RouteInputs& in) {
  for (const auto& s : in.services) services_[api::namespaceOf(*s) + "/" + api::name(*s)] = s.get();
  for (const auto& slice : in.endpointSlices) {
    const Json& s = *slice;
    auto labels = api::labels(s);
    auto owner = labels.find("kubernetes.io/service-name");
    if (owner != labels.end())
      slicesByService_[api::namespaceOf(s) + "/" + owner->second].push_back(&s);
  }
  for (const auto& s : in.secrets) secrets_[api::namespaceOf(*s) + "/" + api::name(*s)] = s.get();
}

const Json* BackendCatalog::service(const std::string& ns, const std::string& name) const {
  auto it = services_.find(ns + "/" + name);
  return it == services_.end() ? nullptr : it->second;
}

BackendCatalog::Resolved BackendCatalog::resolve(const std::string& ns, const std::string& name,
                                                 uint16_t portNumber, const std::string& portName) {
  std::string port = portNumber ? std::to_string(portNumber) : portName;
  auto key = std::make_tuple(ns, name, port);
  if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  auto target = std::make_shared<BackendTarget>();
  target->service = ns + "/" + name;
  target->port = port;
  Resolved resolved;
  if (const Json* svc = service(ns, name); !svc) {
    target->problem = "Service " + target->service + " not found";
    resolved.reason = "ServiceNotFound";
  } else {
    resolveEndpoints(*svc, portNumber, portName, *target, resolved.reason);
  }
  resolved.target = std::move(target);
  resolved_.emplace(key, resolved);
  return resolved;
}

void BackendCatalog::resolveEndpoints(const Json& service, uint16_t portNumber,
                                      const std::string& wantName, BackendTarget& target,
                                      std::string& reason) {
  const Json* ports = service.contains("spec") && service["spec"].contains("ports")
                          ? &service["spec"]["ports"]
                          : nullptr;
  std::string portName;
  bool found = false;
  if (ports && ports->is_array())
    for (const Json& p : *ports) {
      if (!p.is_object()) continue;
      bool byNumber = portNumber && p.value("port", 0) == portNumber;
      bool byName = !portNumber && !wantName.empty() && p.value("name", "") == wantName;
      std::string protocol = p.value("protocol", "TCP");
      if ((byNumber || byName) && protocol == "TCP") {
        portName = p.value("name", "");
        found = true;
        break;
      }
    }
  if (!found) {
    target.problem = "Service " + target.service + " has no TCP port " + target.port;
    reason = "PortNotFound";
    return;
  }
  auto slices = slicesByService_.find(target.service);
  if (slices != slicesByService_.end())
    for (const Json* slice : slices->second) {
      if (slice->value("addressType", "IPv4") == "FQDN") continue;
      uint16_t number = 0;
      for (const Json& sp : slice->value("ports", Json::array()))
        if (sp.is_object() && sp.value("name", "") == portName &&
            sp.value("protocol", "TCP") == "TCP" && sp.contains("port") &&
            sp["port"].is_number_integer())
          number = sp["port"].get<uint16_t>();
      if (!number) continue;
      for (const Json& ep : slice->value("endpoints", Json::array())) {
        if (!ep.is_object()) continue;
        bool ready = true;
        if (ep.contains("conditions") && ep["conditions"].is_object() &&
            ep["conditions"].contains("ready") && ep["conditions"]["ready"].is_boolean())
          ready = ep["conditions"]["ready"].get<bool>();
        if (!ready) continue;
        for (const Json& a : ep.value("addresses", Json::array()))
          if (a.is_string())
            if (auto ip = core::IpAddress::parse(a.get<std::string>()))
              target.endpoints.push_back({*ip, number});
      }
    }
  std::sort(target.endpoints.begin(), target.endpoints.end(),
            [](const Endpoint& x, const Endpoint& y) {
              return std::tie(x.ip, x.port) < std::tie(y.ip, y.port);
            });
  target.endpoints.erase(std::unique(target.endpoints.begin(), target.endpoints.end()),
                         target.endpoints.end());
  if (target.endpoints.empty())
    target.problem = "Service " + target.service + " has no ready endpoints";
}

std::optional<BackendCatalog::TlsPair> BackendCatalog::tlsPair(const std::string& ns,
                                                               const std::string& name,
                                                               std::string& why) const {
  std::string key = ns + "/" + name;
  auto secret = secrets_.find(key);
  if (secret == secrets_.end()) {
    why = "Secret " + key + " not found";
    return std::nullopt;
  }
  const Json& object = *secret->second;
  const Json& data = object.contains("data") ? object["data"] : Json();
  auto field = [&](const char* fieldName) -> std::optional<std::string> {
    if (!data.is_object() || !data.contains(fieldName) || !data[fieldName].is_string())
      return std::nullopt;
    return core::decodeBase64(data[fieldName].get<std::string>());
  };
  auto cert = field("tls.crt"), pem = field("tls.key");
  if (!cert || !pem || cert->empty() || pem->empty()) {
    why = "Secret " + key + " has no tls.crt and tls.key";
    return std::nullopt;
  }
  return TlsPair{std::move(*cert), std::move(*pem)};
}

}  // namespace podnet::ingress
