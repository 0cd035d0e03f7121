// The structural schema engine: what kube-apiserver refuses in a CRD's
// schema, and what it does to each custom resource (prune, default,
// validate), with upstream's messages.
#include "apiextensions/structural_schema.h"

#include <gtest/gtest.h>

#include "api/schema.h"

namespace podnet::apiextensions {
namespace {

Json parse(const char* text) { return Json::parse(text); }

std::shared_ptr<const StructuralSchema> compileOk(const Json& schema) {
  std::vector<core::Cause> causes;
  auto compiled =
      StructuralSchema::compile(schema, "spec.versions[0].schema.openAPIV3Schema", causes);
  EXPECT_TRUE(causes.empty()) << causes.front().field << ": " << causes.front().message;
  return compiled;
}

std::vector<std::string> problems(const Json& schema) {
  std::vector<core::Cause> causes;
  auto compiled =
      StructuralSchema::compile(schema, "spec.versions[0].schema.openAPIV3Schema", causes);
  EXPECT_EQ(compiled, nullptr);
  std::vector<std::string> out;
  for (const auto& cause : causes) out.push_back(cause.field + ": " + cause.message);
  return out;
}

std::vector<std::string> errors(const StructuralSchema& schema, const Json& obj) {
  std::vector<std::string> out;
  for (const auto& cause : schema.validate(obj)) out.push_back(cause.field + ": " + cause.message);
  return out;
}

const Json kRoute = parse(R"({
  "type": "object",
  "required": ["spec"],
  "properties": {
    "spec": {
      "type": "object",
      "required": ["port"],
      "properties": {
        "port": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535},
        "mode": {"type": "string", "enum": ["Terminate", "Passthrough"], "default": "Terminate"},
        "name": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^[a-z]+$"},
        "hostnames": {"type": "array", "maxItems": 2, "x-kubernetes-list-type": "set",
                      "items": {"type": "string"}},
        "listeners": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "required": ["name"],
                                "properties": {"name": {"type": "string"},
                                               "weight": {"type": "integer", "default": 1}}}},
        "rules": {"type": "array", "default": [{}],
                  "items": {"type": "object",
                            "properties": {"path": {"type": "object", "default": {"type": "PathPrefix"},
                                                    "properties": {"type": {"type": "string"},
                                                                   "value": {"type": "string", "default": "/"}}}}}},
        "labels": {"type": "object", "maxProperties": 2, "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "port2": {"x-kubernetes-int-or-string": true},
        "address": {"type": "object",
                    "properties": {"type": {"type": "string"}, "value": {"type": "string"}},
                    "oneOf": [{"properties": {"type": {"enum": ["IPAddress"]}, "value": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}}},
                              {"properties": {"type": {"not": {"enum": ["IPAddress"]}}}}]}
      }
    },
    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
  }
})");

TEST(StructuralSchema, PrunesUnknownFieldsAndNamesTheirPaths) {
  auto schema = compileOk(kRoute);
  Json obj =
      parse(R"({"apiVersion": "x/v1", "kind": "R", "metadata": {"name": "a", "labels": {"k": "v"}},
    "spec": {"port": 80, "bogus": 1, "listeners": [{"name": "a", "extra": true}],
             "labels": {"any": "thing"}, "free": {"anything": {"goes": 1}}},
    "top": 1})");
  auto unknown = schema->prune(obj);
  EXPECT_EQ(unknown, (std::vector<std::string>{"spec.bogus", "spec.listeners[0].extra", "top"}));
  EXPECT_FALSE(obj["spec"].contains("bogus"));
  EXPECT_EQ(obj["spec"]["free"]["anything"]["goes"], 1);
  EXPECT_EQ(obj["metadata"]["labels"]["k"], "v");  // metadata is ObjectMeta's, not the schema's
}

