#include "registry/registry.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "api/custom_resource.h"
#include "api/defaults.h"
#include "api/object.h"
#include "api/selector.h"
#include "api/validation.h"

namespace podnet::registry {

namespace {

using core::Error;
using core::Result;

constexpr int kMaxUpdateRetries = 16;

std::string randomSuffix(size_t length) {
  // Upstream's generateName alphabet: consonants and digits that spell no words.
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (size_t i = 0; i < length; ++i) out += kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return out;
}

bool isBuiltinNamespace(std::string_view name) {
  return name == "default" || name == "kube-system" || name == "kube-public";
}

// Errors from the Store carry only a code; give them the resource and name
// kubectl prints.
Error storeError(const ResourceInfo& resource, std::string_view name, const Error& e) {
  if (e.reason == "NotFound")
    return core::notFound(resource.group, resource.plural, std::string(name));
  if (e.reason == "AlreadyExists")
    return core::alreadyExists(resource.group, resource.plural, std::string(name));
  if (e.reason == "Conflict")
    return core::conflict(resource.group, resource.plural, std::string(name),
                          "the object has been modified; please apply your changes to the "
                          "latest version and try again");
  return e;
}

Error forbidden(std::string message) { return Error{403, "Forbidden", std::move(message)}; }

Json& metadataOf(Json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  return obj["metadata"];
}

int64_t parseRevision(const std::string& text) {
  if (text.empty() || text.size() > 18) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// The fields a write never takes from the client.
void keepSystemMetadata(const Json& current, Json& obj) {
  Json& meta = metadataOf(obj);
  const Json& old = current["metadata"];
  for (const char* field : {"uid", "creationTimestamp", "deletionTimestamp",
                            "deletionGracePeriodSeconds", "generation"}) {
    if (old.contains(field))
      meta[field] = old[field];
    else
      meta.erase(field);
  }
}

bool specChanged(const Json& current, const Json& obj) {
  for (const auto& [k, v] : obj.items()) {
    if (k == "metadata" || k == "status" || k == "apiVersion" || k == "kind") continue;
    if (!current.contains(k) || current[k] != v) return true;
  }
  for (const auto& [k, v] : current.items()) {
    if (k == "metadata" || k == "status" || k == "apiVersion" || k == "kind") continue;
    if (!obj.contains(k)) return true;
  }
  return false;
}

// A continue token: the revision the first page was read at and the last key
// returned, base64 of a small JSON object as upstream does.
std::string encodeContinue(int64_t revision, const std::string& lastKey) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = Json{{"v", "meta.k8s.io/v1"}, {"rv", revision}, {"start", lastKey}}.dump();
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::pair<int64_t, std::string>> decodeContinue(const std::string& token) {
  auto bad = [] { return core::badRequest("continue key is not valid: illegal base64 data"); };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : token) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+' || c == '-')
      v = 62;
    else if (c == '/' || c == '_')
      v = 63;
    else if (c == '=')
      break;
    else
      return bad();
    buffer = (buffer << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((buffer >> bits) & 0xff);
    }
  }
  Json parsed = Json::parse(out, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("rv") ||
      !parsed["rv"].is_number_integer() || !parsed.contains("start") ||
      !parsed["start"].is_string())
    return bad();
  return std::make_pair(parsed["rv"].get<int64_t>(), parsed["start"].get<std::string>());
}

struct Filters {
  api::LabelSelector labels;
  api::FieldSelector fields;
  bool matches(const Json& obj) const {
    return labels.matches(api::labels(obj)) && fields.matches(obj);
  }
};

Result<Filters> parseFilters(const ResourceInfo& resource, const client::ListOptions& options) {
  auto labels = api::LabelSelector::parse(options.labelSelector);
  if (!labels) return labels.takeError();
  auto fields = api::FieldSelector::parse(resource, options.fieldSelector);
  if (!fields) return fields.takeError();
  return Filters{std::move(*labels), std::move(*fields)};
}

}  // namespace

Registry::Registry(store::Store& store) : store_(store), namespaces_(store) {}
Registry::~Registry() = default;

void Registry::addAdmissionHook(std::shared_ptr<AdmissionHook> hook) {
  std::lock_guard lock(hooksMutex_);
  hooks_.push_back(std::move(hook));
}

std::vector<std::shared_ptr<AdmissionHook>> Registry::hooks() {
  std::lock_guard lock(hooksMutex_);
  return hooks_;
}

