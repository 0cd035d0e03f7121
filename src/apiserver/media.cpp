#include "apiserver/media.h"

#include <cctype>

namespace podnet::apiserver {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string bareMediaType(std::string_view contentType) {
  return lower(trim(contentType.substr(0, contentType.find(';'))));
}

BodyFormat bodyFormatOf(std::string_view contentType) {
  std::string type = bareMediaType(contentType);
  if (type.empty() || type == "application/json" || type == "*/*") return BodyFormat::Json;
  if (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml")
    return BodyFormat::Yaml;
  if (type == "application/vnd.kubernetes.protobuf") return BodyFormat::Protobuf;
  return BodyFormat::Unsupported;
}

PatchType patchTypeOf(std::string_view contentType) {
  std::string type = bareMediaType(contentType);
  if (type == "application/merge-patch+json") return PatchType::Merge;
  if (type == "application/json-patch+json") return PatchType::JsonPatch;
  if (type == "application/strategic-merge-patch+json") return PatchType::StrategicMerge;
  if (type == "application/apply-patch+yaml" || type == "application/apply-patch+cbor")
    return PatchType::Apply;
  return PatchType::Unsupported;
}

ResponseFormat negotiateResponse(std::string_view accept) {
  if (trim(accept).empty()) return ResponseFormat::Json;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t comma = accept.find(',', start);
    if (comma == std::string_view::npos) comma = accept.size();
    std::string_view part = accept.substr(start, comma - start);
    start = comma + 1;
    std::string type = bareMediaType(part);
    if (type.empty()) continue;
    // Parameters other than q select another representation of the object
    // (as=Table, as=APIGroupDiscoveryList) that is not served yet.
    bool otherRepresentation = false;
    std::string params = lower(part.substr(std::min(part.size(), part.find(';'))));
    if (params.find("as=") != std::string::npos) otherRepresentation = true;
    if (otherRepresentation) continue;
    if (type == "application/json" || type == "application/*" || type == "*/*" ||
        type == "application/json-seq")
      return ResponseFormat::Json;
    if (type == "application/yaml") return ResponseFormat::Yaml;
  }
  return ResponseFormat::NotAcceptable;
}

}  // namespace podnet::apiserver
