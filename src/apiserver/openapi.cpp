#include "apiserver/openapi.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "api/custom_resource.h"
#include "api/resource.h"
#include "api/schema.h"

namespace podnet::apiserver {

using api::Json;
namespace schema = api::schema;

namespace {

constexpr std::string_view kSchemaRefPrefix = "#/components/schemas/";
constexpr const char* kIntOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
constexpr const char* kQuantity = "io.k8s.apimachinery.pkg.api.resource.Quantity";
constexpr const char* kTime = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
constexpr const char* kMicroTime = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
constexpr const char* kPatch = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

std::string sha512Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha512(), nullptr) != 1) return "0";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

Json refTo(std::string_view name) {
  return {{"$ref", std::string(kSchemaRefPrefix) + std::string(name)}};
}

// What `kubectl explain <kind>` prints as the DESCRIPTION of a kind.
std::string_view kindDescription(std::string_view kind) {
  static const std::map<std::string_view, std::string_view> descriptions = {
      {"Namespace",
       "Namespace provides a scope for names. Use of multiple namespaces is optional."},
      {"Node",
       "Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache "
       "(i.e. in etcd)."},
      {"Pod",
       "Pod is a collection of containers that can run on a host. This resource is created by "
       "clients and scheduled onto hosts."},
      {"Service",
       "Service is a named abstraction of software service (for example, mysql) consisting of "
       "local port (for example 3306) that the proxy listens on, and the selector that determines "
       "which pods will answer requests sent through the proxy."},
      {"Endpoints", "Endpoints is a collection of endpoints that implement the actual service."},
      {"Secret",
       "Secret holds secret data of a certain type. The total bytes of the values in the Data "
       "field must be less than MaxSecretSize bytes."},
      {"ConfigMap", "ConfigMap holds configuration data for pods to consume."},
      {"Event",
       "Event is a report of an event somewhere in the cluster. Events have a limited retention "
       "time and triggers and messages may evolve with time."},
      {"EndpointSlice",
       "EndpointSlice represents a subset of the endpoints that implement a service. For a given "
       "service there may be multiple EndpointSlice objects, selected by labels, which must be "
       "joined to produce the full set of endpoints."},
      {"NetworkPolicy",
       "NetworkPolicy describes what network traffic is allowed for a set of Pods"},
      {"Ingress",
       "Ingress is a collection of rules that allow inbound connections to reach the endpoints "
       "defined by a backend. An Ingress can be configured to give services externally-reachable "
       "urls, load balance traffic, terminate SSL, offer name based virtual hosting etc."},
      {"IngressClass",
       "IngressClass represents the class of the Ingress, referenced by the Ingress Spec."},
      {"PersistentVolumeClaim",
       "PersistentVolumeClaim is a user's request for and claim to a persistent volume"},
      {"PersistentVolume",
       "PersistentVolume (PV) is a storage resource provisioned by an administrator. It is "
       "analogous to a node. More info: "
       "https://kubernetes.io/docs/concepts/storage/persistent-volumes"},
      {"StorageClass",
       "StorageClass describes the parameters for a class of storage for which PersistentVolumes "
       "can be dynamically provisioned.\n\nStorageClasses are non-namespaced; the name of the "
       "storage class according to etcd is in ObjectMeta.Name."},
      {"Deployment", "Deployment enables declarative updates for Pods and ReplicaSets."},
      {"ReplicaSet",
       "ReplicaSet ensures that a specified number of pod replicas are running at any given time."},
      {"Scale", "Scale represents a scaling request for a resource."},
      {"Binding",
       "Binding ties one object to another; for example, a pod is bound to a node by a "
       "scheduler."},
  };
  auto it = descriptions.find(kind);
  return it == descriptions.end() ? std::string_view() : it->second;
}

std::string_view envelopeFieldDescription(std::string_view field) {
  if (field == "apiVersion")
    return "APIVersion defines the versioned schema of this representation of an object. "
           "Servers should convert recognized schemas to the latest internal value, and may "
           "reject unrecognized values.";
  if (field == "kind")
    return "Kind is a string value representing the REST resource this object represents. "
           "Servers may infer this from the endpoint the client submits requests to. Cannot be "
           "updated. In CamelCase.";
  if (field == "metadata") return "Standard object's metadata.";
  if (field == "spec") return "Specification of the desired behavior of the object.";
  if (field == "status")
    return "Most recently observed status of the object. This data may not be up to date. "
           "Populated by the system. Read-only.";
  return {};
}