void Registry::notifyStored(const ResourceInfo& resource, const Json& obj) {
  if (resource.kind == "Namespace" && resource.group.empty())
    namespaces_.stored(api::name(obj), obj.dump(), std::atoll(api::resourceVersion(obj).c_str()));
  for (auto& hook : hooks()) hook->stored(resource, obj);
}

Result<Json> Registry::decodeStored(const ResourceInfo& resource, const store::KeyValue& kv) const {
  Json obj = Json::parse(kv.value, nullptr, false);
  if (obj.is_discarded() || !obj.is_object())
    return core::internal("stored object " + kv.key + " is not valid JSON");
  if (resource.custom) {
    // Every served version reads the same stored object (conversion None
    // changes only apiVersion); defaults added to the schema since the
    // object was written apply on read, as upstream.
    obj["apiVersion"] = resource.apiVersion();
    resource.custom->applyDefaults(obj);
  }
  metadataOf(obj)["resourceVersion"] = std::to_string(kv.modRevision);
  return obj;
}

namespace {

// Everything a create or update shares: kind, apiVersion and the namespace
// of the request against the object's.
core::Status checkTypeAndNamespace(const ResourceInfo& resource, std::string_view ns, Json& obj) {
  if (!obj.is_object()) return core::badRequest("the request body must be a JSON object");
  if (obj.contains("kind") && !(obj["kind"].is_string() && obj["kind"] == resource.kind)) {
    return core::badRequest("the kind of the provided object (" +
                            (obj["kind"].is_string() ? obj["kind"].get<std::string>() : "?") +
                            ") does not match the kind of the request (" + resource.kind + ")");
  }
  if (obj.contains("apiVersion") &&
      !(obj["apiVersion"].is_string() && obj["apiVersion"] == resource.apiVersion())) {
    return core::badRequest(
        "the API version of the provided object does not match the "
        "request (" +
        resource.apiVersion() + ")");
  }
  obj["kind"] = resource.kind;
  obj["apiVersion"] = resource.apiVersion();
  Json& meta = metadataOf(obj);
  if (resource.namespaced) {
    std::string objectNs = api::namespaceOf(obj);
    if (objectNs.empty()) objectNs = std::string(ns);
    if (!ns.empty() && objectNs != ns)
      return core::badRequest(
          "the namespace of the provided object does not match the namespace sent on the "
          "request");
    if (objectNs.empty()) objectNs = "default";
    meta["namespace"] = objectNs;
  } else {
    meta.erase("namespace");
  }
  return core::Ok{};
}

bool isPersistentVolume(const ResourceInfo& resource) {
  return !resource.custom && resource.group.empty() && resource.kind == "PersistentVolume";
}

// The PersistentVolume status strategy: status.lastPhaseTransitionTime
// follows status.phase unless the writer sets it.
void stampPhaseTransition(const Json& current, Json& next) {
  if (!next.contains("status") || !next["status"].is_object()) return;
  Json& status = next["status"];
  const Json& before = current.value("status", Json::object());
  std::string phase = api::getString(next, "/status/phase"_json_pointer);
  std::string oldPhase = api::getString(current, "/status/phase"_json_pointer);
  const Json* oldTime = before.is_object() && before.contains("lastPhaseTransitionTime")
                            ? &before["lastPhaseTransitionTime"]
                            : nullptr;
  bool unset =
      !status.contains("lastPhaseTransitionTime") || status["lastPhaseTransitionTime"].is_null();
  if (phase == oldPhase && unset) {
    if (oldTime) status["lastPhaseTransitionTime"] = *oldTime;
  } else if (phase != oldPhase &&
             (unset || (oldTime && status["lastPhaseTransitionTime"] == *oldTime))) {
    status["lastPhaseTransitionTime"] = api::nowRfc3339();
  }
}

}  // namespace

