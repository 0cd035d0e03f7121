// Protobuf request bodies: bodies captured from the real kubectl 1.32 and
// bodies built by hand, read with a small hand-built type table (field
// numbers as in Kubernetes' generated.proto), plus malformed input.
#include "apiserver/protobuf.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <limits>
#include <map>
#include <string>

namespace podnet::apiserver {
namespace {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;

// --- a hand-built type table ------------------------------------------------

Field scalar(std::string_view json, int proto, Type type = Type::String,
             Shape shape = Shape::Single) {
  Field field;
  field.json = json;
  field.proto = proto;
  field.type = type;
  field.shape = shape;
  return field;
}
Field nested(std::string_view json, int proto, const Message& message,
             Shape shape = Shape::Single) {
  Field field = scalar(json, proto, Type::Message, shape);
  field.message = &message;
  return field;
}
Field embedded(int proto, const Message& message) {
  Field field = nested("", proto, message);
  field.inlined = true;
  return field;
}
Field stringMap(std::string_view json, int proto, Type type = Type::String) {
  return scalar(json, proto, type, Shape::Map);
}
Field stringList(std::string_view json, int proto) {
  return scalar(json, proto, Type::String, Shape::List);
}

struct TestSchema {
  Message managedFieldsEntry{"ManagedFieldsEntry",
                             {scalar("manager", 1), scalar("operation", 2),
                              scalar("time", 4, Type::Time), scalar("fieldsV1", 7, Type::Any)}};
  Message objectMeta{
      "ObjectMeta",
      {scalar("name", 1), scalar("generateName", 2), scalar("namespace", 3), scalar("selfLink", 4),
       scalar("uid", 5), scalar("resourceVersion", 6), scalar("generation", 7, Type::Int64),
       scalar("creationTimestamp", 8, Type::Time),
       scalar("deletionGracePeriodSeconds", 10, Type::Int64), stringMap("labels", 11),
       stringMap("annotations", 12), stringList("finalizers", 14),
       nested("managedFields", 17, managedFieldsEntry, Shape::List)}};
  Message namespaceSpec{"NamespaceSpec", {stringList("finalizers", 1)}};
  Message namespaceStatus{"NamespaceStatus", {scalar("phase", 1)}};
  Message namespaceKind{"Namespace",
                        {nested("metadata", 1, objectMeta), nested("spec", 2, namespaceSpec),
                         nested("status", 3, namespaceStatus)}};
  Message configMap{"ConfigMap",
                    {nested("metadata", 1, objectMeta), stringMap("data", 2),
                     stringMap("binaryData", 3, Type::Bytes), scalar("immutable", 4, Type::Bool)}};
  Message secret{
      "Secret",
      {nested("metadata", 1, objectMeta), stringMap("data", 2, Type::Bytes), scalar("type", 3),
       stringMap("stringData", 4), scalar("immutable", 5, Type::Bool)}};
  Message labelSelector{"LabelSelector", {stringMap("matchLabels", 1)}};
  Message containerPort{
      "ContainerPort",
      {scalar("name", 1), scalar("hostPort", 2, Type::Int32),
       scalar("containerPort", 3, Type::Int32), scalar("protocol", 4), scalar("hostIP", 5)}};
  Message resources{
      "ResourceRequirements",
      {stringMap("limits", 1, Type::Quantity), stringMap("requests", 2, Type::Quantity)}};
  Message container{
      "Container",
      {scalar("name", 1), scalar("image", 2), stringList("command", 3), stringList("args", 4),
       scalar("workingDir", 5), nested("ports", 6, containerPort, Shape::List),
       nested("resources", 8, resources), scalar("terminationMessagePath", 13),
       scalar("imagePullPolicy", 14), scalar("stdin", 16, Type::Bool),
       scalar("stdinOnce", 17, Type::Bool), scalar("tty", 18, Type::Bool),
       scalar("terminationMessagePolicy", 20)}};
  Message podSpec{"PodSpec",
                  {nested("containers", 2, container, Shape::List), scalar("restartPolicy", 3),
                   scalar("terminationGracePeriodSeconds", 4, Type::Int64), scalar("dnsPolicy", 6),
                   stringMap("nodeSelector", 7), scalar("serviceAccountName", 8),
                   scalar("nodeName", 10), scalar("hostNetwork", 11, Type::Bool),
                   scalar("automountServiceAccountToken", 21, Type::Bool)}};
  Message podStatus{"PodStatus", {scalar("phase", 1), scalar("startTime", 7, Type::Time)}};
  Message pod{"Pod",
              {nested("metadata", 1, objectMeta), nested("spec", 2, podSpec),
               nested("status", 3, podStatus)}};
  Message podTemplateSpec{"PodTemplateSpec",
                          {nested("metadata", 1, objectMeta), nested("spec", 2, podSpec)}};
  Message rollingUpdate{
      "RollingUpdateDeployment",
      {scalar("maxUnavailable", 1, Type::IntOrString), scalar("maxSurge", 2, Type::IntOrString)}};
  Message strategy{"DeploymentStrategy",
                   {scalar("type", 1), nested("rollingUpdate", 2, rollingUpdate)}};
  Message deploymentSpec{
      "DeploymentSpec",
      {scalar("replicas", 1, Type::Int32), nested("selector", 2, labelSelector),
       nested("template", 3, podTemplateSpec), nested("strategy", 4, strategy),
       scalar("minReadySeconds", 5, Type::Int32), scalar("revisionHistoryLimit", 6, Type::Int32),
       scalar("paused", 7, Type::Bool), scalar("progressDeadlineSeconds", 9, Type::Int32)}};
  Message deploymentStatus{
      "DeploymentStatus",
      {scalar("observedGeneration", 1, Type::Int64), scalar("replicas", 2, Type::Int32),
       scalar("updatedReplicas", 3, Type::Int32), scalar("unavailableReplicas", 5, Type::Int32),
       scalar("availableReplicas", 4, Type::Int32), scalar("readyReplicas", 7, Type::Int32)}};
  Message deployment{"Deployment",
                     {nested("metadata", 1, objectMeta), nested("spec", 2, deploymentSpec),
                      nested("status", 3, deploymentStatus)}};
  Message servicePort{
      "ServicePort",
      {scalar("name", 1), scalar("protocol", 2), scalar("port", 3, Type::Int32),
       scalar("targetPort", 4, Type::IntOrString), scalar("nodePort", 5, Type::Int32)}};
  Message serviceSpec{
      "ServiceSpec",
      {nested("ports", 1, servicePort, Shape::List), stringMap("selector", 2),
       scalar("clusterIP", 3), scalar("type", 4), stringList("externalIPs", 5),
       scalar("sessionAffinity", 7), scalar("loadBalancerIP", 8), scalar("externalName", 10),
       scalar("externalTrafficPolicy", 11), scalar("healthCheckNodePort", 12, Type::Int32),
       scalar("publishNotReadyAddresses", 13, Type::Bool)}};
  Message loadBalancerStatus{"LoadBalancerStatus", {}};
  Message serviceStatus{"ServiceStatus", {nested("loadBalancer", 1, loadBalancerStatus)}};
  Message service{"Service",
                  {nested("metadata", 1, objectMeta), nested("spec", 2, serviceSpec),
                   nested("status", 3, serviceStatus)}};
  Message serviceBackendPort{"ServiceBackendPort",
                             {scalar("name", 1), scalar("number", 2, Type::Int32)}};
  Message ingressServiceBackend{"IngressServiceBackend",
                                {scalar("name", 1), nested("port", 2, serviceBackendPort)}};
  Message ingressBackend{"IngressBackend", {nested("service", 4, ingressServiceBackend)}};
  Message httpIngressPath{
      "HTTPIngressPath",
      {scalar("path", 1), nested("backend", 2, ingressBackend), scalar("pathType", 3)}};
  Message httpIngressRuleValue{"HTTPIngressRuleValue",
                               {nested("paths", 1, httpIngressPath, Shape::List)}};
  Message ingressRuleValue{"IngressRuleValue", {nested("http", 1, httpIngressRuleValue)}};
  Message ingressRule{"IngressRule", {scalar("host", 1), embedded(2, ingressRuleValue)}};
  Message ingressTls{"IngressTLS", {stringList("hosts", 1), scalar("secretName", 2)}};
  Message ingressSpec{
      "IngressSpec",
      {nested("defaultBackend", 1, ingressBackend), nested("tls", 2, ingressTls, Shape::List),
       nested("rules", 3, ingressRule, Shape::List), scalar("ingressClassName", 4)}};
  Message ingressStatus{"IngressStatus", {nested("loadBalancer", 1, loadBalancerStatus)}};
  Message ingress{"Ingress",
                  {nested("metadata", 1, objectMeta), nested("spec", 2, ingressSpec),
                   nested("status", 3, ingressStatus)}};
  // Every value type and shape, for the cases kubectl's bodies do not reach.
  Message allTypes{
      "AllTypes",
      {scalar("int32", 1, Type::Int32), scalar("int64", 2, Type::Int64),
       scalar("double", 3, Type::Double), scalar("time", 4, Type::Time),
       scalar("microTime", 5, Type::MicroTime), scalar("duration", 6, Type::Duration),
       scalar("raw", 7, Type::Any), scalar("ints", 8, Type::Int32, Shape::List),
       scalar("flags", 9, Type::Bool, Shape::List), scalar("quantity", 10, Type::Quantity),
       scalar("bytes", 11, Type::Bytes), stringMap("quantities", 12, Type::Quantity),
       nested("objects", 13, labelSelector, Shape::Map), scalar("replicas", 14, Type::Int32),
       scalar("text", 15)}};
  // A message containing itself, for the depth limit.
  Message recursive{"Recursive", {}};

