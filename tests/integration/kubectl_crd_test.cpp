// CustomResourceDefinitions driven by the real kubectl: the Gateway API
// standard install (tests/fixtures/gateway-api, written from the Gateway API
// documentation in the shape of the upstream bundle) applied server-side,
// its objects applied, listed with their columns, explained and refused with
// field causes; a CRD of the Kubernetes documentation (CronTab) with status
// and scale subresources; deletion, restarts and large bodies. Assertions are
// on what kubectl prints and its exit code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

const std::string kFixtures = std::string(PODNET_SOURCE_DIR) + "/tests/fixtures/gateway-api";

constexpr const char* kCronTabCrd = R"(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Image
      type: string
      priority: 1
      jsonPath: .spec.image
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              payload:
                type: object
                x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
)";

class KubectlCrd : public KubectlSuite<KubectlCrd> {
 public:
  static std::string prepare() {
    auto [code, out] = runCommand(kubectlCommand() + "apply --server-side -f " + kFixtures +
                                  "/standard-install.yaml");
    if (code != 0) return "the Gateway API bundle did not apply:\n" + out;
    std::string path = server_->dataDir + "/crontab-crd.yaml";
    std::ofstream(path) << kCronTabCrd;
    auto [crdCode, crdOut] = runCommand(kubectlCommand() + "apply -f " + path);
    if (crdCode != 0) return "the CronTab CRD did not apply:\n" + crdOut;
    auto [nsCode, nsOut] = runCommand(kubectlCommand() + "create namespace certs");
    if (nsCode != 0) return nsOut;
    return "";
  }

 protected:
  std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand(kubectlCommand() + args);
  }
  std::string file(const std::string& name, const std::string& text) {
    std::string path = server_->dataDir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string jsonpath(const std::string& object, const std::string& path) {
    auto [code, out] = kubectl("get " + object + " -o jsonpath='" + path + "'");
    return code == 0 ? out : "<error " + out + ">";
  }
  void applyExamples() {
    auto [code, out] = kubectl("apply -f " + kFixtures + "/examples.yaml");
    ASSERT_EQ(code, 0) << out;
  }
};

TEST_F(KubectlCrd, GatewayBundleIsEstablishedAndDiscovered) {
  auto [waited, waitOut] = kubectl("wait --for=condition=established --timeout=10s crd --all");
  EXPECT_EQ(waited, 0) << waitOut;
  auto [code, out] = kubectl("api-resources --api-group=gateway.networking.k8s.io");
  ASSERT_EQ(code, 0) << out;
  for (const char* row : {"gatewayclasses", "gateways", "httproutes", "grpcroutes",
                          "referencegrants", "backendtlspolicies"})
    EXPECT_TRUE(contains(out, row)) << out;
  EXPECT_TRUE(contains(out, "gtw")) << out;  // shortNames
  // Both served versions of HTTPRoute read the same objects.
  auto [versions, versionsOut] = kubectl("api-versions");
  EXPECT_TRUE(contains(versionsOut, "gateway.networking.k8s.io/v1\n")) << versionsOut;
  EXPECT_TRUE(contains(versionsOut, "gateway.networking.k8s.io/v1beta1\n")) << versionsOut;
  // Re-applying the unchanged bundle changes nothing.
  auto [again, againOut] =
      kubectl("apply --server-side -f " + kFixtures + "/standard-install.yaml");
  EXPECT_EQ(again, 0) << againOut;
}

