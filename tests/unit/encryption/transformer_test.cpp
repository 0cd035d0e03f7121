// Sealing and opening values: every provider round-trips, each layout is
// kube-apiserver's (aescbc checked against the openssl command line), a
// changed byte or another key never opens, and rotation reads old keys and
// marks what they opened as stale.
#include "encryption/transformer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace podnet::encryption {
namespace {

std::shared_ptr<const Transformer> make(std::vector<Provider> providers) {
  auto made = Transformer::make(providers);
  EXPECT_TRUE(made) << made.error().message;
  return made ? *made : nullptr;
}

Provider provider(Cipher cipher, std::vector<Key> keys) { return {cipher, std::move(keys)}; }

constexpr std::string_view kValue = R"({"kind":"Secret","data":{"password":"aHVudGVyMg=="}})";
constexpr std::string_view kKey = "/registry/secrets/default/db";

class EachCipher : public ::testing::TestWithParam<Cipher> {};

TEST_P(EachCipher, RoundTripsUnderItsPrefixAndHidesTheValue) {
  Cipher cipher = GetParam();
  auto transformer = make({provider(cipher, {{"key1", std::string(32, 'a')}})});
  auto sealed = transformer->seal(kValue, kKey);
  ASSERT_TRUE(sealed) << sealed.error().message;
  std::string prefix = "k8s:enc:" + std::string(cipherName(cipher)) + ":v1:key1:";
  EXPECT_EQ(sealed->rfind(prefix, 0), 0u) << *sealed;
  EXPECT_EQ(sealed->find("aHVudGVyMg"), std::string::npos);
  EXPECT_EQ(sealed->find("Secret"), std::string::npos);
  // A fresh nonce or IV every time.
  EXPECT_NE(*sealed, *transformer->seal(kValue, kKey));
  auto opened = transformer->open(*sealed, kKey);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->value, kValue);
  EXPECT_FALSE(opened->stale);
  EXPECT_EQ(describeSealed(*sealed), std::string(cipherName(cipher)) + " key \"key1\"");

  // Another key under the same name does not open it.
  auto other = make({provider(cipher, {{"key1", std::string(32, 'b')}})});
  auto wrong = other->open(*sealed, kKey);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find(std::string(cipherName(cipher)) + " key \"key1\""),
            std::string::npos)
      << wrong.error().message;
  // Nor does a truncated value.
  EXPECT_FALSE(transformer->open(sealed->substr(0, prefix.size() + 10), kKey));
  EXPECT_FALSE(transformer->open(prefix, kKey));
}

TEST_P(EachCipher, AnEmptyValueRoundTrips) {
  auto transformer = make({provider(GetParam(), {{"k", std::string(32, 'a')}})});
  auto sealed = transformer->seal("", kKey);
  ASSERT_TRUE(sealed);
  auto opened = transformer->open(*sealed, kKey);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->value, "");
}

INSTANTIATE_TEST_SUITE_P(Providers, EachCipher,
                         ::testing::Values(Cipher::AesGcm, Cipher::AesCbc, Cipher::Secretbox),
                         [](const auto& info) { return std::string(cipherName(info.param)); });

TEST(Transformer, AuthenticatedCiphersRefuseAChangedByte) {
  for (Cipher cipher : {Cipher::AesGcm, Cipher::Secretbox}) {
    auto transformer = make({provider(cipher, {{"key1", std::string(32, 'a')}})});
    std::string sealed = *transformer->seal(kValue, kKey);
    sealed[sealed.size() - 5] ^= 0x01;
    auto opened = transformer->open(sealed, kKey);
    ASSERT_FALSE(opened) << cipherName(cipher);
    EXPECT_NE(opened.error().message.find("authentication failed"), std::string::npos);
  }
}

TEST(Transformer, AesGcmBindsTheValueToItsKey) {
  // A sealed Secret copied under another key does not open there.
  auto transformer = make({provider(Cipher::AesGcm, {{"key1", std::string(16, 'a')}})});
  std::string sealed = *transformer->seal(kValue, kKey);
  EXPECT_FALSE(transformer->open(sealed, "/registry/secrets/default/other"));
  EXPECT_TRUE(transformer->open(sealed, kKey));
}

TEST(Transformer, AesKeysOfEverySizeWork) {
  for (size_t bytes : {16, 24, 32})
    for (Cipher cipher : {Cipher::AesGcm, Cipher::AesCbc}) {
      auto transformer = make({provider(cipher, {{"k", std::string(bytes, 'z')}})});
      auto opened = transformer->open(*transformer->seal(kValue, kKey), kKey);
      ASSERT_TRUE(opened) << cipherName(cipher) << " " << bytes;
      EXPECT_EQ(opened->value, kValue);
    }
}

