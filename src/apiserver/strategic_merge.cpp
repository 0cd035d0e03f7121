#include "apiserver/strategic_merge.h"

#include <algorithm>
#include <string>
#include <vector>

namespace podnet::apiserver {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;

const Field* findField(const Message* message, std::string_view json) {
  if (!message) return nullptr;
  for (const Field& field : message->fields)
    if (field.json == json) return &field;
  return nullptr;
}

bool hasPatchStrategy(const Field* field, std::string_view strategy) {
  if (!field) return false;
  std::string_view rest = field->patchStrategy;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == strategy) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

ValueType childOf(ObjectType parent, std::string_view key) {
  if (parent.mapValues) return {parent.mapValues, true};
  return {findField(parent.message, key), false};
}

ObjectType objectTypeOf(ValueType value) {
  const Field* field = value.field;
  if (!field) return {};
  if (!value.element && field->shape == Shape::Map) return {nullptr, field};
  if (field->type == Type::Message && (value.element || field->shape != Shape::List))
    return {field->message, nullptr};
  return {};
}

bool isListField(ValueType value) {
  return value.field && !value.element && value.field->shape == Shape::List;
}

namespace {

constexpr std::string_view kPatch = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

core::Error badPatch(const std::string& why) { return core::badRequest(why); }

// The outcome of merging into a map: keep it, or drop it ({"$patch": "delete"}).
enum class MapOutcome { Keep, Delete };

class Merger {
 public:
  core::Result<MapOutcome> mergeObject(Json& target, const Json& patch, ObjectType type);

 private:
  core::Status mergeList(Json& target, const Json& patch, const Field& field, const Json* order);
  core::Status mergeObjectList(Json& target, const Json& patch, const Field& field);
  core::Result<Json> cleanList(const Json& patch, ValueType elements);
  core::Result<Json> cleanValue(const Json& patch, ValueType type);
  core::Status reorder(Json& list, const Json& original, const Json& order, const Field& field);
};

// A patch value with its directives resolved against nothing: what it means
// for a field that is absent or replaced wholesale.
core::Result<Json> Merger::cleanValue(const Json& patch, ValueType type) {
  if (patch.is_object()) {
    Json fresh = Json::object();
    auto outcome = mergeObject(fresh, patch, objectTypeOf(type));
    if (!outcome) return outcome.takeError();
    if (*outcome == MapOutcome::Delete) return Json();  // "discarded" by the caller
    return fresh;
  }
  if (patch.is_array()) return cleanList(patch, {type.field, true});
  return patch;
}

core::Result<Json> Merger::cleanList(const Json& patch, ValueType elements) {
  Json list = Json::array();
  for (const auto& item : patch) {
    // A directive item ({"$patch": "delete", ...}) has nothing to delete
    // from a list that is being replaced.
    if (item.is_object() && item.contains(kPatch)) {
      const Json& directive = item[kPatch];
      if (directive != "merge") continue;
    }
    auto clean = cleanValue(item, elements);
    if (!clean) return clean.takeError();
    if (clean->is_null() && !item.is_null()) continue;
    list.push_back(std::move(*clean));
  }
  return list;
}

core::Result<MapOutcome> Merger::mergeObject(Json& target, const Json& patch, ObjectType type) {
  if (!target.is_object()) target = Json::object();
  if (auto directive = patch.find(kPatch); directive != patch.end()) {
    if (!directive->is_string()) return badPatch("$patch must be a string");
    const std::string& value = directive->get_ref<const std::string&>();
    if (value == "delete") return MapOutcome::Delete;
    if (value == "replace") {
      // The map becomes the patch (without the directive) as it stands.
      Json rest = patch;
      rest.erase(std::string(kPatch));
      target = Json::object();
      return mergeObject(target, rest, type);
    }
    if (value != "merge") return badPatch("unknown patch type: " + value + " in map");
  }
  if (auto retain = patch.find(kRetainKeys); retain != patch.end()) {
    if (!retain->is_array()) return badPatch("$retainKeys must be a list of field names");
    std::vector<std::string> keep;
    for (const auto& key : *retain) {
      if (!key.is_string()) return badPatch("$retainKeys must be a list of field names");
      keep.push_back(key.get<std::string>());
    }
    for (auto it = target.begin(); it != target.end();) {
      if (std::find(keep.begin(), keep.end(), it.key()) == keep.end())
        it = target.erase(it);
      else
        ++it;
    }
  }
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (!startsWith(key, kDeleteFromPrimitiveList)) continue;
    std::string name = key.substr(kDeleteFromPrimitiveList.size());
    if (!it->is_array()) return badPatch(key + " must be a list");
    auto list = target.find(name);
    if (list == target.end() || !list->is_array()) continue;
    Json kept = Json::array();
    for (auto& value : *list)
      if (std::find(it->begin(), it->end(), value) == it->end()) kept.push_back(value);
    *list = std::move(kept);
  }

  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (startsWith(key, "$")) continue;  // directives, handled above and below
    const Json& value = it.value();
    ValueType child = childOf(type, key);
    if (value.is_null()) {
      target.erase(key);
      continue;
    }
    if (value.is_array() && isListField(child)) {
      const Json* order = nullptr;
      if (auto found = patch.find(std::string(kSetElementOrder) + key); found != patch.end())
        order = &*found;
      if (auto ok = mergeList(target[key], value, *child.field, order); !ok) return ok.takeError();
      continue;
    }
    if (value.is_object()) {
      Json& slot = target[key];
      auto outcome = mergeObject(slot, value, objectTypeOf(child));
      if (!outcome) return outcome.takeError();
      if (*outcome == MapOutcome::Delete) target.erase(key);
      continue;
    }
    auto clean = cleanValue(value, child);
    if (!clean) return clean.takeError();
    target[key] = std::move(*clean);
  }

