// The real kubectl against the real podnet binary: /openapi/v3 makes the
// default --validate=strict work, and a misspelt field is refused with
// upstream's strict decoding error (and only warned about with
// --validate=warn).
#include <gtest/gtest.h>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

class OpenApiKubectlTest : public KubectlSuite<OpenApiKubectlTest> {
 protected:
  // Writes `yaml` to a file named `name` in the data dir; returns its path.
  static std::string manifest(const std::string& name, const std::string& yaml) {
    std::string path = server_->dataDir + "/" + name;
    std::ofstream(path) << yaml;
    return path;
  }

  // Runs kubectl with the server's kubeconfig and a cache of its own, from
  // the data dir (so messages name files as given).
  static std::pair<int, std::string> kubectl(const std::string& arguments) {
    return runCommand("cd " + server_->dataDir + " && " + kKubectl +
                      " --kubeconfig=" + server_->kubeconfig() +
                      " --cache-dir=" + server_->dataDir + "/kubectl-cache " + arguments);
  }
};

const char* kService = R"(apiVersion: v1
kind: Service
metadata:
  name: openapi-svc
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
)";

TEST_F(OpenApiKubectlTest, ApplyValidServiceWithDefaultValidation) {
  manifest("svc.yaml", kService);
  auto [code, output] = kubectl("apply -f svc.yaml");
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "service/openapi-svc created\n");

  // Re-apply after a change: a strategic merge PATCH with fieldValidation=Strict.
  std::string changed = kService;
  changed.replace(changed.find("port: 80"), 8, "port: 81");
  manifest("svc.yaml", changed);
  std::tie(code, output) = kubectl("apply -f svc.yaml");
  EXPECT_EQ(code, 0) << output;
  EXPECT_EQ(output, "service/openapi-svc configured\n");
}

// `kubectl get -o yaml > f.yaml; kubectl apply -f f.yaml`: a `kind: List`,
// which kubectl checks against /openapi/v2 before applying each item.
TEST_F(OpenApiKubectlTest, ApplyTheListThatGetPrinted) {
  std::string service = kService;
  manifest("list-svc.yaml", service.replace(service.find("openapi-svc"), 11, "openapi-list"));
  auto [created, createdOut] = kubectl("apply -f list-svc.yaml");
  ASSERT_EQ(created, 0) << createdOut;
  auto [got, list] = kubectl("get svc openapi-list -o yaml --show-managed-fields=false");
  ASSERT_EQ(got, 0) << list;
  // A single object prints as itself; two as a List.
  std::tie(got, list) = kubectl("get svc openapi-list kubernetes -o yaml");
  ASSERT_EQ(got, 0) << list;
  ASSERT_NE(list.find("kind: List"), std::string::npos) << list;
  manifest("printed.yaml", list);
  auto [code, output] = kubectl("apply -f printed.yaml");
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("service/openapi-list configured"), std::string::npos) << output;
  // Each item is still validated (strictly, by the server).
  std::string misspelt = list;
  misspelt.replace(misspelt.find("sessionAffinity:"), 16, "sessionAffinty:");
  manifest("printed.yaml", misspelt);
  std::tie(code, output) = kubectl("apply -f printed.yaml");
  EXPECT_NE(code, 0) << output;
  EXPECT_NE(output.find("unknown field \"spec.sessionAffinty\""), std::string::npos) << output;
}

TEST_F(OpenApiKubectlTest, MisspeltFieldIsRefused) {
  std::string misspelt = kService;
  misspelt.replace(misspelt.find("openapi-svc"), 11, "openapi-bad");
  misspelt.replace(misspelt.find("  ports:"), 8, "  prots:");
  manifest("x.yaml", misspelt);
  auto [code, output] = kubectl("apply -f x.yaml");
  EXPECT_EQ(code, 1) << output;
  EXPECT_EQ(output,
            "Error from server (BadRequest): error when creating \"x.yaml\": Service in version "
            "\"v1\" cannot be handled as a Service: strict decoding error: unknown field "
            "\"spec.prots\"\n");
  std::tie(code, output) = kubectl("get svc openapi-bad");
  EXPECT_EQ(code, 1) << output;
}

TEST_F(OpenApiKubectlTest, MisspeltFieldOnReapplyIsRefused) {
  const char* deployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: openapi-deploy
spec:
  replicas: 1
  selector:
    matchLabels: {app: openapi}
  template:
    metadata:
      labels: {app: openapi}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
        env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
        resources: {requests: {cpu: 10m}}
        readinessProbe: {httpGet: {path: /, port: 80}}
      volumes: [{name: tmp, emptyDir: {}}]
)";
  manifest("deploy.yaml", deployment);
  auto [code, output] = kubectl("apply -f deploy.yaml");
  EXPECT_EQ(code, 0) << output;
  std::string misspelt = deployment;
  misspelt.replace(misspelt.find("image: nginx"), 12, "imag: nginx");
  manifest("deploy.yaml", misspelt);
  std::tie(code, output) = kubectl("apply -f deploy.yaml");
  EXPECT_EQ(code, 1) << output;
  // A PATCH's result is converted, not decoded: upstream's message has no
  // "<Kind> in version" prefix there.
  EXPECT_EQ(output.rfind("Error from server (BadRequest): error when applying patch:", 0), 0u)
      << output;
  EXPECT_NE(output.find("for: \"deploy.yaml\": error when patching \"deploy.yaml\": strict "
                        "decoding error: unknown field "
                        "\"spec.template.spec.containers[0].imag\"\n"),
            std::string::npos)
      << output;
}

TEST_F(OpenApiKubectlTest, WarnValidationCreatesAndWarns) {
  std::string extra = kService;
  extra.replace(extra.find("openapi-svc"), 11, "openapi-warn");
  extra += "  sessionAfinity: None\n";
  manifest("warn.yaml", extra);
  auto [code, output] = kubectl("apply --validate=warn -f warn.yaml");
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("Warning: unknown field \"spec.sessionAfinity\""), std::string::npos)
      << output;
  EXPECT_NE(output.find("service/openapi-warn created"), std::string::npos) << output;
}

TEST_F(OpenApiKubectlTest, ExplainReadsTheSchemas) {
  auto [code, output] = kubectl("explain service.spec.ports");
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("KIND:       Service"), std::string::npos) << output;
  EXPECT_NE(output.find("targetPort"), std::string::npos) << output;
}

TEST_F(OpenApiKubectlTest, DocumentsAreServedAndPinnedByHash) {
  auto client = server_->client();
  HttpResult index = client->get("/openapi/v3");
  ASSERT_EQ(index.status, 200) << index.body;
  std::string url = index.json()["paths"]["apis/apps/v1"]["serverRelativeURL"];
  HttpResult document = client->get(url);
  ASSERT_EQ(document.status, 200);
  EXPECT_TRUE(document.json()["components"]["schemas"].contains("io.k8s.api.apps.v1.Deployment"));
  // /openapi/v2 is there (without definitions) for kubectl's List check.
  HttpResult v2 = client->get("/openapi/v2");
  EXPECT_EQ(v2.status, 200);
  EXPECT_EQ(v2.json()["swagger"], "2.0");
  EXPECT_EQ(client->get("/openapi/v2/x").status, 404);
}

}  // namespace
}  // namespace podnet::testing