Result<Json> Registry::create(const ResourceInfo& resource, std::string_view ns, Json obj,
                              const client::WriteOptions& options) {
  if (auto s = checkTypeAndNamespace(resource, ns, obj); !s) return s.takeError();
  Json& meta = metadataOf(obj);
  std::string name = api::name(obj);
  if (name.empty()) {
    std::string generateName = api::getString(obj, "/metadata/generateName"_json_pointer);
    if (generateName.empty()) {
      return core::invalid(resource.group, resource.kind, "",
                           {{"FieldValueRequired",
                             "Required value: name or generateName is required", "metadata.name"}});
    }
    name = generateName + randomSuffix(5);
    meta["name"] = name;
  }
  std::string objectNs = resource.namespaced ? api::namespaceOf(obj) : "";

  // NamespaceLifecycle: objects go only into namespaces that exist and are
  // not being deleted.
  if (resource.namespaced) {
    auto cached = namespaces_.lookup(objectNs);
    bool beingDeleted = cached == NamespaceCache::State::Terminating;
    if (cached == NamespaceCache::State::Unknown) {
      auto nsObj = get(api::resource("Namespace"), "", objectNs);
      if (!nsObj && nsObj.error().code != 404) return nsObj.takeError();  // store unavailable
      if (!nsObj) return core::notFound("", "namespaces", objectNs);
      beingDeleted = api::isBeingDeleted(*nsObj);
    }
    if (beingDeleted)
      return forbidden(resource.plural + " \"" + name +
                       "\" is forbidden: unable to create new "
                       "content in namespace " +
                       objectNs + " because it is being terminated");
  }

  meta.erase("resourceVersion");
  meta["uid"] = api::newUid();
  meta["creationTimestamp"] = api::nowRfc3339();
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta["generation"] = 1;
  // Status is the controllers' and agents' to write, except for kinds whose
  // creator reports it (a Node registering itself, an EndpointSlice).
  if (resource.hasStatus && resource.kind != "Node" && resource.kind != "Namespace") {
    obj.erase("status");
    if (resource.kind == "Pod") obj["status"] = {{"phase", "Pending"}};
    // PersistentVolumeLastPhaseTransitionTime (GA in 1.31): a new volume has
    // been Pending since it was created.
    if (isPersistentVolume(resource))
      obj["status"] = {{"phase", "Pending"},
                       {"lastPhaseTransitionTime", meta["creationTimestamp"]}};
  }
  api::applyDefaults(resource, obj);

  std::vector<std::shared_ptr<AdmissionHook>> hooks;
  {
    std::lock_guard lock(hooksMutex_);
    hooks = hooks_;
  }
  // Validate what the user sent before hooks reserve anything.
  if (auto causes = api::validate(resource, obj); !causes.empty())
    return core::invalid(resource.group, resource.kind, name, std::move(causes));
  size_t admitted = 0;
  for (; admitted < hooks.size(); ++admitted) {
    if (auto s = hooks[admitted]->admitCreate(resource, obj); !s) {
      for (size_t i = 0; i < admitted; ++i) hooks[i]->abortCreate(resource, obj);
      return s.takeError();
    }
  }
  auto abortAll = [&] {
    for (auto& hook : hooks) hook->abortCreate(resource, obj);
  };
  if (options.dryRun) {
    abortAll();
    return obj;
  }
  if (resource.custom)
    obj["apiVersion"] = resource.custom->storageVersion.empty()
                            ? resource.apiVersion()
                            : resource.group + "/" + resource.custom->storageVersion;
  auto stored = store_.create(resource.key(objectNs, name), obj.dump());
  if (!stored) {
    // A write that timed out (504) may still be applied: what admission
    // reserved stays reserved (the allocators' repair gives back what no
    // stored object holds).
    if (stored.error().code != 504) abortAll();
    return storeError(resource, name, stored.error());
  }
  obj["apiVersion"] = resource.apiVersion();
  meta["resourceVersion"] = std::to_string(stored->modRevision);
  notifyStored(resource, obj);
  return obj;
}

Result<Json> Registry::get(const ResourceInfo& resource, std::string_view ns,
                           std::string_view name) {
  auto kv = store_.get(resource.key(ns, name));
  if (!kv) return storeError(resource, name, kv.error());
  return decodeStored(resource, *kv);
}

