#include "apiserver/strategic_merge.h"

#include <gtest/gtest.h>

#include "apiserver/patch.h"

namespace podnet::apiserver {
namespace {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;

// A small hand-built slice of the type table: Service, Deployment and the
// pod template, with upstream's patch metadata.
Field messageField(std::string_view name, const Message* message) {
  Field field;
  field.json = name;
  field.type = Type::Message;
  field.message = message;
  return field;
}
Field mergeList(std::string_view name, const Message* element, std::string_view key,
                std::vector<std::string_view> mapKeys) {
  Field field = messageField(name, element);
  field.shape = Shape::List;
  field.patchStrategy = "merge";
  field.patchMergeKey = key;
  field.listType = "map";
  field.listMapKeys = std::move(mapKeys);
  return field;
}
Field stringMap(std::string_view name) {
  Field field;
  field.json = name;
  field.shape = Shape::Map;
  return field;
}
Field scalar(std::string_view name, Type type = Type::String) {
  Field field;
  field.json = name;
  field.type = type;
  return field;
}
Field stringList(std::string_view name, std::string_view strategy) {
  Field field;
  field.json = name;
  field.shape = Shape::List;
  field.patchStrategy = strategy;
  if (strategy == "merge") field.listType = "set";
  return field;
}

const Message kObjectMeta{"ObjectMeta",
                          {scalar("name"), scalar("namespace"), stringMap("labels"),
                           stringMap("annotations"), stringList("finalizers", "merge")}};
const Message kServicePort{"ServicePort",
                           {scalar("name"), scalar("protocol"), scalar("port", Type::Int32),
                            scalar("targetPort", Type::IntOrString)}};
const Message kServiceSpec{"ServiceSpec",
                           {mergeList("ports", &kServicePort, "port", {"port", "protocol"}),
                            stringMap("selector"), scalar("type")}};
const Message kService{
    "Service",
    {scalar("apiVersion"), scalar("kind"), messageField("metadata", &kObjectMeta),
     messageField("spec", &kServiceSpec)}};

const Message kEnvVar{"EnvVar", {scalar("name"), scalar("value")}};
const Message kContainerPort{
    "ContainerPort", {scalar("name"), scalar("containerPort", Type::Int32), scalar("protocol")}};
Field withRetainKeys(Field field) {
  field.patchStrategy = "merge,retainKeys";
  return field;
}
const Message kContainer{
    "Container",
    {scalar("name"), scalar("image"), stringList("args", ""),
     mergeList("ports", &kContainerPort, "containerPort", {"containerPort", "protocol"}),
     mergeList("env", &kEnvVar, "name", {"name"})}};
const Message kVolume{"Volume",
                      {scalar("name"), scalar("emptyDir", Type::Any), scalar("hostPath", Type::Any),
                       scalar("configMap", Type::Any)}};
const Message kPodSpec{
    "PodSpec",
    {mergeList("containers", &kContainer, "name", {"name"}),
     withRetainKeys(mergeList("volumes", &kVolume, "name", {"name"})), stringMap("nodeSelector")}};
const Message kPodTemplate{
    "PodTemplateSpec", {messageField("metadata", &kObjectMeta), messageField("spec", &kPodSpec)}};
const Message kRollingUpdate{
    "RollingUpdate",
    {scalar("maxSurge", Type::IntOrString), scalar("maxUnavailable", Type::IntOrString)}};
const Message kDeploymentStrategy{"DeploymentStrategy",
                                  {scalar("type"), messageField("rollingUpdate", &kRollingUpdate)}};
Field deploymentStrategy() {
  Field field = messageField("strategy", &kDeploymentStrategy);
  field.patchStrategy = "retainKeys";
  return field;
}
const Message kDeploymentSpec{"DeploymentSpec",
                              {scalar("replicas", Type::Int32),
                               messageField("template", &kPodTemplate), deploymentStrategy()}};
const Message kDeployment{
    "Deployment",
    {scalar("apiVersion"), scalar("kind"), messageField("metadata", &kObjectMeta),
     messageField("spec", &kDeploymentSpec)}};

const Json kStoredService = Json::parse(R"({
  "apiVersion":"v1","kind":"Service",
  "metadata":{"name":"foo","namespace":"default","labels":{"app":"web"}},
  "spec":{"type":"ClusterIP","selector":{"app":"web"},
          "ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080},
                   {"name":"https","port":443,"protocol":"TCP","targetPort":8443}]}})");

