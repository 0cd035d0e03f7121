// Defaulting as kube-apiserver does it: pkg/apis/core/v1/defaults.go,
// pkg/apis/apps/v1/defaults.go, pkg/apis/networking/v1/defaults.go,
// pkg/apis/discovery/v1/defaults.go, pkg/apis/batch/v1/defaults.go,
// pkg/apis/storage/v1/defaults.go, plus the few fields the registries fill on create (Service
// ipFamilies/ipFamilyPolicy, Namespace finalizers, PersistentVolumeClaim data sources). Every step
// checks the JSON type of what it touches and leaves a mistyped field alone, so validation can
// report it.
#include "api/defaults.h"

#include "api/custom_resource.h"
#include "api/quantity.h"
#include "core/base64.h"
#include "core/ip.h"

namespace podnet::api {

namespace {

// The object at obj[key], created when absent or null; nullptr when obj is
// not an object or the member holds some other type.
Json* objectMember(Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  Json& v = obj[key];
  if (v.is_null()) v = Json::object();
  return v.is_object() ? &v : nullptr;
}

// The existing member at obj[key] when it has the wanted type, else nullptr.
Json* existing(Json& obj, const char* key, Json::value_t type) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->type() != type) return nullptr;
  return &*it;
}
Json* existingObject(Json& obj, const char* key) {
  return existing(obj, key, Json::value_t::object);
}
Json* existingArray(Json& obj, const char* key) { return existing(obj, key, Json::value_t::array); }

bool isUnset(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null();
}

// Sets obj[key] = value when the field is absent or null (a Go nil pointer).
void setIfUnset(Json& obj, const char* key, Json value) {
  if (obj.is_object() && isUnset(obj, key)) obj[key] = std::move(value);
}

// Sets obj[key] = value when the field is absent, null or "" (Go's zero
// string, which defaults.go treats as unset).
void setStringIfEmpty(Json& obj, const char* key, const char* value) {
  if (!obj.is_object()) return;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null() ||
      (it->is_string() && it->get_ref<const std::string&>().empty()))
    obj[key] = value;
}