TEST_F(KubectlCrd, ObjectsApplyAndListWithTheirColumns) {
  applyExamples();
  auto [code, out] = kubectl("get gatewayclass");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "NAME     CONTROLLER                     ACCEPTED   AGE")) << out;
  EXPECT_TRUE(contains(out, "podnet   podnet.io/gateway-controller   Unknown")) << out;
  auto [wide, wideOut] = kubectl("get gc -o wide");
  EXPECT_TRUE(contains(wideOut, "DESCRIPTION")) << wideOut;
  auto [routes, routesOut] = kubectl("get httproutes");
  EXPECT_TRUE(contains(routesOut, "HOSTNAMES")) << routesOut;
  EXPECT_TRUE(contains(routesOut, R"(["store.example.com","*.shop.example.com"])")) << routesOut;
  auto [gateways, gatewaysOut] = kubectl("get gtw web");
  EXPECT_TRUE(contains(gatewaysOut, "CLASS    ADDRESS   PROGRAMMED   AGE")) << gatewaysOut;
  // Applying again (client-side merge patches, as kubectl does for custom
  // resources) succeeds. Server-side after client-side conflicts on atomic
  // lists whose items got defaults (the client-side manager owns the
  // defaulted list, as upstream), so it takes --force-conflicts.
  applyExamples();
  auto [ssa, ssaOut] =
      kubectl("apply --server-side --force-conflicts -f " + kFixtures + "/examples.yaml");
  EXPECT_EQ(ssa, 0) << ssaOut;
  auto [reapplied, reappliedOut] =
      kubectl("apply --server-side -f " + kFixtures + "/examples.yaml");
  EXPECT_EQ(reapplied, 0) << reappliedOut;
  // The other served version shows the same object in its own apiVersion.
  EXPECT_EQ(jsonpath("httproutes.v1beta1.gateway.networking.k8s.io store", "{.apiVersion}"),
            "gateway.networking.k8s.io/v1beta1");
  // The category of the bundle.
  auto [category, categoryOut] = kubectl("get gateway-api");
  EXPECT_TRUE(contains(categoryOut, "httproute.gateway.networking.k8s.io/store")) << categoryOut;
}

TEST_F(KubectlCrd, SchemaDefaultsAndStatusSubresource) {
  applyExamples();
  // Defaults inside list items (backendRef group "", kind Service, weight 1).
  EXPECT_EQ(jsonpath("httproute store", "{.spec.rules[2].backendRefs[0].kind}"), "Service");
  EXPECT_EQ(jsonpath("httproute store", "{.spec.rules[2].backendRefs[0].weight}"), "1");
  EXPECT_EQ(jsonpath("httproute store", "{.spec.parentRefs[0].kind}"), "Gateway");
  // Gateway's status defaults to Pending; only /status changes it.
  EXPECT_EQ(jsonpath("gateway web", "{.status.conditions[0].reason}"), "Pending");
  auto [main, mainOut] =
      kubectl("patch gateway web --type=merge -p '{\"status\":{\"conditions\":null}}'");
  EXPECT_EQ(main, 0) << mainOut;
  EXPECT_EQ(jsonpath("gateway web", "{.status.conditions[0].reason}"), "Pending");
  auto [status, statusOut] = kubectl(
      "patch gateway web --subresource=status --type=merge -p "
      "'{\"status\":{\"addresses\":[{\"type\":\"IPAddress\",\"value\":\"172.30.0.200\"}]}}'");
  EXPECT_EQ(status, 0) << statusOut;
  auto [get, getOut] = kubectl("get gateway web");
  EXPECT_TRUE(contains(getOut, "172.30.0.200")) << getOut;
  // Spec changes raise the generation; status changes do not.
  EXPECT_EQ(jsonpath("gateway web", "{.metadata.generation}"), "1");
  auto [spec, specOut] = kubectl(
      "patch gateway web --type=json -p '[{\"op\":\"replace\",\"path\":"
      "\"/spec/gatewayClassName\",\"value\":\"other\"}]'");
  EXPECT_EQ(spec, 0) << specOut;
  EXPECT_EQ(jsonpath("gateway web", "{.metadata.generation}"), "2");
}

TEST_F(KubectlCrd, ExplainReadsTheSchema) {
  auto [code, out] = kubectl("explain httproute.spec");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "KIND:       HTTPRoute")) << out;
  EXPECT_TRUE(contains(out, "hostnames\t<[]string>")) << out;
  EXPECT_TRUE(contains(out, "rules\t<[]Object>")) << out;
  auto [port, portOut] = kubectl("explain gateway.spec.listeners.port");
  EXPECT_TRUE(contains(portOut, "<integer>")) << portOut;
}