  TestSchema() { recursive.fields.push_back(nested("child", 1, recursive)); }
};

const TestSchema& schema() {
  static const TestSchema instance;
  return instance;
}

const Message* lookup(std::string_view apiVersion, std::string_view kind) {
  static const std::map<std::pair<std::string, std::string>, const Message*> kinds = {
      {{"v1", "Namespace"}, &schema().namespaceKind},
      {{"v1", "ConfigMap"}, &schema().configMap},
      {{"v1", "Secret"}, &schema().secret},
      {{"v1", "Pod"}, &schema().pod},
      {{"v1", "Service"}, &schema().service},
      {{"apps/v1", "Deployment"}, &schema().deployment},
      {{"networking.k8s.io/v1", "Ingress"}, &schema().ingress},
      {{"test/v1", "AllTypes"}, &schema().allTypes},
      {{"test/v1", "Recursive"}, &schema().recursive},
  };
  auto found = kinds.find({std::string(apiVersion), std::string(kind)});
  return found == kinds.end() ? nullptr : found->second;
}

// --- a protobuf encoder for building bodies ----------------------------------

std::string varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += char((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += char(value);
  return out;
}
std::string tag(int number, int wire) { return varint(uint64_t(number) << 3 | uint64_t(wire)); }
std::string varintField(int number, uint64_t value) { return tag(number, 0) + varint(value); }
std::string bytesField(int number, std::string_view bytes) {
  return tag(number, 2) + varint(bytes.size()) + std::string(bytes);
}
std::string entry(int number, std::string_view key, std::string_view value) {
  return bytesField(number, bytesField(1, key) + bytesField(2, value));
}
std::string fixed64Field(int number, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  std::string out = tag(number, 1);
  for (int i = 0; i < 8; ++i) out += char((bits >> (8 * i)) & 0xff);
  return out;
}
// The envelope kubectl writes: magic, runtime.Unknown with empty
// contentEncoding and contentType.
std::string body(std::string_view apiVersion, std::string_view kind, std::string_view raw) {
  return std::string("k8s\0", 4) + bytesField(1, bytesField(1, apiVersion) + bytesField(2, kind)) +
         bytesField(2, raw) + bytesField(3, "") + bytesField(4, "");
}

std::string fromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += char(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

Json decode(std::string_view bytes) {
  auto decoded = decodeProtobufBody(bytes, lookup);
  EXPECT_TRUE(decoded.ok()) << (decoded.ok() ? "" : decoded.error().message);
  return decoded.ok() ? decoded->object : Json();
}

core::Error decodeError(std::string_view bytes) {
  auto decoded = decodeProtobufBody(bytes, lookup);
  EXPECT_FALSE(decoded.ok()) << decoded->object.dump();
  return decoded.ok() ? core::Error{} : decoded.error();
}

// Bodies captured from `kubectl create ...` (v1.32.4) against a logging server.
constexpr std::string_view kNamespaceBody =
    "6b3873000a0f0a02763112094e616d657370616365121b0a130a036e733112001a0022002a0032003800420012001a"
    "020a001a002200";
constexpr std::string_view kConfigMapBody =
    "6b3873000a0f0a0276311209436f6e6669674d617012270a110a016312001a0022002a003200380042001206"
    "0a0161120162120a0a056d756c74691201781a002200";
constexpr std::string_view kSecretBody =
    "6b3873000a0c0a0276311206536563726574121d0a110a017312001a0022002a0032003800420012060a0170"
    "1201711a001a002200";
constexpr std::string_view kDeploymentBody =
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b8010a1f0a0377656212001a0022002a"
    "003200380042005a0a0a0361707012037765621286010802120c0a0a0a0361707012037765621a6c0a1c0a00"
    "12001a0022002a003200380042005a0a0a036170701203776562124c122e0a056e67696e7812056e67696e78"
    "2a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800"
    "600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200";
constexpr std::string_view kDeploymentZeroReplicasBody =
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412af010a210a047a65726f12001a002200"
    "2a003200380042005a0b0a0361707012047a65726f127c0800120d0a0b0a0361707012047a65726f1a610a1d"
    "0a0012001a0022002a003200380042005a0b0a0361707012047a65726f124012220a056e67696e7812056e67"
    "696e782a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01"
    "009a0100c2010022020a00280038001a0c0800100018002000280038001a002200";
constexpr std::string_view kServiceBody =
    "6b3873000a0d0a02763112075365727669636512690a1f0a0377656212001a0022002a003200380042005a0a"
    "0a03617070120377656212420a1b0a0738302d38303830120354435018502207080010903f1a002800120a0a"
    "0361707012037765621a002209436c757374657249503a00420052005a00600068001a020a001a002200";
constexpr std::string_view kNodePortServiceBody =
    "6b3873000a0d0a02763112075365727669636512680a1d0a026e7012001a0022002a003200380042005a090a"
    "0361707012026e7012430a1e0a0738302d6874747012035443501850220a080110001a046874747028001209"
    "0a0361707012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200";
constexpr std::string_view kIngressBody =
    "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e677265737312470a110a0169"
    "12001a0022002a00320038004200122e1a2c0a0b6578616d706c652e636f6d121d0a1b0a190a012f120d220b"
    "0a0377656212040a0010501a0545786163741a020a001a002200";
constexpr std::string_view kIngressClassTlsBody =
    "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e677265737312670a120a0269"
    "3212001a0022002a00320038004200124d12110a07666f6f2e636f6d12067365637265741a310a07666f6f2e"
    "636f6d12260a240a220a052f706174681211220f0a0373766312080a046874747010001a0650726566697822"
    "056e67696e781a020a001a002200";

// --- kubectl's bodies ---------------------------------------------------------

TEST(ProtobufTest, NamespaceFromKubectl) {
  // The empty strings, zero generation and empty creationTimestamp gogo
  // writes are left out, as Go's JSON would omit them.
  EXPECT_EQ(decode(fromHex(kNamespaceBody)), Json::parse(R"({
    "apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "ns1"}, "spec": {}, "status": {}})"));
}

TEST(ProtobufTest, ConfigMapDataMapFromKubectl) {
  EXPECT_EQ(decode(fromHex(kConfigMapBody)), Json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "c"}, "data": {"a": "b", "multi": "x"}})"));
}

TEST(ProtobufTest, SecretBytesAreBase64) {
  EXPECT_EQ(decode(fromHex(kSecretBody)), Json::parse(R"({
    "apiVersion": "v1", "kind": "Secret",
    "metadata": {"name": "s"}, "data": {"p": "cQ=="}})"));

  // Binary values, every padding length, and an empty value (kept: a map
  // entry's empty value is data).
  std::string raw = bytesField(1, bytesField(1, "bin")) + entry(2, "one", std::string("\xff", 1)) +
                    entry(2, "two", "ab") + entry(2, "three", std::string("\x00\x01\xfe", 3)) +
                    entry(2, "empty", "") + bytesField(3, "Opaque");
  EXPECT_EQ(decode(body("v1", "Secret", raw)), Json::parse(R"({
    "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bin"}, "type": "Opaque",
    "data": {"one": "/w==", "two": "YWI=", "three": "AAH+", "empty": ""}})"));
}

TEST(ProtobufTest, DeploymentFromKubectl) {
  EXPECT_EQ(decode(fromHex(kDeploymentBody)), Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {
      "replicas": 2,
      "selector": {"matchLabels": {"app": "web"}},
      "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                 "ports": [{"containerPort": 80}], "resources": {}}]}},
      "strategy": {}},
    "status": {}})"));
}

