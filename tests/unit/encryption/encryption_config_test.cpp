// The EncryptionConfiguration as kube-apiserver reads it: what is accepted,
// and each mistake refused with the field it is in.
#include "encryption/encryption_config.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace podnet::encryption {
namespace {

std::string key(size_t bytes, char fill = 'k') {
  return core::encodeBase64(std::string(bytes, fill));
}

std::string config(const std::string& providers, const std::string& resources = "[secrets]") {
  return "apiVersion: apiserver.config.k8s.io/v1\n"
         "kind: EncryptionConfiguration\n"
         "resources:\n"
         "  - resources: " +
         resources + "\n    providers:\n" + providers;
}

std::string error(const std::string& yaml) {
  auto parsed = parseConfig(yaml);
  return parsed ? std::string("<accepted>") : parsed.error().message;
}

TEST(EncryptionConfig, TheDocumentedExampleParses) {
  auto parsed = parseConfig(
      "apiVersion: apiserver.config.k8s.io/v1\n"
      "kind: EncryptionConfiguration\n"
      "resources:\n"
      "  - resources:\n"
      "      - secrets\n"
      "      - configmaps\n"
      "    providers:\n"
      "      - aesgcm:\n"
      "          keys:\n"
      "            - name: key1\n"
      "              secret: " +
      key(16) +
      "\n"
      "            - name: key2\n"
      "              secret: " +
      key(32, 'x') +
      "\n"
      "      - aescbc:\n"
      "          keys: [{name: key1, secret: " +
      key(32) +
      "}]\n"
      "      - secretbox:\n"
      "          keys: [{name: key1, secret: " +
      key(32) +
      "}]\n"
      "      - identity: {}\n"
      "  - resources: ['*.apps']\n"
      "    providers: [{identity: {}}]\n");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->rules.size(), 2u);
  const ResourceRule& first = parsed->rules[0];
  EXPECT_EQ(first.resources, (std::vector<std::string>{"secrets", "configmaps"}));
  ASSERT_EQ(first.providers.size(), 4u);
  EXPECT_EQ(first.providers[0].cipher, Cipher::AesGcm);
  ASSERT_EQ(first.providers[0].keys.size(), 2u);
  EXPECT_EQ(first.providers[0].keys[1].name, "key2");
  EXPECT_EQ(first.providers[0].keys[1].secret, std::string(32, 'x'));
  EXPECT_EQ(first.providers[1].cipher, Cipher::AesCbc);
  EXPECT_EQ(first.providers[2].cipher, Cipher::Secretbox);
  EXPECT_EQ(first.providers[3].cipher, Cipher::Identity);
}

TEST(EncryptionConfig, RefusesWhatKubeApiserverRefuses) {
  EXPECT_NE(error("apiVersion: v1\nkind: EncryptionConfig\nresources: []\n")
                .find("expected kind EncryptionConfiguration of apiVersion "
                      "apiserver.config.k8s.io/v1"),
            std::string::npos);
  EXPECT_NE(error(config("      - kms: {name: vault}\n")).find("resources[0].providers[0].kms"),
            std::string::npos);
  EXPECT_NE(error(config("      - rot13: {}\n")).find("unknown provider"), std::string::npos);
  EXPECT_NE(error(config("      - {identity: {}, aescbc: {keys: [{name: a, secret: " + key(32) +
                         "}]}}\n"))
                .find("exactly one provider"),
            std::string::npos);
  EXPECT_NE(error(config("      - aescbc: {keys: []}\n")).find("aescbc.keys: at least one key"),
            std::string::npos);
  EXPECT_NE(error(config("      - aesgcm: {keys: [{name: a, secret: " + key(20) + "}]}\n"))
                .find("resources[0].providers[0].aesgcm.keys[0].secret: secret is not of the "
                      "expected length, got 20 bytes"),
            std::string::npos);
  EXPECT_NE(error(config("      - secretbox: {keys: [{name: a, secret: " + key(16) + "}]}\n"))
                .find("expected 32"),
            std::string::npos);
  EXPECT_NE(error(config("      - aescbc: {keys: [{name: a, secret: '!!notbase64'}]}\n"))
                .find("not valid base64"),
            std::string::npos);
  EXPECT_NE(error(config("      - aescbc: {keys: [{name: 'a:b', secret: " + key(32) + "}]}\n"))
                .find("must not contain ':'"),
            std::string::npos);
  EXPECT_NE(error(config("      - aescbc: {keys: [{name: a, secret: " + key(32) +
                         "}, {name: a, secret: " + key(32) + "}]}\n"))
                .find("keys[1].name: \"a\": key names must be unique"),
            std::string::npos);
  EXPECT_NE(error(config("      - aescbc: {keys: [{secret: " + key(32) + "}]}\n"))
                .find("keys[0].name: a key name is required"),
            std::string::npos);
  EXPECT_NE(error(config("", "[secrets]")).find("providers: at least one provider"),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "[]")).find("resources[0].resources"),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "[Secrets]")).find("lower case"),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "['*']")).find("\"*.*\""), std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "['sec*']")).find("wildcard"),
            std::string::npos);
  // A resource an earlier wildcard already covers would never be used.
  EXPECT_NE(error(config("      - identity: {}\n", "['*.*', secrets]"))
                .find("\"secrets\" is already covered by \"*.*\""),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "['*.apps', deployments.apps]"))
                .find("already covered by \"*.apps\""),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "['*.', configmaps]"))
                .find("already covered by \"*.\""),
            std::string::npos);
  EXPECT_NE(error(config("      - identity: {}\n", "[secrets, secrets]")).find("already covered"),
            std::string::npos);
  EXPECT_NE(error("{{{").find("invalid encryption configuration"), std::string::npos);
}

TEST(EncryptionConfig, AMissingFileIsSaidSo) {
  auto loaded = loadConfig("/nonexistent/podnet/encryption.yaml");
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("no such file"), std::string::npos);
}

TEST(EncryptionConfig, GeneratedConfigurationsParseWithAFreshKeyEachTime) {
  std::string one = generateConfig({"secrets"}, "key1");
  std::string two = generateConfig({"secrets"}, "key1");
  EXPECT_NE(one, two);
  auto parsed = parseConfig(one);
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << one;
  ASSERT_EQ(parsed->rules.size(), 1u);
  ASSERT_EQ(parsed->rules[0].providers.size(), 2u);
  EXPECT_EQ(parsed->rules[0].providers[0].cipher, Cipher::Secretbox);
  EXPECT_EQ(parsed->rules[0].providers[0].keys[0].secret.size(), 32u);
  EXPECT_EQ(parsed->rules[0].providers[1].cipher, Cipher::Identity);
}

}  // namespace
}  // namespace podnet::encryption
