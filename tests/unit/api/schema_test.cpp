// The type table: lookups, well-known protobuf numbers and patch metadata
// checked against Kubernetes' generated.proto and types.go, and structural
// invariants over every message.
#include "api/schema.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "api/resource.h"

namespace podnet::api::schema {
namespace {

const Field& fieldOf(const Message* message, std::string_view json) {
  static const Field missing{};
  EXPECT_NE(message, nullptr);
  if (!message) return missing;
  const Field* field = message->field(json);
  EXPECT_NE(field, nullptr) << message->name << " has no field " << json;
  return field ? *field : missing;
}

const Message* messageOf(const Message* parent, std::string_view json) {
  const Field& field = fieldOf(parent, json);
  return field.message;
}

TEST(SchemaTest, EveryServedKindHasAMessage) {
  for (const auto& resource : builtinResources()) {
    const Message* message = forKind(resource.apiVersion(), resource.kind);
    ASSERT_NE(message, nullptr) << resource.kind;
    EXPECT_NE(message->field("metadata"), nullptr) << resource.kind;
    EXPECT_NE(message->field("kind"), nullptr) << resource.kind;
    EXPECT_NE(message->field("apiVersion"), nullptr) << resource.kind;
  }
  int served = 0;
  for (const auto& kind : allKinds()) served += kind.served ? 1 : 0;
  EXPECT_EQ(served, int(builtinResources().size()));
}

TEST(SchemaTest, EnvelopeKinds) {
  EXPECT_NE(forKind("meta.k8s.io/v1", "DeleteOptions"), nullptr);
  EXPECT_NE(forKind("v1", "DeleteOptions"), nullptr);  // how kubectl sends it
  EXPECT_NE(forKind("v1", "Status"), nullptr);
  EXPECT_NE(forKind("autoscaling/v1", "Scale"), nullptr);
  EXPECT_NE(forKind("v1", "Binding"), nullptr);
  EXPECT_EQ(forKind("v1", "Deployment"), nullptr);
  EXPECT_EQ(forKind("apps/v1", "Service"), nullptr);
  EXPECT_EQ(forKind("v2", "Service"), nullptr);
  EXPECT_EQ(forKind("", ""), nullptr);
}

TEST(SchemaTest, ObjectMetaNumbers) {
  const Message& meta = objectMeta();
  EXPECT_EQ(meta.name, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
  EXPECT_EQ(fieldOf(&meta, "name").proto, 1);
  EXPECT_EQ(fieldOf(&meta, "generateName").proto, 2);
  EXPECT_EQ(fieldOf(&meta, "namespace").proto, 3);
  EXPECT_EQ(fieldOf(&meta, "uid").proto, 5);
  EXPECT_EQ(fieldOf(&meta, "resourceVersion").proto, 6);
  EXPECT_EQ(fieldOf(&meta, "creationTimestamp").type, Type::Time);
  EXPECT_EQ(fieldOf(&meta, "labels").proto, 11);
  EXPECT_EQ(fieldOf(&meta, "labels").shape, Shape::Map);
  EXPECT_EQ(fieldOf(&meta, "annotations").proto, 12);
  EXPECT_EQ(fieldOf(&meta, "managedFields").proto, 17);
  EXPECT_EQ(meta.fieldByProto(3)->json, "namespace");
  EXPECT_EQ(meta.fieldByProto(15), nullptr);  // clusterName, removed
  EXPECT_EQ(meta.fieldByProto(0), nullptr);

  const Field& owners = fieldOf(&meta, "ownerReferences");
  EXPECT_EQ(owners.proto, 13);
  EXPECT_EQ(owners.patchStrategy, "merge");
  EXPECT_EQ(owners.patchMergeKey, "uid");
  EXPECT_EQ(owners.listType, "map");
  const Field& finalizers = fieldOf(&meta, "finalizers");
  EXPECT_EQ(finalizers.proto, 14);
  EXPECT_EQ(finalizers.patchStrategy, "merge");
  EXPECT_EQ(finalizers.listType, "set");
  EXPECT_EQ(fieldOf(owners.message, "uid").proto, 4);
  EXPECT_EQ(fieldOf(owners.message, "apiVersion").proto, 5);
}

TEST(SchemaTest, ServiceNumbersAndMergeKeys) {
  const Message* service = forKind("v1", "Service");
  EXPECT_EQ(service->name, "io.k8s.api.core.v1.Service");
  EXPECT_EQ(fieldOf(service, "metadata").proto, 1);
  EXPECT_EQ(fieldOf(service, "spec").proto, 2);
  EXPECT_EQ(fieldOf(service, "status").proto, 3);
  EXPECT_EQ(fieldOf(service, "kind").proto, 0);
  const Message* spec = messageOf(service, "spec");
  const Field& ports = fieldOf(spec, "ports");
  EXPECT_EQ(ports.proto, 1);
  EXPECT_EQ(ports.shape, Shape::List);
  EXPECT_EQ(ports.patchStrategy, "merge");
  EXPECT_EQ(ports.patchMergeKey, "port");
  EXPECT_EQ(ports.listType, "map");
  EXPECT_EQ(ports.listMapKeys, (std::vector<std::string_view>{"port", "protocol"}));
  EXPECT_EQ(fieldOf(spec, "clusterIPs").proto, 18);
  EXPECT_EQ(fieldOf(spec, "ipFamilyPolicy").proto, 17);
  EXPECT_EQ(fieldOf(spec, "ipFamilies").proto, 19);
  EXPECT_EQ(fieldOf(ports.message, "name").proto, 1);
  EXPECT_EQ(fieldOf(ports.message, "protocol").proto, 2);
  EXPECT_EQ(fieldOf(ports.message, "port").proto, 3);
  EXPECT_EQ(fieldOf(ports.message, "port").type, Type::Int32);
  EXPECT_EQ(fieldOf(ports.message, "targetPort").proto, 4);
  EXPECT_EQ(fieldOf(ports.message, "targetPort").type, Type::IntOrString);
}

TEST(SchemaTest, PodSpecAndContainer) {
  const Message* pod = forKind("v1", "Pod");
  const Message* spec = messageOf(pod, "spec");
  EXPECT_EQ(spec->name, "io.k8s.api.core.v1.PodSpec");
  const Field& containers = fieldOf(spec, "containers");
  EXPECT_EQ(containers.proto, 2);
  EXPECT_EQ(containers.patchMergeKey, "name");
  EXPECT_EQ(fieldOf(spec, "initContainers").proto, 20);
  const Field& volumes = fieldOf(spec, "volumes");
  EXPECT_EQ(volumes.proto, 1);
  EXPECT_EQ(volumes.patchStrategy, "merge,retainKeys");
  EXPECT_EQ(volumes.patchMergeKey, "name");
  EXPECT_EQ(fieldOf(spec, "tolerations").patchStrategy, "");
  EXPECT_EQ(fieldOf(spec, "tolerations").listType, "atomic");
  EXPECT_EQ(fieldOf(spec, "imagePullSecrets").patchMergeKey, "name");
  EXPECT_EQ(fieldOf(spec, "topologySpreadConstraints").patchMergeKey, "topologyKey");

  const Message* container = containers.message;
  EXPECT_EQ(fieldOf(container, "name").proto, 1);
  EXPECT_EQ(fieldOf(container, "image").proto, 2);
  EXPECT_EQ(fieldOf(container, "ports").proto, 6);
  EXPECT_EQ(fieldOf(container, "ports").patchMergeKey, "containerPort");
  EXPECT_EQ(fieldOf(container, "env").proto, 7);
  EXPECT_EQ(fieldOf(container, "env").patchMergeKey, "name");
  EXPECT_EQ(fieldOf(container, "volumeMounts").patchMergeKey, "mountPath");
  EXPECT_EQ(fieldOf(container, "resources").proto, 8);
  const Message* resources = messageOf(container, "resources");
  EXPECT_EQ(fieldOf(resources, "limits").type, Type::Quantity);
  EXPECT_EQ(fieldOf(resources, "limits").shape, Shape::Map);
}

TEST(SchemaTest, InlinedMembersAreFoundByJsonName) {
  // ConfigMapKeySelector embeds LocalObjectReference: "name" in JSON, in
  // protobuf field 1 of the selector (a LocalObjectReference message).
  const Message* container = messageOf(messageOf(forKind("v1", "Pod"), "spec"), "containers");
  const Message* valueFrom = messageOf(messageOf(container, "env"), "valueFrom");
  const Message* selector = messageOf(valueFrom, "configMapKeyRef");
  EXPECT_EQ(fieldOf(selector, "name").proto, 1);
  const Field* embedded = selector->fieldByProto(1);
  ASSERT_NE(embedded, nullptr);
  EXPECT_TRUE(embedded->inlined);
  EXPECT_EQ(embedded->message->name, "io.k8s.api.core.v1.LocalObjectReference");
  // A probe's handler is inlined too.
  const Message* probe = messageOf(container, "livenessProbe");
  EXPECT_NE(probe->field("httpGet"), nullptr);
  EXPECT_EQ(probe->field(""), nullptr);  // the inlined member has no JSON name of its own
  // Volume sources sit beside the volume's name.
  const Message* volume = messageOf(messageOf(forKind("v1", "Pod"), "spec"), "volumes");
  EXPECT_EQ(fieldOf(volume, "configMap").proto, 19);
  EXPECT_EQ(fieldOf(volume, "emptyDir").proto, 2);
}

TEST(SchemaTest, AppsAndNetworking) {
  const Message* deployment = forKind("apps/v1", "Deployment");
  const Message* spec = messageOf(deployment, "spec");
  EXPECT_EQ(fieldOf(spec, "template").message->name, "io.k8s.api.core.v1.PodTemplateSpec");
  EXPECT_EQ(fieldOf(spec, "strategy").patchStrategy, "retainKeys");
  EXPECT_EQ(fieldOf(spec, "progressDeadlineSeconds").proto, 9);
  const Message* status = messageOf(deployment, "status");
  EXPECT_EQ(fieldOf(status, "conditions").patchMergeKey, "type");

  const Message* ingress = forKind("networking.k8s.io/v1", "Ingress");
  const Message* rule = messageOf(messageOf(ingress, "spec"), "rules");
  EXPECT_EQ(fieldOf(rule, "http").proto, 1);  // inside the inlined IngressRuleValue
  EXPECT_EQ(fieldOf(messageOf(ingress, "spec"), "ingressClassName").proto, 4);
  const Message* slice = forKind("discovery.k8s.io/v1", "EndpointSlice");
  EXPECT_EQ(fieldOf(slice, "addressType").proto, 4);
  EXPECT_EQ(fieldOf(forKind("autoscaling/v1", "Scale"), "spec").proto, 2);
}

// Every message of the table: unique JSON names and protobuf numbers, a
// message for every Message field, and list metadata only on lists.
void checkMessage(const Message& message, std::set<const Message*>& seen) {
  if (!seen.insert(&message).second) return;
  std::set<std::string_view> names;
  std::set<int> numbers;
  for (const Field& field : message.fields) {
    if (field.inlined) {
      ASSERT_NE(field.message, nullptr) << message.name;
      EXPECT_TRUE(field.json.empty()) << message.name;
    } else {
      EXPECT_FALSE(field.json.empty()) << message.name;
      EXPECT_TRUE(names.insert(field.json).second) << message.name << "." << field.json;
    }
    if (field.proto > 0)
      EXPECT_TRUE(numbers.insert(field.proto).second) << message.name << " #" << field.proto;
    if (field.type == Type::Message) {
      ASSERT_NE(field.message, nullptr) << message.name << "." << field.json;
      checkMessage(*field.message, seen);
    } else {
      EXPECT_EQ(field.message, nullptr) << message.name << "." << field.json;
    }
    if (field.shape != Shape::List) {
      EXPECT_TRUE(field.listType.empty()) << message.name << "." << field.json;
      EXPECT_TRUE(field.patchMergeKey.empty()) << message.name << "." << field.json;
    }
    if (field.listType == "map") EXPECT_FALSE(field.listMapKeys.empty());
    if (!field.patchMergeKey.empty() && field.message)
      EXPECT_NE(field.message->field(field.patchMergeKey), nullptr)
          << message.name << "." << field.json << " merges on " << field.patchMergeKey;
  }
}

TEST(SchemaTest, EveryMessageIsWellFormed) {
  std::set<const Message*> seen;
  for (const auto& kind : allKinds()) {
    ASSERT_NE(kind.message, nullptr) << kind.kind;
    checkMessage(*kind.message, seen);
  }
  EXPECT_GT(seen.size(), 150u);
}

}  // namespace
}  // namespace podnet::api::schema
