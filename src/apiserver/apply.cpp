#include "apiserver/apply.h"

#include <algorithm>

#include "api/object.h"
#include "api/strict.h"
#include "apiserver/strategic_merge.h"

namespace podnet::apiserver {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;
using Path = std::vector<std::string>;

// ------------------------------------------------------------------ FieldSet

bool FieldSet::contains(const Path& path) const {
  const FieldSet* node = this;
  for (const auto& element : path) {
    auto child = node->children.find(element);
    if (child == node->children.end()) return false;
    node = &child->second;
  }
  return node->member;
}

bool FieldSet::touches(const Path& path) const {
  const FieldSet* node = this;
  for (const auto& element : path) {
    auto child = node->children.find(element);
    if (child == node->children.end()) return false;
    node = &child->second;
  }
  return !node->empty();
}

void FieldSet::insert(const Path& path) {
  FieldSet* node = this;
  for (const auto& element : path) node = &node->children[element];
  node->member = true;
}

void FieldSet::unite(const FieldSet& other) {
  member = member || other.member;
  for (const auto& [key, child] : other.children) children[key].unite(child);
}

void FieldSet::subtract(const FieldSet& other) {
  if (other.member) member = false;
  for (auto it = children.begin(); it != children.end();) {
    auto theirs = other.children.find(it->first);
    if (theirs != other.children.end()) it->second.subtract(theirs->second);
    if (it->second.empty())
      it = children.erase(it);
    else
      ++it;
  }
}

namespace {

void visitMembers(const FieldSet& node, Path& path,
                  const std::function<void(const Path&, const FieldSet&)>& visit) {
  if (node.member) visit(path, node);
  for (const auto& [key, child] : node.children) {
    path.push_back(key);
    visitMembers(child, path, visit);
    path.pop_back();
  }
}

}  // namespace

void FieldSet::forEachMember(const std::function<void(const Path&)>& visit) const {
  Path path;
  visitMembers(*this, path, [&](const Path& p, const FieldSet&) { visit(p); });
}

Json FieldSet::toFieldsV1() const {
  Json out = Json::object();
  for (const auto& [key, child] : children) {
    if (child.empty()) continue;
    Json encoded = child.toFieldsV1();
    if (child.member && !child.children.empty()) encoded["."] = Json::object();
    out[key] = std::move(encoded);
  }
  return out;
}

FieldSet FieldSet::fromFieldsV1(const Json& fields) {
  FieldSet set;
  if (!fields.is_object()) return set;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it.key() == ".") {
      set.member = true;
      continue;
    }
    FieldSet child = fromFieldsV1(it.value());
    // A leaf ({}) is a member with nothing below it.
    if (it->is_object() && it->empty()) child.member = true;
    if (!child.empty()) set.children[it.key()] = std::move(child);
  }
  return set;
}

// ------------------------------------------------------------- type helpers

