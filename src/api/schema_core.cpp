// core/v1 types (k8s.io/api/core/v1 types.go and generated.proto, v1.32):
// the served kinds Namespace, Node, Pod, Service, Endpoints, Secret,
// ConfigMap, Event, ServiceAccount, PersistentVolumeClaim and PersistentVolume,
// the PodSpec that Deployments and ReplicaSets embed, and the Binding
// envelope. Subtrees that real manifests rarely use (cloud volume plugins,
// ephemeral volume claim templates, status details) are Type::Any: accepted
// as they come, so no valid object is ever refused.
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace {

#define CORE_MESSAGE(member, name) Message member{"io.k8s.api.core.v1." name, {}}

struct CoreTypes {
  // Served kinds.
  CORE_MESSAGE(namespaceKind, "Namespace");
  CORE_MESSAGE(namespaceSpec, "NamespaceSpec");
  CORE_MESSAGE(namespaceStatus, "NamespaceStatus");
  CORE_MESSAGE(namespaceCondition, "NamespaceCondition");
  CORE_MESSAGE(node, "Node");
  CORE_MESSAGE(nodeSpec, "NodeSpec");
  CORE_MESSAGE(taint, "Taint");
  CORE_MESSAGE(nodeStatus, "NodeStatus");
  CORE_MESSAGE(nodeCondition, "NodeCondition");
  CORE_MESSAGE(nodeAddress, "NodeAddress");
  CORE_MESSAGE(nodeDaemonEndpoints, "NodeDaemonEndpoints");
  CORE_MESSAGE(daemonEndpoint, "DaemonEndpoint");
  CORE_MESSAGE(nodeSystemInfo, "NodeSystemInfo");
  CORE_MESSAGE(containerImage, "ContainerImage");
  CORE_MESSAGE(attachedVolume, "AttachedVolume");
  CORE_MESSAGE(pod, "Pod");
  CORE_MESSAGE(podStatus, "PodStatus");
  CORE_MESSAGE(podCondition, "PodCondition");
  CORE_MESSAGE(podIP, "PodIP");
  CORE_MESSAGE(hostIP, "HostIP");
  CORE_MESSAGE(containerStatus, "ContainerStatus");
  CORE_MESSAGE(containerState, "ContainerState");
  CORE_MESSAGE(containerStateWaiting, "ContainerStateWaiting");
  CORE_MESSAGE(containerStateRunning, "ContainerStateRunning");
  CORE_MESSAGE(containerStateTerminated, "ContainerStateTerminated");
  CORE_MESSAGE(service, "Service");
  CORE_MESSAGE(serviceSpec, "ServiceSpec");
  CORE_MESSAGE(servicePort, "ServicePort");
  CORE_MESSAGE(sessionAffinityConfig, "SessionAffinityConfig");
  CORE_MESSAGE(clientIPConfig, "ClientIPConfig");
  CORE_MESSAGE(serviceStatus, "ServiceStatus");
  CORE_MESSAGE(loadBalancerStatus, "LoadBalancerStatus");
  CORE_MESSAGE(loadBalancerIngress, "LoadBalancerIngress");
  CORE_MESSAGE(portStatus, "PortStatus");
  CORE_MESSAGE(endpoints, "Endpoints");
  CORE_MESSAGE(endpointSubset, "EndpointSubset");
  CORE_MESSAGE(endpointAddress, "EndpointAddress");
  CORE_MESSAGE(endpointPort, "EndpointPort");
  CORE_MESSAGE(secret, "Secret");
  CORE_MESSAGE(configMap, "ConfigMap");
  CORE_MESSAGE(event, "Event");
  CORE_MESSAGE(eventSource, "EventSource");
  CORE_MESSAGE(eventSeries, "EventSeries");
  CORE_MESSAGE(serviceAccount, "ServiceAccount");
  CORE_MESSAGE(binding, "Binding");
  // Storage.
  CORE_MESSAGE(persistentVolumeClaim, "PersistentVolumeClaim");
  CORE_MESSAGE(persistentVolumeClaimSpec, "PersistentVolumeClaimSpec");
  CORE_MESSAGE(volumeResourceRequirements, "VolumeResourceRequirements");
  CORE_MESSAGE(typedObjectReference, "TypedObjectReference");
  CORE_MESSAGE(persistentVolumeClaimStatus, "PersistentVolumeClaimStatus");
  CORE_MESSAGE(persistentVolumeClaimCondition, "PersistentVolumeClaimCondition");
  CORE_MESSAGE(modifyVolumeStatus, "ModifyVolumeStatus");
  CORE_MESSAGE(persistentVolume, "PersistentVolume");
  CORE_MESSAGE(persistentVolumeSpec, "PersistentVolumeSpec");
  CORE_MESSAGE(persistentVolumeSource, "PersistentVolumeSource");
  CORE_MESSAGE(localVolumeSource, "LocalVolumeSource");
  CORE_MESSAGE(csiPersistentVolumeSource, "CSIPersistentVolumeSource");
  CORE_MESSAGE(secretReference, "SecretReference");
  CORE_MESSAGE(volumeNodeAffinity, "VolumeNodeAffinity");
  CORE_MESSAGE(persistentVolumeStatus, "PersistentVolumeStatus");
  // References.
  CORE_MESSAGE(objectReference, "ObjectReference");
  CORE_MESSAGE(localObjectReference, "LocalObjectReference");
  CORE_MESSAGE(typedLocalObjectReference, "TypedLocalObjectReference");
  // Pods.
  CORE_MESSAGE(podTemplateSpec, "PodTemplateSpec");
  CORE_MESSAGE(podSpec, "PodSpec");
  CORE_MESSAGE(container, "Container");
  CORE_MESSAGE(ephemeralContainer, "EphemeralContainer");
  CORE_MESSAGE(ephemeralContainerCommon, "EphemeralContainerCommon");
  CORE_MESSAGE(containerPort, "ContainerPort");
  CORE_MESSAGE(envVar, "EnvVar");
  CORE_MESSAGE(envVarSource, "EnvVarSource");
  CORE_MESSAGE(objectFieldSelector, "ObjectFieldSelector");
  CORE_MESSAGE(resourceFieldSelector, "ResourceFieldSelector");
  CORE_MESSAGE(configMapKeySelector, "ConfigMapKeySelector");
  CORE_MESSAGE(secretKeySelector, "SecretKeySelector");
  CORE_MESSAGE(envFromSource, "EnvFromSource");
  CORE_MESSAGE(configMapEnvSource, "ConfigMapEnvSource");
  CORE_MESSAGE(secretEnvSource, "SecretEnvSource");
  CORE_MESSAGE(resourceRequirements, "ResourceRequirements");
  CORE_MESSAGE(resourceClaim, "ResourceClaim");
  CORE_MESSAGE(containerResizePolicy, "ContainerResizePolicy");
  CORE_MESSAGE(volumeMount, "VolumeMount");
  CORE_MESSAGE(volumeDevice, "VolumeDevice");
  CORE_MESSAGE(probe, "Probe");
  CORE_MESSAGE(probeHandler, "ProbeHandler");
  CORE_MESSAGE(execAction, "ExecAction");
  CORE_MESSAGE(httpGetAction, "HTTPGetAction");
  CORE_MESSAGE(httpHeader, "HTTPHeader");
  CORE_MESSAGE(tcpSocketAction, "TCPSocketAction");
  CORE_MESSAGE(grpcAction, "GRPCAction");
  CORE_MESSAGE(lifecycle, "Lifecycle");
  CORE_MESSAGE(lifecycleHandler, "LifecycleHandler");
  CORE_MESSAGE(sleepAction, "SleepAction");
  CORE_MESSAGE(securityContext, "SecurityContext");
  CORE_MESSAGE(capabilities, "Capabilities");
  CORE_MESSAGE(seLinuxOptions, "SELinuxOptions");
  CORE_MESSAGE(seccompProfile, "SeccompProfile");
  CORE_MESSAGE(appArmorProfile, "AppArmorProfile");
  CORE_MESSAGE(windowsSecurityContextOptions, "WindowsSecurityContextOptions");
  CORE_MESSAGE(podSecurityContext, "PodSecurityContext");
  CORE_MESSAGE(sysctl, "Sysctl");
  CORE_MESSAGE(affinity, "Affinity");
  CORE_MESSAGE(nodeAffinity, "NodeAffinity");
  CORE_MESSAGE(nodeSelector, "NodeSelector");
  CORE_MESSAGE(nodeSelectorTerm, "NodeSelectorTerm");
  CORE_MESSAGE(nodeSelectorRequirement, "NodeSelectorRequirement");
  CORE_MESSAGE(preferredSchedulingTerm, "PreferredSchedulingTerm");
  CORE_MESSAGE(podAffinity, "PodAffinity");
  CORE_MESSAGE(podAntiAffinity, "PodAntiAffinity");
  CORE_MESSAGE(podAffinityTerm, "PodAffinityTerm");
  CORE_MESSAGE(weightedPodAffinityTerm, "WeightedPodAffinityTerm");
  CORE_MESSAGE(toleration, "Toleration");
  CORE_MESSAGE(topologySpreadConstraint, "TopologySpreadConstraint");
  CORE_MESSAGE(hostAlias, "HostAlias");
  CORE_MESSAGE(podDNSConfig, "PodDNSConfig");
  CORE_MESSAGE(podDNSConfigOption, "PodDNSConfigOption");
  CORE_MESSAGE(podReadinessGate, "PodReadinessGate");
  CORE_MESSAGE(podOS, "PodOS");
  CORE_MESSAGE(podSchedulingGate, "PodSchedulingGate");
  CORE_MESSAGE(podResourceClaim, "PodResourceClaim");
  // Volumes.
  CORE_MESSAGE(volume, "Volume");
  CORE_MESSAGE(volumeSource, "VolumeSource");
  CORE_MESSAGE(hostPathVolumeSource, "HostPathVolumeSource");
  CORE_MESSAGE(emptyDirVolumeSource, "EmptyDirVolumeSource");
  CORE_MESSAGE(secretVolumeSource, "SecretVolumeSource");
  CORE_MESSAGE(configMapVolumeSource, "ConfigMapVolumeSource");
  CORE_MESSAGE(keyToPath, "KeyToPath");
  CORE_MESSAGE(persistentVolumeClaimVolumeSource, "PersistentVolumeClaimVolumeSource");
  CORE_MESSAGE(nfsVolumeSource, "NFSVolumeSource");
  CORE_MESSAGE(csiVolumeSource, "CSIVolumeSource");
  CORE_MESSAGE(downwardAPIVolumeSource, "DownwardAPIVolumeSource");
  CORE_MESSAGE(downwardAPIVolumeFile, "DownwardAPIVolumeFile");
  CORE_MESSAGE(projectedVolumeSource, "ProjectedVolumeSource");
  CORE_MESSAGE(volumeProjection, "VolumeProjection");
  CORE_MESSAGE(secretProjection, "SecretProjection");
  CORE_MESSAGE(configMapProjection, "ConfigMapProjection");
  CORE_MESSAGE(downwardAPIProjection, "DownwardAPIProjection");
  CORE_MESSAGE(serviceAccountTokenProjection, "ServiceAccountTokenProjection");
  CORE_MESSAGE(imageVolumeSource, "ImageVolumeSource");

  CoreTypes();
  void buildKinds();
  void buildPodSpec();
  void buildContainer();
  void buildScheduling();
  void buildVolumes();
  void buildStorage();
};

#undef CORE_MESSAGE

CoreTypes::CoreTypes() {
  buildKinds();
  buildPodSpec();
  buildContainer();
  buildScheduling();
  buildVolumes();
  buildStorage();
}

void CoreTypes::buildKinds() {
  const MetaTypes& m = meta();
  namespaceKind.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, namespaceSpec),
      F("status", 3, namespaceStatus),
  };
  namespaceSpec.fields = {F("finalizers", 1).list().atomic()};
  namespaceStatus.fields = {
      F("phase", 1),
      F("conditions", 2, namespaceCondition).list().merge("type").mapKeys({"type"}),
  };
  namespaceCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };

  node.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, nodeSpec),
      F("status", 3, nodeStatus),
  };
  nodeSpec.fields = {
      F("podCIDR", 1),
      F("podCIDRs", 7).list().merge().set(),
      F("providerID", 3),
      F("unschedulable", 4, Type::Bool),
      F("taints", 5, taint).list().atomic(),
      F("configSource", 6, Type::Any),
      F("externalID", 2),
  };
  taint.fields = {
      F("key", 1),
      F("value", 2),
      F("effect", 3),
      F("timeAdded", 4, Type::Time),
  };
  nodeStatus.fields = {
      F("capacity", 1, Type::Quantity).map(),
      F("allocatable", 2, Type::Quantity).map(),
      F("phase", 3),
      F("conditions", 4, nodeCondition).list().merge("type").mapKeys({"type"}),
      F("addresses", 5, nodeAddress).list().merge("type").mapKeys({"type"}),
      F("daemonEndpoints", 6, nodeDaemonEndpoints),
      F("nodeInfo", 7, nodeSystemInfo),
      F("images", 8, containerImage).list().atomic(),
      F("volumesInUse", 9).list().atomic(),
      F("volumesAttached", 10, attachedVolume).list().atomic(),
      F("config", 11, Type::Any),
      F("runtimeHandlers", 12, Type::Any).list().atomic(),
      F("features", 13, Type::Any),
  };
  nodeCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastHeartbeatTime", 3, Type::Time),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };
  nodeAddress.fields = {F("type", 1), F("address", 2)};
  nodeDaemonEndpoints.fields = {F("kubeletEndpoint", 1, daemonEndpoint)};
  daemonEndpoint.fields = {F("Port", 1, Type::Int32)};
  nodeSystemInfo.fields = {
      F("machineID", 1),
      F("systemUUID", 2),
      F("bootID", 3),
      F("kernelVersion", 4),
      F("osImage", 5),
      F("containerRuntimeVersion", 6),
      F("kubeletVersion", 7),
      F("kubeProxyVersion", 8),
      F("operatingSystem", 9),
      F("architecture", 10),
  };
  containerImage.fields = {F("names", 1).list().atomic(), F("sizeBytes", 2, Type::Int64)};
  attachedVolume.fields = {F("name", 1), F("devicePath", 2)};

  pod.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, podSpec),
      F("status", 3, podStatus),
  };
  podStatus.fields = {
      F("phase", 1),
      F("conditions", 2, podCondition).list().merge("type").mapKeys({"type"}),
      F("message", 3),
      F("reason", 4),
      F("nominatedNodeName", 11),
      F("hostIP", 5),
      F("hostIPs", 16, hostIP).list().merge("ip").atomic(),
      F("podIP", 6),
      F("podIPs", 12, podIP).list().merge("ip").mapKeys({"ip"}),
      F("startTime", 7, Type::Time),
      F("initContainerStatuses", 10, containerStatus).list().atomic(),
      F("containerStatuses", 8, containerStatus).list().atomic(),
      F("qosClass", 9),
      F("ephemeralContainerStatuses", 13, containerStatus).list().atomic(),
      F("resize", 14),
      F("resourceClaimStatuses", 15, Type::Any).list().strategy("merge,retainKeys", "name")
          .mapKeys({"name"}),
  };
  podCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastProbeTime", 3, Type::Time),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };
  podIP.fields = {F("ip", 1)};
  hostIP.fields = {F("ip", 1)};
  containerStatus.fields = {
      F("name", 1),
      F("state", 2, containerState),
      F("lastState", 3, containerState),
      F("ready", 4, Type::Bool),
      F("restartCount", 5, Type::Int32),
      F("image", 6),
      F("imageID", 7),
      F("containerID", 8),
      F("started", 9, Type::Bool),
      F("allocatedResources", 10, Type::Quantity).map(),
      F("resources", 11, resourceRequirements),
      F("volumeMounts", 12, Type::Any).list().merge("mountPath").mapKeys({"mountPath"}),
      F("user", 13, Type::Any),
      F("allocatedResourcesStatus", 14, Type::Any).list().merge("name").mapKeys({"name"}),
  };
  containerState.fields = {
      F("waiting", 1, containerStateWaiting),
      F("running", 2, containerStateRunning),
      F("terminated", 3, containerStateTerminated),
  };
  containerStateWaiting.fields = {F("reason", 1), F("message", 2)};
  containerStateRunning.fields = {F("startedAt", 1, Type::Time)};
  containerStateTerminated.fields = {
      F("exitCode", 1, Type::Int32),
      F("signal", 2, Type::Int32),
      F("reason", 3),
      F("message", 4),
      F("startedAt", 5, Type::Time),
      F("finishedAt", 6, Type::Time),
      F("containerID", 7),
  };

  service.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, serviceSpec),
      F("status", 3, serviceStatus),
  };
  serviceSpec.fields = {
      F("ports", 1, servicePort).list().merge("port").mapKeys({"port", "protocol"}),
      F("selector", 2).map(),
      F("clusterIP", 3),
      F("clusterIPs", 18).list().atomic(),
      F("type", 4),
      F("externalIPs", 5).list().atomic(),
      F("sessionAffinity", 7),
      F("loadBalancerIP", 8),
      F("loadBalancerSourceRanges", 9).list().atomic(),
      F("externalName", 10),
      F("externalTrafficPolicy", 11),
      F("healthCheckNodePort", 12, Type::Int32),
      F("publishNotReadyAddresses", 13, Type::Bool),
      F("sessionAffinityConfig", 14, sessionAffinityConfig),
      F("ipFamilies", 19).list().atomic(),
      F("ipFamilyPolicy", 17),
      F("allocateLoadBalancerNodePorts", 20, Type::Bool),
      F("loadBalancerClass", 21),
      F("internalTrafficPolicy", 22),
      F("trafficDistribution", 23),
  };
  servicePort.fields = {
      F("name", 1),
      F("protocol", 2),
      F("appProtocol", 6),
      F("port", 3, Type::Int32),
      F("targetPort", 4, Type::IntOrString),
      F("nodePort", 5, Type::Int32),
  };
  sessionAffinityConfig.fields = {F("clientIP", 1, clientIPConfig)};
  clientIPConfig.fields = {F("timeoutSeconds", 1, Type::Int32)};
  serviceStatus.fields = {
      F("loadBalancer", 1, loadBalancerStatus),
      F("conditions", 2, m.condition).list().merge("type").mapKeys({"type"}),
  };
  loadBalancerStatus.fields = {F("ingress", 1, loadBalancerIngress).list().atomic()};
  loadBalancerIngress.fields = {
      F("ip", 1),
      F("hostname", 2),
      F("ipMode", 3),
      F("ports", 4, portStatus).list().atomic(),
  };
  portStatus.fields = {F("port", 1, Type::Int32), F("protocol", 2), F("error", 3)};

  endpoints.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("subsets", 2, endpointSubset).list().atomic(),
  };
  endpointSubset.fields = {
      F("addresses", 1, endpointAddress).list().atomic(),
      F("notReadyAddresses", 2, endpointAddress).list().atomic(),
      F("ports", 3, endpointPort).list().atomic(),
  };
  endpointAddress.fields = {
      F("ip", 1),
      F("hostname", 3),
      F("nodeName", 4),
      F("targetRef", 2, objectReference),
  };
  endpointPort.fields = {
      F("name", 1),
      F("port", 2, Type::Int32),
      F("protocol", 3),
      F("appProtocol", 4),
  };

  secret.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("immutable", 5, Type::Bool),
      F("data", 2, Type::Bytes).map(),
      F("stringData", 4).map(),
      F("type", 3),
  };
  configMap.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("immutable", 4, Type::Bool),
      F("data", 2).map(),
      F("binaryData", 3, Type::Bytes).map(),
  };

  event.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("involvedObject", 2, objectReference),
      F("reason", 3),
      F("message", 4),
      F("source", 5, eventSource),
      F("firstTimestamp", 6, Type::Time),
      F("lastTimestamp", 7, Type::Time),
      F("count", 8, Type::Int32),
      F("type", 9),
      F("eventTime", 10, Type::MicroTime),
      F("series", 11, eventSeries),
      F("action", 12),
      F("related", 13, objectReference),
      F("reportingComponent", 14),
      F("reportingInstance", 15),
  };
  eventSource.fields = {F("component", 1), F("host", 2)};
  eventSeries.fields = {F("count", 1, Type::Int32), F("lastObservedTime", 2, Type::MicroTime)};

  serviceAccount.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("secrets", 2, objectReference).list().merge("name").mapKeys({"name"}),
      F("imagePullSecrets", 3, localObjectReference).list().atomic(),
      F("automountServiceAccountToken", 4, Type::Bool),
  };

  binding.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("target", 2, objectReference),
  };

  objectReference.fields = {
      F("kind", 1),
      F("namespace", 2),
      F("name", 3),
      F("uid", 4),
      F("apiVersion", 5),
      F("resourceVersion", 6),
      F("fieldPath", 7),
  };
  localObjectReference.fields = {F("name", 1)};
  typedLocalObjectReference.fields = {F("apiGroup", 1), F("kind", 2), F("name", 3)};
}

