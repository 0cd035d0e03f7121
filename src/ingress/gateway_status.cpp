#include "ingress/gateway_status.h"

#include <algorithm>
#include <set>

#include "api/selector.h"

namespace podnet::ingress::gateway {

namespace {

Json condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message, int64_t generation, const std::string& now) {
  return {{"type", type},       {"status", status ? "True" : "False"}, {"reason", reason},
          {"message", message}, {"observedGeneration", generation},    {"lastTransitionTime", now}};
}

std::string key(const std::string& ns, const std::string& name) { return ns + "/" + name; }

bool supportedProtocol(const std::string& protocol) {
  return protocol == "HTTP" || protocol == "HTTPS";
}

struct ListenerState {
  const Listener* listener = nullptr;
  bool accepted = true;
  std::string acceptedReason = "Accepted", acceptedMessage = "listener accepted";
  bool resolved = true;
  std::string resolvedReason = "ResolvedRefs", resolvedMessage = "references resolved";
  bool conflicted = false;
  std::string conflictReason = "NoConflicts";
  Json supportedKinds = Json::array();
  bool allowsHttpRoute = true;
  int attached = 0;
  bool valid() const { return accepted && !conflicted; }
};

}  // namespace

bool referenceAllowed(const std::vector<ReferenceGrant>& grants, const std::string& fromGroup,
                      const std::string& fromKind, const std::string& fromNs,
                      const std::string& toGroup, const std::string& toKind,
                      const std::string& toNs, const std::string& toName) {
  if (fromNs == toNs) return true;
  for (const auto& grant : grants) {
    if (grant.ns != toNs) continue;
    bool from = std::any_of(grant.from.begin(), grant.from.end(), [&](const auto& f) {
      return f.group == fromGroup && f.kind == fromKind && f.ns == fromNs;
    });
    bool to = std::any_of(grant.to.begin(), grant.to.end(), [&](const auto& t) {
      return t.group == toGroup && t.kind == toKind && (t.name.empty() || t.name == toName);
    });
    if (from && to) return true;
  }
  return false;
}