namespace {

enum class ListKind { Atomic, Set, Map };

// How server-side apply treats a list field: its x-kubernetes-list-type, or,
// where the table names none, what its patch strategy implies.
ListKind listKindOf(const Field& field, std::vector<std::string>& keys) {
  keys.clear();
  if (field.listType == "map" && !field.listMapKeys.empty()) {
    for (auto key : field.listMapKeys) keys.emplace_back(key);
    return ListKind::Map;
  }
  if (field.listType == "set") return ListKind::Set;
  if (field.listType == "atomic") return ListKind::Atomic;
  if (hasPatchStrategy(&field, "merge")) {
    if (field.type != Type::Message) return ListKind::Set;
    if (!field.patchMergeKey.empty()) {
      keys.emplace_back(field.patchMergeKey);
      return ListKind::Map;
    }
  }
  return ListKind::Atomic;
}

// The value of a list-map key of `item`, with the one default that matters
// for the served types: ports without a protocol are TCP (upstream fills key
// defaults from the OpenAPI schema).
const Json* keyValue(const Json& item, const std::string& key) {
  static const Json kTcp = "TCP";
  if (auto found = item.find(key); found != item.end() && !found->is_null()) return &*found;
  if (key == "protocol") return &kTcp;
  return nullptr;
}

// The identity of a list-map item: {"port":80,"protocol":"TCP"}.
Json itemKey(const Json& item, const std::vector<std::string>& keys) {
  Json key = Json::object();
  if (!item.is_object()) return key;
  for (const auto& name : keys)
    if (const Json* value = keyValue(item, name)) key[name] = *value;
  return key;
}

bool matchesKey(const Json& item, const Json& key) {
  if (!item.is_object() || !key.is_object() || key.empty()) return false;
  for (auto it = key.begin(); it != key.end(); ++it) {
    const Json* value = keyValue(item, it.key());
    if (!value || *value != it.value()) return false;
  }
  return true;
}

std::string dumpCompact(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---------------------------------------------------------------- field sets

FieldSet collectFields(const Json& obj, ObjectType type, bool withContainers) {
  FieldSet set;
  if (!obj.is_object()) return set;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const Json& value = it.value();
    ValueType child = childOf(type, it.key());
    FieldSet node;
    std::vector<std::string> keys;
    if (value.is_object() && !value.empty()) {
      node = collectFields(value, objectTypeOf(child), withContainers);
      if (withContainers && child.field && !child.element && child.field->shape == Shape::Map)
        node.member = true;
      if (node.empty()) node.member = true;
    } else if (value.is_array() && !value.empty() && isListField(child) &&
               listKindOf(*child.field, keys) != ListKind::Atomic) {
      ListKind kind = listKindOf(*child.field, keys);
      if (withContainers) node.member = true;
      for (const auto& item : value) {
        if (kind == ListKind::Set) {
          node.children["v:" + dumpCompact(item)].member = true;
          continue;
        }
        FieldSet entry = collectFields(item, objectTypeOf({child.field, true}), withContainers);
        entry.member = true;
        node.children["k:" + dumpCompact(itemKey(item, keys))] = std::move(entry);
      }
    } else {
      node.member = true;
    }
    set.children["f:" + it.key()] = std::move(node);
  }
  return set;
}

// Fields no manager owns: the server's (upstream's stripMeta) and status,
// which writes to the main resource do not change.
void stripServerFields(FieldSet& set) {
  for (const char* field : {"f:apiVersion", "f:kind", "f:status"}) set.children.erase(field);
  auto metadata = set.children.find("f:metadata");
  if (metadata == set.children.end()) return;
  for (const char* field :
       {"f:name", "f:namespace", "f:creationTimestamp", "f:uid", "f:resourceVersion",
        "f:generation", "f:managedFields", "f:selfLink", "f:deletionTimestamp",
        "f:deletionGracePeriodSeconds", "f:generateName"})
    metadata->second.children.erase(field);
  metadata->second.member = false;
  if (metadata->second.empty()) set.children.erase(metadata);
}

// ------------------------------------------------------------ path lookups

Json parseElementJson(std::string_view text) {
  return Json::parse(text.begin(), text.end(), nullptr, false);
}

const Json* childValue(const Json& value, const std::string& element) {
  std::string_view rest = std::string_view(element).substr(2);
  if (element.rfind("f:", 0) == 0) {
    if (!value.is_object()) return nullptr;
    auto found = value.find(std::string(rest));
    return found == value.end() ? nullptr : &*found;
  }
  if (!value.is_array()) return nullptr;
  if (element.rfind("k:", 0) == 0) {
    Json key = parseElementJson(rest);
    for (const auto& item : value)
      if (matchesKey(item, key)) return &item;
    return nullptr;
  }
  if (element.rfind("v:", 0) == 0) {
    Json wanted = parseElementJson(rest);
    for (const auto& item : value)
      if (item == wanted) return &item;
    return nullptr;
  }
  if (element.rfind("i:", 0) == 0) {
    size_t index = 0;
    for (char c : rest) {
      if (c < '0' || c > '9' || index > value.size()) return nullptr;
      index = index * 10 + static_cast<size_t>(c - '0');
    }
    return index < value.size() ? &value[index] : nullptr;
  }
  return nullptr;
}

const Json* resolve(const Json& root, const Path& path) {
  const Json* value = &root;
  for (const auto& element : path) {
    value = childValue(*value, element);
    if (!value) return nullptr;
  }
  return value;
}

// Removes the value at `path` (a field or a list item) from `root`.
void erasePath(Json& root, const Path& path) {
  if (path.empty()) return;
  Path parentPath(path.begin(), path.end() - 1);
  const Json* parent = resolve(root, parentPath);
  const Json* target = resolve(root, path);
  if (!parent || !target) return;
  Json& container = const_cast<Json&>(*parent);
  if (container.is_object()) {
    container.erase(path.back().substr(2));
  } else if (container.is_array()) {
    for (auto it = container.begin(); it != container.end(); ++it) {
      if (&*it == target) {
        container.erase(it);
        break;
      }
    }
  }
}

// Whether the value at a member path differs between two objects. A node
// with owned children is compared by presence (its children are compared on
// their own); a leaf by value.
bool differs(const Json& before, const Json& after, const Path& path, const FieldSet& node) {
  const Json* a = resolve(before, path);
  const Json* b = resolve(after, path);
  if (!a || !b) return (a == nullptr) != (b == nullptr);
  if (!node.children.empty()) return false;
  return *a != *b;
}

// ------------------------------------------------------------ managedFields

struct ManagedEntry {
  Json raw;  // the entry as stored (keeps fields podnet does not interpret)
  FieldSet fields;

