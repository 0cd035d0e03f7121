// Validation as kube-apiserver does it. Rules, field paths and messages follow
// k8s.io/apimachinery/pkg/util/validation, apimachinery/pkg/api/validation
// (ObjectMeta), metav1/validation (labels, selectors) and
// pkg/apis/{core,apps,networking,discovery}/validation, so a user of kubectl
// reads the same "spec.ports[0].port: Invalid value: 0: ..." as on a real
// cluster. Objects arrive as JSON, so a field of the wrong JSON type is
// reported as an Invalid cause instead of a decode error, and no accessor
// here ever throws.
#include "api/validation.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "api/custom_resource.h"
#include "api/object.h"
#include "api/quantity.h"
#include "api/selector.h"
#include "core/cron.h"
#include "core/ip.h"
#include "core/timezone.h"

namespace podnet::api {

// ---------------------------------------------------------------------------
// String rules (apimachinery/pkg/util/validation/validation.go). Matched by
// hand rather than std::regex, whose recursion overflows the stack on long
// inputs.

namespace {

constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;

const char* const kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const char* const kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const char* const kDns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
const char* const kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const char* const kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const char* const kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";

std::string maxLenError(size_t length) {
  return "must be no more than " + std::to_string(length) + " characters";
}

// RegexError of validation.go, including its quirk of a double space before
// every " or ".
std::string regexError(const std::string& msg, const std::string& fmt,
                       std::initializer_list<const char*> examples) {
  if (examples.size() == 0) return msg + " (regex used for validation is '" + fmt + "')";
  std::string out = msg + " (e.g. ";
  size_t i = 0;
  for (const char* example : examples) {
    if (i++ > 0) out += " or ";
    out += "'" + std::string(example) + "', ";
  }
  return out + "regex used for validation is '" + fmt + "')";
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool matchesDns1123Label(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool matchesDns1123Subdomain(std::string_view s) {
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!matchesDns1123Label(s.substr(start, dot == std::string_view::npos ? s.npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool matchesDns1035Label(std::string_view s) {
  return matchesDns1123Label(s) && s.front() >= 'a' && s.front() <= 'z';
}

bool matchesQualifiedNamePart(std::string_view s) {
  if (s.empty() || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::vector<std::string> isDns1123Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123LabelMaxLength) errs.push_back(maxLenError(kDns1123LabelMaxLength));
  if (!matchesDns1123Label(value))
    errs.push_back(regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        kDns1123LabelFmt, {"my-name", "123-abc"}));
  return errs;
}

std::vector<std::string> isDns1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123SubdomainMaxLength)
    errs.push_back(maxLenError(kDns1123SubdomainMaxLength));
  if (!matchesDns1123Subdomain(value))
    errs.push_back(regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        kDns1123SubdomainFmt, {"example.com"}));
  return errs;
}

std::vector<std::string> isDns1035Label(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123LabelMaxLength) errs.push_back(maxLenError(kDns1123LabelMaxLength));
  if (!matchesDns1035Label(value))
    errs.push_back(regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
        "an alphabetic character, and end with an alphanumeric character",
        kDns1035LabelFmt, {"my-name", "abc-123"}));
  return errs;
}

std::vector<std::string> isQualifiedName(std::string_view value) {
  std::vector<std::string> errs;
  std::string_view name = value;
  size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back(
          "a qualified name " +
          regexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (const auto& msg : isDns1123Subdomain(prefix)) errs.push_back("prefix part " + msg);
    }
  }
  if (name.empty())
    errs.push_back("name part must be non-empty");
  else if (name.size() > kQualifiedNameMaxLength)
    errs.push_back("name part " + maxLenError(kQualifiedNameMaxLength));
  if (!matchesQualifiedNamePart(name))
    errs.push_back("name part " + regexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                             {"MyName", "my.name", "123-abc"}));
  return errs;
}

std::vector<std::string> isValidLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(maxLenError(kLabelValueMaxLength));
  if (!value.empty() && !matchesQualifiedNamePart(value))
    errs.push_back(regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
        "or '.', and must start and end with an alphanumeric character",
        kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  return errs;
}

namespace {

std::vector<std::string> isValidPortName(std::string_view port) {
  std::vector<std::string> errs;
  if (port.size() > 15) errs.push_back(maxLenError(15));
  if (port.empty() ||
      !std::all_of(port.begin(), port.end(), [](char c) { return isLowerAlnum(c) || c == '-'; }))
    errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (std::none_of(port.begin(), port.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    errs.push_back("must contain at least one letter (a-z)");
  if (port.find("--") != std::string_view::npos)
    errs.push_back("must not contain consecutive hyphens");
  if (!port.empty() && (port.front() == '-' || port.back() == '-'))
    errs.push_back("must not begin or end with a hyphen");
  return errs;
}

std::vector<std::string> isValidPortNum(int64_t port) {
  if (port >= 1 && port <= 65535) return {};
  return {"must be between 1 and 65535, inclusive"};
}

std::vector<std::string> isWildcardDns1123Subdomain(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123SubdomainMaxLength)
    errs.push_back(maxLenError(kDns1123SubdomainMaxLength));
  if (value.substr(0, 2) != "*." || !matchesDns1123Subdomain(value.substr(2)))
    errs.push_back(regexError(
        "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, "
        "which must consist of lower case alphanumeric characters, '-' or '.' and end with an "
        "alphanumeric character",
        std::string("\\*\\.") + kDns1123SubdomainFmt, {"*.example.com"}));
  return errs;
}

std::vector<std::string> isConfigMapKey(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kDns1123SubdomainMaxLength)
    errs.push_back(maxLenError(kDns1123SubdomainMaxLength));
  if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) {
        return isAlnum(c) || c == '-' || c == '_' || c == '.';
      }))
    errs.push_back(
        regexError("a valid config key must consist of alphanumeric characters, '-', "
                   "'_' or '.'",
                   "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  if (value == ".")
    errs.push_back("must not be '.'");
  else if (value == "..")
    errs.push_back("must not be '..'");
  else if (value.substr(0, 2) == "..")
    errs.push_back("must not start with '..'");
  return errs;
}

// RelaxedEnvironmentVariableValidation (on by default since 1.32): any
// printable ASCII except '='.
std::vector<std::string> isEnvVarName(std::string_view value) {
  bool ok = !value.empty() && std::all_of(value.begin(), value.end(),
                                          [](char c) { return c >= ' ' && c <= '~' && c != '='; });
  if (ok) return {};
  return {
      "a valid environment variable name must consist only of printable ASCII characters "
      "other than '='"};
}

// ---------------------------------------------------------------------------
// Rendering values as field.Error.ErrorBody does: strings with Go's %q,
// numbers and booleans bare.

void appendHex(std::string& out, const char* prefix, unsigned value, int digits) {
  static const char* hex = "0123456789abcdef";
  out += prefix;
  for (int i = digits - 1; i >= 0; --i) out += hex[(value >> (4 * i)) & 0xf];
}

// A JSON value as Go would print the decoded value: bounded in depth and
// size, since the value may be anything a client sent.
void renderInto(std::string& out, const Json& v, int depth) {
  if (out.size() > 512) {
    out += "...";
    return;
  }
  switch (v.type()) {
    case Json::value_t::string:
      out += goQuote(v.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      out += v.dump();
      return;
    case Json::value_t::array: {
      if (depth > 3) {
        out += "[]interface {}{...}";
        return;
      }
      out += "[]interface {}{";
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ", ";
        first = false;
        renderInto(out, item, depth + 1);
        if (out.size() > 512) break;
      }
      out += "}";
      return;
    }
    case Json::value_t::object: {
      if (depth > 3) {
        out += "map[string]interface {}{...}";
        return;
      }
      out += "map[string]interface {}{";
      bool first = true;
      for (const auto& [k, item] : v.items()) {
        if (!first) out += ", ";
        first = false;
        out += goQuote(k) + ":";
        renderInto(out, item, depth + 1);
        if (out.size() > 512) break;
      }
      out += "}";
      return;
    }
    default:
      out += "null";
  }
}

std::string render(const Json& v) {
  std::string out;
  renderInto(out, v, 0);
  return out;
}

std::string quoteList(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + goQuote(values[i]);
  return out;
}

// Go's %#v of a map[string]string: keys sorted.
std::string goStringMap(const std::map<std::string, std::string>& m, bool isNil) {
  if (isNil) return "map[string]string(nil)";
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ", ";
    first = false;
    out += goQuote(k) + ":" + goQuote(v);
  }
  return out + "}";
}

std::string goStringSlice(const std::vector<std::string>& values) {
  return "[]string{" + quoteList(values) + "}";
}

// ---------------------------------------------------------------------------
// Field paths and causes.

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}
std::string keyed(const std::string& path, std::string_view key) {
  return path + "[" + std::string(key) + "]";
}

class Validator {
 public:
  std::vector<core::Cause> causes;

  // An Invalid cause for a value already rendered as Go would print it.
  void invalidRendered(const std::string& path, const std::string& rendered,
                       const std::string& detail) {
    add("FieldValueInvalid", path,
        "Invalid value: " + rendered + (detail.empty() ? "" : ": " + detail));
  }
  void invalid(const std::string& path, std::string_view value, const std::string& detail) {
    invalidRendered(path, goQuote(value), detail);
  }
  void invalid(const std::string& path, const char* value, const std::string& detail) {
    invalidRendered(path, goQuote(value), detail);
  }
  void invalid(const std::string& path, int64_t value, const std::string& detail) {
    invalidRendered(path, std::to_string(value), detail);
  }
  void required(const std::string& path, const std::string& detail = "") {
    add("FieldValueRequired", path, "Required value" + (detail.empty() ? "" : ": " + detail));
  }
  void duplicate(const std::string& path, const std::string& rendered) {
    add("FieldValueDuplicate", path, "Duplicate value: " + rendered);
  }
  void notSupported(const std::string& path, std::string_view value,
                    const std::vector<std::string>& supported) {
    add("FieldValueNotSupported", path,
        "Unsupported value: " + goQuote(value) +
            (supported.empty() ? "" : ": supported values: " + quoteList(supported)));
  }
  void notSupportedRendered(const std::string& path, const std::string& rendered,
                            const std::vector<std::string>& supported) {
    add("FieldValueNotSupported", path,
        "Unsupported value: " + rendered + ": supported values: " + quoteList(supported));
  }
  void forbidden(const std::string& path, const std::string& detail) {
    add("FieldValueForbidden", path, "Forbidden" + (detail.empty() ? "" : ": " + detail));
  }
  void tooLong(const std::string& path, size_t maxLength) {
    add("FieldValueTooLong", path,
        "Too long: may not be more than " + std::to_string(maxLength) +
            (maxLength == 1 ? " byte" : " bytes"));
  }
  void tooMany(const std::string& path, size_t actual, size_t max) {
    add("FieldValueTooMany", path,
        "Too many: " + std::to_string(actual) + ": must have at most " + std::to_string(max) +
            " items");
  }
  void notFound(const std::string& path, std::string_view value) {
    add("FieldValueNotFound", path, "Not found: " + goQuote(value));
  }
  void typeError(const std::string& path, const Json& value, const char* type) {
    invalidRendered(path, render(value), std::string("must be of type ") + type);
  }

