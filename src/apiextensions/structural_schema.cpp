#include "apiextensions/structural_schema.h"

#include <re2/re2.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "api/schema.h"
#include "apiextensions/formats.h"

namespace podnet::apiextensions {

namespace schema = api::schema;

// One node of the schema tree: the keywords podnet interprets. Keywords it
// does not (description, example, externalDocs, title, x-kubernetes-
// validations, ...) stay in the CRD as written and are returned as stored.
struct SchemaNode {
  std::string type;  // "" only under int-or-string, preserve-unknown or value checks
  std::string format;
  bool nullable = false;
  bool intOrString = false;
  bool preserveUnknown = false;
  bool embeddedResource = false;

  std::map<std::string, std::unique_ptr<SchemaNode>> properties;
  std::vector<std::string> propertyOrder;  // as written, for stable output
  std::unique_ptr<SchemaNode> items;
  std::unique_ptr<SchemaNode> additionalProperties;
  bool additionalPropertiesAny = false;  // additionalProperties: true
  std::vector<std::string> required;

  std::optional<Json> enumValues;
  std::optional<Json> defaultValue;
  std::optional<double> minimum, maximum, multipleOf;
  bool exclusiveMinimum = false, exclusiveMaximum = false;
  std::optional<int64_t> minLength, maxLength, minItems, maxItems, minProperties, maxProperties;
  std::unique_ptr<re2::RE2> pattern;
  std::string patternText;

  std::string listType;  // atomic, set, map ("" = atomic)
  std::vector<std::string> listMapKeys;
  std::string mapType;