  std::string manager() const { return api::getString(raw, Json::json_pointer("/manager")); }
  std::string operation() const { return api::getString(raw, Json::json_pointer("/operation")); }
  std::string subresource() const {
    return api::getString(raw, Json::json_pointer("/subresource"));
  }
};

std::vector<ManagedEntry> readEntries(const Json& managedFields) {
  std::vector<ManagedEntry> entries;
  if (!managedFields.is_array()) return entries;
  for (const auto& raw : managedFields) {
    if (!raw.is_object()) continue;
    ManagedEntry entry{raw, {}};
    if (auto fields = raw.find("fieldsV1"); fields != raw.end())
      entry.fields = FieldSet::fromFieldsV1(*fields);
    entries.push_back(std::move(entry));
  }
  return entries;
}

const Json& managedFieldsOf(const Json& obj) {
  static const Json kNone;
  if (!obj.is_object()) return kNone;
  auto metadata = obj.find("metadata");
  if (metadata == obj.end() || !metadata->is_object()) return kNone;
  auto managed = metadata->find("managedFields");
  return managed == metadata->end() ? kNone : *managed;
}

void writeEntries(Json& obj, std::vector<ManagedEntry>& entries) {
  Json list = Json::array();
  for (auto& entry : entries) {
    if (entry.fields.empty()) continue;  // a manager that owns nothing is forgotten
    entry.raw["fieldsType"] = "FieldsV1";
    entry.raw["fieldsV1"] = entry.fields.toFieldsV1();
    list.push_back(std::move(entry.raw));
  }
  if (!obj["metadata"].is_object()) obj["metadata"] = Json::object();
  if (list.empty())
    obj["metadata"].erase("managedFields");
  else
    obj["metadata"]["managedFields"] = std::move(list);
}

ManagedEntry& entryFor(std::vector<ManagedEntry>& entries, const std::string& manager,
                       const std::string& operation, const std::string& apiVersion) {
  for (auto& entry : entries)
    if (entry.manager() == manager && entry.operation() == operation && entry.subresource().empty())
      return entry;
  entries.push_back(ManagedEntry{Json{{"manager", manager}, {"operation", operation}}, {}});
  (void)apiVersion;
  return entries.back();
}

void stamp(ManagedEntry& entry, const std::string& apiVersion) {
  entry.raw["apiVersion"] = apiVersion;
  entry.raw["time"] = api::nowRfc3339();
}

// ------------------------------------------------------------- apply merge

void mergeApplied(Json& target, const Json& config, ObjectType type);

void mergeAppliedList(Json& target, const Json& config, const Field& field) {
  std::vector<std::string> keys;
  ListKind kind = listKindOf(field, keys);
  if (kind == ListKind::Atomic || !target.is_array()) {
    target = config;
    return;
  }
  if (kind == ListKind::Set) {
    for (const auto& value : config)
      if (std::find(target.begin(), target.end(), value) == target.end()) target.push_back(value);
    return;
  }
  for (const auto& item : config) {
    if (!item.is_object()) {  // not a list of objects after all: take it whole
      target = config;
      return;
    }
    Json key = itemKey(item, keys);
    auto existing = std::find_if(target.begin(), target.end(),
                                 [&](const Json& candidate) { return matchesKey(candidate, key); });
    if (existing != target.end())
      mergeApplied(*existing, item, objectTypeOf({&field, true}));
    else
      target.push_back(item);
  }
}

// The applied configuration laid over the live object: its values win,
// list-map items merge by key, sets unite, atomic lists replace.
void mergeApplied(Json& target, const Json& config, ObjectType type) {
  if (!target.is_object()) target = Json::object();
  for (auto it = config.begin(); it != config.end(); ++it) {
    const Json& value = it.value();
    ValueType child = childOf(type, it.key());
    if (value.is_null()) {
      target.erase(it.key());
    } else if (value.is_object()) {
      mergeApplied(target[it.key()], value, objectTypeOf(child));
    } else if (value.is_array() && isListField(child)) {
      mergeAppliedList(target[it.key()], value, *child.field);
    } else {
      target[it.key()] = value;
    }
  }
}

std::string quoted(const std::string& text) { return dumpCompact(Json(text)); }

// How upstream's printManager names a manager in conflict messages.
std::string managerDisplay(const ManagedEntry& entry) {
  std::string out = quoted(entry.manager());
  if (!entry.subresource().empty()) out += " with subresource " + quoted(entry.subresource());
  if (entry.operation() == "Update")
    out += " using " + api::getString(entry.raw, Json::json_pointer("/apiVersion"));
  return out;
}

}  // namespace

