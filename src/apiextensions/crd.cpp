#include "apiextensions/crd.h"

#include <algorithm>
#include <set>

#include "api/custom_resource.h"
#include "api/object.h"
#include "api/validation.h"
#include "apiextensions/jsonpath.h"
#include "apiextensions/structural_schema.h"

namespace podnet::apiextensions {

namespace {

using core::Cause;

const Json& objectOr(const Json* value) {
  static const Json empty = Json::object();
  return value && value->is_object() ? *value : empty;
}

const Json& arrayOr(const Json* value) {
  static const Json empty = Json::array();
  return value && value->is_array() ? *value : empty;
}

std::string lower(std::string text) {
  for (auto& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A custom resource version whose schema does the work.
struct SchemaResource : api::CustomResource {
  std::shared_ptr<const StructuralSchema> schema;

  std::vector<std::string> prune(Json& obj) const override { return schema->prune(obj); }
  void applyDefaults(Json& obj) const override { schema->applyDefaults(obj); }
  std::vector<core::Cause> validate(const Json& obj) const override {
    return schema->validate(obj);
  }
};

const Json* versionSchema(const Json& version) {
  const Json* schema = api::member(objectOr(api::member(version, "schema")), "openAPIV3Schema");
  return schema && schema->is_object() ? schema : nullptr;
}

std::string storageVersionOf(const Json& spec) {
  for (const auto& version : arrayOr(api::member(spec, "versions"))) {
    const Json* storage = api::member(version, "storage");
    if (storage && storage->is_boolean() && storage->get<bool>())
      return api::stringAt(version, "name");
  }
  return "";
}

bool flag(const Json& obj, const char* key) {
  const Json* value = api::member(obj, key);
  return value && value->is_boolean() && value->get<bool>();
}

class CrdValidator {
 public:
  std::vector<Cause> causes;

  void required(const std::string& field, const std::string& detail = "") {
    causes.push_back({"FieldValueRequired",
                      detail.empty() ? "Required value" : "Required value: " + detail, field});
  }
  void invalid(const std::string& field, const std::string& value, const std::string& detail) {
    causes.push_back({"FieldValueInvalid", "Invalid value: \"" + value + "\": " + detail, field});
  }
  void dns1035(const std::string& field, const std::string& value) {
    for (const auto& problem : api::isDns1035Label(value)) invalid(field, value, problem);
  }

  void names(const Json& names, const std::string& path) {
    std::string plural = api::stringAt(names, "plural");
    std::string singular = api::stringAt(names, "singular");
    std::string kind = api::stringAt(names, "kind");
    std::string listKind = api::stringAt(names, "listKind");
    if (plural.empty())
      required(path + ".plural");
    else
      dns1035(path + ".plural", plural);
    if (singular.empty())
      required(path + ".singular");
    else
      dns1035(path + ".singular", singular);
    if (kind.empty()) {
      required(path + ".kind");
    } else {
      for (const auto& problem : api::isDns1035Label(lower(kind)))
        invalid(path + ".kind", kind, problem);
    }
    if (listKind.empty()) {
      required(path + ".listKind");
    } else {
      for (const auto& problem : api::isDns1035Label(lower(listKind)))
        invalid(path + ".listKind", listKind, problem);
      if (listKind == kind)
        invalid(path + ".listKind", listKind, "kind and listKind may not be the same");
    }
    std::set<std::string> seen;
    const Json& shortNames = arrayOr(api::member(names, "shortNames"));
    for (size_t i = 0; i < shortNames.size(); ++i) {
      std::string name = shortNames[i].is_string() ? shortNames[i].get<std::string>() : "";
      std::string field = path + ".shortNames[" + std::to_string(i) + "]";
      dns1035(field, name);
      if (!seen.insert(name).second)
        causes.push_back({"FieldValueDuplicate", "Duplicate value: \"" + name + "\"", field});
    }
    const Json& categories = arrayOr(api::member(names, "categories"));
    for (size_t i = 0; i < categories.size(); ++i)
      dns1035(path + ".categories[" + std::to_string(i) + "]",
              categories[i].is_string() ? categories[i].get<std::string>() : "");
  }

  void columns(const Json& columns, const std::string& path) {
    static const std::set<std::string> kTypes = {"integer", "number", "string", "boolean", "date"};
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string field = path + "[" + std::to_string(i) + "]";
      const Json& column = columns[i];
      if (api::stringAt(column, "name").empty()) required(field + ".name");
      std::string type = api::stringAt(column, "type");
      if (type.empty())
        required(field + ".type");
      else if (!kTypes.count(type))
        causes.push_back({"FieldValueNotSupported",
                          "Unsupported value: \"" + type +
                              "\": supported values: \"boolean\", \"date\", \"integer\", "
                              "\"number\", \"string\"",
                          field + ".type"});
      std::string path = api::stringAt(column, "jsonPath");
      if (path.empty())
        required(field + ".jsonPath");
      else if (auto problem = JsonPath::parse(path).error; !problem.empty())
        invalid(field + ".jsonPath", path,
                "must be a simple json path starting with . (" + problem + ")");
      const Json* priority = api::member(column, "priority");
      if (priority && (!priority->is_number_integer() || priority->get<int64_t>() < 0))
        causes.push_back(
            {"FieldValueInvalid",
             "Invalid value: " + priority->dump() + ": must be greater than or equal to 0",
             field + ".priority"});
    }
  }

  void scale(const Json& scale, const std::string& path) {
    std::string spec = api::stringAt(scale, "specReplicasPath");
    std::string status = api::stringAt(scale, "statusReplicasPath");
    if (spec.empty())
      required(path + ".specReplicasPath");
    else if (spec.rfind(".spec.", 0) != 0)
      invalid(path + ".specReplicasPath", spec, "should be a json path under .spec");
    if (status.empty())
      required(path + ".statusReplicasPath");
    else if (status.rfind(".status.", 0) != 0)
      invalid(path + ".statusReplicasPath", status, "should be a json path under .status");
    std::string selector = api::stringAt(scale, "labelSelectorPath");
    if (!selector.empty() && selector.rfind(".spec.", 0) != 0 && selector.rfind(".status.", 0) != 0)
      invalid(path + ".labelSelectorPath", selector,
              "should be a json path under either .spec or .status");
  }
};

}  // namespace

void defaultCrd(Json& crd) {
  if (!crd.is_object()) return;
  Json& spec = crd["spec"];
  if (!spec.is_object()) return;
  if (spec.contains("names") && spec["names"].is_object()) {
    Json& names = spec["names"];
    std::string kind = api::stringAt(names, "kind");
    if (api::stringAt(names, "singular").empty() && !kind.empty()) names["singular"] = lower(kind);
    if (api::stringAt(names, "listKind").empty() && !kind.empty())
      names["listKind"] = kind + "List";
  }
  if (!spec.contains("conversion") || !spec["conversion"].is_object())
    spec["conversion"] = {{"strategy", "None"}};
  else if (!spec["conversion"].contains("strategy"))
    spec["conversion"]["strategy"] = "None";
}

std::vector<core::Cause> validateCrd(const Json& crd, const Json* old) {
  CrdValidator v;
  const Json& spec = objectOr(api::member(crd, "spec"));
  const Json& names = objectOr(api::member(spec, "names"));
  std::string group = api::stringAt(spec, "group");
  std::string plural = api::stringAt(names, "plural");
  std::string name = api::name(crd);

  if (name != plural + "." + group)
    v.invalid("metadata.name", name, "must be spec.names.plural+\".\"+spec.group");
  if (group.empty()) {
    v.required("spec.group");
  } else {
    for (const auto& problem : api::isDns1123Subdomain(group))
      v.invalid("spec.group", group, problem);
    if (group.find('.') == std::string::npos)
      v.invalid("spec.group", group, "should be a domain with at least one dot");
  }
  // Groups of the Kubernetes project need an approved API review.
  auto endsWith = [&](std::string_view suffix) {
    return group.size() >= suffix.size() &&
           group.compare(group.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (group == "k8s.io" || group == "kubernetes.io" || endsWith(".k8s.io") ||
      endsWith(".kubernetes.io")) {
    const Json& annotations =
        objectOr(api::member(objectOr(api::member(crd, "metadata")), "annotations"));
    if (api::stringAt(annotations, "api-approved.kubernetes.io").empty())
      v.required("metadata.annotations[api-approved.kubernetes.io]",
                 "protected groups must have approval annotation \"api-approved.kubernetes.io\", "
                 "see https://github.com/kubernetes/enhancements/pull/1111");
  }

  std::string scope = api::stringAt(spec, "scope");
  if (scope.empty())
    v.required("spec.scope");
  else if (scope != "Cluster" && scope != "Namespaced")
    v.causes.push_back(
        {"FieldValueNotSupported",
         "Unsupported value: \"" + scope + "\": supported values: \"Cluster\", \"Namespaced\"",
         "spec.scope"});
  v.names(names, "spec.names");

  std::string strategy = api::stringAt(objectOr(api::member(spec, "conversion")), "strategy");
  if (strategy != "None" && strategy != "Webhook")
    v.causes.push_back(
        {"FieldValueNotSupported",
         "Unsupported value: \"" + strategy + "\": supported values: \"None\", \"Webhook\"",
         "spec.conversion.strategy"});

  const Json& versions = arrayOr(api::member(spec, "versions"));
  if (versions.empty())
    v.required("spec.versions", "must have exactly one version marked as storage version");
  int storage = 0;
  std::set<std::string> versionNames;
  for (size_t i = 0; i < versions.size(); ++i) {
    const Json& version = versions[i];
    std::string field = "spec.versions[" + std::to_string(i) + "]";
    std::string versionName = api::stringAt(version, "name");
    if (versionName.empty())
      v.required(field + ".name");
    else
      v.dns1035(field + ".name", versionName);
    if (!versionNames.insert(versionName).second)
      v.causes.push_back(
          {"FieldValueDuplicate", "Duplicate value: \"" + versionName + "\"", field + ".name"});
    if (flag(version, "storage")) ++storage;
    if (const Json* schema = versionSchema(version)) {
      StructuralSchema::compile(*schema, field + ".schema.openAPIV3Schema", v.causes);
    } else {
      v.required(field + ".schema.openAPIV3Schema", "schemas are required");
    }
    const Json& subresources = objectOr(api::member(version, "subresources"));
    if (const Json* scale = api::member(subresources, "scale"); scale && scale->is_object())
      v.scale(*scale, field + ".subresources.scale");
    v.columns(arrayOr(api::member(version, "additionalPrinterColumns")),
              field + ".additionalPrinterColumns");
  }
  if (!versions.empty() && storage != 1)
    v.causes.push_back({"FieldValueInvalid",
                        "Invalid value: " + std::to_string(storage) +
                            ": must have exactly one version marked as storage version",
                        "spec.versions"});
  bool anyServed = false;
  for (const auto& version : versions) anyServed = anyServed || flag(version, "served");
  if (!versions.empty() && !anyServed)
    v.invalid("spec.versions", "", "must have at least one version marked as served");

  if (old) {
    const Json& oldSpec = objectOr(api::member(*old, "spec"));
    if (api::stringAt(oldSpec, "scope") != scope && !scope.empty())
      v.invalid("spec.scope", scope, "field is immutable");
    if (api::stringAt(oldSpec, "group") != group && !group.empty())
      v.invalid("spec.group", group, "field is immutable");
  }
  // Every version still stored must stay among the versions.
  const Json& stored = arrayOr(api::member(objectOr(api::member(crd, "status")), "storedVersions"));
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string version = stored[i].is_string() ? stored[i].get<std::string>() : "";
    if (!versionNames.count(version))
      v.invalid("status.storedVersions[" + std::to_string(i) + "]", version,
                "must appear in spec.versions");
  }
  return std::move(v.causes);
}

std::vector<api::ResourceInfo> servedResources(const Json& crd) {
  std::vector<api::ResourceInfo> out;
  const Json& spec = objectOr(api::member(crd, "spec"));
  const Json& names = objectOr(api::member(spec, "names"));
  std::string group = api::stringAt(spec, "group");
  std::string storage = storageVersionOf(spec);
  bool terminating = api::isBeingDeleted(crd);
  for (const auto& version : arrayOr(api::member(spec, "versions"))) {
    if (!flag(version, "served")) continue;
    const Json* schemaJson = versionSchema(version);
    if (!schemaJson) continue;
    std::vector<Cause> problems;
    auto schema = StructuralSchema::compile(*schemaJson, "", problems);
    if (!schema) continue;

    auto custom = std::make_shared<SchemaResource>();
    custom->schema = schema;
    custom->crdName = api::name(crd);
    custom->crdUid = api::uid(crd);
    custom->storageVersion = storage;
    custom->terminating = terminating;
    custom->openApiSchema = *schemaJson;
    custom->deprecated = flag(version, "deprecated");
    custom->deprecationWarning = api::stringAt(version, "deprecationWarning");
    for (const auto& column : arrayOr(api::member(version, "additionalPrinterColumns"))) {
      api::PrinterColumn printer;
      printer.name = api::stringAt(column, "name");
      printer.type = api::stringAt(column, "type");
      printer.format = api::stringAt(column, "format");
      printer.description = api::stringAt(column, "description");
      printer.jsonPath = api::stringAt(column, "jsonPath");
      if (const Json* priority = api::member(column, "priority");
          priority && priority->is_number_integer())
        printer.priority = int(priority->get<int64_t>());
      custom->columns.push_back(std::move(printer));
    }
    const Json& subresources = objectOr(api::member(version, "subresources"));
    const Json* scale = api::member(subresources, "scale");
    if (scale && scale->is_object()) {
      custom->specReplicasPath = api::stringAt(*scale, "specReplicasPath");
      custom->statusReplicasPath = api::stringAt(*scale, "statusReplicasPath");
      custom->labelSelectorPath = api::stringAt(*scale, "labelSelectorPath");
    }

    api::ResourceInfo info;
    info.group = group;
    info.version = api::stringAt(version, "name");
    info.kind = api::stringAt(names, "kind");
    info.plural = api::stringAt(names, "plural");
    info.singular = api::stringAt(names, "singular");
    info.namespaced = api::stringAt(spec, "scope") == "Namespaced";
    for (const auto& shortName : arrayOr(api::member(names, "shortNames")))
      if (shortName.is_string()) info.shortNames.push_back(shortName.get<std::string>());
    for (const auto& category : arrayOr(api::member(names, "categories")))
      if (category.is_string()) info.categories.push_back(category.get<std::string>());
    info.hasStatus = api::member(subresources, "status") != nullptr;
    info.hasScale = scale && scale->is_object();
    info.storagePrefix = "/registry/" + group + "/" + info.plural + "/";
    info.message = &schema->message();
    info.custom = std::move(custom);
    out.push_back(std::move(info));
  }
  return out;
}

std::string nameConflict(const Json& crd) {
  const Json& spec = objectOr(api::member(crd, "spec"));
  const Json& names = objectOr(api::member(spec, "names"));
  std::string group = api::stringAt(spec, "group");
  std::string plural = api::stringAt(names, "plural");
  std::string kind = api::stringAt(names, "kind");
  std::string crdName = api::name(crd);
  for (const api::ResourceInfo* info : api::allResources()) {
    if (info->group != group) continue;
    if (info->custom && info->custom->crdName == crdName) continue;
    if (info->plural == plural) return "\"" + plural + "\" is already in use";
    if (info->kind == kind) return "\"" + kind + "\" is already in use";
  }
  return "";
}

void setStatus(Json& crd, const std::string& conflict) {
  Json& status = crd["status"];
  if (!status.is_object()) status = Json::object();
  const Json& spec = objectOr(api::member(crd, "spec"));
  Json conditions = Json::array();
  const Json& previous = arrayOr(api::member(status, "conditions"));
  // A condition keeps its lastTransitionTime while its status stays.
  auto condition = [&](const std::string& type, const std::string& value, const std::string& reason,
                       const std::string& message) {
    std::string since = api::nowRfc3339();
    for (const auto& old : previous)
      if (api::stringAt(old, "type") == type && api::stringAt(old, "status") == value)
        since = api::stringAt(old, "lastTransitionTime");
    conditions.push_back({{"type", type},
                          {"status", value},
                          {"lastTransitionTime", since},
                          {"reason", reason},
                          {"message", message}});
  };
  if (conflict.empty()) {
    status["acceptedNames"] = objectOr(api::member(spec, "names"));
    condition("NamesAccepted", "True", "NoConflicts", "no conflicts found");
    condition("Established", "True", "InitialNamesAccepted",
              "the initial names have been accepted");
  } else {
    if (!status.contains("acceptedNames") || !status["acceptedNames"].is_object())
      status["acceptedNames"] = {{"plural", ""}, {"kind", ""}};
    condition("NamesAccepted", "False", "PluralConflict", conflict);
    condition("Established", "False", "NotAccepted", "not all names are accepted");
  }
  if (api::isBeingDeleted(crd))
    condition("Terminating", "True", "InstanceDeletionInProgress",
              "CustomResource deletion is in progress");
  status["conditions"] = conditions;

  std::vector<std::string> stored;
  for (const auto& version : arrayOr(api::member(status, "storedVersions")))
    if (version.is_string()) stored.push_back(version.get<std::string>());
  std::string storage = storageVersionOf(spec);
  if (!storage.empty() && std::find(stored.begin(), stored.end(), storage) == stored.end())
    stored.push_back(storage);
  status["storedVersions"] = stored;
}

}  // namespace podnet::apiextensions