Json merged(const Json& original, const char* patch, const Message* type) {
  auto result = strategicMerge(original, Json::parse(patch), type);
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? *result : Json();
}

TEST(StrategicMerge, MapsMergeAndNullDeletes) {
  Json out = merged(
      kStoredService,
      R"({"metadata":{"labels":{"tier":"web","app":null}},"spec":{"type":"NodePort"}})", &kService);
  EXPECT_EQ(out["metadata"]["labels"], Json::parse(R"({"tier":"web"})"));
  EXPECT_EQ(out["spec"]["type"], "NodePort");
  EXPECT_EQ(out["spec"]["ports"].size(), 2u);
}

TEST(StrategicMerge, PortsMergeByPort) {
  Json out =
      merged(kStoredService, R"({"spec":{"ports":[{"port":80,"targetPort":9090}]}})", &kService);
  ASSERT_EQ(out["spec"]["ports"].size(), 2u);
  EXPECT_EQ(out["spec"]["ports"][0],
            Json::parse(R"({"name":"http","port":80,"protocol":"TCP","targetPort":9090})"));
  EXPECT_EQ(out["spec"]["ports"][1]["port"], 443);
}

TEST(StrategicMerge, NewItemsAreAppended) {
  Json out =
      merged(kStoredService, R"({"spec":{"ports":[{"name":"metrics","port":9100}]}})", &kService);
  ASSERT_EQ(out["spec"]["ports"].size(), 3u);
  EXPECT_EQ(out["spec"]["ports"][2]["name"], "metrics");
}

TEST(StrategicMerge, KubectlReapplyOfAChangedPort) {
  // What kubectl 1.32 sent on a re-apply that changed port 80 to 81 and added
  // a label (shared/notes/controlplane.md), against a one-port Service.
  Json stored = kStoredService;
  stored["spec"]["ports"].erase(1);
  Json out = merged(stored, R"({
    "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"},
                "labels":{"tier":"web"}},
    "spec":{"$setElementOrder/ports":[{"port":81}],
            "ports":[{"name":"http","port":81,"protocol":"TCP","targetPort":8080},
                     {"$patch":"delete","port":80}],
            "selector":{"tier":"web"}}})",
                    &kService);
  EXPECT_EQ(out["spec"]["ports"],
            Json::parse(R"([{"name":"http","port":81,"protocol":"TCP","targetPort":8080}])"));
  EXPECT_EQ(out["metadata"]["labels"], Json::parse(R"({"app":"web","tier":"web"})"));
  EXPECT_EQ(out["spec"]["selector"], Json::parse(R"({"app":"web","tier":"web"})"));
  EXPECT_FALSE(out["spec"].contains("$setElementOrder/ports"));
}

TEST(StrategicMerge, DeleteItemAndSetElementOrder) {
  Json out = merged(kStoredService, R"({"spec":{
      "$setElementOrder/ports":[{"port":8000},{"port":443}],
      "ports":[{"name":"alt","port":8000},{"$patch":"delete","port":80}]}})",
                    &kService);
  ASSERT_EQ(out["spec"]["ports"].size(), 2u);
  EXPECT_EQ(out["spec"]["ports"][0]["port"], 8000);
  EXPECT_EQ(out["spec"]["ports"][1]["port"], 443);
}