Result<Json> Registry::update(const ResourceInfo& resource, std::string_view ns, Json obj,
                              const client::WriteOptions& options) {
  if (auto s = checkTypeAndNamespace(resource, ns, obj); !s) return s.takeError();
  std::string name = api::name(obj);
  if (name.empty())
    return core::invalid(
        resource.group, resource.kind, "",
        {{"FieldValueRequired", "Required value: name is required", "metadata.name"}});
  std::string objectNs = resource.namespaced ? api::namespaceOf(obj) : "";
  std::string key = resource.key(objectNs, name);

  int64_t expected = 0;
  std::string requestedVersion = api::resourceVersion(obj);
  if (!requestedVersion.empty()) {
    expected = parseRevision(requestedVersion);
    if (expected <= 0)
      return core::badRequest("metadata.resourceVersion: Invalid value: \"" + requestedVersion +
                              "\": must be a decimal number");
  }

  std::vector<std::shared_ptr<AdmissionHook>> hooks;
  {
    std::lock_guard lock(hooksMutex_);
    hooks = hooks_;
  }

  for (int attempt = 0; attempt < kMaxUpdateRetries; ++attempt) {
    auto kv = store_.get(key);
    if (!kv) return storeError(resource, name, kv.error());
    if (expected != 0 && kv->modRevision != expected)
      return storeError(resource, name, Error{409, "Conflict"});
    auto decoded = decodeStored(resource, *kv);
    if (!decoded) return decoded;
    const Json& current = *decoded;

    Json next;
    if (options.subresource == "binding") {
      // pods/binding: the scheduler's one write to a pod's spec. nodeName goes
      // from empty to a node once; everything else stays as stored.
      std::string node = api::getString(obj, "/spec/nodeName"_json_pointer);
      std::string assigned = api::getString(current, "/spec/nodeName"_json_pointer);
      if (!assigned.empty())
        return core::conflict(resource.group, resource.plural, name,
                              "pod " + name + " is already assigned to node \"" + assigned + "\"");
      if (auto problems = api::isDns1123Subdomain(node); !problems.empty())
        return core::invalid(
            resource.group, "Binding", name,
            {{"FieldValueInvalid", "Invalid value: \"" + node + "\": " + problems.front(),
              "target.name"}});
      if (api::isBeingDeleted(current))
        return core::conflict(resource.group, resource.plural, name,
                              "pod " + name + " is being deleted, cannot be assigned to a host");
      next = current;
      next["spec"]["nodeName"] = node;
      metadataOf(next).erase("resourceVersion");
      auto stored = store_.update(key, next.dump(), kv->modRevision);
      if (!stored) {
        if (stored.error().reason == "Conflict" && expected == 0) continue;
        return storeError(resource, name, stored.error());
      }
      metadataOf(next)["resourceVersion"] = std::to_string(stored->modRevision);
      return next;
    } else if (options.subresource == "status") {
      // Only status changes through the status subresource.
      next = current;
      if (obj.contains("status"))
        next["status"] = obj["status"];
      else
        next.erase("status");
      if (isPersistentVolume(resource)) stampPhaseTransition(current, next);
    } else {
      next = obj;
      // The main resource never changes status of kinds that have a status
      // subresource.
      if (resource.hasStatus) {
        if (current.contains("status"))
          next["status"] = current["status"];
        else
          next.erase("status");
      }
    }
    keepSystemMetadata(current, next);
    metadataOf(next)["resourceVersion"] = current["metadata"]["resourceVersion"];
    api::applyDefaults(resource, next);
    if (specChanged(current, next)) {
      int64_t generation = 1;
      const Json& meta = current["metadata"];
      if (meta.contains("generation") && meta["generation"].is_number_integer())
        generation = meta["generation"].get<int64_t>();
      metadataOf(next)["generation"] = generation + 1;
    }
    if (auto causes = api::validateUpdate(resource, next, current); !causes.empty())
      return core::invalid(resource.group, resource.kind, name, std::move(causes));

    // An object marked for deletion goes once its finalizers are gone.
    if (api::isBeingDeleted(current)) {
      bool finalizersLeft = next["metadata"].contains("finalizers") &&
                            next["metadata"]["finalizers"].is_array() &&
                            !next["metadata"]["finalizers"].empty();
      if (resource.kind == "Namespace" && next.contains("spec") &&
          next["spec"].contains("finalizers") && next["spec"]["finalizers"].is_array() &&
          !next["spec"]["finalizers"].empty())
        finalizersLeft = true;
      bool graceLeft = resource.kind == "Pod";  // pods go by a delete with grace 0
      if (!finalizersLeft && !graceLeft && !options.dryRun) {
        auto done = finalizeDelete(resource, key, next, kv->modRevision);
        if (!done && done.error().reason == "Conflict" && expected == 0) continue;
        return done;
      }
    }

    // No-op: no write, no new resourceVersion; unless the stored value is
    // sealed with an old key, which the rewrite replaces (key rotation).
    if (next == current && !kv->stale) return next;

    size_t admitted = 0;
    core::Status admission = core::Ok{};
    for (; admitted < hooks.size(); ++admitted) {
      admission = hooks[admitted]->admitUpdate(resource, current, next);
      if (!admission) break;
    }
    if (!admission) {
      for (size_t i = 0; i < admitted; ++i) hooks[i]->abortUpdate(resource, current, next);
      return admission.takeError();
    }
    if (options.dryRun) {
      for (auto& hook : hooks) hook->abortUpdate(resource, current, next);
      return next;
    }
    metadataOf(next).erase("resourceVersion");
    if (resource.custom && !resource.custom->storageVersion.empty())
      next["apiVersion"] = resource.group + "/" + resource.custom->storageVersion;
    auto stored = store_.update(key, next.dump(), kv->modRevision);
    next["apiVersion"] = resource.apiVersion();
    if (!stored) {
      if (stored.error().code != 504)  // may be applied: keep what admission reserved
        for (auto& hook : hooks) hook->abortUpdate(resource, current, next);
      // Someone wrote in between: an unconditional update tries again on
      // the newer object; a conditional one reports the conflict.
      if (stored.error().reason == "Conflict" && expected == 0) continue;
      return storeError(resource, name, stored.error());
    }
    metadataOf(next)["resourceVersion"] = std::to_string(stored->modRevision);
    notifyStored(resource, next);
    return next;
  }
  return storeError(resource, name, Error{409, "Conflict"});
}