  // Typed reads: absent fields read as the Go zero value; a field of the
  // wrong JSON type is reported and also reads as absent.
  std::optional<std::string> optString(const Json& obj, std::string_view key,
                                       const std::string& path) {
    const Json* v = member(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      typeError(path, *v, "string");
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::string string(const Json& obj, std::string_view key, const std::string& path) {
    return optString(obj, key, path).value_or("");
  }
  std::optional<int64_t> optInt(const Json& obj, std::string_view key, const std::string& path,
                                bool int32 = true) {
    const Json* v = member(obj, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer() && !v->is_number_unsigned()) {
      int64_t n = v->get<int64_t>();
      if (!int32 ||
          (n >= std::numeric_limits<int32_t>::min() && n <= std::numeric_limits<int32_t>::max()))
        return n;
    } else if (v->is_number_unsigned()) {
      uint64_t n = v->get<uint64_t>();
      if (n <= uint64_t(int32 ? std::numeric_limits<int32_t>::max()
                              : std::numeric_limits<int64_t>::max()))
        return int64_t(n);
    }
    typeError(path, *v, int32 ? "int32" : "int64");
    return std::nullopt;
  }
  int64_t integer(const Json& obj, std::string_view key, const std::string& path) {
    return optInt(obj, key, path).value_or(0);
  }
  std::optional<bool> optBool(const Json& obj, std::string_view key, const std::string& path) {
    const Json* v = member(obj, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      typeError(path, *v, "boolean");
      return std::nullopt;
    }
    return v->get<bool>();
  }
  const Json* array(const Json& obj, std::string_view key, const std::string& path) {
    const Json* v = member(obj, key);
    if (!v) return nullptr;
    if (!v->is_array()) {
      typeError(path, *v, "array");
      return nullptr;
    }
    return v;
  }
  const Json* object(const Json& obj, std::string_view key, const std::string& path) {
    const Json* v = member(obj, key);
    if (!v) return nullptr;
    if (!v->is_object()) {
      typeError(path, *v, "object");
      return nullptr;
    }
    return v;
  }
  // An array element that must be an object; reports and returns false if not.
  bool isObject(const Json& item, const std::string& path) {
    if (item.is_object()) return true;
    if (!item.is_null()) typeError(path, item, "object");
    return item.is_null();  // null elements decode as zero structs
  }
  std::vector<std::string> stringList(const Json& obj, std::string_view key,
                                      const std::string& path) {
    std::vector<std::string> out;
    const Json* list = array(obj, key, path);
    if (!list) return out;
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      if (item.is_string())
        out.push_back(item.get<std::string>());
      else
        typeError(index(path, i), item, "string");
    }
    return out;
  }
  // A map of strings; `present` tells a missing map from an empty one.
  std::map<std::string, std::string> stringMap(const Json& obj, std::string_view key,
                                               const std::string& path, bool* present = nullptr) {
    std::map<std::string, std::string> out;
    const Json* m = object(obj, key, path);
    if (present) *present = m != nullptr;
    if (!m) return out;
    for (const auto& [k, v] : m->items()) {
      if (v.is_string())
        out[k] = v.get<std::string>();
      else if (!v.is_null())
        typeError(keyed(path, k), v, "string");
      else
        out[k] = "";
    }
    return out;
  }

 private:
  void add(const char* reason, const std::string& path, std::string message) {
    causes.push_back({reason, std::move(message), path});
  }
};

// A zero-valued object to read absent sub-structs from.
const Json& emptyObject() {
  static const Json empty = Json::object();
  return empty;
}
const Json& objectOr(const Json* v) { return v ? *v : emptyObject(); }

// ---------------------------------------------------------------------------
// Shared rules.

void validateDns1123Label(Validator& v, std::string_view value, const std::string& path) {
  for (const auto& msg : isDns1123Label(value)) v.invalid(path, value, msg);
}
void validateDns1123Subdomain(Validator& v, std::string_view value, const std::string& path) {
  for (const auto& msg : isDns1123Subdomain(value)) v.invalid(path, value, msg);
}
void validateQualifiedName(Validator& v, std::string_view value, const std::string& path) {
  for (const auto& msg : isQualifiedName(value)) v.invalid(path, value, msg);
}
void validateNonnegative(Validator& v, std::optional<int64_t> value, const std::string& path) {
  if (value && *value < 0) v.invalid(path, *value, "must be greater than or equal to 0");
}

void validateLabels(Validator& v, const std::map<std::string, std::string>& labels,
                    const std::string& path) {
  for (const auto& [key, value] : labels) {
    validateQualifiedName(v, key, path);
    for (const auto& msg : isValidLabelValue(value)) v.invalid(path, value, msg);
  }
}

void validateLabelsAt(Validator& v, const Json& obj, std::string_view key,
                      const std::string& path) {
  validateLabels(v, v.stringMap(obj, key, path), path);
}

// An int-or-string port (targetPort, probe port, NetworkPolicy port).
void validatePortNumOrName(Validator& v, const Json& port, const std::string& path) {
  if (port.is_number_integer()) {
    int64_t n = port.is_number_unsigned()
                    ? int64_t(std::min<uint64_t>(port.get<uint64_t>(), 1u << 31))
                    : port.get<int64_t>();
    for (const auto& msg : isValidPortNum(n)) v.invalidRendered(path, render(port), msg);
  } else if (port.is_string()) {
    const auto& name = port.get_ref<const std::string&>();
    for (const auto& msg : isValidPortName(name)) v.invalid(path, name, msg);
  } else if (!port.is_null()) {
    v.typeError(path, port, "int or string");
  }
}

const std::vector<std::string> kProtocols = {"SCTP", "TCP", "UDP"};

void validateProtocol(Validator& v, const Json& port, const std::string& path) {
  std::string protocol = v.string(port, "protocol", path);
  if (protocol.empty())
    v.required(path);
  else if (std::find(kProtocols.begin(), kProtocols.end(), protocol) == kProtocols.end())
    v.notSupported(path, protocol, kProtocols);
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

void validateOneOf(Validator& v, const std::string& value, const std::string& path,
                   const std::vector<std::string>& supported, bool requiredWhenEmpty = true) {
  if (value.empty()) {
    if (requiredWhenEmpty) v.required(path);
  } else if (!contains(supported, value)) {
    v.notSupported(path, value, supported);
  }
}

// metav1.LabelSelector (metav1/validation ValidateLabelSelector).
void validateLabelSelector(Validator& v, const Json& selector, const std::string& path) {
  if (!selector.is_object()) {
    if (!selector.is_null()) v.typeError(path, selector, "object");
    return;
  }
  validateLabelsAt(v, selector, "matchLabels", child(path, "matchLabels"));
  const Json* exprs = v.array(selector, "matchExpressions", child(path, "matchExpressions"));
  if (!exprs) return;
  for (size_t i = 0; i < exprs->size(); ++i) {
    std::string exprPath = index(child(path, "matchExpressions"), i);
    const Json& expr = (*exprs)[i];
    if (!v.isObject(expr, exprPath)) continue;
    std::string op = v.string(expr, "operator", child(exprPath, "operator"));
    std::vector<std::string> values = v.stringList(expr, "values", child(exprPath, "values"));
    if (op == "In" || op == "NotIn") {
      if (values.empty())
        v.required(child(exprPath, "values"),
                   "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!values.empty())
        v.forbidden(child(exprPath, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else {
      v.invalid(child(exprPath, "operator"), op, "not a valid selector operator");
    }
    validateQualifiedName(v, v.string(expr, "key", child(exprPath, "key")), child(exprPath, "key"));
    for (size_t j = 0; j < values.size(); ++j)
      for (const auto& msg : isValidLabelValue(values[j]))
        v.invalid(index(child(exprPath, "values"), j), values[j], msg);
  }
}

// Go's %#v of a metav1.LabelSelector, as printed by "field is immutable" and
// "empty selector" errors.
std::string goLabelSelector(const Json& selector) {
  std::string out = "v1.LabelSelector{MatchLabels:";
  const Json* labels = member(selector, "matchLabels");
  out += goStringMap(labels ? stringMap(*labels) : std::map<std::string, std::string>{},
                     !labels || !labels->is_object());
  out += ", MatchExpressions:";
  const Json* exprs = member(selector, "matchExpressions");
  if (!exprs || !exprs->is_array()) {
    out += "[]v1.LabelSelectorRequirement(nil)";
  } else {
    out += "[]v1.LabelSelectorRequirement{";
    for (size_t i = 0; i < exprs->size(); ++i) {
      const Json& e = (*exprs)[i];
      if (i) out += ", ";
      out += "v1.LabelSelectorRequirement{Key:" + goQuote(stringAt(e, "key")) +
             ", Operator:" + goQuote(stringAt(e, "operator")) + ", Values:";
      const Json* values = member(e, "values");
      if (!values || !values->is_array()) {
        out += "[]string(nil)";
      } else {
        std::vector<std::string> list;
        for (const auto& item : *values)
          if (item.is_string()) list.push_back(item.get<std::string>());
        out += goStringSlice(list);
      }
      out += "}";
    }
    out += "}";
  }
  return out + "}";
}

// ---------------------------------------------------------------------------
// ObjectMeta (apimachinery/pkg/api/validation/objectmeta.go).

enum class NameRule { Dns1123Label, Dns1123Subdomain, Dns1035Label, PathSegment, Any };

NameRule nameRule(const std::string& kind) {
  if (kind == "Namespace") return NameRule::Dns1123Label;
  if (kind == "Service") return NameRule::Dns1035Label;
  if (kind == "Event") return NameRule::Any;  // core/v1 events skip ObjectMeta name rules
  return NameRule::Dns1123Subdomain;
}

std::vector<std::string> nameErrors(NameRule rule, std::string name, bool prefix) {
  // A generateName prefix may end in '-': check it as if followed by a letter.
  if (prefix && !name.empty() && name.back() == '-') name.back() = 'a';
  switch (rule) {
    case NameRule::Dns1123Label:
      return isDns1123Label(name);
    case NameRule::Dns1035Label:
      return isDns1035Label(name);
    case NameRule::Dns1123Subdomain:
      return isDns1123Subdomain(name);
    case NameRule::PathSegment: {
      // Custom resources: any name that is one URL path segment.
      if (prefix) return {};
      if (name == "." || name == "..") return {"may not be '" + name + "'"};
      std::vector<std::string> problems;
      if (name.find('/') != std::string::npos) problems.push_back("may not contain '/'");
      if (name.find('%') != std::string::npos) problems.push_back("may not contain '%'");
      return problems;
    }
    case NameRule::Any:
      break;
  }
  return {};
}

constexpr size_t kTotalAnnotationSizeLimit = 256 * 1024;

void validateObjectMeta(Validator& v, const ResourceInfo& resource, const Json& obj) {
  const std::string path = "metadata";
  const Json& meta = objectOr(v.object(obj, "metadata", path));
  NameRule rule = resource.custom ? NameRule::PathSegment : nameRule(resource.kind);

  std::string generateName = v.string(meta, "generateName", "metadata.generateName");
  if (!generateName.empty())
    for (const auto& msg : nameErrors(rule, generateName, true))
      v.invalid("metadata.generateName", generateName, msg);
  std::string name = v.string(meta, "name", "metadata.name");
  if (name.empty()) {
    // The registry makes a name from generateName before storing.
    if (generateName.empty()) v.required("metadata.name", "name or generateName is required");
  } else {
    for (const auto& msg : nameErrors(rule, name, false)) v.invalid("metadata.name", name, msg);
  }

  std::string ns = v.string(meta, "namespace", "metadata.namespace");
  if (resource.namespaced) {
    if (ns.empty())
      v.required("metadata.namespace");
    else
      validateDns1123Label(v, ns, "metadata.namespace");
  } else if (!ns.empty()) {
    v.forbidden("metadata.namespace", "not allowed on this type");
  }

  validateNonnegative(v, v.optInt(meta, "generation", "metadata.generation", false),
                      "metadata.generation");
  validateLabelsAt(v, meta, "labels", "metadata.labels");

  auto annotations = v.stringMap(meta, "annotations", "metadata.annotations");
  size_t totalSize = 0;
  for (const auto& [key, value] : annotations) {
    std::string lower = key;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& msg : isQualifiedName(lower)) v.invalid("metadata.annotations", key, msg);
    totalSize += key.size() + value.size();
  }
  if (totalSize > kTotalAnnotationSizeLimit)
    v.tooLong("metadata.annotations", kTotalAnnotationSizeLimit);

  if (const Json* owners = v.array(meta, "ownerReferences", "metadata.ownerReferences")) {
    for (size_t i = 0; i < owners->size(); ++i) {
      const Json& ref = (*owners)[i];
      if (!v.isObject(ref, index("metadata.ownerReferences", i))) continue;
      std::string apiVersion = stringAt(ref, "apiVersion");
      std::string version = apiVersion.substr(apiVersion.find('/') + 1);
      if (apiVersion.empty() || version.empty())
        v.invalid("metadata.ownerReferences.apiVersion", version, "version must not be empty");
      if (stringAt(ref, "kind").empty())
        v.invalid("metadata.ownerReferences.kind", "", "kind must not be empty");
      if (stringAt(ref, "name").empty())
        v.invalid("metadata.ownerReferences.name", "", "name must not be empty");
      if (stringAt(ref, "uid").empty())
        v.invalid("metadata.ownerReferences.uid", "", "uid must not be empty");
    }
  }
  for (const auto& finalizer : v.stringList(meta, "finalizers", "metadata.finalizers"))
    validateQualifiedName(v, finalizer, "metadata.finalizers");
}

// Template metadata (PodTemplateSpec): labels and annotations only.
void validateTemplateMeta(Validator& v, const Json& meta, const std::string& path) {
  validateLabelsAt(v, meta, "labels", child(path, "labels"));
  for (const auto& [key, value] : v.stringMap(meta, "annotations", child(path, "annotations"))) {
    std::string lower = key;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& msg : isQualifiedName(lower)) v.invalid(child(path, "annotations"), key, msg);
  }
}

// ---------------------------------------------------------------------------
// Pod (pkg/apis/core/validation: ValidatePodSpec and friends).

const std::vector<std::string> kTaintEffects = {"NoSchedule", "PreferNoSchedule", "NoExecute"};

void validateProbeHandler(Validator& v, const Json& handler, const std::string& path) {
  int handlers = 0;
  for (const char* kind : {"exec", "httpGet", "tcpSocket", "grpc", "sleep"}) {
    const Json* h = member(handler, kind);
    if (!h) continue;
    std::string hPath = child(path, kind);
    if (handlers > 0) {
      v.forbidden(hPath, "may not specify more than 1 handler type");
      continue;
    }
    ++handlers;
    if (!h->is_object()) {
      v.typeError(hPath, *h, "object");
      continue;
    }
    std::string_view k = kind;
    if (k == "exec") {
      if (v.stringList(*h, "command", child(hPath, "command")).empty())
        v.required(child(hPath, "command"));
    } else if (k == "httpGet") {
      if (v.string(*h, "path", child(hPath, "path")).empty()) v.required(child(hPath, "path"));
      const Json* port = member(*h, "port");
      validatePortNumOrName(v, port ? *port : Json(0), child(hPath, "port"));
      std::string scheme = v.string(*h, "scheme", child(hPath, "scheme"));
      if (scheme != "HTTP" && scheme != "HTTPS")
        v.notSupported(child(hPath, "scheme"), scheme, {"HTTP", "HTTPS"});
    } else if (k == "tcpSocket") {
      const Json* port = member(*h, "port");
      validatePortNumOrName(v, port ? *port : Json(0), child(hPath, "port"));
    } else if (k == "grpc") {
      int64_t port = v.integer(*h, "port", child(hPath, "port"));
      for (const auto& msg : isValidPortNum(port)) v.invalid(child(hPath, "port"), port, msg);
    }
  }
  if (handlers == 0) v.required(path, "must specify a handler type");
}

void validateProbe(Validator& v, const Json& container, const char* key,
                   const std::string& containerPath, bool mustSucceedOnce) {
  std::string path = child(containerPath, key);
  const Json* probe = v.object(container, key, path);
  if (!probe) return;
  validateProbeHandler(v, *probe, path);
  for (const char* field : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                            "successThreshold", "failureThreshold"})
    validateNonnegative(v, v.optInt(*probe, field, child(path, field)), child(path, field));
  if (mustSucceedOnce) {
    auto success = v.optInt(*probe, "successThreshold", "");
    if (success && *success != 1) v.invalid(child(path, "successThreshold"), *success, "must be 1");
  }
}

void validateContainerPorts(Validator& v, const Json& container, const std::string& path) {
  const Json* ports = v.array(container, "ports", path);
  if (!ports) return;
  std::set<std::string> names;
  for (size_t i = 0; i < ports->size(); ++i) {
    std::string p = index(path, i);
    const Json& port = (*ports)[i];
    if (!v.isObject(port, p)) continue;
    std::string name = v.string(port, "name", child(p, "name"));
    if (!name.empty()) {
      auto errs = isValidPortName(name);
      for (const auto& msg : errs) v.invalid(child(p, "name"), name, msg);
      if (errs.empty() && !names.insert(name).second) v.duplicate(child(p, "name"), goQuote(name));
    }
    int64_t containerPort = v.integer(port, "containerPort", child(p, "containerPort"));
    if (containerPort == 0)
      v.required(child(p, "containerPort"));
    else
      for (const auto& msg : isValidPortNum(containerPort))
        v.invalid(child(p, "containerPort"), containerPort, msg);
    int64_t hostPort = v.integer(port, "hostPort", child(p, "hostPort"));
    if (hostPort != 0)
      for (const auto& msg : isValidPortNum(hostPort))
        v.invalid(child(p, "hostPort"), hostPort, msg);
    validateProtocol(v, port, child(p, "protocol"));
  }
}

void validateContainer(Validator& v, const Json& c, const std::string& path,
                       std::set<std::string>& names, const std::set<std::string>& volumes,
                       bool init) {
  std::string name = v.string(c, "name", child(path, "name"));
  if (name.empty()) {
    v.required(child(path, "name"));
  } else {
    validateDns1123Label(v, name, child(path, "name"));
    if (!names.insert(name).second) v.duplicate(child(path, "name"), goQuote(name));
  }
  std::string image = v.string(c, "image", child(path, "image"));
  if (image.empty()) {
    v.required(child(path, "image"));
  } else if (image.find_first_not_of(" \t\r\n") != 0 ||
             image.find_last_not_of(" \t\r\n") != image.size() - 1) {
    v.invalid(child(path, "image"), image, "must not have leading or trailing whitespace");
  }
  validateOneOf(v, v.string(c, "imagePullPolicy", child(path, "imagePullPolicy")),
                child(path, "imagePullPolicy"), {"Always", "IfNotPresent", "Never"});
  validateOneOf(v, v.string(c, "terminationMessagePolicy", child(path, "terminationMessagePolicy")),
                child(path, "terminationMessagePolicy"), {"FallbackToLogsOnError", "File"});
  validateContainerPorts(v, c, child(path, "ports"));

  if (const Json* env = v.array(c, "env", child(path, "env"))) {
    for (size_t i = 0; i < env->size(); ++i) {
      std::string p = index(child(path, "env"), i);
      if (!v.isObject((*env)[i], p)) continue;
      std::string envName = v.string((*env)[i], "name", child(p, "name"));
      if (envName.empty())
        v.required(child(p, "name"));
      else
        for (const auto& msg : isEnvVarName(envName)) v.invalid(child(p, "name"), envName, msg);
    }
  }
  if (const Json* mounts = v.array(c, "volumeMounts", child(path, "volumeMounts"))) {
    for (size_t i = 0; i < mounts->size(); ++i) {
      std::string p = index(child(path, "volumeMounts"), i);
      if (!v.isObject((*mounts)[i], p)) continue;
      std::string mountName = v.string((*mounts)[i], "name", child(p, "name"));
      if (mountName.empty())
        v.required(child(p, "name"));
      else if (!volumes.count(mountName))
        v.notFound(child(p, "name"), mountName);
      if (v.string((*mounts)[i], "mountPath", child(p, "mountPath")).empty())
        v.required(child(p, "mountPath"));
    }
  }
  if (!init) {
    validateProbe(v, c, "livenessProbe", path, true);
    validateProbe(v, c, "readinessProbe", path, false);
    validateProbe(v, c, "startupProbe", path, true);
  } else {
    // Only sidecar (restartPolicy: Always) init containers may have probes.
    for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
      if (member(c, probe) && stringAt(c, "restartPolicy") != "Always")
        v.forbidden(child(path, probe),
                    "may not be set for init containers without restartPolicy=Always");
  }
}

void validateTolerations(Validator& v, const Json& spec, const std::string& path) {
  const Json* tolerations = v.array(spec, "tolerations", path);
  if (!tolerations) return;
  for (size_t i = 0; i < tolerations->size(); ++i) {
    std::string p = index(path, i);
    const Json& t = (*tolerations)[i];
    if (!v.isObject(t, p)) continue;
    std::string key = v.string(t, "key", child(p, "key"));
    std::string op = v.string(t, "operator", child(p, "operator"));
    std::string value = v.string(t, "value", child(p, "value"));
    std::string effect = v.string(t, "effect", child(p, "effect"));
    if (!key.empty()) validateQualifiedName(v, key, child(p, "key"));
    if (key.empty() && op != "Exists")
      v.invalid(child(p, "operator"), op,
                "operator must be Exists when `key` is empty, which means \"match all values and "
                "all keys\"");
    if (member(t, "tolerationSeconds") && effect != "NoExecute")
      v.invalid(child(p, "effect"), effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set");
    if (op == "Equal" || op.empty()) {
      auto errs = isValidLabelValue(value);
      if (!errs.empty()) {
        std::string joined;
        for (size_t k = 0; k < errs.size(); ++k) joined += (k ? ";" : "") + errs[k];
        v.invalid(child(p, "operator"), value, joined);
      }
    } else if (op == "Exists") {
      if (!value.empty())
        v.invalid(child(p, "operator"), value, "value must be empty when `operator` is 'Exists'");
    } else {
      v.notSupported(child(p, "operator"), op, {"Equal", "Exists"});
    }
    if (!effect.empty() && !contains(kTaintEffects, effect))
      v.notSupported(child(p, "effect"), effect, kTaintEffects);
  }
}

// `claimVolumes`: a StatefulSet's volumeClaimTemplates, which become volumes
// of its pods, so its containers may mount them.
void validatePodSpec(Validator& v, const Json& spec, const std::string& path,
                     const std::set<std::string>& claimVolumes = {}) {
  std::set<std::string> volumeNames;
  if (const Json* volumes = v.array(spec, "volumes", child(path, "volumes"))) {
    for (size_t i = 0; i < volumes->size(); ++i) {
      std::string p = index(child(path, "volumes"), i);
      if (!v.isObject((*volumes)[i], p)) continue;
      std::string name = v.string((*volumes)[i], "name", child(p, "name"));
      if (name.empty()) {
        v.required(child(p, "name"));
      } else {
        validateDns1123Label(v, name, child(p, "name"));
        if (!volumeNames.insert(name).second) v.duplicate(child(p, "name"), goQuote(name));
      }
    }
  }
  volumeNames.insert(claimVolumes.begin(), claimVolumes.end());

  std::set<std::string> containerNames;
  const Json* containers = v.array(spec, "containers", child(path, "containers"));
  if (!containers || containers->empty()) {
    if (!member(spec, "containers") || (containers && containers->empty()))
      v.required(child(path, "containers"));
  } else {
    for (size_t i = 0; i < containers->size(); ++i) {
      std::string p = index(child(path, "containers"), i);
      if (!v.isObject((*containers)[i], p)) continue;
      validateContainer(v, (*containers)[i], p, containerNames, volumeNames, false);
    }
  }
  if (const Json* init = v.array(spec, "initContainers", child(path, "initContainers"))) {
    for (size_t i = 0; i < init->size(); ++i) {
      std::string p = index(child(path, "initContainers"), i);
      if (!v.isObject((*init)[i], p)) continue;
      validateContainer(v, (*init)[i], p, containerNames, volumeNames, true);
    }
  }

  std::string restartPolicy = v.string(spec, "restartPolicy", child(path, "restartPolicy"));
  if (restartPolicy.empty())
    v.required(child(path, "restartPolicy"));
  else if (!contains({"Always", "OnFailure", "Never"}, restartPolicy))
    v.notSupported(child(path, "restartPolicy"), restartPolicy, {"Always", "OnFailure", "Never"});

  const std::vector<std::string> dnsPolicies = {"ClusterFirstWithHostNet", "ClusterFirst",
                                                "Default", "None"};
  validateOneOf(v, v.string(spec, "dnsPolicy", child(path, "dnsPolicy")), child(path, "dnsPolicy"),
                dnsPolicies);

  validateLabelsAt(v, spec, "nodeSelector", child(path, "nodeSelector"));
  for (const char* key : {"serviceAccountName", "nodeName"}) {
    std::string value = v.string(spec, key, child(path, key));
    if (!value.empty()) validateDns1123Subdomain(v, value, child(path, key));
  }
  for (const char* key : {"hostname", "subdomain"}) {
    std::string value = v.string(spec, key, child(path, key));
    if (!value.empty()) validateDns1123Label(v, value, child(path, key));
  }
  if (auto deadline =
          v.optInt(spec, "activeDeadlineSeconds", child(path, "activeDeadlineSeconds"), false);
      deadline && (*deadline < 1 || *deadline > std::numeric_limits<int32_t>::max()))
    v.invalid(child(path, "activeDeadlineSeconds"), *deadline,
              "must be between 1 and 2147483647, inclusive");
  v.optInt(spec, "terminationGracePeriodSeconds", child(path, "terminationGracePeriodSeconds"),
           false);
  v.optBool(spec, "hostNetwork", child(path, "hostNetwork"));
  v.object(spec, "securityContext", child(path, "securityContext"));
  validateTolerations(v, spec, child(path, "tolerations"));
}

void validatePodTemplate(Validator& v, const Json& workloadSpec, const std::string& path,
                         const LabelSelector* selector) {
  const Json* templ = v.object(workloadSpec, "template", path);
  if (!templ) {
    v.required(path);
    return;
  }
  const Json& meta = objectOr(v.object(*templ, "metadata", child(path, "metadata")));
  if (selector && !selector->selectsEverything()) {
    const Json* labelsJson = member(meta, "labels");
    auto labels = labelsJson ? stringMap(*labelsJson) : std::map<std::string, std::string>{};
    if (!selector->matches(labels))
      v.invalidRendered(child(child(path, "metadata"), "labels"),
                        goStringMap(labels, !labelsJson || !labelsJson->is_object()),
                        "`selector` does not match template `labels`");
  }
  validateTemplateMeta(v, meta, child(path, "metadata"));
  std::string specPath = child(path, "spec");
  const Json& spec = objectOr(v.object(*templ, "spec", specPath));
  std::set<std::string> claimVolumes;
  if (const Json* claims = member(workloadSpec, "volumeClaimTemplates");
      claims && claims->is_array())
    for (const Json& claim : *claims)
      if (const Json* meta = member(claim, "metadata"))
        claimVolumes.insert(stringAt(*meta, "name"));
  validatePodSpec(v, spec, specPath, claimVolumes);
  std::string restartPolicy = stringAt(spec, "restartPolicy");
  if (restartPolicy != "Always")
    v.notSupported(child(specPath, "restartPolicy"), restartPolicy, {"Always"});
  if (member(spec, "activeDeadlineSeconds"))
    v.invalidRendered(child(specPath, "activeDeadlineSeconds"),
                      render(*member(spec, "activeDeadlineSeconds")),
                      "activeDeadlineSeconds in ReplicaSet is not Supported");
}

void validatePod(Validator& v, const Json& obj) {
  validatePodSpec(v, objectOr(v.object(obj, "spec", "spec")), "spec");
}

// ---------------------------------------------------------------------------
// Deployment and ReplicaSet (pkg/apis/apps/validation).

std::string goIntOrString(const Json& value) {
  if (value.is_string())
    return "intstr.IntOrString{Type:1, IntVal:0, StrVal:" +
           goQuote(value.get_ref<const std::string&>()) + "}";
  int64_t n = value.is_number_integer() ? value.get<int64_t>() : 0;
  return "intstr.IntOrString{Type:0, IntVal:" + std::to_string(n) + ", StrVal:\"\"}";
}

// The integer value of an int-or-percent, for the "both zero" check.
int64_t intOrPercentValue(const Json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!s.empty() && s.back() == '%') {
      int64_t n = 0;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        n = std::min<int64_t>(n * 10 + (s[i] - '0'), 1'000'000'000);
      }
      return s.size() > 1 ? n : -1;
    }
  }
  return -1;
}

void validatePositiveIntOrPercent(Validator& v, const Json& value, const std::string& path) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    bool ok = s.size() > 1 && s.back() == '%' &&
              std::all_of(s.begin(), s.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
    if (!ok)
      v.invalidRendered(
          path, goIntOrString(value),
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. "
          "'1%',  or '93%', regex used for validation is '[0-9]+%')");
  } else if (value.is_number_integer()) {
    if (!value.is_number_unsigned() && value.get<int64_t>() < 0)
      v.invalid(path, value.get<int64_t>(), "must be greater than or equal to 0");
  } else if (!value.is_null()) {
    v.typeError(path, value, "int or string");
  }
}

void validateDeploymentStrategy(Validator& v, const Json& spec) {
  const Json& strategy = objectOr(v.object(spec, "strategy", "spec.strategy"));
  std::string type = v.string(strategy, "type", "spec.strategy.type");
  const Json* rolling = member(strategy, "rollingUpdate");
  if (type == "Recreate") {
    if (rolling)
      v.forbidden("spec.strategy.rollingUpdate",
                  "may not be specified when strategy `type` is 'Recreate'");
  } else if (type == "RollingUpdate") {
    if (!rolling) {
      v.required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil");
      return;
    }
    if (!rolling->is_object()) {
      v.typeError("spec.strategy.rollingUpdate", *rolling, "object");
      return;
    }
    const Json zero = 0;
    const Json* maxUnavailable = member(*rolling, "maxUnavailable");
    const Json* maxSurge = member(*rolling, "maxSurge");
    const Json& unavailable = maxUnavailable ? *maxUnavailable : zero;
    const Json& surge = maxSurge ? *maxSurge : zero;
    validatePositiveIntOrPercent(v, unavailable, "spec.strategy.rollingUpdate.maxUnavailable");
    validatePositiveIntOrPercent(v, surge, "spec.strategy.rollingUpdate.maxSurge");
    if (intOrPercentValue(unavailable) == 0 && intOrPercentValue(surge) == 0)
      v.invalidRendered("spec.strategy.rollingUpdate.maxUnavailable", goIntOrString(unavailable),
                        "may not be 0 when `maxSurge` is 0");
    if (unavailable.is_string() && intOrPercentValue(unavailable) > 100)
      v.invalidRendered("spec.strategy.rollingUpdate.maxUnavailable", goIntOrString(unavailable),
                        "must not be greater than 100%");
  } else {
    v.notSupportedRendered(
        "spec.strategy",
        "apps.DeploymentStrategy{Type:" + goQuote(type) + ", RollingUpdate:" +
            (rolling ? std::string("(*apps.RollingUpdateDeployment)(0xc000000000)")
                     : std::string("(*apps.RollingUpdateDeployment)(nil)")) +
            "}",
        {"Recreate", "RollingUpdate"});
  }
}

// StatefulSet's updateStrategy and podManagementPolicy.
void validateStatefulSetSpec(Validator& v, const Json& spec) {
  std::string policy = v.string(spec, "podManagementPolicy", "spec.podManagementPolicy");
  if (policy.empty())
    v.required("spec.podManagementPolicy");
  else if (policy != "OrderedReady" && policy != "Parallel")
    v.notSupported("spec.podManagementPolicy", policy, {"OrderedReady", "Parallel"});
  const Json& strategy = objectOr(v.object(spec, "updateStrategy", "spec.updateStrategy"));
  std::string type = v.string(strategy, "type", "spec.updateStrategy.type");
  const Json* rolling = member(strategy, "rollingUpdate");
  if (type == "OnDelete") {
    if (rolling)
      v.invalidRendered("spec.updateStrategy.rollingUpdate", "\"\"",
                        "only allowed for updateStrategy 'RollingUpdate'");
  } else if (type == "RollingUpdate") {
    if (rolling && rolling->is_object())
      validateNonnegative(
          v, v.optInt(*rolling, "partition", "spec.updateStrategy.rollingUpdate.partition"),
          "spec.updateStrategy.rollingUpdate.partition");
  } else if (type.empty()) {
    v.required("spec.updateStrategy", "");
  } else {
    v.notSupported("spec.updateStrategy", type, {"OnDelete", "RollingUpdate"});
  }
  if (const Json* ordinals = member(spec, "ordinals"); ordinals && ordinals->is_object())
    validateNonnegative(v, v.optInt(*ordinals, "start", "spec.ordinals.start"),
                        "spec.ordinals.start");
}

// DaemonSet's updateStrategy.
void validateDaemonSetSpec(Validator& v, const Json& spec) {
  const Json& strategy = objectOr(v.object(spec, "updateStrategy", "spec.updateStrategy"));
  std::string type = v.string(strategy, "type", "spec.updateStrategy.type");
  if (type == "RollingUpdate") {
    const Json* rolling = member(strategy, "rollingUpdate");
    if (!rolling || !rolling->is_object()) return;
    const Json zero = 0;
    const Json* maxUnavailable = member(*rolling, "maxUnavailable");
    const Json* maxSurge = member(*rolling, "maxSurge");
    const Json& unavailable = maxUnavailable ? *maxUnavailable : zero;
    const Json& surge = maxSurge ? *maxSurge : zero;
    validatePositiveIntOrPercent(v, unavailable,
                                 "spec.updateStrategy.rollingUpdate.maxUnavailable");
    validatePositiveIntOrPercent(v, surge, "spec.updateStrategy.rollingUpdate.maxSurge");
    if (intOrPercentValue(unavailable) == 0 && intOrPercentValue(surge) == 0)
      v.invalidRendered("spec.updateStrategy.rollingUpdate.maxUnavailable",
                        goIntOrString(unavailable), "may not be 0 when `maxSurge` is 0");
  } else if (type != "OnDelete") {
    v.notSupported("spec.updateStrategy.type", type, {"OnDelete", "RollingUpdate"});
  }
}

void validateWorkload(Validator& v, const Json& obj, const std::string& kind) {
  bool deployment = kind == "Deployment";
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  if (kind != "DaemonSet")
    validateNonnegative(v, v.optInt(spec, "replicas", "spec.replicas"), "spec.replicas");
  auto minReady = v.optInt(spec, "minReadySeconds", "spec.minReadySeconds");
  validateNonnegative(v, minReady, "spec.minReadySeconds");

  const Json* selectorJson = member(spec, "selector");
  if (!selectorJson) {
    v.required("spec.selector");
  } else {
    validateLabelSelector(v, *selectorJson, "spec.selector");
    const Json* matchLabels = member(*selectorJson, "matchLabels");
    const Json* matchExpressions = member(*selectorJson, "matchExpressions");
    size_t terms =
        (matchLabels && matchLabels->is_object() ? matchLabels->size() : 0) +
        (matchExpressions && matchExpressions->is_array() ? matchExpressions->size() : 0);
    std::string owner = kind == "StatefulSet" ? "statefulset"
                        : kind == "DaemonSet" ? "daemonset"
                                              : "deployment";
    if (selectorJson->is_object() && terms == 0)
      v.invalidRendered("spec.selector", goLabelSelector(*selectorJson),
                        "empty selector is invalid for " + owner);
  }
  // metav1.LabelSelectorAsSelector: a missing selector selects nothing, so
  // the template check below also fails, as upstream.
  auto selector = selectorJson ? LabelSelector::fromJson(*selectorJson)
                               : core::Result<LabelSelector>(LabelSelector::fromMap({}));
  if (!selector) {
    v.invalidRendered("spec.selector", goLabelSelector(*selectorJson), "invalid label selector");
  } else {
    validatePodTemplate(v, spec, "spec.template", &*selector);
  }

  if (kind == "StatefulSet") validateStatefulSetSpec(v, spec);
  if (kind == "DaemonSet") validateDaemonSetSpec(v, spec);
  if (kind == "StatefulSet" || kind == "DaemonSet")
    validateNonnegative(v, v.optInt(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit"),
                        "spec.revisionHistoryLimit");
  if (deployment) {
    validateDeploymentStrategy(v, spec);
    validateNonnegative(v, v.optInt(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit"),
                        "spec.revisionHistoryLimit");
    auto deadline = v.optInt(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds");
    validateNonnegative(v, deadline, "spec.progressDeadlineSeconds");
    if (deadline && *deadline <= minReady.value_or(0))
      v.invalid("spec.progressDeadlineSeconds", *deadline, "must be greater than minReadySeconds");
  }
}

// ---------------------------------------------------------------------------
// IP checks.

const char* const kInvalidIp = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const char* const kInvalidCidr = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

// ValidateNonSpecialIP / ValidateEndpointIP: addresses that can never be an
// endpoint or an external IP.
void validateNonSpecialIp(Validator& v, const core::IpAddress& given, std::string_view text,
                          const std::string& path) {
  // An IPv4-mapped IPv6 address is its IPv4 address (as Go's net.IP sees
  // it): ::ffff:127.0.0.1 is loopback.
  core::IpAddress ip = given;
  const auto& g = given.bytes;
  if (given.v6 && std::all_of(g.begin(), g.begin() + 10, [](uint8_t x) { return x == 0; }) &&
      g[10] == 0xff && g[11] == 0xff) {
    ip.v6 = false;
    std::copy(g.begin() + 12, g.begin() + 16, ip.bytes.begin());
  }
  const auto& b = ip.bytes;
  bool unspecified =
      ip.v6 ? std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; }) : ip.v4() == 0;
  bool loopback =
      ip.v6
          ? (std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; }) && b[15] == 1)
          : b[0] == 127;
  bool linkLocal = ip.v6 ? (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) : (b[0] == 169 && b[1] == 254);
  bool linkLocalMulticast =
      ip.v6 ? (b[0] == 0xff && (b[1] & 0x0f) == 0x02) : (b[0] == 224 && b[1] == 0 && b[2] == 0);
  if (unspecified) v.invalid(path, text, "may not be unspecified (0.0.0.0)");
  if (loopback) v.invalid(path, text, "may not be in the loopback range (127.0.0.0/8, ::1/128)");
  if (linkLocal)
    v.invalid(path, text, "may not be in the link-local range (169.254.0.0/16, fe80::/10)");
  if (linkLocalMulticast)
    v.invalid(path, text, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)");
}

