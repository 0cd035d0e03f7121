// ServiceAccount tokens: RS256 JWTs with upstream's claims, checked for
// signature, expiry, audience and the ServiceAccount's uid.
#include "apiserver/service_account_tokens.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "api/object.h"

namespace podnet::apiserver {
namespace {

using api::Json;

// Holds objects by (plural, namespace, name); only get() is used here.
class ObjectsClient : public client::Client {
 public:
  void put(const char* kind, Json obj) {
    std::tuple<std::string, std::string, std::string> key{api::resource(kind).plural,
                                                          api::namespaceOf(obj), api::name(obj)};
    objects[key] = std::move(obj);
  }
  core::Result<Json> get(const api::ResourceInfo& resource, std::string_view ns,
                         std::string_view name) override {
    auto it = objects.find({resource.plural, std::string(ns), std::string(name)});
    if (it == objects.end())
      return core::notFound(resource.group, resource.plural, std::string(name));
    return it->second;
  }
  core::Result<Json> create(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> update(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> remove(const api::ResourceInfo&, std::string_view, std::string_view,
                            const client::DeleteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> list(const api::ResourceInfo&, std::string_view,
                          const client::ListOptions&) override {
    return core::internal("read-only");
  }
  core::Result<std::unique_ptr<client::Watcher>> watch(const api::ResourceInfo&, std::string_view,
                                                       const client::ListOptions&) override {
    return core::internal("read-only");
  }
  std::map<std::tuple<std::string, std::string, std::string>, Json> objects;
};

class TokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/podnet-tokens-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    std::filesystem::create_directories(dir_ / "pki");
    auto made = TokenIssuer::loadOrCreate(dir_.string());
    ASSERT_TRUE(made.ok()) << made.error().message;
    issuer_ = *made;
    api_.put("ServiceAccount",
             {{"metadata", {{"name", "default"}, {"namespace", "team"}, {"uid", "sa-uid-1"}}}});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Json requestToken(Json body = Json::object()) {
    auto answer = issuer_->tokenRequest(api_, "team", "default", std::move(body), kNow);
    EXPECT_TRUE(answer.ok()) << (answer.ok() ? "" : answer.error().message);
    return answer.ok() ? *answer : Json();
  }

  static constexpr int64_t kNow = 1'800'000'000;
  std::filesystem::path dir_;
  std::shared_ptr<TokenIssuer> issuer_;
  ObjectsClient api_;
};

TEST_F(TokensTest, KeyIsKeptPrivateAndReused) {
  auto path = dir_ / "pki" / "sa.key";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string token = requestToken()["status"]["token"];
  auto again = TokenIssuer::loadOrCreate(dir_.string());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->verify(token, kNow).ok());  // same key after a restart
}

TEST_F(TokensTest, ClaimsAsUpstream) {
  Json answer = requestToken();
  EXPECT_EQ(answer["kind"], "TokenRequest");
  EXPECT_EQ(answer["apiVersion"], "authentication.k8s.io/v1");
  EXPECT_EQ(answer["spec"]["expirationSeconds"], 3600);
  EXPECT_EQ(answer["status"]["expirationTimestamp"], api::formatRfc3339(kNow + 3600));
  std::string token = answer["status"]["token"];
  size_t dot = token.find('.');
  size_t dot2 = token.find('.', dot + 1);
  Json header = Json::parse(*base64UrlDecode(token.substr(0, dot)));
  EXPECT_EQ(header["alg"], "RS256");
  EXPECT_FALSE(header["kid"].get<std::string>().empty());
  Json claims = Json::parse(*base64UrlDecode(token.substr(dot + 1, dot2 - dot - 1)));
  EXPECT_EQ(claims["iss"], "https://kubernetes.default.svc.cluster.local");
  EXPECT_EQ(claims["aud"], Json::array({"https://kubernetes.default.svc.cluster.local"}));
  EXPECT_EQ(claims["sub"], "system:serviceaccount:team:default");
  EXPECT_EQ(claims["kubernetes.io"]["namespace"], "team");
  EXPECT_EQ(claims["kubernetes.io"]["serviceaccount"],
            Json({{"name", "default"}, {"uid", "sa-uid-1"}}));
  EXPECT_EQ(claims["iat"], kNow);
  EXPECT_EQ(claims["nbf"], kNow);
  EXPECT_EQ(claims["exp"], kNow + 3600);
  EXPECT_EQ(issuer_->authenticate(api_, token, kNow + 10),
            std::optional<std::string>("system:serviceaccount:team:default"));
}

TEST_F(TokensTest, ExpirationSeconds) {
  Json answer = requestToken({{"spec", {{"expirationSeconds", 7200}}}});
  EXPECT_EQ(answer["status"]["expirationTimestamp"], api::formatRfc3339(kNow + 7200));
  auto tooShort = issuer_->tokenRequest(api_, "team", "default",
                                        {{"spec", {{"expirationSeconds", 599}}}}, kNow);
  ASSERT_FALSE(tooShort.ok());
  EXPECT_EQ(tooShort.error().code, 422);
  EXPECT_NE(tooShort.error().message.find(
                "spec.expirationSeconds: Invalid value: 599: may not specify a duration less "
                "than 10 minutes"),
            std::string::npos)
      << tooShort.error().message;
  auto missing = issuer_->tokenRequest(api_, "team", "nobody", Json::object(), kNow);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, 404);
}

TEST_F(TokensTest, RefusesTamperedExpiredForeignAndOrphanedTokens) {
  std::string token = requestToken()["status"]["token"];
  // A changed payload byte breaks the signature.
  std::string tampered = token;
  size_t at = tampered.find('.') + 5;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(issuer_->verify(tampered, kNow).ok());
  EXPECT_FALSE(issuer_->verify(token + "x", kNow).ok());
  EXPECT_FALSE(issuer_->verify("a.b", kNow).ok());
  EXPECT_FALSE(issuer_->verify("", kNow).ok());
  EXPECT_FALSE(issuer_->verify(token, kNow + 3600 + 61).ok());  // expired (60 s leeway)
  // Another key's token.
  char pattern[] = "/tmp/podnet-tokens-XXXXXX";
  std::filesystem::path other = ::mkdtemp(pattern);
  std::filesystem::create_directories(other / "pki");
  auto foreign = TokenIssuer::loadOrCreate(other.string());
  std::filesystem::remove_all(other);
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(issuer_
                   ->verify((*foreign)->issue({"team",
                                               "default",
                                               "sa-uid-1",
                                               {"https://kubernetes.default.svc.cluster.local"},
                                               kNow,
                                               kNow + 600,
                                               "id",
                                               std::nullopt}),
                            kNow)
                   .ok());
  // A token for another audience is not for the API server.
  std::string elsewhere = requestToken({{"spec", {{"audiences", {"vault"}}}}})["status"]["token"];
  EXPECT_FALSE(issuer_->verify(elsewhere, kNow).ok());
  // The ServiceAccount deleted and made again: the old token's uid is gone.
  api_.put("ServiceAccount",
           {{"metadata", {{"name", "default"}, {"namespace", "team"}, {"uid", "sa-uid-2"}}}});
  EXPECT_EQ(issuer_->authenticate(api_, token, kNow), std::nullopt);
}

TEST_F(TokensTest, BoundToAPod) {
  api_.put("Pod", {{"metadata", {{"name", "web"}, {"namespace", "team"}, {"uid", "pod-uid"}}}});
  Json answer = requestToken(
      {{"spec", {{"boundObjectRef", {{"kind", "Pod"}, {"apiVersion", "v1"}, {"name", "web"}}}}}});
  std::string token = answer["status"]["token"];
  auto claims = issuer_->verify(token, kNow);
  ASSERT_TRUE(claims.ok());
  ASSERT_TRUE(claims->bound.has_value());
  EXPECT_EQ(claims->bound->uid, "pod-uid");
  EXPECT_TRUE(issuer_->authenticate(api_, token, kNow).has_value());
  api_.objects.erase({"pods", "team", "web"});
  EXPECT_FALSE(issuer_->authenticate(api_, token, kNow).has_value());
}

TEST(Base64Url, RoundTrip) {
  for (std::string text : {"", "f", "fo", "foo", "foob", "\xff\xfe\x00z"})
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(text)), text);
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64UrlDecode("a+b"), std::nullopt);
}

}  // namespace
}  // namespace podnet::apiserver
