#include "api/codec.h"

#include <gtest/gtest.h>

namespace podnet::api {
namespace {

TEST(DecodeJson, ParsesAnObject) {
  auto doc = decodeJson(R"({"kind":"Pod","spec":{"replicas":3,"ok":true}})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["kind"], "Pod");
  EXPECT_EQ((*doc)["spec"]["replicas"], 3);
}

TEST(DecodeJson, MalformedInputIsBadRequest) {
  auto doc = decodeJson(R"({"kind": )");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, 400);
  EXPECT_EQ(doc.error().reason, "BadRequest");
  EXPECT_NE(doc.error().message.find("error decoding JSON"), std::string::npos);
}

TEST(DecodeJson, RejectsBodiesOverTheLimit) {
  std::string big(kMaxBodyBytes + 1, ' ');
  auto doc = decodeJson(big);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, 400);
}

TEST(DecodeYaml, ResolvesPlainScalarsAsYaml12Core) {
  auto doc = decodeYaml(
      "int: 80\n"
      "negative: -5\n"
      "float: 1.5\n"
      "bool: true\n"
      "null1: null\n"
      "null2: ~\n"
      "empty:\n"
      "str: hello\n"
      "yes: yes\n"  // YAML 1.1 booleans stay strings in 1.2
      "octal: 0o17\n"
      "hex: 0x1f\n");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const Json& d = *doc;
  EXPECT_TRUE(d["int"].is_number_integer());
  EXPECT_EQ(d["int"], 80);
  EXPECT_EQ(d["negative"], -5);
  EXPECT_TRUE(d["float"].is_number_float());
  EXPECT_EQ(d["bool"], true);
  EXPECT_TRUE(d["null1"].is_null());
  EXPECT_TRUE(d["null2"].is_null());
  EXPECT_TRUE(d["empty"].is_null());
  EXPECT_EQ(d["str"], "hello");
  EXPECT_EQ(d["yes"], "yes");
  EXPECT_EQ(d["octal"], 15);
  EXPECT_EQ(d["hex"], 31);
}

TEST(DecodeYaml, QuotedScalarsStayStrings) {
  auto doc = decodeYaml("a: \"80\"\nb: 'true'\nc: \"null\"\n");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["a"], "80");
  EXPECT_EQ((*doc)["b"], "true");
  EXPECT_EQ((*doc)["c"], "null");
}

TEST(DecodeYamlDocuments, SplitsStreamsAndSkipsEmptyDocuments) {
  auto docs = decodeYamlDocuments(
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
      "---\n"
      "---\n"
      "# only a comment\n"
      "---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  port: \"8080\"\n");
  ASSERT_TRUE(docs.ok()) << docs.error().message;
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0]["kind"], "Namespace");
  EXPECT_EQ((*docs)[1]["data"]["port"], "8080");
}

TEST(DecodeYaml, ExactlyOneDocument) {
  auto doc = decodeYaml("a: 1\n---\nb: 2\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().message, "expected exactly one YAML document, got 2");
}

TEST(DecodeYaml, SyntaxErrorIsBadRequest) {
  auto doc = decodeYaml("a: [1, 2\n");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, 400);
  EXPECT_NE(doc.error().message.find("error converting YAML to JSON"), std::string::npos);
}

// yaml-cpp 0.7 spins forever on a document starting with a stray comma.
TEST(DecodeYaml, StrayCommaIsBadRequestNotAHang) {
  for (const char* text : {",", ",\r", "---\n,", "a: 1\n---\n, b", "!t ,", "\xef\xbb\xbf,"}) {
    auto docs = decodeYamlDocuments(text);
    ASSERT_FALSE(docs.ok()) << text;
    EXPECT_EQ(docs.error().code, 400);
  }
  auto many = decodeYamlDocuments("---\n---\n---\na: 1\n...\n---\nb: 2\n");
  ASSERT_TRUE(many.ok()) << many.error().message;
  EXPECT_EQ(many->size(), 2u);
}

TEST(DecodeYaml, AcceptsJson) {
  auto doc = decodeYaml(R"({"kind": "Service", "spec": {"ports": [{"port": 80}]}})");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["spec"]["ports"][0]["port"], 80);
}

TEST(EncodeYaml, QuotesStringsThatWouldReadBackAsOtherTypes) {
  Json value = {{"port", "80"}, {"flag", "true"}, {"nothing", "null"},
                {"empty", ""},  {"number", 80},   {"name", "web"}};
  std::string yaml = encodeYaml(value);
  EXPECT_NE(yaml.find("port: \"80\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("flag: \"true\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("number: 80"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("name: web"), std::string::npos) << yaml;
  auto back = decodeYaml(yaml);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, value);
}

TEST(EncodeYaml, RoundTripsAManifest) {
  Json deployment = Json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "labels": {"app": "web", "version": "1.0"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
      "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
          "args": ["--port", "8080", "yes", "~"],
          "env": [{"name": "MULTI", "value": "line one\nline two\n"}],
          "ports": [{"containerPort": 80}]}]}}}})");
  auto back = decodeYaml(encodeYaml(deployment));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, deployment);
}

TEST(EncodeYaml, RoundTripsEmptyContainersAndUnicode) {
  Json value = {{"emptyMap", Json::object()},
                {"emptyList", Json::array()},
                {"unicode", "h\u00e9llo \u4e16\u754c"},
                {"colon", "a: b"},
                {"hash", "# x"}};
  auto back = decodeYaml(encodeYaml(value));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, value);
}

}  // namespace
}  // namespace podnet::api
