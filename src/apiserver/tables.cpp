#include "apiserver/tables.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <set>

#include "api/custom_resource.h"
#include "api/object.h"
#include "api/quantity.h"
#include "apiextensions/jsonpath.h"
#include "apiserver/handler.h"

namespace podnet::apiserver {

using api::Json;

namespace {

// ------------------------------------------------------- JSON field access
// Objects come from storage already validated, but a printer must never
// fail or throw on a missing or mistyped field: each accessor falls back to
// the zero value, as a Go struct field would be.

const Json& at(const Json& obj, std::initializer_list<const char*> path) {
  static const Json kNull;
  const Json* current = &obj;
  for (const char* key : path) {
    if (!current->is_object()) return kNull;
    auto it = current->find(key);
    if (it == current->end()) return kNull;
    current = &*it;
  }
  return *current;
}

std::string text(const Json& value) { return value.is_string() ? value.get<std::string>() : ""; }

int64_t integer(const Json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) return static_cast<int64_t>(value.get<double>());
  return 0;
}

const Json& items(const Json& value) {
  static const Json kEmpty = Json::array();
  return value.is_array() ? value : kEmpty;
}

size_t entries(const Json& value) { return value.is_object() ? value.size() : 0; }

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

std::string lower(std::string value) {
  for (auto& c : value) c = char(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

std::string trim(std::string_view value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
    value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.remove_suffix(1);
  return std::string(value);
}

// ----------------------------------------------------------------- times

// Seconds since the epoch of an RFC 3339 timestamp (also a MicroTime with a
// fraction), or nullopt when it is absent or unreadable.
std::optional<long long> timestamp(const Json& value) {
  std::string textValue = text(value);
  if (textValue.empty()) return std::nullopt;
  long long seconds = api::parseRfc3339(textValue);
  if (seconds < 0) return std::nullopt;
  return seconds;
}

// Upstream translateTimestampSince: "<unknown>" for a zero time.
std::string since(const Json& value, long long now) {
  auto when = timestamp(value);
  if (!when) return "<unknown>";
  return humanDuration(now - *when);
}

std::string age(const Json& obj, long long now) {
  return since(at(obj, {"metadata", "creationTimestamp"}), now);
}

std::string name(const Json& obj) { return text(at(obj, {"metadata", "name"})); }

// --------------------------------------------------------------- selectors

// labels.FormatLabels: sorted "k=v" pairs, "<none>" when empty.
std::string formatLabels(const Json& labels) {
  std::vector<std::string> pairs;
  if (labels.is_object())
    for (auto it = labels.begin(); it != labels.end(); ++it)
      pairs.push_back(it.key() + "=" + text(*it));  // nlohmann objects iterate sorted
  if (pairs.empty()) return "<none>";
  return join(pairs, ",");
}

// metav1.LabelSelectorAsSelector(selector).String(): requirements sorted by
// key, values of in/notin sorted; nullopt for an operator upstream refuses.
std::optional<std::string> selectorRequirements(const Json& selector) {
  struct Requirement {
    std::string key;
    std::string rendered;
  };
  std::vector<Requirement> requirements;
  if (const Json& labels = at(selector, {"matchLabels"}); labels.is_object())
    for (auto it = labels.begin(); it != labels.end(); ++it)
      requirements.push_back({it.key(), it.key() + "=" + text(*it)});
  for (const Json& expression : items(at(selector, {"matchExpressions"}))) {
    std::string key = text(at(expression, {"key"}));
    std::string op = text(at(expression, {"operator"}));
    std::vector<std::string> values;
    for (const Json& value : items(at(expression, {"values"}))) values.push_back(text(value));
    std::sort(values.begin(), values.end());
    if (op == "In")
      requirements.push_back({key, key + " in (" + join(values, ",") + ")"});
    else if (op == "NotIn")
      requirements.push_back({key, key + " notin (" + join(values, ",") + ")"});
    else if (op == "Exists")
      requirements.push_back({key, key});
    else if (op == "DoesNotExist")
      requirements.push_back({key, "!" + key});
    else
      return std::nullopt;
  }
  std::stable_sort(requirements.begin(), requirements.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  std::vector<std::string> rendered;
  for (const auto& requirement : requirements) rendered.push_back(requirement.rendered);
  return join(rendered, ",");
}

// metav1.FormatLabelSelector: "<none>" when it selects everything.
std::string formatLabelSelector(const Json& selector) {
  auto rendered = selectorRequirements(selector);
  if (!rendered) return "<error>";
  return rendered->empty() ? "<none>" : *rendered;
}

// Container names and images of a pod template, comma-separated.
std::pair<std::string, std::string> containerCells(const Json& podSpec) {
  std::vector<std::string> names;
  std::vector<std::string> images;
  for (const Json& container : items(at(podSpec, {"containers"}))) {
    names.push_back(text(at(container, {"name"})));
    images.push_back(text(at(container, {"image"})));
  }
  return {join(names, ","), join(images, ",")};
}

// "a,b,c + 2 more..." as upstream lists endpoints, hosts and ports.
std::string listWithMore(const std::vector<std::string>& shown, bool more, size_t count, size_t max,
                         const char* whenEmpty) {
  std::string out = join(shown, ",");
  if (more) return out + " + " + std::to_string(count - max) + " more...";
  if (out.empty() && whenEmpty) return whenEmpty;
  return out;
}

// ----------------------------------------------------------------- columns

struct Column {
  const char* name;
  const char* type;
  const char* format;
  int priority;
  const char* description;
};

constexpr const char* kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
constexpr const char* kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/"
    "api-conventions.md#metadata";
constexpr const char* kContainersDoc = "Names of each container in the template.";
constexpr const char* kImagesDoc = "Images referenced by each container in the template.";
constexpr const char* kJobSelectorDoc =
    "A label query over pods that should match the pod count. Normally, the system sets this "
    "field for you. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";

constexpr const char* kClaimVolumeModeDoc =
    "volumeMode defines what type of volume is required by the claim. Value of Filesystem is "
    "implied when not included in claim spec.";

const Column kName{"Name", "string", "name", 0, kNameDoc};
const Column kAge{"Age", "string", "", 0, kAgeDoc};

std::vector<Column> columnsOf(const std::string& kind) {
  if (kind == "Pod")
    return {kName,
            {"Ready", "string", "", 0,
             "The aggregate readiness state of this pod for accepting traffic."},
            {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
            {"Restarts", "string", "", 0,
             "The number of times the containers in this pod have been restarted and when the "
             "last container in this pod has restarted."},
            kAge,
            {"IP", "string", "", 1,
             "podIP address allocated to the pod. Routable at least within the cluster. Empty "
             "if not yet allocated."},
            {"Node", "string", "", 1,
             "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
             "candidate for preemption by the scheduler."},
            {"Nominated Node", "string", "", 1,
             "nominatedNodeName is set only when this pod preempts other pods on the node."},
            {"Readiness Gates", "string", "", 1,
             "If specified, all readiness gates will be evaluated for pod readiness."}};
  if (kind == "Service")
    return {kName,
            {"Type", "string", "", 0,
             "type determines how the Service is exposed. Defaults to ClusterIP."},
            {"Cluster-IP", "string", "", 0,
             "clusterIP is the IP address of the service and is usually assigned randomly."},
            {"External-IP", "string", "", 0,
             "externalIPs is a list of IP addresses for which nodes in the cluster will also "
             "accept traffic for this service."},
            {"Port(s)", "string", "", 0, "The list of ports that are exposed by this service."},
            kAge,
            {"Selector", "string", "", 1,
             "Route service traffic to pods with label keys and values matching this selector."}};
  if (kind == "Endpoints")
    return {kName,
            {"Endpoints", "string", "", 0, "The set of all endpoints is the union of all subsets."},
            kAge};
  if (kind == "EndpointSlice")
    return {
        kName,
        {"AddressType", "string", "", 0,
         "addressType specifies the type of address carried by this EndpointSlice."},
        {"Ports", "string", "", 0,
         "ports specifies the list of network ports exposed by each endpoint in this slice."},
        {"Endpoints", "string", "", 0, "endpoints is a list of unique endpoints in this slice."},
        kAge};
  if (kind == "NetworkPolicy")
    return {kName,
            {"Pod-Selector", "string", "", 0,
             "Selects the pods to which this NetworkPolicy object applies."},
            kAge};
  if (kind == "Ingress")
    return {kName,
            {"Class", "string", "", 0,
             "The name of the IngressClass resource that should be used for additional "
             "configuration"},
            {"Hosts", "string", "", 0,
             "Hosts that incoming requests are matched against before the ingress rule"},
            {"Address", "string", "", 0,
             "Address is a list containing ingress points for the load-balancer"},
            {"Ports", "string", "", 0, "Ports of TLS configurations that open"},
            kAge};
  if (kind == "IngressClass")
    return {
        kName,
        {"Controller", "string", "", 0, "Controller that is responsible for handling this class"},
        {"Parameters", "string", "", 0, "A reference to a resource with additional parameters"},
        kAge};
  if (kind == "Deployment")
    return {kName,
            {"Ready", "string", "", 0, "Number of the pod with ready state"},
            {"Up-to-date", "string", "", 0,
             "Total number of non-terminated pods targeted by this deployment that have the "
             "desired template spec."},
            {"Available", "string", "", 0,
             "Total number of available pods (ready for at least minReadySeconds) targeted by "
             "this deployment."},
            kAge,
            {"Containers", "string", "", 1, kContainersDoc},
            {"Images", "string", "", 1, kImagesDoc},
            {"Selector", "string", "", 1, "Label selector for pods."}};
  if (kind == "ReplicaSet")
    return {
        kName,
        {"Desired", "integer", "", 0, "Replicas is the number of desired replicas. Defaults to 1."},
        {"Current", "integer", "", 0, "Replicas is the most recently observed number of replicas."},
        {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
        kAge,
        {"Containers", "string", "", 1, kContainersDoc},
        {"Images", "string", "", 1, kImagesDoc},
        {"Selector", "string", "", 1,
         "Selector is a label query over pods that should match the replica count."}};
  if (kind == "StatefulSet")
    return {kName,
            {"Ready", "string", "", 0, "Number of the pod with ready state"},
            kAge,
            {"Containers", "string", "", 1, kContainersDoc},
            {"Images", "string", "", 1, kImagesDoc}};
  if (kind == "DaemonSet")
    return {kName,
            {"Desired", "integer", "", 0,
             "The total number of nodes that should be running the daemon pod (including nodes "
             "correctly running the daemon pod)."},
            {"Current", "integer", "", 0,
             "The number of nodes that are running at least 1 daemon pod and are supposed to run "
             "the daemon pod."},
            {"Ready", "integer", "", 0,
             "The number of nodes that should be running the daemon pod and have one or more of "
             "the daemon pod running with a Ready Condition."},
            {"Up-to-date", "integer", "", 0,
             "The total number of nodes that are running updated daemon pod"},
            {"Available", "integer", "", 0,
             "The number of nodes that should be running the daemon pod and have one or more of "
             "the daemon pod running and available (ready for at least "
             "spec.minReadySeconds)"},
            {"Node Selector", "string", "", 0,
             "NodeSelector is a selector which must be true for the pod to fit on a node. "
             "Selector which must match a node's labels for the pod to be scheduled on that "
             "node."},
            kAge,
            {"Containers", "string", "", 1, kContainersDoc},
            {"Images", "string", "", 1, kImagesDoc},
            {"Selector", "string", "", 1,
             "A label query over pods that are managed by the daemon set."}};
  if (kind == "Node")
    return {
        kName,
        {"Status", "string", "", 0, "The status of the node"},
        {"Roles", "string", "", 0, "The roles of the node"},
        kAge,
        {"Version", "string", "", 0, "Kubelet Version reported by the node."},
        {"Internal-IP", "string", "", 1, "List of addresses reachable to the node."},
        {"External-IP", "string", "", 1, "List of addresses reachable to the node."},
        {"OS-Image", "string", "", 1,
         "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
         "(wheezy))."},
        {"Kernel-Version", "string", "", 1, "Kernel Version reported by the node from 'uname -r'."},
        {"Container-Runtime", "string", "", 1,
         "ContainerRuntime Version reported by the node through runtime remote API."}};
  if (kind == "Namespace")
    return {kName, {"Status", "string", "", 0, "The status of the namespace"}, kAge};
  if (kind == "ConfigMap")
    return {kName,
            {"Data", "string", "", 0,
             "Data contains the configuration data. Each key must consist of alphanumeric "
             "characters, '-', '_' or '.'."},
            kAge};
  if (kind == "Secret")
    return {kName,
            {"Type", "string", "", 0, "Used to facilitate programmatic handling of secret data."},
            {"Data", "string", "", 0,
             "Data contains the secret data. Each key must consist of alphanumeric characters, "
             "'-', '_' or '.'."},
            kAge};
  if (kind == "Event")
    return {{"Last Seen", "string", "", 0,
             "The time at which the most recent occurrence of this event was recorded."},
            {"Type", "string", "", 0, "Type of this event (Normal, Warning)."},
            {"Reason", "string", "", 0,
             "This should be a short, machine understandable string that gives the reason for "
             "the transition into the object's current status."},
            {"Object", "string", "", 0, "The object that this event is about."},
            {"Subobject", "string", "", 1,
             "If referring to a piece of an object instead of an entire object, this string "
             "should contain a valid JSON/Go field access statement."},
            {"Source", "string", "", 1,
             "The component reporting this event. Should be a short machine understandable "
             "string."},
            {"Message", "string", "", 0,
             "A human-readable description of the status of this operation."},
            {"First Seen", "string", "", 1, "The time at which the event was first recorded."},
            {"Count", "string", "", 1, "The number of times this event has occurred."},
            {"Name", "string", "name", 1, kNameDoc}};
  if (kind == "Job")
    return {kName,
            {"Status", "string", "", 0, "Status of the job."},
            {"Completions", "string", "", 0,
             "The number of pods which reached phase Succeeded. The value increases "
             "monotonically for a given spec. However, it may decrease in reaction to scale "
             "down of elastic indexed jobs."},
            {"Duration", "string", "", 0, "Time required to complete the job."},
            kAge,
            {"Containers", "string", "", 1, kContainersDoc},
            {"Images", "string", "", 1, kImagesDoc},
            {"Selector", "string", "", 1, kJobSelectorDoc}};
  if (kind == "CronJob")
    return {kName,
            {"Schedule", "string", "", 0,
             "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."},
            {"Timezone", "string", "", 0,
             "The time zone name for the given schedule, see "
             "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, "
             "this will default to the time zone of the kube-controller-manager process. The "
             "set of valid time zone names and the time zone offset is loaded from the "
             "system-wide time zone database by the API server during CronJob validation and "
             "the controller manager during execution. If no system-wide time zone database "
             "can be found a bundled version of the database is used instead. If the time "
             "zone name becomes invalid during the lifetime of a CronJob or due to a change in "
             "host configuration, the controller will stop creating new new Jobs and will "
             "create a system event with the reason UnknownTimeZone. More information can be "
             "found in https://kubernetes.io/docs/concepts/workloads/controllers/"
             "cron-jobs/#time-zones"},
            {"Suspend", "boolean", "", 0,
             "This flag tells the controller to suspend subsequent executions, it does not "
             "apply to already started executions.  Defaults to false."},
            {"Active", "integer", "", 0, "A list of pointers to currently running jobs."},
            {"Last Schedule", "string", "", 0,
             "Information when was the last time the job was successfully scheduled."},
            kAge,
            {"Containers", "string", "", 1, kContainersDoc},
            {"Images", "string", "", 1, kImagesDoc},
            {"Selector", "string", "", 1, kJobSelectorDoc}};
  if (kind == "ServiceAccount")
    return {kName,
            {"Secrets", "string", "", 0,
             "Secrets is a list of the secrets in the same namespace that pods running using "
             "this ServiceAccount are allowed to use. Pods are only limited to this list if "
             "this service account has a \"kubernetes.io/enforce-mountable-secrets\" "
             "annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" "
             "annotation is deprecated since v1.32. Prefer separate namespaces to isolate "
             "access to mounted secrets. This field should not be used to find auto-generated "
             "service account token secrets for use outside of pods. Instead, tokens can be "
             "requested directly using the TokenRequest API, or service account token secrets "
             "can be manually created. More info: "
             "https://kubernetes.io/docs/concepts/configuration/secret"},
            kAge};
  if (kind == "PersistentVolumeClaim")
    return {
        kName,
        {"Status", "string", "", 0, "phase represents the current phase of PersistentVolumeClaim."},
        {"Volume", "string", "", 0,
         "volumeName is the binding reference to the PersistentVolume backing this claim."},
        {"Capacity", "string", "", 0,
         "capacity represents the actual resources of the underlying volume."},
        {"Access Modes", "string", "", 0,
         "accessModes contains the actual access modes the volume backing the PVC has. More "
         "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"},
        {"StorageClass", "string", "", 0, "StorageClass of the pvc"},
        {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pvc"},
        kAge,
        {"VolumeMode", "string", "", 1, kClaimVolumeModeDoc}};
  if (kind == "PersistentVolume")
    return {kName,
            {"Capacity", "string", "", 0,
             "capacity is the description of the persistent volume's resources and capacity. More "
             "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"},
            {"Access Modes", "string", "", 0,
             "accessModes contains all ways the volume can be mounted. More info: "
             "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"},
            {"Reclaim Policy", "string", "", 0,
             "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
             "released from its claim. Valid options are Retain (default for manually created "
             "PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), "
             "and Recycle (deprecated). Recycle must be supported by the volume plugin underlying "
             "this PersistentVolume. More info: "
             "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"},
            {"Status", "string", "", 0,
             "phase indicates if a volume is available, bound to a claim, or released by a claim. "
             "More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"},
            {"Claim", "string", "", 0,
             "claimRef is part of a bi-directional binding between PersistentVolume and "
             "PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the "
             "authoritative bind between PV and PVC. More info: "
             "https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"},
            {"StorageClass", "string", "", 0, "StorageClass of the pv"},
            {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pv"},
            {"Reason", "string", "", 0,
             "reason is a brief CamelCase string that describes any failure and is meant for "
             "machine parsing and tidy display in the CLI."},
            kAge,
            {"VolumeMode", "string", "", 1,
             "volumeMode defines if a volume is intended to be used with a formatted filesystem or "
             "to remain in raw block state. Value of Filesystem is implied when not included in "
             "spec."}};
  if (kind == "Lease")
    return {kName,
            {"Holder", "string", "", 0,
             "holderIdentity contains the identity of the holder of a current lease."},
            kAge};
  if (kind == "StorageClass")
    return {kName,
            {"Provisioner", "string", "", 0, "provisioner indicates the type of the provisioner."},
            {"ReclaimPolicy", "string", "", 0,
             "reclaimPolicy controls the reclaimPolicy for dynamically provisioned "
             "PersistentVolumes of this storage class. Defaults to Delete."},
            {"VolumeBindingMode", "string", "", 0,
             "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and "
             "bound.  When unset, VolumeBindingImmediate is used. This field is only honored by "
             "servers that enable the VolumeScheduling feature."},
            {"AllowVolumeExpansion", "string", "", 0,
             "allowVolumeExpansion shows whether the storage class allow volume expand."},
            kAge};
  // upstream's default table convertor for kinds without a printer
  return {kName, {"Created At", "date", "", 0, kAgeDoc}};
}

// ------------------------------------------------------------------- rows

bool isTerminalPhase(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

bool hasCondition(const Json& conditions, const char* type) {
  for (const Json& condition : items(conditions))
    if (text(at(condition, {"type"})) == type) return text(at(condition, {"status"})) == "True";
  return false;
}

// The later of `current` and a container's last termination time.
void noteRestart(const Json& containerStatus, std::optional<long long>& latest) {
  auto finished = timestamp(at(containerStatus, {"lastState", "terminated", "finishedAt"}));
  if (finished && (!latest || *latest < *finished)) latest = finished;
}

std::string exitReason(const char* prefix, const Json& terminated) {
  int64_t signal = integer(at(terminated, {"signal"}));
  if (signal != 0) return std::string(prefix) + "Signal:" + std::to_string(signal);
  return std::string(prefix) + "ExitCode:" + std::to_string(integer(at(terminated, {"exitCode"})));
}

// printPod: READY counts ready containers (and started restartable init
// containers); STATUS is the phase refined by the container states.
Json podCells(const Json& pod, long long now) {
  const Json& spec = at(pod, {"spec"});
  const Json& status = at(pod, {"status"});
  int64_t restarts = 0;
  int64_t restartableInitRestarts = 0;
  size_t totalContainers = items(at(spec, {"containers"})).size();
  size_t readyContainers = 0;
  std::optional<long long> lastRestart;
  std::optional<long long> lastRestartableInitRestart;

  std::string phase = text(at(status, {"phase"}));
  std::string reason = phase;
  if (std::string statusReason = text(at(status, {"reason"})); !statusReason.empty())
    reason = statusReason;
  for (const Json& condition : items(at(status, {"conditions"})))
    if (text(at(condition, {"type"})) == "PodScheduled" &&
        text(at(condition, {"reason"})) == "SchedulingGated")
      reason = "SchedulingGated";

  // Sidecars: init containers with restartPolicy Always count as containers.
  std::set<std::string> restartableInit;
  const Json& initContainers = items(at(spec, {"initContainers"}));
  for (const Json& container : initContainers) {
    if (text(at(container, {"restartPolicy"})) == "Always") {
      restartableInit.insert(text(at(container, {"name"})));
      ++totalContainers;
    }
  }

  bool initializing = false;
  const Json& initStatuses = items(at(status, {"initContainerStatuses"}));
  for (size_t i = 0; i < initStatuses.size(); ++i) {
    const Json& container = initStatuses[i];
    const Json& state = at(container, {"state"});
    bool restartable = restartableInit.count(text(at(container, {"name"}))) != 0;
    restarts += integer(at(container, {"restartCount"}));
    noteRestart(container, lastRestart);
    if (restartable) {
      restartableInitRestarts += integer(at(container, {"restartCount"}));
      noteRestart(container, lastRestartableInitRestart);
    }
    const Json& terminated = at(state, {"terminated"});
    const Json& waiting = at(state, {"waiting"});
    if (terminated.is_object() && integer(at(terminated, {"exitCode"})) == 0) continue;
    if (restartable && at(container, {"started"}) == true) {
      if (at(container, {"ready"}) == true) ++readyContainers;
      continue;
    }
    if (terminated.is_object()) {
      std::string terminatedReason = text(at(terminated, {"reason"}));
      reason =
          terminatedReason.empty() ? exitReason("Init:", terminated) : "Init:" + terminatedReason;
    } else if (waiting.is_object() && !text(at(waiting, {"reason"})).empty() &&
               text(at(waiting, {"reason"})) != "PodInitializing") {
      reason = "Init:" + text(at(waiting, {"reason"}));
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(initContainers.size());
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(at(status, {"conditions"}), "Initialized")) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    bool hasRunning = false;
    const Json& statuses = items(at(status, {"containerStatuses"}));
    for (size_t i = statuses.size(); i-- > 0;) {
      const Json& container = statuses[i];
      const Json& state = at(container, {"state"});
      const Json& waiting = at(state, {"waiting"});
      const Json& terminated = at(state, {"terminated"});
      restarts += integer(at(container, {"restartCount"}));
      noteRestart(container, lastRestart);
      if (waiting.is_object() && !text(at(waiting, {"reason"})).empty()) {
        reason = text(at(waiting, {"reason"}));
      } else if (terminated.is_object() && !text(at(terminated, {"reason"})).empty()) {
        reason = text(at(terminated, {"reason"}));
      } else if (terminated.is_object()) {
        reason = exitReason("", terminated);
      } else if (at(container, {"ready"}) == true && at(state, {"running"}).is_object()) {
        hasRunning = true;
        ++readyContainers;
      }
    }
    // At least one container still running: the pod is not Completed yet.
    if (reason == "Completed" && hasRunning)
      reason = hasCondition(at(status, {"conditions"}), "Ready") ? "Running" : "NotReady";
  }

  bool deleting = !at(pod, {"metadata", "deletionTimestamp"}).is_null();
  if (deleting && text(at(status, {"reason"})) == "NodeLost")
    reason = "Unknown";
  else if (deleting && !isTerminalPhase(phase))
    reason = "Terminating";

  std::string restartsCell = std::to_string(restarts);
  if (restarts != 0 && lastRestart)
    restartsCell += " (" + humanDuration(now - *lastRestart) + " ago)";

  std::string podIP = text(at(status, {"podIPs"}).is_array() && !at(status, {"podIPs"}).empty()
                               ? at(at(status, {"podIPs"})[0], {"ip"})
                               : at(status, {"podIP"}));
  std::string nodeName = text(at(spec, {"nodeName"}));
  std::string nominatedNodeName = text(at(status, {"nominatedNodeName"}));
  std::string readinessGates = "<none>";
  const Json& gates = items(at(spec, {"readinessGates"}));
  if (!gates.empty()) {
    size_t trueConditions = 0;
    for (const Json& gate : gates) {
      std::string conditionType = text(at(gate, {"conditionType"}));
      for (const Json& condition : items(at(status, {"conditions"}))) {
        if (text(at(condition, {"type"})) != conditionType) continue;
        if (text(at(condition, {"status"})) == "True") ++trueConditions;
        break;
      }
    }
    readinessGates = std::to_string(trueConditions) + "/" + std::to_string(gates.size());
  }
  return Json::array({name(pod),
                      std::to_string(readyContainers) + "/" + std::to_string(totalContainers),
                      reason, restartsCell, age(pod, now), podIP.empty() ? "<none>" : podIP,
                      nodeName.empty() ? "<none>" : nodeName,
                      nominatedNodeName.empty() ? "<none>" : nominatedNodeName, readinessGates});
}

// The sorted, de-duplicated IPs (else hostnames) of a load balancer status.
std::string loadBalancerAddresses(const Json& loadBalancer) {
  std::set<std::string> addresses;
  for (const Json& ingress : items(at(loadBalancer, {"ingress"}))) {
    std::string ip = text(at(ingress, {"ip"}));
    std::string hostname = text(at(ingress, {"hostname"}));
    if (!ip.empty())
      addresses.insert(ip);
    else if (!hostname.empty())
      addresses.insert(hostname);
  }
  return join({addresses.begin(), addresses.end()}, ",");
}

std::string serviceExternalIP(const Json& svc) {
  std::string type = text(at(svc, {"spec", "type"}));
  std::vector<std::string> externalIPs;
  for (const Json& ip : items(at(svc, {"spec", "externalIPs"}))) externalIPs.push_back(text(ip));
  if (type == "ClusterIP" || type == "NodePort")
    return externalIPs.empty() ? "<none>" : join(externalIPs, ",");
  if (type == "LoadBalancer") {
    std::string balancers = loadBalancerAddresses(at(svc, {"status", "loadBalancer"}));
    if (!externalIPs.empty()) {
      std::vector<std::string> all;
      if (!balancers.empty()) all.push_back(balancers);
      all.insert(all.end(), externalIPs.begin(), externalIPs.end());
      return join(all, ",");
    }
    return balancers.empty() ? "<pending>" : balancers;
  }
  if (type == "ExternalName") return text(at(svc, {"spec", "externalName"}));
  return "<unknown>";
}

Json serviceCells(const Json& svc, long long now) {
  const Json& spec = at(svc, {"spec"});
  std::string clusterIP = "<none>";
  if (const Json& ips = at(spec, {"clusterIPs"}); ips.is_array() && !ips.empty())
    clusterIP = text(ips[0]);
  else if (std::string ip = text(at(spec, {"clusterIP"})); !ip.empty())
    clusterIP = ip;  // clusterIPs is filled from clusterIP on conversion upstream
  std::vector<std::string> ports;
  for (const Json& port : items(at(spec, {"ports"}))) {
    std::string number = std::to_string(integer(at(port, {"port"})));
    std::string protocol = text(at(port, {"protocol"}));
    int64_t nodePort = integer(at(port, {"nodePort"}));
    ports.push_back(nodePort > 0 ? number + ":" + std::to_string(nodePort) + "/" + protocol
                                 : number + "/" + protocol);
  }
  return Json::array({name(svc), text(at(spec, {"type"})), clusterIP, serviceExternalIP(svc),
                      ports.empty() ? "<none>" : join(ports, ","), age(svc, now),
                      formatLabels(at(spec, {"selector"}))});
}

std::string joinHostPort(const std::string& host, int64_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// formatEndpoints: the first three ip:port pairs, then " + N more...".
std::string formatEndpoints(const Json& endpoints) {
  const Json& subsets = items(at(endpoints, {"subsets"}));
  if (subsets.empty()) return "<none>";
  constexpr size_t kMax = 3;
  std::vector<std::string> shown;
  bool more = false;
  size_t count = 0;
  for (const Json& subset : subsets) {
    const Json& addresses = items(at(subset, {"addresses"}));
    const Json& ports = items(at(subset, {"ports"}));
    if (ports.empty()) {  // headless services may have no ports
      count += addresses.size();
      for (const Json& address : addresses) {
        if (shown.size() == kMax) {
          more = true;
          break;
        }
        shown.push_back(text(at(address, {"ip"})));
      }
      continue;
    }
    for (const Json& port : ports) {
      count += addresses.size();
      for (const Json& address : addresses) {
        if (shown.size() == kMax) {
          more = true;
          break;
        }
        shown.push_back(joinHostPort(text(at(address, {"ip"})), integer(at(port, {"port"}))));
      }
    }
  }
  return listWithMore(shown, more, count, kMax, nullptr);
}

Json endpointSliceCells(const Json& slice, long long now) {
  constexpr size_t kMax = 3;
  std::vector<std::string> ports;
  bool morePorts = false;
  size_t portCount = 0;
  for (const Json& port : items(at(slice, {"ports"}))) {
    if (ports.size() < kMax) {
      std::string shown = "*";
      if (at(port, {"port"}).is_number_integer())
        shown = std::to_string(integer(at(port, {"port"})));
      else if (at(port, {"name"}).is_string())
        shown = text(at(port, {"name"}));
      ports.push_back(shown);
    } else {
      morePorts = true;
    }
    ++portCount;
  }
  std::vector<std::string> addresses;
  bool moreAddresses = false;
  size_t addressCount = 0;
  for (const Json& endpoint : items(at(slice, {"endpoints"}))) {
    for (const Json& address : items(at(endpoint, {"addresses"}))) {
      if (addresses.size() < kMax)
        addresses.push_back(text(address));
      else
        moreAddresses = true;
      ++addressCount;
    }
  }
  return Json::array({name(slice), text(at(slice, {"addressType"})),
                      listWithMore(ports, morePorts, portCount, kMax, "<unset>"),
                      listWithMore(addresses, moreAddresses, addressCount, kMax, "<unset>"),
                      age(slice, now)});
}

Json ingressCells(const Json& ingress, long long now) {
  const Json& spec = at(ingress, {"spec"});
  std::string className = "<none>";
  if (const Json& value = at(spec, {"ingressClassName"}); value.is_string())
    className = value.get<std::string>();
  // formatHosts: up to three hosts, "*" when no rule names one.
  constexpr size_t kMax = 3;
  std::vector<std::string> hosts;
  bool more = false;
  const Json& rules = items(at(spec, {"rules"}));
  for (const Json& rule : rules) {
    if (hosts.size() == kMax) more = true;
    std::string host = text(at(rule, {"host"}));
    if (!more && !host.empty()) hosts.push_back(host);
  }
  std::string hostsCell = join(hosts, ",");
  if (hosts.empty())
    hostsCell = "*";
  else if (more)
    hostsCell += " + " + std::to_string(rules.size() - kMax) + " more...";
  std::string ports = items(at(spec, {"tls"})).empty() ? "80" : "80, 443";
  return Json::array({name(ingress), className, hostsCell,
                      loadBalancerAddresses(at(ingress, {"status", "loadBalancer"})), ports,
                      age(ingress, now)});
}

Json ingressClassCells(const Json& ingressClass, long long now) {
  std::string parameters = "<none>";
  if (const Json& reference = at(ingressClass, {"spec", "parameters"}); reference.is_object()) {
    parameters = text(at(reference, {"kind"}));
    if (at(reference, {"apiGroup"}).is_string())
      parameters += "." + text(at(reference, {"apiGroup"}));
    parameters += "/" + text(at(reference, {"name"}));
  }
  return Json::array({name(ingressClass), text(at(ingressClass, {"spec", "controller"})),
                      parameters, age(ingressClass, now)});
}

// Replicas left out are defaulted to 1 upstream.
int64_t desiredReplicas(const Json& obj) {
  const Json& replicas = at(obj, {"spec", "replicas"});
  return replicas.is_number() ? integer(replicas) : 1;
}

Json deploymentCells(const Json& deployment, long long now) {
  const Json& status = at(deployment, {"status"});
  auto [containers, images] = containerCells(at(deployment, {"spec", "template", "spec"}));
  auto selector = selectorRequirements(at(deployment, {"spec", "selector"}));
  return Json::array({name(deployment),
                      std::to_string(integer(at(status, {"readyReplicas"}))) + "/" +
                          std::to_string(desiredReplicas(deployment)),
                      integer(at(status, {"updatedReplicas"})),
                      integer(at(status, {"availableReplicas"})), age(deployment, now), containers,
                      images, selector ? *selector : "<invalid>"});
}

bool conditionHolds(const Json& obj, const char* type) {
  for (const Json& condition : items(at(obj, {"status", "conditions"})))
    if (text(at(condition, {"type"})) == type && text(at(condition, {"status"})) == "True")
      return true;
  return false;
}

Json jobCells(const Json& job, long long now) {
  const Json& spec = at(job, {"spec"});
  int64_t succeeded = integer(at(job, {"status", "succeeded"}));
  std::string completions;
  if (at(spec, {"completions"}).is_number()) {
    completions =
        std::to_string(succeeded) + "/" + std::to_string(integer(at(spec, {"completions"})));
  } else {
    int64_t parallelism = integer(at(spec, {"parallelism"}));
    completions = std::to_string(succeeded) + "/1" +
                  (parallelism > 1 ? " of " + std::to_string(parallelism) : "");
  }
  std::string duration;
  auto started = timestamp(at(job, {"status", "startTime"}));
  auto finished = timestamp(at(job, {"status", "completionTime"}));
  if (started) duration = humanDuration((finished ? *finished : now) - *started);
  std::string status = "Running";
  if (conditionHolds(job, "Complete"))
    status = "Complete";
  else if (conditionHolds(job, "Failed"))
    status = "Failed";
  else if (at(job, {"metadata", "deletionTimestamp"}).is_string())
    status = "Terminating";
  else if (conditionHolds(job, "Suspended"))
    status = "Suspended";
  else if (conditionHolds(job, "FailureTarget"))
    status = "FailureTarget";
  else if (conditionHolds(job, "SuccessCriteriaMet"))
    status = "SuccessCriteriaMet";
  auto [containers, images] = containerCells(at(spec, {"template", "spec"}));
  return Json::array({name(job), status, completions, duration, age(job, now), containers, images,
                      formatLabelSelector(at(spec, {"selector"}))});
}

Json cronJobCells(const Json& cronJob, long long now) {
  const Json& spec = at(cronJob, {"spec"});
  const Json& lastSchedule = at(cronJob, {"status", "lastScheduleTime"});
  const Json& suspend = at(spec, {"suspend"});
  std::string timeZone =
      at(spec, {"timeZone"}).is_string() ? text(at(spec, {"timeZone"})) : "<none>";
  const Json& jobSpec = at(spec, {"jobTemplate", "spec"});
  auto [containers, images] = containerCells(at(jobSpec, {"template", "spec"}));
  return Json::array({name(cronJob), text(at(spec, {"schedule"})), timeZone,
                      suspend.is_boolean() ? (suspend.get<bool>() ? "True" : "False") : "<unset>",
                      int64_t(items(at(cronJob, {"status", "active"})).size()),
                      lastSchedule.is_string() ? since(lastSchedule, now) : "<none>",
                      age(cronJob, now), containers, images,
                      formatLabelSelector(at(jobSpec, {"selector"}))});
}

Json replicaSetCells(const Json& replicaSet, long long now) {
  const Json& status = at(replicaSet, {"status"});
  auto [containers, images] = containerCells(at(replicaSet, {"spec", "template", "spec"}));
  return Json::array({name(replicaSet), desiredReplicas(replicaSet),
                      integer(at(status, {"replicas"})), integer(at(status, {"readyReplicas"})),
                      age(replicaSet, now), containers, images,
                      formatLabelSelector(at(replicaSet, {"spec", "selector"}))});
}

Json statefulSetCells(const Json& statefulSet, long long now) {
  auto [containers, images] = containerCells(at(statefulSet, {"spec", "template", "spec"}));
  return Json::array({name(statefulSet),
                      std::to_string(integer(at(statefulSet, {"status", "readyReplicas"}))) + "/" +
                          std::to_string(desiredReplicas(statefulSet)),
                      age(statefulSet, now), containers, images});
}

Json daemonSetCells(const Json& daemonSet, long long now) {
  const Json& status = at(daemonSet, {"status"});
  auto [containers, images] = containerCells(at(daemonSet, {"spec", "template", "spec"}));
  return Json::array(
      {name(daemonSet), integer(at(status, {"desiredNumberScheduled"})),
       integer(at(status, {"currentNumberScheduled"})), integer(at(status, {"numberReady"})),
       integer(at(status, {"updatedNumberScheduled"})), integer(at(status, {"numberAvailable"})),
       formatLabels(at(daemonSet, {"spec", "template", "spec", "nodeSelector"})),
       age(daemonSet, now), containers, images,
       formatLabelSelector(at(daemonSet, {"spec", "selector"}))});
}

std::string nodeAddress(const Json& node, const char* type) {
  for (const Json& address : items(at(node, {"status", "addresses"})))
    if (text(at(address, {"type"})) == type) return text(at(address, {"address"}));
  return "<none>";
}

Json nodeCells(const Json& node, long long now) {
  std::vector<std::string> status;
  for (const Json& condition : items(at(node, {"status", "conditions"}))) {
    if (text(at(condition, {"type"})) != "Ready") continue;
    status.assign(1, text(at(condition, {"status"})) == "True" ? "Ready" : "NotReady");
  }
  if (status.empty()) status.push_back("Unknown");
  if (at(node, {"spec", "unschedulable"}) == true) status.push_back("SchedulingDisabled");

  // node-role.kubernetes.io/<role> labels, and kubernetes.io/role=<role>
  std::set<std::string> roles;
  if (const Json& labels = at(node, {"metadata", "labels"}); labels.is_object()) {
    constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      const std::string& key = it.key();
      if (key.rfind(kRolePrefix, 0) == 0 && key.size() > kRolePrefix.size())
        roles.insert(key.substr(kRolePrefix.size()));
      else if (key == "kubernetes.io/role" && !text(*it).empty())
        roles.insert(text(*it));
    }
  }
  const Json& info = at(node, {"status", "nodeInfo"});
  auto orUnknown = [](std::string value) { return value.empty() ? "<unknown>" : value; };
  return Json::array({name(node), join(status, ","),
                      roles.empty() ? "<none>" : join({roles.begin(), roles.end()}, ","),
                      age(node, now), text(at(info, {"kubeletVersion"})),
                      nodeAddress(node, "InternalIP"), nodeAddress(node, "ExternalIP"),
                      orUnknown(text(at(info, {"osImage"}))),
                      orUnknown(text(at(info, {"kernelVersion"}))),
                      orUnknown(text(at(info, {"containerRuntimeVersion"})))});
}

Json eventCells(const Json& event, long long now) {
  std::string firstSeen = timestamp(at(event, {"firstTimestamp"}))
                              ? since(at(event, {"firstTimestamp"}), now)
                              : since(at(event, {"eventTime"}), now);
  std::string lastSeen = timestamp(at(event, {"lastTimestamp"}))
                             ? since(at(event, {"lastTimestamp"}), now)
                             : firstSeen;
  int64_t count = integer(at(event, {"count"}));
  if (const Json& series = at(event, {"series"}); series.is_object()) {
    lastSeen = since(at(series, {"lastObservedTime"}), now);
    count = integer(at(series, {"count"}));
  } else if (count == 0) {
    count = 1;  // singleton events of the events.k8s.io API carry no count
  }
  const Json& involved = at(event, {"involvedObject"});
  std::string kind = lower(text(at(involved, {"kind"})));
  std::string involvedName = text(at(involved, {"name"}));
  std::string target = involvedName.empty() ? kind : kind + "/" + involvedName;
  // formatEventSource: component (else reportingController), then host
  // (else reportingInstance) after ", " when there is one.
  std::string component = text(at(event, {"source", "component"}));
  if (component.empty()) component = text(at(event, {"reportingComponent"}));
  std::string host = text(at(event, {"source", "host"}));
  if (host.empty()) host = text(at(event, {"reportingInstance"}));
  std::string source = host.empty() ? component : component + ", " + host;
  return Json::array({lastSeen, text(at(event, {"type"})), text(at(event, {"reason"})), target,
                      text(at(involved, {"fieldPath"})), source, trim(text(at(event, {"message"}))),
                      firstSeen, count, name(event)});
}

// ----------------------------------------------------------------- storage

// helper.GetAccessModesAsString: abbreviations in a fixed order, each once.
std::string accessModes(const Json& modes) {
  std::set<std::string> present;
  for (const Json& mode : items(modes)) present.insert(text(mode));
  std::vector<std::string> out;
  for (auto [mode, abbreviation] :
       {std::pair{"ReadWriteOnce", "RWO"}, std::pair{"ReadOnlyMany", "ROX"},
        std::pair{"ReadWriteMany", "RWX"}, std::pair{"ReadWriteOncePod", "RWOP"}})
    if (present.count(mode)) out.push_back(abbreviation);
  return join(out, ",");
}

// A quantity as Quantity.String() prints it; a missing one is zero.
std::string quantityText(const Json& value) {
  if (value.is_null()) return "0";
  if (auto q = api::Quantity::fromJson(value)) return q->toString();
  return text(value);
}

// An optional string (a Go *string): "<unset>" when nil.
std::string orUnset(const Json& value) { return value.is_string() ? text(value) : "<unset>"; }

// Deleting objects show as Terminating, as printPersistentVolume(Claim) do.
std::string volumePhase(const Json& obj) {
  if (!at(obj, {"metadata", "deletionTimestamp"}).is_null()) return "Terminating";
  return text(at(obj, {"status", "phase"}));
}

// helper.GetPersistentVolumeClaimClass / GetPersistentVolumeClass: the beta
// annotation wins over spec.storageClassName.
std::string storageClassOf(const Json& obj) {
  const Json& annotation =
      at(obj, {"metadata", "annotations", "volume.beta.kubernetes.io/storage-class"});
  if (annotation.is_string()) return text(annotation);
  return text(at(obj, {"spec", "storageClassName"}));
}

Json persistentVolumeClaimCells(const Json& pvc, long long now) {
  const Json& spec = at(pvc, {"spec"});
  std::string volume = text(at(spec, {"volumeName"}));
  std::string capacity, modes;
  if (!volume.empty()) {  // what a claim has, it has once bound
    modes = accessModes(at(pvc, {"status", "accessModes"}));
    capacity = quantityText(at(pvc, {"status", "capacity", "storage"}));
  }
  return Json::array({name(pvc), volumePhase(pvc), volume, capacity, modes, storageClassOf(pvc),
                      orUnset(at(spec, {"volumeAttributesClassName"})), age(pvc, now),
                      orUnset(at(spec, {"volumeMode"}))});
}

Json persistentVolumeCells(const Json& pv, long long now) {
  const Json& spec = at(pv, {"spec"});
  std::string claim;
  if (const Json& ref = at(spec, {"claimRef"}); ref.is_object())
    claim = text(at(ref, {"namespace"})) + "/" + text(at(ref, {"name"}));
  return Json::array(
      {name(pv), quantityText(at(spec, {"capacity", "storage"})),
       accessModes(at(spec, {"accessModes"})), text(at(spec, {"persistentVolumeReclaimPolicy"})),
       volumePhase(pv), claim, storageClassOf(pv), orUnset(at(spec, {"volumeAttributesClassName"})),
       text(at(pv, {"status", "reason"})), age(pv, now), orUnset(at(spec, {"volumeMode"}))});
}

// storageutil.IsDefaultAnnotation: the GA or the beta annotation.
bool isDefaultStorageClass(const Json& sc) {
  const Json& annotations = at(sc, {"metadata", "annotations"});
  return text(at(annotations, {"storageclass.kubernetes.io/is-default-class"})) == "true" ||
         text(at(annotations, {"storageclass.beta.kubernetes.io/is-default-class"})) == "true";
}

Json storageClassCells(const Json& sc, long long now) {
  std::string displayName = name(sc);
  if (isDefaultStorageClass(sc)) displayName += " (default)";
  const Json& policy = at(sc, {"reclaimPolicy"});
  const Json& mode = at(sc, {"volumeBindingMode"});
  const Json& expansion = at(sc, {"allowVolumeExpansion"});
  return Json::array({displayName, text(at(sc, {"provisioner"})),
                      policy.is_string() ? text(policy) : "Delete",
                      mode.is_string() ? text(mode) : "Immediate",
                      expansion.is_boolean() && expansion.get<bool>(), age(sc, now)});
}

Json cellsOf(const std::string& kind, const Json& obj, long long now) {
  if (kind == "Pod") return podCells(obj, now);
  if (kind == "Service") return serviceCells(obj, now);
  if (kind == "Endpoints") return Json::array({name(obj), formatEndpoints(obj), age(obj, now)});
  if (kind == "EndpointSlice") return endpointSliceCells(obj, now);
  if (kind == "NetworkPolicy")
    return Json::array(
        {name(obj), formatLabelSelector(at(obj, {"spec", "podSelector"})), age(obj, now)});
  if (kind == "Ingress") return ingressCells(obj, now);
  if (kind == "IngressClass") return ingressClassCells(obj, now);
  if (kind == "Deployment") return deploymentCells(obj, now);
  if (kind == "ReplicaSet") return replicaSetCells(obj, now);
  if (kind == "StatefulSet") return statefulSetCells(obj, now);
  if (kind == "DaemonSet") return daemonSetCells(obj, now);
  if (kind == "Node") return nodeCells(obj, now);
  if (kind == "Namespace")
    return Json::array({name(obj), text(at(obj, {"status", "phase"})), age(obj, now)});
  if (kind == "ConfigMap")
    return Json::array({name(obj),
                        int64_t(entries(at(obj, {"data"})) + entries(at(obj, {"binaryData"}))),
                        age(obj, now)});
  if (kind == "Secret")
    return Json::array(
        {name(obj), text(at(obj, {"type"})), int64_t(entries(at(obj, {"data"}))), age(obj, now)});
  if (kind == "Event") return eventCells(obj, now);
  if (kind == "Job") return jobCells(obj, now);
  if (kind == "CronJob") return cronJobCells(obj, now);
  if (kind == "ServiceAccount")
    return Json::array({name(obj), int64_t(items(at(obj, {"secrets"})).size()), age(obj, now)});
  if (kind == "PersistentVolumeClaim") return persistentVolumeClaimCells(obj, now);
  if (kind == "PersistentVolume") return persistentVolumeCells(obj, now);
  if (kind == "StorageClass") return storageClassCells(obj, now);
  if (kind == "Lease")
    return Json::array({name(obj), text(at(obj, {"spec", "holderIdentity"})), age(obj, now)});
  return Json::array({name(obj), text(at(obj, {"metadata", "creationTimestamp"}))});
}

long long currentTime() { return static_cast<long long>(std::time(nullptr)); }

Json rowOf(const api::ResourceInfo& resource, const Json& obj, const TableOptions& options,
           long long now) {
  Json row = {{"cells", tableCells(resource, obj, now)}};
  if (resource.kind == "Pod") {
    std::string phase = text(at(obj, {"status", "phase"}));
    if (isTerminalPhase(phase))
      row["conditions"] =
          Json::array({{{"type", "Completed"},
                        {"status", "True"},
                        {"reason", phase},
                        {"message", phase == "Succeeded" ? "The pod has completed successfully."
                                                         : "The pod failed."}}});
  }
  switch (options.includeObject) {
    case IncludeObject::None:
      break;
    case IncludeObject::Object:
      row["object"] = obj;
      break;
    case IncludeObject::Metadata: {
      const Json& metadata = at(obj, {"metadata"});
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/" + options.version},
                       {"metadata", metadata.is_object() ? metadata : Json::object()}};
      break;
    }
  }
  return row;
}

}  // namespace

// --------------------------------------------------------------- public

std::vector<MediaRange> parseAccept(std::string_view accept) {
  std::vector<MediaRange> ranges;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    if (comma == std::string_view::npos) comma = accept.size();
    std::string_view part = accept.substr(start, comma - start);
    start = comma + 1;
    MediaRange range;
    size_t semicolon = part.find(';');
    range.type = lower(trim(part.substr(0, semicolon)));
    while (semicolon != std::string_view::npos) {
      size_t next = part.find(';', semicolon + 1);
      std::string_view param =
          part.substr(semicolon + 1, next == std::string_view::npos ? std::string_view::npos
                                                                    : next - semicolon - 1);
      semicolon = next;
      size_t equals = param.find('=');
      if (equals == std::string_view::npos) continue;
      std::string value = trim(param.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      range.params[lower(trim(param.substr(0, equals)))] = value;
    }
    if (!range.type.empty()) ranges.push_back(std::move(range));
  }
  return ranges;
}

std::optional<std::string> tableVersionFor(std::string_view accept) {
  for (const MediaRange& range : parseAccept(accept)) {
    auto param = [&range](const char* key) {
      auto it = range.params.find(key);
      return it == range.params.end() ? std::string() : it->second;
    };
    std::string as = param("as");
    if (range.type == "application/json" && as == "Table" && param("g") == "meta.k8s.io" &&
        (param("v") == "v1" || param("v") == "v1beta1"))
      return param("v");
    if (!as.empty()) continue;  // another representation, not served
    if (range.type == "application/json" || range.type == "application/yaml" ||
        range.type == "application/*" || range.type == "*/*" ||
        range.type == "application/json-seq")
      return std::nullopt;  // a plain form comes first
  }
  return std::nullopt;
}

std::string tableContentType(const std::string& version) {
  return "application/json;as=Table;v=" + version + ";g=meta.k8s.io";
}

core::Result<IncludeObject> includeObjectFrom(std::string_view value) {
  if (value.empty() || value == "Metadata") return IncludeObject::Metadata;
  if (value == "Object") return IncludeObject::Object;
  if (value == "None") return IncludeObject::None;
  return core::badRequest("includeObject must be one of None, Metadata or Object, not \"" +
                          std::string(value) + "\"");
}

std::string humanDuration(long long seconds) {
  // Up to a second in the future counts as now, for clocks slightly apart.
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  auto n = [](long long value) { return std::to_string(value); };
  if (seconds < 60 * 2) return n(seconds) + "s";
  long long minutes = seconds / 60;
  if (minutes < 10) {
    long long rest = seconds % 60;
    return rest == 0 ? n(minutes) + "m" : n(minutes) + "m" + n(rest) + "s";
  }
  if (minutes < 60 * 3) return n(minutes) + "m";
  long long hours = seconds / 3600;
  if (hours < 8) {
    long long rest = minutes % 60;
    return rest == 0 ? n(hours) + "h" : n(hours) + "h" + n(rest) + "m";
  }
  if (hours < 48) return n(hours) + "h";
  if (hours < 24 * 8) {
    long long rest = hours % 24;
    return rest == 0 ? n(hours / 24) + "d" : n(hours / 24) + "d" + n(rest) + "h";
  }
  if (hours < 24 * 365 * 2) return n(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    long long days = (hours / 24) % 365;
    return days == 0 ? n(hours / 24 / 365) + "y" : n(hours / 24 / 365) + "y" + n(days) + "d";
  }
  return n(hours / 24 / 365) + "y";
}

namespace {

// A CRD's additionalPrinterColumns (or Age when it has none) after Name, as
// apiextensions-apiserver's table convertor.
std::vector<api::PrinterColumn> customColumns(const api::CustomResource& custom) {
  if (!custom.columns.empty()) return custom.columns;
  api::PrinterColumn age;
  age.name = "Age";
  age.type = "date";
  age.description = kAgeDoc;
  age.jsonPath = ".metadata.creationTimestamp";
  return {age};
}

Json customTableColumns(const api::CustomResource& custom) {
  Json columns = Json::array();
  columns.push_back({{"name", kName.name},
                     {"type", kName.type},
                     {"format", kName.format},
                     {"description", kName.description},
                     {"priority", 0}});
  for (const auto& column : customColumns(custom))
    columns.push_back(
        {{"name", column.name},
         {"type", column.type == "date" ? "string" : column.type},
         {"format", column.format},
         {"description",
          column.description.empty()
              ? "Custom resource definition column (in JSONPath format): " + column.jsonPath
              : column.description},
         {"priority", column.priority}});
  return columns;
}

// Only the first value a column's path finds is shown (upstream: "as we only
// support simple JSON path, we can assume to have only one result").
Json customCell(const api::PrinterColumn& column, const Json& obj, long long now) {
  auto parsed = apiextensions::JsonPath::parse(column.jsonPath);
  if (!parsed.error.empty()) return nullptr;
  auto found = parsed.path.find(obj);
  if (found.empty()) return nullptr;
  const Json& value = *found.front();
  if (column.type == "string") {
    if (value.is_string()) return value;
    if (value.is_null()) return nullptr;
    return value.dump();  // numbers and booleans bare, lists and maps as JSON
  }
  if (column.type == "integer")
    return value.is_number() ? Json(static_cast<int64_t>(value.get<double>())) : Json(nullptr);
  if (column.type == "number") return value.is_number() ? value : Json(nullptr);
  if (column.type == "boolean") return value.is_boolean() ? value : Json(nullptr);
  if (column.type == "date") {
    auto when = timestamp(value);
    return when ? Json(since(value, now)) : Json(nullptr);
  }
  return nullptr;
}

}  // namespace

Json tableColumns(const api::ResourceInfo& resource) {
  if (resource.custom) return customTableColumns(*resource.custom);
  Json columns = Json::array();
  for (const Column& column : columnsOf(resource.kind))
    columns.push_back({{"name", column.name},
                       {"type", column.type},
                       {"format", column.format},
                       {"description", column.description},
                       {"priority", column.priority}});
  return columns;
}

Json tableCells(const api::ResourceInfo& resource, const Json& obj, long long now) {
  if (resource.custom) {
    Json cells = Json::array({name(obj)});
    for (const auto& column : customColumns(*resource.custom))
      cells.push_back(customCell(column, obj, now));
    return cells;
  }
  return cellsOf(resource.kind, obj, now);
}

Json toTable(const api::ResourceInfo& resource, const Json& listOrObject,
             const TableOptions& options) {
  long long now = options.now > 0 ? options.now : currentTime();
  Json table = {{"kind", "Table"},
                {"apiVersion", "meta.k8s.io/" + options.version},
                {"metadata", Json::object()}};
  if (options.withColumns) table["columnDefinitions"] = tableColumns(resource);
  Json rows = Json::array();
  bool isList = listOrObject.is_object() && listOrObject.contains("items") &&
                text(at(listOrObject, {"kind"})) != resource.kind;
  Json& metadata = table["metadata"];
  if (isList) {
    for (const Json& item : items(listOrObject["items"]))
      rows.push_back(rowOf(resource, item, options, now));
    std::string continueToken = text(at(listOrObject, {"metadata", "continue"}));
    if (!continueToken.empty()) metadata["continue"] = continueToken;
    if (const Json& remaining = at(listOrObject, {"metadata", "remainingItemCount"});
        remaining.is_number_integer())
      metadata["remainingItemCount"] = remaining;
  } else if (listOrObject.is_object()) {
    rows.push_back(rowOf(resource, listOrObject, options, now));
  }
  std::string resourceVersion = text(at(listOrObject, {"metadata", "resourceVersion"}));
  if (!resourceVersion.empty()) metadata["resourceVersion"] = resourceVersion;
  table["rows"] = std::move(rows);
  return table;
}

Json TableWatchEncoder::encode(const std::string& type, const Json& object) {
  if (text(at(object, {"kind"})) == "Status") return object;
  if (type == "BOOKMARK") {
    // A bookmark only carries a resourceVersion; it becomes an empty Table.
    Json metadata = Json::object();
    if (std::string rv = text(at(object, {"metadata", "resourceVersion"})); !rv.empty())
      metadata["resourceVersion"] = rv;
    return {{"kind", "Table"},
            {"apiVersion", "meta.k8s.io/" + options_.version},
            {"metadata", metadata},
            {"rows", Json::array()}};
  }
  TableOptions options = options_;
  options.withColumns = !columnsSent_;
  columnsSent_ = true;
  return toTable(resource_, object, options);
}

// ------------------------------------------------------------------ glue

HttpResponse tableResponse(const std::string& version, const Route& route,
                           const api::ResourceInfo& resource, const Json& listOrObject) {
  HttpResponse response;
  auto include = includeObjectFrom(route.queryValue("includeObject"));
  if (!include) {
    response.status = include.error().code;
    response.body = include.error().toStatus().dump();
    return response;
  }
  TableOptions options;
  options.version = version;
  options.includeObject = *include;
  Json table = toTable(resource, listOrObject, options);
  response.contentType = tableContentType(version);
  bool pretty = isTrueParameter(route.queryValue("pretty"));
  response.body = table.dump(pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace);
  return response;
}

core::Result<WatchEventTransform> tableWatchTransform(const std::string& version,
                                                      const Route& route,
                                                      const api::ResourceInfo& resource) {
  auto include = includeObjectFrom(route.queryValue("includeObject"));
  if (!include) return include.takeError();
  TableOptions options;
  options.version = version;
  options.includeObject = *include;
  auto encoder = std::make_shared<TableWatchEncoder>(resource, std::move(options));
  return WatchEventTransform([encoder](const std::string& type, const Json& object) {
    return encoder->encode(type, object);
  });
}

}  // namespace podnet::apiserver