void CoreTypes::buildPodSpec() {
  podTemplateSpec.fields = {
      F("metadata", 1, meta().objectMeta),
      F("spec", 2, podSpec),
  };
  podSpec.fields = {
      F("volumes", 1, volume).list().strategy("merge,retainKeys", "name").mapKeys({"name"}),
      F("initContainers", 20, container).list().merge("name").mapKeys({"name"}),
      F("containers", 2, container).list().merge("name").mapKeys({"name"}),
      F("ephemeralContainers", 34, ephemeralContainer).list().merge("name").mapKeys({"name"}),
      F("restartPolicy", 3),
      F("terminationGracePeriodSeconds", 4, Type::Int64),
      F("activeDeadlineSeconds", 5, Type::Int64),
      F("dnsPolicy", 6),
      F("nodeSelector", 7).map(),
      F("serviceAccountName", 8),
      F("serviceAccount", 9),
      F("automountServiceAccountToken", 21, Type::Bool),
      F("nodeName", 10),
      F("hostNetwork", 11, Type::Bool),
      F("hostPID", 12, Type::Bool),
      F("hostIPC", 13, Type::Bool),
      F("shareProcessNamespace", 27, Type::Bool),
      F("securityContext", 14, podSecurityContext),
      F("imagePullSecrets", 15, localObjectReference).list().merge("name").mapKeys({"name"}),
      F("hostname", 16),
      F("subdomain", 17),
      F("affinity", 18, affinity),
      F("schedulerName", 19),
      F("tolerations", 22, toleration).list().atomic(),
      F("hostAliases", 23, hostAlias).list().merge("ip").mapKeys({"ip"}),
      F("priorityClassName", 24),
      F("priority", 25, Type::Int32),
      F("dnsConfig", 26, podDNSConfig),
      F("readinessGates", 28, podReadinessGate).list().atomic(),
      F("runtimeClassName", 29),
      F("enableServiceLinks", 30, Type::Bool),
      F("preemptionPolicy", 31),
      F("overhead", 32, Type::Quantity).map(),
      F("topologySpreadConstraints", 33, topologySpreadConstraint)
          .list()
          .merge("topologyKey")
          .mapKeys({"topologyKey", "whenUnsatisfiable"}),
      F("setHostnameAsFQDN", 35, Type::Bool),
      F("os", 36, podOS),
      F("hostUsers", 37, Type::Bool),
      F("schedulingGates", 38, podSchedulingGate).list().merge("name").mapKeys({"name"}),
      F("resourceClaims", 39, podResourceClaim)
          .list()
          .strategy("merge,retainKeys", "name")
          .mapKeys({"name"}),
      F("resources", 40, resourceRequirements),
  };
  hostAlias.fields = {F("ip", 1), F("hostnames", 2).list().atomic()};
  podDNSConfig.fields = {
      F("nameservers", 1).list().atomic(),
      F("searches", 2).list().atomic(),
      F("options", 3, podDNSConfigOption).list().atomic(),
  };
  podDNSConfigOption.fields = {F("name", 1), F("value", 2)};
  podReadinessGate.fields = {F("conditionType", 1)};
  podOS.fields = {F("name", 1)};
  podSchedulingGate.fields = {F("name", 1)};
  podResourceClaim.fields = {
      F("name", 1),
      F("resourceClaimName", 3),
      F("resourceClaimTemplateName", 4),
  };
  podSecurityContext.fields = {
      F("seLinuxOptions", 1, seLinuxOptions),
      F("windowsOptions", 8, windowsSecurityContextOptions),
      F("runAsUser", 2, Type::Int64),
      F("runAsGroup", 6, Type::Int64),
      F("runAsNonRoot", 3, Type::Bool),
      F("supplementalGroups", 4, Type::Int64).list().atomic(),
      F("supplementalGroupsPolicy", 12),
      F("fsGroup", 5, Type::Int64),
      F("sysctls", 7, sysctl).list().atomic(),
      F("fsGroupChangePolicy", 9),
      F("seccompProfile", 10, seccompProfile),
      F("appArmorProfile", 11, appArmorProfile),
      F("seLinuxChangePolicy", 13),
  };
  sysctl.fields = {F("name", 1), F("value", 2)};
}

