// `kubectl create <generator>` and `kubectl run` against the real binary.
// The create subcommands send protobuf bodies only (k8s\0 magic and a
// runtime.Unknown envelope); the server decodes them with the type table.
// Assertions are on what kubectl prints, its exit code, and the objects read
// back over the API.
#include <gtest/gtest.h>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

constexpr const char* kProtobuf = "application/vnd.kubernetes.protobuf";

class KubectlCreate : public KubectlSuite<KubectlCreate> {
 protected:
  void SetUp() override {
    KubectlSuite::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ns_ = "pb-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (auto& c : ns_) c = char(std::tolower(static_cast<unsigned char>(c)));
    // `create namespace` is itself a protobuf body.
    auto [code, out] = kubectl("create namespace " + ns_, false);
    ASSERT_EQ(code, 0) << out;
    ASSERT_EQ(out, "namespace/" + ns_ + " created\n");
  }

  // Runs kubectl against the server, in this test's namespace unless told not to.
  std::pair<int, std::string> kubectl(const std::string& args, bool inNamespace = true) {
    return runCommand(kubectlCommand() + (inNamespace ? "-n " + ns_ + " " : "") + args);
  }
  // GETs an object of this test's namespace: "apis/apps/v1", "deployments", "web".
  Json get(const std::string& prefix, const std::string& resource, const std::string& name) {
    auto result =
        server_->client()->get("/" + prefix + "/namespaces/" + ns_ + "/" + resource + "/" + name);
    EXPECT_EQ(result.status, 200) << result.body;
    return result.json();
  }

  std::string ns_;
};

TEST_F(KubectlCreate, Namespace) {
  auto result = server_->client()->get("/api/v1/namespaces/" + ns_);
  ASSERT_EQ(result.status, 200) << result.body;
  Json ns = result.json();
  EXPECT_EQ(ns["kind"], "Namespace");
  EXPECT_EQ(ns["metadata"]["name"], ns_);
  // Empty strings gogo-protobuf writes (generateName, uid, ...) are not kept.
  EXPECT_FALSE(ns["metadata"].contains("generateName")) << ns.dump();
  EXPECT_FALSE(ns["metadata"]["uid"].get<std::string>().empty());

  auto [code, out] = kubectl("create namespace " + ns_, false);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(out, "Error from server (AlreadyExists): namespaces \"" + ns_ + "\" already exists\n");
}

TEST_F(KubectlCreate, Deployment) {
  auto [code, out] = kubectl("create deployment web --image=nginx --replicas=2 --port=80");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "deployment.apps/web created\n");
  Json deployment = get("apis/apps/v1", "deployments", "web");
  EXPECT_EQ(deployment["spec"]["replicas"], 2);
  EXPECT_EQ(deployment["spec"]["selector"], Json::parse(R"({"matchLabels": {"app": "web"}})"));
  EXPECT_EQ(deployment["spec"]["template"]["metadata"]["labels"]["app"], "web");
  Json container = deployment["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["name"], "nginx");
  EXPECT_EQ(container["image"], "nginx");
  EXPECT_EQ(container["ports"][0]["containerPort"], 80);
  EXPECT_EQ(container["ports"][0]["protocol"], "TCP");  // defaulted, not ""
  EXPECT_EQ(deployment["spec"]["strategy"]["type"], "RollingUpdate");

  // replicas is a pointer field: zero on the wire stays zero.
  auto [zeroCode, zeroOut] = kubectl("create deployment idle --image=nginx --replicas=0");
  ASSERT_EQ(zeroCode, 0) << zeroOut;
  EXPECT_EQ(get("apis/apps/v1", "deployments", "idle")["spec"]["replicas"], 0);

  auto [twoCode, twoOut] = kubectl("create deployment pair --image=nginx --image=redis");
  ASSERT_EQ(twoCode, 0) << twoOut;
  Json pair = get("apis/apps/v1", "deployments", "pair");
  EXPECT_EQ(pair["spec"]["template"]["spec"]["containers"].size(), 2u);
  EXPECT_EQ(pair["spec"]["template"]["spec"]["containers"][1]["image"], "redis");
}

TEST_F(KubectlCreate, ServiceTargetPorts) {
  auto [code, out] = kubectl("create service clusterip web --tcp=80:8080");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "service/web created\n");
  Json service = get("api/v1", "services", "web");
  EXPECT_EQ(service["spec"]["type"], "ClusterIP");
  EXPECT_EQ(service["spec"]["selector"], Json::parse(R"({"app": "web"})"));
  EXPECT_EQ(service["spec"]["ports"], Json::parse(R"([{"name": "80-8080", "port": 80,
    "protocol": "TCP", "targetPort": 8080}])"));
  EXPECT_FALSE(service["spec"]["clusterIP"].get<std::string>().empty());

  auto [npCode, npOut] = kubectl("create service nodeport np --tcp=80:http");
  ASSERT_EQ(npCode, 0) << npOut;
  Json nodePort = get("api/v1", "services", "np");
  EXPECT_EQ(nodePort["spec"]["ports"][0]["targetPort"], "http");
  // The nodePort: 0 on the wire means "allocate one".
  EXPECT_GE(nodePort["spec"]["ports"][0]["nodePort"].get<int>(), 30000);

  auto [badCode, badOut] = kubectl("create service clusterip bad --tcp=0:8080");
  EXPECT_EQ(badCode, 1);
  EXPECT_NE(badOut.find("Service \"bad\" is invalid"), std::string::npos) << badOut;
}