Result<Json> Registry::finalizeDelete(const ResourceInfo& resource, const std::string& key,
                                      const Json& current, int64_t modRevision) {
  auto removed = store_.remove(key, modRevision);
  if (!removed) return storeError(resource, api::name(current), removed.error());
  Json gone = current;
  metadataOf(gone)["resourceVersion"] = std::to_string(removed->modRevision);
  if (resource.kind == "Namespace" && resource.group.empty())
    namespaces_.deleted(api::name(current), removed->modRevision);
  std::vector<std::shared_ptr<AdmissionHook>> hooks;
  {
    std::lock_guard lock(hooksMutex_);
    hooks = hooks_;
  }
  for (auto& hook : hooks) hook->deleted(resource, gone);
  return gone;
}

Result<Json> Registry::remove(const ResourceInfo& resource, std::string_view ns,
                              std::string_view name, const client::DeleteOptions& options) {
  if (resource.kind == "Namespace" && isBuiltinNamespace(name))
    return forbidden("namespaces \"" + std::string(name) +
                     "\" is forbidden: this namespace may not be deleted");
  std::string key = resource.key(ns, name);
  Result<Json> result = core::internal("delete did not run");
  for (int attempt = 0; attempt < kMaxUpdateRetries; ++attempt) {
    auto kv = store_.get(key);
    if (!kv) return storeError(resource, name, kv.error());
    auto decoded = decodeStored(resource, *kv);
    if (!decoded) return decoded;
    Json current = std::move(*decoded);

    if (!options.preconditionUid.empty() && options.preconditionUid != api::uid(current)) {
      return core::conflict(resource.group, resource.plural, std::string(name),
                            "Precondition failed: UID in precondition: " + options.preconditionUid +
                                ", UID in object meta: " + api::uid(current));
    }
    if (!options.preconditionResourceVersion.empty() &&
        options.preconditionResourceVersion != api::resourceVersion(current)) {
      return core::conflict(
          resource.group, resource.plural, std::string(name),
          "Precondition failed: ResourceVersion in precondition: " +
              options.preconditionResourceVersion +
              ", ResourceVersion in object meta: " + api::resourceVersion(current));
    }

    bool hasFinalizers = current["metadata"].contains("finalizers") &&
                         current["metadata"]["finalizers"].is_array() &&
                         !current["metadata"]["finalizers"].empty();
    if (resource.kind == "Namespace") {
      const Json* specFinalizers = nullptr;
      if (current.contains("spec") && current["spec"].is_object() &&
          current["spec"].contains("finalizers"))
        specFinalizers = &current["spec"]["finalizers"];
      if (specFinalizers && specFinalizers->is_array() && !specFinalizers->empty())
        hasFinalizers = true;
    }

    // Graceful deletion of a pod that runs on a node: its agent stops the
    // containers and deletes it with grace 0 (as kubelet does).
    int64_t grace = 0;
    if (resource.kind == "Pod") {
      grace = 30;
      if (current.contains("spec") && current["spec"].is_object() &&
          current["spec"].contains("terminationGracePeriodSeconds") &&
          current["spec"]["terminationGracePeriodSeconds"].is_number_integer())
        grace = current["spec"]["terminationGracePeriodSeconds"].get<int64_t>();
      if (options.gracePeriodSeconds) grace = *options.gracePeriodSeconds;
      std::string phase = api::getString(current, "/status/phase"_json_pointer);
      std::string node = api::getString(current, "/spec/nodeName"_json_pointer);
      if (node.empty() || phase == "Succeeded" || phase == "Failed") grace = 0;
    }

    if (hasFinalizers || grace > 0) {
      Json& meta = metadataOf(current);
      if (!meta.contains("deletionTimestamp")) {
        meta["deletionTimestamp"] = api::nowRfc3339();
        meta["deletionGracePeriodSeconds"] = grace;
        if (resource.kind == "Namespace") current["status"]["phase"] = "Terminating";
      } else if (meta.contains("deletionGracePeriodSeconds") &&
                 meta["deletionGracePeriodSeconds"].is_number_integer() &&
                 meta["deletionGracePeriodSeconds"].get<int64_t>() <= grace) {
        return current;  // already on its way with a grace no longer than asked
      } else {
        meta["deletionGracePeriodSeconds"] = grace;
      }
      meta.erase("resourceVersion");
      auto stored = store_.update(key, current.dump(), kv->modRevision);
      if (!stored) {
        if (stored.error().reason == "Conflict") continue;
        return storeError(resource, name, stored.error());
      }
      meta["resourceVersion"] = std::to_string(stored->modRevision);
      notifyStored(resource, current);
      result = current;
    } else {
      result = finalizeDelete(resource, key, current, kv->modRevision);
      if (!result && result.error().reason == "Conflict") continue;
      if (!result) return result;
    }
    break;
  }
  if (!result) return result;

  // Garbage collection with background propagation: what this object owns
  // goes with it (a Deployment's ReplicaSets, their Pods, a Service's
  // EndpointSlices), unless the client asked to orphan them.
  // Only the owners podnet's controllers create are looked at, so deleting a
  // pod or a ConfigMap costs no scan of its namespace.
  static const std::map<std::string, std::vector<const char*>> kDependentsOf = {
      {"Deployment", {"ReplicaSet"}},
      {"ReplicaSet", {"Pod"}},
      {"StatefulSet", {"Pod"}},
      {"DaemonSet", {"Pod"}},
      {"Job", {"Pod"}},
      {"CronJob", {"Job"}},
      {"Service", {"EndpointSlice", "Endpoints"}}};
  auto dependents = kDependentsOf.find(resource.kind);
  // batch/v1 Jobs orphan their pods unless a policy is asked for (upstream's
  // DefaultGarbageCollectionPolicy; kubectl delete asks for Background).
  bool orphan = options.propagationPolicy == "Orphan" ||
                (resource.kind == "Job" && options.propagationPolicy.empty());
  std::string ownerUid = api::uid(*result);
  if (!orphan && dependents != kDependentsOf.end() && !ownerUid.empty()) {
    for (const char* kind : dependents->second) {
      const auto& dependent = api::resource(kind);
      // Only values that hold the owner's uid are copied and decoded:
      // deleting one of 10,000 Services must not parse (or copy) every
      // EndpointSlice of the namespace (that made deleting them all take an
      // hour, then two minutes).
      auto holders =
          store_.listContaining(dependent.prefix(dependent.namespaced ? ns : ""), ownerUid);
      if (!holders) continue;
      for (const auto& kv : *holders) {
        auto item = decodeStored(dependent, kv);
        if (!item) continue;
        const Json* owners = nullptr;
        if ((*item)["metadata"].contains("ownerReferences"))
          owners = &(*item)["metadata"]["ownerReferences"];
        if (!owners || !owners->is_array()) continue;
        for (const auto& owner : *owners) {
          if (owner.is_object() && owner.contains("uid") && owner["uid"] == ownerUid) {
            client::DeleteOptions cascade;
            cascade.propagationPolicy = "Background";
            (void)remove(dependent, ns, api::name(*item), cascade);
            break;
          }
        }
      }
    }
  }
  return result;
}

