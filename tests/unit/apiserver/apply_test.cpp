#include "apiserver/apply.h"

#include <gtest/gtest.h>

namespace podnet::apiserver {
namespace {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;

Field scalar(std::string_view name, Type type = Type::String) {
  Field field;
  field.json = name;
  field.type = type;
  return field;
}
Field object(std::string_view name, const Message* message) {
  Field field = scalar(name, Type::Message);
  field.message = message;
  return field;
}
Field stringMap(std::string_view name) {
  Field field = scalar(name);
  field.shape = Shape::Map;
  return field;
}

const Message kObjectMeta{
    "ObjectMeta",
    {scalar("name"), scalar("namespace"), stringMap("labels"), stringMap("annotations")}};
const Message kServicePort{"ServicePort",
                           {scalar("name"), scalar("protocol"), scalar("port", Type::Int32),
                            scalar("targetPort", Type::IntOrString)}};
Field servicePorts() {
  Field field = object("ports", &kServicePort);
  field.shape = Shape::List;
  field.patchStrategy = "merge";
  field.patchMergeKey = "port";
  field.listType = "map";
  field.listMapKeys = {"port", "protocol"};
  return field;
}
Field finalizers() {
  Field field = scalar("finalizers");
  field.shape = Shape::List;
  field.listType = "set";
  return field;
}
const Message kServiceSpec{"ServiceSpec",
                           {servicePorts(), stringMap("selector"), scalar("type"), finalizers()}};
const Message kService{"Service",
                       {scalar("apiVersion"), scalar("kind"), object("metadata", &kObjectMeta),
                        object("spec", &kServiceSpec)}};

const char* kPortKey = R"(k:{"port":80,"protocol":"TCP"})";

Json service(const char* spec) {
  Json obj = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "x"}, {"namespace", "default"}}}};
  obj["spec"] = Json::parse(spec);
  return obj;
}

ApplyOptions as(const std::string& manager, bool force = false) {
  return ApplyOptions{manager, force, "v1"};
}

const Json* entryOf(const Json& obj, const std::string& manager, const std::string& operation) {
  for (const auto& entry : obj["metadata"]["managedFields"])
    if (entry["manager"] == manager && entry["operation"] == operation) return &entry;
  return nullptr;
}

TEST(FieldSet, EncodesFieldsV1AsUpstream) {
  FieldSet set = fieldsOf(
      service(R"({"ports":[{"port":80,"targetPort":8080}],"type":"ClusterIP"})"), &kService, false);
  Json expected = Json::parse(R"({"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":
      {".":{},"f:port":{},"f:targetPort":{}}},"f:type":{}}})");
  EXPECT_EQ(set.toFieldsV1(), expected);
  EXPECT_EQ(FieldSet::fromFieldsV1(expected).toFieldsV1(), expected);
}

TEST(FieldSet, UpdateSetsMarkMapsAndLists) {
  Json obj = service(R"({"ports":[{"port":80,"protocol":"TCP"}],"finalizers":["a"]})");
  obj["metadata"]["labels"] = {{"app", "web"}};
  Json fields = fieldsOf(obj, &kService, true).toFieldsV1();
  EXPECT_EQ(fields["f:metadata"], Json::parse(R"({"f:labels":{".":{},"f:app":{}}})"));
  EXPECT_TRUE(fields["f:spec"]["f:ports"].contains("."));
  EXPECT_TRUE(fields["f:spec"]["f:finalizers"].contains("v:\"a\""));
}

