#include "apiserver/patch.h"

#include <exception>

#include "apiserver/strategic_merge.h"

namespace podnet::apiserver {

namespace {

constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

core::Error cannotApply(const std::string& why) {
  return core::Error{422, "Invalid",
                     "the server rejected our request due to an error in our "
                     "request: " +
                         why};
}

}  // namespace

api::Json strategicToMergePatch(const api::Json& patch) {
  if (patch.is_array()) {
    api::Json list = api::Json::array();
    for (const auto& item : patch) {
      // {"$patch": "delete", <merge key>} removes an element of the stored
      // list; with lists replaced wholesale the element is just left out.
      if (item.is_object() && item.contains("$patch")) continue;
      list.push_back(strategicToMergePatch(item));
    }
    return list;
  }
  if (!patch.is_object()) return patch;
  if (auto directive = patch.find("$patch"); directive != patch.end()) {
    if (*directive == "delete") return nullptr;  // the whole map goes
  }
  api::Json out = api::Json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (key == "$patch" || key == "$retainKeys" || startsWith(key, kSetElementOrder) ||
        startsWith(key, kDeleteFromPrimitiveList))
      continue;
    out[key] = strategicToMergePatch(it.value());
  }
  return out;
}

const api::schema::Message* schemaOf(const api::ResourceInfo& resource) {
  return api::schema::forKind(resource.apiVersion(), resource.kind);
}

core::Result<api::Json> applyPatch(PatchType type, const api::Json& original,
                                   std::string_view patchBody, const api::schema::Message* schema) {
  auto decoded = api::decodeJson(patchBody);
  if (!decoded) return decoded.takeError();
  api::Json& patch = *decoded;
  try {
    switch (type) {
      case PatchType::Merge: {
        if (!patch.is_object()) return core::badRequest("a merge patch must be a JSON object");
        api::Json result = original;
        result.merge_patch(patch);
        return result;
      }
      case PatchType::StrategicMerge:
        return strategicMerge(original, patch, schema);
      case PatchType::JsonPatch: {
        if (!patch.is_array())
          return core::badRequest("a JSON patch must be an array of operations");
        for (const auto& op : patch)
          if (!op.is_object() || !op.contains("op") || !op["op"].is_string() ||
              !op.contains("path") || !op["path"].is_string())
            return core::badRequest("a JSON patch operation needs string \"op\" and \"path\"");
        return original.patch(patch);
      }
      case PatchType::Apply:
      case PatchType::Unsupported:
        break;
    }
  } catch (const api::Json::out_of_range& e) {
    return cannotApply(e.what());
  } catch (const api::Json::other_error& e) {  // a failed "test" operation
    return cannotApply(e.what());
  } catch (const std::exception& e) {
    return core::badRequest(std::string("invalid patch: ") + e.what());
  }
  return core::unsupportedMediaType("patch");
}

}  // namespace podnet::apiserver