TEST(StrategicMerge, SetElementOrderAloneReorders) {
  Json out = merged(kStoredService,
                    R"({"spec":{"$setElementOrder/ports":[{"port":443},{"port":80}]}})", &kService);
  EXPECT_EQ(out["spec"]["ports"][0]["port"], 443);
  EXPECT_EQ(out["spec"]["ports"][1]["port"], 80);
}

TEST(StrategicMerge, ServerOnlyItemsKeepTheirPlace) {
  Json stored = kStoredService;
  stored["spec"]["ports"].push_back({{"name", "c"}, {"port", 9000}});
  // The patch orders 443 before 9000; 80 (server only) stays first.
  Json out = merged(stored, R"({"spec":{"$setElementOrder/ports":[{"port":9000},{"port":443}]}})",
                    &kService);
  std::vector<int> ports;
  for (const auto& port : out["spec"]["ports"]) ports.push_back(port["port"].get<int>());
  EXPECT_EQ(ports, (std::vector<int>{80, 9000, 443}));
}

TEST(StrategicMerge, ReplaceDirectiveInAList) {
  Json out =
      merged(kStoredService,
             R"({"spec":{"ports":[{"$patch":"replace"},{"name":"only","port":1}]}})", &kService);
  EXPECT_EQ(out["spec"]["ports"], Json::parse(R"([{"name":"only","port":1}])"));
}

TEST(StrategicMerge, ReplaceAndDeleteDirectivesInMaps) {
  Json replaced =
      merged(kStoredService, R"({"metadata":{"labels":{"$patch":"replace","x":"y"}}})", &kService);
  EXPECT_EQ(replaced["metadata"]["labels"], Json::parse(R"({"x":"y"})"));
  Json deleted = merged(kStoredService, R"({"spec":{"selector":{"$patch":"delete"}}})", &kService);
  EXPECT_FALSE(deleted["spec"].contains("selector"));
  Json merge =
      merged(kStoredService, R"({"metadata":{"labels":{"$patch":"merge","x":"y"}}})", &kService);
  EXPECT_EQ(merge["metadata"]["labels"], Json::parse(R"({"app":"web","x":"y"})"));
}

TEST(StrategicMerge, UnknownDirectiveIsABadRequest) {
  auto result = strategicMerge(
      kStoredService, Json::parse(R"({"spec":{"selector":{"$patch":"frobnicate"}}})"), &kService);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, 400);
  auto noKey = strategicMerge(kStoredService,
                              Json::parse(R"({"spec":{"ports":[{"name":"nokey"}]}})"), &kService);
  ASSERT_FALSE(noKey.ok());
  EXPECT_EQ(noKey.error().code, 400);
  EXPECT_NE(noKey.error().message.find("does not contain declared merge key: port"),
            std::string::npos);
}

TEST(StrategicMerge, PrimitiveListsMergeAsSetsAndDeleteFromPrimitiveList) {
  Json stored = kStoredService;
  stored["metadata"]["finalizers"] = {"a", "b"};
  Json added = merged(stored, R"({"metadata":{"finalizers":["b","c"]}})", &kService);
  EXPECT_EQ(added["metadata"]["finalizers"], Json::parse(R"(["a","b","c"])"));
  Json removed =
      merged(stored, R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}})", &kService);
  EXPECT_EQ(removed["metadata"]["finalizers"], Json::parse(R"(["b"])"));
  Json ordered =
      merged(stored, R"({"metadata":{"$setElementOrder/finalizers":["b","a"]}})", &kService);
  EXPECT_EQ(ordered["metadata"]["finalizers"], Json::parse(R"(["b","a"])"));
}

const Json kStoredDeployment = Json::parse(R"({
  "apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
  "spec":{"replicas":2,
    "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
    "template":{"metadata":{"labels":{"app":"web"}},"spec":{
      "containers":[
        {"name":"web","image":"nginx:1","args":["a","b"],
         "ports":[{"containerPort":80,"protocol":"TCP"}],
         "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
        {"name":"sidecar","image":"busybox"}],
      "volumes":[{"name":"data","emptyDir":{}}]}}}})");