TEST(FieldSet, PathStrings) {
  EXPECT_EQ(pathString({"f:spec", "f:ports", kPortKey, "f:targetPort"}),
            ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
  EXPECT_EQ(pathString({"f:metadata", "f:finalizers", "v:\"a\""}), ".metadata.finalizers[=\"a\"]");
  EXPECT_EQ(defaultFieldManager("kubectl/v1.32.4 (linux/amd64) kubernetes/abc"), "kubectl");
  EXPECT_EQ(defaultFieldManager(""), "unknown");
}

TEST(Apply, CreateRecordsTheApplier) {
  auto created = applyConfiguration(Json(), service(R"({"ports":[{"port":80,"targetPort":8080}]})"),
                                    &kService, as("kubectl"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Json* entry = entryOf(*created, "kubectl", "Apply");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ((*entry)["fieldsType"], "FieldsV1");
  EXPECT_EQ((*entry)["apiVersion"], "v1");
  EXPECT_TRUE((*entry)["time"].is_string());
  EXPECT_TRUE((*entry)["fieldsV1"]["f:spec"]["f:ports"][kPortKey].contains("f:targetPort"));
  EXPECT_EQ((*created)["spec"]["ports"][0]["targetPort"], 8080);
}

TEST(Apply, ReapplyRemovesDroppedFields) {
  auto first =
      applyConfiguration(Json(), service(R"({"type":"ClusterIP","selector":{"app":"web","tier":"x"},
                  "ports":[{"port":80,"targetPort":8080},{"port":443}]})"),
                         &kService, as("kubectl"));
  ASSERT_TRUE(first.ok());
  auto second =
      applyConfiguration(*first, service(R"({"selector":{"app":"web"},"ports":[{"port":80}]})"),
                         &kService, as("kubectl"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ((*second)["spec"]["ports"], Json::parse(R"([{"port":80}])"));
  EXPECT_EQ((*second)["spec"]["selector"], Json::parse(R"({"app":"web"})"));
  EXPECT_FALSE((*second)["spec"].contains("type"));
}

TEST(Apply, FieldsOwnedByOthersSurviveTheirRemoval) {
  auto first = applyConfiguration(Json(), service(R"({"type":"ClusterIP","ports":[{"port":80}]})"),
                                  &kService, as("kubectl"));
  ASSERT_TRUE(first.ok());
  // Another manager applies the same type: shared ownership, no conflict.
  auto shared =
      applyConfiguration(*first, service(R"({"type":"ClusterIP"})"), &kService, as("other"));
  ASSERT_TRUE(shared.ok()) << shared.error().message;
  auto dropped =
      applyConfiguration(*shared, service(R"({"ports":[{"port":80}]})"), &kService, as("kubectl"));
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ((*dropped)["spec"]["type"], "ClusterIP");
}

TEST(Apply, ConflictWithAnotherApplier) {
  auto first = applyConfiguration(Json(), service(R"({"ports":[{"port":80,"targetPort":8080}]})"),
                                  &kService, as("kubectl"));
  ASSERT_TRUE(first.ok());
  auto conflict = applyConfiguration(
      *first, service(R"({"ports":[{"port":80,"targetPort":9090}]})"), &kService, as("other"));
  ASSERT_FALSE(conflict.ok());
  const core::Error& error = conflict.error();
  EXPECT_EQ(error.code, 409);
  EXPECT_EQ(error.reason, "Conflict");
  EXPECT_EQ(error.message,
            "Apply failed with 1 conflict: conflict with \"kubectl\": "
            ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
  ASSERT_EQ(error.causes.size(), 1u);
  EXPECT_EQ(error.causes[0].reason, "FieldManagerConflict");
  EXPECT_EQ(error.causes[0].message, "conflict with \"kubectl\"");
  EXPECT_EQ(error.causes[0].field, ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
}

TEST(Apply, ConflictWithAnUpdaterNamesItsVersion) {
  Json created =
      service(R"({"ports":[{"port":80,"protocol":"TCP","targetPort":8080}],"type":"ClusterIP"})");
  recordUpdate(Json(), created, &kService, "kubectl-client-side-apply", "v1");
  auto conflict = applyConfiguration(
      created, service(R"({"ports":[{"port":80,"targetPort":9090}],"type":"NodePort"})"), &kService,
      as("kubectl"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().causes.size(), 2u);
  EXPECT_EQ(conflict.error().causes[0].message,
            "conflict with \"kubectl-client-side-apply\" using v1");
  EXPECT_EQ(conflict.error().message,
            "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using "
            "v1:\n- .spec.ports[port=80,protocol=\"TCP\"].targetPort\n- .spec.type");
}

TEST(Apply, ForceTakesOwnership) {
  auto first = applyConfiguration(Json(), service(R"({"ports":[{"port":80,"targetPort":8080}]})"),
                                  &kService, as("kubectl"));
  ASSERT_TRUE(first.ok());
  auto forced = applyConfiguration(*first, service(R"({"ports":[{"port":80,"targetPort":9090}]})"),
                                   &kService, as("other", true));
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_EQ((*forced)["spec"]["ports"][0]["targetPort"], 9090);
  const Json* kubectl = entryOf(*forced, "kubectl", "Apply");
  ASSERT_NE(kubectl, nullptr);
  EXPECT_FALSE((*kubectl)["fieldsV1"]["f:spec"]["f:ports"][kPortKey].contains("f:targetPort"));
  // kubectl no longer owns targetPort, so dropping it does not remove it.
  auto again =
      applyConfiguration(*forced, service(R"({"ports":[{"port":80}]})"), &kService, as("kubectl"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["spec"]["ports"][0]["targetPort"], 9090);
}

TEST(Apply, SameValueIsSharedNotAConflict) {
  auto first = applyConfiguration(Json(), service(R"({"ports":[{"port":80,"targetPort":8080}]})"),
                                  &kService, as("kubectl"));
  ASSERT_TRUE(first.ok());
  auto same = applyConfiguration(*first, service(R"({"ports":[{"port":80,"targetPort":8080}]})"),
                                 &kService, as("other"));
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_NE(entryOf(*same, "other", "Apply"), nullptr);
  EXPECT_NE(entryOf(*same, "kubectl", "Apply"), nullptr);
}

TEST(ManagedFields, UpdateTakesChangedFieldsFromOthers) {
  auto applied = applyConfiguration(
      Json(), service(R"({"type":"ClusterIP","ports":[{"port":80}]})"), &kService, as("kubectl"));
  ASSERT_TRUE(applied.ok());
  Json edited = *applied;
  edited["spec"]["type"] = "NodePort";
  edited["metadata"]["labels"] = {{"edited", "yes"}};
  recordUpdate(*applied, edited, &kService, "kubectl-edit", "v1");
  const Json* edit = entryOf(edited, "kubectl-edit", "Update");
  ASSERT_NE(edit, nullptr);
  EXPECT_EQ(
      (*edit)["fieldsV1"],
      Json::parse(R"({"f:metadata":{"f:labels":{".":{},"f:edited":{}}},"f:spec":{"f:type":{}}})"));
  const Json* apply = entryOf(edited, "kubectl", "Apply");
  ASSERT_NE(apply, nullptr);
  EXPECT_FALSE((*apply)["fieldsV1"]["f:spec"].contains("f:type"));
  // The applier can now change type without a conflict with itself, but
  // conflicts with the editor.
  auto conflict =
      applyConfiguration(edited, service(R"({"type":"LoadBalancer"})"), &kService, as("kubectl"));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().causes[0].message, "conflict with \"kubectl-edit\" using v1");
}

TEST(ManagedFields, CreateAndNoOpUpdate) {
  Json created = service(R"({"ports":[{"port":80}]})");
  created["metadata"]["annotations"] = {{"a", "b"}};
  recordUpdate(Json(), created, &kService, "kubectl-client-side-apply", "v1");
  ASSERT_EQ(created["metadata"]["managedFields"].size(), 1u);
  Json fields = created["metadata"]["managedFields"][0]["fieldsV1"];
  EXPECT_EQ(fields["f:metadata"]["f:annotations"], Json::parse(R"({".":{},"f:a":{}})"));
  EXPECT_TRUE(fields["f:spec"]["f:ports"].contains("."));
  Json same = created;
  recordUpdate(created, same, &kService, "someone", "v1");
  EXPECT_EQ(same["metadata"]["managedFields"], created["metadata"]["managedFields"]);
  // Removed fields leave every set.
  Json removed = created;
  removed["metadata"].erase("annotations");
  recordUpdate(created, removed, &kService, "someone", "v1");
  EXPECT_FALSE(removed["metadata"]["managedFields"][0]["fieldsV1"].contains("f:metadata"));
}

TEST(ManagedFields, ClientCanResetManagedFields) {
  Json created = service(R"({"type":"ClusterIP"})");
  recordUpdate(Json(), created, &kService, "a", "v1");
  Json reset = created;
  reset["metadata"]["managedFields"] = Json::array();
  recordUpdate(created, reset, &kService, "b", "v1");
  EXPECT_FALSE(reset["metadata"].contains("managedFields"));
}

}  // namespace
}  // namespace podnet::apiserver
