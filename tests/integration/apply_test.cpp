// kubectl apply against the real server: client-side apply (the
// last-applied annotation and strategic merge patches with real merge keys)
// and server-side apply (managedFields, conflicts, --force-conflicts).
#include <gtest/gtest.h>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

constexpr const char* kKubectl = "/usr/bin/kubectl";

class KubectlApply : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kKubectl)) GTEST_SKIP() << "no kubectl";
    ASSERT_TRUE(server_.start()) << server_.log();
    // kubectl keeps a discovery cache under HOME: give it the temp dir.
    prefix_ = "HOME=" + server_.dataDir + " timeout 60 " + kKubectl + " --kubeconfig " +
              server_.kubeconfig() + " ";
    // kubectl's default --validate=strict needs /openapi/v3; without it,
    // validation is turned off as the error message tells users to.
    if (server_.client()->get("/openapi/v3").status != 200) validate_ = " --validate=false";
  }

  std::pair<int, std::string> kubectl(const std::string& arguments) {
    return runCommand(prefix_ + arguments);
  }

  std::string writeManifest(const std::string& name, const std::string& text) {
    std::string path = server_.dataDir + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  Json service(const std::string& name) {
    return server_.client()->get("/api/v1/namespaces/default/services/" + name).json();
  }

  static const Json* managedEntry(const Json& obj, const std::string& manager) {
    for (const auto& entry : obj["metadata"]["managedFields"])
      if (entry["manager"] == manager) return &entry;
    return nullptr;
  }

  ServerProcess server_;
  std::string prefix_;
  std::string validate_;
};

constexpr const char* kServiceV1 = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
  - name: metrics
    port: 9100
    targetPort: 9100
)";

// Port 80 becomes 81, the metrics port goes, a label is added.
constexpr const char* kServiceV2 = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 81
    targetPort: 8080
)";

TEST_F(KubectlApply, ClientSideReapplyPatchesWithMergeKeys) {
  std::string manifest = writeManifest("svc.yaml", kServiceV1);
  auto [createCode, created] = kubectl("apply" + validate_ + " -f " + manifest);
  ASSERT_EQ(createCode, 0) << created;
  EXPECT_NE(created.find("service/web created"), std::string::npos) << created;
  Json first = service("web");
  ASSERT_EQ(first["spec"]["ports"].size(), 2u) << first.dump();
  const Json* csa = managedEntry(first, "kubectl-client-side-apply");
  ASSERT_NE(csa, nullptr) << first["metadata"].dump();
  EXPECT_EQ((*csa)["operation"], "Update");
  EXPECT_TRUE((*csa)["fieldsV1"]["f:spec"]["f:ports"].contains(R"(k:{"port":80,"protocol":"TCP"})"))
      << csa->dump();

  writeManifest("svc.yaml", kServiceV2);
  auto [updateCode, updated] = kubectl("apply" + validate_ + " -f " + manifest);
  ASSERT_EQ(updateCode, 0) << updated;
  EXPECT_NE(updated.find("service/web configured"), std::string::npos) << updated;
  Json second = service("web");
  ASSERT_EQ(second["spec"]["ports"].size(), 1u) << second.dump();
  EXPECT_EQ(second["spec"]["ports"][0]["port"], 81);
  EXPECT_EQ(second["spec"]["ports"][0]["targetPort"], 8080);
  EXPECT_EQ(second["metadata"]["labels"], Json::parse(R"({"app":"web","tier":"frontend"})"));
  // Fields the server set itself survive the patch.
  EXPECT_EQ(second["spec"]["clusterIP"], first["spec"]["clusterIP"]);
  const Json* after = managedEntry(second, "kubectl-client-side-apply");
  ASSERT_NE(after, nullptr);
  EXPECT_FALSE(
      (*after)["fieldsV1"]["f:spec"]["f:ports"].contains(R"(k:{"port":80,"protocol":"TCP"})"))
      << after->dump();

  auto [againCode, again] = kubectl("apply" + validate_ + " -f " + manifest);
  EXPECT_EQ(againCode, 0) << again;
  EXPECT_NE(again.find("service/web unchanged"), std::string::npos) << again;
}

