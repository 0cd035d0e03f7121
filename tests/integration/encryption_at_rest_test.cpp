// Secrets at rest on a real `podnet server`: with encryption on, a Secret's
// value is in no file under the data dir (and is with identity only, which
// shows the search can fail); a wrong, missing or removed key stops the
// start with a clear error and loses nothing; rotation as the Kubernetes
// documentation tells it (add a key, restart, `kubectl replace` every
// Secret, drop the old key) keeps every Secret readable; and the data dir is
// private whatever the umask, looser modes tightened on a start and said so
// once.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>

#include "core/base64.h"
#include "podnet_harness.h"

namespace podnet::testing {
namespace {

namespace fs = std::filesystem;

std::string randomKey(size_t bytes) {
  std::random_device device;
  std::string key(bytes, '\0');
  for (char& c : key) c = char(device());
  return core::encodeBase64(key);
}

// An EncryptionConfiguration for Secrets with `providers` (YAML list items).
std::string configFor(const std::string& providers) {
  return "apiVersion: apiserver.config.k8s.io/v1\n"
         "kind: EncryptionConfiguration\n"
         "resources:\n"
         "  - resources: [secrets]\n"
         "    providers:\n" +
         providers;
}
std::string keyed(const std::string& cipher, const std::string& name, const std::string& secret) {
  return "      - " + cipher + ":\n          keys: [{name: " + name + ", secret: '" + secret +
         "'}]\n";
}
const std::string kIdentity = "      - identity: {}\n";

// A directory of its own for configuration files (an operator keeps them
// apart from the data).
class ConfigDir {
 public:
  ConfigDir() {
    char pattern[] = "/tmp/podnet-encryption-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~ConfigDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = path + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
  std::string path;
};

Json secret(const std::string& name, const std::string& value) {
  return {{"metadata", {{"name", name}}},
          {"type", "Opaque"},
          {"data", {{"password", core::encodeBase64(value)}}}};
}

std::string passwordOf(ServerProcess& server, const std::string& name) {
  auto got = server.client()->get("/api/v1/namespaces/default/secrets/" + name);
  if (got.status != 200) return "<" + std::to_string(got.status) + " " + got.body + ">";
  auto decoded = core::decodeBase64(got.json()["data"].value("password", ""));
  return decoded ? *decoded : "<not base64>";
}

class EachProvider : public ::testing::TestWithParam<std::string> {};

TEST_P(EachProvider, SecretValuesAreInNoFileUnderTheDataDir) {
  const std::string cipher = GetParam();
  ConfigDir configs;
  std::string config =
      configs.write("encryption.yaml", configFor(keyed(cipher, "key1", randomKey(32)) + kIdentity));
  ServerProcess server({"--encryption-provider-config", config});
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_NE(
      server.log().find("encryption at rest: secrets sealed with " + cipher + " key \"key1\""),
      std::string::npos)
      << server.log();
  const std::string value = "correct-horse-battery-staple-" + cipher;
  auto api = server.client();
  ASSERT_EQ(api->post("/api/v1/namespaces/default/secrets", secret("db", value)).status, 201);
  // A second revision, and a ConfigMap holding the same text unencrypted:
  // the search below finds what is there.
  Json changed = secret("db", value + "-2");
  ASSERT_EQ(api->put("/api/v1/namespaces/default/secrets/db", changed).status, 200);
  ASSERT_EQ(api->post("/api/v1/namespaces/default/configmaps",
                      {{"metadata", {{"name", "plain"}}},
                       {"data", {{"note", "visible-marker-" + cipher}}}})
                .status,
            201);
  EXPECT_EQ(passwordOf(server, "db"), value + "-2");

  auto checkFiles = [&](const char* when) {
    for (const std::string& needle :
         {value, core::encodeBase64(value), core::encodeBase64(value + "-2")})
      EXPECT_EQ(filesHolding(server.dataDir, needle), std::vector<std::string>{})
          << when << ": " << needle;
    EXPECT_FALSE(filesHolding(server.dataDir, "visible-marker-" + cipher).empty()) << when;
    EXPECT_FALSE(filesHolding(server.dataDir, "k8s:enc:" + cipher + ":v1:key1:").empty()) << when;
  };
  checkFiles("running");
  server.kill(SIGTERM);
  checkFiles("stopped");
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_EQ(passwordOf(server, "db"), value + "-2");
}

INSTANTIATE_TEST_SUITE_P(EncryptionAtRest, EachProvider,
                         ::testing::Values("aesgcm", "aescbc", "secretbox"));

TEST(EncryptionAtRest, IdentityOnlyLeavesSecretsReadableInTheFiles) {
  // The search of the test above can fail: with identity (or no
  // configuration) the value is right there.
  ConfigDir configs;
  std::string config = configs.write("identity.yaml", configFor(kIdentity));
  for (bool withConfig : {true, false}) {
    ServerProcess server(withConfig
                             ? std::vector<std::string>{"--encryption-provider-config", config}
                             : std::vector<std::string>{});
    ASSERT_TRUE(server.start()) << server.log();
    const std::string value = "in-the-clear-value";
    ASSERT_EQ(
        server.client()->post("/api/v1/namespaces/default/secrets", secret("db", value)).status,
        201);
    EXPECT_FALSE(filesHolding(server.dataDir, core::encodeBase64(value)).empty()) << withConfig;
  }
}

TEST(EncryptionAtRest, AWrongOrMissingKeyStopsTheStartAndLosesNothing) {
  ConfigDir configs;
  std::string key = randomKey(32);
  std::string good =
      configs.write("good.yaml", configFor(keyed("aescbc", "key1", key) + kIdentity));
  ServerProcess server({"--encryption-provider-config", good});
  ASSERT_TRUE(server.start()) << server.log();
  auto created =
      server.client()->post("/api/v1/namespaces/default/secrets", secret("db", "s3cret"));
  ASSERT_EQ(created.status, 201);
  std::string version = created.json()["metadata"]["resourceVersion"];
  server.kill(SIGTERM);
  auto dbBytes = readFile(server.dataDir + "/state.db");

  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {"the same name with other bytes",
       {"--encryption-provider-config",
        configs.write("wrong.yaml", configFor(keyed("aescbc", "key1", randomKey(32)) + kIdentity))},
       "cannot decrypt /registry/secrets/default/db: cannot decrypt with aescbc key \"key1\""},
      {"another key only",
       {"--encryption-provider-config",
        configs.write("other.yaml", configFor(keyed("aescbc", "key2", randomKey(32))))},
       "it is encrypted with aescbc key \"key1\", which the encryption configuration does not "
       "list"},
      {"no configuration", {}, "no --encryption-provider-config was given"},
      {"a file that is not there",
       {"--encryption-provider-config", configs.path + "/missing.yaml"},
       "missing.yaml: no such file"},
      {"a configuration that does not parse",
       {"--encryption-provider-config",
        configs.write("bad.yaml", configFor(keyed("aescbc", "key1", "c2hvcnQ=")))},
       "secret is not of the expected length, got 5 bytes"},
  };
  for (const Case& c : cases) {
    server.setExtraArgs(c.args);
    std::string before = server.log();
    EXPECT_FALSE(server.start(std::chrono::seconds(10))) << c.name;
    EXPECT_TRUE(WIFEXITED(server.exitStatus()) && WEXITSTATUS(server.exitStatus()) == 1)
        << c.name << ": " << server.exitStatus();
    std::string said = server.log().substr(before.size());
    EXPECT_NE(said.find(c.says), std::string::npos) << c.name << ":\n" << said;
  }
  // Nothing was written by the failed starts; the right key reads it all.
  EXPECT_EQ(readFile(server.dataDir + "/state.db"), dbBytes);
  server.setExtraArgs({"--encryption-provider-config", good});
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_EQ(passwordOf(server, "db"), "s3cret");
  auto got = server.client()->get("/api/v1/namespaces/default/secrets/db");
  EXPECT_EQ(got.json()["metadata"]["resourceVersion"], version);
}

TEST(EncryptionAtRest, RotationKeepsEverySecretReadable) {
  if (::access("/usr/bin/kubectl", X_OK) != 0) GTEST_SKIP() << "kubectl is not installed";
  ConfigDir configs;
  std::string key1 = keyed("aescbc", "key1", randomKey(32));
  std::string key2 = keyed("secretbox", "key2", randomKey(32));
  std::string config = configs.write("encryption.yaml", configFor(kIdentity));
  ServerProcess server({"--encryption-provider-config", config});
  ASSERT_TRUE(server.start()) << server.log();
  // Written before encryption: plain.
  constexpr int kSecrets = 12;
  for (int i = 0; i < kSecrets; ++i)
    ASSERT_EQ(server.client()
                  ->post("/api/v1/namespaces/default/secrets",
                         secret("s" + std::to_string(i), "value-" + std::to_string(i)))
                  .status,
              201);
  auto restartWith = [&](const std::string& providers) {
    server.kill(SIGTERM);
    configs.write("encryption.yaml", configFor(providers));
    return server.start();
  };
  auto replaceAll = [&] {
    std::string kubectl = "kubectl --kubeconfig " + server.kubeconfig();
    auto [code, out] =
        runCommand(kubectl + " get secrets -A -o json | " + kubectl + " replace -f - 2>&1");
    EXPECT_EQ(code, 0) << out;
  };
  auto everyValueReads = [&] {
    for (int i = 0; i < kSecrets; ++i)
      EXPECT_EQ(passwordOf(server, "s" + std::to_string(i)), "value-" + std::to_string(i)) << i;
  };

  // 1. Encryption on: key1 first, identity still reads the old values.
  ASSERT_TRUE(restartWith(key1 + kIdentity)) << server.log();
  EXPECT_NE(server.log().find("stored objects are under older keys or not encrypted"),
            std::string::npos)
      << server.log();
  everyValueReads();
  replaceAll();
  EXPECT_FALSE(filesHolding(server.dataDir, "k8s:enc:aescbc:v1:key1:").empty());
  // 2. Identity dropped: everything was rewritten, so it all still reads.
  ASSERT_TRUE(restartWith(key1)) << server.log();
  everyValueReads();
  // 3. Rotation: key2 first, key1 after it; rewrite; drop key1.
  ASSERT_TRUE(restartWith(key2 + key1)) << server.log();
  everyValueReads();
  std::string before = server.client()
                           ->get("/api/v1/namespaces/default/secrets/s0")
                           .json()["metadata"]["resourceVersion"];
  replaceAll();
  std::string after = server.client()
                          ->get("/api/v1/namespaces/default/secrets/s0")
                          .json()["metadata"]["resourceVersion"];
  EXPECT_NE(before, after) << "an unchanged Secret under an old key must still be rewritten";
  ASSERT_TRUE(restartWith(key2)) << server.log();
  everyValueReads();
  // Without rewriting, dropping a key would have stopped the start instead:
  // the rewrite is what made this safe.
  server.kill(SIGTERM);
  configs.write("encryption.yaml", configFor(key1));
  EXPECT_FALSE(server.start(std::chrono::seconds(10)));
  EXPECT_NE(server.log().find("secretbox key \"key2\""), std::string::npos);
}

// Every path under `root` that group or others can use.
std::vector<std::string> looserThanPrivate(const std::string& root) {
  std::vector<std::string> loose;
  if (fileMode(root) & 077) loose.push_back(root);
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error))
    if (!it->is_symlink() && (fileMode(it->path()) & 077))
      loose.push_back(it->path().string() + " " + std::to_string(fileMode(it->path())));
  return loose;
}

