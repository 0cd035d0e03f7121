// Strict field validation: unknown fields are named as upstream's strict
// decoder names them; real manifests, including deep PodSpecs, pass.
#include "api/strict.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace podnet::api::strict {
namespace {

using api::testing::yaml;
using Paths = std::vector<std::string>;

TEST(StrictTest, MisspeltServiceField) {
  Json service = yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  prots:
  - port: 80
)");
  EXPECT_EQ(unknownFields(service), Paths{"spec.prots"});
  EXPECT_EQ(strictDecodingError("Service", "v1", unknownFields(service)),
            "Service in version \"v1\" cannot be handled as a Service: strict decoding error: "
            "unknown field \"spec.prots\"");
}

TEST(StrictTest, ListElementsMapsAndMetadata) {
  Json service = yaml(R"(
apiVersion: v1
kind: Service
metadata: {name: web, lables: {a: b}}
spec:
  ports:
  - {port: 80, nme: http}
  - {port: 81, targetPort: http, protocol: TCP}
  - {port: 82, bogus: {deep: 1}}
)");
  EXPECT_EQ(unknownFields(service),
            (Paths{"metadata.lables", "spec.ports[0].nme", "spec.ports[2].bogus"}));
  EXPECT_EQ(strictDecodingError("Service", "v1", unknownFields(service)),
            "Service in version \"v1\" cannot be handled as a Service: strict decoding error: "
            "unknown field \"metadata.lables\", unknown field \"spec.ports[0].nme\", unknown "
            "field \"spec.ports[2].bogus\"");
}

TEST(StrictTest, RealDeploymentPasses) {
  Json deployment = yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}
  ownerReferences: [{apiVersion: v1, kind: X, name: x, uid: u, controller: true}]
  finalizers: [a/b]
spec:
  replicas: 2
  revisionHistoryLimit: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}}
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [a]}]
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      securityContext: {runAsNonRoot: true, fsGroup: 2000, seccompProfile: {type: RuntimeDefault}}
      imagePullSecrets: [{name: regcred}]
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 30}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 1
            preference: {matchExpressions: [{key: disk, operator: Exists}]}
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {app: web}}
              topologyKey: kubernetes.io/hostname
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway,
         labelSelector: {matchLabels: {app: web}}}
      initContainers:
      - name: init
        image: busybox
        command: [sh, -c, "true"]
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        args: [--port, "8080"]
        ports: [{name: http, containerPort: 8080, protocol: TCP}]
        env:
        - {name: A, value: "1"}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: CPU
          valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
        - name: FROM_CM
          valueFrom: {configMapKeyRef: {name: cm, key: k, optional: true}}
        - name: FROM_SECRET
          valueFrom: {secretKeyRef: {name: s, key: k}}
        envFrom:
        - configMapRef: {name: cm}
        - {prefix: S_, secretRef: {name: s, optional: false}}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: "1", memory: 128Mi}
        livenessProbe:
          httpGet: {path: /healthz, port: http, httpHeaders: [{name: X, value: y}]}
          initialDelaySeconds: 3
          periodSeconds: 10
        readinessProbe: {tcpSocket: {port: 8080}, timeoutSeconds: 1}
        startupProbe: {exec: {command: [cat, /tmp/ready]}, failureThreshold: 30}
        lifecycle: {preStop: {exec: {command: [sleep, "5"]}}, postStart: {sleep: {seconds: 1}}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
        volumeMounts:
        - {name: config, mountPath: /etc/config, readOnly: true}
        - {name: data, mountPath: /data, subPath: web}
      volumes:
      - name: config
        configMap: {name: cm, items: [{key: k, path: p, mode: 0644}], defaultMode: 420}
      - {name: secret, secret: {secretName: s, optional: true}}
      - {name: tmp, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
      - {name: host, hostPath: {path: /var/log, type: Directory}}
      - {name: data, persistentVolumeClaim: {claimName: data, readOnly: false}}
      - name: projected
        projected:
          defaultMode: 420
          sources:
          - serviceAccountToken: {path: token, expirationSeconds: 3600, audience: api}
          - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
          - downwardAPI: {items: [{path: namespace, fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}]}
      - name: podinfo
        downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
      - {name: cloud, awsElasticBlockStore: {volumeID: vol-1, fsType: ext4, anything: goes}}
status:
  replicas: 2
  conditions: [{type: Available, status: "True", lastUpdateTime: "2024-01-01T00:00:00Z"}]
)");
  EXPECT_EQ(unknownFields(deployment), Paths{});
}