TEST(StrategicMerge, ContainerEnvRemovedByKubectl) {
  Json out = merged(kStoredDeployment, R"({"spec":{"template":{"spec":{
      "$setElementOrder/containers":[{"name":"web"},{"name":"sidecar"}],
      "containers":[{"$setElementOrder/env":[{"name":"A"}],
                     "env":[{"$patch":"delete","name":"B"}],"name":"web"}]}}}})",
                    &kDeployment);
  const Json& containers = out["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["env"], Json::parse(R"([{"name":"A","value":"1"}])"));
  EXPECT_EQ(containers[0]["image"], "nginx:1");
  EXPECT_EQ(containers[1]["name"], "sidecar");
}

TEST(StrategicMerge, ContainersMergeByNameAndAtomicListsReplace) {
  Json out = merged(kStoredDeployment, R"({"spec":{"template":{"spec":{
      "containers":[{"name":"web","image":"nginx:2","args":["c"],
                     "ports":[{"containerPort":8080}]}]}}}})",
                    &kDeployment);
  const Json& web = out["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(web["image"], "nginx:2");
  EXPECT_EQ(web["args"], Json::parse(R"(["c"])"));  // no strategy: replaced
  EXPECT_EQ(web["ports"].size(), 2u);               // merged by containerPort
  EXPECT_EQ(web["env"].size(), 2u);
}

TEST(StrategicMerge, ContainersReordered) {
  Json out = merged(kStoredDeployment, R"({"spec":{"template":{"spec":{
      "$setElementOrder/containers":[{"name":"sidecar"},{"name":"web"}]}}}})",
                    &kDeployment);
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][0]["name"], "sidecar");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"][1]["name"], "web");
}

TEST(StrategicMerge, RetainKeysClearsUnlistedKeys) {
  // kubectl switching the strategy to Recreate.
  Json out = merged(kStoredDeployment,
                    R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate",
                                            "rollingUpdate":null}}})",
                    &kDeployment);
  EXPECT_EQ(out["spec"]["strategy"], Json::parse(R"({"type":"Recreate"})"));
  // A volume changing its source: the old source is cleared.
  Json volume = merged(kStoredDeployment, R"({"spec":{"template":{"spec":{"volumes":[
      {"$retainKeys":["configMap","name"],"name":"data","configMap":{"name":"cm"}}]}}}})",
                       &kDeployment);
  EXPECT_EQ(volume["spec"]["template"]["spec"]["volumes"],
            Json::parse(R"([{"name":"data","configMap":{"name":"cm"}}])"));
}

TEST(StrategicMerge, UnknownFieldsFallBackToMergePatch) {
  Json out = merged(kStoredService, R"({"spec":{"ports":[{"port":1}]}})", nullptr);
  EXPECT_EQ(out["spec"]["ports"], Json::parse(R"([{"port":1}])"));
  Json extra = merged(kStoredService, R"({"spec":{"extra":[{"$patch":"delete","a":1},{"b":2}]}})",
                      &kService);
  EXPECT_EQ(extra["spec"]["extra"], Json::parse(R"([{"b":2}])"));
}

TEST(StrategicMerge, TopLevelDirectives) {
  EXPECT_EQ(merged(kStoredService, R"({"$patch":"delete"})", &kService), Json::object());
  auto notObject = strategicMerge(kStoredService, Json::parse("[1]"), &kService);
  ASSERT_FALSE(notObject.ok());
  EXPECT_EQ(notObject.error().code, 400);
}

TEST(StrategicMerge, ThroughApplyPatch) {
  auto result = applyPatch(PatchType::StrategicMerge, kStoredService,
                           R"({"spec":{"ports":[{"$patch":"delete","port":443}]}})", &kService);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["spec"]["ports"].size(), 1u);
  EXPECT_EQ((*result)["spec"]["ports"][0]["port"], 80);
}

}  // namespace
}  // namespace podnet::apiserver