// ------------------------------------------------------------------- public

FieldSet fieldsOf(const Json& obj, const Message* type, bool withContainers) {
  FieldSet set = collectFields(obj, {type, nullptr}, withContainers);
  stripServerFields(set);
  return set;
}

std::string pathString(const Path& path) {
  std::string out;
  for (const auto& element : path) {
    std::string_view rest = std::string_view(element).substr(std::min<size_t>(2, element.size()));
    if (element.rfind("f:", 0) == 0) {
      out += ".";
      out += rest;
    } else if (element.rfind("k:", 0) == 0) {
      Json key = parseElementJson(rest);
      out += "[";
      bool first = true;
      if (key.is_object()) {
        for (auto it = key.begin(); it != key.end(); ++it) {
          if (!first) out += ",";
          first = false;
          out += it.key() + "=" + dumpCompact(it.value());
        }
      }
      out += "]";
    } else if (element.rfind("v:", 0) == 0) {
      out += "[=";
      out += rest;
      out += "]";
    } else if (element.rfind("i:", 0) == 0) {
      out += "[";
      out += rest;
      out += "]";
    }
  }
  return out;
}

std::string defaultFieldManager(std::string_view userAgent) {
  std::string_view product = userAgent.substr(0, userAgent.find('/'));
  while (!product.empty() && product.back() == ' ') product.remove_suffix(1);
  if (product.empty()) return "unknown";
  return std::string(product.substr(0, 128));
}