TEST_F(KubectlCreate, ConfigMapAndSecret) {
  auto [cmCode, cmOut] = kubectl("create configmap c --from-literal=a=b --from-literal=x=");
  ASSERT_EQ(cmCode, 0) << cmOut;
  EXPECT_EQ(cmOut, "configmap/c created\n");
  EXPECT_EQ(get("api/v1", "configmaps", "c")["data"], Json::parse(R"({"a": "b", "x": ""})"));

  auto [secretCode, secretOut] = kubectl("create secret generic s --from-literal=p=q");
  ASSERT_EQ(secretCode, 0) << secretOut;
  EXPECT_EQ(secretOut, "secret/s created\n");
  Json secret = get("api/v1", "secrets", "s");
  EXPECT_EQ(secret["data"], Json::parse(R"({"p": "cQ=="})"));  // base64 of "q"
  EXPECT_EQ(secret["type"], "Opaque");

  std::string file = server_->dataDir + "/" + ns_ + "-bytes";
  std::ofstream(file, std::ios::binary) << std::string("\x00\xff\x10", 3);
  auto [binCode, binOut] = kubectl("create configmap bin --from-file=raw=" + file);
  ASSERT_EQ(binCode, 0) << binOut;
  EXPECT_EQ(get("api/v1", "configmaps", "bin")["binaryData"], Json::parse(R"({"raw": "AP8Q"})"));
}

TEST_F(KubectlCreate, Ingress) {
  auto [code, out] = kubectl("create ingress i --rule=\"example.com/=web:80\"");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "ingress.networking.k8s.io/i created\n");
  Json ingress = get("apis/networking.k8s.io/v1", "ingresses", "i");
  EXPECT_EQ(ingress["spec"]["rules"], Json::parse(R"([{"host": "example.com", "http": {"paths": [{
    "path": "/", "pathType": "Exact",
    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}])"));

  auto [tlsCode, tlsOut] =
      kubectl("create ingress tls --class=nginx --rule=\"foo.com/path*=svc:http,tls=cert\"");
  ASSERT_EQ(tlsCode, 0) << tlsOut;
  Json tls = get("apis/networking.k8s.io/v1", "ingresses", "tls");
  EXPECT_EQ(tls["spec"]["ingressClassName"], "nginx");
  EXPECT_EQ(tls["spec"]["tls"], Json::parse(R"([{"hosts": ["foo.com"], "secretName": "cert"}])"));
  EXPECT_EQ(tls["spec"]["rules"][0]["http"]["paths"][0]["pathType"], "Prefix");
}

TEST_F(KubectlCreate, RunPod) {
  auto [code, out] = kubectl("run p --image=busybox -- sleep 3600");
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out, "pod/p created\n");
  Json pod = get("api/v1", "pods", "p");
  EXPECT_EQ(pod["metadata"]["labels"]["run"], "p");
  EXPECT_EQ(pod["spec"]["containers"][0]["image"], "busybox");
  EXPECT_EQ(pod["spec"]["containers"][0]["args"], Json::parse(R"(["sleep", "3600"])"));
}

TEST_F(KubectlCreate, MalformedProtobufGetsAStatus) {
  auto client = server_->client();
  std::string target = "/api/v1/namespaces/" + ns_ + "/configmaps";
  auto wrongMagic = client->request("POST", target, "not protobuf", kProtobuf);
  EXPECT_EQ(wrongMagic.status, 400) << wrongMagic.body;
  EXPECT_EQ(wrongMagic.json()["kind"], "Status");
  EXPECT_EQ(wrongMagic.json()["reason"], "BadRequest");

  // The envelope of a ConfigMap whose raw field claims more bytes than follow.
  std::string truncated =
      std::string("k8s\0", 4) + "\x0a\x0f\x0a\x02v1\x12\x09" + "ConfigMap" + "\x12\x7f\x0a\x03";
  auto past = client->request("POST", target, truncated, kProtobuf);
  EXPECT_EQ(past.status, 400) << past.body;
  EXPECT_NE(past.json()["message"].get<std::string>().find("invalid protobuf body"),
            std::string::npos)
      << past.body;

  std::string unknownKind =
      std::string("k8s\0", 4) + "\x0a\x0b\x0a\x02v1\x12\x05" + "Thing" + std::string("\x12\x00", 2);
  auto unsupported = client->request("POST", target, unknownKind, kProtobuf);
  EXPECT_EQ(unsupported.status, 415) << unsupported.body;
  EXPECT_EQ(unsupported.json()["reason"], "UnsupportedMediaType");

  EXPECT_TRUE(server_->running());  // none of it hurt the server
}

}  // namespace
}  // namespace podnet::testing
