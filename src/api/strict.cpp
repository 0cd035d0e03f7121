#include "api/strict.h"

namespace podnet::api::strict {

namespace {

// Nesting deeper than this is refused by the decoder already (512); the
// bound keeps a hand-built document from exhausting the stack here too.
constexpr int kMaxDepth = 600;

void collect(const Json& value, const schema::Message& message, const std::string& prefix,
             int depth, std::vector<std::string>& out);

// Checks one value of `field` (a single value, a list element or a map value).
void collectValue(const Json& value, const schema::Field& field, const std::string& path, int depth,
                  std::vector<std::string>& out) {
  if (field.type != schema::Type::Message || !field.message) return;
  if (value.is_object()) collect(value, *field.message, path, depth + 1, out);
}

void collect(const Json& value, const schema::Message& message, const std::string& prefix,
             int depth, std::vector<std::string>& out) {
  if (depth > kMaxDepth || !value.is_object()) return;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string& key = it.key();
    std::string path = prefix.empty() ? key : prefix + "." + key;
    const schema::Field* field = message.field(key);
    if (!field) {
      out.push_back(std::move(path));
      continue;
    }
    const Json& child = it.value();
    switch (field->shape) {
      case schema::Shape::Single:
        collectValue(child, *field, path, depth, out);
        break;
      case schema::Shape::List:
        if (child.is_array())
          for (size_t i = 0; i < child.size(); ++i)
            collectValue(child[i], *field, path + "[" + std::to_string(i) + "]", depth, out);
        break;
      case schema::Shape::Map:
        if (child.is_object())
          for (auto entry = child.begin(); entry != child.end(); ++entry)
            collectValue(entry.value(), *field, path + "." + entry.key(), depth, out);
        break;
    }
  }
}

}  // namespace

std::vector<std::string> unknownFields(const Json& value, const schema::Message& message) {
  std::vector<std::string> out;
  collect(value, message, "", 0, out);
  return out;
}

std::vector<std::string> unknownFields(const Json& object) {
  if (!object.is_object()) return {};
  auto kind = object.find("kind");
  auto apiVersion = object.find("apiVersion");
  if (kind == object.end() || apiVersion == object.end() || !kind->is_string() ||
      !apiVersion->is_string())
    return {};
  const schema::Message* message =
      schema::forKind(apiVersion->get<std::string>(), kind->get<std::string>());
  if (!message) return {};
  return unknownFields(object, *message);
}

std::string unknownFieldText(std::string_view path) {
  return "unknown field \"" + std::string(path) + "\"";
}

std::string strictDecodingError(std::string_view kind, std::string_view apiVersion,
                                const std::vector<std::string>& paths) {
  std::string message = std::string(kind) + " in version \"" + std::string(apiVersion) +
                        "\" cannot be handled as a " + std::string(kind) +
                        ": strict decoding error: ";
  for (size_t i = 0; i < paths.size(); ++i) {
    if (i > 0) message += ", ";
    message += unknownFieldText(paths[i]);
  }
  return message;
}

std::string warningHeader(std::string_view path) {
  std::string text = unknownFieldText(path);
  std::string quoted = "299 - \"";
  for (char c : text) {
    // A header value must not carry line breaks; a key could.
    if (c == '\r' || c == '\n') {
      quoted += ' ';
      continue;
    }
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

core::Status checkFields(std::string_view fieldValidation, const Json& object,
                         std::vector<std::string>& warnings, bool patched) {
  if (fieldValidation == "Ignore") return core::Ok{};
  std::vector<std::string> paths = unknownFields(object);
  if (paths.empty()) return core::Ok{};
  if (fieldValidation == "Strict") {
    std::string kind = object.value("kind", "");
    std::string apiVersion = object.value("apiVersion", "");
    std::string message = strictDecodingError(kind, apiVersion, paths);
    if (patched) message.erase(0, message.find("strict decoding error: "));
    return core::badRequest(std::move(message));
  }
  for (const std::string& path : paths) warnings.push_back(warningHeader(path));
  return core::Ok{};
}

}  // namespace podnet::api::strict