TEST(StructuralSchema, DefaultsApplyTopDownIncludingInsideDefaultedValues) {
  auto schema = compileOk(kRoute);
  Json obj = parse(
      R"({"spec": {"port": 80, "mode": null, "listeners": [{"name": "a"}, {"name": "b", "weight": 5}]}})");
  schema->applyDefaults(obj);
  EXPECT_EQ(obj["spec"]["mode"], "Terminate");  // a null where no null is allowed: defaulted
  EXPECT_EQ(obj["spec"]["listeners"][0]["weight"], 1);
  EXPECT_EQ(obj["spec"]["listeners"][1]["weight"], 5);
  // rules defaults to [{}], whose item gets path {type: PathPrefix}, which gets value "/".
  EXPECT_EQ(obj["spec"]["rules"], parse(R"([{"path": {"type": "PathPrefix", "value": "/"}}])"));
}

TEST(StructuralSchema, ValidatesWithUpstreamMessages) {
  auto schema = compileOk(kRoute);
  EXPECT_EQ(
      errors(*schema, parse(R"({"spec": {"port": 0}})")),
      (std::vector<std::string>{
          "spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1"}));
  EXPECT_EQ(errors(*schema, parse(R"({"spec": {"port": "80"}})")),
            (std::vector<std::string>{"spec.port: Invalid value: \"string\": spec.port in body "
                                      "must be of type integer: \"string\""}));
  EXPECT_EQ(errors(*schema, parse(R"({})")), (std::vector<std::string>{"spec: Required value"}));
  EXPECT_EQ(errors(*schema, parse(R"({"spec": {"port": 1, "mode": "Foo"}})")),
            (std::vector<std::string>{"spec.mode: Unsupported value: \"Foo\": supported values: "
                                      "\"Terminate\", \"Passthrough\""}));
  EXPECT_EQ(
      errors(*schema, parse(R"({"spec": {"port": 1, "name": "Abcdefghij"}})")),
      (std::vector<std::string>{
          "spec.name: Too long: may not be more than 8 bytes",
          "spec.name: Invalid value: \"Abcdefghij\": spec.name in body should match '^[a-z]+$'"}));
  EXPECT_EQ(errors(*schema, parse(R"({"spec": {"port": 1, "hostnames": ["a", "b", "a"]}})")),
            (std::vector<std::string>{"spec.hostnames: Too many: 3: must have at most 2 items",
                                      "spec.hostnames[2]: Duplicate value: \"a\""}));
  EXPECT_EQ(errors(*schema,
                   parse(R"({"spec": {"port": 1, "listeners": [{"name": "x"}, {"name": "x"}]}})")),
            (std::vector<std::string>{
                "spec.listeners[1]: Duplicate value: map[string]interface {}{\"name\":\"x\"}"}));
  EXPECT_EQ(
      errors(*schema, parse(R"({"spec": {"port": 1, "labels": {"a": "1", "b": "2", "c": "3"}}})")),
      (std::vector<std::string>{"spec.labels: Too many: 3: must have at most 2 items"}));
  EXPECT_EQ(errors(*schema, parse(R"({"spec": {"port": 3000000000}})")).size(),
            2u);  // maximum and int32
  EXPECT_TRUE(errors(*schema, parse(R"({"spec": {"port": 1, "port2": "http"}})")).empty());
  EXPECT_TRUE(errors(*schema, parse(R"({"spec": {"port": 1, "port2": 8080}})")).empty());
  EXPECT_EQ(errors(*schema, parse(R"({"spec": {"port": 1, "port2": true}})")).size(), 1u);
}

TEST(StructuralSchema, PatternsAreSearchesAsInGo) {
  // Only the first and last branch of ^A|B|C$ are anchored.
  auto schema = compileOk(parse(R"({"type": "object", "properties": {"t": {"type": "string",
      "pattern": "^Hostname|IPAddress|NamedAddress$"}}})"));
  EXPECT_TRUE(errors(*schema, parse(R"({"t": "HostnameAlias"})")).empty());
  EXPECT_TRUE(errors(*schema, parse(R"({"t": "MyIPAddressX"})")).empty());
  EXPECT_EQ(errors(*schema, parse(R"({"t": "Other"})")).size(), 1u);
}

