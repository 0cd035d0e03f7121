#include "api/selector.h"

#include <gtest/gtest.h>

namespace podnet::api {
namespace {

using Labels = std::map<std::string, std::string>;

LabelSelector parseOk(std::string_view text) {
  auto s = LabelSelector::parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : LabelSelector{};
}

std::string parseError(std::string_view text) {
  auto s = LabelSelector::parse(text);
  EXPECT_FALSE(s.ok()) << text;
  if (s.ok()) return {};
  EXPECT_EQ(s.error().code, 400);
  return s.error().message;
}

TEST(LabelSelectorParse, EmptySelectsEverything) {
  auto s = parseOk("");
  EXPECT_TRUE(s.selectsEverything());
  EXPECT_TRUE(s.matches({}));
  EXPECT_TRUE(parseOk("   ").selectsEverything());
}

TEST(LabelSelectorParse, AllOperators) {
  auto s =
      parseOk("app=web,tier==frontend,env!=prod,zone in (a, b),track notin (canary),gpu,!legacy");
  ASSERT_EQ(s.requirements().size(), 7u);
  Labels good = {{"app", "web"}, {"tier", "frontend"}, {"env", "dev"}, {"zone", "b"}, {"gpu", ""}};
  EXPECT_TRUE(s.matches(good));
  auto bad = good;
  bad["legacy"] = "true";
  EXPECT_FALSE(s.matches(bad));
  bad = good;
  bad.erase("gpu");
  EXPECT_FALSE(s.matches(bad));
  bad = good;
  bad["zone"] = "c";
  EXPECT_FALSE(s.matches(bad));
  bad = good;
  bad["track"] = "canary";
  EXPECT_FALSE(s.matches(bad));
  bad = good;
  bad["env"] = "prod";
  EXPECT_FALSE(s.matches(bad));
}

TEST(LabelSelectorParse, NotEqualsAndNotInMatchMissingLabels) {
  EXPECT_TRUE(parseOk("env!=prod").matches({}));
  EXPECT_TRUE(parseOk("env notin (prod)").matches({}));
  EXPECT_FALSE(parseOk("env in (prod)").matches({}));
}

TEST(LabelSelectorParse, EmptyValues) {
  EXPECT_TRUE(parseOk("a=").matches({{"a", ""}}));
  EXPECT_FALSE(parseOk("a=").matches({{"a", "x"}}));
  EXPECT_TRUE(parseOk("a in ()").matches({{"a", ""}}));
  EXPECT_TRUE(parseOk("a in (x,)").matches({{"a", ""}}));
}

TEST(LabelSelectorParse, InAndNotinAreValuesAfterAnOperator) {
  EXPECT_TRUE(parseOk("a=in").matches({{"a", "in"}}));
  EXPECT_TRUE(parseOk("a in (in,notin)").matches({{"a", "notin"}}));
}

TEST(LabelSelectorParse, PrefixedKeys) {
  auto s = parseOk("app.kubernetes.io/name=web");
  EXPECT_TRUE(s.matches({{"app.kubernetes.io/name", "web"}}));
}

TEST(LabelSelectorParse, ToStringIsCanonicalAndSortedByKey) {
  EXPECT_EQ(parseOk("z=1, a in (y,x), !b, c, d!=2, e notin (q)").toString(),
            "a in (x,y),!b,c,d!=2,e notin (q),z=1");
  // The canonical form parses back to itself.
  EXPECT_EQ(parseOk("a in (x,y),!b,c,d!=2,e notin (q),z=1").toString(),
            "a in (x,y),!b,c,d!=2,e notin (q),z=1");
}

TEST(LabelSelectorParse, SyntaxErrorsAsUpstream) {
  EXPECT_EQ(parseError("a b"),
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(parseError("a=b c"), "found 'c', expected: ',' or 'end of string'");
}

TEST(LabelSelectorParse, SyntaxErrorMessages) {
  EXPECT_EQ(parseError(",a"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(parseError("a,"), "found '', expected: identifier after ','");
  EXPECT_EQ(parseError("a in b"), "unable to parse requirement: found 'b' expected: '('");
  EXPECT_EQ(parseError("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(parseError("a in (b c)"),
            "unable to parse requirement: found 'c', expected: ',' or ')'");
  EXPECT_EQ(parseError("a in (="),
            "unable to parse requirement: found '=', expected: ',', ')' or identifier");
  EXPECT_EQ(parseError("!"), "unable to parse requirement: found '', expected: identifier");
  EXPECT_EQ(parseError("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
  EXPECT_EQ(parseError("a ("),
            "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt");
}

TEST(LabelSelectorParse, InvalidKeysAndValues) {
  EXPECT_EQ(parseError("-a=b"),
            "unable to parse requirement: key: Invalid value: \"-a\": name part must consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  EXPECT_EQ(parseError("a=b$"),
            "unable to parse requirement: values[0]: Invalid value: \"b$\": a valid label must be "
            "an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
            "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  EXPECT_NE(
      parseError(std::string(64, 'a') + "=b").find("name part must be no more than 63 characters"),
      std::string::npos);
}

TEST(LabelSelectorFromJson, MatchLabelsAndExpressions) {
  auto s = LabelSelector::fromJson(Json::parse(R"({
    "matchLabels": {"app": "web"},
    "matchExpressions": [
      {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
      {"key": "env", "operator": "NotIn", "values": ["prod"]},
      {"key": "gpu", "operator": "Exists"},
      {"key": "legacy", "operator": "DoesNotExist"}]})"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->matches({{"app", "web"}, {"tier", "edge"}, {"gpu", "1"}}));
  EXPECT_FALSE(s->matches({{"app", "web"}, {"tier", "edge"}}));
  EXPECT_EQ(s->toString(), "app=web,env notin (prod),gpu,!legacy,tier in (edge,frontend)");
}

TEST(LabelSelectorFromJson, EmptyAndNullSelectEverything) {
  auto empty = LabelSelector::fromJson(Json::object());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->selectsEverything());
  auto null = LabelSelector::fromJson(Json());
  ASSERT_TRUE(null.ok());
  EXPECT_TRUE(null->matches({{"x", "y"}}));
}

TEST(LabelSelectorFromJson, Errors) {
  auto badOp = LabelSelector::fromJson(
      Json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Equals"}]})"));
  ASSERT_FALSE(badOp.ok());
  EXPECT_EQ(badOp.error().code, 400);
  EXPECT_EQ(badOp.error().message, "\"Equals\" is not a valid label selector operator");

  auto noValues = LabelSelector::fromJson(
      Json::parse(R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})"));
  ASSERT_FALSE(noValues.ok());
  EXPECT_EQ(noValues.error().message,
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be "
            "empty");

  EXPECT_FALSE(LabelSelector::fromJson(Json::parse(R"({"matchLabels": {"a": 1}})")).ok());
  EXPECT_FALSE(LabelSelector::fromJson(Json::parse(R"({"matchLabels": ["a"]})")).ok());
  EXPECT_FALSE(LabelSelector::fromJson(Json::parse(R"("app=web")")).ok());
  EXPECT_FALSE(LabelSelector::fromJson(Json::parse(R"({"matchLabels": {"a b": "c"}})")).ok());
}

TEST(LabelSelectorFromMap, EmptyMapSelectsNothingUnlessAsked) {
  auto nothing = LabelSelector::fromMap({});
  EXPECT_FALSE(nothing.selectsEverything());
  EXPECT_FALSE(nothing.matches({}));
  EXPECT_FALSE(nothing.matches({{"a", "b"}}));
  auto everything = LabelSelector::fromMap({}, true);
  EXPECT_TRUE(everything.selectsEverything());
  EXPECT_TRUE(everything.matches({{"a", "b"}}));
}

TEST(LabelSelectorFromMap, EveryPairMustMatch) {
  auto s = LabelSelector::fromMap({{"app", "web"}, {"tier", "fe"}});
  EXPECT_TRUE(s.matches({{"app", "web"}, {"tier", "fe"}, {"x", "y"}}));
  EXPECT_FALSE(s.matches({{"app", "web"}}));
  EXPECT_EQ(s.toString(), "app=web,tier=fe");
}

const ResourceInfo& pods() { return resource("Pod"); }

TEST(FieldSelector, MetadataFieldsForEveryKind) {
  for (const auto& r : builtinResources()) {
    auto s = FieldSelector::parse(r, "metadata.name=a,metadata.namespace!=b");
    EXPECT_TRUE(s.ok()) << r.kind;
  }
  auto s = FieldSelector::parse(resource("ConfigMap"), "metadata.name=cfg");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->matches(Json::parse(R"({"metadata":{"name":"cfg"}})")));
  EXPECT_FALSE(s->matches(Json::parse(R"({"metadata":{"name":"other"}})")));
}

TEST(FieldSelector, EmptySelectsEverything) {
  auto s = FieldSelector::parse(pods(), "");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(s->matches(Json::object()));
}

TEST(FieldSelector, PodFields) {
  Json pod = Json::parse(R"({"metadata":{"name":"p","namespace":"default"},
    "spec":{"nodeName":"node-1","restartPolicy":"Always","schedulerName":"default-scheduler",
            "serviceAccountName":"default"},
    "status":{"phase":"Running","podIP":"10.42.0.5","nominatedNodeName":""}})");
  auto s = FieldSelector::parse(pods(),
                                "spec.nodeName=node-1,status.phase!=Failed,"
                                "spec.hostNetwork=false,status.podIP==10.42.0.5");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->matches(pod));
  pod["spec"]["hostNetwork"] = true;
  EXPECT_FALSE(s->matches(pod));
  auto unscheduled = FieldSelector::parse(pods(), "spec.nodeName=");
  ASSERT_TRUE(unscheduled.ok());
  EXPECT_TRUE(unscheduled->matches(Json::parse(R"({"spec":{}})")));
  EXPECT_FALSE(unscheduled->matches(pod));
}

TEST(FieldSelector, EventSecretNodeNamespaceReplicaSetFields) {
  Json event = Json::parse(R"({"involvedObject":{"kind":"Pod","name":"web-1","uid":"u1"},
    "reason":"Scheduled","type":"Normal","source":{"component":"default-scheduler"}})");
  auto e = FieldSelector::parse(resource("Event"),
                                "involvedObject.kind=Pod,involvedObject.name=web-1,"
                                "reason=Scheduled,type=Normal,source=default-scheduler");
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_TRUE(e->matches(event));

  auto secret = FieldSelector::parse(resource("Secret"), "type=kubernetes.io/tls");
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(secret->matches(Json::parse(R"({"type":"kubernetes.io/tls"})")));

  auto node = FieldSelector::parse(resource("Node"), "spec.unschedulable=false");
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE(node->matches(Json::parse(R"({"spec":{}})")));
  EXPECT_FALSE(node->matches(Json::parse(R"({"spec":{"unschedulable":true}})")));

  auto ns = FieldSelector::parse(resource("Namespace"), "status.phase=Active");
  ASSERT_TRUE(ns.ok());
  auto rs = FieldSelector::parse(resource("ReplicaSet"), "status.replicas!=0");
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(rs->matches(Json::parse(R"({"status":{"replicas":3}})")));
  EXPECT_FALSE(rs->matches(Json::parse(R"({"status":{}})")));
}

TEST(FieldSelector, UnknownFields) {
  auto svc = FieldSelector::parse(resource("Service"), "spec.foo=bar");
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.error().code, 400);
  EXPECT_EQ(svc.error().message,
            "\"spec.foo\" is not a known field selector: only \"metadata.name\", "
            "\"metadata.namespace\"");
  auto pod = FieldSelector::parse(pods(), "spec.foo=bar");
  ASSERT_FALSE(pod.ok());
  EXPECT_EQ(pod.error().message, "field label not supported: spec.foo");
  // Fields of another kind are not selectable here.
  EXPECT_FALSE(FieldSelector::parse(resource("Secret"), "spec.nodeName=x").ok());
}

TEST(FieldSelector, SyntaxErrors) {
  auto noOp = FieldSelector::parse(pods(), "metadata.name");
  ASSERT_FALSE(noOp.ok());
  EXPECT_EQ(noOp.error().message,
            "invalid selector: 'metadata.name'; can't understand 'metadata.name'");
  EXPECT_FALSE(FieldSelector::parse(pods(), "metadata.name=a,").ok());
  EXPECT_FALSE(FieldSelector::parse(pods(), "metadata.name=a\\x").ok());
}

TEST(FieldSelector, EscapedValues) {
  auto s = FieldSelector::parse(resource("ConfigMap"), "metadata.name=a\\,b\\=c");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->matches(Json::parse(R"({"metadata":{"name":"a,b=c"}})")));
}

TEST(FieldValue, ReadsNestedFieldsAndToleratesMistypes) {
  Json obj = Json::parse(R"({"metadata":{"name":"x"},"spec":"oops","status":{"replicas":2}})");
  EXPECT_EQ(fieldValue(obj, "metadata.name"), "x");
  EXPECT_EQ(fieldValue(obj, "spec.nodeName"), "");
  EXPECT_EQ(fieldValue(obj, "status.replicas"), "2");
  EXPECT_EQ(fieldValue(Json(42), "metadata.name"), "");
}

}  // namespace
}  // namespace podnet::api
