// CRD defaulting, validation (with upstream's paths and messages) and the
// served resources a CRD turns into.
#include "apiextensions/crd.h"

#include <gtest/gtest.h>

#include "api/custom_resource.h"

namespace podnet::apiextensions {
namespace {

Json crd() {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {"group": "stable.example.com", "scope": "Namespaced",
             "names": {"plural": "crontabs", "kind": "CronTab", "shortNames": ["ct"], "categories": ["all"]},
             "versions": [
               {"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                  "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                  "status": {"type": "object", "properties": {"replicas": {"type": "integer"}, "selector": {"type": "string"}}}}}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                 "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                "additionalPrinterColumns": [{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}]},
               {"name": "v1beta1", "served": true, "storage": false,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})");
}

std::vector<std::string> causesOf(const Json& obj, const Json* old = nullptr) {
  std::vector<std::string> out;
  for (const auto& cause : validateCrd(obj, old)) out.push_back(cause.field + ": " + cause.message);
  return out;
}

TEST(Crd, DefaultsNamesAndConversion) {
  Json obj = crd();
  defaultCrd(obj);
  EXPECT_EQ(obj["spec"]["names"]["singular"], "crontab");
  EXPECT_EQ(obj["spec"]["names"]["listKind"], "CronTabList");
  EXPECT_EQ(obj["spec"]["conversion"]["strategy"], "None");
  EXPECT_TRUE(causesOf(obj).empty()) << causesOf(obj).front();
}

TEST(Crd, RefusesWhatUpstreamRefuses) {
  Json obj = crd();
  defaultCrd(obj);
  obj["metadata"]["name"] = "crontab.stable.example.com";
  EXPECT_EQ(causesOf(obj),
            (std::vector<std::string>{
                "metadata.name: Invalid value: \"crontab.stable.example.com\": must be "
                "spec.names.plural+\".\"+spec.group"}));
  obj = crd();
  defaultCrd(obj);
  obj["spec"]["versions"][1]["storage"] = true;
  EXPECT_EQ(causesOf(obj),
            (std::vector<std::string>{
                "spec.versions: Invalid value: 2: must have exactly one version marked "
                "as storage version"}));
  obj = crd();
  defaultCrd(obj);
  obj["spec"]["scope"] = "Global";
  EXPECT_EQ(causesOf(obj), (std::vector<std::string>{
                               "spec.scope: Unsupported value: \"Global\": supported values: "
                               "\"Cluster\", \"Namespaced\""}));
  obj = crd();
  defaultCrd(obj);
  obj["spec"]["group"] = "gateway.networking.k8s.io";
  obj["metadata"]["name"] = "crontabs.gateway.networking.k8s.io";
  auto causes = causesOf(obj);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_NE(causes[0].find("metadata.annotations[api-approved.kubernetes.io]: Required value"),
            std::string::npos);
  obj["metadata"]["annotations"]["api-approved.kubernetes.io"] = "https://github.com/x/y/pull/1";
  EXPECT_TRUE(causesOf(obj).empty());
  obj = crd();
  defaultCrd(obj);
  obj["spec"]["versions"][0].erase("schema");
  EXPECT_EQ(causesOf(obj),
            (std::vector<std::string>{
                "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are "
                "required"}));
  Json old = crd();
  defaultCrd(old);
  obj = old;
  obj["spec"]["scope"] = "Cluster";
  EXPECT_EQ(
      causesOf(obj, &old),
      (std::vector<std::string>{"spec.scope: Invalid value: \"Cluster\": field is immutable"}));
}

TEST(Crd, ServesEveryServedVersionFromOneStorageLocation) {
  Json obj = crd();
  defaultCrd(obj);
  obj["metadata"]["uid"] = "u1";
  auto served = servedResources(obj);
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[0].apiVersion(), "stable.example.com/v1");
  EXPECT_EQ(served[1].apiVersion(), "stable.example.com/v1beta1");
  for (const auto& info : served) {
    EXPECT_EQ(info.storagePrefix, "/registry/stable.example.com/crontabs/");
    EXPECT_EQ(info.custom->storageVersion, "v1");
    EXPECT_EQ(info.shortNames, std::vector<std::string>{"ct"});
    EXPECT_EQ(info.categories, std::vector<std::string>{"all"});
  }
  EXPECT_TRUE(served[0].hasStatus);
  EXPECT_TRUE(served[0].hasScale);
  EXPECT_FALSE(served[1].hasStatus);
  EXPECT_EQ(served[0].custom->columns.size(), 1u);
  EXPECT_EQ(served[0].custom->labelSelectorPath, ".status.selector");
}

TEST(Crd, StatusSaysWhetherTheNamesAreAccepted) {
  Json obj = crd();
  defaultCrd(obj);
  setStatus(obj, "");
  EXPECT_EQ(obj["status"]["acceptedNames"]["kind"], "CronTab");
  EXPECT_EQ(obj["status"]["conditions"][1]["type"], "Established");
  EXPECT_EQ(obj["status"]["conditions"][1]["status"], "True");
  EXPECT_EQ(obj["status"]["storedVersions"], Json::array({"v1"}));
  Json conflicting = crd();
  setStatus(conflicting, "\"crontabs\" is already in use");
  EXPECT_EQ(conflicting["status"]["conditions"][0]["status"], "False");
  EXPECT_EQ(conflicting["status"]["conditions"][0]["message"], "\"crontabs\" is already in use");
  EXPECT_EQ(conflicting["status"]["conditions"][1]["status"], "False");
}

}  // namespace
}  // namespace podnet::apiextensions