StatusOutputs computeStatus(const StatusInputs& in) {
  StatusOutputs out;
  std::set<std::string> ourClasses;
  for (const auto& cls : in.classes) {
    if (cls.controllerName != kControllerName) continue;
    ourClasses.insert(cls.name);
    // SupportedVersion (Gateway API v1.1+): the installed CRDs' version is
    // one this controller serves (it reads v1, and v1beta1 ReferenceGrants).
    out.classStatus[cls.name] = {
        {"conditions",
         Json::array({condition("Accepted", true, "Accepted",
                                "handled by podnet's gateway controller", cls.generation, in.now),
                      condition("SupportedVersion", true, "SupportedVersion",
                                "Gateway API v1 is served", cls.generation, in.now)})}};
  }

  std::map<std::string, std::vector<ListenerState>> listeners;  // by Gateway key
  std::map<std::string, const Gateway*> gateways;
  for (const auto& gw : in.gateways) {
    if (!ourClasses.count(gw.gatewayClassName)) continue;
    std::string gwKey = key(gw.ns, gw.name);
    gateways[gwKey] = &gw;
    auto& states = listeners[gwKey];
    for (const auto& listener : gw.listeners) {
      ListenerState state;
      state.listener = &listener;
      if (!supportedProtocol(listener.protocol)) {
        state.accepted = false;
        state.acceptedReason = "UnsupportedProtocol";
        state.acceptedMessage =
            "protocol " + listener.protocol + " is not served (HTTP, HTTPS are)";
      }
      // Route kinds: HTTPRoute only.
      state.allowsHttpRoute = listener.routeKinds.empty();
      for (const auto& kind : listener.routeKinds) {
        if (kind.group == kGroup && kind.kind == "HTTPRoute") {
          state.allowsHttpRoute = true;
        } else {
          state.resolved = false;
          state.resolvedReason = "InvalidRouteKinds";
          state.resolvedMessage = "route kind " + kind.kind + " is not supported";
        }
      }
      if (state.allowsHttpRoute)
        state.supportedKinds.push_back({{"group", kGroup}, {"kind", "HTTPRoute"}});
      if (listener.protocol == "HTTPS") {
        if (listener.tlsMode != "Terminate") {
          state.accepted = false;
          state.acceptedReason = "UnsupportedValue";
          state.acceptedMessage = "HTTPS listeners terminate TLS (mode Passthrough is not served)";
        }
        if (listener.certificateRefs.empty() && state.resolved) {
          state.resolved = false;
          state.resolvedReason = "InvalidCertificateRef";
          state.resolvedMessage = "an HTTPS listener needs a certificateRef";
        }
        for (const auto& ref : listener.certificateRefs) {
          if (!state.resolved) break;
          std::string ns = ref.ns.empty() ? gw.ns : ref.ns;
          if (!ref.group.empty() || ref.kind != "Secret") {
            state.resolved = false;
            state.resolvedReason = "InvalidCertificateRef";
            state.resolvedMessage = "certificateRefs must name Secrets";
          } else if (!referenceAllowed(in.grants, kGroup, "Gateway", gw.ns, "", "Secret", ns,
                                       ref.name)) {
            state.resolved = false;
            state.resolvedReason = "RefNotPermitted";
            state.resolvedMessage =
                "no ReferenceGrant in " + ns + " lets this Gateway use Secret " + ref.name;
          } else if (!in.tlsSecretValid || !in.tlsSecretValid(ns, ref.name)) {
            state.resolved = false;
            state.resolvedReason = "InvalidCertificateRef";
            state.resolvedMessage = "Secret " + ns + "/" + ref.name +
                                    " is missing or not a valid kubernetes.io/tls Secret";
          }
        }
      }
      states.push_back(std::move(state));
    }
    // Conflicts on a port: different protocols, or one hostname twice.
    for (size_t i = 0; i < states.size(); ++i) {
      for (size_t j = 0; j < states.size(); ++j) {
        if (i == j) continue;
        const Listener& a = *states[i].listener;
        const Listener& b = *states[j].listener;
        if (a.port != b.port) continue;
        if (a.protocol != b.protocol) {
          states[i].conflicted = true;
          states[i].conflictReason = "ProtocolConflict";
        } else if (a.hostname == b.hostname && !states[i].conflicted) {
          states[i].conflicted = true;
          states[i].conflictReason = "HostnameConflict";
        }
      }
    }
  }

  // Routes: attach to the listeners of our Gateways that allow them.
  for (const auto& route : in.routes) {
    Json parents = Json::array();
    for (const auto& ref : route.parentRefs) {
      if (ref.group != kGroup || ref.kind != "Gateway") continue;
      std::string gwNs = ref.ns.empty() ? route.ns : ref.ns;
      std::string gwKey = key(gwNs, ref.name);
      auto found = gateways.find(gwKey);
      if (found == gateways.end()) continue;  // not ours to report
      const Gateway& gw = *found->second;
      auto& states = listeners[gwKey];
      std::string acceptedReason = "NoMatchingParent";
      std::string acceptedMessage = "no listener of Gateway " + gwKey + " matches the parentRef";
      int attachedHere = 0;
      for (auto& state : states) {
        const Listener& listener = *state.listener;
        if (!ref.sectionName.empty() && ref.sectionName != listener.name) continue;
        if (ref.port && *ref.port != listener.port) continue;
        if (!state.valid()) continue;
        bool nsAllowed =
            listener.routesFrom == "All" || (listener.routesFrom == "Same" && route.ns == gw.ns);
        if (listener.routesFrom == "Selector" && in.namespaceLabels) {
          auto selector = api::LabelSelector::fromJson(listener.routesSelector);
          nsAllowed = selector.ok() && selector->matches(in.namespaceLabels(route.ns));
        }
        if (!nsAllowed || !state.allowsHttpRoute) {
          if (acceptedReason == "NoMatchingParent") {
            acceptedReason = "NotAllowedByListeners";
            acceptedMessage = "listener " + listener.name + " does not allow routes from " +
                              route.ns + " or of kind HTTPRoute";
          }
          continue;
        }
        auto hostnames = intersectHostnames(listener.hostname, route.hostnames);
        if (hostnames.empty()) {
          if (acceptedReason != "Accepted") {
            acceptedReason = "NoMatchingListenerHostname";
            acceptedMessage = "no hostname of the route matches listener " + listener.name;
          }
          continue;
        }
        acceptedReason = "Accepted";
        acceptedMessage = "attached";
        ++attachedHere;
        ++state.attached;
        out.attachments.push_back({gwKey, listener.name, &route, std::move(hostnames)});
      }
      // ResolvedRefs: every backendRef (and mirror) a Service that exists
      // and may be referred to.
      std::string resolvedReason = "ResolvedRefs", resolvedMessage = "references resolved";
      auto check = [&](const BackendRef& backend) {
        if (resolvedReason != "ResolvedRefs") return;
        std::string ns = backend.ns.empty() ? route.ns : backend.ns;
        if (!backend.group.empty() || backend.kind != "Service") {
          resolvedReason = "InvalidKind";
          resolvedMessage = "backendRef kind " + backend.kind + " is not supported";
        } else if (!referenceAllowed(in.grants, kGroup, "HTTPRoute", route.ns, "", "Service", ns,
                                     backend.name)) {
          resolvedReason = "RefNotPermitted";
          resolvedMessage =
              "no ReferenceGrant in " + ns + " lets this route use Service " + backend.name;
        } else if (!in.serviceExists || !in.serviceExists(ns, backend.name)) {
          resolvedReason = "BackendNotFound";
          resolvedMessage = "Service " + ns + "/" + backend.name + " not found";
        }
      };
      for (const auto& rule : route.rules) {
        for (const auto& backend : rule.backendRefs) check(backend);
        for (const auto& filter : rule.filters)
          if (filter.mirror) check(*filter.mirror);
      }
      Json parentRef = {{"group", ref.group}, {"kind", ref.kind}, {"name", ref.name}};
      if (!ref.ns.empty()) parentRef["namespace"] = ref.ns;
      if (!ref.sectionName.empty()) parentRef["sectionName"] = ref.sectionName;
      if (ref.port) parentRef["port"] = *ref.port;
      parents.push_back(
          {{"parentRef", parentRef},
           {"controllerName", kControllerName},
           {"conditions",
            Json::array({condition("Accepted", attachedHere > 0, acceptedReason, acceptedMessage,
                                   route.generation, in.now),
                         condition("ResolvedRefs", resolvedReason == "ResolvedRefs", resolvedReason,
                                   resolvedMessage, route.generation, in.now)})}});
    }
    if (!parents.empty()) out.routeParents[key(route.ns, route.name)] = std::move(parents);
  }

  // Gateways, now that the attached routes are counted.
  for (const auto& [gwKey, gwPtr] : gateways) {
    const Gateway& gw = *gwPtr;
    auto addressIt = in.addresses.find(gwKey);
    bool addressed = addressIt != in.addresses.end() && !addressIt->second.empty();
    Json addresses = Json::array();
    if (addressed)
      for (const auto& ip : addressIt->second)
        addresses.push_back({{"type", "IPAddress"}, {"value", ip}});
    Json listenerStatus = Json::array();
    bool anyValid = false, anyProgrammed = false;
    for (const auto& state : listeners[gwKey]) {
      bool programmed = state.valid() && state.resolved && addressed;
      anyValid = anyValid || state.valid();
      anyProgrammed = anyProgrammed || programmed;
      listenerStatus.push_back(
          {{"name", state.listener->name},
           {"supportedKinds", state.supportedKinds},
           {"attachedRoutes", state.attached},
           {"conditions",
            Json::array({condition("Accepted", state.accepted, state.acceptedReason,
                                   state.acceptedMessage, gw.generation, in.now),
                         condition("Programmed", programmed,
                                   programmed ? "Programmed" : (addressed ? "Invalid" : "Pending"),
                                   programmed ? "served" : "not served", gw.generation, in.now),
                         condition("ResolvedRefs", state.resolved, state.resolvedReason,
                                   state.resolvedMessage, gw.generation, in.now),
                         condition("Conflicted", state.conflicted, state.conflictReason,
                                   state.conflicted ? "another listener on this port conflicts"
                                                    : "no conflicts",
                                   gw.generation, in.now)})}});
    }
    Json conditions = Json::array(
        {condition("Accepted", anyValid || gw.listeners.empty(),
                   anyValid || gw.listeners.empty() ? "Accepted" : "ListenersNotValid",
                   anyValid ? "accepted" : "no listener is valid", gw.generation, in.now),
         condition("Programmed", anyProgrammed,
                   anyProgrammed ? "Programmed" : (addressed ? "Invalid" : "AddressNotAssigned"),
                   anyProgrammed ? "served"
                                 : (addressed ? "no listener is served"
                                              : "no address from the load balancer pool yet"),
                   gw.generation, in.now)});
    out.gatewayStatus[gwKey] = {
        {"addresses", addresses}, {"conditions", conditions}, {"listeners", listenerStatus}};
  }
  return out;
}

