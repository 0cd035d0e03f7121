// pod_plan.h (image mapping, environment, resolv.conf, hosts) and
// container_process.h findExecutable: pure functions, no root.
#include "agent/pod_plan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "runtime/container_process.h"

namespace podnet::agent {
namespace {

using Strings = std::vector<std::string>;

bool contains(const Strings& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(ImageName, StripsRegistryTagDigestAndLibrary) {
  EXPECT_EQ(imageName("nginx"), "nginx");
  EXPECT_EQ(imageName("nginx:1.25"), "nginx");
  EXPECT_EQ(imageName("docker.io/library/nginx:1.25"), "nginx");
  EXPECT_EQ(imageName("library/busybox"), "busybox");
  EXPECT_EQ(imageName("curlimages/curl:8.5.0"), "curlimages/curl");
  EXPECT_EQ(imageName("registry.k8s.io/e2e-test-images/agnhost:2.45"), "e2e-test-images/agnhost");
  EXPECT_EQ(imageName("localhost:5000/app:v1"), "app");
  EXPECT_EQ(imageName("localhost/app"), "app");
  EXPECT_EQ(imageName("busybox@sha256:abcdef"), "busybox");
  EXPECT_EQ(imageName("quay.io/org/busybox:1.36@sha256:abcdef"), "org/busybox");
}

TEST(ContainerArgv, CommandAndArgsWinOverTheImage) {
  Json c = {{"image", "nginx"}, {"command", {"sleep"}}, {"args", {"10"}}};
  EXPECT_EQ(containerArgv(c, "/bin/podnet"), (Strings{"sleep", "10"}));
  Json onlyCommand = {{"image", "busybox"}, {"command", {"sh", "-c", "exit 3"}}};
  EXPECT_EQ(containerArgv(onlyCommand, "/bin/podnet"), (Strings{"sh", "-c", "exit 3"}));
}

TEST(ContainerArgv, BusyboxRunsItsArgsOrAShell) {
  EXPECT_EQ(containerArgv({{"image", "busybox:1.36"}, {"args", {"sleep", "3600"}}}, "/p"),
            (Strings{"sleep", "3600"}));
  EXPECT_EQ(containerArgv({{"image", "docker.io/library/busybox"}}, "/p"), (Strings{"sh"}));
}

TEST(ContainerArgv, CurlImageRunsCurl) {
  EXPECT_EQ(containerArgv({{"image", "curlimages/curl:8.5.0"}, {"args", {"-s", "http://x"}}}, "/p"),
            (Strings{"curl", "-s", "http://x"}));
  EXPECT_EQ(containerArgv({{"image", "curl"}}, "/p"), (Strings{"curl"}));
}

TEST(ContainerArgv, OtherImagesRunTheTestServerOnTheirPorts) {
  Json c = {{"image", "nginx:1.25"},
            {"args", {"ignored"}},
            {"ports",
             {{{"containerPort", 80}},
              {{"containerPort", 53}, {"protocol", "UDP"}},
              {{"containerPort", 443}, {"protocol", "TCP"}},
              {{"name", "broken"}},
              {{"containerPort", "8081"}}}}};
  EXPECT_EQ(containerArgv(c, "/usr/bin/podnet"), (Strings{"/usr/bin/podnet", "testserver", "--tcp",
                                                          "80", "--udp", "53", "--tcp", "443"}));
}

TEST(PodPlan, AgnhostPortFlagsOpenThosePorts) {
  Json netexec = {{"image", "registry.k8s.io/e2e-test-images/agnhost:2.39"},
                  {"args", {"netexec", "--http-port=9376", "--udp-port", "8081"}}};
  EXPECT_EQ(containerArgv(netexec, "/p"),
            (Strings{"/p", "testserver", "--tcp", "9376", "--udp", "8081"}));
  // A declared containerPort of the same number is not opened twice.
  netexec["ports"] = Json::array({{{"containerPort", 9376}}});
  EXPECT_EQ(containerArgv(netexec, "/p"),
            (Strings{"/p", "testserver", "--tcp", "9376", "--udp", "8081"}));
  // hostNetwork pods answer with the node's name.
  EXPECT_EQ(containerArgv({{"image", "nginx"}}, "/p", "node-1"),
            (Strings{"/p", "testserver", "--tcp", "8080", "--name", "node-1"}));
  EXPECT_EQ(podHostname(Json{{"metadata", {{"name", "p"}}},
                             {"spec", {{"hostNetwork", true}, {"nodeName", "node-1"}}}}),
            "node-1");
}

TEST(ContainerArgv, TestServerDefaultsToTcp8080) {
  EXPECT_EQ(containerArgv({{"image", "registry.k8s.io/pause:3.9"}}, "/p"),
            (Strings{"/p", "testserver", "--tcp", "8080"}));
  EXPECT_EQ(containerArgv({{"image", "app"}, {"ports", Json::array()}}, "/p"),
            (Strings{"/p", "testserver", "--tcp", "8080"}));
}

Json samplePod() {
  return {{"metadata", {{"name", "web-0"}, {"namespace", "shop"}, {"uid", "uid-123"}}},
          {"spec", {{"containers", Json::array()}}}};
}

PodFacts sampleFacts() {
  return {"web-0", "shop", "10.244.1.7", "node-a", "192.168.1.5", "builder"};
}

TEST(ContainerEnvironment, PathHostnameAndTestServerVariables) {
  Strings env = containerEnvironment(samplePod(), {{"name", "c"}}, sampleFacts());
  ASSERT_FALSE(env.empty());
  EXPECT_EQ(env[0].rfind("PATH=", 0), 0u);
  EXPECT_TRUE(contains(env, "HOSTNAME=web-0"));
  EXPECT_TRUE(contains(env, "POD_NAME=web-0"));
  EXPECT_TRUE(contains(env, "POD_NAMESPACE=shop"));
  EXPECT_TRUE(contains(env, "POD_IP=10.244.1.7"));
}

TEST(ContainerEnvironment, ValuesAndFieldRefs) {
  auto ref = [](const char* name, const char* path) {
    return Json{{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", path}}}}}};
  };
  Json c = {{"name", "c"},
            {"env",
             {{{"name", "GREETING"}, {"value", "hello world"}},
              {{"name", "EMPTY"}},
              ref("MY_NAME", "metadata.name"),
              ref("MY_NS", "metadata.namespace"),
              ref("MY_UID", "metadata.uid"),
              ref("MY_NODE", "spec.nodeName"),
              ref("MY_SA", "spec.serviceAccountName"),
              ref("MY_IP", "status.podIP"),
              ref("HOST_IP", "status.hostIP"),
              ref("UNKNOWN", "metadata.labels"),
              {{"value", "no name"}}}}};
  Strings env = containerEnvironment(samplePod(), c, sampleFacts());
  for (const char* expected :
       {"GREETING=hello world", "EMPTY=", "MY_NAME=web-0", "MY_NS=shop", "MY_UID=uid-123",
        "MY_NODE=node-a", "MY_SA=builder", "MY_IP=10.244.1.7", "HOST_IP=192.168.1.5", "UNKNOWN="})
    EXPECT_TRUE(contains(env, expected)) << expected;
  EXPECT_FALSE(contains(env, "=no name"));
}

TEST(ContainerEnvironment, PodSetVariablesAreNotOverridden) {
  Json c = {
      {"name", "c"},
      {"env",
       {{{"name", "POD_NAME"}, {"value", "mine"}},
        {{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.hostIP"}}}}}}}}};
  Strings env = containerEnvironment(samplePod(), c, sampleFacts());
  EXPECT_TRUE(contains(env, "POD_NAME=mine"));
  EXPECT_FALSE(contains(env, "POD_NAME=web-0"));
  EXPECT_TRUE(contains(env, "POD_IP=192.168.1.5"));
  EXPECT_FALSE(contains(env, "POD_IP=10.244.1.7"));
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.rfind("POD_NAME=", 0) == 0; }),
            1);
  EXPECT_TRUE(contains(env, "POD_NAMESPACE=shop"));
}

// What kubelet reads from ConfigMaps and Secrets: envFrom first (prefix,
// invalid names skipped, later sources win), then env (secretKeyRef and
// configMapKeyRef), which wins over envFrom; optional references to nothing
// leave the variable out; the rest is kubelet's CreateContainerConfigError.
ObjectLookup sampleObjects() {
  return [](const std::string& kind, const std::string& name) -> core::Result<Json> {
    if (kind == "Secret" && name == "db")
      return Json{{"data",
                   {{"password", "czNjcjN0"},  // s3cr3t
                    {"user", "YWRtaW4="},      // admin
                    {"1bad", "eA=="}}}};
    if (kind == "ConfigMap" && name == "settings")
      return Json{{"data", {{"LOG_LEVEL", "debug"}, {"user", "from-configmap"}, {"1bad", "x"}}},
                  {"binaryData", {{"blob", "AQI="}}}};
    return core::Error{404, "NotFound", kind + " " + name + " not found"};
  };
}

TEST(ContainerEnvironment, ConfigMapsAndSecretsAsKubeletReadsThem) {
  Json c = {
      {"name", "c"},
      {"envFrom",
       {{{"configMapRef", {{"name", "settings"}}}},
        {{"secretRef", {{"name", "db"}}}, {"prefix", "DB_"}},
        {{"secretRef", {{"name", "absent"}, {"optional", true}}}}}},
      {"env",
       {{{"name", "PASSWORD"},
         {"valueFrom", {{"secretKeyRef", {{"name", "db"}, {"key", "password"}}}}}},
        {{"name", "LOG_LEVEL"},
         {"valueFrom", {{"configMapKeyRef", {{"name", "settings"}, {"key", "user"}}}}}},
        {{"name", "MAYBE"},
         {"valueFrom", {{"secretKeyRef", {{"name", "db"}, {"key", "nope"}, {"optional", true}}}}}},
        {{"name", "ALSO_MAYBE"},
         {"valueFrom",
          {{"configMapKeyRef", {{"name", "gone"}, {"key", "k"}, {"optional", true}}}}}}}}};
  auto env = containerEnvironment(samplePod(), c, sampleFacts(), sampleObjects());
  ASSERT_TRUE(env) << env.error().message;
  for (const char* expected : {"PASSWORD=s3cr3t", "DB_password=s3cr3t", "DB_user=admin",
                               "user=from-configmap", "blob=\x01\x02", "LOG_LEVEL=from-configmap"})
    EXPECT_TRUE(contains(*env, expected)) << expected;
  EXPECT_FALSE(contains(*env, "LOG_LEVEL=debug"));  // env wins over envFrom
  EXPECT_TRUE(contains(*env, "DB_1bad=x"));         // valid with its prefix
  EXPECT_FALSE(contains(*env, "1bad=x"));           // not a variable name without one
  for (const std::string& entry : *env) {
    EXPECT_NE(entry.rfind("MAYBE=", 0), 0u) << "optional and missing: not set";
    EXPECT_NE(entry.rfind("ALSO_MAYBE=", 0), 0u);
  }

  // Without a lookup (pure callers), what references name is left out.
  Strings plain = containerEnvironment(samplePod(), c, sampleFacts());
  EXPECT_TRUE(std::none_of(plain.begin(), plain.end(),
                           [](const std::string& e) { return e.rfind("PASSWORD=", 0) == 0; }));
}

TEST(ContainerEnvironment, MissingReferencesAreKubeletsConfigErrors) {
  auto failure = [](const Json& env) {
    Json c = {{"name", "c"}, {"env", env}};
    auto result = containerEnvironment(samplePod(), c, sampleFacts(), sampleObjects());
    return result ? std::string("<resolved>") : result.error().message;
  };
  EXPECT_EQ(failure({{{"name", "P"},
                      {"valueFrom", {{"secretKeyRef", {{"name", "nosuch"}, {"key", "k"}}}}}}}),
            "secret \"nosuch\" not found");
  EXPECT_EQ(failure({{{"name", "P"},
                      {"valueFrom", {{"secretKeyRef", {{"name", "db"}, {"key", "nope"}}}}}}}),
            "couldn't find key nope in Secret shop/db");
  EXPECT_EQ(failure({{{"name", "P"},
                      {"valueFrom", {{"configMapKeyRef", {{"name", "none"}, {"key", "k"}}}}}}}),
            "configmap \"none\" not found");
  Json c = {{"name", "c"}, {"envFrom", {{{"configMapRef", {{"name", "none"}}}}}}};
  auto result = containerEnvironment(samplePod(), c, sampleFacts(), sampleObjects());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "configmap \"none\" not found");
}

TEST(ContainerEnvironment, HostnameFollowsSpecHostname) {
  Json pod = samplePod();
  pod["spec"]["hostname"] = "custom";
  Strings env = containerEnvironment(pod, {{"name", "c"}}, sampleFacts());
  EXPECT_TRUE(contains(env, "HOSTNAME=custom"));
}

const char* kHostResolv =
    "# host file\nnameserver 192.168.1.1\nnameserver 8.8.8.8\nsearch corp.example\n"
    "options edns0 timeout:2\n";

TEST(ResolvConf, ClusterFirstIsTheDefault) {
  EXPECT_EQ(resolvConf(samplePod(), "10.96.0.10", "cluster.local", kHostResolv),
            "search shop.svc.cluster.local svc.cluster.local cluster.local\n"
            "nameserver 10.96.0.10\n"
            "options ndots:5\n");
  Json pod = samplePod();
  pod["spec"]["dnsPolicy"] = "ClusterFirst";
  EXPECT_EQ(resolvConf(pod, "10.96.0.10", "k8s.test", ""),
            "search shop.svc.k8s.test svc.k8s.test k8s.test\n"
            "nameserver 10.96.0.10\n"
            "options ndots:5\n");
}

TEST(ResolvConf, NoNamespaceMeansDefault) {
  Json pod = {{"metadata", {{"name", "p"}}}, {"spec", Json::object()}};
  EXPECT_EQ(resolvConf(pod, "10.96.0.10", "cluster.local", ""),
            "search default.svc.cluster.local svc.cluster.local cluster.local\n"
            "nameserver 10.96.0.10\n"
            "options ndots:5\n");
}

TEST(ResolvConf, DefaultPolicyUsesTheHostFile) {
  Json pod = samplePod();
  pod["spec"]["dnsPolicy"] = "Default";
  EXPECT_EQ(resolvConf(pod, "10.96.0.10", "cluster.local", kHostResolv),
            "search corp.example\n"
            "nameserver 192.168.1.1\n"
            "nameserver 8.8.8.8\n"
            "options edns0 timeout:2\n");
}

TEST(ResolvConf, ClusterFirstWithHostNetworkUsesTheHostFile) {
  Json pod = samplePod();
  pod["spec"]["hostNetwork"] = true;
  std::string out = resolvConf(pod, "10.96.0.10", "cluster.local", kHostResolv);
  EXPECT_EQ(out.find("10.96.0.10"), std::string::npos) << out;
  EXPECT_NE(out.find("nameserver 192.168.1.1\n"), std::string::npos) << out;
}

TEST(ResolvConf, NoneTakesOnlyDnsConfig) {
  Json pod = samplePod();
  pod["spec"]["dnsPolicy"] = "None";
  pod["spec"]["dnsConfig"] = {
      {"nameservers", {"1.1.1.1"}},
      {"searches", {"a.example", "b.example"}},
      {"options", {{{"name", "ndots"}, {"value", "2"}}, {{"name", "edns0"}}}}};
  EXPECT_EQ(resolvConf(pod, "10.96.0.10", "cluster.local", kHostResolv),
            "search a.example b.example\n"
            "nameserver 1.1.1.1\n"
            "options ndots:2 edns0\n");
  Json empty = samplePod();
  empty["spec"]["dnsPolicy"] = "None";
  EXPECT_EQ(resolvConf(empty, "10.96.0.10", "cluster.local", kHostResolv), "");
}

TEST(ResolvConf, DnsConfigIsAppendedToClusterFirstAndOverridesOptions) {
  Json pod = samplePod();
  pod["spec"]["dnsConfig"] = {
      {"nameservers", {"1.1.1.1", "9.9.9.9", "8.8.4.4"}},
      {"searches", {"extra.example"}},
      {"options", {{{"name", "ndots"}, {"value", "1"}}, {{"name", "single-request"}}}}};
  EXPECT_EQ(resolvConf(pod, "10.96.0.10", "cluster.local", ""),
            "search shop.svc.cluster.local svc.cluster.local cluster.local extra.example\n"
            "nameserver 10.96.0.10\n"
            "nameserver 1.1.1.1\n"
            "nameserver 9.9.9.9\n"  // at most three nameservers, as the resolver reads
            "options ndots:1 single-request\n");
}

TEST(HostsFile, LocalhostEntriesThenThePod) {
  std::string hosts = hostsFile(samplePod(), "10.244.1.7", "cluster.local");
  EXPECT_EQ(hosts.rfind("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n", 0), 0u)
      << hosts;
  EXPECT_NE(hosts.find("::1\tlocalhost ip6-localhost ip6-loopback\n"), std::string::npos);
  EXPECT_NE(hosts.find("\n10.244.1.7\tweb-0\n"), std::string::npos) << hosts;
  EXPECT_EQ(hosts.find("HostAliases"), std::string::npos);
}

TEST(HostsFile, NoPodIpNoPodLine) {
  std::string hosts = hostsFile(samplePod(), "", "cluster.local");
  EXPECT_EQ(hosts.find("web-0"), std::string::npos) << hosts;
}

TEST(HostsFile, HostnameAndSubdomainGiveTheFqdnFirst) {
  Json pod = samplePod();
  pod["spec"]["hostname"] = "db";
  pod["spec"]["subdomain"] = "backend";
  std::string hosts = hostsFile(pod, "10.244.1.7", "cluster.local");
  EXPECT_NE(hosts.find("\n10.244.1.7\tdb.backend.shop.svc.cluster.local\tdb\n"), std::string::npos)
      << hosts;
  EXPECT_EQ(hosts.find("web-0"), std::string::npos) << hosts;

  Json hostnameOnly = samplePod();
  hostnameOnly["spec"]["hostname"] = "db";
  EXPECT_NE(hostsFile(hostnameOnly, "10.244.1.7", "cluster.local").find("\n10.244.1.7\tdb\n"),
            std::string::npos);
}

TEST(HostsFile, HostAliasesAtTheEnd) {
  Json pod = samplePod();
  pod["spec"]["hostAliases"] = {{{"ip", "127.0.0.1"}, {"hostnames", {"foo.local", "bar.local"}}},
                                {{"ip", "10.1.2.3"}, {"hostnames", {"foo.remote"}}},
                                {{"ip", "10.9.9.9"}},
                                {{"hostnames", {"noip"}}}};
  std::string hosts = hostsFile(pod, "10.244.1.7", "cluster.local");
  std::string tail =
      "10.244.1.7\tweb-0\n"
      "\n# Entries added by HostAliases.\n"
      "127.0.0.1\tfoo.local\tbar.local\n"
      "10.1.2.3\tfoo.remote\n";
  ASSERT_GE(hosts.size(), tail.size());
  EXPECT_EQ(hosts.substr(hosts.size() - tail.size()), tail) << hosts;
}

TEST(PodHostname, SpecHostnameElseNameAtMost63) {
  EXPECT_EQ(podHostname(samplePod()), "web-0");
  Json pod = samplePod();
  pod["metadata"]["name"] = std::string(80, 'a');
  EXPECT_EQ(podHostname(pod), std::string(63, 'a'));
  pod["spec"]["hostname"] = "short";
  EXPECT_EQ(podHostname(pod), "short");
}

class FindExecutable : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/podnet-findexec-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::filesystem::create_directories(dir_ / "a");
    std::filesystem::create_directories(dir_ / "b");
    std::filesystem::create_directories(dir_ / "b" / "tool");  // a directory is not a program
    write(dir_ / "a" / "tool", 0644);                          // not executable
    write(dir_ / "b" / "prog", 0755);
    write(dir_ / "a" / "prog", 0755);
    write(dir_ / "c-tool", 0755);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static void write(const std::filesystem::path& path, mode_t mode) {
    std::ofstream(path) << "#!/bin/sh\n";
    ::chmod(path.c_str(), mode);
  }
  std::filesystem::path dir_;
};

TEST_F(FindExecutable, FirstMatchInPathOrder) {
  std::string path = (dir_ / "b").string() + ":" + (dir_ / "a").string();
  auto found = runtime::findExecutable("prog", path);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, (dir_ / "b" / "prog").string());
  found = runtime::findExecutable("prog", (dir_ / "a").string() + ":" + (dir_ / "b").string());
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, (dir_ / "a" / "prog").string());
}

TEST_F(FindExecutable, SkipsDirectoriesAndNonExecutables) {
  std::string path = (dir_ / "a").string() + ":" + (dir_ / "b").string();
  auto found = runtime::findExecutable("tool", path);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().message, "exec: \"tool\": executable file not found in $PATH");
}

TEST_F(FindExecutable, SystemProgramsAndMissingOnes) {
  auto sh = runtime::findExecutable("sh", "/usr/local/bin:/usr/bin:/bin");
  ASSERT_TRUE(sh);
  EXPECT_EQ(::access(sh->c_str(), X_OK), 0);
  auto missing = runtime::findExecutable("nosuchprogram", "/usr/local/bin:/usr/bin:/bin");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "exec: \"nosuchprogram\": executable file not found in $PATH");
  auto empty = runtime::findExecutable("", "/usr/bin");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "exec: \"\": executable file not found in $PATH");
}