void CoreTypes::buildContainer() {
  // Container and EphemeralContainerCommon (inlined into EphemeralContainer
  // as field 1) have the same fields and numbers.
  std::vector<Field> common = {
      F("name", 1),
      F("image", 2),
      F("command", 3).list().atomic(),
      F("args", 4).list().atomic(),
      F("workingDir", 5),
      F("ports", 6, containerPort)
          .list()
          .merge("containerPort")
          .mapKeys({"containerPort", "protocol"}),
      F("envFrom", 19, envFromSource).list().atomic(),
      F("env", 7, envVar).list().merge("name").mapKeys({"name"}),
      F("resources", 8, resourceRequirements),
      F("resizePolicy", 23, containerResizePolicy).list().atomic(),
      F("restartPolicy", 24),
      F("volumeMounts", 9, volumeMount).list().merge("mountPath").mapKeys({"mountPath"}),
      F("volumeDevices", 21, volumeDevice).list().merge("devicePath").mapKeys({"devicePath"}),
      F("livenessProbe", 10, probe),
      F("readinessProbe", 11, probe),
      F("startupProbe", 22, probe),
      F("lifecycle", 12, lifecycle),
      F("terminationMessagePath", 13),
      F("terminationMessagePolicy", 20),
      F("imagePullPolicy", 14),
      F("securityContext", 15, securityContext),
      F("stdin", 16, Type::Bool),
      F("stdinOnce", 17, Type::Bool),
      F("tty", 18, Type::Bool),
  };
  container.fields = common;
  ephemeralContainerCommon.fields = std::move(common);
  ephemeralContainer.fields = {
      inlined(1, ephemeralContainerCommon),
      F("targetContainerName", 2),
  };

  containerPort.fields = {
      F("name", 1),
      F("hostPort", 2, Type::Int32),
      F("containerPort", 3, Type::Int32),
      F("protocol", 4),
      F("hostIP", 5),
  };
  envVar.fields = {F("name", 1), F("value", 2), F("valueFrom", 3, envVarSource)};
  envVarSource.fields = {
      F("fieldRef", 1, objectFieldSelector),
      F("resourceFieldRef", 2, resourceFieldSelector),
      F("configMapKeyRef", 3, configMapKeySelector),
      F("secretKeyRef", 4, secretKeySelector),
  };
  objectFieldSelector.fields = {F("apiVersion", 1), F("fieldPath", 2)};
  resourceFieldSelector.fields = {
      F("containerName", 1),
      F("resource", 2),
      F("divisor", 3, Type::Quantity),
  };
  configMapKeySelector.fields = {
      inlined(1, localObjectReference),
      F("key", 2),
      F("optional", 3, Type::Bool),
  };
  secretKeySelector.fields = {
      inlined(1, localObjectReference),
      F("key", 2),
      F("optional", 3, Type::Bool),
  };
  envFromSource.fields = {
      F("prefix", 1),
      F("configMapRef", 2, configMapEnvSource),
      F("secretRef", 3, secretEnvSource),
  };
  configMapEnvSource.fields = {inlined(1, localObjectReference), F("optional", 2, Type::Bool)};
  secretEnvSource.fields = {inlined(1, localObjectReference), F("optional", 2, Type::Bool)};
  resourceRequirements.fields = {
      F("limits", 1, Type::Quantity).map(),
      F("requests", 2, Type::Quantity).map(),
      F("claims", 3, resourceClaim).list().mapKeys({"name"}),
  };
  resourceClaim.fields = {F("name", 1), F("request", 2)};
  containerResizePolicy.fields = {F("resourceName", 1), F("restartPolicy", 2)};
  volumeMount.fields = {
      F("name", 1),
      F("readOnly", 2, Type::Bool),
      F("recursiveReadOnly", 7),
      F("mountPath", 3),
      F("subPath", 4),
      F("mountPropagation", 5),
      F("subPathExpr", 6),
  };
  volumeDevice.fields = {F("name", 1), F("devicePath", 2)};
  probe.fields = {
      inlined(1, probeHandler),
      F("initialDelaySeconds", 2, Type::Int32),
      F("timeoutSeconds", 3, Type::Int32),
      F("periodSeconds", 4, Type::Int32),
      F("successThreshold", 5, Type::Int32),
      F("failureThreshold", 6, Type::Int32),
      F("terminationGracePeriodSeconds", 7, Type::Int64),
  };
  probeHandler.fields = {
      F("exec", 1, execAction),
      F("httpGet", 2, httpGetAction),
      F("tcpSocket", 3, tcpSocketAction),
      F("grpc", 4, grpcAction),
  };
  execAction.fields = {F("command", 1).list().atomic()};
  httpGetAction.fields = {
      F("path", 1),
      F("port", 2, Type::IntOrString),
      F("host", 3),
      F("scheme", 4),
      F("httpHeaders", 5, httpHeader).list().atomic(),
  };
  httpHeader.fields = {F("name", 1), F("value", 2)};
  tcpSocketAction.fields = {F("port", 1, Type::IntOrString), F("host", 2)};
  grpcAction.fields = {F("port", 1, Type::Int32), F("service", 2)};
  lifecycle.fields = {
      F("postStart", 1, lifecycleHandler),
      F("preStop", 2, lifecycleHandler),
  };
  lifecycleHandler.fields = {
      F("exec", 1, execAction),
      F("httpGet", 2, httpGetAction),
      F("tcpSocket", 3, tcpSocketAction),
      F("sleep", 4, sleepAction),
  };
  sleepAction.fields = {F("seconds", 1, Type::Int64)};
  securityContext.fields = {
      F("capabilities", 1, capabilities),
      F("privileged", 2, Type::Bool),
      F("seLinuxOptions", 3, seLinuxOptions),
      F("windowsOptions", 10, windowsSecurityContextOptions),
      F("runAsUser", 4, Type::Int64),
      F("runAsGroup", 8, Type::Int64),
      F("runAsNonRoot", 5, Type::Bool),
      F("readOnlyRootFilesystem", 6, Type::Bool),
      F("allowPrivilegeEscalation", 7, Type::Bool),
      F("procMount", 9),
      F("seccompProfile", 11, seccompProfile),
      F("appArmorProfile", 12, appArmorProfile),
  };
  capabilities.fields = {F("add", 1).list().atomic(), F("drop", 2).list().atomic()};
  seLinuxOptions.fields = {F("user", 1), F("role", 2), F("type", 3), F("level", 4)};
  seccompProfile.fields = {F("type", 1), F("localhostProfile", 2)};
  appArmorProfile.fields = {F("type", 1), F("localhostProfile", 2)};
  windowsSecurityContextOptions.fields = {
      F("gmsaCredentialSpecName", 1),
      F("gmsaCredentialSpec", 2),
      F("runAsUserName", 3),
      F("hostProcess", 4, Type::Bool),
  };
}