  std::vector<std::unique_ptr<SchemaNode>> allOf, anyOf, oneOf;
  std::unique_ptr<SchemaNode> notSchema;
};

struct StructuralSchema::Impl {
  std::unique_ptr<SchemaNode> root;
  // What message() points into: names and messages live as long as this.
  std::deque<std::string> names;
  std::deque<schema::Message> messages;
  const schema::Message* rootMessage = nullptr;
};

namespace {

constexpr int kMaxDepth = 128;

std::string jsonTypeName(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    default:
      return "object";
  }
}

std::string childPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string indexPath(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// ------------------------------------------------------------ compiling

class Compiler {
 public:
  explicit Compiler(std::vector<core::Cause>& causes) : causes_(causes) {}

  // `valueValidation`: inside allOf/anyOf/oneOf/not, where a structural
  // schema allows only value checks.
  std::unique_ptr<SchemaNode> compile(const Json& props, const std::string& path, int depth,
                                      bool valueValidation, bool atRoot, bool underPreserve) {
    auto node = std::make_unique<SchemaNode>();
    if (depth > kMaxDepth) {
      fail("FieldValueInvalid", "Invalid value: the schema is nested too deeply", path);
      return node;
    }
    if (!props.is_object()) {
      fail("FieldValueInvalid", "Invalid value: must be a JSON schema object", path);
      return node;
    }
    for (const char* unsupported : {"$ref", "$schema", "definitions", "dependencies",
                                    "patternProperties", "additionalItems", "id"}) {
      if (props.contains(unsupported))
        fail("FieldValueForbidden", std::string("Forbidden: ") + unsupported + " is not supported",
             childPath(path, unsupported));
    }
    if (auto value = boolean(props, "uniqueItems", path); value && *value)
      fail("FieldValueForbidden",
           "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes "
           "quadratic",
           childPath(path, "uniqueItems"));

    node->type = string(props, "type", path);
    node->format = string(props, "format", path);
    node->nullable = boolean(props, "nullable", path).value_or(false);
    node->intOrString = boolean(props, "x-kubernetes-int-or-string", path).value_or(false);
    node->preserveUnknown =
        boolean(props, "x-kubernetes-preserve-unknown-fields", path).value_or(false);
    node->embeddedResource = boolean(props, "x-kubernetes-embedded-resource", path).value_or(false);
    node->listType = string(props, "x-kubernetes-list-type", path);
    node->mapType = string(props, "x-kubernetes-map-type", path);
    if (props.contains("x-kubernetes-list-map-keys")) {
      const Json& keys = props["x-kubernetes-list-map-keys"];
      if (!keys.is_array())
        fail("FieldValueInvalid", "Invalid value: must be a list of strings",
             childPath(path, "x-kubernetes-list-map-keys"));
      else
        for (const auto& key : keys)
          if (key.is_string()) node->listMapKeys.push_back(key.get<std::string>());
    }

    static const std::set<std::string> kTypes = {"",       "object",  "array",  "string",
                                                 "number", "integer", "boolean"};
    if (!kTypes.count(node->type))
      fail("FieldValueNotSupported",
           "Unsupported value: \"" + node->type +
               "\": supported values: \"array\", \"boolean\", \"integer\", \"number\", "
               "\"object\", \"string\"",
           childPath(path, "type"));
    if (valueValidation) {
      for (const char* key :
           {"type", "default", "nullable", "additionalProperties",
            "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
            "x-kubernetes-embedded-resource", "x-kubernetes-list-type", "x-kubernetes-map-type"})
        if (props.contains(key) && !(std::string_view(key) == "nullable" && !node->nullable))
          fail("FieldValueForbidden", "Forbidden: must be empty to be structural",
               childPath(path, key));
    } else if (node->type.empty() && !node->intOrString && !node->preserveUnknown &&
               !underPreserve) {
      fail("FieldValueRequired",
           atRoot ? "Required value: must not be empty at the root"
                  : "Required value: must not be empty for specified object fields",
           childPath(path, "type"));
    }
    if (node->intOrString && !node->type.empty())
      fail("FieldValueInvalid",
           "Invalid value: \"" + node->type +
               "\": must be empty if x-kubernetes-int-or-string is true",
           childPath(path, "type"));
    if (atRoot && !valueValidation && node->type != "object" && !node->type.empty())
      fail("FieldValueInvalid", "Invalid value: \"" + node->type + "\": must be object at the root",
           childPath(path, "type"));
    if (node->preserveUnknown && !node->type.empty() && node->type != "object")
      fail("FieldValueInvalid",
           "Invalid value: \"" + node->type +
               "\": must be object if x-kubernetes-preserve-unknown-fields is true",
           childPath(path, "type"));
    if (node->embeddedResource && node->type != "object")
      fail("FieldValueInvalid",
           "Invalid value: \"" + node->type +
               "\": must be object if x-kubernetes-embedded-resource is true",
           childPath(path, "type"));

    if (props.contains("enum")) {
      if (!props["enum"].is_array())
        fail("FieldValueInvalid", "Invalid value: must be a list", childPath(path, "enum"));
      else
        node->enumValues = props["enum"];
    }
    number(props, "minimum", path, node->minimum);
    number(props, "maximum", path, node->maximum);
    number(props, "multipleOf", path, node->multipleOf);
    if (node->multipleOf && *node->multipleOf <= 0)
      fail("FieldValueInvalid", "Invalid value: must be greater than zero",
           childPath(path, "multipleOf"));
    node->exclusiveMinimum = boolean(props, "exclusiveMinimum", path).value_or(false);
    node->exclusiveMaximum = boolean(props, "exclusiveMaximum", path).value_or(false);
    integer(props, "minLength", path, node->minLength);
    integer(props, "maxLength", path, node->maxLength);
    integer(props, "minItems", path, node->minItems);
    integer(props, "maxItems", path, node->maxItems);
    integer(props, "minProperties", path, node->minProperties);
    integer(props, "maxProperties", path, node->maxProperties);
    if (props.contains("pattern")) {
      node->patternText = string(props, "pattern", path);
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_unique<re2::RE2>(node->patternText, options);
      if (!re->ok())
        fail("FieldValueInvalid",
             "Invalid value: " + goQuote(node->patternText) +
                 ": must be a valid regular expression, but isn't: " + re->error(),
             childPath(path, "pattern"));
      else
        node->pattern = std::move(re);
    }

    if (props.contains("properties")) {
      const Json& properties = props["properties"];
      if (!properties.is_object()) {
        fail("FieldValueInvalid", "Invalid value: must be an object",
             childPath(path, "properties"));
      } else {
        for (auto it = properties.begin(); it != properties.end(); ++it) {
          std::string propertyPath = path + ".properties[" + it.key() + "]";
          if (path.empty()) propertyPath = "properties[" + it.key() + "]";
          node->properties[it.key()] = compile(it.value(), propertyPath, depth + 1, valueValidation,
                                               false, underPreserve || node->preserveUnknown);
          node->propertyOrder.push_back(it.key());
        }
      }
    }
    if (props.contains("items")) {
      const Json& items = props["items"];
      if (items.is_array())
        fail("FieldValueForbidden", "Forbidden: items must be a schema object and not an array",
             childPath(path, "items"));
      else
        node->items = compile(items, childPath(path, "items"), depth + 1, valueValidation, false,
                              underPreserve);
    } else if (node->type == "array" && !valueValidation) {
      fail("FieldValueRequired", "Required value: must be specified", childPath(path, "items"));
    }
    if (props.contains("additionalProperties")) {
      const Json& additional = props["additionalProperties"];
      if (additional.is_boolean()) {
        node->additionalPropertiesAny = additional.get<bool>();
        if (!node->additionalPropertiesAny)
          fail("FieldValueForbidden", "Forbidden: additionalProperties cannot be set to false",
               childPath(path, "additionalProperties"));
      } else {
        node->additionalProperties = compile(additional, childPath(path, "additionalProperties"),
                                             depth + 1, valueValidation, false, underPreserve);
      }
      if (!node->properties.empty())
        fail("FieldValueForbidden",
             "Forbidden: additionalProperties and properties are mutual exclusive",
             childPath(path, "additionalProperties"));
    }
    if (props.contains("required")) {
      const Json& required = props["required"];
      if (!required.is_array())
        fail("FieldValueInvalid", "Invalid value: must be a list of strings",
             childPath(path, "required"));
      else
        for (const auto& name : required)
          if (name.is_string()) node->required.push_back(name.get<std::string>());
    }
    for (auto [key, list] : {std::pair{"allOf", &node->allOf}, std::pair{"anyOf", &node->anyOf},
                             std::pair{"oneOf", &node->oneOf}}) {
      if (!props.contains(key)) continue;
      const Json& schemas = props[key];
      if (!schemas.is_array()) {
        fail("FieldValueInvalid", "Invalid value: must be a list", childPath(path, key));
        continue;
      }
      for (size_t i = 0; i < schemas.size(); ++i)
        list->push_back(compile(schemas[i], indexPath(childPath(path, key), i), depth + 1, true,
                                false, underPreserve));
    }
    if (props.contains("not"))
      node->notSchema =
          compile(props["not"], childPath(path, "not"), depth + 1, true, false, underPreserve);

    checkListType(*node, path);
    if (atRoot && !valueValidation) checkRootMetadata(*node, path);
    if (props.contains("default")) node->defaultValue = props["default"];
    return node;
  }

 private:
  void fail(const std::string& reason, const std::string& message, const std::string& field) {
    causes_.push_back({reason, message, field});
  }

  std::string string(const Json& props, const char* key, const std::string& path) {
    if (!props.contains(key)) return "";
    if (!props[key].is_string()) {
      fail("FieldValueInvalid", "Invalid value: must be a string", childPath(path, key));
      return "";
    }
    return props[key].get<std::string>();
  }
  std::optional<bool> boolean(const Json& props, const char* key, const std::string& path) {
    if (!props.contains(key)) return std::nullopt;
    if (!props[key].is_boolean()) {
      fail("FieldValueInvalid", "Invalid value: must be a boolean", childPath(path, key));
      return std::nullopt;
    }
    return props[key].get<bool>();
  }
  void number(const Json& props, const char* key, const std::string& path,
              std::optional<double>& out) {
    if (!props.contains(key)) return;
    if (!props[key].is_number())
      fail("FieldValueInvalid", "Invalid value: must be a number", childPath(path, key));
    else
      out = props[key].get<double>();
  }
  void integer(const Json& props, const char* key, const std::string& path,
               std::optional<int64_t>& out) {
    if (!props.contains(key)) return;
    const Json& value = props[key];
    if (!value.is_number_integer() || (value.is_number_integer() && value.get<int64_t>() < 0))
      fail("FieldValueInvalid", "Invalid value: must be a non-negative integer",
           childPath(path, key));
    else
      out = value.get<int64_t>();
  }

  void checkListType(const SchemaNode& node, const std::string& path) {
    if (node.listType.empty()) {
      if (!node.listMapKeys.empty())
        fail("FieldValueForbidden",
             "Forbidden: must only be set if x-kubernetes-list-type is \"map\"",
             childPath(path, "x-kubernetes-list-map-keys"));
      return;
    }
    if (node.listType != "atomic" && node.listType != "set" && node.listType != "map") {
      fail("FieldValueNotSupported",
           "Unsupported value: \"" + node.listType +
               "\": supported values: \"atomic\", \"map\", \"set\"",
           childPath(path, "x-kubernetes-list-type"));
      return;
    }
    if (node.type != "array")
      fail("FieldValueInvalid",
           "Invalid value: \"" + node.type +
               "\": must be array if x-kubernetes-list-type is specified",
           childPath(path, "type"));
    if (node.listType == "map") {
      if (node.listMapKeys.empty()) {
        fail("FieldValueRequired",
             "Required value: must not be empty if x-kubernetes-list-type is map",
             childPath(path, "x-kubernetes-list-map-keys"));
      }
      if (node.items && node.items->type != "object")
        fail("FieldValueInvalid",
             "Invalid value: \"" + node.items->type +
                 "\": must be object if parent array's x-kubernetes-list-type is map",
             childPath(path, "items.type"));
      if (node.items)
        for (const auto& key : node.listMapKeys) {
          auto property = node.items->properties.find(key);
          if (property == node.items->properties.end()) {
            fail("FieldValueInvalid",
                 "Invalid value: \"" + key + "\": entries must all be names of item properties",
                 childPath(path, "x-kubernetes-list-map-keys"));
            continue;
          }
          const std::string& type = property->second->type;
          if (type == "object" || type == "array")
            fail("FieldValueInvalid",
                 "Invalid value: \"" + type +
                     "\": must be a scalar type if parent array's "
                     "x-kubernetes-list-type is map",
                 path + ".items.properties[" + key + "].type");
        }
    } else if (node.listType == "set" && node.items &&
               (node.items->type == "object" || node.items->type == "array")) {
      fail("FieldValueInvalid",
           "Invalid value: \"" + node.items->type +
               "\": must be a scalar type if parent array's x-kubernetes-list-type is set",
           childPath(path, "items.type"));
    }
  }

  void checkRootMetadata(const SchemaNode& root, const std::string& path) {
    auto metadata = root.properties.find("metadata");
    if (metadata == root.properties.end()) return;
    const SchemaNode& node = *metadata->second;
    std::string metadataPath =
        path.empty() ? "properties[metadata]" : path + ".properties[metadata]";
    if (!node.type.empty() && node.type != "object")
      fail("FieldValueInvalid", "Invalid value: \"" + node.type + "\": must be object",
           childPath(metadataPath, "type"));
    for (const auto& [key, child] : node.properties)
      if (key != "name" && key != "generateName")
        fail("FieldValueForbidden",
             "Forbidden: must not be specified in metadata (only name and generateName)",
             metadataPath + ".properties[" + key + "]");
  }

  std::vector<core::Cause>& causes_;
};

// ------------------------------------------------------------ pruning

void pruneNode(Json& value, const SchemaNode& node, const std::string& path, int depth,
               std::vector<std::string>& unknown, bool root);

void pruneObject(Json& value, const SchemaNode& node, const std::string& path, int depth,
                 std::vector<std::string>& unknown, bool root) {
  for (auto it = value.begin(); it != value.end();) {
    const std::string& key = it.key();
    if (root && (key == "apiVersion" || key == "kind" || key == "metadata")) {
      ++it;
      continue;
    }
    if (node.embeddedResource && (key == "apiVersion" || key == "kind" || key == "metadata")) {
      ++it;
      continue;
    }
    auto property = node.properties.find(key);
    if (property != node.properties.end()) {
      pruneNode(it.value(), *property->second, childPath(path, key), depth + 1, unknown, false);
      ++it;
    } else if (node.additionalProperties) {
      pruneNode(it.value(), *node.additionalProperties, childPath(path, key), depth + 1, unknown,
                false);
      ++it;
    } else if (node.additionalPropertiesAny || node.preserveUnknown) {
      ++it;
    } else {
      unknown.push_back(childPath(path, key));
      it = value.erase(it);
    }
  }
}

void pruneNode(Json& value, const SchemaNode& node, const std::string& path, int depth,
               std::vector<std::string>& unknown, bool root) {
  if (depth > kMaxDepth) return;
  if (value.is_object()) {
    if (node.type == "object" || root || node.preserveUnknown || node.embeddedResource)
      pruneObject(value, node, path, depth, unknown, root);
  } else if (value.is_array() && node.items) {
    for (size_t i = 0; i < value.size(); ++i)
      pruneNode(value[i], *node.items, indexPath(path, i), depth + 1, unknown, false);
  }
}

// ------------------------------------------------------------ defaulting

void defaultNode(Json& value, const SchemaNode& node, int depth) {
  if (depth > kMaxDepth) return;
  if (value.is_object()) {
    for (const auto& key : node.propertyOrder) {
      const SchemaNode& child = *node.properties.at(key);
      auto it = value.find(key);
      if (it != value.end() && it->is_null() && !child.nullable) {
        // A null where the schema has no null: dropped, or defaulted.
        value.erase(it);
        it = value.end();
      }
      if (it == value.end() && child.defaultValue) value[key] = *child.defaultValue;
      it = value.find(key);
      if (it != value.end()) defaultNode(*it, child, depth + 1);
    }
    if (node.additionalProperties)
      for (auto& [key, child] : value.items())
        defaultNode(child, *node.additionalProperties, depth + 1);
  } else if (value.is_array() && node.items) {
    for (auto& item : value) defaultNode(item, *node.items, depth + 1);
  }
}

// ------------------------------------------------------------ validation

class Validator {
 public:
  explicit Validator(std::vector<core::Cause>& causes) : causes_(causes) {}

  // Returns whether `value` passed; records causes unless `quiet`.
  bool check(const Json& value, const SchemaNode& node, const std::string& path, int depth) {
    if (depth > kMaxDepth) return true;
    bool ok = true;
    if (value.is_null()) {
      if (node.nullable || node.type.empty()) return true;
      return fail("FieldValueTypeInvalid",
                  "Invalid value: \"null\": " + bodyPath(path) + " must be of type " + node.type +
                      ": \"null\"",
                  path);
    }
    if (!checkType(value, node, path)) return false;

    if (node.enumValues) {
      bool found = false;
      for (const auto& allowed : *node.enumValues) found = found || sameValue(allowed, value);
      if (!found) {
        std::string supported;
        for (const auto& allowed : *node.enumValues) {
          if (!supported.empty()) supported += ", ";
          // Every allowed value is quoted, numbers too ("301"), as upstream prints them.
          supported += goQuote(allowed.is_string() ? allowed.get<std::string>() : goValue(allowed));
        }
        ok =
            fail("FieldValueNotSupported",
                 "Unsupported value: " + goValue(value) + ": supported values: " + supported, path);
      }
    }
    if (value.is_number()) ok = checkNumber(value, node, path) && ok;
    if (value.is_string()) ok = checkString(value.get_ref<const std::string&>(), node, path) && ok;
    if (value.is_array()) ok = checkArray(value, node, path, depth) && ok;
    if (value.is_object()) ok = checkObject(value, node, path, depth) && ok;

    for (const auto& sub : node.allOf) ok = check(value, *sub, path, depth + 1) && ok;
    if (!node.anyOf.empty()) {
      bool any = false;
      for (const auto& sub : node.anyOf) any = any || quietly(value, *sub, path, depth + 1);
      if (!any)
        ok = fail("FieldValueInvalid",
                  "Invalid value: \"\": " + goQuote(bodyPath(path)) +
                      " must validate at least one schema (anyOf)",
                  "<nil>");
    }
    if (!node.oneOf.empty()) {
      int matched = 0;
      for (const auto& sub : node.oneOf) matched += quietly(value, *sub, path, depth + 1) ? 1 : 0;
      // Upstream reports these composite failures without a field path.
      if (matched != 1)
        ok = fail("FieldValueInvalid",
                  "Invalid value: \"\": " + goQuote(bodyPath(path)) +
                      " must validate one and only one schema (oneOf). " +
                      (matched == 0 ? "Found none valid" : "Found more than one valid"),
                  "<nil>");
    }
    if (node.notSchema && quietly(value, *node.notSchema, path, depth + 1))
      ok = fail(
          "FieldValueInvalid",
          "Invalid value: \"\": " + goQuote(bodyPath(path)) + " must not validate the schema (not)",
          "<nil>");
    return ok;
  }

 private:
  bool quietly(const Json& value, const SchemaNode& node, const std::string& path, int depth) {
    std::vector<core::Cause> ignored;
    Validator inner(ignored);
    return inner.check(value, node, path, depth);
  }

  bool fail(const std::string& reason, const std::string& message, const std::string& field) {
    causes_.push_back({reason, message, field});
    return false;
  }

  // field.TooMany, for list items and map entries alike.
  bool tooMany(int64_t count, int64_t max, const std::string& path) {
    return fail("FieldValueTooMany",
                "Too many: " + std::to_string(count) + ": must have at most " +
                    std::to_string(max) + " items",
                path);
  }

  static std::string bodyPath(const std::string& path) { return path.empty() ? "body" : path; }

  static bool sameValue(const Json& a, const Json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    return a == b;
  }

  bool checkType(const Json& value, const SchemaNode& node, const std::string& path) {
    if (node.intOrString) {
      if (value.is_number_integer() || value.is_string()) return true;
      return fail("FieldValueTypeInvalid",
                  "Invalid value: " + goQuote(jsonTypeName(value)) + ": " + bodyPath(path) +
                      " in body must be of type integer,string: " + goQuote(jsonTypeName(value)),
                  path);
    }
    const std::string& type = node.type;
    if (type.empty()) return true;
    bool matches =
        (type == "object" && value.is_object()) || (type == "array" && value.is_array()) ||
        (type == "string" && value.is_string()) || (type == "boolean" && value.is_boolean()) ||
        (type == "integer" && value.is_number_integer()) || (type == "number" && value.is_number());
    if (type == "integer" && value.is_number_float()) {
      double d = value.get<double>();
      matches = std::isfinite(d) && std::floor(d) == d;
    }
    if (matches) return true;
    return fail("FieldValueTypeInvalid",
                "Invalid value: " + goQuote(jsonTypeName(value)) + ": " + bodyPath(path) +
                    " in body must be of type " + type + ": " + goQuote(jsonTypeName(value)),
                path);
  }

  bool checkNumber(const Json& value, const SchemaNode& node, const std::string& path) {
    double number = value.get<double>();
    std::string shown = goValue(value);
    bool ok = true;
    if (node.minimum) {
      bool below = node.exclusiveMinimum ? number <= *node.minimum : number < *node.minimum;
      if (below)
        ok = fail("FieldValueInvalid",
                  "Invalid value: " + shown + ": " + bodyPath(path) +
                      " in body should be greater than " +
                      (node.exclusiveMinimum ? "" : "or equal to ") + goNumber(*node.minimum),
                  path);
    }
    if (node.maximum) {
      bool above = node.exclusiveMaximum ? number >= *node.maximum : number > *node.maximum;
      if (above)
        ok = fail("FieldValueInvalid",
                  "Invalid value: " + shown + ": " + bodyPath(path) +
                      " in body should be less than " +
                      (node.exclusiveMaximum ? "" : "or equal to ") + goNumber(*node.maximum),
                  path);
    }
    // format int32/int64 on an integer is a range check.
    if ((node.format == "int32" || node.format == "int64") && value.is_number()) {
      double low = node.format == "int32" ? -2147483648.0 : -9223372036854775808.0;
      double high = node.format == "int32" ? 2147483647.0 : 9223372036854775807.0;
      if (number < low || number > high ||
          (value.is_number_unsigned() && node.format == "int64" &&
           value.get<uint64_t>() > uint64_t(INT64_MAX)))
        ok = fail("FieldValueInvalid",
                  "Invalid value: " + shown + ": " + bodyPath(path) + " in body must be of type " +
                      node.format + ": " + goQuote(shown),
                  path);
    }
    if (node.multipleOf) {
      double quotient = number / *node.multipleOf;
      if (std::fabs(quotient - std::round(quotient)) > 1e-9)
        ok = fail("FieldValueInvalid",
                  "Invalid value: " + shown + ": " + bodyPath(path) +
                      " in body should be a multiple of " + goNumber(*node.multipleOf),
                  path);
    }
    return ok;
  }

  bool checkString(const std::string& text, const SchemaNode& node, const std::string& path) {
    bool ok = true;
    // Lengths are in characters (runes), as Go's utf8.RuneCountInString.
    int64_t length = 0;
    for (unsigned char c : text) length += (c & 0xC0) != 0x80 ? 1 : 0;
    if (node.maxLength && length > *node.maxLength)
      ok = fail("FieldValueTooLong",
                "Too long: may not be more than " + std::to_string(*node.maxLength) + " bytes",
                path);
    if (node.minLength && length < *node.minLength)
      ok =
          fail("FieldValueInvalid",
               "Invalid value: " + goQuote(text) + ": " + bodyPath(path) +
                   " in body should be at least " + std::to_string(*node.minLength) + " chars long",
               path);
    if (node.pattern && !re2::RE2::PartialMatch(text, *node.pattern))
      ok = fail("FieldValueInvalid",
                "Invalid value: " + goQuote(text) + ": " + bodyPath(path) +
                    " in body should match '" + node.patternText + "'",
                path);
    if (!node.format.empty() && !stringHasFormat(text, node.format))
      ok = fail("FieldValueInvalid",
                "Invalid value: " + goQuote(text) + ": " + bodyPath(path) +
                    " in body must be of type " + node.format + ": " + goQuote(text),
                path);
    return ok;
  }

  bool checkArray(const Json& value, const SchemaNode& node, const std::string& path, int depth) {
    bool ok = true;
    auto count = int64_t(value.size());
    if (node.maxItems && count > *node.maxItems) ok = tooMany(count, *node.maxItems, path);
    if (node.minItems && count < *node.minItems)
      ok = fail("FieldValueInvalid",
                "Invalid value: " + std::to_string(count) + ": " + bodyPath(path) +
                    " in body should have at least " + std::to_string(*node.minItems) + " items",
                path);
    if (node.items)
      for (size_t i = 0; i < value.size(); ++i)
        ok = check(value[i], *node.items, indexPath(path, i), depth + 1) && ok;
    if (node.listType == "set") {
      for (size_t i = 0; i < value.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          if (value[j] == value[i]) {
            ok = fail("FieldValueDuplicate", "Duplicate value: " + goValue(value[i]),
                      indexPath(path, i));
            break;
          }
    } else if (node.listType == "map") {
      std::set<std::string> seen;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_object()) continue;
        Json key = Json::object();
        for (const auto& name : node.listMapKeys)
          if (value[i].contains(name)) key[name] = value[i][name];
        if (!seen.insert(key.dump()).second)
          ok = fail("FieldValueDuplicate", "Duplicate value: " + goValue(key), indexPath(path, i));
      }
    }
    return ok;
  }

  bool checkObject(const Json& value, const SchemaNode& node, const std::string& path, int depth) {
    bool ok = true;
    for (const auto& name : node.required)
      if (!value.contains(name))
        ok = fail("FieldValueRequired", "Required value", childPath(path, name));
    auto count = int64_t(value.size());
    if (node.maxProperties && count > *node.maxProperties)
      ok = tooMany(count, *node.maxProperties, path);
    if (node.minProperties && count < *node.minProperties)
      ok = fail("FieldValueInvalid",
                "Invalid value: " + std::to_string(count) + ": " + bodyPath(path) +
                    " in body should have at least " + std::to_string(*node.minProperties) +
                    " properties",
                path);
    for (auto it = value.begin(); it != value.end(); ++it) {
      auto property = node.properties.find(it.key());
      if (property != node.properties.end())
        ok = check(it.value(), *property->second, childPath(path, it.key()), depth + 1) && ok;
      else if (node.additionalProperties)
        ok = check(it.value(), *node.additionalProperties, childPath(path, it.key()), depth + 1) &&
             ok;
    }
    return ok;
  }

  std::vector<core::Cause>& causes_;
};

// ------------------------------------------------------------ the type table form

class MessageBuilder {
 public:
  explicit MessageBuilder(StructuralSchema::Impl& impl) : impl_(impl) {}