Result<Json> Registry::list(const ResourceInfo& resource, std::string_view ns,
                            const client::ListOptions& options) {
  auto filters = parseFilters(resource, options);
  if (!filters) return filters.takeError();

  int64_t atRevision = 0;
  std::string startAfter;
  if (!options.continueToken.empty()) {
    auto token = decodeContinue(options.continueToken);
    if (!token) return token.takeError();
    atRevision = token->first;
    startAfter = token->second;
  } else if (!options.resourceVersion.empty() && options.resourceVersion != "0") {
    int64_t requested = parseRevision(options.resourceVersion);
    if (requested < 0)
      return core::badRequest("resourceVersion: Invalid value: \"" + options.resourceVersion +
                              "\": must be a decimal number");
    // "Not older than": the newest state satisfies any revision we have seen.
    if (requested > store_.revision())
      return Error{504, "Timeout",
                   "Too large resource version: " + std::to_string(requested) +
                       ", current: " + std::to_string(store_.revision())};
  }

  std::string prefix = resource.prefix(resource.namespaced ? ns : "");
  Json items = Json::array();
  int64_t revision = atRevision;
  bool more = false;
  std::string lastKey;
  const int64_t limit = options.limit > 0 ? options.limit : 0;
  // Filtering happens after the store read, so read pages until the limit
  // of matching objects is reached or the keys run out.
  while (true) {
    int64_t chunk = limit > 0 ? std::max<int64_t>(limit - int64_t(items.size()), 64) : 0;
    auto page = store_.list(prefix, startAfter, chunk, revision);
    if (!page) {
      if (page.error().code == 410)
        return core::gone(
            "The provided continue parameter is too old to display a consistent "
            "list result. You can start a new list without the continue "
            "parameter.");
      return page.takeError();
    }
    revision = page->revision;
    for (const auto& kv : page->items) {
      if (limit > 0 && int64_t(items.size()) >= limit) {
        more = true;
        break;
      }
      lastKey = kv.key;
      auto obj = decodeStored(resource, kv);
      if (!obj) continue;
      if (filters->matches(*obj)) items.push_back(std::move(*obj));
    }
    if (more) break;
    if (!page->more) break;
    startAfter = page->items.empty() ? startAfter : page->items.back().key;
    if (limit > 0 && int64_t(items.size()) >= limit) {
      more = true;
      break;
    }
  }
  Json meta = {{"resourceVersion", std::to_string(revision)}};
  if (more) meta["continue"] = encodeContinue(revision, lastKey);
  return Json{{"kind", resource.listKind()},
              {"apiVersion", resource.apiVersion()},
              {"metadata", std::move(meta)},
              {"items", std::move(items)}};
}