void CoreTypes::buildScheduling() {
  const MetaTypes& m = meta();
  affinity.fields = {
      F("nodeAffinity", 1, nodeAffinity),
      F("podAffinity", 2, podAffinity),
      F("podAntiAffinity", 3, podAntiAffinity),
  };
  nodeAffinity.fields = {
      F("requiredDuringSchedulingIgnoredDuringExecution", 1, nodeSelector),
      F("preferredDuringSchedulingIgnoredDuringExecution", 2, preferredSchedulingTerm)
          .list()
          .atomic(),
  };
  nodeSelector.fields = {F("nodeSelectorTerms", 1, nodeSelectorTerm).list().atomic()};
  nodeSelectorTerm.fields = {
      F("matchExpressions", 1, nodeSelectorRequirement).list().atomic(),
      F("matchFields", 2, nodeSelectorRequirement).list().atomic(),
  };
  nodeSelectorRequirement.fields = {
      F("key", 1),
      F("operator", 2),
      F("values", 3).list().atomic(),
  };
  preferredSchedulingTerm.fields = {
      F("weight", 1, Type::Int32),
      F("preference", 2, nodeSelectorTerm),
  };
  podAffinity.fields = {
      F("requiredDuringSchedulingIgnoredDuringExecution", 1, podAffinityTerm).list().atomic(),
      F("preferredDuringSchedulingIgnoredDuringExecution", 2, weightedPodAffinityTerm)
          .list()
          .atomic(),
  };
  podAntiAffinity.fields = podAffinity.fields;
  podAffinityTerm.fields = {
      F("labelSelector", 1, m.labelSelector),
      F("namespaces", 2).list().atomic(),
      F("topologyKey", 3),
      F("namespaceSelector", 4, m.labelSelector),
      F("matchLabelKeys", 5).list().atomic(),
      F("mismatchLabelKeys", 6).list().atomic(),
  };
  weightedPodAffinityTerm.fields = {
      F("weight", 1, Type::Int32),
      F("podAffinityTerm", 2, podAffinityTerm),
  };
  toleration.fields = {
      F("key", 1),
      F("operator", 2),
      F("value", 3),
      F("effect", 4),
      F("tolerationSeconds", 5, Type::Int64),
  };
  topologySpreadConstraint.fields = {
      F("maxSkew", 1, Type::Int32),
      F("topologyKey", 2),
      F("whenUnsatisfiable", 3),
      F("labelSelector", 4, m.labelSelector),
      F("minDomains", 5, Type::Int32),
      F("nodeAffinityPolicy", 6),
      F("nodeTaintsPolicy", 7),
      F("matchLabelKeys", 8).list().atomic(),
  };
}

