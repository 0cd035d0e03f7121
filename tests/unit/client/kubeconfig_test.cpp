// Kubeconfig parsing (the file `podnet server` writes and kubectl-style
// variants), server URLs, base64, and the REST paths, queries and bodies
// the RestClient sends.
#include "client/kubeconfig.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "client/rest_client.h"

namespace podnet::client {
namespace {

const char* kPodnetKubeconfig = R"(apiVersion: v1
kind: Config
clusters:
- name: podnet
  cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://127.0.0.1:6443
users:
- name: podnet-admin
  user:
    token: secret-token
contexts:
- name: podnet
  context:
    cluster: podnet
    user: podnet-admin
    namespace: team-a
current-context: podnet
)";

TEST(Kubeconfig, ParsesTheCurrentContext) {
  auto config = parseKubeconfig(kPodnetKubeconfig, "");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 6443);
  EXPECT_EQ(config->caPem, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(config->token, "secret-token");
  EXPECT_EQ(config->defaultNamespace, "team-a");
}

TEST(Kubeconfig, ReadsCaAndTokenFilesRelativeToTheKubeconfig) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kubeconfig-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ca.crt") << "CA PEM";
  std::ofstream(dir / "token") << "file-token\n";
  std::ofstream(dir / "config") << R"(clusters:
- name: c
  cluster: {server: "https://api.example.com", certificate-authority: ca.crt}
users:
- name: u
  user: {tokenFile: token}
contexts:
- name: other
  context: {cluster: c, user: u}
- name: main
  context: {cluster: missing, user: u}
current-context: main
)";
  auto config = loadKubeconfig((dir / "config").string(), "other");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->host, "api.example.com");
  EXPECT_EQ(config->port, 443);
  EXPECT_EQ(config->caPem, "CA PEM");
  EXPECT_EQ(config->token, "file-token");
  EXPECT_EQ(config->defaultNamespace, "default");

  auto current = loadKubeconfig((dir / "config").string());
  ASSERT_FALSE(current.ok());
  EXPECT_NE(current.error().message.find("cluster \"missing\" not found"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Kubeconfig, NamesTheMissingPiece) {
  auto expectError = [](const std::string& yaml, const std::string& fragment) {
    auto config = parseKubeconfig(yaml, "");
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_EQ(config.error().code, 400);
    EXPECT_NE(config.error().message.find(fragment), std::string::npos) << config.error().message;
  };
  expectError("kind: Config\n", "no current-context");
  expectError("current-context: x\n", "context \"x\" not found");
  expectError(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {certificate-authority-data: QQ==}}]
)",
              "has no server");
  expectError(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1"}}]
)",
              "neither certificate-authority-data nor certificate-authority");
  expectError(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!"}}]
)",
              "not valid base64");
  expectError(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: QQ==}}]
users: [{name: u, user: {client-certificate-data: QQ==}}]
)",
              "has no token or tokenFile");
  expectError(R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "http://h:1", certificate-authority-data: QQ==}}]
users: [{name: u, user: {token: t}}]
)",
              "not https://");
  expectError("current-context: [\n", "not valid YAML");
}

TEST(Kubeconfig, ParsesServerUrls) {
  RestConfig config;
  ASSERT_TRUE(parseServerUrl("https://[::1]:8443", config).ok());
  EXPECT_EQ(config.host, "::1");
  EXPECT_EQ(config.port, 8443);
  ASSERT_TRUE(parseServerUrl("https://kubernetes.default.svc/", config).ok());
  EXPECT_EQ(config.host, "kubernetes.default.svc");
  EXPECT_EQ(config.port, 443);
  EXPECT_FALSE(parseServerUrl("https://h:99999", config).ok());
  EXPECT_FALSE(parseServerUrl("https://:80", config).ok());
  EXPECT_FALSE(parseServerUrl("https://h/prefix", config).ok());
}

TEST(RestPaths, CoreGroupAndClusterScoped) {
  const auto& pods = api::resource("Pod");
  EXPECT_EQ(resourcePath(pods, "ns1", "web"), "/api/v1/namespaces/ns1/pods/web");
  EXPECT_EQ(resourcePath(pods, "ns1", "web", "binding"), "/api/v1/namespaces/ns1/pods/web/binding");
  EXPECT_EQ(resourcePath(pods, ""), "/api/v1/pods");
  EXPECT_EQ(resourcePath(api::resource("Deployment"), "ns1", "d", "scale"),
            "/apis/apps/v1/namespaces/ns1/deployments/d/scale");
  EXPECT_EQ(resourcePath(api::resource("Node"), "ignored", "n1", "status"),
            "/api/v1/nodes/n1/status");
}

TEST(RestPaths, ListAndWatchQueries) {
  ListOptions options;
  EXPECT_EQ(listQuery(options, false), "");
  options.labelSelector = "app=web,tier!=db";
  options.fieldSelector = "spec.nodeName=n1";
  options.limit = 5;
  options.continueToken = "abc=";
  EXPECT_EQ(listQuery(options, false),
            "?labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=spec.nodeName%3Dn1&limit=5"
            "&continue=abc%3D");
  options.resourceVersion = "42";
  options.allowWatchBookmarks = true;
  EXPECT_EQ(listQuery(options, true),
            "?watch=true&labelSelector=app%3Dweb%2Ctier%21%3Ddb&fieldSelector=spec.nodeName%"
            "3Dn1&resourceVersion=42&allowWatchBookmarks=true");
  EXPECT_EQ(queryEscape("a b/~"), "a%20b%2F~");
}

TEST(RestPaths, DeleteOptionsBody) {
  EXPECT_EQ(deleteOptionsBody({}), (Json{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}}));
  DeleteOptions options;
  options.gracePeriodSeconds = 0;
  options.preconditionUid = "u1";
  options.preconditionResourceVersion = "7";
  options.propagationPolicy = "Foreground";
  Json body = deleteOptionsBody(options);
  EXPECT_EQ(body["gracePeriodSeconds"], 0);
  EXPECT_EQ(body["preconditions"], (Json{{"uid", "u1"}, {"resourceVersion", "7"}}));
  EXPECT_EQ(body["propagationPolicy"], "Foreground");
}

TEST(RestErrors, DecodesStatusBodies) {
  core::Error original =
      core::invalid("", "ConfigMap", "cm", {{"FieldValueInvalid", "bad", "data"}});
  core::Error decoded = errorFromResponse(422, original.toStatus().dump());
  EXPECT_EQ(decoded.code, 422);
  EXPECT_EQ(decoded.reason, "Invalid");
  EXPECT_EQ(decoded.message, original.message);
  EXPECT_EQ(decoded.kind, "ConfigMap");
  EXPECT_EQ(decoded.name, "cm");
  ASSERT_EQ(decoded.causes.size(), 1u);
  EXPECT_EQ(decoded.causes[0].field, "data");
  EXPECT_EQ(decoded.causes[0].reason, "FieldValueInvalid");

  core::Error plain = errorFromResponse(502, "bad gateway");
  EXPECT_EQ(plain.code, 502);
  EXPECT_EQ(plain.reason, "InternalError");
  EXPECT_NE(plain.message.find("bad gateway"), std::string::npos);
}

TEST(RestClientConfig, RejectsABadCaOrHost) {
  EXPECT_EQ(RestClient::make(inClusterConfig("127.0.0.1", 1, "not a pem", "t")).error().code, 400);
  EXPECT_FALSE(RestClient::make(inClusterConfig("", 1, "", "t")).ok());
}

}  // namespace
}  // namespace podnet::client