  const schema::Message* root(const SchemaNode& node) {
    schema::Message& message = impl_.messages.emplace_back();
    message.name = intern("custom");
    auto add = [&](const char* name, schema::Type type) {
      schema::Field field;
      field.json = name;
      field.type = type;
      message.fields.push_back(field);
    };
    add("apiVersion", schema::Type::String);
    add("kind", schema::Type::String);
    schema::Field metadata;
    metadata.json = "metadata";
    metadata.type = schema::Type::Message;
    metadata.message = &schema::objectMeta();
    message.fields.push_back(metadata);
    addProperties(message, node, 0, true);
    return &message;
  }

 private:
  std::string_view intern(std::string text) { return impl_.names.emplace_back(std::move(text)); }

  void addProperties(schema::Message& message, const SchemaNode& node, int depth, bool root) {
    for (const auto& key : node.propertyOrder) {
      if (root && (key == "apiVersion" || key == "kind" || key == "metadata")) continue;
      schema::Field field = fieldFor(*node.properties.at(key), depth + 1);
      field.json = intern(key);
      message.fields.push_back(field);
    }
  }

  // The Field for a value of `node` (its json name is set by the caller).
  schema::Field fieldFor(const SchemaNode& node, int depth) {
    schema::Field field;
    if (node.type == "array") {
      field.shape = schema::Shape::List;
      field.listType = node.listType.empty() ? "atomic" : intern(node.listType);
      for (const auto& key : node.listMapKeys) field.listMapKeys.push_back(intern(key));
      if (node.items && node.items->type != "array") {
        schema::Field element = valueField(*node.items, depth);
        field.type = element.type;
        field.message = element.message;
      } else {
        field.type = schema::Type::Any;
      }
      return field;
    }
    if (node.type == "object" && node.additionalProperties && node.properties.empty()) {
      field.shape = schema::Shape::Map;
      const SchemaNode& element = *node.additionalProperties;
      if (element.type == "array") {
        field.type = schema::Type::Any;
        return field;
      }
      schema::Field value = valueField(element, depth);
      field.type = value.type;
      field.message = value.message;
      return field;
    }
    return valueField(node, depth);
  }