namespace {

// Turns the Store's event stream into API watch events: decoded objects,
// selector filtering (an object that stops matching is DELETED for this
// watcher, one that starts matching is ADDED) and the initial state.
class RegistryWatcher : public client::Watcher {
 public:
  RegistryWatcher(const ResourceInfo& resource, Filters filters,
                  std::unique_ptr<store::Watch> watch, std::deque<client::WatchEvent> initial,
                  std::set<std::string> matching, bool filtered)
      : resource_(resource),
        filters_(std::move(filters)),
        watch_(std::move(watch)),
        pending_(std::move(initial)),
        matching_(std::move(matching)),
        filtered_(filtered) {}

  Result<std::vector<client::WatchEvent>> next(std::chrono::milliseconds timeout) override {
    std::vector<client::WatchEvent> out;
    if (!pending_.empty()) {
      out.assign(std::make_move_iterator(pending_.begin()),
                 std::make_move_iterator(pending_.end()));
      pending_.clear();
      return out;
    }
    auto events = watch_->next(timeout);
    if (!events) return events.takeError();
    for (auto& event : *events) {
      Json obj = Json::parse(event.kv.value, nullptr, false);
      if (obj.is_discarded() || !obj.is_object()) continue;
      metadataOf(obj)["resourceVersion"] = std::to_string(event.kv.modRevision);
      const std::string& key = event.kv.key;
      if (event.type == store::Event::Type::Delete) {
        if (!filtered_ || matching_.erase(key)) out.push_back({"DELETED", std::move(obj)});
        continue;
      }
      bool matchesNow = filters_.matches(obj);
      if (!filtered_) {
        out.push_back({event.created ? "ADDED" : "MODIFIED", std::move(obj)});
        continue;
      }
      bool matchedBefore = matching_.count(key) > 0;
      if (matchesNow && matchedBefore) {
        out.push_back({"MODIFIED", std::move(obj)});
      } else if (matchesNow) {
        matching_.insert(key);
        out.push_back({"ADDED", std::move(obj)});
      } else if (matchedBefore) {
        matching_.erase(key);
        out.push_back({"DELETED", std::move(obj)});
      }
    }
    return out;
  }

