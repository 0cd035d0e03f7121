#include "controllers/endpoints.h"

#include <algorithm>
#include <set>

#include "api/object.h"
#include "controllers/util.h"

namespace podnet::controllers {

std::string podIpv4(const Json& pod) {
  auto isV4 = [](const std::string& ip) {
    return !ip.empty() && ip.find(':') == std::string::npos;
  };
  std::string ip = stringAt(pod, {"status", "podIP"});
  if (isV4(ip)) return ip;
  for (const auto& entry : arrayAt(pod, {"status", "podIPs"})) {
    std::string candidate = stringAt(entry, {"ip"});
    if (isV4(candidate)) return candidate;
  }
  return {};
}

bool podBelongsInSlices(const Json& pod) { return !podIpv4(pod).empty() && !isPodTerminal(pod); }

// The container port number `pod` declares under `name` for `protocol`, or 0.
static int64_t findNamedPort(const Json& pod, const std::string& name,
                             const std::string& protocol) {
  for (const auto& container : arrayAt(pod, {"spec", "containers"})) {
    for (const auto& port : arrayAt(container, {"ports"})) {
      std::string portProtocol = stringAt(port, {"protocol"});
      if (portProtocol.empty()) portProtocol = "TCP";
      if (stringAt(port, {"name"}) == name && portProtocol == protocol)
        return intAt(port, {"containerPort"}, 0);
    }
  }
  return 0;
}

Json resolveEndpointPorts(const Json& svc, const Json& pod) {
  Json out = Json::array();
  for (const auto& svcPort : arrayAt(svc, {"spec", "ports"})) {
    if (!svcPort.is_object()) continue;
    std::string protocol = stringAt(svcPort, {"protocol"});
    if (protocol.empty()) protocol = "TCP";
    int64_t number = 0;
    const Json* target = at(svcPort, {"targetPort"});
    if (!target || target->is_null()) {
      number = intAt(svcPort, {"port"}, 0);
    } else if (target->is_number_integer()) {
      number = target->get<int64_t>();
    } else if (target->is_string()) {
      std::string text = target->get<std::string>();
      bool digits = !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
      number = digits ? std::stoll(text.substr(0, 6)) : findNamedPort(pod, text, protocol);
    }
    if (number <= 0 || number > 65535) continue;  // unresolved: the pod does not serve it
    Json port = {{"name", stringAt(svcPort, {"name"})}, {"port", number}, {"protocol", protocol}};
    std::string appProtocol = stringAt(svcPort, {"appProtocol"});
    if (!appProtocol.empty()) port["appProtocol"] = appProtocol;
    out.push_back(std::move(port));
  }
  return out;
}

static bool publishNotReady(const Json& svc) {
  return boolAt(svc, {"spec", "publishNotReadyAddresses"}, false);
}

Json endpointForPod(const Json& svc, const Json& pod,
                    const std::map<std::string, std::string>& nodeZones) {
  bool serving = isPodReady(pod);
  bool terminating = api::isBeingDeleted(pod);
  // As upstream: never ready while terminating, unless the Service asks for
  // not-ready addresses too.
  bool ready = publishNotReady(svc) || (serving && !terminating);
  Json endpoint = {
      {"addresses", Json::array({podIpv4(pod)})},
      {"conditions", {{"ready", ready}, {"serving", serving}, {"terminating", terminating}}},
  };
  std::string hostname = stringAt(pod, {"spec", "hostname"});
  if (!hostname.empty() && stringAt(pod, {"spec", "subdomain"}) == api::name(svc))
    endpoint["hostname"] = hostname;
  std::string node = stringAt(pod, {"spec", "nodeName"});
  if (!node.empty()) {
    endpoint["nodeName"] = node;
    auto zone = nodeZones.find(node);
    if (zone != nodeZones.end() && !zone->second.empty()) endpoint["zone"] = zone->second;
  }
  endpoint["targetRef"] = {{"kind", "Pod"},
                           {"namespace", api::namespaceOf(pod)},
                           {"name", api::name(pod)},
                           {"uid", api::uid(pod)}};
  return endpoint;
}

// The labels every slice of `svc` carries: the Service's own (as upstream
// copies them) plus the ones that tie the slice to it.
static Json sliceLabels(const Json& svc) {
  Json labels = Json::object();
  for (const auto& [key, value] : api::labels(svc)) labels[key] = value;
  labels[kServiceNameLabel] = api::name(svc);
  labels[kManagedByLabel] = kSliceControllerName;
  if (stringAt(svc, {"spec", "clusterIP"}) == "None")
    labels[kHeadlessLabel] = "";
  else
    labels.erase(kHeadlessLabel);
  return labels;
}

static Json serviceOwnerReferences(const Json& svc) {
  return Json::array({ownerReference(svc, "v1", "Service", true)});
}

static std::string endpointIdentity(const Json& endpoint) {
  std::string name = stringAt(endpoint, {"targetRef", "name"});
  if (!name.empty()) return "pod/" + name;
  const Json& addresses = arrayAt(endpoint, {"addresses"});
  return addresses.empty() ? std::string{} : "ip/" + addresses[0].dump();
}

namespace {
struct PortGroup {
  Json ports;
  std::vector<Json> endpoints;  // in pod-name order
};

struct WorkingSlice {
  const Json* existing = nullptr;  // nullptr for a slice to create
  std::vector<Json> endpoints;
};
}  // namespace

SlicePlan planEndpointSlices(const Json& svc, const std::vector<const Json*>& selectedPods,
                             const std::vector<const Json*>& existingSlices,
                             const std::map<std::string, std::string>& nodeZones,
                             size_t maxEndpointsPerSlice) {
  if (maxEndpointsPerSlice == 0) maxEndpointsPerSlice = kMaxEndpointsPerSlice;
  // Desired endpoints grouped by the ports they serve.
  std::map<std::string, PortGroup> groups;
  std::vector<const Json*> pods = selectedPods;
  std::sort(pods.begin(), pods.end(),
            [](const Json* a, const Json* b) { return api::name(*a) < api::name(*b); });
  for (const Json* pod : pods) {
    if (!podBelongsInSlices(*pod)) continue;
    Json ports = resolveEndpointPorts(svc, *pod);
    auto& group = groups[ports.dump()];
    group.ports = std::move(ports);
    group.endpoints.push_back(endpointForPod(svc, *pod, nodeZones));
  }

  std::vector<const Json*> existing = existingSlices;
  std::sort(existing.begin(), existing.end(),
            [](const Json* a, const Json* b) { return api::name(*a) < api::name(*b); });

  Json labels = sliceLabels(svc);
  Json owners = serviceOwnerReferences(svc);
  std::string ns = api::namespaceOf(svc);
  SlicePlan plan;

  auto render = [&](const Json* base, const Json& ports, const std::vector<Json>& endpoints) {
    Json slice = base ? *base : Json::object();
    if (!base) {
      slice["apiVersion"] = "discovery.k8s.io/v1";
      slice["kind"] = "EndpointSlice";
      slice["metadata"] = {{"name", api::name(svc) + "-" + randomSuffix()}, {"namespace", ns}};
    }
    if (!slice["metadata"].is_object()) slice["metadata"] = Json::object();
    slice["metadata"]["labels"] = labels;
    slice["metadata"]["ownerReferences"] = owners;
    slice["addressType"] = "IPv4";
    slice["endpoints"] = Json(endpoints);
    slice["ports"] = ports;
    return slice;
  };
  auto sameContent = [&](const Json& current, const Json& desired) {
    auto field = [](const Json& s, std::initializer_list<std::string_view> path) {
      const Json* v = at(s, path);
      return v ? *v : Json();
    };
    auto listOrEmpty = [&](const Json& s, std::string_view key) {
      Json v = field(s, {key});
      return v.is_null() ? Json::array() : v;
    };
    return field(current, {"metadata", "labels"}) == field(desired, {"metadata", "labels"}) &&
           field(current, {"metadata", "ownerReferences"}) ==
               field(desired, {"metadata", "ownerReferences"}) &&
           field(current, {"addressType"}) == field(desired, {"addressType"}) &&
           listOrEmpty(current, "endpoints") == listOrEmpty(desired, "endpoints") &&
           listOrEmpty(current, "ports") == listOrEmpty(desired, "ports");
  };
  auto emit = [&](const Json* base, const Json& ports, const std::vector<Json>& endpoints) {
    Json desired = render(base, ports, endpoints);
    if (!base)
      plan.create.push_back(std::move(desired));
    else if (!sameContent(*base, desired))
      plan.update.push_back(std::move(desired));
  };

  bool anyEndpoints = false;
  for (const auto& [key, group] : groups) anyEndpoints |= !group.endpoints.empty();
  if (!anyEndpoints) {
    // Upstream keeps one placeholder slice (no ports, no endpoints) so the
    // Service visibly has been processed.
    const Json* keep = nullptr;
    for (const Json* slice : existing) {
      bool isPlaceholder = arrayAt(*slice, {"endpoints"}).empty() &&
                           arrayAt(*slice, {"ports"}).empty() &&
                           stringAt(*slice, {"addressType"}) == "IPv4";
      if (isPlaceholder && !keep) keep = slice;
    }
    if (!keep && !existing.empty()) keep = existing.front();
    emit(keep, Json::array(), {});
    for (const Json* slice : existing)
      if (slice != keep) plan.remove.push_back(api::name(*slice));
    return plan;
  }

  // Existing slices by the ports they carry.
  std::map<std::string, std::vector<const Json*>> existingByPorts;
  for (const Json* slice : existing) {
    const Json* ports = at(*slice, {"ports"});
    std::string key = ports && ports->is_array() ? ports->dump() : "[]";
    if (stringAt(*slice, {"addressType"}) != "IPv4" || !groups.count(key)) {
      plan.remove.push_back(api::name(*slice));
      continue;
    }
    existingByPorts[key].push_back(slice);
  }

  for (const auto& [key, group] : groups) {
    std::map<std::string, const Json*> wanted;  // identity -> desired endpoint
    for (const auto& endpoint : group.endpoints) wanted[endpointIdentity(endpoint)] = &endpoint;
    std::set<std::string> placed;
    std::vector<WorkingSlice> slices;
    // Endpoints stay where they are (updated in place).
    for (const Json* slice : existingByPorts[key]) {
      WorkingSlice working{slice, {}};
      for (const auto& endpoint : arrayAt(*slice, {"endpoints"})) {
        std::string id = endpointIdentity(endpoint);
        auto it = wanted.find(id);
        if (it == wanted.end() || placed.count(id) ||
            working.endpoints.size() >= maxEndpointsPerSlice)
          continue;
        working.endpoints.push_back(*it->second);
        placed.insert(id);
      }
      slices.push_back(std::move(working));
    }
    // New endpoints fill slices with room, then new slices.
    for (const auto& endpoint : group.endpoints) {
      std::string id = endpointIdentity(endpoint);
      if (placed.count(id)) continue;
      placed.insert(id);
      WorkingSlice* target = nullptr;
      for (auto& slice : slices)
        if (slice.endpoints.size() < maxEndpointsPerSlice) {
          target = &slice;
          break;
        }
      if (!target) {
        slices.push_back(WorkingSlice{});
        target = &slices.back();
      }
      target->endpoints.push_back(endpoint);
    }
    for (const auto& slice : slices) {
      if (slice.endpoints.empty()) {
        if (slice.existing) plan.remove.push_back(api::name(*slice.existing));
        continue;
      }
      emit(slice.existing, group.ports, slice.endpoints);
    }
  }
  return plan;
}

static Json endpointAddress(const Json& svc, const Json& pod) {
  Json address = {{"ip", podIpv4(pod)}};
  std::string hostname = stringAt(pod, {"spec", "hostname"});
  if (!hostname.empty() && stringAt(pod, {"spec", "subdomain"}) == api::name(svc))
    address["hostname"] = hostname;
  std::string node = stringAt(pod, {"spec", "nodeName"});
  if (!node.empty()) address["nodeName"] = node;
  address["targetRef"] = {{"kind", "Pod"},
                          {"namespace", api::namespaceOf(pod)},
                          {"name", api::name(pod)},
                          {"uid", api::uid(pod)}};
  return address;
}

Json buildEndpoints(const Json& svc, const std::vector<const Json*>& selectedPods) {
  bool tolerateUnready = publishNotReady(svc);
  struct Subset {
    Json ports;
    std::vector<Json> ready;
    std::vector<Json> notReady;
  };
  std::map<std::string, Subset> subsets;
  size_t total = 0;
  bool truncated = false;
  std::vector<const Json*> pods = selectedPods;
  std::sort(pods.begin(), pods.end(),
            [](const Json* a, const Json* b) { return podIpv4(*a) < podIpv4(*b); });
  for (const Json* pod : pods) {
    if (!podBelongsInSlices(*pod)) continue;
    // Terminating pods leave Endpoints at once (slices keep them, marked).
    if (api::isBeingDeleted(*pod) && !tolerateUnready) continue;
    if (total >= kMaxEndpointsAddresses) {
      truncated = true;
      break;
    }
    ++total;
    Json ports = Json::array();
    for (auto port : resolveEndpointPorts(svc, *pod)) {
      if (port["name"] == "") port.erase("name");
      ports.push_back(std::move(port));
    }
    // A Service with ports but none the pod serves: the pod is left out.
    if (ports.empty() && !arrayAt(svc, {"spec", "ports"}).empty()) continue;
    auto& subset = subsets[ports.dump()];
    subset.ports = std::move(ports);
    if (tolerateUnready || isPodReady(*pod))
      subset.ready.push_back(endpointAddress(svc, *pod));
    else
      subset.notReady.push_back(endpointAddress(svc, *pod));
  }

  Json labels = Json::object();
  for (const auto& [key, value] : api::labels(svc)) labels[key] = value;
  if (stringAt(svc, {"spec", "clusterIP"}) == "None") labels[kHeadlessLabel] = "";
  Json endpoints = {
      {"apiVersion", "v1"},
      {"kind", "Endpoints"},
      {"metadata",
       {{"name", api::name(svc)}, {"namespace", api::namespaceOf(svc)}, {"labels", labels}}}};
  if (truncated)
    endpoints["metadata"]["annotations"] = {{"endpoints.kubernetes.io/over-capacity", "truncated"}};
  Json list = Json::array();
  for (auto& [key, subset] : subsets) {
    Json entry = Json::object();
    if (!subset.ready.empty()) entry["addresses"] = Json(subset.ready);
    if (!subset.notReady.empty()) entry["notReadyAddresses"] = Json(subset.notReady);
    if (!subset.ports.empty()) entry["ports"] = subset.ports;
    list.push_back(std::move(entry));
  }
  if (!list.empty()) endpoints["subsets"] = std::move(list);
  return endpoints;
}

bool endpointsUpToDate(const Json& current, const Json& desired) {
  auto field = [](const Json& obj, std::initializer_list<std::string_view> path) {
    const Json* v = at(obj, path);
    return v && !(v->is_array() && v->empty()) && !(v->is_object() && v->empty()) ? *v : Json();
  };
  return field(current, {"subsets"}) == field(desired, {"subsets"}) &&
         field(current, {"metadata", "labels"}) == field(desired, {"metadata", "labels"}) &&
         field(current, {"metadata", "annotations", "endpoints.kubernetes.io/over-capacity"}) ==
             field(desired, {"metadata", "annotations", "endpoints.kubernetes.io/over-capacity"});
}

}  // namespace podnet::controllers
