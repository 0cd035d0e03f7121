#include "apiserver/access.h"

#include <algorithm>
#include <cctype>

#include "api/bootstrap_token.h"
#include "api/codec.h"
#include "api/object.h"
#include "apiserver/service_account_tokens.h"

namespace podnet::apiserver {

namespace {

using api::Json;

core::Error forbidden(std::string message) {
  return core::Error{403, "Forbidden", std::move(message)};
}

std::string_view bearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
  return token;
}

// The pods bound to `node` (spec.nodeName).
std::vector<Json> podsOn(client::Client& api, const std::string& node) {
  client::ListOptions options;
  options.fieldSelector = "spec.nodeName=" + node;
  auto list = api.list(api::resource("Pod"), "", options);
  std::vector<Json> out;
  if (list.ok() && (*list)["items"].is_array())
    for (auto& pod : (*list)["items"]) out.push_back(std::move(pod));
  return out;
}

// Every Secret name a pod refers to: volumes (secret, projected), env and
// envFrom, imagePullSecrets.
bool podUsesSecret(const Json& pod, const std::string& name) {
  bool found = false;
  auto visit = [&](const Json& value, auto& self) -> void {
    if (found) return;
    if (value.is_object()) {
      for (const char* key : {"secret", "secretRef", "secretKeyRef"}) {
        auto it = value.find(key);
        if (it == value.end() || !it->is_object()) continue;
        for (const char* field : {"secretName", "name"}) {
          auto named = it->find(field);
          if (named != it->end() && named->is_string() && named->get<std::string>() == name)
            found = true;
        }
      }
      for (const auto& [key, child] : value.items()) self(child, self);
    } else if (value.is_array()) {
      for (const auto& child : value) self(child, self);
    }
  };
  if (pod.contains("spec")) {
    visit(pod["spec"], visit);
    auto pulls = pod["spec"].find("imagePullSecrets");
    if (pulls != pod["spec"].end() && pulls->is_array())
      for (const auto& ref : *pulls)
        if (ref.is_object() && ref.contains("name") && ref["name"] == name) found = true;
  }
  return found;
}

// A string field of a pod's spec: `fallback` when the field is missing,
// "" when the pod is.
std::string podSpecField(client::Client& api, const std::string& ns, const std::string& name,
                         const char* field, const std::string& fallback = "") {
  auto pod = api.get(api::resource("Pod"), ns, name);
  if (!pod.ok() || !pod->is_object()) return {};
  const Json& spec = (*pod)["spec"];
  if (!spec.is_object() || !spec.contains(field) || !spec[field].is_string()) return fallback;
  return spec[field].get<std::string>();
}

std::string podNode(client::Client& api, const std::string& ns, const std::string& name) {
  return podSpecField(api, ns, name, "nodeName");
}

core::Status authorizeNode(client::Client& api, const Identity& who, std::string_view method,
                           const Route& route, std::string_view body) {
  const std::string& kind = route.resource ? route.resource->kind : std::string();
  bool read = method == "GET" || method == "HEAD";
  const std::string user = "node \"" + who.node + "\"";
  auto refused = [&](const std::string& what) -> core::Status {
    return forbidden(user + " is not allowed to " + what);
  };
  if (route.kind != RouteKind::Resource) return core::Ok{};  // discovery, OpenAPI, version
  if (kind == "Secret") {
    if (!read || route.name.empty())
      return forbidden("secrets is forbidden: User \"" + who.user +
                       "\" cannot list or change secrets: a node only reads the Secrets of its "
                       "pods");
    for (const auto& pod : podsOn(api, who.node))
      if (api::namespaceOf(pod) == route.ns && podUsesSecret(pod, route.name)) return core::Ok{};
    return forbidden("secrets \"" + route.name + "\" is forbidden: User \"" + who.user +
                     "\" cannot get resource \"secrets\" in the namespace \"" + route.ns +
                     "\": no relationship found between " + user + " and this object");
  }
  // No node reaches into pods or other nodes through the API server.
  if (route.subresource == "exec" || route.subresource == "attach" ||
      route.subresource == "portforward" || route.subresource == "proxy" ||
      (kind == "Pod" && route.subresource == "log"))
    return refused("use " + route.resource->plural + "/" + route.subresource);
  if (read) return core::Ok{};
  if (kind == "Node") {
    std::string target = route.name;
    if (method == "POST" && route.name.empty()) {
      auto node = api::decodeJson(body);
      target = node.ok() && node->is_object() ? api::name(*node) : "";
    }
    if (route.subresource == "token") return refused("reach nodes/" + target + "/token");
    if (method == "DELETE") return refused("delete nodes");
    if (target != who.node) return refused("modify node \"" + target + "\"");
    return core::Ok{};
  }
  if (kind == "Pod") {
    if (method == "POST") return refused("create pods");
    if (route.name.empty()) return refused("change every pod");
    if (!route.subresource.empty() && route.subresource != "status")
      return refused("use pods/" + route.subresource);
    if (route.subresource.empty() && method != "DELETE")
      return refused("change the spec of pod " + route.ns + "/" + route.name);
    if (podNode(api, route.ns, route.name) != who.node)
      return refused("modify pod " + route.ns + "/" + route.name + " bound to another node");
    return core::Ok{};
  }
  // Below, one object at a time: no node deletes a whole collection.
  if (route.name.empty() && method != "POST")
    return refused(std::string(method) + " every " + route.resource->plural);
  if (kind == "Event") return core::Ok{};
  // The local volume provisioner runs in the agent.
  if (kind == "PersistentVolume" || kind == "PersistentVolumeClaim") return core::Ok{};
  if (kind == "Lease" && route.ns == "kube-node-lease") {
    std::string target = route.name;
    if (target.empty()) {
      auto lease = api::decodeJson(body);
      target = lease.ok() && lease->is_object() ? api::name(*lease) : "";
    }
    if (target == who.node) return core::Ok{};
  }
  if (kind == "ServiceAccount" && route.subresource == "token" && method == "POST") {
    // Only for a pod bound to this node (the TokenRequest's boundObjectRef).
    auto request = api::decodeJson(body);
    std::string pod;
    if (request.ok() && request->is_object() && (*request)["spec"].is_object()) {
      const Json& ref = (*request)["spec"]["boundObjectRef"];
      if (ref.is_object() && ref.contains("kind") && ref["kind"] == "Pod" && ref.contains("name") &&
          ref["name"].is_string())
        pod = ref["name"].get<std::string>();
    }
    // ... and only for the ServiceAccount that pod runs as: a token of any
    // other account would be more than the node's pods have.
    if (!pod.empty() && podNode(api, route.ns, pod) == who.node &&
        podSpecField(api, route.ns, pod, "serviceAccountName", "default") == route.name)
      return core::Ok{};
    return refused("request tokens of serviceaccount " + route.ns + "/" + route.name +
                   " but for a pod bound to it that runs as that account");
  }
  return refused(std::string(method) + " " + route.resource->plural);
}

}  // namespace