TEST(StrictTest, DeepUnknownFieldsInPodTemplate) {
  Json deployment = yaml(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80, hostport: 8080}]
        env: [{name: A, valueFrom: {configMapKeyRef: {nam: x, key: k}}}]
        livenessProbe: {httpGet: {port: 80, pth: /}}
      volumes: [{name: v, configMap: {name: cm, itemz: []}}]
)");
  EXPECT_EQ(unknownFields(deployment),
            (Paths{"spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.nam",
                   "spec.template.spec.containers[0].livenessProbe.httpGet.pth",
                   "spec.template.spec.containers[0].ports[0].hostport",
                   "spec.template.spec.volumes[0].configMap.itemz"}));
}

TEST(StrictTest, EveryKindAcceptsItsEnvelopeFields) {
  for (const auto& kind : schema::allKinds()) {
    Json object = {{"kind", kind.kind},
                   {"apiVersion", kind.group.empty()
                                      ? std::string(kind.version)
                                      : std::string(kind.group) + "/" + std::string(kind.version)}};
    if (kind.message->field("metadata") &&
        kind.message->field("metadata")->message == &schema::objectMeta())
      object["metadata"] = {{"name", "x"}, {"namespace", "y"}, {"labels", {{"a", "b"}}}};
    EXPECT_EQ(unknownFields(object), Paths{}) << kind.kind;
    object["bogus"] = 1;
    EXPECT_EQ(unknownFields(object), Paths{"bogus"}) << kind.kind;
  }
}

TEST(StrictTest, WrongTypesAndUnknownKindsAreNotItsBusiness) {
  // Type errors are decoding's and validation's to report.
  Json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", "not an object"},
                  {"spec", {{"ports", {{"port", 80}}}}}};
  EXPECT_EQ(unknownFields(service), Paths{});
  EXPECT_EQ(unknownFields(Json{{"apiVersion", "v9"}, {"kind", "Service"}, {"x", 1}}), Paths{});
  EXPECT_EQ(unknownFields(Json::array()), Paths{});
  EXPECT_EQ(unknownFields(Json{{"kind", 3}, {"apiVersion", "v1"}}), Paths{});
  // Free-form subtrees accept anything.
  Json node = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata",
       {{"name", "n"},
        {"managedFields", {{{"manager", "m"}, {"fieldsV1", {{"f:spec", Json::object()}}}}}}}},
      {"spec", {{"configSource", {{"anything", true}}}}}};
  EXPECT_EQ(unknownFields(node), Paths{});
}

TEST(StrictTest, CheckFieldsModes) {
  Json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", {{"name", "web"}}},
                  {"spec", {{"prots", Json::array()}}}};
  std::vector<std::string> warnings;
  auto strict = checkFields("Strict", service, warnings);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().code, 400);
  EXPECT_EQ(strict.error().reason, "BadRequest");
  EXPECT_EQ(strict.error().message,
            "Service in version \"v1\" cannot be handled as a Service: strict decoding error: "
            "unknown field \"spec.prots\"");
  EXPECT_TRUE(warnings.empty());

  EXPECT_TRUE(checkFields("Warn", service, warnings).ok());
  EXPECT_EQ(warnings, Paths{"299 - \"unknown field \\\"spec.prots\\\"\""});
  warnings.clear();
  EXPECT_TRUE(checkFields("", service, warnings).ok());  // the server default is Warn
  EXPECT_EQ(warnings.size(), 1u);
  warnings.clear();
  EXPECT_TRUE(checkFields("Ignore", service, warnings).ok());
  EXPECT_TRUE(warnings.empty());
  auto patched = checkFields("Strict", service, warnings, true);
  ASSERT_FALSE(patched.ok());
  EXPECT_EQ(patched.error().message, "strict decoding error: unknown field \"spec.prots\"");
  service["spec"].erase("prots");
  EXPECT_TRUE(checkFields("Strict", service, warnings).ok());
}

TEST(StrictTest, WarningHeaderEscapes) {
  EXPECT_EQ(warningHeader("spec.a\"b\\c\nd"), "299 - \"unknown field \\\"spec.a\\\"b\\\\c d\\\"\"");
}

}  // namespace
}  // namespace podnet::api::strict