 private:
  const ResourceInfo& resource_;
  Filters filters_;
  std::unique_ptr<store::Watch> watch_;
  std::deque<client::WatchEvent> pending_;
  std::set<std::string> matching_;  // keys that match the selectors (filtered watches)
  bool filtered_;
};

}  // namespace

Result<std::unique_ptr<client::Watcher>> Registry::watch(const ResourceInfo& resource,
                                                         std::string_view ns,
                                                         const client::ListOptions& options) {
  auto filters = parseFilters(resource, options);
  if (!filters) return filters.takeError();
  bool filtered = !filters->labels.selectsEverything() || !filters->fields.empty();
  std::string prefix = resource.prefix(resource.namespaced ? ns : "");

  std::deque<client::WatchEvent> initial;
  std::set<std::string> matching;
  int64_t startAfter = 0;
  if (options.resourceVersion.empty() || options.resourceVersion == "0") {
    // No revision: the current state as ADDED events, then what follows.
    auto page = store_.list(prefix, "", 0, 0);
    if (!page) return page.takeError();
    startAfter = page->revision;
    for (const auto& kv : page->items) {
      auto obj = decodeStored(resource, kv);
      if (!obj || !filters->matches(*obj)) continue;
      matching.insert(kv.key);
      initial.push_back({"ADDED", std::move(*obj)});
    }
  } else {
    startAfter = parseRevision(options.resourceVersion);
    if (startAfter < 0)
      return core::badRequest("resourceVersion: Invalid value: \"" + options.resourceVersion +
                              "\": must be a decimal number");
    if (startAfter < store_.compactedRevision())
      return core::gone("too old resource version: " + options.resourceVersion + " (" +
                        std::to_string(store_.compactedRevision()) + ")");
    if (filtered) {
      // Which objects matched at the start revision decides ADDED versus
      // MODIFIED and DELETED for this watcher.
      auto page = store_.list(prefix, "", 0, std::min(startAfter, store_.revision()));
      if (!page) {
        if (page.error().code == 410)
          return core::gone("too old resource version: " + options.resourceVersion);
        return page.takeError();
      }
      for (const auto& kv : page->items) {
        auto obj = decodeStored(resource, kv);
        if (obj && filters->matches(*obj)) matching.insert(kv.key);
      }
    }
  }
  auto watch = store_.watch(prefix, startAfter);
  if (!watch) {
    if (watch.error().code == 410)
      return core::gone("too old resource version: " + options.resourceVersion);
    return watch.takeError();
  }
  return std::unique_ptr<client::Watcher>(
      std::make_unique<RegistryWatcher>(resource, std::move(*filters), std::move(*watch),
                                        std::move(initial), std::move(matching), filtered));
}

Result<Json> Registry::guaranteedUpdate(const ResourceInfo& resource, std::string_view ns,
                                        std::string_view name,
                                        const std::function<core::Status(Json&)>& mutate,
                                        const client::WriteOptions& options) {
  for (int attempt = 0; attempt < kMaxUpdateRetries; ++attempt) {
    auto current = get(resource, ns, name);
    if (!current) return current;
    Json next = *current;
    if (auto s = mutate(next); !s) return s.takeError();
    if (next == *current) return current;
    // Compare-and-swap against what mutate saw. When mutate set a
    // resourceVersion of its own (a PATCH that carries one), a conflict is
    // the client's to see; otherwise read again and retry.
    bool ownVersion = !api::resourceVersion(next).empty() &&
                      api::resourceVersion(next) != api::resourceVersion(*current);
    if (!ownVersion) metadataOf(next)["resourceVersion"] = api::resourceVersion(*current);
    auto updated = update(resource, ns, std::move(next), options);
    if (!updated && updated.error().reason == "Conflict" && !ownVersion) continue;
    return updated;
  }
  return core::conflict(resource.group, resource.plural, std::string(name),
                        "the object has been modified; please apply your changes to the "
                        "latest version and try again");
}

}  // namespace podnet::registry
