// Bootstrap tokens and node tokens: the formats kubeadm uses, and when a
// stored Secret lets a token in.
#include "api/bootstrap_token.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace podnet::api {
namespace {

TEST(BootstrapToken, ParsesOnlyKubeadmsFormat) {
  auto token = parseBootstrapToken("abcdef.0123456789abcdef");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->id, "abcdef");
  EXPECT_EQ(token->secret, "0123456789abcdef");
  for (const char* bad :
       {"", "abcdef0123456789abcdef", "ABCDEF.0123456789abcdef", "abcde.0123456789abcdefg",
        "abcdef.0123456789abcde", "abcdef.0123456789abcdef0", "abc-ef.0123456789abcdef"})
    EXPECT_FALSE(parseBootstrapToken(bad)) << bad;
}

TEST(BootstrapToken, SecretHasUpstreamsFieldsAndIsCheckedOnUse) {
  BootstrapToken token{"abcdef", "0123456789abcdef"};
  Json secret = bootstrapTokenSecret(token, 2000000000, "for node-3");
  EXPECT_EQ(secret["metadata"]["name"], "bootstrap-token-abcdef");
  EXPECT_EQ(secret["metadata"]["namespace"], "kube-system");
  EXPECT_EQ(secret["type"], "bootstrap.kubernetes.io/token");
  EXPECT_EQ(core::decodeBase64(secret["data"]["expiration"].get<std::string>()),
            "2033-05-18T03:33:20Z");
  EXPECT_FALSE(bootstrapTokenRefusal(secret, token, 1999999999));
  EXPECT_EQ(bootstrapTokenRefusal(secret, token, 2000000000), "the token expired");
  // An expiration with an offset is read as the instant it names.
  Json offset = secret;
  offset["data"]["expiration"] = core::encodeBase64("2033-05-17T19:33:20-08:00");
  EXPECT_FALSE(bootstrapTokenRefusal(offset, token, 1999999999));
  EXPECT_EQ(bootstrapTokenRefusal(offset, token, 2000000000), "the token expired");
  EXPECT_EQ(bootstrapTokenRefusal(secret, {"abcdef", "0123456789abcdee"}, 0), "wrong token");
  Json noAuth = secret;
  noAuth["data"].erase("usage-bootstrap-authentication");
  EXPECT_EQ(bootstrapTokenRefusal(noAuth, token, 0), "the token is not for authentication");
  Json opaque = secret;
  opaque["type"] = "Opaque";
  EXPECT_TRUE(bootstrapTokenRefusal(opaque, token, 0));
  // Extra groups only under system:bootstrappers:, as upstream.
  secret["data"]["auth-extra-groups"] =
      core::encodeBase64("system:bootstrappers:a,system:masters,system:bootstrappers:b");
  EXPECT_EQ(bootstrapTokenGroups(secret),
            (std::vector<std::string>{"system:bootstrappers:a", "system:bootstrappers:b"}));
}

TEST(NodeToken, RoundTripsAndMatchesOnlyItsSecret) {
  auto token = parseNodeToken("pnode.node-1.example.com.s3cr3t");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->node, "node-1.example.com");
  EXPECT_EQ(token->secret, "s3cr3t");
  EXPECT_EQ(token->text(), "pnode.node-1.example.com.s3cr3t");
  for (const char* bad : {"pnode.", "pnode.x", "pnode..s", "pnode.x.", "node.x.y"})
    EXPECT_FALSE(parseNodeToken(bad)) << bad;
  Json secret = nodeTokenSecret(*token);
  EXPECT_EQ(secret["metadata"]["name"], "node-token-node-1.example.com");
  EXPECT_TRUE(nodeTokenMatches(secret, *token));
  EXPECT_FALSE(nodeTokenMatches(secret, {"node-1.example.com", "s3cr3u"}));
  EXPECT_FALSE(nodeTokenMatches(Json::object(), *token));
}

}  // namespace
}  // namespace podnet::api
