#include "api/defaults.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace podnet::api {
namespace {

using testing::yaml;

Json defaulted(std::string_view kind, std::string_view text) {
  Json obj = yaml(text);
  applyDefaults(resource(kind), obj);
  return obj;
}

TEST(ServiceDefaults, ClusterIPService) {
  Json svc = defaulted("Service", R"(
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - port: 80
  - port: 443
    targetPort: https
    protocol: UDP
)");
  const Json& spec = svc["spec"];
  EXPECT_EQ(spec["type"], "ClusterIP");
  EXPECT_EQ(spec["sessionAffinity"], "None");
  EXPECT_EQ(spec["internalTrafficPolicy"], "Cluster");
  EXPECT_FALSE(spec.contains("externalTrafficPolicy"));
  EXPECT_EQ(spec["ipFamilyPolicy"], "SingleStack");
  EXPECT_EQ(spec["ipFamilies"], Json::array({"IPv4"}));
  EXPECT_EQ(spec["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(spec["ports"][0]["targetPort"], 80);
  EXPECT_EQ(spec["ports"][1]["protocol"], "UDP");
  EXPECT_EQ(spec["ports"][1]["targetPort"], "https");
}

TEST(ServiceDefaults, NodePortAndLoadBalancer) {
  for (const char* type : {"NodePort", "LoadBalancer"}) {
    Json svc = defaulted("Service", std::string("spec: {type: ") + type + ", ports: [{port: 80}]}");
    EXPECT_EQ(svc["spec"]["externalTrafficPolicy"], "Cluster") << type;
  }
  Json lb = defaulted("Service", "spec: {type: LoadBalancer, ports: [{port: 80}]}");
  EXPECT_EQ(lb["spec"]["allocateLoadBalancerNodePorts"], true);
  Json kept = defaulted("Service", "spec: {type: NodePort, externalTrafficPolicy: Local}");
  EXPECT_EQ(kept["spec"]["externalTrafficPolicy"], "Local");
}

TEST(ServiceDefaults, SessionAffinity) {
  Json clientIP = defaulted("Service", "spec: {sessionAffinity: ClientIP}");
  EXPECT_EQ(clientIP["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"], 10800);
  Json none =
      defaulted("Service", "spec: {sessionAffinity: None, sessionAffinityConfig: {clientIP: {}}}");
  EXPECT_FALSE(none["spec"].contains("sessionAffinityConfig"));
}

TEST(ServiceDefaults, HeadlessAndExternalName) {
  Json headless = defaulted("Service", "spec: {clusterIP: None}");
  EXPECT_EQ(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
  Json headlessSelector = defaulted("Service", "spec: {clusterIP: None, selector: {a: b}}");
  EXPECT_EQ(headlessSelector["spec"]["ipFamilyPolicy"], "SingleStack");
  Json v6 = defaulted("Service", "spec: {clusterIP: 'fd00::10'}");
  EXPECT_EQ(v6["spec"]["ipFamilies"], Json::array({"IPv6"}));
  Json external = defaulted("Service", "spec: {type: ExternalName, externalName: example.com}");
  EXPECT_FALSE(external["spec"].contains("internalTrafficPolicy"));
  EXPECT_FALSE(external["spec"].contains("ipFamilies"));
}

TEST(PodDefaults, SpecAndContainers) {
  Json pod = defaulted("Pod", R"(
metadata: {name: p, namespace: default}
spec:
  containers:
  - name: app
    image: nginx
    ports: [{containerPort: 80}]
    livenessProbe: {httpGet: {port: 80}}
    env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
  - {name: pinned, image: "nginx:1.25"}
  - {name: latest, image: "registry:5000/nginx:latest"}
  - {name: port-registry, image: "registry:5000/nginx"}
  - {name: digest, image: "nginx@sha256:abcd"}
)");
  const Json& spec = pod["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Always");
  EXPECT_EQ(spec["dnsPolicy"], "ClusterFirst");
  EXPECT_EQ(spec["terminationGracePeriodSeconds"], 30);
  EXPECT_EQ(spec["schedulerName"], "default-scheduler");
  EXPECT_EQ(spec["securityContext"], Json::object());
  EXPECT_EQ(spec["enableServiceLinks"], true);
  const Json& c = spec["containers"];
  EXPECT_EQ(c[0]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[1]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c[2]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[3]["imagePullPolicy"], "Always");
  EXPECT_EQ(c[4]["imagePullPolicy"], "IfNotPresent");
  EXPECT_EQ(c[0]["terminationMessagePath"], "/dev/termination-log");
  EXPECT_EQ(c[0]["terminationMessagePolicy"], "File");
  EXPECT_EQ(c[0]["resources"], Json::object());
  EXPECT_EQ(c[0]["ports"][0]["protocol"], "TCP");
  const Json& probe = c[0]["livenessProbe"];
  EXPECT_EQ(probe["timeoutSeconds"], 1);
  EXPECT_EQ(probe["periodSeconds"], 10);
  EXPECT_EQ(probe["successThreshold"], 1);
  EXPECT_EQ(probe["failureThreshold"], 3);
  EXPECT_EQ(probe["httpGet"]["path"], "/");
  EXPECT_EQ(probe["httpGet"]["scheme"], "HTTP");
  EXPECT_EQ(c[0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
}

TEST(PodDefaults, KeepsUserValuesAndRequestsFromLimits) {
  Json pod = defaulted("Pod", R"(
spec:
  restartPolicy: Never
  hostNetwork: true
  volumes: [{name: scratch}, {name: s, secret: {secretName: s}}]
  containers:
  - name: app
    image: nginx
    imagePullPolicy: Never
    ports: [{containerPort: 8080}]
    resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m}}
)");
  const Json& spec = pod["spec"];
  EXPECT_EQ(spec["restartPolicy"], "Never");
  EXPECT_EQ(spec["containers"][0]["imagePullPolicy"], "Never");
  EXPECT_EQ(spec["containers"][0]["ports"][0]["hostPort"], 8080);
  EXPECT_EQ(spec["containers"][0]["resources"]["requests"]["cpu"], "100m");
  EXPECT_EQ(spec["containers"][0]["resources"]["requests"]["memory"], "128Mi");
  EXPECT_EQ(spec["volumes"][0]["emptyDir"], Json::object());
  EXPECT_EQ(spec["volumes"][1]["secret"]["defaultMode"], 420);
}

TEST(DeploymentDefaults, SpecStrategyAndTemplate) {
  Json d = defaulted("Deployment", R"(
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
)");
  const Json& spec = d["spec"];
  EXPECT_EQ(spec["replicas"], 1);
  EXPECT_EQ(spec["revisionHistoryLimit"], 10);
  EXPECT_EQ(spec["progressDeadlineSeconds"], 600);
  EXPECT_EQ(spec["strategy"]["type"], "RollingUpdate");
  EXPECT_EQ(spec["strategy"]["rollingUpdate"]["maxUnavailable"], "25%");
  EXPECT_EQ(spec["strategy"]["rollingUpdate"]["maxSurge"], "25%");
  const Json& podSpec = spec["template"]["spec"];
  EXPECT_EQ(podSpec["restartPolicy"], "Always");
  EXPECT_EQ(podSpec["containers"][0]["imagePullPolicy"], "IfNotPresent");
  // enableServiceLinks is a Pod default, not a template one.
  EXPECT_FALSE(podSpec.contains("enableServiceLinks"));

  Json recreate = defaulted("Deployment", "spec: {replicas: 0, strategy: {type: Recreate}}");
  EXPECT_EQ(recreate["spec"]["replicas"], 0);
  EXPECT_FALSE(recreate["spec"]["strategy"].contains("rollingUpdate"));
}

TEST(ReplicaSetDefaults, ReplicasAndTemplate) {
  Json rs =
      defaulted("ReplicaSet", "spec: {template: {spec: {containers: [{name: a, image: b}]}}}");
  EXPECT_EQ(rs["spec"]["replicas"], 1);
  EXPECT_EQ(rs["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
}

TEST(NetworkPolicyDefaults, PolicyTypesAndProtocols) {
  Json ingressOnly =
      defaulted("NetworkPolicy", "spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}");
  EXPECT_EQ(ingressOnly["spec"]["policyTypes"], Json::array({"Ingress"}));
  EXPECT_EQ(ingressOnly["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
  Json both =
      defaulted("NetworkPolicy", "spec: {podSelector: {}, egress: [{to: [{podSelector: {}}]}]}");
  EXPECT_EQ(both["spec"]["policyTypes"], Json::array({"Ingress", "Egress"}));
  Json explicitTypes = defaulted("NetworkPolicy", "spec: {policyTypes: [Egress]}");
  EXPECT_EQ(explicitTypes["spec"]["policyTypes"], Json::array({"Egress"}));
}

TEST(NamespaceDefaults, FinalizersPhaseAndNameLabel) {
  Json ns = defaulted("Namespace", "metadata: {name: team-a}");
  EXPECT_EQ(ns["spec"]["finalizers"], Json::array({"kubernetes"}));
  EXPECT_EQ(ns["status"]["phase"], "Active");
  EXPECT_EQ(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
}

TEST(OtherDefaults, SecretEndpointsSlicesNode) {
  EXPECT_EQ(defaulted("Secret", "metadata: {name: s}")["type"], "Opaque");
  EXPECT_EQ(defaulted("Secret", "type: kubernetes.io/tls")["type"], "kubernetes.io/tls");
  Json ep = defaulted("Endpoints", "subsets: [{addresses: [{ip: 10.0.0.1}], ports: [{port: 80}]}]");
  EXPECT_EQ(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
  Json slice = defaulted("EndpointSlice", "addressType: IPv4\nports: [{port: 80}]");
  EXPECT_EQ(slice["ports"][0]["protocol"], "TCP");
  EXPECT_EQ(slice["ports"][0]["name"], "");
  Json node = defaulted("Node", "status: {capacity: {cpu: '4', pods: '110'}}");
  EXPECT_EQ(node["status"]["allocatable"]["pods"], "110");
}

TEST(Defaults, NeverThrowOnMistypedInput) {
  const char* inputs[] = {
      "spec: 5",
      "spec: {ports: 80, selector: []}",
      "spec: {ports: [80, null, {port: x, targetPort: []}]}",
      "spec: {containers: {a: b}, volumes: [1]}",
      "spec: {containers: [7, {image: 5, ports: 1, livenessProbe: []}]}",
      "spec: {template: []}",
      "spec: {strategy: RollingUpdate}",
      "spec: {strategy: {type: RollingUpdate, rollingUpdate: 3}}",
      "metadata: {name: 5, labels: []}",
      "subsets: [{ports: [1]}]",
      "[1, 2, 3]",
      "\"text\"",
  };
  for (const auto& r : builtinResources()) {
    for (const char* input : inputs) {
      Json obj = yaml(input);
      EXPECT_NO_THROW(applyDefaults(r, obj)) << r.kind << ": " << input;
      EXPECT_NO_THROW(validate(r, obj)) << r.kind << ": " << input;
      EXPECT_NO_THROW(validateUpdate(r, obj, obj)) << r.kind << ": " << input;
    }
  }
}

}  // namespace
}  // namespace podnet::api
