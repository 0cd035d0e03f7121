#include "api/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/codec.h"
#include "api/defaults.h"
#include "test_util.h"

namespace podnet::api {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::IsEmpty;
using testing::printed;
using testing::yaml;

const char* const kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char* const kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* const kDns1035Msg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

// ---------------------------------------------------------------------------
// Building blocks.

TEST(NameRules, Dns1123Label) {
  EXPECT_THAT(isDns1123Label("my-name"), IsEmpty());
  EXPECT_THAT(isDns1123Label("123-abc"), IsEmpty());
  EXPECT_THAT(isDns1123Label("My-Name"), ElementsAre(kLabelMsg));
  EXPECT_THAT(isDns1123Label("-a"), ElementsAre(kLabelMsg));
  EXPECT_THAT(isDns1123Label("a.b"), ElementsAre(kLabelMsg));
  EXPECT_THAT(isDns1123Label(std::string(64, 'a')),
              ElementsAre("must be no more than 63 characters"));
}

TEST(NameRules, Dns1123Subdomain) {
  EXPECT_THAT(isDns1123Subdomain("example.com"), IsEmpty());
  EXPECT_THAT(isDns1123Subdomain("a..b"), ElementsAre(kSubdomainMsg));
  EXPECT_THAT(isDns1123Subdomain("Example.com"), ElementsAre(kSubdomainMsg));
  EXPECT_THAT(isDns1123Subdomain(""), ElementsAre(kSubdomainMsg));
  EXPECT_THAT(isDns1123Subdomain(std::string(254, 'a')),
              ElementsAre("must be no more than 253 characters"));
}

TEST(NameRules, Dns1035Label) {
  EXPECT_THAT(isDns1035Label("web"), IsEmpty());
  EXPECT_THAT(isDns1035Label("1web"), ElementsAre(kDns1035Msg));
}

TEST(NameRules, QualifiedNamesAndLabelValues) {
  EXPECT_THAT(isQualifiedName("app"), IsEmpty());
  EXPECT_THAT(isQualifiedName("app.kubernetes.io/name"), IsEmpty());
  EXPECT_THAT(isQualifiedName("My_Key.v2"), IsEmpty());
  EXPECT_THAT(isQualifiedName("/name"), ElementsAre("prefix part must be non-empty"));
  auto errs = isQualifiedName("example.com/");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0], "name part must be non-empty");
  EXPECT_EQ(isQualifiedName("a/b/c").size(), 1u);
  EXPECT_EQ(isQualifiedName("a/b/c")[0].substr(0, 33), "a qualified name must consist of ");
  EXPECT_THAT(isQualifiedName("Bad_Prefix/name"),
              ElementsAre(std::string("prefix part ") + kSubdomainMsg));
  EXPECT_THAT(isValidLabelValue(""), IsEmpty());
  EXPECT_THAT(isValidLabelValue("v1.2_b-c"), IsEmpty());
  EXPECT_EQ(isValidLabelValue("-x").size(), 1u);
  EXPECT_EQ(isValidLabelValue(std::string(64, 'a'))[0], "must be no more than 63 characters");
}

// ---------------------------------------------------------------------------
// ObjectMeta.

TEST(ObjectMeta, NameRulesPerKind) {
  EXPECT_THAT(errorsOf("Namespace", yaml("metadata: {name: Team}")),
              ElementsAre(std::string("metadata.name: Invalid value: \"Team\": ") + kLabelMsg));
  EXPECT_THAT(errorsOf("Namespace", yaml("metadata: {name: a.b}")),
              Contains(::testing::HasSubstr("metadata.name")));
  EXPECT_THAT(errorsOf("ConfigMap", yaml("metadata: {name: a.b, namespace: default}")), IsEmpty());
  EXPECT_THAT(errorsOf("ConfigMap", yaml("metadata: {name: A, namespace: default}")),
              ElementsAre(std::string("metadata.name: Invalid value: \"A\": ") + kSubdomainMsg));
  auto svc = errorsOf(
      "Service", yaml("metadata: {name: 1web, namespace: default}\nspec: {ports: [{port: 80}]}"));
  EXPECT_THAT(svc,
              ElementsAre(std::string("metadata.name: Invalid value: \"1web\": ") + kDns1035Msg));
}

TEST(ObjectMeta, NameRequiredUnlessGenerateName) {
  EXPECT_THAT(errorsOf("ConfigMap", yaml("metadata: {namespace: default}")),
              ElementsAre("metadata.name: Required value: name or generateName is required"));
  EXPECT_THAT(errorsOf("ConfigMap", yaml("metadata: {generateName: cfg-, namespace: default}")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("ConfigMap", yaml("metadata: {generateName: Cfg-, namespace: default}")),
      ElementsAre(std::string("metadata.generateName: Invalid value: \"Cfg-\": ") + kSubdomainMsg));
}

TEST(ObjectMeta, NamespaceRequiredOnlyForNamespacedKinds) {
  EXPECT_THAT(errorsOf("ConfigMap", yaml("metadata: {name: c}")),
              ElementsAre("metadata.namespace: Required value"));
  EXPECT_THAT(errorsOf("Node", yaml("metadata: {name: n1}")), IsEmpty());
  EXPECT_THAT(errorsOf("Node", yaml("metadata: {name: n1, namespace: default}")),
              ElementsAre("metadata.namespace: Forbidden: not allowed on this type"));
}

TEST(ObjectMeta, LabelsAndAnnotations) {
  auto errs = errorsOf("ConfigMap", yaml(R"(
metadata:
  name: c
  namespace: default
  labels: {"bad key": ok, good: "bad value!"}
  annotations: {"Example.com/Key": fine, "a/b/c": nope}
)"));
  // "a/b/c" has too many slashes: one message, as upstream returns early.
  ASSERT_EQ(errs.size(), 3u) << ::testing::PrintToString(errs);
  EXPECT_EQ(errs[0].substr(0, 54), "metadata.labels: Invalid value: \"bad key\": name part m");
  EXPECT_EQ(errs[1].substr(0, 59), "metadata.labels: Invalid value: \"bad value!\": a valid label");
  EXPECT_EQ(errs[2].substr(0, 51), "metadata.annotations: Invalid value: \"a/b/c\": a qua");
}

TEST(ObjectMeta, MistypedMetadataIsReportedNotThrown) {
  auto errs = errorsOf("ConfigMap", yaml("metadata: {name: 5, namespace: default, labels: [a]}"));
  EXPECT_THAT(errs, Contains("metadata.name: Invalid value: 5: must be of type string"));
  EXPECT_THAT(
      errs,
      Contains("metadata.labels: Invalid value: []interface {}{\"a\"}: must be of type object"));
}

// ---------------------------------------------------------------------------
// Service.

Json service(std::string_view spec) {
  return yaml("metadata: {name: web, namespace: default}\nspec: " + std::string(spec));
}

TEST(ServiceValidation, ValidServices) {
  EXPECT_THAT(errorsOf("Service", service("{selector: {app: web}, ports: [{port: 80}]}")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("Service", service("{type: NodePort, ports: [{name: http, port: 80, nodePort: "
                                  "30080}, {name: dns, port: 53, protocol: UDP}]}")),
      IsEmpty());
  EXPECT_THAT(errorsOf("Service", service("{clusterIP: None, selector: {app: db}}")), IsEmpty());
  EXPECT_THAT(errorsOf("Service", service("{type: ExternalName, externalName: db.example.com.}")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("Service", service("{clusterIP: 10.43.0.10, ports: [{port: 53, targetPort: dns}]}")),
      IsEmpty());
  EXPECT_THAT(errorsOf("Service", service("{sessionAffinity: ClientIP, ports: [{port: 80}]}")),
              IsEmpty());
}

TEST(ServiceValidation, PortNumberRange) {
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{port: 0, targetPort: 80}]}")),
      ElementsAre("spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"));
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{port: 70000}]}")),
      ElementsAre(
          "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
          "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, "
          "inclusive"));
}