std::optional<core::Cidr> validateCidr(Validator& v, std::string_view text,
                                       const std::string& path) {
  auto cidr = core::Cidr::parse(text);
  if (!cidr) v.invalid(path, text, kInvalidCidr);
  return cidr;
}

// ---------------------------------------------------------------------------
// Service (ValidateService).

std::string goServicePortKey(const std::string& protocol, int64_t port) {
  return "core.ServicePort{Name:\"\", Protocol:" + goQuote(protocol) +
         ", AppProtocol:(*string)(nil), Port:" + std::to_string(port) +
         ", TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}";
}

void validateService(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  std::string type = v.string(spec, "type", "spec.type");
  std::string clusterIP = v.string(spec, "clusterIP", "spec.clusterIP");
  std::vector<std::string> clusterIPs = v.stringList(spec, "clusterIPs", "spec.clusterIPs");
  if (clusterIPs.empty() && !clusterIP.empty()) clusterIPs.push_back(clusterIP);
  bool headless = clusterIP == "None" || (!clusterIPs.empty() && clusterIPs[0] == "None");
  const Json* ports = v.array(spec, "ports", "spec.ports");
  size_t portCount = ports ? ports->size() : 0;

  if (portCount == 0 && !headless && type != "ExternalName") v.required("spec.ports");
  if (type == "LoadBalancer") {
    if (headless)
      v.invalid("spec.clusterIPs[0]", clusterIPs[0],
                "may not be set to 'None' for LoadBalancer services");
    for (size_t i = 0; ports && i < ports->size(); ++i)
      if (const Json* port = member((*ports)[i], "port"); port && *port == 10250)
        v.invalid(index("spec.ports", i), int64_t(10250),
                  "may not expose port 10250 externally since it is used by kubelet");
  } else if (type == "NodePort") {
    if (headless)
      v.invalid("spec.clusterIP", clusterIP, "may not be set to 'None' for NodePort services");
  } else if (type == "ExternalName") {
    if (!clusterIPs.empty())
      v.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
    std::string cname = v.string(spec, "externalName", "spec.externalName");
    if (!cname.empty() && cname.back() == '.') cname.pop_back();
    if (cname.empty())
      v.required("spec.externalName");
    else
      validateDns1123Subdomain(v, cname, "spec.externalName");
  }

  std::set<std::string> portNames;
  bool nodePortsAllowed = type == "NodePort" || type == "LoadBalancer";
  std::set<std::pair<std::string, int64_t>> seenPorts, seenNodePorts;
  for (size_t i = 0; i < portCount; ++i) {
    std::string p = index("spec.ports", i);
    const Json& port = (*ports)[i];
    if (!v.isObject(port, p)) continue;
    std::string name = v.string(port, "name", child(p, "name"));
    if (portCount > 1 && name.empty()) {
      v.required(child(p, "name"));
    } else if (!name.empty()) {
      validateDns1123Label(v, name, child(p, "name"));
      if (!portNames.insert(name).second) v.duplicate(child(p, "name"), goQuote(name));
    }
    int64_t number = v.integer(port, "port", child(p, "port"));
    for (const auto& msg : isValidPortNum(number)) v.invalid(child(p, "port"), number, msg);
    validateProtocol(v, port, child(p, "protocol"));
    const Json* target = member(port, "targetPort");
    validatePortNumOrName(v, target ? *target : Json(0), child(p, "targetPort"));
    if (auto appProtocol = v.optString(port, "appProtocol", child(p, "appProtocol")))
      validateQualifiedName(v, *appProtocol, child(p, "appProtocol"));

    int64_t nodePort = v.integer(port, "nodePort", child(p, "nodePort"));
    std::string protocol = stringAt(port, "protocol");
    if (nodePort != 0) {
      if (type == "ClusterIP") {
        v.forbidden(child(p, "nodePort"), "may not be used when `type` is 'ClusterIP'");
      } else if (nodePortsAllowed && (nodePort < 30000 || nodePort > 32767)) {
        // The allocator's check (portallocator), reported as kube-apiserver does.
        v.invalid(child(p, "nodePort"), nodePort,
                  "provided port is not in the valid range. The range of valid ports is "
                  "30000-32767");
      }
      if (!seenNodePorts.insert({protocol, nodePort}).second)
        v.duplicate(child(p, "nodePort"), std::to_string(nodePort));
    }
    if (!seenPorts.insert({protocol, number}).second)
      v.duplicate(p, goServicePortKey(protocol, number));
  }

  bool selectorPresent = false;
  auto selector = v.stringMap(spec, "selector", "spec.selector", &selectorPresent);
  validateLabels(v, selector, "spec.selector");

  std::string affinity = v.string(spec, "sessionAffinity", "spec.sessionAffinity");
  validateOneOf(v, affinity, "spec.sessionAffinity", {"ClientIP", "None"});
  const Json* affinityConfig =
      v.object(spec, "sessionAffinityConfig", "spec.sessionAffinityConfig");
  if (affinity == "ClientIP") {
    const std::string when = "when session affinity type is ClientIP";
    const Json* clientIP = affinityConfig ? v.object(*affinityConfig, "clientIP",
                                                     "spec.sessionAffinityConfig.clientIP")
                                          : nullptr;
    auto timeout = clientIP ? v.optInt(*clientIP, "timeoutSeconds",
                                       "spec.sessionAffinityConfig.clientIP.timeoutSeconds")
                            : std::nullopt;
    if (!affinityConfig)
      v.required("spec.sessionAffinityConfig", when);
    else if (!clientIP)
      v.required("spec.sessionAffinityConfig.clientIP", when);
    else if (!timeout)
      v.required("spec.sessionAffinityConfig.clientIP.timeoutSeconds", when);
    else if (*timeout <= 0 || *timeout > 86400)
      v.invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", *timeout,
                "must be greater than 0 and less than 86400");
  } else if (affinity == "None" && affinityConfig) {
    v.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None");
  }

  // clusterIP / clusterIPs (the strategy copies clusterIP to clusterIPs[0]).
  if (!clusterIP.empty() && !clusterIPs.empty() && clusterIP != clusterIPs[0])
    v.invalidRendered("spec.clusterIPs", goStringSlice(clusterIPs),
                      "first value must match `clusterIP`");
  for (size_t i = 0; i < clusterIPs.size(); ++i) {
    if (i == 0 && clusterIPs[i] == "None") {
      if (clusterIPs.size() > 1)
        v.invalidRendered("spec.clusterIPs", goStringSlice(clusterIPs),
                          "'None' must be the first and only value");
      continue;
    }
    if (!core::IpAddress::parse(clusterIPs[i]))
      v.invalid(index("spec.clusterIPs", i), clusterIPs[i], kInvalidIp);
  }
  auto families = v.stringList(spec, "ipFamilies", "spec.ipFamilies");
  for (size_t i = 0; i < families.size(); ++i)
    if (families[i] != "IPv4" && families[i] != "IPv6")
      v.notSupported(index("spec.ipFamilies", i), families[i], {"IPv4", "IPv6"});
  if (auto policy = v.optString(spec, "ipFamilyPolicy", "spec.ipFamilyPolicy");
      policy && !contains({"PreferDualStack", "RequireDualStack", "SingleStack"}, *policy))
    v.notSupported("spec.ipFamilyPolicy", *policy,
                   {"PreferDualStack", "RequireDualStack", "SingleStack"});

  auto externalIPs = v.stringList(spec, "externalIPs", "spec.externalIPs");
  for (size_t i = 0; i < externalIPs.size(); ++i) {
    auto ip = core::IpAddress::parse(externalIPs[i]);
    if (!ip)
      v.invalid(index("spec.externalIPs", i), externalIPs[i], kInvalidIp);
    else
      validateNonSpecialIp(v, *ip, externalIPs[i], index("spec.externalIPs", i));
  }

  const std::vector<std::string> types = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"};
  validateOneOf(v, type, "spec.type", types);

  auto sourceRanges =
      v.stringList(spec, "loadBalancerSourceRanges", "spec.loadBalancerSourceRanges");
  if (!sourceRanges.empty()) {
    if (type != "LoadBalancer")
      v.forbidden("spec.LoadBalancerSourceRanges",
                  "may only be used when `type` is 'LoadBalancer'");
    for (size_t i = 0; i < sourceRanges.size(); ++i) {
      std::string range = sourceRanges[i];
      range.erase(0, range.find_first_not_of(' '));
      range.erase(range.find_last_not_of(' ') + 1);
      validateCidr(v, range, index("spec.LoadBalancerSourceRanges", i));
    }
  }

  bool externallyAccessible = nodePortsAllowed || (type == "ClusterIP" && !externalIPs.empty());
  std::string etp = v.string(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy");
  if (!externallyAccessible) {
    if (!etp.empty())
      v.invalid("spec.externalTrafficPolicy", etp,
                "may only be set for externally-accessible services");
  } else {
    validateOneOf(v, etp, "spec.externalTrafficPolicy", {"Cluster", "Local"});
  }
  auto itp = v.optString(spec, "internalTrafficPolicy", "spec.internalTrafficPolicy");
  if (!itp) {
    if (type == "NodePort" || type == "LoadBalancer" || type == "ClusterIP")
      v.required("spec.internalTrafficPolicy", "must specify internalTrafficPolicy");
  } else if (!contains({"Cluster", "Local"}, *itp)) {
    v.notSupported("spec.internalTrafficPolicy", *itp, {"Cluster", "Local"});
  }
}