std::string stringOf(const Json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename F>
void forEachObject(Json& obj, const char* key, F&& f) {
  if (Json* list = existingArray(obj, key))
    for (auto& item : *list)
      if (item.is_object()) f(item);
}

void defaultProtocol(Json& port) { setStringIfEmpty(port, "protocol", "TCP"); }

// ---------------------------------------------------------------------------
// Pods and pod templates.

// Always for ":latest" or an untagged image, else IfNotPresent. A digest
// pins the image, so it counts as tagged.
const char* defaultPullPolicy(const std::string& image) {
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  bool hasTag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!hasTag) return "Always";
  return image.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void defaultHandler(Json& handler) {
  if (Json* http = existingObject(handler, "httpGet")) {
    setStringIfEmpty(*http, "path", "/");
    setStringIfEmpty(*http, "scheme", "HTTP");
  }
}

void defaultProbe(Json& container, const char* key) {
  Json* probe = existingObject(container, key);
  if (!probe) return;
  // Zero means unset for these int32 fields in defaults.go.
  for (auto [field, value] : {std::pair{"timeoutSeconds", 1}, std::pair{"periodSeconds", 10},
                              std::pair{"successThreshold", 1}, std::pair{"failureThreshold", 3}}) {
    auto it = probe->find(field);
    if (it == probe->end() || it->is_null() || (it->is_number_integer() && *it == 0))
      (*probe)[field] = value;
  }
  defaultHandler(*probe);
}

void defaultFieldRef(Json& env) {
  if (Json* from = existingObject(env, "valueFrom"))
    if (Json* fieldRef = existingObject(*from, "fieldRef"))
      setStringIfEmpty(*fieldRef, "apiVersion", "v1");
}

void defaultContainer(Json& c, bool hostNetwork) {
  setStringIfEmpty(c, "imagePullPolicy", defaultPullPolicy(stringOf(c, "image")));
  setStringIfEmpty(c, "terminationMessagePath", "/dev/termination-log");
  setStringIfEmpty(c, "terminationMessagePolicy", "File");
  setIfUnset(c, "resources", Json::object());
  forEachObject(c, "ports", [&](Json& port) {
    defaultProtocol(port);
    // A host-network pod listens on the host: hostPort mirrors containerPort.
    if (hostNetwork && isUnset(port, "hostPort") && !isUnset(port, "containerPort"))
      port["hostPort"] = port["containerPort"];
  });
  forEachObject(c, "env", defaultFieldRef);
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
    defaultProbe(c, probe);
  if (Json* lifecycle = existingObject(c, "lifecycle"))
    for (const char* hook : {"postStart", "preStop"})
      if (Json* h = existingObject(*lifecycle, hook)) defaultHandler(*h);
}

void defaultVolume(Json& volume) {
  // A volume with no source is an emptyDir.
  bool hasSource = false;
  for (const auto& [key, value] : volume.items())
    if (key != "name" && !value.is_null()) hasSource = true;
  if (!hasSource) volume["emptyDir"] = Json::object();
  for (const char* source : {"secret", "configMap", "downwardAPI", "projected"})
    if (Json* s = existingObject(volume, source)) setIfUnset(*s, "defaultMode", 420);
  if (Json* downward = existingObject(volume, "downwardAPI"))
    forEachObject(*downward, "items", defaultFieldRef);
  if (Json* hostPath = existingObject(volume, "hostPath")) setIfUnset(*hostPath, "type", "");
}

void defaultPodSpec(Json& spec) {
  // The v1 conversion: the deprecated serviceAccount mirrors serviceAccountName.
  if (stringOf(spec, "serviceAccountName").empty() && !stringOf(spec, "serviceAccount").empty())
    spec["serviceAccountName"] = spec["serviceAccount"];
  if (!stringOf(spec, "serviceAccountName").empty())
    spec["serviceAccount"] = spec["serviceAccountName"];
  setStringIfEmpty(spec, "dnsPolicy", "ClusterFirst");
  setStringIfEmpty(spec, "restartPolicy", "Always");
  setIfUnset(spec, "terminationGracePeriodSeconds", 30);
  setIfUnset(spec, "securityContext", Json::object());
  setStringIfEmpty(spec, "schedulerName", "default-scheduler");
  bool hostNetwork = spec.contains("hostNetwork") && spec["hostNetwork"] == true;
  forEachObject(spec, "containers", [&](Json& c) { defaultContainer(c, hostNetwork); });
  forEachObject(spec, "initContainers", [&](Json& c) { defaultContainer(c, hostNetwork); });
  forEachObject(spec, "volumes", defaultVolume);
}

void defaultPod(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  // The ServiceAccount admission plugin: pods run as `default` unless named.
  if (stringOf(*spec, "serviceAccountName").empty() && stringOf(*spec, "serviceAccount").empty())
    setStringIfEmpty(*spec, "serviceAccountName", "default");
  defaultPodSpec(*spec);
  setIfUnset(*spec, "enableServiceLinks", true);
  // SetDefaults_Pod: requests default to limits.
  auto requestsFromLimits = [](Json& c) {
    Json* resources = existingObject(c, "resources");
    if (!resources) return;
    Json* limits = existingObject(*resources, "limits");
    if (!limits || limits->empty()) return;
    Json* requests = objectMember(*resources, "requests");
    if (!requests) return;
    for (const auto& [name, quantity] : limits->items())
      if (isUnset(*requests, name.c_str())) (*requests)[name] = quantity;
  };
  forEachObject(*spec, "containers", requestsFromLimits);
  forEachObject(*spec, "initContainers", requestsFromLimits);
}

void defaultPodTemplate(Json& workloadSpec) {
  Json* templ = objectMember(workloadSpec, "template");
  if (!templ) return;
  if (Json* spec = objectMember(*templ, "spec")) defaultPodSpec(*spec);
}

// ---------------------------------------------------------------------------
// Workloads.

void defaultReplicas(Json& spec) { setIfUnset(spec, "replicas", 1); }

void defaultDeployment(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  defaultReplicas(*spec);
  if (Json* strategy = objectMember(*spec, "strategy")) {
    setStringIfEmpty(*strategy, "type", "RollingUpdate");
    if (stringOf(*strategy, "type") == "RollingUpdate") {
      if (Json* rolling = objectMember(*strategy, "rollingUpdate")) {
        setIfUnset(*rolling, "maxUnavailable", "25%");
        setIfUnset(*rolling, "maxSurge", "25%");
      }
    }
  }
  setIfUnset(*spec, "revisionHistoryLimit", 10);
  setIfUnset(*spec, "progressDeadlineSeconds", 600);
  defaultPodTemplate(*spec);
}

void defaultReplicaSet(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  defaultReplicas(*spec);
  defaultPodTemplate(*spec);
}

void defaultStatefulSet(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  defaultReplicas(*spec);
  setStringIfEmpty(*spec, "podManagementPolicy", "OrderedReady");
  if (Json* strategy = objectMember(*spec, "updateStrategy")) {
    setStringIfEmpty(*strategy, "type", "RollingUpdate");
    if (stringOf(*strategy, "type") == "RollingUpdate")
      if (Json* rolling = objectMember(*strategy, "rollingUpdate"))
        setIfUnset(*rolling, "partition", 0);
  }
  if (Json* retention = objectMember(*spec, "persistentVolumeClaimRetentionPolicy")) {
    setStringIfEmpty(*retention, "whenDeleted", "Retain");
    setStringIfEmpty(*retention, "whenScaled", "Retain");
  }
  setIfUnset(*spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(*spec);
}

void defaultDaemonSet(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  if (Json* strategy = objectMember(*spec, "updateStrategy")) {
    setStringIfEmpty(*strategy, "type", "RollingUpdate");
    if (stringOf(*strategy, "type") == "RollingUpdate")
      if (Json* rolling = objectMember(*strategy, "rollingUpdate")) {
        setIfUnset(*rolling, "maxUnavailable", 1);
        setIfUnset(*rolling, "maxSurge", 0);
      }
  }
  setIfUnset(*spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(*spec);
}

// ---------------------------------------------------------------------------
// Jobs and CronJobs (pkg/apis/batch/v1/defaults.go and the Job registry's
// selector generation).

void setLabelIfMissing(Json& labels, const char* key, const std::string& value) {
  if (!labels.contains(key)) labels[key] = value;
}

// generateSelector: labels unique to this Job on its pod template and a
// selector on the controller-uid label; only with the Job's uid (on create).
void generateJobSelector(Json& obj, Json& spec) {
  std::string uid = obj.contains("metadata") && obj["metadata"].is_object()
                        ? stringOf(obj["metadata"], "uid")
                        : "";
  std::string name = obj.contains("metadata") && obj["metadata"].is_object()
                         ? stringOf(obj["metadata"], "name")
                         : "";
  if (uid.empty() || (spec.contains("manualSelector") && spec["manualSelector"] == true)) return;
  Json* templ = objectMember(spec, "template");
  Json* meta = templ ? objectMember(*templ, "metadata") : nullptr;
  Json* labels = meta ? objectMember(*meta, "labels") : nullptr;
  if (!labels) return;
  setLabelIfMissing(*labels, "job-name", name);
  setLabelIfMissing(*labels, "batch.kubernetes.io/job-name", name);
  setLabelIfMissing(*labels, "controller-uid", uid);
  setLabelIfMissing(*labels, "batch.kubernetes.io/controller-uid", uid);
  Json* selector = objectMember(spec, "selector");
  Json* matchLabels = selector ? objectMember(*selector, "matchLabels") : nullptr;
  if (matchLabels) setLabelIfMissing(*matchLabels, "batch.kubernetes.io/controller-uid", uid);
}

void defaultJob(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  if (isUnset(*spec, "completions") && isUnset(*spec, "parallelism")) {
    (*spec)["completions"] = 1;
    (*spec)["parallelism"] = 1;
  }
  setIfUnset(*spec, "parallelism", 1);
  setIfUnset(*spec, "backoffLimit", isUnset(*spec, "backoffLimitPerIndex") ? 6 : 2147483647);
  setIfUnset(*spec, "completionMode", "NonIndexed");
  setIfUnset(*spec, "suspend", false);
  setIfUnset(*spec, "manualSelector", false);
  setIfUnset(*spec, "podReplacementPolicy",
             isUnset(*spec, "podFailurePolicy") ? "TerminatingOrFailed" : "Failed");
  if (Json* policy = existingObject(*spec, "podFailurePolicy"))
    forEachObject(*policy, "rules", [](Json& rule) {
      forEachObject(rule, "onPodConditions",
                    [](Json& pattern) { setStringIfEmpty(pattern, "status", "True"); });
    });
  defaultPodTemplate(*spec);
  generateJobSelector(obj, *spec);
  // A Job without labels takes its pod template's.
  Json* meta = objectMember(obj, "metadata");
  if (meta &&
      (isUnset(*meta, "labels") || ((*meta)["labels"].is_object() && (*meta)["labels"].empty()))) {
    const Json* templateLabels = nullptr;
    if (Json* templ = existingObject(*spec, "template"))
      if (Json* templMeta = existingObject(*templ, "metadata"))
        templateLabels = existingObject(*templMeta, "labels");
    if (templateLabels && !templateLabels->empty()) (*meta)["labels"] = *templateLabels;
  }
}

void defaultCronJob(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  setStringIfEmpty(*spec, "concurrencyPolicy", "Allow");
  setIfUnset(*spec, "suspend", false);
  setIfUnset(*spec, "successfulJobsHistoryLimit", 3);
  setIfUnset(*spec, "failedJobsHistoryLimit", 1);
  if (Json* jobTemplate = existingObject(*spec, "jobTemplate"))
    if (Json* jobSpec = existingObject(*jobTemplate, "spec")) defaultPodTemplate(*jobSpec);
}

// ---------------------------------------------------------------------------
// Services and endpoints.

void defaultService(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  setStringIfEmpty(*spec, "sessionAffinity", "None");
  std::string affinity = stringOf(*spec, "sessionAffinity");
  if (affinity == "None") {
    spec->erase("sessionAffinityConfig");
  } else if (affinity == "ClientIP") {
    if (Json* config = objectMember(*spec, "sessionAffinityConfig"))
      if (Json* clientIP = objectMember(*config, "clientIP"))
        setIfUnset(*clientIP, "timeoutSeconds", 10800);
  }
  setStringIfEmpty(*spec, "type", "ClusterIP");
  std::string type = stringOf(*spec, "type");

  forEachObject(*spec, "ports", [](Json& port) {
    defaultProtocol(port);
    // targetPort defaults to port when unset, 0 or "".
    auto it = port.find("targetPort");
    bool unset = it == port.end() || it->is_null() || (it->is_number_integer() && *it == 0) ||
                 (it->is_string() && it->get_ref<const std::string&>().empty());
    if (unset && port.contains("port") && port["port"].is_number_integer())
      port["targetPort"] = port["port"];
  });

  bool hasExternalIPs = false;
  if (Json* ips = existingArray(*spec, "externalIPs")) hasExternalIPs = !ips->empty();
  bool externallyAccessible =
      type == "NodePort" || type == "LoadBalancer" || (type == "ClusterIP" && hasExternalIPs);
  if (externallyAccessible) setStringIfEmpty(*spec, "externalTrafficPolicy", "Cluster");
  if (type != "ExternalName") setIfUnset(*spec, "internalTrafficPolicy", "Cluster");
  if (type == "LoadBalancer") setIfUnset(*spec, "allocateLoadBalancerNodePorts", true);

  // The registry's IP family defaulting (service/storage/alloc.go) on a
  // single-stack cluster: the family of a requested clusterIP, else IPv4.
  // Headless services without a selector may get endpoints of any family.
  if (type != "ExternalName") {
    std::string clusterIP = stringOf(*spec, "clusterIP");
    bool headless = clusterIP == "None";
    bool hasSelector = false;
    if (Json* selector = existingObject(*spec, "selector")) hasSelector = !selector->empty();
    if (headless && !hasSelector) {
      setIfUnset(*spec, "ipFamilyPolicy", "RequireDualStack");
    } else {
      setIfUnset(*spec, "ipFamilyPolicy", "SingleStack");
    }
    if (isUnset(*spec, "ipFamilies")) {
      auto ip = core::IpAddress::parse(clusterIP);
      (*spec)["ipFamilies"] = Json::array({ip && ip->v6 ? "IPv6" : "IPv4"});
    }
  }
}

void defaultEndpoints(Json& obj) {
  forEachObject(obj, "subsets",
                [](Json& subset) { forEachObject(subset, "ports", defaultProtocol); });
}

void defaultEndpointSlice(Json& obj) {
  forEachObject(obj, "ports", [](Json& port) {
    setIfUnset(port, "name", "");
    setIfUnset(port, "protocol", "TCP");
  });
}

// ---------------------------------------------------------------------------
// Networking.

void defaultNetworkPolicy(Json& obj) {
  Json* spec = objectMember(obj, "spec");
  if (!spec) return;
  for (const char* direction : {"ingress", "egress"})
    forEachObject(*spec, direction,
                  [](Json& rule) { forEachObject(rule, "ports", defaultProtocol); });
  // A policy without policyTypes applies to ingress, and to egress when it
  // has egress rules.
  auto types = spec->find("policyTypes");
  if (types == spec->end() || types->is_null() || (types->is_array() && types->empty())) {
    Json list = Json::array({"Ingress"});
    if (Json* egress = existingArray(*spec, "egress"); egress && !egress->empty())
      list.push_back("Egress");
    (*spec)["policyTypes"] = std::move(list);
  }
}

// ---------------------------------------------------------------------------
// Cluster objects.

void defaultNamespace(Json& obj) {
  Json* meta = objectMember(obj, "metadata");
  if (meta) {
    std::string name = stringOf(*meta, "name");
    if (!name.empty())
      if (Json* labels = objectMember(*meta, "labels"))
        (*labels)["kubernetes.io/metadata.name"] = name;
  }
  if (Json* spec = objectMember(obj, "spec"))
    setIfUnset(*spec, "finalizers", Json::array({"kubernetes"}));
  if (Json* status = objectMember(obj, "status")) setStringIfEmpty(*status, "phase", "Active");
}

void defaultNode(Json& obj) {
  Json* status = existingObject(obj, "status");
  if (!status) return;
  // Allocatable defaults to capacity.
  if (Json* capacity = existingObject(*status, "capacity");
      capacity && isUnset(*status, "allocatable"))
    (*status)["allocatable"] = *capacity;
}

// stringData is write-only: its entries go into data (winning over the same
// keys there), as the v1 -> internal conversion does, and it is never stored.
void defaultSecret(Json& obj) {
  setStringIfEmpty(obj, "type", "Opaque");
  auto stringData = obj.find("stringData");
  if (stringData == obj.end()) return;
  if (stringData->is_object()) {
    for (auto it = stringData->begin(); it != stringData->end(); ++it) {
      if (!it.value().is_string()) continue;
      if (!obj.contains("data") || !obj["data"].is_object()) obj["data"] = Json::object();
      obj["data"][it.key()] = core::encodeBase64(it.value().get<std::string>());
    }
  }
  obj.erase("stringData");
}

// ---------------------------------------------------------------------------
// Storage.

// Quantities read back in their canonical form, as upstream's JSON encoder
// writes a decoded resource.Quantity ("1.5Gi" becomes "1536Mi"). Values that
// do not parse are left for validation to report.
void canonicalQuantities(Json& obj, const char* key) {
  Json* map = existingObject(obj, key);
  if (!map) return;
  for (auto& [name, value] : map->items())
    if (auto q = Quantity::fromJson(value)) value = q->toString();
}

// The apiGroup/kind/name of a data source reference, copied.
Json referenceCopy(const Json& from) {
  Json out = Json::object();
  for (const char* key : {"apiGroup", "kind", "name"})
    if (auto it = from.find(key); it != from.end() && !it->is_null()) out[key] = *it;
  return out;
}

// pvcutil.DropDisabledFields, EnforceDataSourceBackwardsCompatibility and
// NormalizeDataSources (the registry's PrepareForCreate/Update): no
// dataSourceRef.namespace (CrossNamespaceVolumeDataSource is alpha, off in
// 1.32), dataSource only names a PersistentVolumeClaim or a VolumeSnapshot,
// and dataSource and dataSourceRef mirror each other when one is missing.
void normalizeDataSources(Json& spec) {
  if (Json* ref = existingObject(spec, "dataSourceRef")) ref->erase("namespace");
  if (Json* source = existingObject(spec, "dataSource")) {
    std::string group = stringOf(*source, "apiGroup"), kind = stringOf(*source, "kind");
    bool allowed = (group.empty() && kind == "PersistentVolumeClaim") ||
                   (group == "snapshot.storage.k8s.io" && kind == "VolumeSnapshot");
    if (!allowed) spec.erase("dataSource");
  }
  Json* source = existingObject(spec, "dataSource");
  Json* ref = existingObject(spec, "dataSourceRef");
  if (source && isUnset(spec, "dataSourceRef")) {
    spec["dataSourceRef"] = referenceCopy(*source);
  } else if (ref && isUnset(spec, "dataSource") && stringOf(*ref, "namespace").empty()) {
    spec["dataSource"] = referenceCopy(*ref);
  }
}

void defaultPersistentVolumeClaim(Json& obj) {
  if (Json* spec = objectMember(obj, "spec")) {
    setIfUnset(*spec, "volumeMode", "Filesystem");
    if (Json* resources = existingObject(*spec, "resources")) {
      canonicalQuantities(*resources, "requests");
      canonicalQuantities(*resources, "limits");
    }
    normalizeDataSources(*spec);
  }
  if (Json* status = objectMember(obj, "status")) {
    setStringIfEmpty(*status, "phase", "Pending");
    canonicalQuantities(*status, "capacity");
    canonicalQuantities(*status, "allocatedResources");
  }
}

void defaultPersistentVolume(Json& obj) {
  if (Json* spec = objectMember(obj, "spec")) {
    setStringIfEmpty(*spec, "persistentVolumeReclaimPolicy", "Retain");
    setIfUnset(*spec, "volumeMode", "Filesystem");
    canonicalQuantities(*spec, "capacity");
    if (Json* hostPath = existingObject(*spec, "hostPath")) setIfUnset(*hostPath, "type", "");
  }
  if (Json* status = objectMember(obj, "status")) setStringIfEmpty(*status, "phase", "Pending");
}

void defaultStorageClass(Json& obj) {
  setIfUnset(obj, "reclaimPolicy", "Delete");
  setIfUnset(obj, "volumeBindingMode", "Immediate");
}

}  // namespace

void applyDefaults(const ResourceInfo& resource, Json& obj) {
  if (!obj.is_object()) return;
  if (resource.custom) {
    // Unknown fields go (fieldValidation reported them already), then the
    // schema's defaults, as apiextensions-apiserver decodes a request.
    resource.custom->prune(obj);
    resource.custom->applyDefaults(obj);
    return;
  }
  const std::string& kind = resource.kind;
  if (kind == "Pod")
    defaultPod(obj);
  else if (kind == "Service")
    defaultService(obj);
  else if (kind == "Deployment")
    defaultDeployment(obj);
  else if (kind == "ReplicaSet")
    defaultReplicaSet(obj);
  else if (kind == "StatefulSet")
    defaultStatefulSet(obj);
  else if (kind == "DaemonSet")
    defaultDaemonSet(obj);
  else if (kind == "Endpoints")
    defaultEndpoints(obj);
  else if (kind == "EndpointSlice")
    defaultEndpointSlice(obj);
  else if (kind == "NetworkPolicy")
    defaultNetworkPolicy(obj);
  else if (kind == "Namespace")
    defaultNamespace(obj);
  else if (kind == "Node")
    defaultNode(obj);
  else if (kind == "Secret")
    defaultSecret(obj);
  else if (kind == "Job")
    defaultJob(obj);
  else if (kind == "CronJob")
    defaultCronJob(obj);
  else if (kind == "PersistentVolumeClaim")
    defaultPersistentVolumeClaim(obj);
  else if (kind == "PersistentVolume")
    defaultPersistentVolume(obj);
  else if (kind == "StorageClass")
    defaultStorageClass(obj);
  // ConfigMap, Event, Ingress, IngressClass and ServiceAccount have no
  // defaults in v1.
}

}  // namespace podnet::api
