#include "apiserver/patch.h"

#include <gtest/gtest.h>

namespace podnet::apiserver {
namespace {

using api::Json;

const Json kService = Json::parse(R"({
  "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
  "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}],
           "selector": {"app": "web"}}
})");

TEST(Patch, MergePatchSetsAndDeletes) {
  auto result =
      applyPatch(PatchType::Merge, kService,
                 R"({"metadata":{"labels":{"tier":null,"new":"x"}},"spec":{"ports":[]}})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["metadata"]["labels"], Json::parse(R"({"app":"web","new":"x"})"));
  EXPECT_TRUE((*result)["spec"]["ports"].empty());
  EXPECT_EQ((*result)["spec"]["selector"]["app"], "web");
}

TEST(Patch, MergePatchMustBeObject) {
  auto result = applyPatch(PatchType::Merge, kService, "[1,2]");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, 400);
}

TEST(Patch, JsonPatchOperations) {
  auto result = applyPatch(PatchType::JsonPatch, kService, R"([
    {"op":"replace","path":"/spec/ports/0/port","value":8080},
    {"op":"add","path":"/metadata/labels/extra","value":"y"},
    {"op":"remove","path":"/spec/ports/1"},
    {"op":"test","path":"/metadata/name","value":"web"}])");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["spec"]["ports"].size(), 1u);
  EXPECT_EQ((*result)["spec"]["ports"][0]["port"], 8080);
  EXPECT_EQ((*result)["metadata"]["labels"]["extra"], "y");
}

TEST(Patch, JsonPatchFailuresAreReported) {
  auto failedTest = applyPatch(PatchType::JsonPatch, kService,
                               R"([{"op":"test","path":"/metadata/name","value":"other"}])");
  ASSERT_FALSE(failedTest.ok());
  EXPECT_EQ(failedTest.error().code, 422);
  auto missing =
      applyPatch(PatchType::JsonPatch, kService, R"([{"op":"remove","path":"/spec/nothing"}])");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, 422);
  auto malformed = applyPatch(PatchType::JsonPatch, kService, R"([{"op":"frobnicate"}])");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, 400);
  auto notJson = applyPatch(PatchType::JsonPatch, kService, "{not json");
  ASSERT_FALSE(notJson.ok());
  EXPECT_EQ(notJson.error().code, 400);
  auto badOp = applyPatch(PatchType::JsonPatch, kService, R"([{"op":"nope","path":"/a"}])");
  ASSERT_FALSE(badOp.ok());
}

TEST(Patch, StrategicDirectivesAreStripped) {
  // What kubectl apply sends for a changed Service port.
  auto result = applyPatch(PatchType::StrategicMerge, kService, R"({
    "metadata":{"labels":{"tier":"web"}},
    "spec":{"$setElementOrder/ports":[{"port":81}],
            "ports":[{"name":"http","port":81},{"$patch":"delete","port":80}],
            "selector":{"tier":"web"}}})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ((*result)["spec"]["ports"], Json::parse(R"([{"name":"http","port":81}])"));
  EXPECT_EQ((*result)["spec"]["selector"], Json::parse(R"({"app":"web","tier":"web"})"));
  EXPECT_FALSE((*result)["spec"].contains("$setElementOrder/ports"));
}

TEST(Patch, StrategicDeleteOfAMap) {
  auto result = applyPatch(PatchType::StrategicMerge, kService,
                           R"({"spec":{"selector":{"$patch":"delete"}}})");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE((*result)["spec"].contains("selector"));
}

}  // namespace
}  // namespace podnet::apiserver