// Builds components.schemas: every message reachable from the kinds of one
// group version, by its full name.
class SchemaWriter {
 public:
  explicit SchemaWriter(Json& schemas) : schemas_(schemas) {}

  // Adds `message` (and what it references); returns its name.
  std::string add(const schema::Message& message) {
    std::string name(message.name);
    if (!done_.insert(name).second) return name;
    Json properties = Json::object();
    addProperties(message, properties);
    Json out = {{"type", "object"}};
    if (!properties.empty()) out["properties"] = std::move(properties);
    schemas_[name] = std::move(out);
    return name;
  }

  // Marks `name` as the schema of a top-level kind.
  void markKind(const std::string& name, std::string_view group, std::string_view version,
                std::string_view kind) {
    Json& gvks = schemas_[name]["x-kubernetes-group-version-kind"];
    if (!gvks.is_array()) gvks = Json::array();
    gvks.push_back({{"group", group}, {"version", version}, {"kind", kind}});
    if (std::string_view text = kindDescription(kind); !text.empty())
      schemas_[name]["description"] = text;
  }

  // A custom resource's schema, named as upstream names it (the group's
  // labels reversed: io.k8s.networking.gateway.v1.HTTPRoute): the CRD's
  // openAPIV3Schema with apiVersion, kind and metadata as for every kind.
  std::string addCustom(const api::ResourceInfo& resource) {
    std::string reversed;
    std::string_view group = resource.group;
    while (!group.empty()) {
      size_t dot = group.rfind('.');
      std::string_view label = dot == std::string_view::npos ? group : group.substr(dot + 1);
      if (!reversed.empty()) reversed += '.';
      reversed += label;
      group = dot == std::string_view::npos ? std::string_view() : group.substr(0, dot);
    }
    std::string name = reversed + "." + resource.version + "." + resource.kind;
    Json out = resource.custom->openApiSchema.is_object() ? resource.custom->openApiSchema
                                                          : Json{{"type", "object"}};
    Json& properties = out["properties"];
    if (!properties.is_object()) properties = Json::object();
    properties["apiVersion"] = {
        {"type", "string"},
        {"description",
         "APIVersion defines the versioned schema of this representation of an object. Servers "
         "should convert recognized schemas to the latest internal value, and may reject "
         "unrecognized values."}};
    properties["kind"] = {
        {"type", "string"},
        {"description",
         "Kind is a string value representing the REST resource this object represents."}};
    properties["metadata"] = {{"allOf", {refTo(add(schema::objectMeta()))}},
                              {"description", "Standard object's metadata."}};
    schemas_[name] = std::move(out);
    markKind(name, resource.group, resource.version, resource.kind);
    return name;
  }

  // The <Kind>List schema (items of `itemName`).
  void addList(const api::ResourceInfo& kind, const std::string& itemName) {
    std::string name = itemName + "List";
    schemas_[name] = {
        {"type", "object"},
        {"required", {"items"}},
        {"properties",
         {{"apiVersion", {{"type", "string"}}},
          {"kind", {{"type", "string"}}},
          {"items", {{"type", "array"}, {"items", refTo(itemName)}}},
          {"metadata",
           {{"allOf", {refTo(add(schema::listMeta()))}}, {"default", Json::object()}}}}},
        {"x-kubernetes-group-version-kind",
         {{{"group", kind.group}, {"version", kind.version}, {"kind", kind.kind + "List"}}}}};
  }

 private:
  void addProperties(const schema::Message& message, Json& properties) {
    for (const schema::Field& field : message.fields) {
      if (field.inlined) {
        if (field.message) addProperties(*field.message, properties);
        continue;
      }
      Json value = property(field);
      // The envelope fields of a top-level kind read the same everywhere.
      if (message.field("kind") && message.field("metadata") &&
          message.field("metadata")->message == &schema::objectMeta())
        if (std::string_view text = envelopeFieldDescription(field.json); !text.empty())
          value["description"] = text;
      properties[std::string(field.json)] = std::move(value);
    }
  }