// Every invalid fixture is refused with the field causes its `# expect:`
// lines name, in kube-apiserver's words.
TEST_F(KubectlCrd, ObjectsBreakingTheSchemaAreRefusedWithFieldCauses) {
  applyExamples();
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/invalid")) {
    std::ifstream in(entry.path());
    std::vector<std::string> expected;
    for (std::string line; std::getline(in, line);)
      if (line.rfind("# expect: ", 0) == 0) expected.push_back(line.substr(10));
    auto [code, out] = kubectl("apply -f " + entry.path().string());
    EXPECT_NE(code, 0) << entry.path() << " was accepted:\n" << out;
    for (const auto& cause : expected)
      EXPECT_TRUE(contains(out, cause))
          << entry.path() << "\nwanted: " << cause << "\ngot: " << out;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST_F(KubectlCrd, UnknownFieldsFollowFieldValidation) {
  std::string path = kFixtures + "/invalid/httproute-unknown-field.yaml";
  auto [strict, strictOut] = kubectl("create -f " + path);
  EXPECT_NE(strict, 0);
  EXPECT_TRUE(contains(strictOut, "strict decoding error: unknown field \"spec.foo\""))
      << strictOut;
  auto [warn, warnOut] = kubectl("create --validate=warn -f " + path);
  EXPECT_EQ(warn, 0) << warnOut;
  EXPECT_TRUE(contains(warnOut, "unknown field \"spec.foo\"")) << warnOut;
  // Pruned: what the schema does not know is not stored.
  EXPECT_EQ(jsonpath("httproute unknown-field", "{.spec.foo}"), "");
  EXPECT_EQ(jsonpath("httproute unknown-field", "{.spec.parentRefs[0].name}"), "web");
}

TEST_F(KubectlCrd, StrategicMergePatchIsRefusedAsUpstream) {
  applyExamples();
  auto [code, out] =
      kubectl("patch httproute store -p '{\"spec\":{\"hostnames\":[\"a.example\"]}}'");
  EXPECT_NE(code, 0);
  EXPECT_TRUE(contains(out, "application/strategic-merge-patch+json is not supported")) << out;
  auto [merge, mergeOut] =
      kubectl("patch httproute store --type=merge -p '{\"spec\":{\"hostnames\":[\"a.example\"]}}'");
  EXPECT_EQ(merge, 0) << mergeOut;
  EXPECT_EQ(jsonpath("httproute store", "{.spec.hostnames}"), R"(["a.example"])");
}

TEST_F(KubectlCrd, CustomResourcesWithScaleSelectorsPagingAndDeleteCollection) {
  std::string crontabs;
  for (int i = 0; i < 3; ++i)
    crontabs += "---\napiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: job-" +
                std::to_string(i) + "\n  labels: {tier: " + (i == 0 ? "a" : "b") +
                "}\nspec:\n  cronSpec: '* * * * */5'\n  image: busybox:" + std::to_string(i) + "\n";
  auto [created, createdOut] = kubectl("apply -f " + file("crontabs.yaml", crontabs));
  ASSERT_EQ(created, 0) << createdOut;
  auto [list, listOut] = kubectl("get ct");
  EXPECT_TRUE(contains(listOut, "NAME    SPEC          REPLICAS   AGE")) << listOut;
  EXPECT_TRUE(contains(listOut, "job-0   * * * * */5   1")) << listOut;  // replicas defaulted
  auto [wide, wideOut] = kubectl("get ct -o wide");
  EXPECT_TRUE(contains(wideOut, "busybox:2")) << wideOut;
  auto [labels, labelsOut] = kubectl("get ct -l tier=b -o name");
  EXPECT_EQ(labelsOut, "crontab.stable.example.com/job-1\ncrontab.stable.example.com/job-2\n");
  auto [fields, fieldsOut] = kubectl("get ct --field-selector metadata.name=job-2 -o name");
  EXPECT_EQ(fieldsOut, "crontab.stable.example.com/job-2\n");
  auto [paged, pagedOut] = kubectl("get ct --chunk-size=1 -o name");
  EXPECT_EQ(pagedOut,
            "crontab.stable.example.com/job-0\ncrontab.stable.example.com/job-1\n"
            "crontab.stable.example.com/job-2\n");

  auto [scaled, scaledOut] = kubectl("scale ct job-0 --replicas=3");
  EXPECT_EQ(scaled, 0) << scaledOut;
  EXPECT_EQ(jsonpath("ct job-0", "{.spec.replicas}"), "3");
  auto [waited, waitedOut] =
      kubectl("wait --for=jsonpath='{.spec.replicas}'=3 --timeout=10s crontab/job-0");
  EXPECT_EQ(waited, 0) << waitedOut;
  auto [tooMany, tooManyOut] = kubectl("scale ct job-0 --replicas=11");
  EXPECT_NE(tooMany, 0);
  EXPECT_TRUE(contains(tooManyOut,
                       "spec.replicas: Invalid value: 11: spec.replicas in body "
                       "should be less than or equal to 10"))
      << tooManyOut;
  auto [badSpec, badSpecOut] =
      kubectl("patch ct job-1 --type=merge -p '{\"spec\":{\"cronSpec\":\"every minute\"}}'");
  EXPECT_NE(badSpec, 0);
  EXPECT_TRUE(contains(badSpecOut, "spec.cronSpec in body should match")) << badSpecOut;

  auto [deleted, deletedOut] = kubectl("delete ct --all");
  EXPECT_EQ(deleted, 0) << deletedOut;
  auto [none, noneOut] = kubectl("get ct");
  EXPECT_TRUE(contains(noneOut, "No resources found")) << noneOut;
}

TEST_F(KubectlCrd, LargeBodiesAreAccepted) {
  // 2.5 MiB of payload in one custom resource (kube-apiserver takes 3 MiB).
  std::string payload(2500 * 1024, 'x');
  std::string body =
      "{\"apiVersion\":\"stable.example.com/v1\",\"kind\":\"CronTab\","
      "\"metadata\":{\"name\":\"big\"},\"spec\":{\"payload\":{\"data\":\"" +
      payload + "\"}}}";
  auto [code, out] = kubectl("create -f " + file("big.json", body));
  EXPECT_EQ(code, 0) << out.substr(0, 500);
  EXPECT_EQ(jsonpath("ct big", "{.spec.payload.data}").size(), payload.size());
}

TEST_F(KubectlCrd, DeletingACrdDeletesItsObjectsAndStopsServingIt) {
  applyExamples();
  auto [deleted, deletedOut] = kubectl("delete crd httproutes.gateway.networking.k8s.io");
  EXPECT_EQ(deleted, 0) << deletedOut;
  auto [gone, goneOut] = kubectl("get httproutes");
  EXPECT_NE(gone, 0);
  // (kubectl's cached discovery may still name the type: either way it is gone.)
  EXPECT_TRUE(contains(goneOut, "the server doesn't have a resource type \"httproutes\"") ||
              contains(goneOut, "the server could not find the requested resource"))
      << goneOut;
  auto [groupOut, group] = kubectl("get --raw /apis/gateway.networking.k8s.io/v1");
  EXPECT_FALSE(contains(group, "\"httproutes\"")) << group;
  // Installed again, the type starts empty: its old objects went with it.
  auto [again, againOut] =
      kubectl("apply --server-side -f " + kFixtures + "/standard-install.yaml");
  ASSERT_EQ(again, 0) << againOut;
  auto [empty, emptyOut] = kubectl("get httproutes -A");
  EXPECT_TRUE(contains(emptyOut, "No resources found")) << emptyOut;
  EXPECT_EQ(jsonpath("gateway web", "{.metadata.name}"), "web");  // other kinds untouched
}

TEST_F(KubectlCrd, CrdsAndTheirObjectsSurviveARestart) {
  applyExamples();
  server_->stop();
  ASSERT_TRUE(server_->start()) << server_->log();
  auto [code, out] = kubectl("get httproute store -o name");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "httproute.gateway.networking.k8s.io/store\n");
}

TEST_F(KubectlCrd, ValidatingAdmissionPoliciesAreStored) {
  std::string policy = R"(
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: safe-upgrades.gateway.networking.k8s.io
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apiextensions.k8s.io]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [customresourcedefinitions]
  validations:
  - expression: "true"
    message: always
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: safe-upgrades.gateway.networking.k8s.io
spec:
  policyName: safe-upgrades.gateway.networking.k8s.io
  validationActions: [Deny]
)";
  auto [code, out] = kubectl("apply --server-side -f " + file("vap.yaml", policy));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(jsonpath("validatingadmissionpolicybinding safe-upgrades.gateway.networking.k8s.io",
                     "{.spec.validationActions[0]}"),
            "Deny");
}

}  // namespace
}  // namespace podnet::testing