TEST(ServiceValidation, PortsRequired) {
  EXPECT_THAT(errorsOf("Service", service("{selector: {app: web}}")),
              ElementsAre("spec.ports: Required value"));
}

TEST(ServiceValidation, PortNames) {
  EXPECT_THAT(errorsOf("Service", service("{ports: [{port: 80}, {name: b, port: 81}]}")),
              ElementsAre("spec.ports[0].name: Required value"));
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{name: http, port: 80}, {name: http, port: 81}]}")),
      ElementsAre("spec.ports[1].name: Duplicate value: \"http\""));
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{name: HTTP, port: 80}]}")),
      ElementsAre(std::string("spec.ports[0].name: Invalid value: \"HTTP\": ") + kLabelMsg));
}

TEST(ServiceValidation, Protocol) {
  EXPECT_THAT(errorsOf("Service", service("{ports: [{port: 80, protocol: FOO}]}")),
              ElementsAre("spec.ports[0].protocol: Unsupported value: \"FOO\": supported values: "
                          "\"SCTP\", \"TCP\", \"UDP\""));
}

TEST(ServiceValidation, TargetPort) {
  EXPECT_THAT(errorsOf("Service", service("{ports: [{port: 80, targetPort: 0x10000}]}")),
              ElementsAre("spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and "
                          "65535, inclusive"));
  EXPECT_THAT(errorsOf("Service", service("{ports: [{port: 80, targetPort: \"8080\"}]}")),
              ElementsAre("spec.ports[0].targetPort: Invalid value: \"8080\": must contain at "
                          "least one letter (a-z)"));
  EXPECT_THAT(errorsOf("Service", service("{ports: [{port: 80, targetPort: my--Port-}]}")),
              ElementsAre("spec.ports[0].targetPort: Invalid value: \"my--Port-\": must contain "
                          "only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                          "spec.ports[0].targetPort: Invalid value: \"my--Port-\": must not "
                          "contain consecutive hyphens",
                          "spec.ports[0].targetPort: Invalid value: \"my--Port-\": must not begin "
                          "or end with a hyphen"));
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{port: 80, targetPort: a-very-long-port-name}]}")),
      ElementsAre("spec.ports[0].targetPort: Invalid value: \"a-very-long-port-name\": must be no "
                  "more than 15 characters"));
}

TEST(ServiceValidation, NodePorts) {
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{port: 80, nodePort: 30080}]}")),
      ElementsAre("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"));
  EXPECT_THAT(errorsOf("Service", service("{type: NodePort, ports: [{port: 80, nodePort: 80}]}")),
              ElementsAre("spec.ports[0].nodePort: Invalid value: 80: provided port is not in the "
                          "valid range. The range of valid ports is 30000-32767"));
  EXPECT_THAT(
      errorsOf("Service", service("{type: LoadBalancer, ports: [{name: a, port: 80, nodePort: "
                                  "30001}, {name: b, port: 81, nodePort: 30001}]}")),
      ElementsAre("spec.ports[1].nodePort: Duplicate value: 30001"));
}

TEST(ServiceValidation, DuplicatePortAndProtocol) {
  EXPECT_THAT(
      errorsOf("Service", service("{ports: [{name: a, port: 80}, {name: b, port: 80}]}")),
      ElementsAre("spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", "
                  "AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, "
                  "IntVal:0, StrVal:\"\"}, NodePort:0}"));
  EXPECT_THAT(
      errorsOf("Service",
               service("{ports: [{name: a, port: 53}, {name: b, port: 53, protocol: UDP}]}")),
      IsEmpty());
}

