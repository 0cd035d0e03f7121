#include "api/codec.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <limits>
#include <regex>
#include <sstream>

namespace podnet::api {

namespace {

constexpr int kMaxDepth = 512;

// Nesting depth of a JSON text, counted outside strings, so a hostile body
// is refused before a recursive copy or dump of it could exhaust the stack.
bool nestedTooDeeply(std::string_view text) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// nlohmann's rule for UTF-8 (no overlong forms, no surrogates), which every
// later dump() of the document applies.
bool isValidUtf8(const std::string& s) {
  bool ascii = true;
  for (unsigned char c : s) ascii = ascii && c < 0x80;
  if (ascii) return true;
  try {
    (void)Json(s).dump();
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

}  // namespace

core::Result<Json> decodeJson(std::string_view text) {
  if (text.size() > kMaxBodyBytes) return core::badRequest("request body too large");
  if (nestedTooDeeply(text))
    return core::badRequest("error decoding JSON: exceeded max depth of " +
                            std::to_string(kMaxDepth));
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // parse errors, and numbers out of range (1e400)
    return core::badRequest(std::string("error decoding JSON: ") + e.what());
  }
}

namespace {

bool isPlainNull(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Resolves a plain (unquoted) scalar as the YAML 1.2 core schema does.
Json resolvePlain(const std::string& s) {
  if (isPlainNull(s)) return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  static const std::regex decimal("[-+]?[0-9]+");
  static const std::regex octal("0o[0-7]+");
  static const std::regex hex("0x[0-9a-fA-F]+");
  static const std::regex floating(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.size() < 40) {
    try {
      if (std::regex_match(s, decimal)) {
        if (s[0] == '-') return std::stoll(s);
        unsigned long long v = std::stoull(s[0] == '+' ? s.substr(1) : s);
        if (v <= uint64_t(std::numeric_limits<int64_t>::max())) return int64_t(v);
        return v;
      }
      if (std::regex_match(s, octal)) return int64_t(std::stoll(s.substr(2), nullptr, 8));
      if (std::regex_match(s, hex)) return int64_t(std::stoll(s.substr(2), nullptr, 16));
      if (std::regex_match(s, floating)) {
        double d = std::stod(s);
        if (std::isfinite(d)) return d;
      }
    } catch (const std::exception&) {
      // out of range: keep it as a string
    }
  }
  return s;
}

core::Result<Json> toJson(const YAML::Node& node, int depth) {
  if (depth > kMaxDepth) return core::badRequest("yaml: document nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Json(nullptr);
    case YAML::NodeType::Scalar:
      // JSON (and so every later dump) needs UTF-8.
      if (!isValidUtf8(node.Scalar())) return core::badRequest("yaml: invalid UTF-8 in a string");
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Json(node.Scalar());
      return resolvePlain(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      for (const auto& item : node) {
        auto v = toJson(item, depth + 1);
        if (!v) return v;
        array.push_back(std::move(*v));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) return core::badRequest("yaml: mapping keys must be scalars");
        if (!isValidUtf8(kv.first.Scalar()))
          return core::badRequest("yaml: invalid UTF-8 in a key");
        auto v = toJson(kv.second, depth + 1);
        if (!v) return v;
        object[kv.first.Scalar()] = std::move(*v);
      }
      return object;
    }
  }
  return Json(nullptr);
}

bool needsQuotes(const std::string& s) {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;  // control characters: escaped in quotes
  Json resolved = resolvePlain(s);
  return !resolved.is_string();
}

// A "|" block reads back exactly only for text that ends in one newline,
// does not start with a space and holds no other control characters.
bool isLiteralBlock(const std::string& s) {
  if (s.size() < 2 || s.back() != '\n' || s[s.size() - 2] == '\n') return false;
  if (s[0] == ' ' || s[0] == '\n') return false;
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
  for (size_t i = s.find('\n'); i != std::string::npos; i = s.find('\n', i + 1))
    if (i > 0 && s[i - 1] == ' ') return false;  // some readers strip trailing spaces
  return true;
}

void emit(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : value.items()) {
        out << YAML::Key;
        if (needsQuotes(k))
          out << YAML::DoubleQuoted << k;
        else
          out << k;
        out << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case Json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& v : value) emit(out, v);
      out << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (isLiteralBlock(s))
        out << YAML::Literal << s;
      else if (needsQuotes(s))
        out << YAML::DoubleQuoted << s;
      else
        out << s;
      break;
    }
    case Json::value_t::boolean:
      out << (value.get<bool>() ? "true" : "false");
      break;
    case Json::value_t::null:
      out << YAML::Null;
      break;
    default:
      out << value.dump();
      break;
  }
}

// Counts documents and nothing else.
class DocumentCounter : public YAML::EventHandler {
 public:
  size_t documents = 0;
  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7 never ends on a document that starts with a stray `,` (the
// parser reports an empty document without consuming the token, forever):
// LoadAll would spin. Every document after the first needs a `---` or
// `...` marker, so more documents than the text has room for markers means
// the parser is stuck.
bool parserWouldSpin(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentCounter counter;
  const size_t bound = text.size() / 3 + 2;
  while (parser.HandleNextDocument(counter))
    if (counter.documents > bound) return true;
  return false;
}

}  // namespace

core::Result<std::vector<Json>> decodeYamlDocuments(std::string_view text) {
  if (text.size() > kMaxBodyBytes * 4) return core::badRequest("yaml: input too large");
  std::vector<YAML::Node> nodes;
  try {
    if (parserWouldSpin(std::string(text)))
      return core::badRequest(
          "error converting YAML to JSON: unexpected ',' at the start of a document");
    nodes = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return core::badRequest(std::string("error converting YAML to JSON: ") + e.what());
  }
  std::vector<Json> docs;
  for (const auto& node : nodes) {
    if (node.IsNull() || !node.IsDefined()) continue;
    auto v = toJson(node, 0);
    if (!v) return v.takeError();
    docs.push_back(std::move(*v));
  }
  return docs;
}

core::Result<Json> decodeYaml(std::string_view text) {
  auto docs = decodeYamlDocuments(text);
  if (!docs) return docs.takeError();
  if (docs->size() != 1)
    return core::badRequest("expected exactly one YAML document, got " +
                            std::to_string(docs->size()));
  return std::move((*docs)[0]);
}

std::string encodeYaml(const Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::Block;
  emit(out, value);
  std::string s = out.c_str();
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

core::Result<std::vector<Json>> decodeObjects(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  std::vector<Json> documents;
  if (first != std::string_view::npos && text[first] == '{') {
    auto json = decodeJson(text);
    if (!json) return json.takeError();
    documents.push_back(std::move(*json));
  } else {
    auto yaml = decodeYamlDocuments(text);
    if (!yaml) return yaml.takeError();
    documents = std::move(*yaml);
  }
  std::vector<Json> objects;
  std::function<void(Json&)> add = [&](Json& obj) {
    if (!obj.is_object()) return;
    auto items = obj.find("items");
    if (items != obj.end() && items->is_array()) {
      for (auto& item : *items) add(item);
      return;
    }
    objects.push_back(std::move(obj));
  };
  for (auto& document : documents) add(document);
  return objects;
}

}  // namespace podnet::api