  // $setElementOrder of a list the patch leaves alone still orders it.
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    if (!startsWith(key, kSetElementOrder)) continue;
    std::string name = key.substr(kSetElementOrder.size());
    if (patch.contains(name)) continue;
    ValueType child = childOf(type, name);
    auto list = target.find(name);
    if (!isListField(child) || !hasPatchStrategy(child.field, "merge") || list == target.end() ||
        !list->is_array())
      continue;
    Json original = *list;
    if (auto ok = reorder(*list, original, it.value(), *child.field); !ok) return ok.takeError();
  }
  return MapOutcome::Keep;
}

core::Status Merger::mergeList(Json& target, const Json& patch, const Field& field,
                               const Json* order) {
  if (!hasPatchStrategy(&field, "merge")) {
    auto clean = cleanList(patch, {&field, true});
    if (!clean) return clean.takeError();
    target = std::move(*clean);
    return core::Ok{};
  }
  if (!target.is_array()) target = Json::array();
  Json original = target;
  if (field.type == Type::Message) {
    if (auto ok = mergeObjectList(target, patch, field); !ok) return ok;
  } else {
    // A list of primitives merges as a set: the original's values, then the
    // patch's new ones.
    for (const auto& value : patch) {
      if (value.is_object() && value.contains(kPatch)) continue;
      if (std::find(target.begin(), target.end(), value) == target.end()) target.push_back(value);
    }
  }
  if (order) return reorder(target, original, *order, field);
  return core::Ok{};
}