std::optional<Identity> authenticate(client::Client& api, const AuthConfig& config,
                                     std::string_view authorization, int64_t nowUnix) {
  if (config.adminToken.empty())
    return Identity{Identity::Kind::Admin, "system:admin", {"system:masters"}, {}};
  std::string_view token = bearerToken(authorization);
  if (token.empty()) {
    if (!authorization.empty()) return std::nullopt;
    return Identity{Identity::Kind::Anonymous, "system:anonymous", {"system:unauthenticated"}, {}};
  }
  // Constant time in the token's content, so timing reveals nothing of it.
  if (api::secretsEqual(token, config.adminToken))
    return Identity{Identity::Kind::Admin, "system:admin", {"system:masters"}, {}};
  if (auto bootstrap = api::parseBootstrapToken(token)) {
    auto secret = api.get(api::resource("Secret"), "kube-system",
                          std::string(api::kBootstrapTokenPrefix) + bootstrap->id);
    if (!secret.ok() || api::bootstrapTokenRefusal(*secret, *bootstrap, nowUnix))
      return std::nullopt;
    Identity who{Identity::Kind::Bootstrap,
                 "system:bootstrap:" + bootstrap->id,
                 {api::kBootstrappersGroup},
                 {}};
    for (auto& group : api::bootstrapTokenGroups(*secret)) who.groups.push_back(std::move(group));
    return who;
  }
  if (auto node = api::parseNodeToken(token)) {
    auto secret = api.get(api::resource("Secret"), "kube-system",
                          std::string(api::kNodeTokenPrefix) + node->node);
    if (!secret.ok() || !api::nodeTokenMatches(*secret, *node)) return std::nullopt;
    return Identity{
        Identity::Kind::Node, "system:node:" + node->node, {"system:nodes"}, node->node};
  }
  // A ServiceAccount token (a JWT: three dot-separated parts).
  if (!config.serviceAccountTokens || std::count(token.begin(), token.end(), '.') != 2)
    return std::nullopt;
  auto user = config.serviceAccountTokens->authenticate(api, token, nowUnix);
  if (!user) return std::nullopt;
  return Identity{Identity::Kind::ServiceAccount, *user, {"system:serviceaccounts"}, {}};
}

core::Status authorize(client::Client& api, const Identity& identity, std::string_view method,
                       const Route& route, std::string_view body) {
  switch (identity.kind) {
    case Identity::Kind::Admin:
    case Identity::Kind::ServiceAccount:
      return core::Ok{};
    case Identity::Kind::Node:
      return authorizeNode(api, identity, method, route, body);
    case Identity::Kind::Bootstrap:
      // What kubeadm's bootstrappers may do here: get the node credentials.
      if (route.kind == RouteKind::Resource && route.resource && route.resource->kind == "Node" &&
          route.subresource == "token" && method == "POST") {
        // Only for a node that is not there yet: a bootstrap token must not
        // take over a running node's identity (and its pods' Secrets).
        if (api.get(api::resource("Node"), "", route.name).ok() ||
            api.get(api::resource("Secret"), "kube-system",
                    std::string(api::kNodeTokenPrefix) + route.name)
                .ok())
          return forbidden("node \"" + route.name +
                           "\" exists or has joined already: an administrator deletes the Node "
                           "and the Secret kube-system/" +
                           std::string(api::kNodeTokenPrefix) + route.name +
                           " before it joins again");
        return core::Ok{};
      }
      if (route.kind != RouteKind::Resource && method == "GET") return core::Ok{};
      return forbidden("User \"" + identity.user +
                       "\" may only request node credentials (POST nodes/NAME/token)");
    case Identity::Kind::Anonymous:
      if (route.kind == RouteKind::Resource && route.resource &&
          route.resource->kind == "ConfigMap" && route.ns == "kube-public" &&
          route.name == "cluster-info" && route.subresource.empty() && method == "GET")
        return core::Ok{};
      return core::unauthorized();
  }
  return core::unauthorized();
}

}  // namespace podnet::apiserver