namespace {

const Json* counterpart(const Json& written, const Json& entry, size_t index) {
  if (!written.is_array()) return nullptr;
  for (const char* identity : {"name", "parentRef", "type"})
    if (entry.is_object() && entry.contains(identity)) {
      for (const Json& candidate : written)
        if (candidate.is_object() && candidate.contains(identity) &&
            candidate[identity] == entry[identity])
          return &candidate;
      return nullptr;
    }
  return index < written.size() ? &written[index] : nullptr;
}

}  // namespace

Json carryTransitionTimes(const Json& written, Json fresh) {
  if (fresh.is_object() && written.is_object()) {
    for (auto& [key, value] : fresh.items()) {
      if (!written.contains(key)) continue;
      const Json& before = written[key];
      if (key == "conditions" && value.is_array() && before.is_array()) {
        for (Json& condition : value) {
          const Json* old = counterpart(before, condition, 0);
          if (old && old->is_object() &&
              old->value("status", "") == condition.value("status", "") &&
              old->contains("lastTransitionTime"))
            condition["lastTransitionTime"] = (*old)["lastTransitionTime"];
        }
      } else {
        value = carryTransitionTimes(before, std::move(value));
      }
    }
  } else if (fresh.is_array() && written.is_array()) {
    for (size_t i = 0; i < fresh.size(); ++i)
      if (const Json* old = counterpart(written, fresh[i], i))
        fresh[i] = carryTransitionTimes(*old, std::move(fresh[i]));
  }
  return fresh;
}

Json mergeRouteParents(const Json& written, const Json& ours) {
  Json merged = Json::array();
  if (written.is_array())
    for (const Json& entry : written)
      if (entry.is_object() && entry.value("controllerName", "") != kControllerName)
        merged.push_back(entry);
  Json carried = carryTransitionTimes(written, ours.is_array() ? ours : Json::array());
  for (Json& entry : carried) merged.push_back(std::move(entry));
  return merged;
}

}  // namespace podnet::ingress::gateway