  schema::Field valueField(const SchemaNode& node, int depth) {
    schema::Field field;
    if (node.intOrString) {
      field.type = schema::Type::IntOrString;
    } else if (node.type == "string") {
      field.type = schema::Type::String;
    } else if (node.type == "integer") {
      field.type = schema::Type::Int64;
    } else if (node.type == "number") {
      field.type = schema::Type::Double;
    } else if (node.type == "boolean") {
      field.type = schema::Type::Bool;
    } else if (node.type == "object" && !node.preserveUnknown && !node.additionalPropertiesAny &&
               !node.additionalProperties && depth < kMaxDepth) {
      schema::Message& message = impl_.messages.emplace_back();
      message.name = intern("custom");
      if (node.embeddedResource) {
        for (const char* name : {"apiVersion", "kind"}) {
          schema::Field f;
          f.json = name;
          message.fields.push_back(f);
        }
        schema::Field metadata;
        metadata.json = "metadata";
        metadata.type = schema::Type::Message;
        metadata.message = &schema::objectMeta();
        message.fields.push_back(metadata);
      }
      addProperties(message, node, depth, node.embeddedResource);
      field.type = schema::Type::Message;
      field.message = &message;
    } else {
      field.type = schema::Type::Any;
    }
    return field;
  }

  StructuralSchema::Impl& impl_;
};

}  // namespace