// ---------------------------------------------------------------------------
// NetworkPolicy (pkg/apis/networking/validation).

void validateNetworkPolicyPort(Validator& v, const Json& port, const std::string& path) {
  if (auto protocol = v.optString(port, "protocol", child(path, "protocol"));
      protocol && !contains({"TCP", "UDP", "SCTP"}, *protocol))
    v.notSupported(child(path, "protocol"), *protocol, {"TCP", "UDP", "SCTP"});
  const Json* number = member(port, "port");
  auto endPort = v.optInt(port, "endPort", child(path, "endPort"));
  if (number && number->is_number_integer()) {
    // nlohmann reads every non-negative integer as unsigned: clamp, don't flag.
    int64_t n = number->is_number_unsigned()
                    ? int64_t(std::min<uint64_t>(number->get<uint64_t>(), uint64_t(1) << 32))
                    : number->get<int64_t>();
    for (const auto& msg : isValidPortNum(n)) v.invalid(child(path, "port"), n, msg);
    if (endPort) {
      if (*endPort < n)
        v.invalid(child(path, "endPort"), n, "must be greater than or equal to `port`");
      for (const auto& msg : isValidPortNum(*endPort))
        v.invalid(child(path, "endPort"), *endPort, msg);
    }
  } else if (number && number->is_string()) {
    if (endPort)
      v.invalid(child(path, "endPort"), *endPort,
                "may not be specified when `port` is non-numeric");
    const auto& name = number->get_ref<const std::string&>();
    for (const auto& msg : isValidPortName(name)) v.invalid(child(path, "port"), name, msg);
  } else {
    if (number) v.typeError(child(path, "port"), *number, "int or string");
    if (endPort)
      v.invalid(child(path, "endPort"), *endPort,
                "may not be specified when `port` is not specified");
  }
}

void validateIpBlock(Validator& v, const Json& block, const std::string& path) {
  std::string cidrText = v.string(block, "cidr", child(path, "cidr"));
  if (cidrText.empty()) {
    v.required(child(path, "cidr"));
    return;
  }
  auto cidr = validateCidr(v, cidrText, child(path, "cidr"));
  if (!cidr) return;
  auto excepts = v.stringList(block, "except", child(path, "except"));
  for (size_t i = 0; i < excepts.size(); ++i) {
    std::string p = index(child(path, "except"), i);
    auto except = validateCidr(v, excepts[i], p);
    if (!except) continue;
    if (!cidr->contains(except->network) || cidr->prefix >= except->prefix)
      v.invalid(p, excepts[i], "must be a strict subset of `cidr`");
  }
}

void validateNetworkPolicyPeer(Validator& v, const Json& peer, const std::string& path) {
  int peers = 0;
  const Json* ipBlock = nullptr;
  for (const char* key : {"podSelector", "namespaceSelector"}) {
    if (const Json* selector = member(peer, key)) {
      ++peers;
      validateLabelSelector(v, *selector, child(path, key));
    }
  }
  if ((ipBlock = member(peer, "ipBlock"))) {
    ++peers;
    if (ipBlock->is_object())
      validateIpBlock(v, *ipBlock, child(path, "ipBlock"));
    else
      v.typeError(child(path, "ipBlock"), *ipBlock, "object");
  }
  if (peers == 0)
    v.required(path, "must specify a peer");
  else if (peers > 1 && ipBlock)
    v.forbidden(path, "may not specify both ipBlock and another peer");
}

void validateNetworkPolicy(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  validateLabelSelector(v, objectOr(member(spec, "podSelector")), "spec.podSelector");
  for (const char* direction : {"ingress", "egress"}) {
    bool ingress = std::string_view(direction) == "ingress";
    std::string rulesPath = child("spec", direction);
    const Json* rules = v.array(spec, direction, rulesPath);
    for (size_t i = 0; rules && i < rules->size(); ++i) {
      std::string rulePath = index(rulesPath, i);
      const Json& rule = (*rules)[i];
      if (!v.isObject(rule, rulePath)) continue;
      if (const Json* ports = v.array(rule, "ports", child(rulePath, "ports")))
        for (size_t j = 0; j < ports->size(); ++j) {
          std::string p = index(child(rulePath, "ports"), j);
          if (v.isObject((*ports)[j], p)) validateNetworkPolicyPort(v, (*ports)[j], p);
        }
      const char* peersKey = ingress ? "from" : "to";
      if (const Json* peers = v.array(rule, peersKey, child(rulePath, peersKey)))
        for (size_t j = 0; j < peers->size(); ++j) {
          std::string p = index(child(rulePath, peersKey), j);
          if (v.isObject((*peers)[j], p)) validateNetworkPolicyPeer(v, (*peers)[j], p);
        }
    }
  }
  auto policyTypes = v.stringList(spec, "policyTypes", "spec.policyTypes");
  if (policyTypes.size() > 2) {
    v.invalidRendered("spec.policyTypes", goStringSlice(policyTypes),
                      "may not specify more than two policyTypes");
    return;
  }
  for (size_t i = 0; i < policyTypes.size(); ++i)
    if (policyTypes[i] != "Ingress" && policyTypes[i] != "Egress")
      v.notSupported(index("spec.policyTypes", i), policyTypes[i], {"Ingress", "Egress"});
}

// ---------------------------------------------------------------------------
// Ingress and IngressClass.

void validatePathSegmentName(Validator& v, const std::string& name, const std::string& path) {
  if (name == "." || name == "..") v.invalid(path, name, "may not be '" + name + "'");
  for (const char* bad : {"/", "%"})
    if (name.find(bad) != std::string::npos)
      v.invalid(path, name, std::string("may not contain '") + bad + "'");
}

void validateIngressBackend(Validator& v, const Json& backend, const std::string& path) {
  const Json* resource = v.object(backend, "resource", child(path, "resource"));
  const Json* service = v.object(backend, "service", child(path, "service"));
  if (resource && service) {
    v.invalid(path, "", "cannot set both resource and service backends");
    return;
  }
  if (resource) {
    std::string p = child(path, "resource");
    if (auto group = v.optString(*resource, "apiGroup", child(p, "apiGroup")))
      validateDns1123Subdomain(v, *group, child(p, "apiGroup"));
    for (const char* key : {"kind", "name"}) {
      std::string value = v.string(*resource, key, child(p, key));
      if (value.empty())
        v.required(child(p, key), std::string(key) + " is required");
      else
        validatePathSegmentName(v, value, child(p, key));
    }
  } else if (service) {
    std::string p = child(path, "service");
    std::string name = v.string(*service, "name", child(p, "name"));
    if (name.empty())
      v.required(child(p, "name"));
    else
      for (const auto& msg : isDns1035Label(name)) v.invalid(child(p, "name"), name, msg);
    const Json& port = objectOr(v.object(*service, "port", child(p, "port")));
    std::string portName = v.string(port, "name", child(p, "port.name"));
    int64_t portNumber = v.integer(port, "number", child(p, "port.number"));
    if (!portName.empty() && portNumber != 0) {
      v.invalid(path, "", "cannot set both port name & port number");
    } else if (!portName.empty()) {
      for (const auto& msg : isValidPortName(portName))
        v.invalid(child(p, "port.name"), portName, msg);
    } else if (portNumber != 0) {
      for (const auto& msg : isValidPortNum(portNumber))
        v.invalid(child(p, "port.number"), portNumber, msg);
    } else {
      v.required(path, "port name or number is required");
    }
  } else {
    v.invalid(path, "", "resource or service backend is required");
  }
}

void validateIngressHost(Validator& v, const std::string& host, const std::string& path) {
  if (core::IpAddress::parse(host)) v.invalid(path, host, "must be a DNS name, not an IP address");
  if (host.find('*') != std::string::npos)
    for (const auto& msg : isWildcardDns1123Subdomain(host)) v.invalid(path, host, msg);
  else
    validateDns1123Subdomain(v, host, path);
}

void validateIngressPath(Validator& v, const Json& item, const std::string& path) {
  auto pathType = v.optString(item, "pathType", child(path, "pathType"));
  if (!pathType) {
    v.required(child(path, "pathType"), "pathType must be specified");
    return;
  }
  std::string value = v.string(item, "path", child(path, "path"));
  if (*pathType == "Exact" || *pathType == "Prefix") {
    if (value.empty() || value[0] != '/')
      v.invalid(child(path, "path"), value, "must be an absolute path");
    if (!value.empty()) {
      for (const char* seq : {"//", "/./", "/../", "%2f", "%2F"})
        if (value.find(seq) != std::string::npos)
          v.invalid(child(path, "path"), value, std::string("must not contain '") + seq + "'");
      for (std::string suffix : {"/..", "/."})
        if (value.size() >= suffix.size() &&
            value.compare(value.size() - suffix.size(), suffix.size(), suffix) == 0)
          v.invalid(child(path, "path"), value, "cannot end with '" + suffix + "'");
    }
  } else if (*pathType == "ImplementationSpecific") {
    if (!value.empty() && value[0] != '/')
      v.invalid(child(path, "path"), value, "must be an absolute path");
  } else {
    v.notSupported(child(path, "pathType"), *pathType,
                   {"Exact", "ImplementationSpecific", "Prefix"});
  }
  validateIngressBackend(v, objectOr(v.object(item, "backend", child(path, "backend"))),
                         child(path, "backend"));
}

void validateIngress(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  const Json* rules = v.array(spec, "rules", "spec.rules");
  const Json* defaultBackend = v.object(spec, "defaultBackend", "spec.defaultBackend");
  if ((!rules || rules->empty()) && !defaultBackend)
    v.invalidRendered("spec", "[]networking.IngressRule(nil)",
                      "either `defaultBackend` or `rules` must be specified");
  if (defaultBackend) validateIngressBackend(v, *defaultBackend, "spec.defaultBackend");
  for (size_t i = 0; rules && i < rules->size(); ++i) {
    std::string p = index("spec.rules", i);
    const Json& rule = (*rules)[i];
    if (!v.isObject(rule, p)) continue;
    std::string host = v.string(rule, "host", child(p, "host"));
    if (!host.empty()) validateIngressHost(v, host, child(p, "host"));
    const Json* http = v.object(rule, "http", child(p, "http"));
    if (!http) continue;
    std::string httpPath = child(p, "http");
    const Json* paths = v.array(*http, "paths", child(httpPath, "paths"));
    if (!paths || paths->empty()) v.required(child(httpPath, "paths"));
    for (size_t j = 0; paths && j < paths->size(); ++j) {
      std::string pp = index(child(httpPath, "paths"), j);
      if (v.isObject((*paths)[j], pp)) validateIngressPath(v, (*paths)[j], pp);
    }
  }
  if (const Json* tls = v.array(spec, "tls", "spec.tls")) {
    for (size_t i = 0; i < tls->size(); ++i) {
      std::string p = index("spec.tls", i);
      if (!v.isObject((*tls)[i], p)) continue;
      auto hosts = v.stringList((*tls)[i], "hosts", child(p, "hosts"));
      for (size_t j = 0; j < hosts.size(); ++j) {
        std::string hp = index(child(p, "hosts"), j);
        if (hosts[j].find('*') != std::string::npos)
          for (const auto& msg : isWildcardDns1123Subdomain(hosts[j])) v.invalid(hp, hosts[j], msg);
        else
          validateDns1123Subdomain(v, hosts[j], hp);
      }
      std::string secretName = v.string((*tls)[i], "secretName", child(p, "secretName"));
      if (!secretName.empty()) validateDns1123Subdomain(v, secretName, child(p, "secretName"));
    }
  }
  if (auto className = v.optString(spec, "ingressClassName", "spec.ingressClassName"))
    validateDns1123Subdomain(v, *className, "spec.ingressClassName");
}