TEST_F(KubectlApply, ClientSideReapplyRemovesEnvAndReorders) {
  std::string manifest = writeManifest("deploy.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: main
        image: nginx
        env:
        - {name: FOO, value: "1"}
        - {name: BAR, value: "2"}
      - name: sidecar
        image: busybox
)");
  auto [createCode, created] = kubectl("apply" + validate_ + " -f " + manifest);
  ASSERT_EQ(createCode, 0) << created;
  writeManifest("deploy.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
      - name: sidecar
        image: busybox
      - name: main
        image: nginx
        env:
        - {name: FOO, value: "1"}
)");
  auto [updateCode, updated] = kubectl("apply" + validate_ + " -f " + manifest);
  ASSERT_EQ(updateCode, 0) << updated;
  Json deployment =
      server_.client()->get("/apis/apps/v1/namespaces/default/deployments/app").json();
  const Json& containers = deployment["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u) << containers.dump();
  EXPECT_EQ(containers[0]["name"], "sidecar");
  EXPECT_EQ(containers[1]["name"], "main");
  EXPECT_EQ(containers[1]["env"], Json::parse(R"([{"name":"FOO","value":"1"}])"));
}

constexpr const char* kServerSide = R"(apiVersion: v1
kind: Service
metadata:
  name: ssa
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
)";

TEST_F(KubectlApply, ServerSideApplyConflictsAndForce) {
  std::string manifest = writeManifest("ssa.yaml", kServerSide);
  auto [createCode, created] = kubectl("apply --server-side" + validate_ + " -f " + manifest);
  ASSERT_EQ(createCode, 0) << created;
  EXPECT_NE(created.find("service/ssa serverside-applied"), std::string::npos) << created;
  Json first = service("ssa");
  const Json* owner = managedEntry(first, "kubectl");
  ASSERT_NE(owner, nullptr) << first["metadata"].dump();
  EXPECT_EQ((*owner)["operation"], "Apply");
  EXPECT_EQ((*owner)["fieldsType"], "FieldsV1");
  EXPECT_TRUE(
      (*owner)["fieldsV1"]["f:spec"]["f:ports"][R"(k:{"port":80,"protocol":"TCP"})"].contains(
          "f:targetPort"))
      << owner->dump();

  // Re-applying with a new selector key updates the object.
  writeManifest("ssa.yaml", std::string(kServerSide) + "  type: ClusterIP\n");
  auto [updateCode, updated] = kubectl("apply --server-side" + validate_ + " -f " + manifest);
  ASSERT_EQ(updateCode, 0) << updated;
  EXPECT_NE(updated.find("service/ssa serverside-applied"), std::string::npos) << updated;

  // Another manager changing kubectl's targetPort conflicts.
  std::string other = writeManifest("other.yaml", R"(apiVersion: v1
kind: Service
metadata:
  name: ssa
spec:
  ports:
  - port: 80
    targetPort: 9090
)");
  auto [conflictCode, conflict] =
      kubectl("apply --server-side --field-manager=other" + validate_ + " -f " + other);
  EXPECT_EQ(conflictCode, 1) << conflict;
  EXPECT_NE(conflict.find("Apply failed with 1 conflict: conflict with \"kubectl\": "
                          ".spec.ports[port=80,protocol=\"TCP\"].targetPort"),
            std::string::npos)
      << conflict;
  EXPECT_EQ(service("ssa")["spec"]["ports"][0]["targetPort"], 8080);

  auto [forceCode, forced] = kubectl("apply --server-side --field-manager=other --force-conflicts" +
                                     validate_ + " -f " + other);
  ASSERT_EQ(forceCode, 0) << forced;
  EXPECT_NE(forced.find("service/ssa serverside-applied"), std::string::npos) << forced;
  Json taken = service("ssa");
  EXPECT_EQ(taken["spec"]["ports"][0]["targetPort"], 9090);
  const Json* kubectlEntry = managedEntry(taken, "kubectl");
  ASSERT_NE(kubectlEntry, nullptr);
  EXPECT_FALSE((*kubectlEntry)["fieldsV1"]["f:spec"]["f:ports"][R"(k:{"port":80,"protocol":"TCP"})"]
                   .contains("f:targetPort"));
  EXPECT_NE(managedEntry(taken, "other"), nullptr);
}

TEST_F(KubectlApply, ServerSideApplyOverTheRestApi) {
  auto client = server_.client();
  std::string body =
      R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1","b":"2"}})";
  auto missingManager = client->request("PATCH", "/api/v1/namespaces/default/configmaps/cfg", body,
                                        "application/apply-patch+yaml");
  EXPECT_EQ(missingManager.status, 400) << missingManager.body;
  auto created =
      client->request("PATCH", "/api/v1/namespaces/default/configmaps/cfg?fieldManager=tool", body,
                      "application/apply-patch+yaml");
  EXPECT_EQ(created.status, 201) << created.body;
  // YAML body; "b" is no longer applied by its only manager, so it goes.
  auto updated =
      client->request("PATCH", "/api/v1/namespaces/default/configmaps/cfg?fieldManager=tool",
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n"
                      "data:\n  a: \"3\"\n",
                      "application/apply-patch+yaml");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(updated.json()["data"], Json::parse(R"({"a":"3"})"));
}

}  // namespace
}  // namespace podnet::testing