StructuralSchema::StructuralSchema() : impl_(std::make_unique<Impl>()) {}
StructuralSchema::~StructuralSchema() = default;

std::shared_ptr<const StructuralSchema> StructuralSchema::compile(
    const Json& props, const std::string& fieldPath, std::vector<core::Cause>& causes) {
  size_t before = causes.size();
  std::vector<core::Cause> found;
  Compiler compiler(found);
  auto root = compiler.compile(props, "", 0, false, true, false);
  // Defaults must be valid values of their schema (checked once, here).
  if (found.empty()) {
    std::function<void(const SchemaNode&, const std::string&, int)> checkDefaults =
        [&](const SchemaNode& node, const std::string& path, int depth) {
          if (depth > kMaxDepth) return;
          if (node.defaultValue) {
            std::vector<core::Cause> problems;
            Json value = *node.defaultValue;
            Validator(problems).check(value, node, "", 0);
            for (auto& problem : problems)
              found.push_back({problem.reason, problem.message,
                               childPath(path, "default") +
                                   (problem.field.empty() ? "" : "." + problem.field)});
          }
          for (const auto& [key, child] : node.properties)
            checkDefaults(
                *child,
                path.empty() ? "properties[" + key + "]" : path + ".properties[" + key + "]",
                depth + 1);
          if (node.items) checkDefaults(*node.items, childPath(path, "items"), depth + 1);
          if (node.additionalProperties)
            checkDefaults(*node.additionalProperties, childPath(path, "additionalProperties"),
                          depth + 1);
        };
    checkDefaults(*root, "", 0);
  }
  for (auto& cause : found) {
    if (!fieldPath.empty())
      cause.field = cause.field.empty() ? fieldPath : fieldPath + "." + cause.field;
    causes.push_back(std::move(cause));
  }
  if (causes.size() != before) return nullptr;

  std::shared_ptr<StructuralSchema> out(new StructuralSchema());
  out->impl_->root = std::move(root);
  out->impl_->rootMessage = MessageBuilder(*out->impl_).root(*out->impl_->root);
  return out;
}

std::vector<std::string> StructuralSchema::prune(Json& obj) const {
  std::vector<std::string> unknown;
  if (obj.is_object()) pruneNode(obj, *impl_->root, "", 0, unknown, true);
  return unknown;
}

void StructuralSchema::applyDefaults(Json& obj) const {
  if (obj.is_object()) defaultNode(obj, *impl_->root, 0);
}

std::vector<core::Cause> StructuralSchema::validate(const Json& obj) const {
  std::vector<core::Cause> causes;
  Json body = obj;
  // metadata is validated as ObjectMeta by the caller; the schema may only
  // constrain its name and generateName.
  if (body.is_object() && body.contains("metadata") && body["metadata"].is_object()) {
    Json kept = Json::object();
    for (const char* key : {"name", "generateName"})
      if (body["metadata"].contains(key)) kept[key] = body["metadata"][key];
    body["metadata"] = kept;
  }
  Validator(causes).check(body, *impl_->root, "", 0);
  return causes;
}

const api::schema::Message& StructuralSchema::message() const { return *impl_->rootMessage; }

}  // namespace podnet::apiextensions