void recordUpdate(const Json& old, Json& updated, const Message* type, const std::string& manager,
                  const std::string& apiVersion) {
  if (!updated.is_object()) return;
  const Json& sent = managedFieldsOf(updated);
  const Json& stored = managedFieldsOf(old);
  std::vector<ManagedEntry> entries =
      readEntries(sent.is_array() && sent != stored ? sent : stored);

  FieldSet after = fieldsOf(updated, type, true);
  FieldSet before = old.is_object() ? fieldsOf(old, type, true) : FieldSet{};
  const Json& oldObject = old.is_object() ? old : Json::object();
  FieldSet changed;
  Path path;
  visitMembers(after, path, [&](const Path& p, const FieldSet& node) {
    if (differs(oldObject, updated, p, node)) changed.insert(p);
  });
  FieldSet removed = before;
  removed.subtract(after);

  for (auto& entry : entries) {
    if (entry.manager() == manager && entry.operation() == "Update" && entry.subresource().empty())
      continue;
    entry.fields.subtract(changed);
    entry.fields.subtract(removed);
  }
  if (!changed.empty() || !removed.empty()) {
    ManagedEntry& mine = entryFor(entries, manager, "Update", apiVersion);
    mine.fields.unite(changed);
    mine.fields.subtract(removed);
    stamp(mine, apiVersion);
  }
  writeEntries(updated, entries);
}

core::Result<Json> applyConfiguration(const Json& live, const Json& config, const Message* type,
                                      const ApplyOptions& options) {
  if (!config.is_object()) return core::badRequest("the applied configuration must be an object");
  Json applied = config;
  if (applied.contains("metadata") && applied["metadata"].is_object())
    applied["metadata"].erase("managedFields");
  const Json base = live.is_object() ? live : Json::object();
  std::vector<ManagedEntry> entries = readEntries(managedFieldsOf(base));

  FieldSet owned = fieldsOf(applied, type, false);
  Json merged = base;
  mergeApplied(merged, applied, {type, nullptr});

  // A field the applier changes that another manager owns is a conflict.
  struct Conflict {
    size_t entry;
    Path path;
  };
  std::vector<Conflict> conflicts;
  Path walk;
  visitMembers(owned, walk, [&](const Path& p, const FieldSet& node) {
    if (!differs(base, merged, p, node)) return;
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].manager() != options.manager && entries[i].fields.contains(p))
        conflicts.push_back({i, p});
  });
  if (!conflicts.empty() && !options.force) {
    core::Error error{409, "Conflict", ""};
    for (const auto& conflict : conflicts)
      error.causes.push_back({"FieldManagerConflict",
                              "conflict with " + managerDisplay(entries[conflict.entry]),
                              pathString(conflict.path)});
    if (conflicts.size() == 1) {
      error.message = "Apply failed with 1 conflict: conflict with " +
                      managerDisplay(entries[conflicts[0].entry]) + ": " +
                      pathString(conflicts[0].path);
    } else {
      // Grouped by manager, managers sorted, as upstream's getConflictMessage.
      std::map<std::string, std::vector<std::string>> byManager;
      for (const auto& conflict : conflicts)
        byManager[managerDisplay(entries[conflict.entry])].push_back(pathString(conflict.path));
      std::string text;
      for (const auto& [manager, paths] : byManager) {
        if (!text.empty()) text += "\n";
        text += "conflicts with " + manager + ":";
        for (const auto& p : paths) text += "\n- " + p;
      }
      error.message =
          "Apply failed with " + std::to_string(conflicts.size()) + " conflicts: " + text;
    }
    return error;
  }
  for (const auto& conflict : conflicts) {  // force: the applier takes them over
    FieldSet taken;
    taken.insert(conflict.path);
    entries[conflict.entry].fields.subtract(taken);
  }

  // Fields this manager applied before but no longer does go, unless
  // someone else still owns them (or something below them).
  FieldSet dropped;
  for (auto& entry : entries)
    if (entry.manager() == options.manager && entry.operation() == "Apply" &&
        entry.subresource().empty()) {
      dropped = entry.fields;
      dropped.subtract(owned);
    }
  std::vector<Path> toRemove;
  dropped.forEachMember([&](const Path& p) {
    if (owned.touches(p)) return;
    for (const auto& entry : entries)
      if (entry.manager() != options.manager && entry.fields.touches(p)) return;
    toRemove.push_back(p);
  });
  // Parents first: a list item goes whole (removing its key fields first
  // would leave it unfindable); its removed children then resolve to nothing.
  for (const auto& p : toRemove) erasePath(merged, p);

  ManagedEntry& mine = entryFor(entries, options.manager, "Apply", options.apiVersion);
  mine.fields = owned;
  stamp(mine, options.apiVersion);
  writeEntries(merged, entries);
  return merged;
}

