// The Store decorator over a real SQLite store: what is below it holds only
// ciphertext for the encrypted resources and plain values for the others;
// gets, lists, watches and deletes above it see plain objects; the start
// check names the value a missing key leaves unreadable.
#include "encryption/encrypting_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/base64.h"

namespace podnet::encryption {
namespace {

namespace fs = std::filesystem;

class EncryptingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("podnet-encstore-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<store::Store> openPlain() {
    store::SqliteOptions options;
    options.path = (dir_ / "state.db").string();
    auto opened = store::openSqlite(options);
    EXPECT_TRUE(opened) << opened.error().message;
    return std::move(*opened);
  }

  static std::vector<PrefixRule> rules(const std::string& yaml) {
    auto config = parseConfig(yaml);
    EXPECT_TRUE(config) << config.error().message;
    std::vector<StoredResource> builtins = {{"", "secrets", "/registry/secrets/"},
                                            {"", "configmaps", "/registry/configmaps/"},
                                            {"apps", "deployments", "/registry/deployments/"}};
    auto resolved = resolvePrefixes(*config, builtins);
    EXPECT_TRUE(resolved) << resolved.error().message;
    return resolved ? *resolved : std::vector<PrefixRule>{};
  }

  static std::string secretbox(const std::string& name, char fill) {
    return "      - secretbox: {keys: [{name: " + name +
           ", secret: " + core::encodeBase64(std::string(32, fill)) + "}]}\n";
  }
  static std::string config(const std::string& providers,
                            const std::string& resources = "[secrets]") {
    return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
           "resources:\n  - resources: " +
           resources + "\n    providers:\n" + providers;
  }

  fs::path dir_;
};

TEST_F(EncryptingStoreTest, OnlyCiphertextReachesTheStoreAndPlainObjectsComeBack) {
  auto sealing =
      std::make_unique<EncryptingStore>(openPlain(), rules(config(secretbox("key1", 'a'))));
  const std::string secret = R"({"data":{"password":"aHVudGVyMg=="}})";
  const std::string map = R"({"data":{"colour":"blue"}})";
  auto watch = sealing->watch("/registry/", 0);
  ASSERT_TRUE(watch);
  auto created = sealing->create("/registry/secrets/default/db", secret);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->value, secret);
  ASSERT_TRUE(sealing->create("/registry/configmaps/default/m", map));

  EXPECT_EQ(sealing->get("/registry/secrets/default/db")->value, secret);
  auto listed = sealing->list("/registry/", "", 0, 0);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].value, map);
  EXPECT_EQ(listed->items[1].value, secret);
  auto events = (*watch)->next(std::chrono::seconds(2));
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kv.value, secret);

  // A search by content sees through the seal (the garbage collector's
  // owner lookup), and finds only what holds the needle.
  auto holding = sealing->listContaining("/registry/", "aHVudGVyMg==");
  ASSERT_TRUE(holding) << holding.error().message;
  ASSERT_EQ(holding->size(), 1u);
  EXPECT_EQ((*holding)[0].key, "/registry/secrets/default/db");
  EXPECT_EQ((*holding)[0].value, secret);
  auto blue = sealing->listContaining("/registry/", "blue");
  ASSERT_TRUE(blue);
  ASSERT_EQ(blue->size(), 1u);
  EXPECT_EQ((*blue)[0].value, map);
  EXPECT_TRUE(sealing->listContaining("/registry/", "nowhere")->empty());

  auto updated = sealing->update("/registry/secrets/default/db", R"({"data":{}})", 0);
  ASSERT_TRUE(updated);
  auto removed = sealing->remove("/registry/secrets/default/db", 0);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->value, R"({"data":{}})");
  sealing.reset();

  // Below the decorator: the Secret only as ciphertext, the ConfigMap plain.
  auto plain = openPlain();
  auto raw = plain->list("/registry/", "", 0, 0);
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->items.size(), 1u);
  EXPECT_EQ(raw->items[0].value, map);
  ASSERT_TRUE(plain->create("/registry/secrets/default/again", "x"));
  EXPECT_TRUE(verifyReadable(*plain, {}));  // plain values need no key
}

TEST_F(EncryptingStoreTest, TheStartCheckNamesTheKeyAValueNeeds) {
  {
    EncryptingStore sealing(openPlain(), rules(config(secretbox("key1", 'a'))));
    ASSERT_TRUE(sealing.create("/registry/secrets/default/db", "{}"));
    ASSERT_TRUE(sealing.create("/registry/configmaps/default/m", "{}"));
  }
  auto plain = openPlain();
  // With its key: readable, nothing stale.
  auto readable = verifyReadable(*plain, rules(config(secretbox("key1", 'a'))));
  ASSERT_TRUE(readable) << readable.error().message;
  EXPECT_EQ(readable->values, 2u);
  EXPECT_EQ(readable->stale, 0u);
  // No configuration at all.
  auto none = verifyReadable(*plain, {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("cannot decrypt /registry/secrets/default/db"),
            std::string::npos)
      << none.error().message;
  EXPECT_NE(none.error().message.find("secretbox key \"key1\""), std::string::npos);
  // The same name with other bytes.
  auto wrong = verifyReadable(*plain, rules(config(secretbox("key1", 'b'))));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("authentication failed"), std::string::npos);
  // Another key only.
  auto other = verifyReadable(*plain, rules(config(secretbox("key2", 'a'))));
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("does not list"), std::string::npos);
  // A rotation in progress: the new key first, the old one after it.
  auto rotating =
      verifyReadable(*plain, rules(config(secretbox("key2", 'n') + secretbox("key1", 'a'))));
  ASSERT_TRUE(rotating) << rotating.error().message;
  EXPECT_EQ(rotating->stale, 1u);
}

TEST_F(EncryptingStoreTest, RewritingUnderANewKeyIsNotANoOp) {
  {
    EncryptingStore sealing(openPlain(), rules(config(secretbox("key1", 'a'))));
    ASSERT_TRUE(sealing.create("/registry/secrets/default/db", "{}"));
  }
  EncryptingStore rotating(openPlain(),
                           rules(config(secretbox("key2", 'n') + secretbox("key1", 'a'))));
  auto read = rotating.get("/registry/secrets/default/db");
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->stale);
  ASSERT_TRUE(rotating.update("/registry/secrets/default/db", read->value, read->modRevision));
  auto again = rotating.get("/registry/secrets/default/db");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->stale);
}

TEST_F(EncryptingStoreTest, ResourcesMapToTheirStoragePrefixes) {
  auto resolved = rules(
      config(secretbox("k", 'a'), "[secrets, deployments.apps, widgets.example.com, '*.batch']"));
  std::vector<std::string> prefixes;
  for (const PrefixRule& rule : resolved) prefixes.push_back(rule.prefix);
  EXPECT_EQ(prefixes,
            (std::vector<std::string>{"/registry/secrets/", "/registry/deployments/",
                                      "/registry/example.com/widgets/", "/registry/batch/"}));
  auto everything = rules(config(secretbox("k", 'a'), "['*.*']"));
  ASSERT_EQ(everything.size(), 1u);
  EXPECT_EQ(everything[0].prefix, "/registry/");
  auto core = rules(config(secretbox("k", 'a'), "['*.']"));
  EXPECT_EQ(core.size(), 2u);  // secrets and configmaps of the test's catalog
  auto config2 = parseConfig(config(secretbox("k", 'a'), "[gizmos]"));
  ASSERT_TRUE(config2);
  auto unknown = resolvePrefixes(*config2, {});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("not a resource of the core group"), std::string::npos);
}

}  // namespace
}  // namespace podnet::encryption