TEST_F(FindExecutable, PathsWithASlashAreUsedAsIs) {
  std::string program = (dir_ / "c-tool").string();
  auto found = runtime::findExecutable(program, "");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, program);
  std::string missing = (dir_ / "nope").string();
  auto error = runtime::findExecutable(missing, "/usr/bin");
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().message,
            "exec: \"" + missing + "\": stat " + missing + ": no such file or directory");
}

TEST_F(FindExecutable, EmptyPathEntryIsTheCurrentDirectory) {
  std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(dir_ / "a");
  auto found = runtime::findExecutable("prog", ":/nonexistent");
  std::filesystem::current_path(old);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "./prog");
}

}  // namespace
}  // namespace podnet::agent

namespace podnet::agent {
namespace {

TEST(ServiceLinksTest, KubeletVariablesForEachServiceWithAClusterIp) {
  std::vector<Json> services = {
      Json::parse(R"({"metadata": {"name": "kubernetes"}, "spec": {"clusterIP": "10.96.0.1",
          "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}})"),
      Json::parse(R"({"metadata": {"name": "my-db"}, "spec": {"clusterIP": "10.96.7.7",
          "ports": [{"port": 5432}, {"name": "metrics", "port": 9187, "protocol": "UDP"}]}})"),
      Json::parse(R"({"metadata": {"name": "headless"}, "spec": {"clusterIP": "None",
          "ports": [{"port": 80}]}})"),
  };
  std::vector<std::string> env = serviceLinkEnvironment(services);
  auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  EXPECT_TRUE(has("KUBERNETES_SERVICE_HOST=10.96.0.1"));
  EXPECT_TRUE(has("KUBERNETES_SERVICE_PORT=443"));
  EXPECT_TRUE(has("KUBERNETES_SERVICE_PORT_HTTPS=443"));
  EXPECT_TRUE(has("KUBERNETES_PORT=tcp://10.96.0.1:443"));
  EXPECT_TRUE(has("KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443"));
  EXPECT_TRUE(has("KUBERNETES_PORT_443_TCP_PROTO=tcp"));
  EXPECT_TRUE(has("KUBERNETES_PORT_443_TCP_PORT=443"));
  EXPECT_TRUE(has("KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1"));
  EXPECT_TRUE(has("MY_DB_SERVICE_HOST=10.96.7.7"));
  EXPECT_TRUE(has("MY_DB_SERVICE_PORT=5432"));
  EXPECT_TRUE(has("MY_DB_SERVICE_PORT_METRICS=9187"));
  EXPECT_TRUE(has("MY_DB_PORT_9187_UDP=udp://10.96.7.7:9187"));
  for (const std::string& entry : env) EXPECT_EQ(entry.find("HEADLESS"), std::string::npos);

  // They reach the container, under its own variables.
  Json pod = Json::parse(R"({"metadata": {"name": "p", "namespace": "d"}, "spec": {}})");
  Json container =
      Json::parse(R"({"name": "c", "env": [{"name": "MY_DB_SERVICE_HOST", "value": "mine"}]})");
  PodFacts facts{"p", "d", "10.244.0.5", "n", "10.0.0.1", "default", env};
  std::vector<std::string> all = containerEnvironment(pod, container, facts);
  EXPECT_NE(std::find(all.begin(), all.end(), "KUBERNETES_SERVICE_HOST=10.96.0.1"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "MY_DB_SERVICE_HOST=mine"), all.end());
  EXPECT_EQ(std::find(all.begin(), all.end(), "MY_DB_SERVICE_HOST=10.96.7.7"), all.end());
}

}  // namespace
}  // namespace podnet::agent
