// Secrets at rest on a `podnet up` cluster started under umask 000: every
// file of cluster state or credentials private (pods' own files keep the
// modes the pod asked for), Secrets encrypted with the key `podnet up`
// generated so a Secret's value is in no file under the data dir, and both
// still so after the API server restarts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "agent/data_dir.h"
#include "cluster_fixture.h"
#include "core/base64.h"

namespace podnet::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class SecretsAtRestE2E : public ClusterTest {
 protected:
  std::string upFlags() const override {
    return std::string("--nodes 2 -q --manifests ") + PODNET_SOURCE_DIR + "/examples";
  }
  void SetUp() override {
    mode_t old = ::umask(0);
    ClusterTest::SetUp();
    ::umask(old);
  }

  // Paths under the data dir that group or others may use, except what
  // pods read (their volumes, hosts and resolv.conf) and sockets.
  std::vector<std::string> looserThanPrivate() const {
    std::vector<std::string> loose;
    if (fileMode(dataDir_) & 077) loose.push_back(dataDir_.string());
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(dataDir_, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      std::string relative = it->path().lexically_relative(dataDir_).string();
      // nodes/<name>/<what the agent keeps>
      size_t nodeEnd = relative.rfind("nodes/", 0) == 0 ? relative.find('/', 6) : std::string::npos;
      if (nodeEnd != std::string::npos && agent::isPodFacing(relative.substr(nodeEnd + 1))) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_symlink()) continue;
      if (fileMode(it->path()) & 077)
        loose.push_back(relative + " " + std::to_string(fileMode(it->path())));
    }
    return loose;
  }

  std::vector<std::string> filesHolding(const std::string& needle) const {
    return testing::filesHolding(dataDir_, needle);
  }

  // Restarts the API server with the arguments `podnet up` gave it, and
  // records its new pid where `podnet down` finds it.
  void restartServer() {
    fs::path stateFile = dataDir_ / "cluster.json";
    Json state = Json::parse(readFile(stateFile));
    int pid = state.value("serverPid", 0);
    ASSERT_GT(pid, 0);
    std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::string command;
    for (size_t start = 0; start < cmdline.size();) {
      size_t end = cmdline.find('\0', start);
      command += " '" + cmdline.substr(start, end - start) + "'";
      start = end + 1;
    }
    ::kill(pid, SIGTERM);
    ASSERT_TRUE(eventually([&] { return processGone(pid); })) << "the server did not stop";
    fs::path pidFile = work() / "server.pid";
    auto [code, out] =
        runCommand("umask 000; setsid sh -c 'echo $$ > " + pidFile.string() + "; exec" + command +
                   "' >> " + (dataDir_ / "server.log").string() + " 2>&1 < /dev/null &");
    ASSERT_EQ(code, 0) << out;
    ASSERT_TRUE(eventually([&] { return fs::exists(pidFile) && fs::file_size(pidFile) > 0; }));
    int newPid = std::stoi(readFile(pidFile));
    state["serverPid"] = newPid;
    state["servers"][0]["pid"] = newPid;
    std::ofstream(stateFile, std::ios::trunc) << state.dump(2);
    ASSERT_TRUE(eventually([&] { return kubectl("get --raw /readyz").first == 0; }));
  }
};

TEST_F(SecretsAtRestE2E, StateIsPrivateAndSecretsAreEncryptedAcrossARestart) {
  // podnet up generated a key and the server uses it.
  fs::path config = dataDir_ / "server" / "encryption-config.yaml";
  ASSERT_TRUE(fs::exists(config));
  EXPECT_NE(readFile(config).find("secretbox"), std::string::npos);
  EXPECT_NE(readFile(dataDir_ / "server.log").find("secrets sealed with secretbox key \"key1\""),
            std::string::npos)
      << readFile(dataDir_ / "server.log");

  // Private whatever the umask: the files the issue names, then everything.
  for (const char* file : {"server/state.db", "server/state.db-wal", "server/kubeconfig",
                           "server/pki/ca.key", "server/pki/ca.crt", "server/pki/admin.token",
                           "server/encryption-config.yaml", "server.log", "agent-node-1.log",
                           "cluster.json", "nodes/node-1/pki/node.key", "nodes/node-1/cni.conf"})
    EXPECT_EQ(fileMode(dataDir_ / file), 0600) << file;
  for (const char* dir : {"", "server", "server/pki", "nodes", "nodes/node-1", "nodes/node-1/pods",
                          "nodes/node-1/ipam"})
    EXPECT_EQ(fileMode(dataDir_ / dir), 0700) << dir;
  EXPECT_EQ(looserThanPrivate(), std::vector<std::string>{});

  // A Secret as the user made it: in no file, raw or base64.
  const std::string value = "hunter2-at-rest-e2e";
  auto [code, out] = kubectl("create secret generic db --from-literal=password=" + value);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(*core::decodeBase64(jsonpath("secret db", "{.data.password}")), value);
  EXPECT_EQ(filesHolding(value), std::vector<std::string>{});
  EXPECT_EQ(filesHolding(core::encodeBase64(value)), std::vector<std::string>{});
  EXPECT_FALSE(filesHolding("k8s:enc:secretbox:v1:key1:").empty());

  // The example app's pods run (the agent's umask is not theirs).
  EXPECT_TRUE(readyPods("app=nextgen-app", 3, std::chrono::seconds(60)));

  // After a restart of the API server: still private, still readable.
  restartServer();
  EXPECT_EQ(*core::decodeBase64(jsonpath("secret db", "{.data.password}")), value);
  EXPECT_EQ(looserThanPrivate(), std::vector<std::string>{});
  EXPECT_EQ(filesHolding(core::encodeBase64(value)), std::vector<std::string>{});
}

}  // namespace
}  // namespace podnet::testing