TEST(ServiceValidation, TypeAndClusterIP) {
  EXPECT_THAT(errorsOf("Service", service("{type: Foo, ports: [{port: 80}]}")),
              ElementsAre("spec.type: Unsupported value: \"Foo\": supported values: \"ClusterIP\", "
                          "\"ExternalName\", \"LoadBalancer\", \"NodePort\""));
  EXPECT_THAT(errorsOf("Service", service("{clusterIP: 10.0.0.256, ports: [{port: 80}]}")),
              ElementsAre("spec.clusterIPs[0]: Invalid value: \"10.0.0.256\": must be a valid IP "
                          "address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
  EXPECT_THAT(
      errorsOf("Service", service("{type: NodePort, clusterIP: None, ports: [{port: 80}]}")),
      ElementsAre("spec.clusterIP: Invalid value: \"None\": may not be set to 'None' for NodePort "
                  "services"));
}

TEST(ServiceValidation, ExternalName) {
  EXPECT_THAT(errorsOf("Service", service("{type: ExternalName}")),
              ElementsAre("spec.externalName: Required value"));
  EXPECT_THAT(
      errorsOf("Service", service("{type: ExternalName, externalName: Bad_Name}")),
      ElementsAre(std::string("spec.externalName: Invalid value: \"Bad_Name\": ") + kSubdomainMsg));
  EXPECT_THAT(errorsOf("Service",
                       service("{type: ExternalName, externalName: a.com, clusterIP: 10.0.0.1}")),
              ElementsAre("spec.clusterIPs: Forbidden: may not be set for ExternalName services"));
}

TEST(ServiceValidation, SelectorAndSessionAffinity) {
  EXPECT_THAT(errorsOf("Service", service("{selector: {app: \"a b\"}, ports: [{port: 80}]}")),
              ElementsAre(::testing::StartsWith(
                  "spec.selector: Invalid value: \"a b\": a valid label must be")));
  EXPECT_THAT(errorsOf("Service", service("{sessionAffinity: Sticky, ports: [{port: 80}]}")),
              ElementsAre("spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: "
                          "\"ClientIP\", \"None\""));
  EXPECT_THAT(errorsOf("Service", service("{sessionAffinity: ClientIP, sessionAffinityConfig: "
                                          "{clientIP: {timeoutSeconds: 0}}, ports: [{port: 80}]}")),
              ElementsAre("spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: "
                          "must be greater than 0 and less than 86400"));
}

TEST(ServiceValidation, TrafficPolicies) {
  EXPECT_THAT(errorsOf("Service", service("{externalTrafficPolicy: Local, ports: [{port: 80}]}")),
              ElementsAre("spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set "
                          "for externally-accessible services"));
  EXPECT_THAT(
      errorsOf("Service",
               service("{type: NodePort, externalTrafficPolicy: Nearby, ports: [{port: 80}]}")),
      ElementsAre("spec.externalTrafficPolicy: Unsupported value: \"Nearby\": supported values: "
                  "\"Cluster\", \"Local\""));
}

TEST(ServiceValidation, MistypedPort) {
  auto errs = errorsOf("Service", service("{ports: [{port: \"80\"}]}"));
  EXPECT_THAT(errs, Contains("spec.ports[0].port: Invalid value: \"80\": must be of type int32"));
}

// ---------------------------------------------------------------------------
// Pod.

Json pod(std::string_view spec) {
  return yaml("metadata: {name: p, namespace: default}\nspec: " + std::string(spec));
}

TEST(PodValidation, ValidPod) {
  EXPECT_THAT(
      errorsOf(
          "Pod",
          pod(R"({containers: [{name: app, image: nginx, ports: [{name: http, containerPort: 80}],
      readinessProbe: {httpGet: {port: http}}, volumeMounts: [{name: data, mountPath: /data}]}],
      volumes: [{name: data, emptyDir: {}}]})")),
      IsEmpty());
}

TEST(PodValidation, ContainersRequired) {
  EXPECT_THAT(errorsOf("Pod", pod("{}")), ElementsAre("spec.containers: Required value"));
  EXPECT_THAT(errorsOf("Pod", pod("{containers: []}")),
              ElementsAre("spec.containers: Required value"));
}

TEST(PodValidation, ContainerNamesAndImages) {
  EXPECT_THAT(errorsOf("Pod", pod("{containers: [{name: a, image: x}, {name: a, image: y}]}")),
              ElementsAre("spec.containers[1].name: Duplicate value: \"a\""));
  EXPECT_THAT(errorsOf("Pod", pod("{containers: [{image: x}]}")),
              ElementsAre("spec.containers[0].name: Required value"));
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: App, image: x}]}")),
      ElementsAre(std::string("spec.containers[0].name: Invalid value: \"App\": ") + kLabelMsg));
  EXPECT_THAT(errorsOf("Pod", pod("{containers: [{name: a}]}")),
              ElementsAre("spec.containers[0].image: Required value"));
  EXPECT_THAT(
      errorsOf("Pod",
               pod("{initContainers: [{name: a, image: x}], containers: [{name: a, image: y}]}")),
      ElementsAre("spec.initContainers[0].name: Duplicate value: \"a\""));
}

TEST(PodValidation, ContainerPorts) {
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: a, image: x, ports: [{containerPort: 0}]}]}")),
      ElementsAre("spec.containers[0].ports[0].containerPort: Required value"));
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: a, image: x, ports: [{containerPort: 99999}]}]}")),
      ElementsAre("spec.containers[0].ports[0].containerPort: Invalid value: 99999: must be "
                  "between 1 and 65535, inclusive"));
  EXPECT_THAT(errorsOf("Pod", pod("{containers: [{name: a, image: x, ports: [{name: web, "
                                  "containerPort: 80}, {name: web, containerPort: 81}]}]}")),
              ElementsAre("spec.containers[0].ports[1].name: Duplicate value: \"web\""));
  EXPECT_THAT(errorsOf("Pod", pod("{containers: [{name: a, image: x, ports: [{name: \"123\", "
                                  "containerPort: 80, protocol: tcp}]}]}")),
              ElementsAre("spec.containers[0].ports[0].name: Invalid value: \"123\": must contain "
                          "at least one letter (a-z)",
                          "spec.containers[0].ports[0].protocol: Unsupported value: \"tcp\": "
                          "supported values: \"SCTP\", \"TCP\", \"UDP\""));
}

TEST(PodValidation, PoliciesAndVolumeMounts) {
  EXPECT_THAT(errorsOf("Pod", pod("{restartPolicy: Sometimes, containers: [{name: a, image: x}]}")),
              ElementsAre("spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: "
                          "\"Always\", \"OnFailure\", \"Never\""));
  EXPECT_THAT(errorsOf("Pod", pod("{dnsPolicy: Google, containers: [{name: a, image: x}]}")),
              ElementsAre("spec.dnsPolicy: Unsupported value: \"Google\": supported values: "
                          "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""));
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: a, image: x, imagePullPolicy: Sometimes}]}")),
      ElementsAre("spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported "
                  "values: \"Always\", \"IfNotPresent\", \"Never\""));
  EXPECT_THAT(
      errorsOf(
          "Pod",
          pod("{containers: [{name: a, image: x, volumeMounts: [{name: data, mountPath: /d}]}]}")),
      ElementsAre("spec.containers[0].volumeMounts[0].name: Not found: \"data\""));
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: a, image: x, livenessProbe: {}}]}")),
      ElementsAre("spec.containers[0].livenessProbe: Required value: must specify a handler type"));
  EXPECT_THAT(
      errorsOf("Pod", pod("{containers: [{name: a, image: x, livenessProbe: {exec: {command: "
                          "[/bin/true]}, successThreshold: 2}}]}")),
      ElementsAre(
          "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"));
}