TEST(ProtobufTest, ZeroReplicasAreKept) {
  // replicas is a *int32: zero on the wire means zero, not "default to 1".
  Json deployment = decode(fromHex(kDeploymentZeroReplicasBody));
  ASSERT_TRUE(deployment["spec"].contains("replicas"));
  EXPECT_EQ(deployment["spec"]["replicas"], 0);
  EXPECT_FALSE(deployment["spec"].contains("minReadySeconds"));
}

TEST(ProtobufTest, ServiceIntOrStringTargetPort) {
  EXPECT_EQ(decode(fromHex(kServiceBody)), Json::parse(R"({
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
             "selector": {"app": "web"}, "type": "ClusterIP"},
    "status": {"loadBalancer": {}}})"));
  // `kubectl create service nodeport np --tcp=80:http`: a named target port.
  Json nodePort = decode(fromHex(kNodePortServiceBody));
  EXPECT_EQ(nodePort["spec"]["ports"][0]["targetPort"], "http");
  EXPECT_EQ(nodePort["spec"]["type"], "NodePort");
  EXPECT_FALSE(nodePort["spec"]["ports"][0].contains("nodePort"));
}

TEST(ProtobufTest, IngressWithEmbeddedRuleValue) {
  // IngressRule embeds IngressRuleValue: field 2 on the wire, "http" in JSON.
  EXPECT_EQ(decode(fromHex(kIngressBody)), Json::parse(R"({
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "i"},
    "spec": {"rules": [{"host": "example.com", "http": {"paths": [{
      "path": "/", "pathType": "Exact",
      "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]},
    "status": {"loadBalancer": {}}})"));
  Json tls = decode(fromHex(kIngressClassTlsBody));
  EXPECT_EQ(tls["spec"]["ingressClassName"], "nginx");
  EXPECT_EQ(tls["spec"]["tls"], Json::parse(R"([{"hosts": ["foo.com"], "secretName": "secret"}])"));
  EXPECT_EQ(tls["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"],
            Json::parse(R"({"name": "http"})"));
}

// --- bodies built by hand -----------------------------------------------------

TEST(ProtobufTest, PodAsKubectlRunWouldSendIt) {
  std::string container = bytesField(1, "p") + bytesField(2, "busybox") + bytesField(4, "sleep") +
                          bytesField(4, "3600") + bytesField(8, "") + varintField(16, 0);
  std::string spec = bytesField(2, container) + bytesField(3, "Always") +
                     bytesField(6, "ClusterFirst") + varintField(21, 0) + varintField(4, 30);
  std::string meta = bytesField(1, "p") + entry(11, "run", "p") + bytesField(8, "");
  std::string raw = bytesField(1, meta) + bytesField(2, spec) + bytesField(3, "");
  EXPECT_EQ(decode(body("v1", "Pod", raw)), Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "labels": {"run": "p"}},
    "spec": {"containers": [{"name": "p", "image": "busybox", "args": ["sleep", "3600"],
                             "resources": {}}],
             "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
             "automountServiceAccountToken": false, "terminationGracePeriodSeconds": 30},
    "status": {}})"));
}

TEST(ProtobufTest, DeploymentWithStrategyAndResources) {
  // maxUnavailable: 0 is a *IntOrString set to zero and must survive.
  std::string rolling = bytesField(1, varintField(1, 0) + varintField(2, 0)) +
                        bytesField(2, varintField(1, 1) + bytesField(3, "25%"));
  std::string resources =
      entry(1, "cpu", bytesField(1, "500m")) + entry(1, "memory", bytesField(1, "1Gi"));
  std::string container = bytesField(1, "app") + bytesField(2, "app:1") + bytesField(8, resources);
  std::string raw =
      bytesField(1, bytesField(1, "d")) +
      bytesField(2, varintField(1, 3) + bytesField(3, bytesField(2, bytesField(2, container))) +
                        bytesField(4, bytesField(1, "RollingUpdate") + bytesField(2, rolling)) +
                        varintField(6, 0));
  Json deployment = decode(body("apps/v1", "Deployment", raw));
  EXPECT_EQ(deployment["spec"]["strategy"], Json::parse(R"({
    "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}})"));
  EXPECT_EQ(deployment["spec"]["revisionHistoryLimit"], 0);
  EXPECT_EQ(deployment["spec"]["template"]["spec"]["containers"][0]["resources"],
            Json::parse(R"({"limits": {"cpu": "500m", "memory": "1Gi"}})"));
}

TEST(ProtobufTest, ScalarTypesTimesAndDurations) {
  std::string managedFields = bytesField(1, R"({"f:metadata":{"f:labels":{}}})");
  std::string raw = varintField(1, uint64_t(int64_t(-5))) +  // int32 -5: ten bytes, sign-extended
                    varintField(2, uint64_t(int64_t(-9000000000))) + fixed64Field(3, 2.5) +
                    bytesField(4, varintField(1, 1700000000) + varintField(2, 999)) +
                    bytesField(5, varintField(1, 1700000000) + varintField(2, 123456789)) +
                    bytesField(6, varintField(1, 90000000000)) + bytesField(7, managedFields) +
                    bytesField(10, bytesField(1, "1.5Gi")) +
                    bytesField(11, std::string("\x00", 1)) + bytesField(15, "caf\xc3\xa9");
  Json all = decode(body("test/v1", "AllTypes", raw));
  EXPECT_EQ(all["int32"], -5);
  EXPECT_EQ(all["int64"], -9000000000);
  EXPECT_EQ(all["double"], 2.5);
  EXPECT_EQ(all["time"], "2023-11-14T22:13:20Z");  // Time keeps seconds only
  EXPECT_EQ(all["microTime"], "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(all["duration"], "1m30s");
  EXPECT_EQ(all["raw"], Json::parse(R"({"f:metadata":{"f:labels":{}}})"));
  EXPECT_EQ(all["quantity"], "1.5Gi");
  EXPECT_EQ(all["bytes"], "AA==");
  EXPECT_EQ(all["text"], "caf\xc3\xa9");
}

TEST(ProtobufTest, GoDurationStrings) {
  auto durationOf = [](uint64_t nanoseconds) {
    return decode(body("test/v1", "AllTypes", bytesField(6, varintField(1, nanoseconds))))
        .value("duration", "");
  };
  EXPECT_EQ(durationOf(3600000000000), "1h0m0s");
  EXPECT_EQ(durationOf(1500000000), "1.5s");
  EXPECT_EQ(durationOf(100000000), "100ms");
  EXPECT_EQ(durationOf(1500), "1.5\xc2\xb5s");
  EXPECT_EQ(durationOf(42), "42ns");
  EXPECT_EQ(durationOf(uint64_t(int64_t(-2000000000))), "-2s");
  EXPECT_EQ(durationOf(0), "");  // a zero duration is left out
}

TEST(ProtobufTest, TimesAtTheEdges) {
  auto timeOf = [](int64_t seconds) {
    return decode(body("test/v1", "AllTypes", bytesField(4, varintField(1, uint64_t(seconds)))))
        .value("time", "");
  };
  EXPECT_EQ(timeOf(0), "1970-01-01T00:00:00Z");  // the epoch is a time, unlike an empty message
  EXPECT_EQ(timeOf(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(timeOf(-62135596800), "0001-01-01T00:00:00Z");
  EXPECT_EQ(timeOf(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(timeOf(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(
      decodeError(body("test/v1", "AllTypes", bytesField(4, varintField(1, 253402300800)))).code,
      400);
}

TEST(ProtobufTest, RepeatedPackedAndUnpacked) {
  std::string packed = bytesField(8, varint(1) + varint(300) + varint(uint64_t(int64_t(-1))));
  std::string raw = varintField(8, 7) + packed + varintField(8, 0) + varintField(9, 1) +
                    bytesField(9, varint(0) + varint(1));
  Json all = decode(body("test/v1", "AllTypes", raw));
  EXPECT_EQ(all["ints"], Json::parse("[7, 1, 300, -1, 0]"));  // zeros stay in lists
  EXPECT_EQ(all["flags"], Json::parse("[true, false, true]"));
}

TEST(ProtobufTest, MapsOfMessagesAndMissingParts) {
  std::string selector = bytesField(1, bytesField(1, "app") + bytesField(2, "web"));
  std::string raw = entry(13, "a", selector) +
                    bytesField(13, bytesField(1, "noValue")) +           // value missing: {}
                    bytesField(12, bytesField(2, bytesField(1, "1"))) +  // key missing: ""
                    entry(13, "a", "");  // a repeated key: the last one wins
  Json all = decode(body("test/v1", "AllTypes", raw));
  EXPECT_EQ(all["objects"], Json::parse(R"({"a": {}, "noValue": {}})"));
  EXPECT_EQ(all["quantities"], Json::parse(R"({"": "1"})"));
}

TEST(ProtobufTest, UnknownFieldsAreSkippedAndReported) {
  std::string meta = bytesField(1, "x") + varintField(99, 5) + fixed64Field(98, 1.0) + tag(97, 5) +
                     std::string("abcd");
  std::string raw = bytesField(1, meta) + bytesField(50, "ignored");
  auto decoded = decodeProtobufBody(body("v1", "ConfigMap", raw), lookup);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->object["metadata"], Json::parse(R"({"name": "x"})"));
  EXPECT_EQ(decoded->unknownFields,
            (std::vector<std::string>{
                "metadata: field 99 of ObjectMeta", "metadata: field 98 of ObjectMeta",
                "metadata: field 97 of ObjectMeta", "field 50 of ConfigMap"}));
}

TEST(ProtobufTest, JsonInsideTheEnvelope) {
  std::string bytes =
      std::string("k8s\0", 4) + bytesField(1, bytesField(1, "v1") + bytesField(2, "ConfigMap")) +
      bytesField(2, R"({"metadata":{"name":"j"}})") + bytesField(4, "application/json");
  EXPECT_EQ(decode(bytes), Json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": "j"}})"));
}

// --- malformed bodies -----------------------------------------------------------

TEST(ProtobufTest, WrongMagicIsBadRequest) {
  for (std::string bytes : {std::string(), std::string("k8s"), std::string("k8s!", 4) + "x",
                            std::string("{\"kind\":\"ConfigMap\"}")}) {
    core::Error error = decodeError(bytes);
    EXPECT_EQ(error.code, 400);
    EXPECT_EQ(error.reason, "BadRequest");
    EXPECT_NE(error.message.find("magic"), std::string::npos) << error.message;
  }
}

TEST(ProtobufTest, UnknownKindIsUnsupportedMediaType) {
  core::Error error = decodeError(body("v1", "Frobnicator", ""));
  EXPECT_EQ(error.code, 415);
  EXPECT_EQ(error.reason, "UnsupportedMediaType");
  EXPECT_NE(error.message.find("v1 Frobnicator"), std::string::npos) << error.message;
  EXPECT_EQ(error.toStatus()["kind"], "Status");
  EXPECT_EQ(error.toStatus()["code"], 415);

  EXPECT_EQ(decodeError(body("", "", "")).code, 400);  // no kind at all
  std::string compressed = std::string("k8s\0", 4) +
                           bytesField(1, bytesField(1, "v1") + bytesField(2, "ConfigMap")) +
                           bytesField(3, "gzip");
  EXPECT_EQ(decodeError(compressed).code, 415);
}

TEST(ProtobufTest, MalformedMessagesAreBadRequests) {
  struct Case {
    const char* what;
    std::string raw;
    const char* message;
  };
  std::string eleven(10, '\xff');
  eleven += '\x01';
  std::vector<Case> cases = {
      {"truncated tag", std::string("\x80", 1), "truncated field tag"},
      {"truncated varint", tag(1, 0) + "\xff\xff", "varint"},
      {"varint of eleven bytes", tag(1, 0) + eleven, "varint"},
      {"tenth varint byte too big", tag(1, 0) + std::string(9, '\xff') + "\x02", "varint"},
      {"length past the end", tag(15, 2) + varint(10) + "abc", "length past the end"},
      {"huge length", tag(15, 2) + varint(UINT64_MAX), "length past the end"},
      {"field number 0", varintField(0, 1), "invalid field number 0"},
      {"group", tag(40, 3), "unsupported wire type start-group"},
      {"wire type mismatch", varintField(15, 1), "wire type varint for a string field"},
      {"string as fixed32", tag(15, 5) + "abcd", "wire type fixed32"},
      {"invalid UTF-8", bytesField(15, "\xc3\x28"), "not valid UTF-8"},
      {"overlong UTF-8", bytesField(15, "\xc0\xaf"), "not valid UTF-8"},
      {"surrogate", bytesField(15, "\xed\xa0\x80"), "not valid UTF-8"},
      {"truncated double", tag(3, 1) + "abc", "truncated fixed64"},
      {"NaN", fixed64Field(3, std::numeric_limits<double>::quiet_NaN()), "finite"},
      {"nanos out of range", bytesField(5, varintField(1, 1) + varintField(2, 1000000000)),
       "nanoseconds"},
      {"truncated Time", bytesField(4, std::string("\x08", 1)), "malformed Time"},
      {"raw JSON that does not parse", bytesField(7, bytesField(1, "{nope")), "does not parse"},
      {"map entry as varint", varintField(12, 1), "map entry with wire type varint"},
      {"map key as varint", bytesField(12, varintField(1, 1)), "map key is not a string"},
      {"list element truncated", bytesField(8, std::string("\xff", 1)), "varint"},
  };
  for (const Case& c : cases) {
    auto decoded = decodeProtobufBody(body("test/v1", "AllTypes", c.raw), lookup);
    ASSERT_FALSE(decoded.ok()) << c.what << ": " << decoded->object.dump();
    EXPECT_EQ(decoded.error().code, 400) << c.what;
    EXPECT_NE(decoded.error().message.find(c.message), std::string::npos)
        << c.what << ": " << decoded.error().message;
  }
}

TEST(ProtobufTest, ErrorsNameTheField) {
  std::string port = bytesField(4, varintField(1, 2));  // IntOrString of type 2
  std::string raw = bytesField(2, bytesField(1, bytesField(1, "http") + port));
  core::Error error = decodeError(body("v1", "Service", raw));
  EXPECT_EQ(error.code, 400);
  EXPECT_NE(error.message.find("spec.ports[0].targetPort: IntOrString of type 2"),
            std::string::npos)
      << error.message;
}

TEST(ProtobufTest, NestingIsLimited) {
  std::string raw;
  for (int i = 0; i < 100; ++i) raw = bytesField(1, raw);
  core::Error error = decodeError(body("test/v1", "Recursive", raw));
  EXPECT_EQ(error.code, 400);
  EXPECT_NE(error.message.find("nested deeper than 64"), std::string::npos) << error.message;
  std::string shallow;
  for (int i = 0; i < 60; ++i) shallow = bytesField(1, shallow);
  EXPECT_TRUE(decodeProtobufBody(body("test/v1", "Recursive", shallow), lookup).ok());
}

TEST(ProtobufTest, EveryTruncationAndByteFlipIsHandled) {
  // Each prefix of a real body, and each body with one byte changed, must
  // decode or fail with a 400/415: never crash.
  for (std::string_view hex : {kDeploymentBody, kIngressBody, kServiceBody}) {
    std::string full = fromHex(hex);
    for (size_t length = 0; length < full.size(); ++length) {
      auto decoded = decodeProtobufBody(full.substr(0, length), lookup);
      if (!decoded.ok()) {
        EXPECT_EQ(decoded.error().code, 400) << length;
      }
    }
    for (size_t i = 0; i < full.size(); ++i) {
      for (int flip : {0x01, 0x80, 0xff}) {
        std::string changed = full;
        changed[i] = char(changed[i] ^ flip);
        auto decoded = decodeProtobufBody(changed, lookup);
        if (!decoded.ok())
          EXPECT_TRUE(decoded.error().code == 400 || decoded.error().code == 415)
              << i << ": " << decoded.error().message;
        else
          (void)decoded->object.dump();
      }
    }
  }
}

// --- the real type table (api/schema.h) -----------------------------------------

core::Result<DecodedProtobuf> decodeWithTable(std::string_view hex) {
  return decodeProtobufBody(fromHex(hex), api::schema::forKind);
}

TEST(ProtobufRealTableTest, KubectlBodiesDecodeWithoutUnknownFields) {
  for (std::string_view hex :
       {kNamespaceBody, kConfigMapBody, kSecretBody, kDeploymentBody, kDeploymentZeroReplicasBody,
        kServiceBody, kNodePortServiceBody, kIngressBody, kIngressClassTlsBody}) {
    auto decoded = decodeWithTable(hex);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->unknownFields, std::vector<std::string>()) << decoded->object.dump();
  }
}

TEST(ProtobufRealTableTest, KubectlBodiesAsJson) {
  EXPECT_EQ(decodeWithTable(kNamespaceBody)->object, decode(fromHex(kNamespaceBody)));
  EXPECT_EQ(decodeWithTable(kSecretBody)->object["data"], Json::parse(R"({"p": "cQ=="})"));
  EXPECT_EQ(decodeWithTable(kDeploymentBody)->object, decode(fromHex(kDeploymentBody)));
  EXPECT_EQ(decodeWithTable(kDeploymentZeroReplicasBody)->object["spec"]["replicas"], 0);
  EXPECT_EQ(decodeWithTable(kServiceBody)->object, decode(fromHex(kServiceBody)));
  EXPECT_EQ(decodeWithTable(kIngressBody)->object, decode(fromHex(kIngressBody)));
  EXPECT_EQ(decodeWithTable(kIngressClassTlsBody)->object, decode(fromHex(kIngressClassTlsBody)));
}

TEST(ProtobufRealTableTest, DeleteOptions) {
  // meta.k8s.io/v1 DeleteOptions {gracePeriodSeconds=1, propagationPolicy=4}:
  // a zero grace period means "now" and is kept.
  std::string raw = varintField(1, 0) + bytesField(4, "Foreground");
  auto decoded =
      decodeProtobufBody(body("meta.k8s.io/v1", "DeleteOptions", raw), api::schema::forKind);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->object, Json::parse(R"({"apiVersion": "meta.k8s.io/v1",
    "kind": "DeleteOptions", "gracePeriodSeconds": 0, "propagationPolicy": "Foreground"})"));
}

}  // namespace
}  // namespace podnet::apiserver