core::Status Merger::mergeObjectList(Json& target, const Json& patch, const Field& field) {
  const std::string key(field.patchMergeKey);
  ValueType elements{&field, true};
  // {"$patch": "replace"} among the items: the other items are the list.
  for (const auto& item : patch) {
    if (item.is_object() && item.contains(kPatch) && item[kPatch] == "replace") {
      auto clean = cleanList(patch, elements);
      if (!clean) return clean.takeError();
      target = std::move(*clean);
      return core::Ok{};
    }
  }
  if (key.empty()) {  // no merge key to match by: nothing to merge, replace
    auto clean = cleanList(patch, elements);
    if (!clean) return clean.takeError();
    target = std::move(*clean);
    return core::Ok{};
  }
  auto findByKey = [&](const Json& keyValue) -> Json::iterator {
    return std::find_if(target.begin(), target.end(), [&](const Json& existing) {
      return existing.is_object() && existing.contains(key) && existing[key] == keyValue;
    });
  };
  for (const auto& item : patch) {
    if (!item.is_object())
      return badPatch("the items of " + std::string(field.json) + " must be objects");
    if (!item.contains(key))
      return badPatch("map: " + item.dump() + " does not contain declared merge key: " + key);
    const Json& keyValue = item[key];
    if (auto directive = item.find(kPatch); directive != item.end()) {
      if (*directive == "delete") {
        target.erase(std::remove_if(target.begin(), target.end(),
                                    [&](const Json& existing) {
                                      return existing.is_object() && existing.contains(key) &&
                                             existing[key] == keyValue;
                                    }),
                     target.end());
        continue;
      }
      if (*directive != "merge")
        return badPatch("unknown patch type: " + directive->dump() + " in a list item");
    }
    auto existing = findByKey(keyValue);
    if (existing != target.end()) {
      auto outcome = mergeObject(*existing, item, objectTypeOf(elements));
      if (!outcome) return outcome.takeError();
      if (*outcome == MapOutcome::Delete) target.erase(existing);
      continue;
    }
    Json fresh = Json::object();
    auto outcome = mergeObject(fresh, item, objectTypeOf(elements));
    if (!outcome) return outcome.takeError();
    if (*outcome == MapOutcome::Keep) target.push_back(std::move(fresh));
  }
  return core::Ok{};
}

// Orders a merged list as $setElementOrder says, the way strategicpatch's
// normalizeElementOrder does: the items it names come in its order, and the
// items only the server had keep their place relative to the original list.
core::Status Merger::reorder(Json& list, const Json& original, const Json& order,
                             const Field& field) {
  if (!order.is_array())
    return badPatch("$setElementOrder/" + std::string(field.json) + " must be a list");
  const std::string key(field.patchMergeKey);
  bool byKey = field.type == Type::Message && !key.empty();
  auto identity = [&](const Json& item) -> const Json* {
    if (!byKey) return &item;
    if (!item.is_object()) return nullptr;
    auto found = item.find(key);
    return found == item.end() ? nullptr : &*found;
  };
  auto indexIn = [&](const Json& haystack, const Json& item) -> long {
    const Json* id = identity(item);
    if (!id) return -1;
    for (size_t i = 0; i < haystack.size(); ++i) {
      const Json* other = identity(haystack[i]);
      if (other && *other == *id) return static_cast<long>(i);
    }
    return -1;
  };
  std::vector<std::pair<long, Json>> named;
  std::vector<Json> serverOnly;
  for (auto& item : list) {
    long position = indexIn(order, item);
    if (position >= 0)
      named.emplace_back(position, std::move(item));
    else
      serverOnly.push_back(std::move(item));
  }
  std::stable_sort(named.begin(), named.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Json result = Json::array();
  size_t i = 0, j = 0;
  while (i < named.size() || j < serverOnly.size()) {
    if (j >= serverOnly.size()) {
      result.push_back(std::move(named[i++].second));
    } else if (i >= named.size()) {
      result.push_back(std::move(serverOnly[j++]));
    } else {
      long left = indexIn(original, named[i].second);
      long right = indexIn(original, serverOnly[j]);
      if (left >= 0 && right >= 0 && left < right)
        result.push_back(std::move(named[i++].second));
      else
        result.push_back(std::move(serverOnly[j++]));
    }
  }
  list = std::move(result);
  return core::Ok{};
}

}  // namespace

core::Result<Json> strategicMerge(const Json& original, const Json& patch, const Message* type) {
  if (!patch.is_object()) return badPatch("a strategic merge patch must be a JSON object");
  Json result = original.is_object() ? original : Json::object();
  Merger merger;
  auto outcome = merger.mergeObject(result, patch, {type, nullptr});
  if (!outcome) return outcome.takeError();
  if (*outcome == MapOutcome::Delete) return Json::object();
  return result;
}

}  // namespace podnet::apiserver