void CoreTypes::buildVolumes() {
  volume.fields = {F("name", 1), inlined(2, volumeSource)};
  // The volume plugins of cloud providers and storage systems are typed as
  // free-form: they are accepted, just not checked field by field.
  volumeSource.fields = {
      F("hostPath", 1, hostPathVolumeSource),
      F("emptyDir", 2, emptyDirVolumeSource),
      F("gcePersistentDisk", 3, Type::Any),
      F("awsElasticBlockStore", 4, Type::Any),
      F("gitRepo", 5, Type::Any),
      F("secret", 6, secretVolumeSource),
      F("nfs", 7, nfsVolumeSource),
      F("iscsi", 8, Type::Any),
      F("glusterfs", 9, Type::Any),
      F("persistentVolumeClaim", 10, persistentVolumeClaimVolumeSource),
      F("rbd", 11, Type::Any),
      F("flexVolume", 12, Type::Any),
      F("cinder", 13, Type::Any),
      F("cephfs", 14, Type::Any),
      F("flocker", 15, Type::Any),
      F("downwardAPI", 16, downwardAPIVolumeSource),
      F("fc", 17, Type::Any),
      F("azureFile", 18, Type::Any),
      F("configMap", 19, configMapVolumeSource),
      F("vsphereVolume", 20, Type::Any),
      F("quobyte", 21, Type::Any),
      F("azureDisk", 22, Type::Any),
      F("photonPersistentDisk", 23, Type::Any),
      F("projected", 26, projectedVolumeSource),
      F("portworxVolume", 24, Type::Any),
      F("scaleIO", 25, Type::Any),
      F("storageos", 27, Type::Any),
      F("csi", 28, csiVolumeSource),
      F("ephemeral", 29, Type::Any),
      F("image", 30, imageVolumeSource),
  };
  hostPathVolumeSource.fields = {F("path", 1), F("type", 2)};
  emptyDirVolumeSource.fields = {F("medium", 1), F("sizeLimit", 2, Type::Quantity)};
  secretVolumeSource.fields = {
      F("secretName", 1),
      F("items", 2, keyToPath).list().atomic(),
      F("defaultMode", 3, Type::Int32),
      F("optional", 4, Type::Bool),
  };
  configMapVolumeSource.fields = {
      inlined(1, localObjectReference),
      F("items", 2, keyToPath).list().atomic(),
      F("defaultMode", 3, Type::Int32),
      F("optional", 4, Type::Bool),
  };
  keyToPath.fields = {F("key", 1), F("path", 2), F("mode", 3, Type::Int32)};
  persistentVolumeClaimVolumeSource.fields = {
      F("claimName", 1),
      F("readOnly", 2, Type::Bool),
  };
  nfsVolumeSource.fields = {F("server", 1), F("path", 2), F("readOnly", 3, Type::Bool)};
  csiVolumeSource.fields = {
      F("driver", 1),
      F("readOnly", 2, Type::Bool),
      F("fsType", 3),
      F("volumeAttributes", 4).map(),
      F("nodePublishSecretRef", 5, localObjectReference),
  };
  downwardAPIVolumeSource.fields = {
      F("items", 1, downwardAPIVolumeFile).list().atomic(),
      F("defaultMode", 2, Type::Int32),
  };
  downwardAPIVolumeFile.fields = {
      F("path", 1),
      F("fieldRef", 2, objectFieldSelector),
      F("resourceFieldRef", 3, resourceFieldSelector),
      F("mode", 4, Type::Int32),
  };
  projectedVolumeSource.fields = {
      F("sources", 1, volumeProjection).list().atomic(),
      F("defaultMode", 2, Type::Int32),
  };
  volumeProjection.fields = {
      F("secret", 1, secretProjection),
      F("downwardAPI", 2, downwardAPIProjection),
      F("configMap", 3, configMapProjection),
      F("serviceAccountToken", 4, serviceAccountTokenProjection),
      F("clusterTrustBundle", 5, Type::Any),
  };
  secretProjection.fields = {
      inlined(1, localObjectReference),
      F("items", 2, keyToPath).list().atomic(),
      F("optional", 4, Type::Bool),
  };
  configMapProjection.fields = {
      inlined(1, localObjectReference),
      F("items", 2, keyToPath).list().atomic(),
      F("optional", 4, Type::Bool),
  };
  downwardAPIProjection.fields = {F("items", 1, downwardAPIVolumeFile).list().atomic()};
  serviceAccountTokenProjection.fields = {
      F("audience", 1),
      F("expirationSeconds", 2, Type::Int64),
      F("path", 3),
  };
  imageVolumeSource.fields = {F("reference", 1), F("pullPolicy", 2)};
}