TEST(Transformer, AesCbcIsWhatOpensslEncWrites) {
  // kube-apiserver's aescbc layout is IV | AES-CBC with PKCS#7: the openssl
  // command line decrypts ours given the same key and IV.
  std::string key(32, '\0');
  for (size_t i = 0; i < key.size(); ++i) key[i] = char(i * 7 + 1);
  auto transformer = make({provider(Cipher::AesCbc, {{"key1", key}})});
  std::string sealed = *transformer->seal(kValue, kKey);
  std::string body = sealed.substr(std::string("k8s:enc:aescbc:v1:key1:").size());
  auto hex = [](std::string_view bytes) {
    std::string out;
    char two[3];
    for (unsigned char c : bytes) {
      std::snprintf(two, sizeof two, "%02x", c);
      out += two;
    }
    return out;
  };
  auto dir = std::filesystem::temp_directory_path() / "podnet-aescbc-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cipher", std::ios::binary) << body.substr(16);
  std::string command = "openssl enc -d -aes-256-cbc -K " + hex(key) + " -iv " +
                        hex(body.substr(0, 16)) + " -in " + (dir / "cipher").string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = ::pclose(pipe);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, kValue);
}

TEST(Transformer, RotationReadsOldKeysAndMarksThemStale) {
  std::string oldKey(32, 'o'), newKey(32, 'n');
  auto before = make({provider(Cipher::AesCbc, {{"key1", oldKey}}), {Cipher::Identity, {}}});
  std::string written = *before->seal(kValue, kKey);
  // key2 first: it seals; key1 still opens what it sealed, marked stale.
  auto during = make({provider(Cipher::Secretbox, {{"key2", newKey}}),
                      provider(Cipher::AesCbc, {{"key1", oldKey}}),
                      {Cipher::Identity, {}}});
  auto opened = during->open(written, kKey);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->value, kValue);
  EXPECT_TRUE(opened->stale);
  std::string rewritten = *during->seal(opened->value, kKey);
  EXPECT_EQ(rewritten.rfind("k8s:enc:secretbox:v1:key2:", 0), 0u);
  EXPECT_FALSE(during->open(rewritten, kKey)->stale);
  // Plain values written before encryption read through identity, stale.
  auto plain = during->open(kValue, kKey);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->stale);
  // Once key1 is gone, what it sealed no longer opens, and the error says
  // which key it needs.
  auto after = make({provider(Cipher::Secretbox, {{"key2", newKey}})});
  auto lost = after->open(written, kKey);
  ASSERT_FALSE(lost);
  EXPECT_NE(lost.error().message.find("aescbc key \"key1\""), std::string::npos)
      << lost.error().message;
  // Without identity, plain values do not read either.
  auto unencrypted = after->open(kValue, kKey);
  ASSERT_FALSE(unencrypted);
  EXPECT_NE(unencrypted.error().message.find("no identity provider"), std::string::npos);
}

TEST(Transformer, IdentityFirstWritesPlainAndStillReadsEncrypted) {
  // Turning encryption off: identity first, the old key after it.
  auto sealing = make({provider(Cipher::AesGcm, {{"key1", std::string(32, 'a')}})});
  std::string sealed = *sealing->seal(kValue, kKey);
  auto off =
      make({{Cipher::Identity, {}}, provider(Cipher::AesGcm, {{"key1", std::string(32, 'a')}})});
  EXPECT_EQ(*off->seal(kValue, kKey), kValue);
  auto opened = off->open(sealed, kKey);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->stale);
  EXPECT_EQ(off->open(kValue, kKey)->value, kValue);
  EXPECT_FALSE(off->open(kValue, kKey)->stale);
  // Identity never hands out ciphertext as if it were the object.
  auto identityOnly = make({{Cipher::Identity, {}}});
  EXPECT_FALSE(identityOnly->open(sealed, kKey));
}

TEST(Transformer, DescribesOnlyWellFormedPrefixes) {
  EXPECT_EQ(describeSealed("{\"kind\":\"Secret\"}"), "");
  EXPECT_EQ(describeSealed("k8s:enc:kms:v2:vault:xyz"), "kms");
  EXPECT_EQ(describeSealed("k8s:enc:aesgcm:v1:key9:\x01\x02"), "aesgcm key \"key9\"");
  EXPECT_EQ(describeSealed("k8s:enc:"), "an unknown provider");
}

}  // namespace
}  // namespace podnet::encryption