void validateIngressClass(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  std::string controller = v.string(spec, "controller", "spec.controller");
  if (controller.size() > 250) v.tooLong("spec.controller", 250);
  // IsDomainPrefixedPath
  size_t slash = controller.find('/');
  if (controller.empty()) {
    v.required("spec.controller");
  } else if (slash == std::string::npos || slash == 0 || slash + 1 == controller.size()) {
    v.invalid("spec.controller", controller,
              "must be a domain-prefixed path (such as \"acme.io/foo\")");
  } else {
    std::string host = controller.substr(0, slash), rest = controller.substr(slash + 1);
    validateDns1123Subdomain(v, host, "spec.controller");
    const std::string allowed = "/-._~%!$&'()*+,;=:";
    if (!std::all_of(rest.begin(), rest.end(),
                     [&](char c) { return isAlnum(c) || allowed.find(c) != std::string::npos; }))
      v.invalid("spec.controller", rest,
                regexError("Invalid path", "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+", {}));
  }
  if (const Json* params = v.object(spec, "parameters", "spec.parameters")) {
    for (const char* key : {"kind", "name"}) {
      std::string value = v.string(*params, key, child("spec.parameters", key));
      if (value.empty())
        v.required(child("spec.parameters", key));
      else
        validatePathSegmentName(v, value, child("spec.parameters", key));
    }
    std::string scope = v.string(*params, "scope", "spec.parameters.scope");
    std::string ns = v.string(*params, "namespace", "spec.parameters.namespace");
    if (scope.empty()) {
      if (!ns.empty())
        v.required("spec.parameters.scope",
                   "`parameters.scope` is required when `parameters.namespace` is set");
    } else if (scope != "Cluster" && scope != "Namespace") {
      v.notSupported("spec.parameters.scope", scope, {"Cluster", "Namespace"});
    } else if (scope == "Namespace" && ns.empty()) {
      v.required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'");
    } else if (scope == "Cluster" && !ns.empty()) {
      v.forbidden("spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'");
    } else if (!ns.empty()) {
      validateDns1123Label(v, ns, "spec.parameters.namespace");
    }
  }
}

// ---------------------------------------------------------------------------
// EndpointSlice and Endpoints.

void validateEndpointSlice(Validator& v, const Json& obj) {
  std::string addressType = v.string(obj, "addressType", "addressType");
  if (const Json* endpoints = v.array(obj, "endpoints", "endpoints")) {
    if (endpoints->size() > 1000) {
      v.tooMany("endpoints", endpoints->size(), 1000);
    } else {
      for (size_t i = 0; i < endpoints->size(); ++i) {
        std::string p = index("endpoints", i);
        const Json& ep = (*endpoints)[i];
        if (!v.isObject(ep, p)) continue;
        auto addresses = v.stringList(ep, "addresses", child(p, "addresses"));
        if (addresses.empty())
          v.required(child(p, "addresses"), "must contain at least 1 address");
        else if (addresses.size() > 100)
          v.tooMany(child(p, "addresses"), addresses.size(), 100);
        for (size_t j = 0; j < addresses.size(); ++j) {
          std::string ap = index(child(p, "addresses"), j);
          const std::string& address = addresses[j];
          if (addressType == "IPv4" || addressType == "IPv6") {
            auto ip = core::IpAddress::parse(address);
            if (!ip || ip->v6 != (addressType == "IPv6"))
              v.invalid(ap, address,
                        addressType == "IPv4" ? "must be a valid IPv4 address"
                                              : "must be a valid IPv6 address");
            else
              validateNonSpecialIp(v, *ip, address, ap);
          } else if (addressType == "FQDN") {
            std::string name = address;
            if (!name.empty() && name.back() == '.') name.pop_back();
            auto errs = isDns1123Subdomain(name);
            if (address.empty()) {
              v.required(ap);
            } else if (!errs.empty()) {
              std::string joined;
              for (size_t k = 0; k < errs.size(); ++k) joined += (k ? "," : "") + errs[k];
              v.invalid(ap, name, joined);
            } else if (name.find('.') == std::string::npos) {
              v.invalid(ap, name,
                        "should be a domain with at least two segments separated by dots");
            }
          }
        }
        if (auto nodeName = v.optString(ep, "nodeName", child(p, "nodeName")))
          validateDns1123Subdomain(v, *nodeName, child(p, "nodeName"));
        if (auto hostname = v.optString(ep, "hostname", child(p, "hostname")))
          validateDns1123Label(v, *hostname, child(p, "hostname"));
        validateLabelsAt(v, ep, "deprecatedTopology", child(p, "deprecatedTopology"));
      }
    }
  }
  if (const Json* ports = v.array(obj, "ports", "ports")) {
    if (ports->size() > 20000) {
      v.tooMany("ports", ports->size(), 20000);
    } else {
      std::set<std::string> names;
      for (size_t i = 0; i < ports->size(); ++i) {
        std::string p = index("ports", i);
        const Json& port = (*ports)[i];
        if (!v.isObject(port, p)) continue;
        std::string name = v.string(port, "name", child(p, "name"));
        if (!name.empty()) validateDns1123Label(v, name, child(p, "name"));
        if (!names.insert(name).second) v.duplicate(child(p, "name"), goQuote(name));
        auto protocol = v.optString(port, "protocol", child(p, "protocol"));
        if (!protocol)
          v.required(child(p, "protocol"));
        else if (!contains(kProtocols, *protocol))
          v.notSupported(child(p, "protocol"), *protocol, kProtocols);
        if (auto port_ = v.optInt(port, "port", child(p, "port")))
          for (const auto& msg : isValidPortNum(*port_)) v.invalid(child(p, "port"), *port_, msg);
        if (auto appProtocol = v.optString(port, "appProtocol", child(p, "appProtocol")))
          validateQualifiedName(v, *appProtocol, child(p, "appProtocol"));
      }
    }
  }
  validateOneOf(v, addressType, "addressType", {"FQDN", "IPv4", "IPv6"});
}

void validateEndpointAddress(Validator& v, const Json& address, const std::string& path) {
  std::string ipText = v.string(address, "ip", child(path, "ip"));
  auto ip = core::IpAddress::parse(ipText);
  if (!ip) v.invalid(child(path, "ip"), ipText, kInvalidIp);
  if (auto hostname = v.optString(address, "hostname", child(path, "hostname"));
      hostname && !hostname->empty())
    validateDns1123Label(v, *hostname, child(path, "hostname"));
  if (auto nodeName = v.optString(address, "nodeName", child(path, "nodeName")))
    validateDns1123Subdomain(v, *nodeName, child(path, "nodeName"));
  if (ip) validateNonSpecialIp(v, *ip, ipText, child(path, "ip"));
}

void validateEndpoints(Validator& v, const Json& obj) {
  const Json* subsets = v.array(obj, "subsets", "subsets");
  for (size_t i = 0; subsets && i < subsets->size(); ++i) {
    std::string p = index("subsets", i);
    const Json& subset = (*subsets)[i];
    if (!v.isObject(subset, p)) continue;
    const Json* ready = v.array(subset, "addresses", child(p, "addresses"));
    const Json* notReady = v.array(subset, "notReadyAddresses", child(p, "notReadyAddresses"));
    if ((!ready || ready->empty()) && (!notReady || notReady->empty()))
      v.required(p, "must specify `addresses` or `notReadyAddresses`");
    for (auto [list, key] :
         {std::pair{ready, "addresses"}, std::pair{notReady, "notReadyAddresses"}})
      for (size_t j = 0; list && j < list->size(); ++j) {
        std::string ap = index(child(p, key), j);
        if (v.isObject((*list)[j], ap)) validateEndpointAddress(v, (*list)[j], ap);
      }
    const Json* ports = v.array(subset, "ports", child(p, "ports"));
    for (size_t j = 0; ports && j < ports->size(); ++j) {
      std::string pp = index(child(p, "ports"), j);
      const Json& port = (*ports)[j];
      if (!v.isObject(port, pp)) continue;
      std::string name = v.string(port, "name", child(pp, "name"));
      if (ports->size() > 1 && name.empty())
        v.required(child(pp, "name"));
      else if (!name.empty())
        validateDns1123Label(v, name, child(pp, "name"));
      int64_t number = v.integer(port, "port", child(pp, "port"));
      for (const auto& msg : isValidPortNum(number)) v.invalid(child(pp, "port"), number, msg);
      validateProtocol(v, port, child(pp, "protocol"));
      if (auto appProtocol = v.optString(port, "appProtocol", child(pp, "appProtocol")))
        validateQualifiedName(v, *appProtocol, child(pp, "appProtocol"));
    }
  }
}

// ---------------------------------------------------------------------------
// Node, Namespace, Secret, ConfigMap, Event.

void validateNode(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  std::string podCIDR = v.string(spec, "podCIDR", "spec.podCIDR");
  auto podCIDRs = v.stringList(spec, "podCIDRs", "spec.podCIDRs");
  if (podCIDRs.empty() && !podCIDR.empty()) podCIDRs.push_back(podCIDR);
  if (!podCIDR.empty() && podCIDR != podCIDRs[0])
    v.invalidRendered("spec.podCIDRs", goStringSlice(podCIDRs), "first value must match `podCIDR`");
  std::optional<core::Cidr> first;
  for (size_t i = 0; i < podCIDRs.size(); ++i) {
    auto cidr = validateCidr(v, podCIDRs[i], index("spec.podCIDRs", i));
    if (i == 0) first = cidr;
    if (i == 1 && cidr && first && cidr->network.v6 == first->network.v6)
      v.invalidRendered("spec.podCIDRs", goStringSlice(podCIDRs),
                        "may specify no more than one CIDR for each IP family");
  }
  if (podCIDRs.size() > 2)
    v.invalidRendered("spec.podCIDRs", goStringSlice(podCIDRs),
                      "must contain at most one value for each IP family");
  v.optBool(spec, "unschedulable", "spec.unschedulable");
  if (const Json* taints = v.array(spec, "taints", "spec.taints")) {
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < taints->size(); ++i) {
      std::string p = index("spec.taints", i);
      const Json& taint = (*taints)[i];
      if (!v.isObject(taint, p)) continue;
      std::string key = v.string(taint, "key", child(p, "key"));
      validateQualifiedName(v, key, child(p, "key"));
      std::string value = v.string(taint, "value", child(p, "value"));
      for (const auto& msg : isValidLabelValue(value)) v.invalid(child(p, "value"), value, msg);
      std::string effect = v.string(taint, "effect", child(p, "effect"));
      validateOneOf(v, effect, child(p, "effect"), kTaintEffects);
      if (!seen.insert({key, effect}).second)
        v.duplicate(p, "core.Taint{Key:" + goQuote(key) + ", Value:" + goQuote(value) +
                           ", Effect:" + goQuote(effect) + ", TimeAdded:<nil>}");
    }
  }
}

void validateNamespace(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  auto finalizers = v.stringList(spec, "finalizers", "spec.finalizers");
  for (size_t i = 0; i < finalizers.size(); ++i) {
    std::string p = index("spec.finalizers", i);
    auto errs = isQualifiedName(finalizers[i]);
    for (const auto& msg : errs) v.invalid(p, finalizers[i], msg);
    if (errs.empty() && finalizers[i].find('/') == std::string::npos &&
        finalizers[i] != "kubernetes")
      v.invalid(p, finalizers[i],
                "name is neither a standard finalizer name nor is it fully qualified");
  }
}

constexpr size_t kMaxSecretSize = 1024 * 1024;

// The decoded length of standard base64, or -1 with the offset of the first
// bad byte, as encoding/base64 reports it.
long long base64DecodedLength(const std::string& s, size_t* badAt) {
  auto isB64 = [](char c) { return isAlnum(c) || c == '+' || c == '/'; };
  size_t n = s.size();
  if (n % 4 != 0) {
    // Go reports the offset where the input ran out.
    size_t i = 0;
    while (i < n && isB64(s[i])) ++i;
    *badAt = i < n ? i : n - (n % 4);
    return -1;
  }
  size_t pad = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (c == '=' && i >= n - 2) {
      if (i == n - 2 && s[n - 1] != '=') {
        *badAt = i;
        return -1;
      }
      ++pad;
      continue;
    }
    if (!isB64(c) || pad > 0) {
      *badAt = i;
      return -1;
    }
  }
  return (long long)(n / 4 * 3 - pad);
}

void validateDataMap(Validator& v, const Json& obj, const char* key, bool base64, size_t& total,
                     std::set<std::string>* keys) {
  const Json* data = v.object(obj, key, key);
  if (!data) return;
  for (const auto& [k, value] : data->items()) {
    std::string p = keyed(key, k);
    for (const auto& msg : isConfigMapKey(k)) v.invalid(p, k, msg);
    if (keys && !keys->insert(k).second) v.invalid(p, k, "duplicate of key present in data");
    if (value.is_null()) continue;
    if (!value.is_string()) {
      v.typeError(p, value, "string");
      continue;
    }
    const auto& s = value.get_ref<const std::string&>();
    if (base64) {
      size_t badAt = 0;
      long long length = base64DecodedLength(s, &badAt);
      if (length < 0)
        v.invalid(p, "<secret contents redacted>",
                  "illegal base64 data at input byte " + std::to_string(badAt));
      else
        total += size_t(length);
    } else {
      total += s.size();
    }
  }
}

void validateSecret(Validator& v, const Json& obj) {
  size_t total = 0;
  validateDataMap(v, obj, "data", true, total, nullptr);
  // stringData is merged into data before validation on a real server.
  validateDataMap(v, obj, "stringData", false, total, nullptr);
  if (total > kMaxSecretSize) v.tooLong("data", kMaxSecretSize);
  auto has = [&](const char* k) {
    for (const char* map : {"data", "stringData"})
      if (const Json* d = member(obj, map); d && d->is_object() && d->contains(k)) return true;
    return false;
  };
  std::string type = v.string(obj, "type", "type");
  if (type == "kubernetes.io/service-account-token") {
    const Json* annotations = member(objectOr(member(obj, "metadata")), "annotations");
    if (!annotations || stringAt(*annotations, "kubernetes.io/service-account.name").empty())
      v.required("metadata.annotations[kubernetes.io/service-account.name]");
  } else if (type == "kubernetes.io/dockercfg") {
    if (!has(".dockercfg")) v.required("data[.dockercfg]");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    if (!has(".dockerconfigjson")) v.required("data[.dockerconfigjson]");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!has("username") && !has("password")) {
      v.required("data[username]");
      v.required("data[password]");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (!has("ssh-privatekey")) v.required("data[ssh-privatekey]");
  } else if (type == "kubernetes.io/tls") {
    if (!has("tls.crt")) v.required("data[tls.crt]");
    if (!has("tls.key")) v.required("data[tls.key]");
  }
  v.optBool(obj, "immutable", "immutable");
}

void validateConfigMap(Validator& v, const Json& obj) {
  size_t total = 0;
  std::set<std::string> keys;
  validateDataMap(v, obj, "data", false, total, &keys);
  validateDataMap(v, obj, "binaryData", true, total, &keys);
  if (total > kMaxSecretSize) v.tooLong("", kMaxSecretSize);
  v.optBool(obj, "immutable", "immutable");
}

// coordination/validation ValidateLeaseSpec.
void validateLease(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  if (auto duration = v.optInt(spec, "leaseDurationSeconds", "spec.leaseDurationSeconds");
      duration && *duration <= 0)
    v.invalid("spec.leaseDurationSeconds", *duration, "must be greater than 0");
  if (auto transitions = v.optInt(spec, "leaseTransitions", "spec.leaseTransitions");
      transitions && *transitions < 0)
    v.invalid("spec.leaseTransitions", *transitions, "must be greater than or equal to 0");
}

void validateEvent(Validator& v, const Json& obj) {
  std::string ns = namespaceOf(obj);
  const Json& involved = objectOr(v.object(obj, "involvedObject", "involvedObject"));
  std::string involvedNs = v.string(involved, "namespace", "involvedObject.namespace");
  const Json* eventTime = member(obj, "eventTime");
  if (!eventTime) {
    if (involvedNs.empty() ? (!ns.empty() && ns != "default") : ns != involvedNs)
      v.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace");
  } else {
    if (involvedNs.empty() && ns != "default" && ns != "kube-system")
      v.invalid("involvedObject.namespace", involvedNs, "does not match event.namespace");
    std::string controller = v.string(obj, "reportingComponent", "reportingComponent");
    if (controller.empty()) v.required("reportingComponent");
    validateQualifiedName(v, controller, "reportingComponent");
    std::string instance = v.string(obj, "reportingInstance", "reportingInstance");
    if (instance.empty()) v.required("reportingInstance");
    if (instance.size() > 128)
      v.invalid("reportingInstance", "", "can have at most 128 characters");
    std::string action = v.string(obj, "action", "action");
    if (action.empty()) v.required("action");
    if (action.size() > 128) v.invalid("action", "", "can have at most 128 characters");
    std::string reason = v.string(obj, "reason", "reason");
    if (reason.empty()) v.required("reason");
    if (reason.size() > 128) v.invalid("reason", "", "can have at most 128 characters");
    if (v.string(obj, "message", "message").size() > 1024)
      v.invalid("message", "", "can have at most 1024 characters");
  }
  for (const auto& msg : isDns1123Subdomain(ns)) v.invalid("namespace", ns, msg);
}

// ---------------------------------------------------------------------------
// Job and CronJob (pkg/apis/batch/validation).

Json normalizedSelector(const Json* selector);

const std::vector<std::string> kJobRestartPolicies = {"OnFailure", "Never"};

// The pod template of a Job: what ValidatePodTemplateSpec checks, plus the
// Job's own restartPolicy rule.
void validateJobPodTemplate(Validator& v, const Json& jobSpec, const std::string& path) {
  const Json* templ = v.object(jobSpec, "template", path);
  if (!templ) {
    v.required(child(path, "spec.containers"));
    return;
  }
  validateTemplateMeta(v, objectOr(v.object(*templ, "metadata", child(path, "metadata"))),
                       child(path, "metadata"));
  std::string specPath = child(path, "spec");
  const Json& spec = objectOr(v.object(*templ, "spec", specPath));
  validatePodSpec(v, spec, specPath);
  std::string restartPolicy = stringAt(spec, "restartPolicy");
  if (restartPolicy == "Always" || restartPolicy.empty())
    v.required(child(specPath, "restartPolicy"), "valid values: \"OnFailure\", \"Never\"");
  else if (!contains(kJobRestartPolicies, restartPolicy))
    v.notSupported(child(specPath, "restartPolicy"), restartPolicy, kJobRestartPolicies);
}

