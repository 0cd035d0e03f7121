// Label and field selectors, following k8s.io/apimachinery/pkg/labels and
// pkg/fields so that kubectl's -l and --field-selector strings are accepted,
// rejected and reported the same way as by kube-apiserver.
#include "api/selector.h"

#include <algorithm>
#include <set>

#include "api/validation.h"

namespace podnet::api {

namespace {

// ---------------------------------------------------------------------------
// Lexer for the label selector grammar (labels/selector.go).

enum class Token {
  Error,
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,  // "!"
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
};

struct Lexeme {
  Token token;
  std::string literal;
};

bool isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isSpecialSymbol(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

Token specialToken(std::string_view s) {
  if (s == "!") return Token::DoesNotExist;
  if (s == "!=") return Token::NotEquals;
  if (s == "(") return Token::OpenPar;
  if (s == ")") return Token::ClosedPar;
  if (s == ",") return Token::Comma;
  if (s == "=") return Token::Equals;
  if (s == "==") return Token::DoubleEquals;
  if (s == ">") return Token::GreaterThan;
  if (s == "<") return Token::LessThan;
  return Token::Error;
}

std::vector<Lexeme> lex(std::string_view s) {
  std::vector<Lexeme> out;
  size_t pos = 0;
  while (true) {
    while (pos < s.size() && isWhitespace(s[pos])) ++pos;
    if (pos >= s.size()) break;
    if (isSpecialSymbol(s[pos])) {
      // The longest run of special characters that is still a known operator.
      std::string buffer(1, s[pos++]);
      while (pos < s.size() && isSpecialSymbol(s[pos]) &&
             specialToken(buffer + s[pos]) != Token::Error)
        buffer += s[pos++];
      out.push_back({specialToken(buffer), buffer});
      continue;
    }
    size_t start = pos;
    while (pos < s.size() && !isWhitespace(s[pos]) && !isSpecialSymbol(s[pos])) ++pos;
    std::string word(s.substr(start, pos - start));
    Token t = word == "in" ? Token::In : word == "notin" ? Token::NotIn : Token::Identifier;
    out.push_back({t, std::move(word)});
  }
  out.push_back({Token::EndOfString, ""});
  return out;
}

// The parser reads "in" and "notin" as plain identifiers where values are
// expected (so "a=in" selects the value "in"), as upstream's Values context.
class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(lex(text)) {}

  core::Result<std::vector<Requirement>> parse() {
    std::vector<Requirement> requirements;
    while (true) {
      Lexeme next = lookahead(true);
      switch (next.token) {
        case Token::Identifier:
        case Token::DoesNotExist: {
          auto r = parseRequirement();
          if (!r) return core::badRequest("unable to parse requirement: " + r.error().message);
          requirements.push_back(std::move(*r));
          Lexeme after = consume(true);
          if (after.token == Token::EndOfString) return requirements;
          if (after.token == Token::Comma) {
            Lexeme more = lookahead(true);
            if (more.token != Token::Identifier && more.token != Token::DoesNotExist)
              return core::badRequest("found '" + more.literal +
                                      "', expected: identifier after ','");
            continue;
          }
          return core::badRequest("found '" + after.literal +
                                  "', expected: ',' or 'end of string'");
        }
        case Token::EndOfString:
          return requirements;
        default:
          return core::badRequest("found '" + next.literal +
                                  "', expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  Lexeme lookahead(bool valuesContext) const {
    Lexeme l = tokens_[std::min(pos_, tokens_.size() - 1)];
    if (valuesContext && (l.token == Token::In || l.token == Token::NotIn))
      l.token = Token::Identifier;
    return l;
  }
  Lexeme consume(bool valuesContext) {
    Lexeme l = lookahead(valuesContext);
    if (pos_ < tokens_.size() - 1) ++pos_;
    return l;
  }

  core::Result<Requirement> parseRequirement() {
    Requirement r;
    bool doesNotExist = false;
    Lexeme l = consume(true);
    if (l.token == Token::DoesNotExist) {
      doesNotExist = true;
      l = consume(true);
    }
    if (l.token != Token::Identifier)
      return core::badRequest("found '" + l.literal + "', expected: identifier");
    r.key = l.literal;
    if (auto err = validateKey(r.key); !err.empty()) return core::badRequest(err);
    Token next = lookahead(true).token;
    if (doesNotExist || next == Token::EndOfString || next == Token::Comma) {
      // "!key" and a bare "key" take no operator and no values.
      r.op = doesNotExist ? Requirement::Op::DoesNotExist : Requirement::Op::Exists;
      return r;
    }
    Lexeme op = consume(false);
    switch (op.token) {
      case Token::In:
      case Token::NotIn: {
        r.op = op.token == Token::In ? Requirement::Op::In : Requirement::Op::NotIn;
        auto values = parseValues();
        if (!values) return values.takeError();
        r.values = std::move(*values);
        break;
      }
      case Token::Equals:
      case Token::DoubleEquals:
      case Token::NotEquals: {
        r.op = op.token == Token::NotEquals ? Requirement::Op::NotEquals : Requirement::Op::Equals;
        auto value = parseExactValue();
        if (!value) return value.takeError();
        r.values = {std::move(*value)};
        break;
      }
      case Token::GreaterThan:
      case Token::LessThan:
        // Upstream accepts "gt"/"lt" for numeric labels; the Requirement model
        // here has no such operators, so say so rather than misread them.
        return core::badRequest("operator '" + op.literal + "' is not supported");
      default:
        return core::badRequest("found '" + op.literal +
                                "', expected: in, notin, =, ==, !=, gt, lt");
    }
    for (size_t i = 0; i < r.values.size(); ++i) {
      for (const auto& msg : isValidLabelValue(r.values[i]))
        return core::badRequest("values[" + std::to_string(i) + "]: Invalid value: \"" +
                                r.values[i] + "\": " + msg);
    }
    return r;
  }

  static std::string validateKey(const std::string& key) {
    auto errs = isQualifiedName(key);
    if (errs.empty()) return {};
    std::string joined;
    for (size_t i = 0; i < errs.size(); ++i) joined += (i ? "; " : "") + errs[i];
    return "key: Invalid value: \"" + key + "\": " + joined;
  }

  // "(a,b,c)": a sorted set; "()" and stray commas contribute the empty value.
  core::Result<std::vector<std::string>> parseValues() {
    Lexeme l = consume(true);
    if (l.token != Token::OpenPar)
      return core::badRequest("found '" + l.literal + "' expected: '('");
    Lexeme next = lookahead(true);
    std::set<std::string> values;
    if (next.token == Token::ClosedPar) {
      consume(true);
      return std::vector<std::string>{""};
    }
    if (next.token != Token::Identifier && next.token != Token::Comma)
      return core::badRequest("found '" + next.literal + "', expected: ',', ')' or identifier");
    while (true) {
      Lexeme item = consume(true);
      if (item.token == Token::Identifier) {
        values.insert(item.literal);
        Lexeme after = lookahead(true);
        if (after.token == Token::Comma) {
          consume(true);
          // A comma followed directly by ")" means an empty trailing value.
          if (lookahead(true).token == Token::ClosedPar) {
            values.insert("");
            break;
          }
          continue;
        }
        if (after.token == Token::ClosedPar) break;
        return core::badRequest("found '" + after.literal + "', expected: ',' or ')'");
      }
      if (item.token == Token::Comma) {
        values.insert("");
        if (lookahead(true).token == Token::ClosedPar) break;
        continue;
      }
      return core::badRequest("found '" + item.literal + "', expected: ',', or identifier");
    }
    Lexeme close = consume(true);
    if (close.token != Token::ClosedPar)
      return core::badRequest("found '" + close.literal + "', expected: ')'");
    return std::vector<std::string>(values.begin(), values.end());
  }

  core::Result<std::string> parseExactValue() {
    Lexeme next = lookahead(true);
    if (next.token == Token::EndOfString || next.token == Token::Comma) return std::string();
    Lexeme l = consume(true);
    if (l.token == Token::Identifier) return l.literal;
    return core::badRequest("found '" + l.literal + "', expected: identifier");
  }

  std::vector<Lexeme> tokens_;
  size_t pos_ = 0;
};

std::string joinValues(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  return out;
}

// Validates a requirement built from a metav1.LabelSelector as
// metav1.LabelSelectorAsSelector does (labels.NewRequirement).
std::string requirementError(const Requirement& r) {
  for (const auto& msg : isQualifiedName(r.key))
    return "key: Invalid value: \"" + r.key + "\": " + msg;
  switch (r.op) {
    case Requirement::Op::In:
    case Requirement::Op::NotIn:
      if (r.values.empty())
        return "values: Invalid value: []string{}: for 'in', 'notin' operators, values set "
               "can't be empty";
      break;
    case Requirement::Op::Equals:
    case Requirement::Op::NotEquals:
      if (r.values.size() != 1)
        return "values: Invalid value: []string{}: exact-match compatibility requires one "
               "single value";
      break;
    case Requirement::Op::Exists:
    case Requirement::Op::DoesNotExist:
      if (!r.values.empty())
        return "values: Invalid value: []string{}: values set must be empty for exists and "
               "does not exist";
      break;
  }
  for (size_t i = 0; i < r.values.size(); ++i)
    for (const auto& msg : isValidLabelValue(r.values[i]))
      return "values[" + std::to_string(i) + "]: Invalid value: \"" + r.values[i] + "\": " + msg;
  return {};
}

void sortByKey(std::vector<Requirement>& requirements) {
  std::stable_sort(requirements.begin(), requirements.end(),
                   [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
}

}  // namespace

core::Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  Parser parser(text);
  auto requirements = parser.parse();
  if (!requirements) return requirements.takeError();
  LabelSelector selector;
  selector.requirements_ = std::move(*requirements);
  sortByKey(selector.requirements_);
  return selector;
}

core::Result<LabelSelector> LabelSelector::fromJson(const Json& selector) {
  LabelSelector out;
  if (selector.is_null()) return out;
  if (!selector.is_object()) return core::badRequest("label selector must be an object");
  if (auto it = selector.find("matchLabels"); it != selector.end() && !it->is_null()) {
    if (!it->is_object()) return core::badRequest("matchLabels must be an object of strings");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return core::badRequest("matchLabels[" + key + "] must be a string");
      Requirement r{key, Requirement::Op::Equals, {value.get<std::string>()}};
      if (auto err = requirementError(r); !err.empty()) return core::badRequest(err);
      out.requirements_.push_back(std::move(r));
    }
  }
  if (auto it = selector.find("matchExpressions"); it != selector.end() && !it->is_null()) {
    if (!it->is_array()) return core::badRequest("matchExpressions must be an array");
    for (const auto& expr : *it) {
      if (!expr.is_object()) return core::badRequest("matchExpressions items must be objects");
      Requirement r;
      auto key = expr.find("key");
      if (key != expr.end() && key->is_string()) r.key = key->get<std::string>();
      std::string op;
      auto opIt = expr.find("operator");
      if (opIt != expr.end() && opIt->is_string()) op = opIt->get<std::string>();
      if (op == "In")
        r.op = Requirement::Op::In;
      else if (op == "NotIn")
        r.op = Requirement::Op::NotIn;
      else if (op == "Exists")
        r.op = Requirement::Op::Exists;
      else if (op == "DoesNotExist")
        r.op = Requirement::Op::DoesNotExist;
      else
        return core::badRequest("\"" + op + "\" is not a valid label selector operator");
      auto values = expr.find("values");
      if (values != expr.end() && !values->is_null()) {
        if (!values->is_array()) return core::badRequest("values must be an array of strings");
        std::set<std::string> unique;
        for (const auto& v : *values) {
          if (!v.is_string()) return core::badRequest("values must be an array of strings");
          unique.insert(v.get<std::string>());
        }
        r.values.assign(unique.begin(), unique.end());
      }
      if (auto err = requirementError(r); !err.empty()) return core::badRequest(err);
      out.requirements_.push_back(std::move(r));
    }
  }
  sortByKey(out.requirements_);
  return out;
}

LabelSelector LabelSelector::fromMap(const std::map<std::string, std::string>& labels,
                                     bool selectEverythingWhenEmpty) {
  LabelSelector out;
  if (labels.empty()) {
    out.nothing_ = !selectEverythingWhenEmpty;
    return out;
  }
  for (const auto& [key, value] : labels)
    out.requirements_.push_back({key, Requirement::Op::Equals, {value}});
  return out;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  if (nothing_) return false;
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool inValues =
        has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Requirement::Op::Equals:
      case Requirement::Op::In:
        if (!inValues) return false;
        break;
      case Requirement::Op::NotEquals:
      case Requirement::Op::NotIn:
        if (inValues) return false;
        break;
      case Requirement::Op::Exists:
        if (!has) return false;
        break;
      case Requirement::Op::DoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    switch (r.op) {
      case Requirement::Op::Equals:
        out += r.key + "=" + (r.values.empty() ? "" : r.values[0]);
        break;
      case Requirement::Op::NotEquals:
        out += r.key + "!=" + (r.values.empty() ? "" : r.values[0]);
        break;
      case Requirement::Op::In:
        out += r.key + " in (" + joinValues(r.values) + ")";
        break;
      case Requirement::Op::NotIn:
        out += r.key + " notin (" + joinValues(r.values) + ")";
        break;
      case Requirement::Op::Exists:
        out += r.key;
        break;
      case Requirement::Op::DoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Field selectors (k8s.io/apimachinery/pkg/fields/selector.go).

namespace {

// The selectable fields of each kind beyond metadata.name and
// metadata.namespace, as each registry's ToSelectableFields/GetAttrs.
const std::vector<std::string>& extraFields(std::string_view kind) {
  static const std::vector<std::string> none;
  static const std::vector<std::string> pod = {
      "spec.nodeName",    "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
      "spec.hostNetwork", "status.phase",       "status.podIP",       "status.nominatedNodeName"};
  static const std::vector<std::string> event = {"involvedObject.kind",
                                                 "involvedObject.namespace",
                                                 "involvedObject.name",
                                                 "involvedObject.uid",
                                                 "involvedObject.apiVersion",
                                                 "involvedObject.resourceVersion",
                                                 "involvedObject.fieldPath",
                                                 "reason",
                                                 "reportingComponent",
                                                 "source",
                                                 "type"};
  static const std::vector<std::string> secret = {"type"};
  static const std::vector<std::string> node = {"spec.unschedulable"};
  static const std::vector<std::string> ns = {"status.phase"};
  static const std::vector<std::string> replicaSet = {"status.replicas"};
  if (kind == "Pod") return pod;
  if (kind == "Event") return event;
  if (kind == "Secret") return secret;
  if (kind == "Node") return node;
  if (kind == "Namespace") return ns;
  if (kind == "ReplicaSet") return replicaSet;
  return none;
}

// Splits on commas not escaped by a backslash.
std::vector<std::string> splitTerms(std::string_view text) {
  std::vector<std::string> terms;
  if (text.empty()) return terms;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      current += c;
      current += text[++i];
    } else if (c == ',') {
      terms.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  terms.push_back(std::move(current));
  return terms;
}

// Undoes fields.EscapeValue: "\\", "\," and "\=" only; a bare "," or "=" is
// an error, since it must have been escaped.
core::Result<std::string> unescapeValue(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 >= s.size() || (s[i + 1] != '\\' && s[i + 1] != ',' && s[i + 1] != '='))
        return core::badRequest("invalid field selector: invalid escape sequence: " +
                                s.substr(i, 2));
      out += s[++i];
    } else if (c == ',' || c == '=') {
      return core::badRequest("invalid field selector: unescaped " + std::string(1, c) +
                              " in value");
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

core::Result<FieldSelector> FieldSelector::parse(const ResourceInfo& resource,
                                                 std::string_view text) {
  FieldSelector selector;
  for (const auto& term : splitTerms(text)) {
    // The first operator found scanning left to right, preferring the
    // two-character ones at each position ("!=", "==", then "=").
    size_t at = std::string::npos;
    std::string op;
    for (size_t i = 0; i < term.size() && at == std::string::npos; ++i) {
      for (const char* candidate : {"!=", "==", "="}) {
        if (term.compare(i, std::char_traits<char>::length(candidate), candidate) == 0) {
          at = i;
          op = candidate;
          break;
        }
      }
    }
    if (at == std::string::npos)
      return core::badRequest("invalid selector: '" + std::string(text) + "'; can't understand '" +
                              term + "'");
    Term t;
    t.field = term.substr(0, at);
    t.equals = op != "!=";
    auto value = unescapeValue(term.substr(at + op.size()));
    if (!value) return value.takeError();
    t.value = std::move(*value);

    const auto& extra = extraFields(resource.kind);
    bool known = t.field == "metadata.name" || t.field == "metadata.namespace" ||
                 std::find(extra.begin(), extra.end(), t.field) != extra.end();
    if (!known) {
      // Kinds with their own conversion function answer as
      // pkg/apis/core/v1/conversion.go; the rest as
      // runtime.DefaultMetaV1FieldSelectorConversion.
      if (!extra.empty()) return core::badRequest("field label not supported: " + t.field);
      return core::badRequest("\"" + t.field +
                              "\" is not a known field selector: only \"metadata.name\", "
                              "\"metadata.namespace\"");
    }
    selector.terms_.push_back(std::move(t));
  }
  return selector;
}

bool FieldSelector::matches(const Json& obj) const {
  for (const auto& t : terms_) {
    bool equal = fieldValue(obj, t.field) == t.value;
    if (equal != t.equals) return false;
  }
  return true;
}

std::string fieldValue(const Json& obj, std::string_view field) {
  // Fields whose selectable value is not the raw JSON value at the path.
  if (field == "source") return fieldValue(obj, "source.component");
  std::string_view path = field;
  const Json* cur = &obj;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key(
        path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!cur->is_object()) {
      cur = nullptr;
      break;
    }
    auto it = cur->find(key);
    if (it == cur->end()) {
      cur = nullptr;
      break;
    }
    cur = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // Unset booleans and counters read as their Go zero values, as the
  // registries render them with strconv.
  if (cur == nullptr || cur->is_null()) {
    if (field == "spec.hostNetwork" || field == "spec.unschedulable") return "false";
    if (field == "status.replicas") return "0";
    return {};
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number_integer()) return cur->dump();
  if (cur->is_number_float()) return cur->dump();
  return {};
}

}  // namespace podnet::api