TEST(EncryptionAtRest, TheDataDirIsPrivateWhateverTheUmask) {
  ConfigDir configs;
  std::string config =
      configs.write("encryption.yaml", configFor(keyed("aesgcm", "key1", randomKey(32))));
  ServerProcess server({"--encryption-provider-config", config});
  fs::remove_all(server.dataDir);                    // the server makes it, under umask 000
  fs::create_directories(fs::path(server.dataDir));  // for the harness's log only
  ::chmod(server.dataDir.c_str(), 0777);
  mode_t old = ::umask(0);
  bool started = server.start();
  ::umask(old);
  ASSERT_TRUE(started) << server.log();
  ASSERT_EQ(server.client()->post("/api/v1/namespaces/default/secrets", secret("db", "x")).status,
            201);
  for (const char* file : {"state.db", "state.db-wal", "state.db-shm", "state.db.lock",
                           "kubeconfig", "pki/ca.key", "pki/ca.crt", "pki/admin.token"})
    EXPECT_EQ(fileMode(fs::path(server.dataDir) / file), 0600) << file;
  EXPECT_EQ(fileMode(server.dataDir), 0700);
  EXPECT_EQ(fileMode(fs::path(server.dataDir) / "pki"), 0700);
  EXPECT_EQ(looserThanPrivate(server.dataDir), std::vector<std::string>{});
  // The harness's log and the data dir itself were looser: said once.
  EXPECT_NE(server.log().find("private to their owner"), std::string::npos) << server.log();

  // A data dir loosened by hand (or by an older podnet) is tightened on the
  // next start, and the start says so in one line.
  server.kill(SIGTERM);
  ::chmod(server.dataDir.c_str(), 0755);
  ::chmod((fs::path(server.dataDir) / "pki").c_str(), 0755);
  ::chmod((fs::path(server.dataDir) / "state.db").c_str(), 0644);
  ::chmod((fs::path(server.dataDir) / "pki" / "ca.key").c_str(), 0644);
  std::string before = server.log();
  ASSERT_TRUE(server.start()) << server.log();
  std::string said = server.log().substr(before.size());
  EXPECT_NE(said.find("made 4 paths under " + server.dataDir + " private to their owner"),
            std::string::npos)
      << said;
  size_t first = said.find("private to their owner");
  EXPECT_EQ(said.find("private to their owner", first + 1), std::string::npos) << said;
  EXPECT_EQ(looserThanPrivate(server.dataDir), std::vector<std::string>{});
  EXPECT_EQ(passwordOf(server, "db"), "x");
}

}  // namespace
}  // namespace podnet::testing