// ---------------------------------------------------------------------------
// Deployment and ReplicaSet.

const char* const kDeployment = R"(
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
)";

TEST(DeploymentValidation, Valid) {
  EXPECT_THAT(errorsOf("Deployment", yaml(kDeployment)), IsEmpty());
  EXPECT_THAT(errorsOf("ReplicaSet", yaml(kDeployment)), IsEmpty());
}

TEST(DeploymentValidation, SelectorMustMatchTemplate) {
  Json d = yaml(kDeployment);
  d["spec"]["template"]["metadata"]["labels"] = {{"app", "api"}};
  EXPECT_THAT(
      errorsOf("Deployment", d),
      ElementsAre(
          "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"api\"}: "
          "`selector` does not match template `labels`"));
}

TEST(StatefulSetValidation, DefaultsAndUpstreamRules) {
  Json sts = yaml(kDeployment);
  sts["spec"]["serviceName"] = "web";
  EXPECT_THAT(errorsOf("StatefulSet", sts), IsEmpty());
  Json defaulted = sts;
  applyDefaults(resource("StatefulSet"), defaulted);
  EXPECT_EQ(defaulted["spec"]["podManagementPolicy"], "OrderedReady");
  EXPECT_EQ(defaulted["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 0);
  EXPECT_EQ(defaulted["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"], "Retain");
  sts["spec"]["podManagementPolicy"] = "Sometimes";
  EXPECT_THAT(errorsOf("StatefulSet", sts),
              ElementsAre("spec.podManagementPolicy: Unsupported value: \"Sometimes\": supported "
                          "values: \"OrderedReady\", \"Parallel\""));
  sts["spec"]["podManagementPolicy"] = "Parallel";
  sts["spec"]["selector"] = Json::object();
  auto errors = errorsOf("StatefulSet", sts);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("empty selector is invalid for statefulset"), std::string::npos);
  // Only replicas, template, updateStrategy and a few more may change.
  Json old = yaml(kDeployment);
  applyDefaults(resource("StatefulSet"), old);
  Json changed = old;
  changed["spec"]["serviceName"] = "other";
  EXPECT_THAT(printed(validateUpdate(resource("StatefulSet"), changed, old)),
              ElementsAre("spec: Forbidden: updates to statefulset spec for fields other than "
                          "'replicas', 'ordinals', 'template', 'updateStrategy', "
                          "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                          "forbidden"));
  changed = old;
  changed["spec"]["replicas"] = 5;
  EXPECT_THAT(printed(validateUpdate(resource("StatefulSet"), changed, old)), IsEmpty());
}

TEST(StatefulSetValidation, ContainersMayMountTheirClaimTemplates) {
  Json sts = yaml(kDeployment);
  sts["spec"]["serviceName"] = "web";
  sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
      Json::array({{{"name", "www"}, {"mountPath", "/usr/share/nginx/html"}}});
  EXPECT_THAT(errorsOf("StatefulSet", sts),
              ElementsAre("spec.template.spec.containers[0].volumeMounts[0].name: Not found: "
                          "\"www\""));
  sts["spec"]["volumeClaimTemplates"] =
      Json::array({{{"metadata", {{"name", "www"}}},
                    {"spec",
                     {{"accessModes", {"ReadWriteOnce"}},
                      {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}}});
  EXPECT_THAT(errorsOf("StatefulSet", sts), IsEmpty());
}

TEST(DaemonSetValidation, DefaultsAndUpstreamRules) {
  Json ds = yaml(kDeployment);
  EXPECT_THAT(errorsOf("DaemonSet", ds), IsEmpty());
  Json defaulted = ds;
  applyDefaults(resource("DaemonSet"), defaulted);
  EXPECT_EQ(defaulted["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"], 1);
  EXPECT_FALSE(defaulted["spec"].contains("replicas"));
  ds["spec"]["updateStrategy"] = {{"type", "Rolling"}};
  EXPECT_THAT(errorsOf("DaemonSet", ds),
              ElementsAre("spec.updateStrategy.type: Unsupported value: \"Rolling\": supported "
                          "values: \"OnDelete\", \"RollingUpdate\""));
  ds = yaml(kDeployment);
  ds["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  EXPECT_THAT(errorsOf("DaemonSet", ds),
              ElementsAre("spec.template.spec.restartPolicy: Unsupported value: \"Never\": "
                          "supported values: \"Always\""));
}

TEST(DeploymentValidation, SelectorRequiredAndNotEmpty) {
  Json d = yaml(kDeployment);
  d["spec"].erase("selector");
  EXPECT_THAT(
      errorsOf("Deployment", d),
      ElementsAre(
          "spec.selector: Required value",
          "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: "
          "`selector` does not match template `labels`"));
  d["spec"]["selector"] = Json::object();
  EXPECT_THAT(
      errorsOf("Deployment", d),
      ElementsAre(
          "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
          "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for "
          "deployment"));
}

TEST(DeploymentValidation, SelectorExpressions) {
  Json d = yaml(kDeployment);
  d["spec"]["selector"] = yaml(R"(
matchExpressions:
- {key: app, operator: In}
- {key: app, operator: Exists, values: [web]}
- {key: app, operator: Equals, values: [web]}
)");
  auto errs = errorsOf("Deployment", d);
  EXPECT_THAT(errs, Contains("spec.selector.matchExpressions[0].values: Required value: must be "
                             "specified when `operator` is 'In' or 'NotIn'"));
  EXPECT_THAT(errs, Contains("spec.selector.matchExpressions[1].values: Forbidden: may not be "
                             "specified when `operator` is 'Exists' or 'DoesNotExist'"));
  EXPECT_THAT(errs, Contains("spec.selector.matchExpressions[2].operator: Invalid value: "
                             "\"Equals\": not a valid selector operator"));
}

TEST(DeploymentValidation, ReplicasStrategyAndTemplate) {
  Json d = yaml(kDeployment);
  d["spec"]["replicas"] = -1;
  EXPECT_THAT(errorsOf("Deployment", d),
              ElementsAre("spec.replicas: Invalid value: -1: must be greater than or equal to 0"));
  d = yaml(kDeployment);
  d["spec"]["strategy"] = {{"type", "Recreate"}, {"rollingUpdate", {{"maxSurge", 1}}}};
  EXPECT_THAT(errorsOf("Deployment", d),
              ElementsAre("spec.strategy.rollingUpdate: Forbidden: may not be specified when "
                          "strategy `type` is 'Recreate'"));
  d = yaml(kDeployment);
  d["spec"]["strategy"] = {{"type", "Rolling"}};
  EXPECT_THAT(
      errorsOf("Deployment", d),
      ElementsAre("spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Rolling\", "
                  "RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "
                  "\"Recreate\", \"RollingUpdate\""));
  d = yaml(kDeployment);
  d["spec"]["strategy"] = {{"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "0%"}}}};
  EXPECT_THAT(
      errorsOf("Deployment", d),
      ElementsAre(
          "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, "
          "IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0"));
  d = yaml(kDeployment);
  d["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  EXPECT_THAT(errorsOf("Deployment", d),
              ElementsAre("spec.template.spec.restartPolicy: Unsupported value: \"Never\": "
                          "supported values: \"Always\""));
  d = yaml(kDeployment);
  d["spec"]["template"]["spec"]["containers"][0].erase("image");
  EXPECT_THAT(errorsOf("ReplicaSet", d),
              ElementsAre("spec.template.spec.containers[0].image: Required value"));
}

// ---------------------------------------------------------------------------
// NetworkPolicy.

Json netpol(std::string_view spec) {
  return yaml("metadata: {name: np, namespace: default}\nspec: " + std::string(spec));
}

TEST(NetworkPolicyValidation, Valid) {
  EXPECT_THAT(errorsOf("NetworkPolicy", netpol(R"({podSelector: {matchLabels: {app: db}},
      ingress: [{from: [{podSelector: {matchLabels: {app: web}}}, {namespaceSelector: {}},
                        {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}],
                 ports: [{port: 5432}, {port: 30000, endPort: 32767}, {port: http, protocol: UDP}]}],
      egress: [{to: [{ipBlock: {cidr: "::/0"}}]}]})")),
              IsEmpty());
}

TEST(NetworkPolicyValidation, SelectorOperators) {
  auto errs = errorsOf("NetworkPolicy", netpol(R"({podSelector: {matchExpressions: [
      {key: app, operator: NotIn, values: []}, {key: x, operator: DoesNotExist, values: [a]},
      {key: y, operator: Gt, values: ["1"]}]}})"));
  EXPECT_THAT(errs, ElementsAre("spec.podSelector.matchExpressions[0].values: Required value: must "
                                "be specified when `operator` is 'In' or 'NotIn'",
                                "spec.podSelector.matchExpressions[1].values: Forbidden: may not "
                                "be specified when `operator` is 'Exists' or 'DoesNotExist'",
                                "spec.podSelector.matchExpressions[2].operator: Invalid value: "
                                "\"Gt\": not a valid selector operator"));
}

TEST(NetworkPolicyValidation, PortsAndProtocols) {
  EXPECT_THAT(
      errorsOf("NetworkPolicy",
               netpol("{podSelector: {}, ingress: [{ports: [{port: 0, protocol: ICMP}]}]}")),
      ElementsAre("spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported "
                  "values: \"TCP\", \"UDP\", \"SCTP\"",
                  "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                  "inclusive"));
  EXPECT_THAT(errorsOf("NetworkPolicy",
                       netpol("{podSelector: {}, egress: [{ports: [{port: 100, endPort: 50}]}]}")),
              ElementsAre("spec.egress[0].ports[0].endPort: Invalid value: 100: must be greater "
                          "than or equal to `port`"));
  EXPECT_THAT(errorsOf("NetworkPolicy",
                       netpol("{podSelector: {}, egress: [{ports: [{port: dns, endPort: 60}]}]}")),
              ElementsAre("spec.egress[0].ports[0].endPort: Invalid value: 60: may not be "
                          "specified when `port` is non-numeric"));
}

TEST(NetworkPolicyValidation, IpBlocks) {
  EXPECT_THAT(
      errorsOf("NetworkPolicy",
               netpol("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}")),
      ElementsAre("spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a "
                  "valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
  EXPECT_THAT(errorsOf("NetworkPolicy",
                       netpol("{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, "
                              "except: [10.0.0.0/16, 192.168.0.0/24, 10.0.1.0/24]}}]}]}")),
              ElementsAre("spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
                          "\"10.0.0.0/16\": must be a strict subset of `cidr`",
                          "spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "
                          "\"192.168.0.0/24\": must be a strict subset of `cidr`"));
  EXPECT_THAT(
      errorsOf("NetworkPolicy", netpol("{podSelector: {}, ingress: [{from: [{ipBlock: {}}]}]}")),
      ElementsAre("spec.ingress[0].from[0].ipBlock.cidr: Required value"));
  EXPECT_THAT(errorsOf("NetworkPolicy", netpol("{podSelector: {}, ingress: [{from: [{}]}]}")),
              ElementsAre("spec.ingress[0].from[0]: Required value: must specify a peer"));
  EXPECT_THAT(
      errorsOf("NetworkPolicy", netpol("{podSelector: {}, ingress: [{from: [{podSelector: {}, "
                                       "ipBlock: {cidr: 10.0.0.0/8}}]}]}")),
      ElementsAre(
          "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"));
}

TEST(NetworkPolicyValidation, PolicyTypes) {
  EXPECT_THAT(errorsOf("NetworkPolicy", netpol("{podSelector: {}, policyTypes: [Ingress, Both]}")),
              ElementsAre("spec.policyTypes[1]: Unsupported value: \"Both\": supported values: "
                          "\"Ingress\", \"Egress\""));
}

// ---------------------------------------------------------------------------
// Ingress and IngressClass.

Json ingress(std::string_view spec) {
  return yaml("metadata: {name: ing, namespace: default}\nspec: " + std::string(spec));
}

TEST(IngressValidation, Valid) {
  EXPECT_THAT(errorsOf("Ingress", ingress(R"({ingressClassName: traefik, rules: [
      {host: "*.example.com", http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}},
      {http: {paths: [{pathType: ImplementationSpecific, backend: {service: {name: web, port: {name: http}}}}]}}],
      tls: [{hosts: [example.com], secretName: tls}]})")),
              IsEmpty());
  EXPECT_THAT(errorsOf("Ingress", ingress("{defaultBackend: {resource: {apiGroup: k8s.example.com, "
                                          "kind: StorageBucket, name: static}}}")),
              IsEmpty());
}

TEST(IngressValidation, RulesOrDefaultBackend) {
  EXPECT_THAT(errorsOf("Ingress", ingress("{}")),
              ElementsAre("spec: Invalid value: []networking.IngressRule(nil): either "
                          "`defaultBackend` or `rules` must be specified"));
}

TEST(IngressValidation, Paths) {
  EXPECT_THAT(
      errorsOf("Ingress", ingress("{rules: [{http: {paths: [{path: /, backend: {service: {name: "
                                  "web, port: {number: 80}}}}]}}]}")),
      ElementsAre(
          "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"));
  EXPECT_THAT(
      errorsOf("Ingress", ingress("{rules: [{http: {paths: [{path: api, pathType: Exact, backend: "
                                  "{service: {name: web, port: {number: 80}}}}]}}]}")),
      ElementsAre(
          "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path"));
  EXPECT_THAT(
      errorsOf("Ingress", ingress("{rules: [{http: {paths: [{path: /, pathType: Regex, backend: "
                                  "{service: {name: web, port: {number: 80}}}}]}}]}")),
      ElementsAre("spec.rules[0].http.paths[0].pathType: Unsupported value: \"Regex\": supported "
                  "values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""));
  EXPECT_THAT(errorsOf("Ingress", ingress("{rules: [{http: {paths: []}}]}")),
              ElementsAre("spec.rules[0].http.paths: Required value"));
}

TEST(IngressValidation, Backends) {
  EXPECT_THAT(
      errorsOf("Ingress",
               ingress("{defaultBackend: {service: {name: web, port: {name: http, number: 80}}}}")),
      ElementsAre(
          "spec.defaultBackend: Invalid value: \"\": cannot set both port name & port number"));
  EXPECT_THAT(errorsOf("Ingress", ingress("{defaultBackend: {service: {name: web}}}")),
              ElementsAre("spec.defaultBackend: Required value: port name or number is required"));
  EXPECT_THAT(
      errorsOf("Ingress", ingress("{defaultBackend: {service: {port: {number: 0x10000}}}}")),
      ElementsAre("spec.defaultBackend.service.name: Required value",
                  "spec.defaultBackend.service.port.number: Invalid value: 65536: must be between "
                  "1 and 65535, inclusive"));
  EXPECT_THAT(
      errorsOf("Ingress", ingress("{defaultBackend: {}}")),
      ElementsAre(
          "spec.defaultBackend: Invalid value: \"\": resource or service backend is required"));
}

TEST(IngressValidation, Hosts) {
  auto errs =
      errorsOf("Ingress",
               ingress("{rules: [{host: 10.0.0.1}, {host: \"foo.*.com\"}, {host: Example.com}]}"));
  ASSERT_EQ(errs.size(), 3u) << ::testing::PrintToString(errs);
  EXPECT_EQ(
      errs[0],
      "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address");
  EXPECT_EQ(errs[1].substr(0, 82),
            "spec.rules[1].host: Invalid value: \"foo.*.com\": a wildcard DNS-1123 subdomain must");
  EXPECT_EQ(errs[2],
            std::string("spec.rules[2].host: Invalid value: \"Example.com\": ") + kSubdomainMsg);
}

TEST(IngressClassValidation, Controller) {
  EXPECT_THAT(errorsOf("IngressClass",
                       yaml("metadata: {name: nginx}\nspec: {controller: k8s.io/ingress-nginx}")),
              IsEmpty());
  EXPECT_THAT(errorsOf("IngressClass", yaml("metadata: {name: nginx}\nspec: {}")),
              ElementsAre("spec.controller: Required value"));
  EXPECT_THAT(errorsOf("IngressClass", yaml("metadata: {name: nginx}\nspec: {controller: nginx}")),
              ElementsAre("spec.controller: Invalid value: \"nginx\": must be a domain-prefixed "
                          "path (such as \"acme.io/foo\")"));
}

// ---------------------------------------------------------------------------
// EndpointSlice, Endpoints, Node, Namespace, Secret, ConfigMap, Event.

TEST(EndpointSliceValidation, AddressesAndPorts) {
  const char* base = "metadata: {name: web-abc, namespace: default}\n";
  EXPECT_THAT(
      errorsOf("EndpointSlice",
               yaml(std::string(base) + "addressType: IPv4\nendpoints: [{addresses: [10.42.0.5], "
                                        "nodeName: node-1}]\nports: [{name: http, port: 80}]")),
      IsEmpty());
  EXPECT_THAT(errorsOf("EndpointSlice", yaml(std::string(base) + "addressType: IPv5")),
              ElementsAre("addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", "
                          "\"IPv4\", \"IPv6\""));
  EXPECT_THAT(errorsOf("EndpointSlice", yaml(base)), ElementsAre("addressType: Required value"));
  EXPECT_THAT(
      errorsOf("EndpointSlice",
               yaml(std::string(base) + "addressType: IPv4\nendpoints: [{addresses: ['fd00::1', "
                                        "127.0.0.1]}, {addresses: []}]")),
      ElementsAre(
          "endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be a valid IPv4 address",
          "endpoints[0].addresses[1]: Invalid value: \"127.0.0.1\": may not be in the loopback "
          "range (127.0.0.0/8, ::1/128)",
          "endpoints[1].addresses: Required value: must contain at least 1 address"));
  // An IPv4-mapped address is its IPv4 address: loopback stays loopback.
  EXPECT_THAT(errorsOf("EndpointSlice",
                       yaml(std::string(base) + "addressType: IPv6\nendpoints: [{addresses: "
                                                "['::ffff:127.0.0.1', 'fd00::5']}]")),
              ElementsAre("endpoints[0].addresses[0]: Invalid value: \"::ffff:127.0.0.1\": may "
                          "not be in the loopback range (127.0.0.0/8, ::1/128)"));
  EXPECT_THAT(errorsOf("EndpointSlice",
                       yaml(std::string(base) + "addressType: IPv4\nports: [{name: http, port: "
                                                "80}, {name: http, port: 81, protocol: HTTP}]")),
              ElementsAre("ports[1].name: Duplicate value: \"http\"",
                          "ports[1].protocol: Unsupported value: \"HTTP\": supported values: "
                          "\"SCTP\", \"TCP\", \"UDP\""));
}

TEST(EndpointsValidation, Subsets) {
  const char* base = "metadata: {name: web, namespace: default}\n";
  EXPECT_THAT(
      errorsOf("Endpoints", yaml(std::string(base) +
                                 "subsets: [{addresses: [{ip: 10.42.0.5}], ports: [{port: 80}]}]")),
      IsEmpty());
  EXPECT_THAT(
      errorsOf("Endpoints", yaml(std::string(base) +
                                 "subsets: [{ports: [{port: 80}]}, {addresses: [{ip: bogus}, {ip: "
                                 "0.0.0.0}], ports: [{port: 0}, {name: b, port: 1}]}]")),
      ElementsAre(
          "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
          "subsets[1].addresses[0].ip: Invalid value: \"bogus\": must be a valid IP address, (e.g. "
          "10.9.8.7 or 2001:db8::ffff)",
          "subsets[1].addresses[1].ip: Invalid value: \"0.0.0.0\": may not be unspecified "
          "(0.0.0.0)",
          "subsets[1].ports[0].name: Required value",
          "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"));
}

TEST(NodeValidation, PodCidr) {
  EXPECT_THAT(errorsOf("Node", yaml("metadata: {name: n1}\nspec: {podCIDR: 10.42.0.0/24}")),
              IsEmpty());
  EXPECT_THAT(errorsOf("Node", yaml("metadata: {name: n1}\nspec: {podCIDR: 10.42.0.0}")),
              ElementsAre("spec.podCIDRs[0]: Invalid value: \"10.42.0.0\": must be a valid CIDR "
                          "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"));
  EXPECT_THAT(
      errorsOf("Node", yaml("metadata: {name: n1}\nspec: {taints: [{key: a, effect: Never}]}")),
      ElementsAre("spec.taints[0].effect: Unsupported value: \"Never\": supported values: "
                  "\"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""));
}

TEST(NamespaceValidation, Finalizers) {
  EXPECT_THAT(errorsOf("Namespace", yaml("metadata: {name: team}")), IsEmpty());
  EXPECT_THAT(errorsOf("Namespace", yaml("metadata: {name: team}\nspec: {finalizers: [custom]}")),
              ElementsAre("spec.finalizers[0]: Invalid value: \"custom\": name is neither a "
                          "standard finalizer name nor is it fully qualified"));
}

TEST(SecretValidation, KeysAndTypes) {
  const char* base = "metadata: {name: s, namespace: default}\n";
  EXPECT_THAT(errorsOf("Secret", yaml(std::string(base) +
                                      "data: {password: cGFzcw==}\nstringData: {user: admin}")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("Secret", yaml(std::string(base) + "data: {\"bad key\": cGFzcw==}")),
      ElementsAre("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of "
                  "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                  "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
  EXPECT_THAT(errorsOf("Secret", yaml(std::string(base) + "data: {..a: YQ==}")),
              ElementsAre("data[..a]: Invalid value: \"..a\": must not start with '..'"));
  EXPECT_THAT(errorsOf("Secret",
                       yaml(std::string(base) + "type: kubernetes.io/tls\ndata: {tls.crt: YQ==}")),
              ElementsAre("data[tls.key]: Required value"));
  EXPECT_THAT(errorsOf("Secret", yaml(std::string(base) + "data: {a: \"not base64!\"}")),
              ElementsAre(::testing::StartsWith(
                  "data[a]: Invalid value: \"<secret contents redacted>\": illegal base64 data")));
}

TEST(ConfigMapValidation, Keys) {
  const char* base = "metadata: {name: c, namespace: default}\n";
  EXPECT_THAT(
      errorsOf("ConfigMap", yaml(std::string(base) + "data: {app.properties: x, KEY_1: y}")),
      IsEmpty());
  EXPECT_THAT(
      errorsOf("ConfigMap", yaml(std::string(base) + "data: {a: x}\nbinaryData: {a: eA==}")),
      ElementsAre("binaryData[a]: Invalid value: \"a\": duplicate of key present in data"));
  EXPECT_THAT(
      errorsOf("ConfigMap", yaml(std::string(base) + "data: {\"a/b\": x}")),
      ElementsAre(::testing::StartsWith("data[a/b]: Invalid value: \"a/b\": a valid config key")));
}

TEST(EventValidation, InvolvedObjectNamespace) {
  EXPECT_THAT(errorsOf("Event", yaml("metadata: {name: p.1, namespace: default}\ninvolvedObject: "
                                     "{kind: Pod, name: p, namespace: default}\nreason: Started")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("Event", yaml("metadata: {name: p.1, namespace: default}\ninvolvedObject: {kind: "
                             "Pod, name: p, namespace: other}")),
      ElementsAre(
          "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"));
}

// ---------------------------------------------------------------------------
// Updates.

TEST(ValidateUpdate, NameAndNamespaceImmutable) {
  const auto& r = resource("ConfigMap");
  Json old = yaml("metadata: {name: a, namespace: default}");
  Json renamed = yaml("metadata: {name: b, namespace: other}");
  EXPECT_THAT(printed(validateUpdate(r, renamed, old)),
              ElementsAre("metadata.name: Invalid value: \"b\": field is immutable",
                          "metadata.namespace: Invalid value: \"other\": field is immutable"));
  EXPECT_THAT(printed(validateUpdate(r, old, old)), IsEmpty());
}

TEST(ValidateUpdate, ServiceClusterIP) {
  const auto& r = resource("Service");
  Json old = service("{clusterIP: 10.43.0.10, ports: [{port: 80}]}");
  applyDefaults(r, old);
  Json changed = old;
  changed["spec"]["clusterIP"] = "10.43.0.11";
  changed["spec"].erase("clusterIPs");
  EXPECT_THAT(
      printed(validateUpdate(r, changed, old)),
      ElementsAre(
          "spec.clusterIPs[0]: Invalid value: []string{\"10.43.0.11\"}: may not change once set"));
  Json toExternal = old;
  toExternal["spec"] =
      yaml("{type: ExternalName, externalName: example.com, sessionAffinity: None}");
  EXPECT_THAT(printed(validateUpdate(r, toExternal, old)), IsEmpty());
  Json unset = old;
  unset["spec"].erase("clusterIP");
  EXPECT_THAT(printed(validateUpdate(r, unset, old)), IsEmpty());
}

TEST(ValidateUpdate, WorkloadSelectorImmutable) {
  for (const char* kind : {"Deployment", "ReplicaSet"}) {
    const auto& r = resource(kind);
    Json old = yaml(kDeployment);
    applyDefaults(r, old);
    Json changed = old;
    changed["spec"]["selector"]["matchLabels"]["tier"] = "fe";
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = "fe";
    EXPECT_THAT(
        printed(validateUpdate(r, changed, old)),
        ElementsAre(
            "spec.selector: Invalid value: "
            "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"fe\"}, "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"))
        << kind;
    Json scaled = old;
    scaled["spec"]["replicas"] = 5;
    EXPECT_THAT(printed(validateUpdate(r, scaled, old)), IsEmpty()) << kind;
  }
}

TEST(ValidateUpdate, PodSpecMostlyImmutable) {
  const auto& r = resource("Pod");
  Json old = pod("{containers: [{name: a, image: 'nginx:1.24'}]}");
  applyDefaults(r, old);
  Json newImage = old;
  newImage["spec"]["containers"][0]["image"] = "nginx:1.25";
  EXPECT_THAT(printed(validateUpdate(r, newImage, old)), IsEmpty());
  Json newPort = old;
  newPort["spec"]["containers"][0]["ports"] = yaml("[{containerPort: 80, protocol: TCP}]");
  auto errs = printed(validateUpdate(r, newPort, old));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].substr(0, 73),
            "spec: Forbidden: pod updates may not change fields other than `spec.conta");
}

TEST(ValidateUpdate, SecretTypeAndImmutableData) {
  const auto& r = resource("Secret");
  Json old = yaml(
      "metadata: {name: s, namespace: default}\ntype: Opaque\nimmutable: true\ndata: {a: YQ==}");
  Json changed = old;
  changed["type"] = "kubernetes.io/basic-auth";
  changed["data"]["username"] = "dQ==";
  EXPECT_THAT(printed(validateUpdate(r, changed, old)),
              ElementsAre("data: Forbidden: field is immutable when `immutable` is set",
                          "type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"));
}

TEST(ValidateUpdate, EndpointSliceAddressTypeAndNodePodCidr) {
  EXPECT_THAT(printed(validateUpdate(resource("EndpointSlice"),
                                     yaml("metadata: {name: e, namespace: d}\naddressType: IPv6"),
                                     yaml("metadata: {name: e, namespace: d}\naddressType: IPv4"))),
              ElementsAre("addressType: Invalid value: \"IPv6\": field is immutable"));
  EXPECT_THAT(printed(validateUpdate(resource("Node"),
                                     yaml("metadata: {name: n}\nspec: {podCIDR: 10.42.1.0/24}"),
                                     yaml("metadata: {name: n}\nspec: {podCIDR: 10.42.0.0/24}"))),
              ElementsAre("spec.podCIDRs: Forbidden: node updates may not change podCIDR except "
                          "from \"\" to valid"));
}

// ---------------------------------------------------------------------------
// Message formatting details.

TEST(Messages, StringsAreQuotedAsGoDoes) {
  auto errs =
      errorsOf("ConfigMap", yaml("metadata: {name: \"a\\tb\\\"c\\u00e9\", namespace: default}"));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].substr(0, 43), "metadata.name: Invalid value: \"a\\tb\\\"c\u00e9\": ");
}

TEST(Messages, CauseReasons) {
  Json obj =
      service("{type: Foo, ports: [{name: a, port: 0}, {name: a, port: 80, nodePort: 30000}]}");
  applyDefaults(resource("Service"), obj);
  std::vector<std::string> reasons;
  for (const auto& c : validate(resource("Service"), obj)) reasons.push_back(c.reason);
  EXPECT_THAT(reasons, Contains("FieldValueInvalid"));
  EXPECT_THAT(reasons, Contains("FieldValueDuplicate"));
  EXPECT_THAT(reasons, Contains("FieldValueNotSupported"));
  Json noPorts = service("{}");
  applyDefaults(resource("Service"), noPorts);
  auto causes = validate(resource("Service"), noPorts);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].reason, "FieldValueRequired");
  EXPECT_EQ(causes[0].field, "spec.ports");
  EXPECT_EQ(causes[0].message, "Required value");
}

}  // namespace
}  // namespace podnet::api

namespace podnet::api {
namespace {

TEST(Messages, DeeplyNestedDocumentsAreRefusedWithoutRecursion) {
  // Built iteratively: a recursive build or copy would itself overflow.
  Json obj = {{"metadata", {{"name", "c"}, {"namespace", "default"}}}};
  Json* cur = &obj["data"];
  for (int i = 0; i < 20000; ++i) {
    *cur = Json::array({nullptr});
    cur = &(*cur)[0];
  }
  auto causes = validate(resource("ConfigMap"), obj);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].message,
            "Invalid value: \"<nested too deeply>\": exceeded max depth of 10000");
  EXPECT_EQ(validateUpdate(resource("ConfigMap"), obj, obj).size(), 1u);
  // Unwind iteratively too, so the test's own destructor stays shallow.
  while (obj["data"].is_array() && !obj["data"].empty()) {
    Json inner = std::move(obj["data"][0]);
    obj["data"] = std::move(inner);
  }
}

}  // namespace
}  // namespace podnet::api

// What a client sends as {"port": 80} decodes as an unsigned JSON number.
TEST(NetworkPolicyValidation, PortsDecodedFromJsonAreValid) {
  auto policy = podnet::api::decodeJson(
      R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"np","namespace":"default"},
          "spec":{"podSelector":{},"ingress":[{"ports":[{"protocol":"TCP","port":80,"endPort":90}]}]}})");
  ASSERT_TRUE(policy.ok());
  const auto& resource = podnet::api::resource("NetworkPolicy");
  podnet::api::applyDefaults(resource, *policy);
  EXPECT_TRUE(podnet::api::validate(resource, *policy).empty());
}