core::Result<ApplyResult> serverSideApply(client::Client& client,
                                          const GuaranteedUpdateFn& guaranteedUpdate,
                                          const ApplyRequest& request) {
  const api::ResourceInfo& resource = *request.resource;
  if (request.fieldManager.empty())
    return core::badRequest(
        "PATCH requests with apply content type require fieldManager to be set");
  if (request.fieldManager.size() > 128)
    return core::badRequest("fieldManager: Too long: may not be longer than 128");
  bool force = false;
  if (request.force == "true")
    force = true;
  else if (!request.force.empty() && request.force != "false")
    return core::badRequest("invalid value for force: \"" + request.force + "\"");

  auto decoded = api::decodeYaml(request.body);
  if (!decoded) return decoded.takeError();
  Json config = std::move(*decoded);
  if (!config.is_object()) return core::badRequest("the applied configuration must be an object");
  std::string kind = api::getString(config, Json::json_pointer("/kind"));
  std::string apiVersion = api::getString(config, Json::json_pointer("/apiVersion"));
  if (kind.empty() || apiVersion.empty())
    return core::badRequest("apiVersion and kind must be set in an applied configuration");
  if (kind != resource.kind || apiVersion != resource.apiVersion())
    return core::badRequest(kind + " in version \"" + apiVersion + "\" cannot be handled as a " +
                            resource.kind);
  std::vector<std::string> warnings;
  if (auto ok = api::strict::checkFields(request.fieldValidation, config, warnings); !ok)
    return ok.takeError();
  if (!config.contains("metadata") || config["metadata"].is_null())
    config["metadata"] = Json::object();
  Json& metadata = config["metadata"];
  if (!metadata.is_object()) return core::badRequest("metadata must be an object");
  std::string name = api::getString(config, Json::json_pointer("/metadata/name"));
  if (name.empty())
    metadata["name"] = request.name;
  else if (name != request.name)
    return core::badRequest("the name of the object (" + name +
                            ") does not match the name on the URL (" + request.name + ")");
  if (resource.namespaced) {
    std::string ns = api::getString(config, Json::json_pointer("/metadata/namespace"));
    if (ns.empty())
      metadata["namespace"] = request.ns;
    else if (ns != request.ns)
      return core::badRequest(
          "the namespace of the provided object does not match the namespace sent on the "
          "request");
  } else {
    metadata.erase("namespace");
  }
  std::string wantedVersion = api::resourceVersion(config);
  metadata.erase("resourceVersion");

  const Message* type = api::schema::forKind(resource.apiVersion(), resource.kind);
  ApplyOptions options{request.fieldManager, force, resource.apiVersion()};
  // Two rounds: an object created by someone else between our update's 404
  // and our create is then updated.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto updated = guaranteedUpdate(
        resource, request.ns, request.name,
        [&](Json& live) -> core::Status {
          if (!wantedVersion.empty() && wantedVersion != api::resourceVersion(live))
            return core::conflict(resource.group, resource.plural, request.name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again");
          auto next = applyConfiguration(live, config, type, options);
          if (!next) return next.takeError();
          (*next)["metadata"]["resourceVersion"] = api::resourceVersion(live);
          live = std::move(*next);
          return core::Ok{};
        },
        request.writeOptions);
    if (updated) return ApplyResult{std::move(*updated), false, warnings};
    if (updated.error().code != 404 || updated.error().reason != "NotFound")
      return updated.takeError();
    if (!wantedVersion.empty()) return updated.takeError();
    auto fresh = applyConfiguration(Json(), config, type, options);
    if (!fresh) return fresh.takeError();
    auto created = client.create(resource, request.ns, std::move(*fresh), request.writeOptions);
    if (created) return ApplyResult{std::move(*created), true, warnings};
    if (created.error().reason != "AlreadyExists") return created.takeError();
  }
  return core::conflict(resource.group, resource.plural, request.name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again");
}

}  // namespace podnet::apiserver