TEST(StructuralSchema, OneOfAnyOfAndNotAsValueChecks) {
  auto schema = compileOk(kRoute);
  EXPECT_TRUE(
      errors(
          *schema,
          parse(R"({"spec": {"port": 1, "address": {"type": "IPAddress", "value": "192.0.2.1"}}})"))
          .empty());
  EXPECT_TRUE(
      errors(*schema,
             parse(R"({"spec": {"port": 1, "address": {"type": "Hostname", "value": "lb"}}})"))
          .empty());
  EXPECT_EQ(
      errors(*schema,
             parse(R"({"spec": {"port": 1, "address": {"type": "IPAddress", "value": "lb"}}})")),
      (std::vector<std::string>{
          "<nil>: Invalid value: \"\": \"spec.address\" must validate one and "
          "only one schema (oneOf). Found none valid"}));
}

TEST(StructuralSchema, RefusesSchemasThatAreNotStructural) {
  EXPECT_EQ(
      problems(parse(R"({"type": "object", "properties": {"spec": {"properties": {}}}})")),
      (std::vector<std::string>{"spec.versions[0].schema.openAPIV3Schema.properties[spec].type: "
                                "Required value: must not be empty for specified object fields"}));
  EXPECT_EQ(
      problems(parse(R"({"type": "object", "properties": {"a": {"type": "array"}}})")),
      (std::vector<std::string>{"spec.versions[0].schema.openAPIV3Schema.properties[a].items: "
                                "Required value: must be specified"}));
  auto bad = problems(
      parse(R"({"type": "object", "properties": {"s": {"type": "string", "pattern": "a(b"}}})"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("must be a valid regular expression"), std::string::npos) << bad[0];
  EXPECT_EQ(problems(parse(R"({"type": "object", "properties": {"metadata": {"type": "object",
      "properties": {"labels": {"type": "object"}}}}})"))
                .size(),
            1u);
  EXPECT_EQ(problems(parse(R"({"type": "object", "properties": {"l": {"type": "array",
      "x-kubernetes-list-type": "map", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}}})"))
                .size(),
            1u);
  // A default must be valid for its own schema.
  EXPECT_EQ(
      problems(parse(
          R"({"type": "object", "properties": {"p": {"type": "integer", "minimum": 1, "default": 0}}})")),
      (std::vector<std::string>{
          "spec.versions[0].schema.openAPIV3Schema.properties[p].default: "
          "Invalid value: 0: body in body should be greater than or equal to 1"}));
  EXPECT_EQ(problems(parse(R"({"type": "object", "properties": {"a": {"$ref": "#/x"}}})")).size(),
            2u);
}

TEST(StructuralSchema, DeepOrHostileInputNeverCrashes) {
  // A schema nested deeper than any real CRD is refused, not recursed into.
  Json deep = parse(R"({"type": "object"})");
  for (int i = 0; i < 300; ++i) deep = Json{{"type", "object"}, {"properties", {{"x", deep}}}};
  EXPECT_FALSE(problems(deep).empty());
  // A pattern that would backtrack exponentially in a backtracking engine.
  auto schema = compileOk(parse(
      R"({"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}})"));
  std::string text(100000, 'a');
  text += '!';
  EXPECT_EQ(errors(*schema, Json{{"s", text}}).size(), 1u);
}

TEST(StructuralSchema, DescribesTheKindForStrictValidationAndApply) {
  auto schema = compileOk(kRoute);
  const api::schema::Message& message = schema->message();
  ASSERT_NE(message.field("metadata"), nullptr);
  const api::schema::Field* spec = message.field("spec");
  ASSERT_NE(spec, nullptr);
  ASSERT_NE(spec->message, nullptr);
  const api::schema::Field* listeners = spec->message->field("listeners");
  ASSERT_NE(listeners, nullptr);
  EXPECT_EQ(listeners->listType, "map");
  ASSERT_EQ(listeners->listMapKeys.size(), 1u);
  EXPECT_EQ(listeners->listMapKeys[0], "name");
  EXPECT_EQ(spec->message->field("labels")->shape, api::schema::Shape::Map);
  EXPECT_EQ(spec->message->field("free")->type, api::schema::Type::Any);
  EXPECT_EQ(spec->message->field("port2")->type, api::schema::Type::IntOrString);
}

}  // namespace
}  // namespace podnet::apiextensions