void CoreTypes::buildStorage() {
  const MetaTypes& m = meta();
  persistentVolumeClaim.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, persistentVolumeClaimSpec),
      F("status", 3, persistentVolumeClaimStatus),
  };
  persistentVolumeClaimSpec.fields = {
      F("accessModes", 1).list().atomic(),
      F("selector", 4, m.labelSelector),
      F("resources", 2, volumeResourceRequirements),
      F("volumeName", 3),
      F("storageClassName", 5),
      F("volumeMode", 6),
      F("dataSource", 7, typedLocalObjectReference),
      F("dataSourceRef", 8, typedObjectReference),
      F("volumeAttributesClassName", 9),
  };
  volumeResourceRequirements.fields = {
      F("limits", 1, Type::Quantity).map(),
      F("requests", 2, Type::Quantity).map(),
  };
  typedObjectReference.fields = {
      F("apiGroup", 1),
      F("kind", 2),
      F("name", 3),
      F("namespace", 4),
  };
  persistentVolumeClaimStatus.fields = {
      F("phase", 1),
      F("accessModes", 2).list().atomic(),
      F("capacity", 3, Type::Quantity).map(),
      F("conditions", 4, persistentVolumeClaimCondition).list().merge("type").mapKeys({"type"}),
      F("allocatedResources", 5, Type::Quantity).map(),
      F("allocatedResourceStatuses", 7).map(),
      F("currentVolumeAttributesClassName", 8),
      F("modifyVolumeStatus", 9, modifyVolumeStatus),
  };
  persistentVolumeClaimCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastProbeTime", 3, Type::Time),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };
  modifyVolumeStatus.fields = {F("targetVolumeAttributesClassName", 1), F("status", 2)};

  persistentVolume.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, persistentVolumeSpec),
      F("status", 3, persistentVolumeStatus),
  };
  persistentVolumeSpec.fields = {
      F("capacity", 1, Type::Quantity).map(),
      inlined(2, persistentVolumeSource),
      F("accessModes", 3).list().atomic(),
      F("claimRef", 4, objectReference),
      F("persistentVolumeReclaimPolicy", 5),
      F("storageClassName", 6),
      F("mountOptions", 7).list().atomic(),
      F("volumeMode", 8),
      F("nodeAffinity", 9, volumeNodeAffinity),
      F("volumeAttributesClassName", 10),
  };
  // As in volumeSource: the plugins podnet has no use for are free-form.
  persistentVolumeSource.fields = {
      F("gcePersistentDisk", 1, Type::Any),
      F("awsElasticBlockStore", 2, Type::Any),
      F("hostPath", 3, hostPathVolumeSource),
      F("glusterfs", 4, Type::Any),
      F("nfs", 5, nfsVolumeSource),
      F("rbd", 6, Type::Any),
      F("iscsi", 7, Type::Any),
      F("cinder", 8, Type::Any),
      F("cephfs", 9, Type::Any),
      F("fc", 10, Type::Any),
      F("flocker", 11, Type::Any),
      F("flexVolume", 12, Type::Any),
      F("azureFile", 13, Type::Any),
      F("vsphereVolume", 14, Type::Any),
      F("quobyte", 15, Type::Any),
      F("azureDisk", 16, Type::Any),
      F("photonPersistentDisk", 17, Type::Any),
      F("portworxVolume", 18, Type::Any),
      F("scaleIO", 19, Type::Any),
      F("local", 20, localVolumeSource),
      F("storageos", 21, Type::Any),
      F("csi", 22, csiPersistentVolumeSource),
  };
  localVolumeSource.fields = {F("path", 1), F("fsType", 2)};
  csiPersistentVolumeSource.fields = {
      F("driver", 1),
      F("volumeHandle", 2),
      F("readOnly", 3, Type::Bool),
      F("fsType", 4),
      F("volumeAttributes", 5).map(),
      F("controllerPublishSecretRef", 6, secretReference),
      F("nodeStageSecretRef", 7, secretReference),
      F("nodePublishSecretRef", 8, secretReference),
      F("controllerExpandSecretRef", 9, secretReference),
      F("nodeExpandSecretRef", 10, secretReference),
  };
  secretReference.fields = {F("name", 1), F("namespace", 2)};
  volumeNodeAffinity.fields = {F("required", 1, nodeSelector)};
  persistentVolumeStatus.fields = {
      F("phase", 1),
      F("message", 2),
      F("reason", 3),
      F("lastPhaseTransitionTime", 4, Type::Time),
  };
}

const CoreTypes& core() {
  static const CoreTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

}  // namespace

const CoreShared& coreShared() {
  static const CoreShared shared = [] {
    const CoreTypes& c = core();
    CoreShared out;
    out.podTemplateSpec = &c.podTemplateSpec;
    out.objectReference = &c.objectReference;
    out.localObjectReference = &c.localObjectReference;
    out.typedLocalObjectReference = &c.typedLocalObjectReference;
    out.portStatus = &c.portStatus;
    out.persistentVolumeClaim = &c.persistentVolumeClaim;
    return out;
  }();
  return shared;
}

void coreKinds(std::vector<KindSchema>& out) {
  const CoreTypes& c = core();
  for (const Message* message :
       {&c.namespaceKind, &c.node, &c.pod, &c.service, &c.endpoints, &c.secret, &c.configMap,
        &c.event, &c.serviceAccount, &c.persistentVolumeClaim, &c.persistentVolume}) {
    std::string_view kind = message->name.substr(message->name.rfind('.') + 1);
    out.push_back({"", "v1", kind, message, true});
  }
}

void bindingKind(std::vector<KindSchema>& out) {
  out.push_back({"", "v1", "Binding", &core().binding, false});
}

// clang-format on

}  // namespace podnet::api::schema::detail