// validateJobSpec: what a Job and a CronJob's jobTemplate share.
void validateJobSpecFields(Validator& v, const Json& spec, const std::string& path) {
  auto parallelism = v.optInt(spec, "parallelism", child(path, "parallelism"));
  validateNonnegative(v, parallelism, child(path, "parallelism"));
  auto completions = v.optInt(spec, "completions", child(path, "completions"));
  validateNonnegative(v, completions, child(path, "completions"));
  for (const char* key : {"activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                          "backoffLimitPerIndex", "maxFailedIndexes"})
    validateNonnegative(
        v, v.optInt(spec, key, child(path, key), std::string_view(key) != "activeDeadlineSeconds"),
        child(path, key));
  bool perIndex = member(spec, "backoffLimitPerIndex") != nullptr;
  if (member(spec, "maxFailedIndexes") && !perIndex)
    v.required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified");
  std::optional<std::string> mode =
      v.optString(spec, "completionMode", child(path, "completionMode"));
  if (mode) {
    if (*mode != "NonIndexed" && *mode != "Indexed")
      v.notSupported(child(path, "completionMode"), *mode, {"NonIndexed", "Indexed"});
    if (*mode == "Indexed") {
      if (!completions) v.required(child(path, "completions"), "when completion mode is Indexed");
      if (parallelism && *parallelism > 100000)
        v.invalid(child(path, "parallelism"), *parallelism,
                  "must be less than or equal to 100000 when completion mode is Indexed");
    }
  }
  if (!mode || *mode == "NonIndexed") {
    for (const char* key : {"backoffLimitPerIndex", "maxFailedIndexes"})
      if (auto value = v.optInt(spec, key, child(path, key)))
        v.invalid(child(path, key), *value, "requires indexed completion mode");
  }
  if (auto replacement =
          v.optString(spec, "podReplacementPolicy", child(path, "podReplacementPolicy"))) {
    if (member(spec, "podFailurePolicy")) {
      if (*replacement != "Failed")
        v.notSupported(child(path, "podReplacementPolicy"), *replacement, {"Failed"});
    } else if (*replacement != "Failed" && *replacement != "TerminatingOrFailed") {
      v.notSupported(child(path, "podReplacementPolicy"), *replacement,
                     {"Failed", "TerminatingOrFailed"});
    }
  }
  v.optBool(spec, "suspend", child(path, "suspend"));
  v.optBool(spec, "manualSelector", child(path, "manualSelector"));
  validateJobPodTemplate(v, spec, child(path, "template"));
}

// A selector's labels as a Go map, for "does not match" messages.
std::string templateLabelsRendered(const Json& spec) {
  const Json* labels = nullptr;
  if (const Json* templ = member(spec, "template"))
    if (const Json* meta = member(*templ, "metadata")) labels = member(*meta, "labels");
  return goStringMap(labels ? stringMap(*labels) : std::map<std::string, std::string>{},
                     !labels || !labels->is_object());
}

void validateJob(Validator& v, const Json& obj) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  const Json& meta = objectOr(member(obj, "metadata"));
  const Json* selectorJson = member(spec, "selector");
  std::map<std::string, std::string> templateLabels;
  if (const Json* templ = member(spec, "template"))
    if (const Json* templMeta = member(*templ, "metadata"))
      if (const Json* labels = member(*templMeta, "labels")) templateLabels = stringMap(*labels);

  // validateGeneratedSelector.
  bool manual = member(spec, "manualSelector") && spec["manualSelector"] == true;
  if (!manual && selectorJson && !selectorJson->is_null()) {
    std::string uid = stringAt(meta, "uid");
    std::string name = stringAt(meta, "name");
    if (uid.empty()) v.required("metadata.uid");
    const std::string labelsPath = "spec.template.metadata.labels";
    auto hasLabel = [&](const char* key, const std::string& expected) {
      auto it = templateLabels.find(key);
      if (it == templateLabels.end())
        v.required(keyed(labelsPath, key), expected);
      else if (it->second != expected)
        v.invalidRendered(keyed(labelsPath, key), goStringMap(templateLabels, false),
                          "must be '" + expected + "'");
    };
    hasLabel("controller-uid", uid);
    hasLabel("job-name", name);
    hasLabel("batch.kubernetes.io/controller-uid", uid);
    hasLabel("batch.kubernetes.io/job-name", name);
    if (auto selector = LabelSelector::fromJson(*selectorJson);
        selector && !selector->matches({{"controller-uid", uid},
                                        {"job-name", name},
                                        {"batch.kubernetes.io/controller-uid", uid},
                                        {"batch.kubernetes.io/job-name", name}}))
      v.invalidRendered("spec.selector", goLabelSelector(*selectorJson),
                        "`selector` not auto-generated");
  }

  // ValidateJobSpec.
  validateJobSpecFields(v, spec, "spec");
  if (!selectorJson || selectorJson->is_null()) {
    v.required("spec.selector");
  } else {
    validateLabelSelector(v, *selectorJson, "spec.selector");
    if (auto selector = LabelSelector::fromJson(*selectorJson);
        selector && !selector->matches(templateLabels))
      v.invalidRendered("spec.template.metadata.labels", templateLabelsRendered(spec),
                        "`selector` does not match template `labels`");
  }
  // Indexed pods are named <job>-<index>: the last one must be a DNS label.
  if (stringAt(spec, "completionMode") == "Indexed") {
    const Json* completions = member(spec, "completions");
    if (completions && completions->is_number_integer() && completions->get<int64_t>() > 0) {
      std::string hostname =
          stringAt(meta, "name") + "-" + std::to_string(completions->get<int64_t>() - 1);
      if (!isDns1123Label(hostname).empty())
        v.invalid("metadata.name", stringAt(meta, "name"),
                  "will not able to create pod with invalid DNS label: " + hostname);
    }
  }
}

// The IANA naming rules (data.iana.org/time-zones/theory.html), as upstream
// checks them before loading the zone.
bool validTimeZoneName(const std::string& name) {
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string part = name.substr(start, slash == std::string::npos ? name.npos : slash - start);
    if (part.empty() || part.size() > 14 || part == "." || part == ".." || part[0] == '-')
      return false;
    for (char c : part)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_' &&
          c != '+')
        return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

void validateTimeZone(Validator& v, const Json& spec) {
  const Json* zone = member(spec, "timeZone");
  if (!zone || zone->is_null()) return;
  auto name = v.optString(spec, "timeZone", "spec.timeZone");
  if (!name) return;
  if (name->empty()) {
    v.invalid("spec.timeZone", *name, "timeZone must be nil or non-empty string");
    return;
  }
  if (!validTimeZoneName(*name)) {
    v.invalid("spec.timeZone", *name, "unknown time zone " + *name);
    return;
  }
  std::string lower = *name;
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "local") {
    v.invalid("spec.timeZone", *name,
              "timeZone must be an explicit time zone as defined in "
              "https://www.iana.org/time-zones");
    if (*name == "Local") return;  // Go's LoadLocation knows "Local"
  }
  if (auto loaded = core::TimeZone::load(*name); !loaded)
    v.invalid("spec.timeZone", *name, loaded.error().message);
}

