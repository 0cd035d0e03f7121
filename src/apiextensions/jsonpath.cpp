#include "apiextensions/jsonpath.h"

#include <optional>

namespace podnet::apiextensions {

using api::Json;

struct JsonPath::Step {
  enum class Kind { Field, Index, Wildcard, Slice, Filter } kind = Kind::Field;
  std::string field;
  int64_t index = 0;
  std::optional<int64_t> sliceStart, sliceEnd;
  // Filter: `@<path> <op> <literal>` or just `@<path>` (exists).
  std::vector<Step> filterPath;
  std::string op;
  Json literal;
};

namespace {

constexpr size_t kMaxPathLength = 4096;
constexpr int kMaxNesting = 8;

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  std::string run(std::vector<JsonPath::Step>& steps) {
    if (text_.size() > kMaxPathLength) return "the path is too long";
    std::string_view body = text_;
    // `{.spec.x}` is the same path as `.spec.x`.
    if (body.size() >= 2 && body.front() == '{' && body.back() == '}')
      body = body.substr(1, body.size() - 2);
    if (body.empty() || body.front() != '.') return "must start with .";
    pos_ = 0;
    body_ = body;
    return parseSteps(steps, 0, false);
  }

 private:
  // Parses steps until the end (or, inside a filter, until an operator or ')').
  std::string parseSteps(std::vector<JsonPath::Step>& steps, int nesting, bool inFilter) {
    if (nesting > kMaxNesting) return "filters are nested too deeply";
    while (pos_ < body_.size()) {
      char c = body_[pos_];
      if (inFilter && (c == ' ' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>'))
        return "";
      if (c == '.') {
        ++pos_;
        if (pos_ < body_.size() && body_[pos_] == '.')
          return "recursive descent (..) is not supported";
        if (pos_ == body_.size()) {
          if (steps.empty() && !inFilter) return "";  // "." alone: the whole object
          return "a field name must follow .";
        }
        if (body_[pos_] == '[') continue;
        std::string name;
        while (pos_ < body_.size()) {
          char d = body_[pos_];
          if (d == '\\' && pos_ + 1 < body_.size()) {
            name += body_[pos_ + 1];
            pos_ += 2;
            continue;
          }
          if (d == '.' || d == '[') break;
          if (inFilter && (d == ' ' || d == ')' || d == '=' || d == '!' || d == '<' || d == '>'))
            break;
          name += d;
          ++pos_;
        }
        if (name.empty()) return "a field name must follow .";
        JsonPath::Step step;
        if (name == "*")
          step.kind = JsonPath::Step::Kind::Wildcard;
        else
          step.field = std::move(name);
        steps.push_back(std::move(step));
      } else if (c == '[') {
        if (auto problem = bracket(steps, nesting); !problem.empty()) return problem;
      } else {
        return std::string("unexpected '") + c + "'";
      }
    }
    return "";
  }

  std::string bracket(std::vector<JsonPath::Step>& steps, int nesting) {
    ++pos_;  // '['
    size_t close = findClose();
    if (close == std::string_view::npos) return "unclosed [";
    std::string_view inside = body_.substr(pos_, close - pos_);
    JsonPath::Step step;
    if (inside == "*") {
      step.kind = JsonPath::Step::Kind::Wildcard;
    } else if (!inside.empty() && (inside.front() == '\'' || inside.front() == '"')) {
      if (inside.size() < 2 || inside.back() != inside.front()) return "unterminated quoted name";
      step.field = std::string(inside.substr(1, inside.size() - 2));
    } else if (inside.size() >= 3 && inside.substr(0, 2) == "?(" && inside.back() == ')') {
      step.kind = JsonPath::Step::Kind::Filter;
      Parser inner{std::string()};
      inner.body_ = inside.substr(2, inside.size() - 3);
      while (inner.pos_ < inner.body_.size() && inner.body_[inner.pos_] == ' ') ++inner.pos_;
      if (inner.pos_ >= inner.body_.size() || inner.body_[inner.pos_] != '@')
        return "a filter must start with @";
      ++inner.pos_;
      if (auto problem = inner.parseSteps(step.filterPath, nesting + 1, true); !problem.empty())
        return problem;
      while (inner.pos_ < inner.body_.size() && inner.body_[inner.pos_] == ' ') ++inner.pos_;
      if (inner.pos_ < inner.body_.size()) {
        std::string_view rest = inner.body_.substr(inner.pos_);
        for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
          if (rest.substr(0, std::string_view(op).size()) == op) {
            step.op = op;
            rest.remove_prefix(step.op.size());
            break;
          }
        }
        if (step.op.empty()) return "unknown filter operator";
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
        if (rest.size() >= 2 && (rest.front() == '"' || rest.front() == '\'') &&
            rest.back() == rest.front()) {
          step.literal = std::string(rest.substr(1, rest.size() - 2));
        } else {
          Json number = Json::parse(rest, nullptr, false);
          if (number.is_discarded() ||
              !(number.is_number() || number.is_boolean() || number.is_null()))
            return "a filter compares with a quoted string or a number";
          step.literal = number;
        }
      }
    } else if (inside.find(':') != std::string_view::npos) {
      step.kind = JsonPath::Step::Kind::Slice;
      size_t colon = inside.find(':');
      auto bound = [](std::string_view text, std::optional<int64_t>& out) {
        if (text.empty()) return true;
        Json number = Json::parse(text, nullptr, false);
        if (number.is_discarded() || !number.is_number_integer()) return false;
        out = number.get<int64_t>();
        return true;
      };
      std::string_view end = inside.substr(colon + 1);
      if (size_t second = end.find(':'); second != std::string_view::npos)
        end = end.substr(0, second);
      if (!bound(inside.substr(0, colon), step.sliceStart) || !bound(end, step.sliceEnd))
        return "a slice takes integers";
    } else {
      Json number = Json::parse(inside, nullptr, false);
      if (number.is_discarded() || !number.is_number_integer())
        return "an index must be an integer";
      step.kind = JsonPath::Step::Kind::Index;
      step.index = number.get<int64_t>();
    }
    steps.push_back(std::move(step));
    pos_ = close + 1;
    return "";
  }

  // The ']' that closes the bracket at pos_, past quoted strings and (...).
  size_t findClose() const {
    int depth = 0;
    char quote = 0;
    for (size_t i = pos_; i < body_.size(); ++i) {
      char c = body_[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '(' || c == '[') {
        ++depth;
      } else if (c == ')') {
        --depth;
      } else if (c == ']') {
        if (depth == 0) return i;
        --depth;
      }
    }
    return std::string_view::npos;
  }

  std::string text_;
  std::string_view body_;
  size_t pos_ = 0;
};

void evaluate(const std::vector<JsonPath::Step>& steps, size_t at, const Json& value,
              std::vector<const Json*>& out);

bool compare(const Json& left, const std::string& op, const Json& right) {
  if (left.is_number() && right.is_number()) {
    double a = left.get<double>(), b = right.get<double>();
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    return a >= b;
  }
  if (op == "==") return left == right;
  if (op == "!=") return left != right;
  if (left.is_string() && right.is_string()) {
    const auto& a = left.get_ref<const std::string&>();
    const auto& b = right.get_ref<const std::string&>();
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    return a >= b;
  }
  return false;
}

bool filterMatches(const JsonPath::Step& step, const Json& item) {
  std::vector<const Json*> found;
  evaluate(step.filterPath, 0, item, found);
  if (step.op.empty()) return !found.empty();
  for (const Json* value : found)
    if (compare(*value, step.op, step.literal)) return true;
  return false;
}

void evaluate(const std::vector<JsonPath::Step>& steps, size_t at, const Json& value,
              std::vector<const Json*>& out) {
  if (at == steps.size()) {
    out.push_back(&value);
    return;
  }
  const JsonPath::Step& step = steps[at];
  using Kind = JsonPath::Step::Kind;
  switch (step.kind) {
    case Kind::Field:
      if (value.is_object())
        if (auto it = value.find(step.field); it != value.end()) evaluate(steps, at + 1, *it, out);
      break;
    case Kind::Index:
      if (value.is_array()) {
        int64_t size = int64_t(value.size());
        int64_t index = step.index < 0 ? size + step.index : step.index;
        if (index >= 0 && index < size) evaluate(steps, at + 1, value[size_t(index)], out);
      }
      break;
    case Kind::Wildcard:
      if (value.is_array() || value.is_object())
        for (const auto& item : value) evaluate(steps, at + 1, item, out);
      break;
    case Kind::Slice:
      if (value.is_array()) {
        int64_t size = int64_t(value.size());
        auto clamp = [size](int64_t i) {
          return i < 0 ? std::max<int64_t>(0, size + i) : std::min(i, size);
        };
        int64_t start = clamp(step.sliceStart.value_or(0));
        int64_t end = clamp(step.sliceEnd.value_or(size));
        for (int64_t i = start; i < end; ++i) evaluate(steps, at + 1, value[size_t(i)], out);
      }
      break;
    case Kind::Filter:
      if (value.is_array())
        for (const auto& item : value)
          if (filterMatches(step, item)) evaluate(steps, at + 1, item, out);
      break;
  }
}

}  // namespace

JsonPath::JsonPath() = default;
JsonPath::~JsonPath() = default;
JsonPath::JsonPath(JsonPath&&) noexcept = default;
JsonPath& JsonPath::operator=(JsonPath&&) noexcept = default;

JsonPath::Parsed JsonPath::parse(const std::string& text) {
  Parsed parsed;
  Parser parser(text);
  parsed.error = parser.run(parsed.path.steps_);
  if (!parsed.error.empty()) parsed.path.steps_.clear();
  return parsed;
}

std::vector<const Json*> JsonPath::find(const Json& obj) const {
  std::vector<const Json*> out;
  evaluate(steps_, 0, obj, out);
  return out;
}

}  // namespace podnet::apiextensions