  Json scalar(const schema::Field& field) {
    switch (field.type) {
      case schema::Type::String:
        return {{"type", "string"}};
      case schema::Type::Bool:
        return {{"type", "boolean"}};
      case schema::Type::Int32:
        return {{"type", "integer"}, {"format", "int32"}};
      case schema::Type::Int64:
        return {{"type", "integer"}, {"format", "int64"}};
      case schema::Type::Double:
        return {{"type", "number"}, {"format", "double"}};
      case schema::Type::Bytes:
        return {{"type", "string"}, {"format", "byte"}};
      case schema::Type::Duration:
        return {{"type", "string"}};
      case schema::Type::IntOrString:
        // Typeless (oneOf) as upstream's v3 has it, so kubectl explain prints
        // <IntOrString> and <map[string]Quantity>, not <string>.
        addLeaf(kIntOrString, {{"oneOf", {{{"type", "integer"}}, {{"type", "string"}}}},
                               {"format", "int-or-string"}});
        return refTo(kIntOrString);
      case schema::Type::Quantity:
        addLeaf(kQuantity, {{"oneOf", {{{"type", "string"}}, {{"type", "number"}}}}});
        return refTo(kQuantity);
      case schema::Type::Time:
        addLeaf(kTime, {{"type", "string"}, {"format", "date-time"}});
        return refTo(kTime);
      case schema::Type::MicroTime:
        addLeaf(kMicroTime, {{"type", "string"}, {"format", "date-time"}});
        return refTo(kMicroTime);
      case schema::Type::Message:
        if (field.message) return refTo(add(*field.message));
        [[fallthrough]];
      case schema::Type::Any:
        return {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    }
    return Json::object();
  }

  Json property(const schema::Field& field) {
    Json element = scalar(field);
    Json out;
    switch (field.shape) {
      case schema::Shape::Single:
        // Upstream wraps references in allOf so a description can sit beside
        // them (kubectl explain names the type after the referenced schema).
        if (element.contains("$ref")) {
          out = {{"allOf", {element}}};
          if (field.type == schema::Type::Message) out["default"] = Json::object();
        } else {
          out = std::move(element);
        }
        break;
      case schema::Shape::List:
        out = {{"type", "array"}, {"items", std::move(element)}};
        if (!field.listType.empty()) out["x-kubernetes-list-type"] = field.listType;
        if (!field.listMapKeys.empty()) {
          Json keys = Json::array();
          for (auto key : field.listMapKeys) keys.push_back(key);
          out["x-kubernetes-list-map-keys"] = std::move(keys);
        }
        break;
      case schema::Shape::Map:
        out = {{"type", "object"}, {"additionalProperties", std::move(element)}};
        break;
    }
    if (!field.patchStrategy.empty()) out["x-kubernetes-patch-strategy"] = field.patchStrategy;
    if (!field.patchMergeKey.empty()) out["x-kubernetes-patch-merge-key"] = field.patchMergeKey;
    return out;
  }

  void addLeaf(const char* name, Json value) {
    if (done_.insert(name).second) schemas_[name] = std::move(value);
  }

  Json& schemas_;
  std::set<std::string> done_;
};

// "CoreV1", "AppsV1", "NetworkingV1": the operationId infix upstream uses.
std::string operationInfix(std::string_view group, std::string_view version) {
  std::string name = group.empty() ? "core" : std::string(group.substr(0, group.find('.')));
  name[0] = char(std::toupper(static_cast<unsigned char>(name[0])));
  std::string v(version);
  v[0] = char(std::toupper(static_cast<unsigned char>(v[0])));
  return name + v;
}

Json stringParameter(const char* name, const char* in, const char* description,
                     bool required = false) {
  Json parameter = {{"name", name},
                    {"in", in},
                    {"description", description},
                    {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
  if (required) parameter["required"] = true;
  return parameter;
}

Json writeParameters(bool withForce) {
  Json parameters = {
      stringParameter("dryRun", "query",
                      "When present, indicates that modifications should not be persisted."),
      stringParameter("fieldManager", "query",
                      "fieldManager is a name associated with the actor or entity that is "
                      "making these changes."),
      stringParameter("fieldValidation", "query",
                      "fieldValidation instructs the server on how to handle objects in the "
                      "request containing unknown or duplicate fields. Valid values are: "
                      "Ignore, Warn (the default) and Strict."),
  };
  if (withForce)
    parameters.push_back({{"name", "force"},
                          {"in", "query"},
                          {"description",
                           "Force is going to \"force\" Apply requests. It means user will "
                           "re-acquire conflicting fields owned by other people."},
                          {"schema", {{"type", "boolean"}, {"uniqueItems", true}}}});
  return parameters;
}

Json jsonContent(const Json& schemaRef) {
  return {{"application/json", {{"schema", schemaRef}}},
          {"application/yaml", {{"schema", schemaRef}}},
          {"application/vnd.kubernetes.protobuf", {{"schema", schemaRef}}}};
}

Json responses(const Json& schemaRef, std::initializer_list<const char*> codes) {
  Json out = Json::object();
  for (const char* code : codes) {
    std::string text = std::string(code) == "201"   ? "Created"
                       : std::string(code) == "202" ? "Accepted"
                                                    : "OK";
    out[code] = {{"description", text}, {"content", jsonContent(schemaRef)}};
  }
  out["401"] = {{"description", "Unauthorized"}};
  return out;
}

struct OperationContext {
  std::string group, version, kind;  // the GVK the operation reads or writes
  std::string infix;                 // CoreV1
  std::string tag;                   // core_v1
  // Custom resources take no strategic merge patch; kubectl's apply reads
  // this (the patch body's media types) to choose a merge patch for them.
  bool strategicMerge = true;
};

Json operation(const OperationContext& context, const std::string& action,
               const std::string& operationId, const std::string& description, Json parameters,
               const Json& schemaRef, std::initializer_list<const char*> codes,
               std::optional<Json> requestBody) {
  Json op = {{"tags", {context.tag}},
             {"description", description},
             {"operationId", operationId},
             {"responses", responses(schemaRef, codes)},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind",
              {{"group", context.group}, {"version", context.version}, {"kind", context.kind}}}};
  if (!parameters.empty()) op["parameters"] = std::move(parameters);
  if (requestBody) op["requestBody"] = std::move(*requestBody);
  return op;
}

Json bodyOf(const Json& schemaRef) {
  return {{"content", {{"*/*", {{"schema", schemaRef}}}}}, {"required", true}};
}

Json patchBody(bool strategicMerge) {
  Json patchRef = refTo(kPatch);
  Json content = Json::object();
  for (const char* type : {"application/apply-patch+yaml", "application/json-patch+json",
                           "application/merge-patch+json"})
    content[type] = {{"schema", patchRef}};
  if (strategicMerge) content["application/strategic-merge-patch+json"] = {{"schema", patchRef}};
  return {{"content", std::move(content)}, {"required", true}};
}

// The get/put/patch (and delete) operations of one object path.
Json objectPathItem(const OperationContext& context, const std::string& scopeName,
                    const Json& schemaRef, bool deletable, const std::string& suffix,
                    const Json& pathParameters) {
  std::string subject = context.kind + suffix;  // "Service", "ServiceStatus"
  Json item = {{"parameters", pathParameters}};
  item["get"] = operation(context, "get", "read" + context.infix + scopeName + subject,
                          "read the specified " + context.kind, Json::array(), schemaRef, {"200"},
                          std::nullopt);
  item["put"] = operation(context, "put", "replace" + context.infix + scopeName + subject,
                          "replace the specified " + context.kind, writeParameters(false),
                          schemaRef, {"200", "201"}, bodyOf(schemaRef));
  item["patch"] = operation(context, "patch", "patch" + context.infix + scopeName + subject,
                            "partially update the specified " + context.kind, writeParameters(true),
                            schemaRef, {"200", "201"}, patchBody(context.strategicMerge));
  if (deletable) {
    Json deleteParameters = {
        stringParameter("dryRun", "query",
                        "When present, indicates that modifications should not be persisted."),
        {{"name", "gracePeriodSeconds"},
         {"in", "query"},
         {"schema", {{"type", "integer"}, {"uniqueItems", true}}}},
        stringParameter("propagationPolicy", "query",
                        "Whether and how garbage collection will be performed."),
    };
    item["delete"] = operation(context, "delete", "delete" + context.infix + scopeName + subject,
                               "delete " + context.kind, std::move(deleteParameters),
                               refTo("io.k8s.apimachinery.pkg.apis.meta.v1.Status"), {"200", "202"},
                               bodyOf(refTo("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")));
  }
  return item;
}

Json pathParameter(const char* name, const char* description) {
  return stringParameter(name, "path", description, true);
}

Json buildDocument(std::string_view group, std::string_view version) {
  Json schemas = Json::object();
  SchemaWriter writer(schemas);
  Json paths = Json::object();
  std::string prefix = group.empty() ? "/api/" + std::string(version)
                                     : "/apis/" + std::string(group) + "/" + std::string(version);
  std::string infix = operationInfix(group, version);
  std::string tag =
      (group.empty() ? std::string("core") : std::string(group.substr(0, group.find('.')))) + "_" +
      std::string(version);

  Json pretty = {{"name", "pretty"},
                 {"in", "query"},
                 {"description", "If 'true', then the output is pretty printed."},
                 {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
  Json nameParameter = pathParameter("name", "name of the object");
  Json namespaceParameter = pathParameter("namespace", "object name and auth scope");

  writer.add(*schema::forKind("meta.k8s.io/v1", "DeleteOptions"));
  writer.add(*schema::forKind("meta.k8s.io/v1", "Status"));
  schemas[kPatch] = {{"type", "object"},
                     {"description",
                      "Patch is provided to give a concrete name and type to the "
                      "Kubernetes PATCH request body."}};

  for (const api::ResourceInfo* resource : api::allResources()) {
    if (resource->group != group || resource->version != version) continue;
    std::string schemaName;
    if (resource->custom) {
      schemaName = writer.addCustom(*resource);
    } else {
      const schema::Message* message = schema::forKind(resource->apiVersion(), resource->kind);
      if (!message) continue;
      schemaName = writer.add(*message);
      writer.markKind(schemaName, group, version, resource->kind);
    }
    writer.addList(*resource, schemaName);
    Json schemaRef = refTo(schemaName);
    Json listRef = refTo(schemaName + "List");
    OperationContext context{std::string(group), std::string(version), resource->kind, infix, tag,
                             !resource->custom};

    std::string scopeName = resource->namespaced ? "Namespaced" : "";
    std::string collectionPath =
        prefix + (resource->namespaced ? "/namespaces/{namespace}/" : "/") + resource->plural;
    Json collectionParameters = Json::array({pretty});
    Json objectParameters = Json::array({nameParameter});
    if (resource->namespaced) {
      collectionParameters.push_back(namespaceParameter);
      objectParameters.push_back(namespaceParameter);
    }
    objectParameters.push_back(pretty);

    Json collection = {{"parameters", collectionParameters}};
    collection["get"] =
        operation(context, "list", "list" + infix + scopeName + resource->kind,
                  "list or watch objects of kind " + resource->kind,
                  Json::array({{{"name", "labelSelector"},
                                {"in", "query"},
                                {"schema", {{"type", "string"}, {"uniqueItems", true}}}},
                               {{"name", "fieldSelector"},
                                {"in", "query"},
                                {"schema", {{"type", "string"}, {"uniqueItems", true}}}},
                               {{"name", "watch"},
                                {"in", "query"},
                                {"schema", {{"type", "boolean"}, {"uniqueItems", true}}}}}),
                  listRef, {"200"}, std::nullopt);
    collection["post"] = operation(context, "post", "create" + infix + scopeName + resource->kind,
                                   "create " + resource->kind, writeParameters(false), schemaRef,
                                   {"200", "201", "202"}, bodyOf(schemaRef));
    collection["delete"] = operation(
        context, "deletecollection", "deletecollection" + infix + scopeName + resource->kind,
        "delete collection of " + resource->kind, Json::array(),
        refTo("io.k8s.apimachinery.pkg.apis.meta.v1.Status"), {"200"},
        bodyOf(refTo("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")));
    paths[collectionPath] = std::move(collection);
    if (resource->namespaced) {
      // The list across every namespace.
      Json all = {{"parameters", Json::array({pretty})}};
      all["get"] = operation(context, "list", "list" + infix + resource->kind + "ForAllNamespaces",
                             "list or watch objects of kind " + resource->kind, Json::array(),
                             listRef, {"200"}, std::nullopt);
      paths[prefix + "/" + resource->plural] = std::move(all);
    }

    std::string objectPath = collectionPath + "/{name}";
    paths[objectPath] = objectPathItem(context, scopeName, schemaRef, true, "", objectParameters);
    if (resource->hasStatus)
      paths[objectPath + "/status"] =
          objectPathItem(context, scopeName, schemaRef, false, "Status", objectParameters);
    if (resource->hasScale) {
      const schema::Message* scale = schema::forKind("autoscaling/v1", "Scale");
      std::string scaleName = writer.add(*scale);
      writer.markKind(scaleName, "autoscaling", "v1", "Scale");
      OperationContext scaleContext{"autoscaling", "v1", "Scale", infix, tag};
      Json item =
          objectPathItem(scaleContext, scopeName, refTo(scaleName), false, "", objectParameters);
      // operationIds name the owner: readAppsV1NamespacedDeploymentScale.
      for (const char* verb : {"get", "put", "patch"}) {
        std::string id = item[verb]["operationId"].get<std::string>();
        id.replace(id.size() - 5, 5, resource->kind + "Scale");
        item[verb]["operationId"] = id;
      }
      paths[objectPath + "/scale"] = std::move(item);
    }
    // POST-only subresources: pods/binding (v1 Binding), serviceaccounts/token
    // (authentication.k8s.io/v1 TokenRequest).
    auto postSubresource = [&](const char* subresource, const std::string& subGroup,
                               const char* kind, const std::string& idSuffix,
                               const std::string& summary) {
      std::string apiVersion = subGroup.empty() ? "v1" : subGroup + "/v1";
      std::string schemaName = writer.add(*schema::forKind(apiVersion, kind));
      writer.markKind(schemaName, subGroup, "v1", kind);
      OperationContext subContext{subGroup, "v1", kind, infix, tag};
      Json item = {{"parameters", objectParameters}};
      item["post"] = operation(subContext, "post", "create" + infix + idSuffix, summary,
                               writeParameters(false), refTo(schemaName), {"200", "201", "202"},
                               bodyOf(refTo(schemaName)));
      paths[objectPath + "/" + subresource] = std::move(item);
    };
    if (resource->kind == "Pod")
      postSubresource("binding", "", "Binding", "NamespacedPodBinding", "create binding of a Pod");
    if (resource->kind == "ServiceAccount")
      postSubresource("token", "authentication.k8s.io", "TokenRequest",
                      "NamespacedServiceAccountToken", "create token of a ServiceAccount");
  }
  for (const char* name : {"io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
                           "io.k8s.apimachinery.pkg.apis.meta.v1.Status"}) {
    std::string kind = std::string(name).substr(std::string(name).rfind('.') + 1);
    writer.markKind(name, group, version, kind);
  }

  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", std::move(paths)},
          {"components",
           {{"schemas", std::move(schemas)},
            {"securitySchemes",
             {{"BearerToken",
               {{"type", "apiKey"},
                {"name", "authorization"},
                {"in", "header"},
                {"description", "Bearer Token authentication"}}}}}}}};
}

using Documents = std::map<std::string, std::shared_ptr<const OpenApiDocument>>;

std::shared_ptr<const OpenApiDocument> makeDocument(const std::string& group,
                                                    const std::string& version) {
  auto document = std::make_shared<OpenApiDocument>();
  document->body =
      buildDocument(group, version).dump(-1, ' ', false, Json::error_handler_t::replace);
  document->hash = sha512Hex(document->body);
  return document;
}

// Every served group version, by its path below /openapi/v3. The built-in
// ones are made once; those with custom resources again whenever the CRDs
// change what is served (so their hashes change with the CRDs).
std::shared_ptr<const Documents> documents() {
  static std::mutex mutex;
  static std::shared_ptr<const Documents> current;
  static uint64_t generation = 0;
  static Documents builtins;
  std::lock_guard lock(mutex);
  uint64_t now = api::catalogGeneration();
  if (current && generation == now) return current;

  std::set<std::pair<std::string, std::string>> builtinVersions, customVersions;
  for (const api::ResourceInfo* resource : api::allResources())
    (resource->custom ? customVersions : builtinVersions)
        .insert({resource->group, resource->version});
  auto pathOf = [](const std::string& group, const std::string& version) {
    return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
  };
  if (builtins.empty())
    for (const auto& [group, version] : builtinVersions)
      builtins.emplace(pathOf(group, version), makeDocument(group, version));
  auto next = std::make_shared<Documents>(builtins);
  for (const auto& [group, version] : customVersions)
    (*next)[pathOf(group, version)] = makeDocument(group, version);
  current = std::move(next);
  generation = now;
  return current;
}

std::string httpDateOneYearFromNow() {
  std::time_t when = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() +
                                                          std::chrono::hours(24 * 365));
  std::tm utc{};
  gmtime_r(&when, &utc);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S UTC", &utc);
  return buffer;
}

}  // namespace

Json openApiV3Index() {
  Json paths = Json::object();
  for (const auto& [path, document] : *documents())
    paths[path] = {{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + document->hash}};
  return {{"paths", std::move(paths)}};
}

std::shared_ptr<const OpenApiDocument> openApiV3Document(std::string_view groupVersionPath) {
  auto all = documents();
  auto it = all->find(std::string(groupVersionPath));
  return it == all->end() ? nullptr : it->second;
}

// /openapi/v2 without definitions. kubectl reads it only to validate on the
// client what /openapi/v3 does not describe (a `kind: List` from `kubectl get
// -o yaml`): with no definitions every item is left to the server, which
// validates each one with fieldValidation=Strict as usual. Without the
// document kubectl refuses the List ("the server could not find the requested
// resource").
HttpResponse openApiV2(std::string_view accept) {
  HttpResponse response;
  if (accept.find("protobuf") != std::string_view::npos) {
    // gnostic openapi_v2.Document{swagger: "2.0", info: {title, version}}.
    const std::string title = "Kubernetes", version = "v1.32.0";
    std::string info;
    info += char(0x0a);
    info += char(title.size());
    info += title;
    info += char(0x12);
    info += char(version.size());
    info += version;
    response.body = std::string("\x0a\x03") + "2.0" + char(0x12) + char(info.size()) + info;
    // The media type without the `@` of the Accept header kubectl sends (Go's
    // mime parser refuses that), as kube-openapi answers.
    response.contentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    return response;
  }
  response.body = Json{{"swagger", "2.0"},
                       {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
                       {"paths", Json::object()},
                       {"definitions", Json::object()}}
                      .dump();
  return response;
}

HttpResponse serveOpenApi(const Route& route, std::string_view accept) {
  HttpResponse response;
  std::string_view path = route.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/openapi/v2") return openApiV2(accept);
  constexpr std::string_view kRoot = "/openapi/v3";
  if (path == kRoot) {
    response.body = openApiV3Index().dump();
    return response;
  }
  std::shared_ptr<const OpenApiDocument> document;
  if (path.substr(0, kRoot.size() + 1) == "/openapi/v3/")
    document = openApiV3Document(path.substr(kRoot.size() + 1));
  if (!document) {
    core::Error error{404, "NotFound", "the server could not find the requested resource"};
    response.status = 404;
    response.body = error.toStatus().dump();
    return response;
  }
  std::string etag = "\"" + document->hash + "\"";
  std::string hash = route.queryValue("hash");
  if (!hash.empty()) {
    if (hash != document->hash) {
      // A stale URL from a cached index: point at the current document.
      response.status = 301;
      response.contentType = "text/html; charset=utf-8";
      std::string location = std::string(path) + "?hash=" + document->hash;
      response.headers.emplace_back("Location", location);
      response.body = "<a href=\"" + location + "\">Moved Permanently</a>.\n";
      return response;
    }
    // The hash names this content for good: clients may cache it forever.
    response.headers.emplace_back("Cache-Control", "public, immutable");
    response.headers.emplace_back("Expires", httpDateOneYearFromNow());
    response.headers.emplace_back("Vary", "Accept");
  }
  response.headers.emplace_back("Etag", etag);
  response.body = document->body;
  return response;
}

}  // namespace podnet::apiserver