void validateCronJob(Validator& v, const Json& obj, const Json* old) {
  const Json& spec = objectOr(v.object(obj, "spec", "spec"));
  const Json* oldSpec = old ? member(*old, "spec") : nullptr;
  std::string schedule = v.string(spec, "schedule", "spec.schedule");
  if (schedule.empty()) {
    v.required("spec.schedule");
  } else {
    if (auto parsed = core::parseCron(schedule); !parsed)
      v.invalid("spec.schedule", schedule, parsed.error().message);
    bool allowTz = oldSpec && stringAt(*oldSpec, "schedule").find("TZ") != std::string::npos;
    bool hasTz = schedule.find("TZ") != std::string::npos;
    if (allowTz && hasTz && member(spec, "timeZone"))
      v.invalid("spec.schedule", schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule");
    else if (!allowTz && hasTz)
      v.invalid("spec.schedule", schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  validateNonnegative(
      v, v.optInt(spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds", false),
      "spec.startingDeadlineSeconds");
  const Json* zone = member(spec, "timeZone");
  const Json* oldZone = oldSpec ? member(*oldSpec, "timeZone") : nullptr;
  if (!oldSpec || (zone ? Json(*zone) : Json()) != (oldZone ? Json(*oldZone) : Json()))
    validateTimeZone(v, spec);
  validateOneOf(v, v.string(spec, "concurrencyPolicy", "spec.concurrencyPolicy"),
                "spec.concurrencyPolicy", {"Allow", "Forbid", "Replace"});
  // ValidateJobTemplateSpec.
  const Json& jobTemplate = objectOr(v.object(spec, "jobTemplate", "spec.jobTemplate"));
  const Json& jobSpec = objectOr(v.object(jobTemplate, "spec", "spec.jobTemplate.spec"));
  validateJobSpecFields(v, jobSpec, "spec.jobTemplate.spec");
  if (const Json* selector = member(jobSpec, "selector"); selector && !selector->is_null())
    v.invalidRendered("spec.jobTemplate.spec.selector", goLabelSelector(*selector),
                      "`selector` will be auto-generated");
  if (member(jobSpec, "manualSelector") && jobSpec["manualSelector"] == true)
    v.notSupportedRendered("spec.jobTemplate.spec.manualSelector", "true", {"nil", "false"});
  for (const char* key : {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"})
    validateNonnegative(v, v.optInt(spec, key, child("spec", key)), child("spec", key));
  // The controller names Jobs <cronjob>-<minutes>: 11 more characters.
  if (!old) {
    std::string name = stringAt(objectOr(member(obj, "metadata")), "name");
    if (name.size() > 52) v.invalid("metadata.name", name, "must be no more than 52 characters");
  }
}

// ValidateJobSpecUpdate: what may not change once a Job exists.
void validateJobUpdate(Validator& v, const Json& spec, const Json& oldSpec, bool started) {
  auto immutable = [&](const char* key) {
    const Json* now = member(spec, key);
    const Json* before = member(oldSpec, key);
    Json a = now ? *now : Json(), b = before ? *before : Json();
    if (a == b) return false;
    v.invalidRendered(child("spec", key), now ? render(*now) : "null", "field is immutable");
    return true;
  };
  immutable("completions");
  if (normalizedSelector(member(spec, "selector")) !=
      normalizedSelector(member(oldSpec, "selector"))) {
    const Json* selector = member(spec, "selector");
    v.invalidRendered("spec.selector", selector ? goLabelSelector(*selector) : "nil",
                      "field is immutable");
  }
  for (const char* key :
       {"completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"})
    immutable(key);
  // The template, except scheduling directives of a suspended Job that never
  // started (AllowMutableSchedulingDirectives).
  Json templ = objectOr(member(spec, "template"));
  Json oldTempl = objectOr(member(oldSpec, "template"));
  bool suspended = member(oldSpec, "suspend") && oldSpec["suspend"] == true;
  if (suspended && !started) {
    for (Json* t : {&templ, &oldTempl}) {
      if (t->contains("metadata") && (*t)["metadata"].is_object()) {
        (*t)["metadata"].erase("labels");
        (*t)["metadata"].erase("annotations");
      }
      if (t->contains("spec") && (*t)["spec"].is_object())
        for (const char* key : {"nodeSelector", "tolerations", "schedulingGates", "affinity"})
          (*t)["spec"].erase(key);
    }
  }
  if (templ != oldTempl)
    v.invalidRendered("spec.template", "core.PodTemplateSpec{...}", "field is immutable");
}

// ---------------------------------------------------------------------------
// Updates.

void validateImmutableString(Validator& v, const std::string& now, const std::string& before,
                             const std::string& path) {
  if (now != before) v.invalid(path, now, "field is immutable");
}

// Selectors compare as Go's apiequality.Semantic.DeepEqual does on the
// decoded structs: an empty map or list equals a missing one.
Json normalizedSelector(const Json* selector) {
  Json out = Json::object();
  if (!selector || !selector->is_object()) return out;
  for (const char* key : {"matchLabels", "matchExpressions"})
    if (const Json* v = member(*selector, key); v && !v->empty()) out[key] = *v;
  return out;
}

// Pod spec fields an update may change (ValidatePodUpdate).
Json mutablePodFieldsCleared(const Json& spec) {
  Json out = spec.is_object() ? spec : Json::object();
  for (const char* list : {"containers", "initContainers"})
    if (auto it = out.find(list); it != out.end() && it->is_array())
      for (auto& c : *it)
        if (c.is_object()) c.erase("image");
  out.erase("activeDeadlineSeconds");
  out.erase("tolerations");
  out.erase("terminationGracePeriodSeconds");
  return out;
}

// ---------------------------------------------------------------------------
// PersistentVolumeClaim and PersistentVolume (pkg/apis/core/validation:
// ValidatePersistentVolumeClaim, ValidatePersistentVolume and their updates),
// StorageClass (pkg/apis/storage/validation).

// sets.List order, as NotSupported lists them.
const std::vector<std::string> kAccessModes = {"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
                                               "ReadWriteOncePod"};
const std::vector<std::string> kVolumeModes = {"Block", "Filesystem"};
const std::vector<std::string> kPvReclaimPolicies = {"Delete", "Recycle", "Retain"};
const std::vector<std::string> kHostPathTypes = {
    "",     "BlockDevice",  "CharDevice", "Directory", "DirectoryOrCreate",
    "File", "FileOrCreate", "Socket"};

// A quantity of a resource map, or nullopt after reporting why it is none.
std::optional<Quantity> quantityAt(Validator& v, const Json& value, const std::string& path) {
  std::string error;
  auto q = Quantity::fromJson(value, &error);
  if (!q) v.invalidRendered(path, render(value), error);
  return q;
}

// ValidatePositiveQuantityValue: the canonical text in the message.
void validatePositiveQuantity(Validator& v, const Quantity& q, const std::string& path) {
  if (q.sign() <= 0) v.invalid(path, q.toString(), "must be greater than zero");
}

void validateAccessModes(Validator& v, const Json& spec, const std::string& path,
                         const std::string& requiredDetail) {
  std::string modesPath = child(path, "accessModes");
  auto modes = v.stringList(spec, "accessModes", modesPath);
  if (modes.empty()) v.required(modesPath, requiredDetail);
  bool readWriteOncePod = false, others = false;
  for (const auto& mode : modes) {
    if (!contains(kAccessModes, mode)) v.notSupported(modesPath, mode, kAccessModes);
    if (mode == "ReadWriteOncePod")
      readWriteOncePod = true;
    else if (contains(kAccessModes, mode))
      others = true;
  }
  if (readWriteOncePod && others)
    v.forbidden(modesPath, "may not use ReadWriteOncePod with other access modes");
}

// A class name (storageClassName, volumeAttributesClassName): a DNS subdomain.
void validateClassName(Validator& v, const Json& obj, const char* key, const std::string& path) {
  if (auto name = v.optString(obj, key, path); name && !name->empty())
    validateDns1123Subdomain(v, *name, path);
}

void validateVolumeMode(Validator& v, const Json& spec, const std::string& path) {
  if (auto mode = v.optString(spec, "volumeMode", path); mode && !contains(kVolumeModes, *mode))
    v.notSupported(path, *mode, kVolumeModes);
}

// validateDataSource / validateDataSourceRef.
void validateDataSourceReference(Validator& v, const Json& ref, const std::string& path,
                                 bool withNamespace) {
  if (v.string(ref, "name", child(path, "name")).empty()) v.required(child(path, "name"));
  std::string kind = v.string(ref, "kind", child(path, "kind"));
  if (kind.empty()) v.required(child(path, "kind"));
  if (v.string(ref, "apiGroup", child(path, "apiGroup")).empty() && kind != "PersistentVolumeClaim")
    v.invalid(path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup");
  if (!withNamespace) return;
  std::string ns = v.string(ref, "namespace", child(path, "namespace"));
  if (!ns.empty()) validateDns1123Label(v, ns, child(path, "namespace"));
}

void validatePersistentVolumeClaim(Validator& v, const Json& obj) {
  const std::string path = "spec";
  const Json& spec = objectOr(v.object(obj, "spec", path));
  validateAccessModes(v, spec, path, "at least 1 access mode is required");
  if (const Json* selector = member(spec, "selector"))
    validateLabelSelector(v, *selector, child(path, "selector"));

  // Upstream names the storage request spec.resources[storage].
  std::string storagePath = keyed(child(path, "resources"), "storage");
  const Json& resources = objectOr(v.object(spec, "resources", child(path, "resources")));
  const Json& requests =
      objectOr(v.object(resources, "requests", child(path, "resources.requests")));
  if (const Json* storage = member(requests, "storage")) {
    if (auto q = quantityAt(v, *storage, keyed(child(path, "resources.requests"), "storage")))
      validatePositiveQuantity(v, *q, storagePath);
  } else {
    v.required(storagePath);
  }
  // The other quantities only have to parse (upstream's decoder refuses them).
  const Json* limits = v.object(resources, "limits", child(path, "resources.limits"));
  for (auto [map, values] : {std::pair{"requests", &requests}, std::pair{"limits", limits}}) {
    if (!values) continue;
    for (const auto& [name, value] : values->items())
      if (std::string(map) != "requests" || name != "storage")
        (void)quantityAt(v, value, keyed(child(path, "resources." + std::string(map)), name));
  }

  validateClassName(v, spec, "storageClassName", child(path, "storageClassName"));
  validateVolumeMode(v, spec, child(path, "volumeMode"));
  const Json* dataSource = v.object(spec, "dataSource", child(path, "dataSource"));
  const Json* dataSourceRef = v.object(spec, "dataSourceRef", child(path, "dataSourceRef"));
  if (dataSource) validateDataSourceReference(v, *dataSource, child(path, "dataSource"), false);
  if (dataSourceRef)
    validateDataSourceReference(v, *dataSourceRef, child(path, "dataSourceRef"), true);
  if (dataSourceRef && !stringAt(*dataSourceRef, "namespace").empty()) {
    if (dataSource)
      v.invalidRendered(path, child(path, "dataSource"),
                        "may not be specified when dataSourceRef.namespace is specified");
  } else if (dataSource && dataSourceRef) {
    bool same = true;
    for (const char* key : {"apiGroup", "kind", "name"})
      same = same && stringAt(*dataSource, key) == stringAt(*dataSourceRef, key) &&
             (member(*dataSource, key) == nullptr) == (member(*dataSourceRef, key) == nullptr);
    if (!same) v.invalidRendered(path, child(path, "dataSource"), "must match dataSourceRef");
  }
  validateClassName(v, spec, "volumeAttributesClassName", child(path, "volumeAttributesClassName"));
}

// ValidateNodeSelectorRequirement / ValidateNodeFieldSelectorRequirement.
void validateNodeSelectorRequirement(Validator& v, const Json& req, const std::string& path,
                                     bool field) {
  std::string op = v.string(req, "operator", child(path, "operator"));
  auto values = v.stringList(req, "values", child(path, "values"));
  std::string key = v.string(req, "key", child(path, "key"));
  if (field) {
    if (op == "In" || op == "NotIn") {
      if (values.size() != 1)
        v.required(child(path, "values"),
                   "must be only one value when `operator` is 'In' or 'NotIn' for node field "
                   "selector");
    } else {
      v.invalid(child(path, "operator"), op, "not a valid selector operator");
    }
    if (key != "metadata.name") {
      v.invalid(child(path, "key"), key, "not a valid field selector key");
    } else {
      for (size_t i = 0; i < values.size(); ++i)
        validateDns1123Subdomain(v, values[i], index(child(path, "values"), i));
    }
    return;
  }
  if (op == "In" || op == "NotIn") {
    if (values.empty())
      v.required(child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
  } else if (op == "Exists" || op == "DoesNotExist") {
    if (!values.empty())
      v.forbidden(child(path, "values"),
                  "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  } else if (op == "Gt" || op == "Lt") {
    if (values.size() != 1)
      v.required(child(path, "values"),
                 "must be specified single value when `operator` is 'Lt' or 'Gt'");
  } else {
    v.invalid(child(path, "operator"), op, "not a valid selector operator");
  }
  validateQualifiedName(v, key, child(path, "key"));
}

// ValidateNodeSelector.
void validateNodeSelector(Validator& v, const Json& selector, const std::string& path) {
  std::string termsPath = child(path, "nodeSelectorTerms");
  const Json* terms = v.array(selector, "nodeSelectorTerms", termsPath);
  if (!terms || terms->empty()) {
    v.required(termsPath, "must have at least one node selector term");
    return;
  }
  for (size_t i = 0; i < terms->size(); ++i) {
    std::string termPath = index(termsPath, i);
    if (!v.isObject((*terms)[i], termPath)) continue;
    for (auto [key, field] : {std::pair{"matchExpressions", false}, std::pair{"matchFields", true}})
      if (const Json* reqs = v.array((*terms)[i], key, child(termPath, key)))
        for (size_t j = 0; j < reqs->size(); ++j) {
          std::string reqPath = index(child(termPath, key), j);
          if (v.isObject((*reqs)[j], reqPath))
            validateNodeSelectorRequirement(v, (*reqs)[j], reqPath, field);
        }
  }
}

// validatePathNoBacksteps.
void validateNoBacksteps(Validator& v, const std::string& value, const std::string& path) {
  size_t start = 0;
  while (start <= value.size()) {
    size_t slash = value.find('/', start);
    if (slash == std::string::npos) slash = value.size();
    if (value.compare(start, slash - start, "..") == 0) {
      v.invalid(path, value, "must not contain '..'");
      return;
    }
    start = slash + 1;
  }
}

// Go's path.Clean for the one question asked of it: is this "/"?
bool cleansToRoot(const std::string& value) {
  if (value.empty() || value[0] != '/') return false;
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= value.size()) {
    size_t slash = value.find('/', start);
    if (slash == std::string::npos) slash = value.size();
    std::string part = value.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  return parts.empty();
}

// ValidateCSIDriverName.
void validateCsiDriverName(Validator& v, const std::string& driver, const std::string& path) {
  if (driver.empty()) v.required(path);
  if (driver.size() > 63) v.tooLong(path, 63);
  std::string lower = driver;
  for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& msg : isDns1123Subdomain(lower)) v.invalid(path, driver, msg);
}

// validatePVSecretReference.
void validatePvSecretReference(Validator& v, const Json& ref, const std::string& path) {
  std::string name = v.string(ref, "name", child(path, "name"));
  if (name.empty())
    v.required(child(path, "name"));
  else
    validateDns1123Subdomain(v, name, child(path, "name"));
  std::string ns = v.string(ref, "namespace", child(path, "namespace"));
  if (ns.empty())
    v.required(child(path, "namespace"));
  else
    validateDns1123Label(v, ns, child(path, "namespace"));
}

// The volume sources of a PersistentVolume in the order ValidatePersistentVolumeSpec
// checks them, with the field name its "more than 1 volume type" error uses.
const std::vector<std::pair<const char*, const char*>> kPersistentVolumeSources = {
    {"hostPath", "hostPath"},
    {"gcePersistentDisk", "gcePersistentDisk"},
    {"awsElasticBlockStore", "awsElasticBlockStore"},
    {"glusterfs", "glusterfs"},
    {"flocker", "flocker"},
    {"nfs", "nfs"},
    {"rbd", "rbd"},
    {"quobyte", "quobyte"},
    {"cephfs", "cephFS"},
    {"iscsi", "iscsi"},
    {"cinder", "cinder"},
    {"fc", "fc"},
    {"flexVolume", ""},  // counted, never refused as a second source
    {"azureFile", "azureFile"},
    {"vsphereVolume", "vsphereVolume"},
    {"photonPersistentDisk", "photonPersistentDisk"},
    {"portworxVolume", "portworxVolume"},
    {"azureDisk", "azureDisk"},
    {"scaleIO", "scaleIO"},
    {"local", "local"},
    {"storageos", "storageos"},
    {"csi", "csi"},
};

void validatePersistentVolumeSource(Validator& v, const std::string& key, const Json& source,
                                    const std::string& path, bool nodeAffinitySpecified) {
  // The free-form sources (cloud and storage-system plugins) are only counted.
  if (key == "hostPath") {
    std::string value = v.string(source, "path", child(path, "path"));
    if (value.empty()) {
      v.required(child(path, "path"));
      return;
    }
    validateNoBacksteps(v, value, child(path, "path"));
    if (auto type = v.optString(source, "type", child(path, "type"));
        type && !contains(kHostPathTypes, *type))
      v.notSupported(child(path, "type"), *type, kHostPathTypes);
  } else if (key == "nfs") {
    if (v.string(source, "server", child(path, "server")).empty())
      v.required(child(path, "server"));
    std::string value = v.string(source, "path", child(path, "path"));
    if (value.empty()) v.required(child(path, "path"));
    if (value.empty() || value[0] != '/')
      v.invalid(child(path, "path"), value, "must be an absolute path");
  } else if (key == "local") {
    std::string value = v.string(source, "path", child(path, "path"));
    if (value.empty())
      v.required(child(path, "path"));
    else
      validateNoBacksteps(v, value, child(path, "path"));
    if (!nodeAffinitySpecified)
      v.required("spec.nodeAffinity", "Local volume requires node affinity");
  } else if (key == "csi") {
    validateCsiDriverName(v, v.string(source, "driver", child(path, "driver")),
                          child(path, "driver"));
    if (v.string(source, "volumeHandle", child(path, "volumeHandle")).empty())
      v.required(child(path, "volumeHandle"));
    for (const char* ref : {"controllerPublishSecretRef", "controllerExpandSecretRef",
                            "nodePublishSecretRef", "nodeExpandSecretRef"})
      if (const Json* secret = v.object(source, ref, child(path, ref)))
        validatePvSecretReference(v, *secret, child(path, ref));
  }
}

// checkMountOption of pkg/volume/validation: the mount-options annotation
// only for the volume types that take mount options.
void validateMountOptionAnnotation(Validator& v, const Json& obj, const Json& spec) {
  for (const char* key :
       {"gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "nfs", "rbd", "quobyte", "iscsi",
        "cinder", "cephfs", "azureFile", "vsphereVolume", "azureDisk", "photonPersistentDisk"})
    if (const Json* source = member(spec, key); source && !source->is_null()) return;
  const Json& annotations = objectOr(member(objectOr(member(obj, "metadata")), "annotations"));
  if (member(annotations, "volume.beta.kubernetes.io/mount-options"))
    v.forbidden("metadata.annotations.volume.beta.kubernetes.io/mount-options",
                "may not specify mount options for this volume type");
}

// Go's %#v of a core.ResourceList, quantities shown by their text.
std::string goResourceList(const Json* capacity) {
  if (!capacity || !capacity->is_object()) return "core.ResourceList(nil)";
  std::string out = "core.ResourceList{";
  bool first = true;
  for (const auto& [name, value] : capacity->items()) {
    if (!first) out += ", ";
    first = false;
    out += goQuote(name) + ":" + render(value);
  }
  return out + "}";
}

void validatePersistentVolume(Validator& v, const Json& obj) {
  const std::string path = "spec";
  const Json& spec = objectOr(v.object(obj, "spec", path));
  validateAccessModes(v, spec, path, "");

  std::string capacityPath = child(path, "capacity");
  const Json* capacity = v.object(spec, "capacity", capacityPath);
  if (!capacity || capacity->empty()) v.required(capacityPath);
  if (!capacity || !member(*capacity, "storage") || capacity->size() > 1)
    v.notSupportedRendered(capacityPath, goResourceList(capacity), {"storage"});
  if (capacity)
    for (const auto& [name, value] : capacity->items())
      if (auto q = quantityAt(v, value, keyed(capacityPath, name))) {
        if (q->value() < 0)
          v.invalid(keyed(capacityPath, name), q->value(), "must be a valid resource quantity");
        validatePositiveQuantity(v, *q, keyed(capacityPath, name));
      }

  std::string policy =
      v.string(spec, "persistentVolumeReclaimPolicy", child(path, "persistentVolumeReclaimPolicy"));
  if (!policy.empty() && !contains(kPvReclaimPolicies, policy))
    v.notSupported(child(path, "persistentVolumeReclaimPolicy"), policy, kPvReclaimPolicies);

  bool nodeAffinitySpecified = false;
  if (const Json* affinity = v.object(spec, "nodeAffinity", child(path, "nodeAffinity"))) {
    nodeAffinitySpecified = true;
    std::string requiredPath = child(path, "nodeAffinity.required");
    if (const Json* required = v.object(*affinity, "required", requiredPath))
      validateNodeSelector(v, *required, requiredPath);
    else
      v.required(requiredPath, "must specify required node constraints");
  }

  int sources = 0;
  for (const auto& [key, name] : kPersistentVolumeSources) {
    const Json* source = member(spec, key);
    if (!source || source->is_null()) continue;
    if (!source->is_object()) {
      v.typeError(child(path, key), *source, "object");
      continue;
    }
    if (sources > 0 && *name) {
      v.forbidden(child(path, name), "may not specify more than 1 volume type");
      continue;
    }
    ++sources;
    validatePersistentVolumeSource(v, key, *source, child(path, key), nodeAffinitySpecified);
  }
  if (sources == 0) v.required(path, "must specify a volume type");

  if (const Json* hostPath = member(spec, "hostPath");
      hostPath && cleansToRoot(stringAt(*hostPath, "path")) && policy == "Recycle")
    v.forbidden(child(path, "persistentVolumeReclaimPolicy"),
                "may not be 'recycle' for a hostPath mount of '/'");
  validateClassName(v, spec, "storageClassName", child(path, "storageClassName"));
  validateVolumeMode(v, spec, child(path, "volumeMode"));
  std::string classPath = child(path, "volumeAttributesClassName");
  if (auto name = v.optString(spec, "volumeAttributesClassName", classPath)) {
    if (name->empty())
      v.required(classPath, "an empty string is disallowed");
    else
      validateDns1123Subdomain(v, *name, classPath);
    if (!member(spec, "csi"))
      v.required(child(path, "csi"), "has to be specified when using volumeAttributesClassName");
  }
  validateMountOptionAnnotation(v, obj, spec);
}

// ValidateStorageClass.
const std::vector<std::string> kStorageClassReclaimPolicies = {"Delete", "Retain"};
const std::vector<std::string> kVolumeBindingModes = {"Immediate", "WaitForFirstConsumer"};
constexpr size_t kMaxProvisionerParameters = 512;
constexpr size_t kMaxProvisionerParameterSize = 256 * 1024;

void validateStorageClass(Validator& v, const Json& obj) {
  std::string provisioner = v.string(obj, "provisioner", "provisioner");
  if (provisioner.empty()) {
    v.required("provisioner");
  } else {
    std::string lower = provisioner;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& msg : isQualifiedName(lower)) v.invalid("provisioner", provisioner, msg);
  }

  auto parameters = v.stringMap(obj, "parameters", "parameters");
  if (parameters.size() > kMaxProvisionerParameters) {
    v.tooLong("parameters", kMaxProvisionerParameters);
  } else {
    size_t total = 0;
    for (const auto& [key, value] : parameters) {
      if (key.empty()) v.invalid("parameters", key, "field can not be empty.");
      total += key.size() + value.size();
    }
    if (total > kMaxProvisionerParameterSize) v.tooLong("parameters", kMaxProvisionerParameterSize);
  }

  if (auto policy = v.optString(obj, "reclaimPolicy", "reclaimPolicy");
      policy && !policy->empty() && !contains(kStorageClassReclaimPolicies, *policy))
    v.notSupported("reclaimPolicy", *policy, kStorageClassReclaimPolicies);
  if (auto mode = v.optString(obj, "volumeBindingMode", "volumeBindingMode"); !mode)
    v.required("volumeBindingMode");
  else if (!contains(kVolumeBindingModes, *mode))
    v.notSupported("volumeBindingMode", *mode, kVolumeBindingModes);

  // validateAllowedTopologies / ValidateTopologySelectorTerm.
  const Json* topologies = v.array(obj, "allowedTopologies", "allowedTopologies");
  std::vector<std::map<std::string, std::set<std::string>>> seenTerms;
  for (size_t i = 0; topologies && i < topologies->size(); ++i) {
    std::string termPath = index("allowedTopologies", i);
    if (!v.isObject((*topologies)[i], termPath)) continue;
    std::string exprsPath = child(termPath, "matchLabelExpressions");
    std::map<std::string, std::set<std::string>> term;
    if (const Json* exprs = v.array((*topologies)[i], "matchLabelExpressions", exprsPath)) {
      for (size_t j = 0; j < exprs->size(); ++j) {
        std::string exprPath = index(exprsPath, j);
        const Json& expr = (*exprs)[j];
        if (!v.isObject(expr, exprPath)) continue;
        auto values = v.stringList(expr, "values", child(exprPath, "values"));
        if (values.empty()) v.required(child(exprPath, "values"));
        std::set<std::string> valueSet;
        for (size_t k = 0; k < values.size(); ++k)
          if (!valueSet.insert(values[k]).second)
            v.duplicate(index(child(exprPath, "values"), k), goQuote(values[k]));
        std::string key = v.string(expr, "key", child(exprPath, "key"));
        validateQualifiedName(v, key, child(exprPath, "key"));
        if (term.count(key)) v.duplicate(child(exprPath, "key"), goQuote(key));
        term[key] = std::move(valueSet);
      }
    }
    for (const auto& seen : seenTerms)
      if (seen == term) v.duplicate(exprsPath, "\"\"");
    seenTerms.push_back(std::move(term));
  }
}

// apiequality.Semantic.DeepEqual on decoded structs: null members, empty
// lists and empty maps equal missing ones.
Json semantic(const Json& value) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) {
      Json normalized = semantic(item);
      if (normalized.is_null() || (normalized.is_structured() && normalized.empty())) continue;
      out[key] = std::move(normalized);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(semantic(item));
    return out;
  }
  return value;
}

// cmp.Diff of two structs, field by field in Go's field order: what
// upstream appends to its "is immutable" messages (only the shape: values
// are shown as JSON, not as Go literals).
std::string structDiff(const char* type, const Json& before, const Json& after,
                       const std::vector<std::pair<const char*, const char*>>& fields) {
  auto show = [](const Json* value) {
    if (!value || value->is_null()) return std::string("nil");
    return value->is_string() ? goQuote(value->get<std::string>()) : value->dump();
  };
  std::string out = std::string("  ") + type + "{\n";
  size_t identical = 0;
  auto flush = [&] {
    if (identical > 0)
      out += "  \t... // " + std::to_string(identical) + " identical field" +
             (identical == 1 ? "" : "s") + "\n";
    identical = 0;
  };
  for (const auto& [json, go] : fields) {
    const Json* a = member(before, json);
    const Json* b = member(after, json);
    if ((a ? *a : Json()) == (b ? *b : Json())) {
      ++identical;
      continue;
    }
    flush();
    out += std::string("- \t") + go + ": " + show(a) + ",\n";
    out += std::string("+ \t") + go + ": " + show(b) + ",\n";
  }
  flush();
  return out + "  }\n";
}

const std::vector<std::pair<const char*, const char*>> kClaimSpecFields = {
    {"accessModes", "AccessModes"},
    {"selector", "Selector"},
    {"resources", "Resources"},
    {"volumeName", "VolumeName"},
    {"storageClassName", "StorageClassName"},
    {"volumeMode", "VolumeMode"},
    {"dataSource", "DataSource"},
    {"dataSourceRef", "DataSourceRef"},
    {"volumeAttributesClassName", "VolumeAttributesClassName"},
};

// The internal core.PersistentVolumeSource's field order.
const std::vector<std::pair<const char*, const char*>> kVolumeSourceFields = {
    {"gcePersistentDisk", "GCEPersistentDisk"},
    {"awsElasticBlockStore", "AWSElasticBlockStore"},
    {"hostPath", "HostPath"},
    {"glusterfs", "Glusterfs"},
    {"nfs", "NFS"},
    {"rbd", "RBD"},
    {"quobyte", "Quobyte"},
    {"iscsi", "ISCSI"},
    {"flexVolume", "FlexVolume"},
    {"cinder", "Cinder"},
    {"cephfs", "CephFS"},
    {"fc", "FC"},
    {"flocker", "Flocker"},
    {"azureFile", "AzureFile"},
    {"vsphereVolume", "VsphereVolume"},
    {"azureDisk", "AzureDisk"},
    {"photonPersistentDisk", "PhotonPersistentDisk"},
    {"portworxVolume", "PortworxVolume"},
    {"scaleIO", "ScaleIO"},
    {"local", "Local"},
    {"storageos", "StorageOS"},
    {"csi", "CSI"},
};

const char* const kBetaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class";

// The member at `key` when it is an object, else an empty one: the update
// rules below edit copies of these, so a mistyped field must not reach them.
const Json& objectIn(const Json& obj, const char* key) {
  const Json* value = member(obj, key);
  return value && value->is_object() ? *value : emptyObject();
}

// A string field that may be nil (Go *string): nullopt when absent or null.
std::optional<std::string> optionalString(const Json& obj, const char* key) {
  const Json* value = member(obj, key);
  if (!value || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

std::optional<std::string> annotation(const Json& obj, const char* key) {
  return optionalString(objectOr(member(objectOr(member(obj, "metadata")), "annotations")), key);
}

// The "storage" request of a claim spec, zero when there is none.
Quantity storageRequest(const Json& spec) {
  const Json& requests = objectOr(member(objectOr(member(spec, "resources")), "requests"));
  if (const Json* storage = member(requests, "storage"))
    if (auto q = Quantity::fromJson(*storage)) return *q;
  return *Quantity::parse("0");
}

// ValidatePersistentVolumeClaimUpdate, with RecoverVolumeExpansionFailure
// (beta, on in 1.32) and VolumeAttributesClass enabled.
void validatePersistentVolumeClaimUpdate(Validator& v, const Json& obj, const Json& old) {
  const Json& spec = objectIn(obj, "spec");
  const Json& oldSpec = objectIn(old, "spec");
  Json next = semantic(spec), before = semantic(oldSpec);
  // The binder may set volumeName once.
  if (stringAt(oldSpec, "volumeName").empty()) {
    before.erase("volumeName");
    if (auto name = member(next, "volumeName")) before["volumeName"] = *name;
  }
  // A class may be named once: from the beta annotation, or from nothing.
  auto oldAnnotation = annotation(old, kBetaStorageClassAnnotation);
  auto newAnnotation = annotation(obj, kBetaStorageClassAnnotation);
  auto oldClass = optionalString(oldSpec, "storageClassName");
  auto newClass = optionalString(spec, "storageClassName");
  if (oldAnnotation && !oldClass && newClass && *newClass == *oldAnnotation &&
      (!newAnnotation || *newAnnotation == *oldAnnotation)) {
    next.erase("storageClassName");
  } else {
    if (newAnnotation.value_or("") != oldAnnotation.value_or(""))
      v.invalid(std::string("metadata.annotations.") + kBetaStorageClassAnnotation,
                newAnnotation.value_or(""), "field is immutable");
    if (newClass && !oldClass && (!oldAnnotation || *newClass == *oldAnnotation))
      next.erase("storageClassName");
  }
  // Bound claims may resize and change their volume attributes class.
  bool bound = stringAt(objectOr(member(obj, "status")), "phase") == "Bound";
  if (bound) {
    for (Json* side : {&next, &before})
      if (auto resources = side->find("resources"); resources != side->end())
        if (auto requests = resources->find("requests");
            requests != resources->end() && requests->is_object())
          requests->erase("storage");
    next.erase("volumeAttributesClassName");
    before.erase("volumeAttributesClassName");
    for (Json* side : {&next, &before})
      if (auto resources = side->find("resources"); resources != side->end())
        *resources = semantic(*resources);
  }
  if (next != before)
    v.forbidden("spec",
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims\n" +
                    structDiff("core.PersistentVolumeClaimSpec", before, next, kClaimSpecFields));

  Quantity newSize = storageRequest(spec), oldSize = storageRequest(oldSpec);
  if (newSize.compare(oldSize) < 0) {
    Quantity statusSize = *Quantity::parse("0");
    const Json& capacity = objectOr(member(objectOr(member(old, "status")), "capacity"));
    if (const Json* storage = member(capacity, "storage"))
      if (auto q = Quantity::fromJson(*storage)) statusSize = *q;
    if (newSize.compare(statusSize) <= 0)
      v.forbidden("spec.resources.requests.storage", "field can not be less than status.capacity");
  }

  auto mode = optionalString(spec, "volumeMode"), oldMode = optionalString(oldSpec, "volumeMode");
  if (mode != oldMode) v.invalid("volumeMode", mode.value_or("null"), "field is immutable");

  auto attributes = optionalString(spec, "volumeAttributesClassName");
  auto oldAttributes = optionalString(oldSpec, "volumeAttributesClassName");
  if (oldAttributes && attributes != oldAttributes) {
    if (!attributes)
      v.forbidden("spec.volumeAttributesClassName",
                  "update from non-nil value to nil is forbidden");
    else if (attributes->empty())
      v.forbidden("spec.volumeAttributesClassName",
                  "update from non-nil value to an empty string is forbidden");
  }
}

// ValidatePersistentVolumeUpdate.
void validatePersistentVolumeUpdate(Validator& v, const Json& obj, const Json& old) {
  const Json& spec = objectIn(obj, "spec");
  const Json& oldSpec = objectIn(old, "spec");
  Json source = Json::object(), oldSource = Json::object();
  for (const auto& [key, go] : kVolumeSourceFields) {
    if (const Json* s = member(spec, key)) source[key] = semantic(*s);
    if (const Json* s = member(oldSpec, key)) oldSource[key] = semantic(*s);
  }
  // A CSI volume may gain a controllerExpandSecretRef.
  if (oldSource.contains("csi") && source.contains("csi") && source["csi"].is_object() &&
      !oldSource["csi"].contains("controllerExpandSecretRef"))
    source["csi"].erase("controllerExpandSecretRef");
  if (source != oldSource)
    v.forbidden(
        "spec.persistentvolumesource",
        "spec.persistentvolumesource is immutable after creation\n" +
            structDiff("core.PersistentVolumeSource", oldSource, source, kVolumeSourceFields));
  auto mode = optionalString(spec, "volumeMode"), oldMode = optionalString(oldSpec, "volumeMode");
  if (mode != oldMode) v.invalid("volumeMode", mode.value_or("null"), "field is immutable");
  const Json* affinity = member(spec, "nodeAffinity");
  const Json* oldAffinity = member(oldSpec, "nodeAffinity");
  if (oldAffinity && !oldAffinity->is_null() &&
      semantic(affinity ? *affinity : Json()) != semantic(*oldAffinity))
    v.invalidRendered("nodeAffinity", affinity ? render(*affinity) : "null", "field is immutable");
  if (optionalString(oldSpec, "volumeAttributesClassName") &&
      !optionalString(spec, "volumeAttributesClassName"))
    v.forbidden("spec.volumeAttributesClassName", "update from non-nil value to nil is forbidden");
}

// ValidateStorageClassUpdate.
void validateStorageClassUpdate(Validator& v, const Json& obj, const Json& old) {
  if (semantic(objectOr(member(obj, "parameters"))) !=
      semantic(objectOr(member(old, "parameters"))))
    v.forbidden("parameters", "updates to parameters are forbidden.");
  if (stringAt(obj, "provisioner") != stringAt(old, "provisioner"))
    v.forbidden("provisioner", "updates to provisioner are forbidden.");
  if (stringAt(obj, "reclaimPolicy") != stringAt(old, "reclaimPolicy"))
    v.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden.");
  auto mode = optionalString(obj, "volumeBindingMode");
  if (mode != optionalString(old, "volumeBindingMode"))
    v.invalid("volumeBindingMode", mode.value_or("null"), "field is immutable");
}

void validateKindUpdate(Validator& v, const ResourceInfo& resource, const Json& obj,
                        const Json& old) {
  const Json& spec = objectOr(member(obj, "spec"));
  const Json& oldSpec = objectOr(member(old, "spec"));
  const std::string& kind = resource.kind;
  if (kind == "Service") {
    std::string type = stringAt(spec, "type"), oldType = stringAt(oldSpec, "type");
    std::string ip = stringAt(spec, "clusterIP"), oldIp = stringAt(oldSpec, "clusterIP");
    bool bothHeadless = ip == "None" && oldIp == "None";
    // An empty clusterIP on update means "keep the allocated one".
    if (type != "ExternalName" && oldType != "ExternalName" && !bothHeadless && !oldIp.empty() &&
        !ip.empty() && ip != oldIp)
      v.invalidRendered("spec.clusterIPs[0]", goStringSlice({ip}), "may not change once set");
  } else if (kind == "StatefulSet") {
    Json fixed = spec.is_object() ? spec : Json::object();
    Json oldFixed = oldSpec.is_object() ? oldSpec : Json::object();
    for (const char* mutableField : {"replicas", "ordinals", "template", "updateStrategy",
                                     "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}) {
      fixed.erase(mutableField);
      oldFixed.erase(mutableField);
    }
    if (fixed != oldFixed)
      v.forbidden("spec",
                  "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                  "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                  "'minReadySeconds' are forbidden");
  } else if (kind == "Job") {
    const Json& oldStatus = objectOr(member(old, "status"));
    validateJobUpdate(v, spec, oldSpec, member(oldStatus, "startTime") != nullptr);
  } else if (kind == "Deployment" || kind == "ReplicaSet" || kind == "DaemonSet") {
    const Json* selector = member(spec, "selector");
    if (normalizedSelector(selector) != normalizedSelector(member(oldSpec, "selector")))
      v.invalidRendered("spec.selector", selector ? goLabelSelector(*selector) : "nil",
                        "field is immutable");
  } else if (kind == "Pod") {
    if (mutablePodFieldsCleared(spec) != mutablePodFieldsCleared(oldSpec))
      v.forbidden("spec",
                  "pod updates may not change fields other than `spec.containers[*].image`,"
                  "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                  "`spec.tolerations` (only additions to existing tolerations),"
                  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                  "previously negative)");
  } else if (kind == "Secret" || kind == "ConfigMap") {
    bool wasImmutable = member(old, "immutable") && old["immutable"] == true;
    if (wasImmutable) {
      if (!(member(obj, "immutable") && obj["immutable"] == true))
        v.forbidden("immutable", "field is immutable when `immutable` is set");
      for (const char* key : {"data", "binaryData"}) {
        const Json* now = member(obj, key);
        const Json* before = member(old, key);
        bool same = (now && !now->empty()) == (before && !before->empty()) &&
                    (!now || !before || *now == *before);
        if (!same) v.forbidden(key, "field is immutable when `immutable` is set");
      }
    }
    if (kind == "Secret")
      validateImmutableString(v, stringAt(obj, "type"), stringAt(old, "type"), "type");
  } else if (kind == "EndpointSlice") {
    validateImmutableString(v, stringAt(obj, "addressType"), stringAt(old, "addressType"),
                            "addressType");
  } else if (kind == "PersistentVolumeClaim") {
    validatePersistentVolumeClaimUpdate(v, obj, old);
  } else if (kind == "PersistentVolume") {
    validatePersistentVolumeUpdate(v, obj, old);
  } else if (kind == "StorageClass") {
    validateStorageClassUpdate(v, obj, old);
  } else if (kind == "Node") {
    std::string cidr = stringAt(spec, "podCIDR"), oldCidr = stringAt(oldSpec, "podCIDR");
    if (!oldCidr.empty() && cidr != oldCidr)
      v.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to valid");
  }
}

// Go's encoding/json refuses documents nested deeper than this; copies and
// comparisons of nlohmann::json recurse, so deeper documents are refused
// before anything walks them.
constexpr size_t kMaxNestingDepth = 10000;

// The nesting depth of a document, measured without recursion.
size_t nestingDepth(const Json& root) {
  size_t deepest = 0;
  std::vector<std::pair<const Json*, size_t>> stack = {{&root, 1}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, depth);
    if (deepest > kMaxNestingDepth) break;
    if (value->is_structured())
      for (const auto& child : *value) stack.push_back({&child, depth + 1});
  }
  return deepest;
}

bool tooDeep(Validator& v, const Json& obj) {
  if (nestingDepth(obj) <= kMaxNestingDepth) return false;
  v.invalidRendered("", "\"<nested too deeply>\"",
                    "exceeded max depth of " + std::to_string(kMaxNestingDepth));
  return true;
}

}  // namespace

namespace {

std::vector<core::Cause> validateObject(const ResourceInfo& resource, const Json& obj,
                                        const Json* old) {
  Validator v;
  if (!obj.is_object()) {
    v.typeError("", obj, "object");
    return std::move(v.causes);
  }
  if (tooDeep(v, obj)) return std::move(v.causes);
  validateObjectMeta(v, resource, obj);
  if (resource.custom) {
    auto causes = resource.custom->validate(obj);
    v.causes.insert(v.causes.end(), causes.begin(), causes.end());
    return std::move(v.causes);
  }
  const std::string& kind = resource.kind;
  if (kind == "Pod")
    validatePod(v, obj);
  else if (kind == "Service")
    validateService(v, obj);
  else if (kind == "Deployment")
    validateWorkload(v, obj, kind);
  else if (kind == "ReplicaSet" || kind == "StatefulSet" || kind == "DaemonSet")
    validateWorkload(v, obj, kind);
  else if (kind == "NetworkPolicy")
    validateNetworkPolicy(v, obj);
  else if (kind == "Ingress")
    validateIngress(v, obj);
  else if (kind == "IngressClass")
    validateIngressClass(v, obj);
  else if (kind == "EndpointSlice")
    validateEndpointSlice(v, obj);
  else if (kind == "Endpoints")
    validateEndpoints(v, obj);
  else if (kind == "Node")
    validateNode(v, obj);
  else if (kind == "Namespace")
    validateNamespace(v, obj);
  else if (kind == "Secret")
    validateSecret(v, obj);
  else if (kind == "ConfigMap")
    validateConfigMap(v, obj);
  else if (kind == "Lease")
    validateLease(v, obj);
  else if (kind == "Event")
    validateEvent(v, obj);
  else if (kind == "Job")
    validateJob(v, obj);
  else if (kind == "CronJob")
    validateCronJob(v, obj, old);
  else if (kind == "PersistentVolumeClaim")
    validatePersistentVolumeClaim(v, obj);
  else if (kind == "PersistentVolume")
    validatePersistentVolume(v, obj);
  else if (kind == "StorageClass")
    validateStorageClass(v, obj);
  return std::move(v.causes);
}

}  // namespace

std::vector<core::Cause> validate(const ResourceInfo& resource, const Json& obj) {
  return validateObject(resource, obj, nullptr);
}

std::vector<core::Cause> validateUpdate(const ResourceInfo& resource, const Json& obj,
                                        const Json& old) {
  Validator v;
  if (tooDeep(v, obj) || tooDeep(v, old)) return std::move(v.causes);
  if (obj.is_object() && old.is_object()) {
    validateImmutableString(v, name(obj), name(old), "metadata.name");
    validateImmutableString(v, namespaceOf(obj), namespaceOf(old), "metadata.namespace");
    // The registry copies the old UID into an update that has none.
    if (!uid(obj).empty()) validateImmutableString(v, uid(obj), uid(old), "metadata.uid");
    const Json& meta = objectOr(member(obj, "metadata"));
    const Json& oldMeta = objectOr(member(old, "metadata"));
    const Json* generation = member(meta, "generation");
    const Json* oldGeneration = member(oldMeta, "generation");
    if (generation && oldGeneration && generation->is_number_integer() &&
        oldGeneration->is_number_integer() &&
        generation->get<int64_t>() < oldGeneration->get<int64_t>())
      v.invalid("metadata.generation", generation->get<int64_t>(), "must not be decremented");
    validateKindUpdate(v, resource, obj, old);
  }
  auto causes = validateObject(resource, obj, old.is_object() ? &old : nullptr);
  v.causes.insert(v.causes.end(), causes.begin(), causes.end());
  return std::move(v.causes);
}

// strconv.Quote: printable runes as they are, the rest escaped.
std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (c < 0x20 || c == 0x7f)
            appendHex(out, "\\x", c, 2);
          else
            out += char(c);
      }
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence; invalid bytes are escaped one by one.
    int length = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (c >= 0xf5) length = 0;
    uint32_t rune = length == 2 ? c & 0x1f : length == 3 ? c & 0x0f : c & 0x07;
    bool valid = length > 0 && i + length <= s.size();
    for (int k = 1; valid && k < length; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) valid = false;
      rune = (rune << 6) | (cc & 0x3f);
    }
    if (valid && ((length == 3 && (rune < 0x800 || (rune >= 0xd800 && rune <= 0xdfff))) ||
                  (length == 4 && (rune < 0x10000 || rune > 0x10ffff))))
      valid = false;
    if (!valid) {
      appendHex(out, "\\x", c, 2);
      ++i;
      continue;
    }
    if (rune < 0xa0 || rune == 0xad || (rune >= 0x2028 && rune <= 0x2029) || rune == 0xfeff ||
        (rune >= 0x200b && rune <= 0x200f))
      appendHex(out, rune > 0xffff ? "\\U" : "\\u", rune, rune > 0xffff ? 8 : 4);
    else
      out.append(s.substr(i, length));
    i += length;
  }
  return out + "\"";
}

}  // namespace podnet::api
