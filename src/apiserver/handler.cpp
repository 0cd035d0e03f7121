#include "apiserver/handler.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <exception>

#include "api/bootstrap_token.h"
#include "api/custom_resource.h"
#include "api/object.h"
#include "api/strict.h"
#include "apiserver/access.h"
#include "apiserver/apply.h"
#include "apiserver/discovery.h"
#include "apiserver/media.h"
#include "apiserver/openapi.h"
#include "apiserver/patch.h"
#include "apiserver/protobuf.h"
#include "apiserver/service_account_tokens.h"
#include "apiserver/tables.h"
#include "http/query.h"
#include "pki/certificates.h"

namespace podnet::apiserver {

namespace {

constexpr const char* kNamespaceMismatch =
    "the namespace of the provided object does not match the namespace sent on the request";

std::string dumpJson(const Json& value, bool pretty) {
  // Replace (not throw on) invalid UTF-8 that an object may carry.
  return value.dump(pretty ? 2 : -1, ' ', false, Json::error_handler_t::replace);
}

HttpResponse errorResponse(const core::Error& error) {
  HttpResponse response;
  response.status = error.code > 0 ? error.code : 500;
  response.body = dumpJson(error.toStatus(), false);
  return response;
}

core::Error pathNotFound() {
  core::Error error{404, "NotFound", "the server could not find the requested resource"};
  return error;
}

core::Error notAllowed() {
  return core::methodNotAllowed("the server does not allow this method on the requested resource");
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.contentType = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

// Adds a Warning header per entry (fieldValidation=Warn), as upstream does.
HttpResponse withWarnings(HttpResponse response, const std::vector<std::string>& warnings) {
  for (const auto& warning : warnings) response.headers.emplace_back("Warning", warning);
  return response;
}

// Encodes an object in the representation the client asked for.
HttpResponse objectResponse(const HttpRequest& request, const Route& route, int status,
                            const Json& value) {
  HttpResponse response;
  response.status = status;
  ResponseFormat format = negotiateResponse(request.accept);
  if (format == ResponseFormat::NotAcceptable) {
    return errorResponse(core::Error{406, "NotAcceptable",
                                     "only the following media types are accepted: "
                                     "application/json, application/yaml"});
  }
  if (format == ResponseFormat::Yaml) {
    response.contentType = "application/yaml";
    response.body = api::encodeYaml(value);
    return response;
  }
  response.body = dumpJson(value, isTrueParameter(route.queryValue("pretty")));
  return response;
}

core::Result<int64_t> parseInteger(const std::string& text, const char* parameter) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return core::badRequest(std::string("invalid value for ") + parameter + ": \"" + text + "\"");
  return value;
}

core::Result<client::ListOptions> listOptions(const Route& route) {
  client::ListOptions options;
  options.labelSelector = route.queryValue("labelSelector");
  options.fieldSelector = route.queryValue("fieldSelector");
  options.continueToken = route.queryValue("continue");
  options.resourceVersion = route.queryValue("resourceVersion");
  options.allowWatchBookmarks = isTrueParameter(route.queryValue("allowWatchBookmarks"));
  if (route.hasQuery("limit") && !route.queryValue("limit").empty()) {
    auto limit = parseInteger(route.queryValue("limit"), "limit");
    if (!limit) return limit.takeError();
    if (*limit < 0) return core::badRequest("limit must not be negative");
    options.limit = *limit;
  }
  return options;
}

core::Result<client::WriteOptions> writeOptions(const Route& route) {
  client::WriteOptions options;
  options.subresource = route.subresource;
  options.fieldManager = route.queryValue("fieldManager");
  std::string dryRun = route.queryValue("dryRun");
  if (dryRun == "All")
    options.dryRun = true;
  else if (!dryRun.empty())
    return core::badRequest("Invalid dryRun value \"" + dryRun + "\": only \"All\" is supported");
  std::string validation = route.queryValue("fieldValidation");
  if (!validation.empty() && validation != "Ignore" && validation != "Warn" &&
      validation != "Strict")
    return core::badRequest("fieldValidation must be one of Ignore, Warn or Strict, not \"" +
                            validation + "\"");
  return options;
}

// Decodes a request body (JSON or YAML) into a JSON object.
core::Result<Json> decodeBody(const HttpRequest& request) {
  core::Result<Json> decoded = core::badRequest("empty body");
  switch (bodyFormatOf(request.contentType)) {
    case BodyFormat::Json:
      decoded = api::decodeJson(request.body);
      break;
    case BodyFormat::Yaml:
      decoded = api::decodeYaml(request.body);
      break;
    case BodyFormat::Protobuf: {
      // Unknown field numbers are dropped: upstream never decodes protobuf strictly.
      auto message = decodeProtobufBody(request.body, api::schema::forKind);
      if (!message) return message.takeError();
      decoded = std::move(message->object);
      break;
    }
    case BodyFormat::Unsupported:
      return core::unsupportedMediaType(bareMediaType(request.contentType));
  }
  if (!decoded) return decoded.takeError();
  if (!decoded->is_object()) return core::badRequest("the request body must be a JSON object");
  return decoded;
}

// Checks the body's apiVersion/kind against the URL's resource (filling
// them in when absent) and reconciles its namespace with the URL's.
core::Status checkObject(const api::ResourceInfo& resource, const Route& route, Json& obj,
                         std::string_view expectedKind, std::string_view expectedApiVersion) {
  auto kind = obj.find("kind");
  auto apiVersion = obj.find("apiVersion");
  if (kind != obj.end() && !kind->is_string()) return core::badRequest("kind must be a string");
  if (apiVersion != obj.end() && !apiVersion->is_string())
    return core::badRequest("apiVersion must be a string");
  std::string bodyKind = kind == obj.end() ? "" : kind->get<std::string>();
  std::string bodyVersion = apiVersion == obj.end() ? "" : apiVersion->get<std::string>();
  if ((!bodyKind.empty() && bodyKind != expectedKind) ||
      (!bodyVersion.empty() && bodyVersion != expectedApiVersion)) {
    return core::badRequest(bodyKind + " in version \"" + bodyVersion +
                            "\" cannot be handled as a " + std::string(expectedKind));
  }
  obj["kind"] = expectedKind;
  obj["apiVersion"] = expectedApiVersion;
  if (!obj.contains("metadata") || obj["metadata"].is_null()) obj["metadata"] = Json::object();
  Json& metadata = obj["metadata"];
  if (!metadata.is_object()) return core::badRequest("metadata must be an object");
  if (resource.namespaced) {
    auto ns = metadata.find("namespace");
    std::string bodyNamespace =
        ns != metadata.end() && ns->is_string() ? ns->get<std::string>() : "";
    if (bodyNamespace.empty()) {
      metadata["namespace"] = route.ns;
    } else if (bodyNamespace != route.ns) {
      return core::badRequest(kNamespaceMismatch);
    }
  } else {
    metadata.erase("namespace");
  }
  return core::Ok{};
}

core::Status checkName(const Route& route, Json& obj) {
  Json& metadata = obj["metadata"];
  auto name = metadata.find("name");
  std::string bodyName =
      name != metadata.end() && name->is_string() ? name->get<std::string>() : "";
  if (bodyName.empty()) {
    metadata["name"] = route.name;
  } else if (bodyName != route.name) {
    return core::badRequest("the name of the object (" + bodyName +
                            ") does not match the name on the URL (" + route.name + ")");
  }
  return core::Ok{};
}

// The manager a non-apply write is recorded under in managedFields.
std::string updateManager(const HttpRequest& request, const client::WriteOptions& options) {
  return options.fieldManager.empty() ? defaultFieldManager(request.userAgent)
                                      : options.fieldManager;
}

core::Error conflictFor(const api::ResourceInfo& resource, const std::string& name) {
  return core::conflict(resource.group, resource.plural, name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again");
}

// A patch or scale write carrying metadata.resourceVersion is a precondition:
// it must still be the stored one.
core::Status checkResourceVersion(const api::ResourceInfo& resource, const std::string& name,
                                  const std::string& wanted, const Json& current) {
  if (!wanted.empty() && wanted != api::resourceVersion(current))
    return conflictFor(resource, name);
  return core::Ok{};
}

core::Result<int64_t> scaleReplicas(const Json& scale, const std::string& name) {
  const Json* replicas = nullptr;
  if (scale.is_object() && scale.contains("spec") && scale["spec"].is_object() &&
      scale["spec"].contains("replicas"))
    replicas = &scale["spec"]["replicas"];
  if (!replicas || replicas->is_null()) return int64_t{0};
  if (!replicas->is_number_integer() || replicas->get<int64_t>() < 0 ||
      replicas->get<int64_t>() > INT32_MAX) {
    return core::invalid(
        "autoscaling", "Scale", name,
        {{"FieldValueInvalid",
          "Invalid value: " + replicas->dump() + ": must be greater than or equal to 0",
          "spec.replicas"}});
  }
  return replicas->get<int64_t>();
}

}  // namespace

// ---------------------------------------------------------------- helpers

std::string selectorString(const Json& selector) {
  if (!selector.is_object()) return "";
  std::string out;
  auto append = [&out](const std::string& term) {
    if (!out.empty()) out += ',';
    out += term;
  };
  if (auto labels = selector.find("matchLabels"); labels != selector.end() && labels->is_object())
    for (auto it = labels->begin(); it != labels->end(); ++it)
      append(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
  if (auto exprs = selector.find("matchExpressions");
      exprs != selector.end() && exprs->is_array()) {
    for (const auto& expr : *exprs) {
      if (!expr.is_object()) continue;
      std::string key = api::getString(expr, Json::json_pointer("/key"));
      std::string op = api::getString(expr, Json::json_pointer("/operator"));
      std::string values;
      if (auto v = expr.find("values"); v != expr.end() && v->is_array()) {
        std::vector<std::string> sorted;
        for (const auto& value : *v)
          if (value.is_string()) sorted.push_back(value.get<std::string>());
        std::sort(sorted.begin(), sorted.end());
        for (const auto& value : sorted) values += (values.empty() ? "" : ",") + value;
      }
      if (op == "In")
        append(key + " in (" + values + ")");
      else if (op == "NotIn")
        append(key + " notin (" + values + ")");
      else if (op == "Exists")
        append(key);
      else if (op == "DoesNotExist")
        append("!" + key);
    }
  }
  return out;
}

namespace {

// ".spec.replicas" -> "/spec/replicas" (a CRD's scale paths are simple).
Json::json_pointer pointerOf(const std::string& jsonPath) {
  std::string pointer;
  for (char c : jsonPath) {
    if (c == '.')
      pointer += '/';
    else if (c == '~')
      pointer += "~0";
    else if (c == '/')
      pointer += "~1";
    else
      pointer += c;
  }
  return Json::json_pointer(pointer);
}

const Json* at(const Json& obj, const std::string& jsonPath) {
  if (jsonPath.empty()) return nullptr;
  auto pointer = pointerOf(jsonPath);
  return obj.contains(pointer) ? &obj[pointer] : nullptr;
}

}  // namespace

Json toScale(const api::ResourceInfo& resource, const Json& obj) {
  Json metadata = Json::object();
  if (obj.contains("metadata") && obj["metadata"].is_object()) {
    for (const char* field : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"})
      if (obj["metadata"].contains(field)) metadata[field] = obj["metadata"][field];
  }
  const api::CustomResource* custom = resource.custom.get();
  const Json* spec = at(obj, custom ? custom->specReplicasPath : ".spec.replicas");
  const Json* status = at(obj, custom ? custom->statusReplicasPath : ".status.replicas");
  const Json* selector = at(obj, custom ? custom->labelSelectorPath : ".spec.selector");
  int64_t specReplicas = spec && spec->is_number_integer() ? spec->get<int64_t>() : 0;
  int64_t statusReplicas = status && status->is_number_integer() ? status->get<int64_t>() : 0;
  std::string selectorText;
  if (selector && selector->is_string())
    selectorText = selector->get<std::string>();  // a CRD keeps it as a string
  else if (selector)
    selectorText = selectorString(*selector);
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", metadata},
          {"spec", {{"replicas", specReplicas}}},
          {"status", {{"replicas", statusReplicas}, {"selector", selectorText}}}};
}

void setScaleReplicas(const api::ResourceInfo& resource, Json& obj, int64_t replicas) {
  std::string path = resource.custom ? resource.custom->specReplicasPath : ".spec.replicas";
  obj[pointerOf(path)] = replicas;
}

// ------------------------------------------------------------- WatchStream

WatchStream::WatchStream(std::unique_ptr<client::Watcher> watcher,
                         std::chrono::steady_clock::time_point deadline)
    : watcher_(std::move(watcher)), deadline_(deadline) {
  ++openStreams();
}

WatchStream::WatchStream(core::Error error) : pendingError_(std::move(error)) { ++openStreams(); }

WatchStream::~WatchStream() { --openStreams(); }

std::atomic<int64_t>& WatchStream::openStreams() {
  static std::atomic<int64_t> open{0};
  return open;
}

bool WatchStream::next(std::chrono::milliseconds wait, std::string& out) {
  if (finished_) return false;
  auto appendError = [&](const core::Error& error) {
    out += dumpJson({{"type", "ERROR"}, {"object", error.toStatus()}}, false);
    out += '\n';
    finished_ = true;
  };
  if (pendingError_ || !watcher_) {
    appendError(pendingError_ ? *pendingError_ : core::internal("watch not started"));
    return false;
  }
  auto now = std::chrono::steady_clock::now();
  if (now >= deadline_) {
    finished_ = true;
    return false;
  }
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
  auto events = watcher_->next(std::min(wait, remaining + std::chrono::milliseconds(1)));
  if (!events) {
    appendError(events.error());
    return false;
  }
  for (const auto& event : *events) {
    out += "{\"type\":\"";
    out += event.type;
    out += "\",\"object\":";
    out += dumpJson(transform_ ? transform_(event.type, event.object) : event.object, false);
    out += "}\n";
  }
  return true;
}

// ----------------------------------------------------------------- Handler

Handler::Handler(client::Client& client, GuaranteedUpdate guaranteedUpdate, HandlerOptions options)
    : client_(client),
      guaranteedUpdate_(std::move(guaranteedUpdate)),
      options_(std::move(options)) {
  requestsTotal_ = &metrics_->counter(
      "apiserver_request_total",
      "Counter of apiserver requests broken out for each verb, dry run value, group, version, "
      "resource, scope, component, and HTTP response code.",
      {"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component",
       "code"});
  requestDuration_ = &metrics_->histogram(
      "apiserver_request_duration_seconds",
      "Response latency distribution in seconds for each verb, dry run value, group, version, "
      "resource, subresource, scope and component.",
      {0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2,
       3,     4,     5,    6,   8,   10,  15,  20,  30,  45,   60},
      {"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"});
  metrics_->collect([](metrics::Writer& out) {
    out.family("apiserver_longrunning_requests",
               "Gauge of all active long-running apiserver requests (watches).",
               metrics::Type::gauge);
    out.sample("apiserver_longrunning_requests", {{"verb", "WATCH"}, {"component", "apiserver"}},
               double(WatchStream::open()));
  });
}

HttpResponse Handler::handle(const HttpRequest& request) {
  auto started = std::chrono::steady_clock::now();
  Route route;
  HttpResponse response = handleRouted(request, route);
  recordRequest(request, route, response, started);
  return response;
}

void Handler::recordRequest(const HttpRequest& request, const Route& route,
                            const HttpResponse& response,
                            std::chrono::steady_clock::time_point started) {
  // kube-apiserver's verbs: LIST and WATCH for collections, APPLY for
  // server-side apply, CONNECT for the streams and proxies.
  std::string verb = request.method;
  bool resource = route.kind == RouteKind::Resource && route.resource;
  bool watch = response.watch != nullptr;
  bool connect = resource && (route.subresource == "exec" || route.subresource == "attach" ||
                              route.subresource == "portforward" || route.subresource == "proxy");
  if (watch)
    verb = "WATCH";
  else if (connect)
    verb = "CONNECT";
  else if (verb == "GET" && route.isCollection())
    verb = "LIST";
  else if (verb == "PATCH" && request.contentType.rfind("application/apply-patch", 0) == 0)
    verb = "APPLY";
  std::string scope = !resource                                         ? ""
                      : !route.name.empty()                             ? "resource"
                      : route.resource->namespaced && !route.ns.empty() ? "namespace"
                                                                        : "cluster";
  std::string dryRun = route.queryValue("dryRun") == "All" ? "All" : "";
  std::vector<std::string> labels = {verb,
                                     dryRun,
                                     resource ? route.resource->group : "",
                                     resource ? route.resource->version : "",
                                     resource ? route.resource->plural : "",
                                     resource ? route.subresource : "",
                                     scope,
                                     "apiserver"};
  // Watches and streams last as long as the client wants: not latencies.
  if (!watch && !connect && route.subresource != "log")
    requestDuration_->with(labels).observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  labels.push_back(std::to_string(response.status));
  requestsTotal_->with(labels).inc();
}

HttpResponse Handler::handleRouted(const HttpRequest& request, Route& route) {
  try {
    route = parseRoute(request.target);
    if (route.kind == RouteKind::Health) {
      if (request.method != "GET" && request.method != "HEAD") return errorResponse(notAllowed());
      if (route.path.rfind("/readyz", 0) == 0 && !ready_)
        return textResponse(500, "[-]ready failed: not ready\nreadyz check failed");
      return textResponse(200, "ok");
    }
    AuthConfig auth{options_.adminToken, options_.serviceAccountTokens.get()};
    auto now = static_cast<int64_t>(std::time(nullptr));
    auto identity = authenticate(client_, auth, request.authorization, now);
    if (!identity) return errorResponse(core::unauthorized());
    if (route.path == "/metrics" && route.kind == RouteKind::NotFound) {
      // As kube-apiserver's: an authenticated, authorized scrape (no RBAC
      // here: the admin and ServiceAccounts may, nodes and the rest may not).
      if (identity->kind != Identity::Kind::Admin &&
          identity->kind != Identity::Kind::ServiceAccount)
        return errorResponse(core::Error{
            403, "Forbidden", "forbidden: only the admin and ServiceAccounts may read /metrics"});
      if (request.method != "GET") return errorResponse(notAllowed());
      HttpResponse response = textResponse(200, metrics_->render());
      response.contentType = "text/plain; version=0.0.4; charset=utf-8";
      return response;
    }
    if (auto allowed = authorize(client_, *identity, request.method, route, request.body); !allowed)
      return errorResponse(allowed.error());
    return dispatch(request, route);
  } catch (const std::exception& e) {
    return errorResponse(core::internal(e.what()));
  } catch (...) {
    return errorResponse(core::internal("unexpected failure"));
  }
}

HttpResponse Handler::dispatch(const HttpRequest& request, const Route& route) {
  if (route.kind == RouteKind::Resource) return handleResource(request, route);
  if (route.kind == RouteKind::NotFound) return errorResponse(pathNotFound());
  if (request.method != "GET") return errorResponse(notAllowed());
  if (route.kind == RouteKind::OpenApi) return serveOpenApi(route, request.accept);
  Json document;
  switch (route.kind) {
    case RouteKind::Version:
      document = versionInfo();
      break;
    case RouteKind::CoreVersions:
    case RouteKind::GroupList:
      if (auto aggregated = aggregatedDiscoveryVersionFor(request.accept)) {
        HttpResponse response;
        response.contentType = aggregatedDiscoveryContentType(*aggregated);
        response.body = dumpJson(
            aggregatedDiscovery(route.kind == RouteKind::CoreVersions, *aggregated), false);
        return response;
      }
      document = route.kind == RouteKind::CoreVersions ? coreVersions(options_.serverAddress)
                                                       : groupList();
      break;
    case RouteKind::Group:
      document = group(route.group);
      break;
    case RouteKind::ResourceList:
      document = resourceList(route.group, route.version);
      break;
    default:
      break;
  }
  if (document.is_null()) return errorResponse(pathNotFound());
  return objectResponse(request, route, 200, document);
}

HttpResponse Handler::handleResource(const HttpRequest& request, const Route& route) {
  const std::string& method = request.method;
  bool collection = route.isCollection();
  if (!route.name.empty() && (route.subresource == "log" || route.subresource == "exec" ||
                              route.subresource == "attach" || route.subresource == "portforward"))
    return streamPod(request, route);
  if (!route.name.empty() && route.subresource == "token")
    return method == "POST" ? createToken(request, route) : errorResponse(notAllowed());
  if (!route.name.empty() && route.subresource == "proxy") return proxyNode(request, route);
  if (method == "GET") {
    bool watch = route.watchPrefix || isTrueParameter(route.queryValue("watch"));
    if (collection) return getCollection(request, route);
    // A watch of one object is a watch of its collection narrowed by name.
    if (watch && route.subresource.empty()) {
      Route narrowed = route;
      narrowed.name.clear();
      std::string byName = "metadata.name=" + route.name;
      std::string& selector = narrowed.query["fieldSelector"];
      selector = selector.empty() ? byName : selector + "," + byName;
      narrowed.watchPrefix = true;
      return getCollection(request, narrowed);
    }
    return getObject(request, route);
  }
  if (route.watchPrefix) return errorResponse(notAllowed());
  if (method == "POST" && route.subresource == "binding") return bindPod(request, route);

  if (method == "POST") {
    // Objects are created in a namespace's collection, not across all.
    if (!collection || (route.resource->namespaced && route.ns.empty()))
      return errorResponse(notAllowed());
    return createObject(request, route);
  }
  if (method == "PUT")
    return collection ? errorResponse(notAllowed()) : updateObject(request, route);
  if (method == "PATCH")
    return collection ? errorResponse(notAllowed()) : patchObject(request, route);
  if (method == "DELETE") {
    if (collection) return deleteCollection(request, route);
    if (!route.subresource.empty()) return errorResponse(notAllowed());
    return deleteObject(request, route);
  }
  return errorResponse(notAllowed());
}

HttpResponse Handler::getCollection(const HttpRequest& request, const Route& route) {
  const api::ResourceInfo& resource = *route.resource;
  auto options = listOptions(route);
  if (!options) return errorResponse(options.error());
  bool watch = route.watchPrefix || isTrueParameter(route.queryValue("watch"));
  if (!watch) {
    auto list = client_.list(resource, route.ns, *options);
    if (!list) return errorResponse(list.error());
    if (!list->contains("apiVersion")) (*list)["apiVersion"] = resource.apiVersion();
    if (auto tableVersion = tableVersionFor(request.accept))
      return tableResponse(*tableVersion, route, resource, *list);
    return objectResponse(request, route, 200, *list);
  }
  auto tableVersion = tableVersionFor(request.accept);
  if (!tableVersion && negotiateResponse(request.accept) == ResponseFormat::NotAcceptable)
    return objectResponse(request, route, 200, nullptr);  // the 406
  WatchStream::EventTransform toTableRows;
  if (tableVersion) {
    auto transform = tableWatchTransform(*tableVersion, route, resource);
    if (!transform) return errorResponse(transform.error());
    toTableRows = std::move(*transform);
  }
  auto timeout = options_.defaultWatchTimeout;
  if (route.hasQuery("timeoutSeconds") && !route.queryValue("timeoutSeconds").empty()) {
    auto seconds = parseInteger(route.queryValue("timeoutSeconds"), "timeoutSeconds");
    if (!seconds) return errorResponse(seconds.error());
    if (*seconds > 0) timeout = std::chrono::seconds(std::min<int64_t>(*seconds, 24 * 3600));
  }
  HttpResponse response;
  auto watcher = client_.watch(resource, route.ns, *options);
  if (!watcher) {
    // Upstream reports an expired resourceVersion inside the stream, as an
    // ERROR event, so informers know to relist.
    if (watcher.error().code != 410) return errorResponse(watcher.error());
    response.watch = std::make_unique<WatchStream>(watcher.takeError());
    return response;
  }
  response.watch = std::make_unique<WatchStream>(std::move(*watcher),
                                                 std::chrono::steady_clock::now() + timeout);
  if (toTableRows) response.watch->setEventTransform(std::move(toTableRows));
  return response;
}

HttpResponse Handler::getObject(const HttpRequest& request, const Route& route) {
  auto obj = client_.get(*route.resource, route.ns, route.name);
  if (!obj) return errorResponse(obj.error());
  if (route.subresource == "scale")
    return objectResponse(request, route, 200, toScale(*route.resource, *obj));
  if (auto tableVersion = tableVersionFor(request.accept))
    return tableResponse(*tableVersion, route, *route.resource, *obj);
  return objectResponse(request, route, 200, *obj);
}

HttpResponse Handler::createObject(const HttpRequest& request, const Route& route) {
  const api::ResourceInfo& resource = *route.resource;
  auto options = writeOptions(route);
  if (!options) return errorResponse(options.error());
  auto obj = decodeBody(request);
  if (!obj) return errorResponse(obj.error());
  if (auto ok = checkObject(resource, route, *obj, resource.kind, resource.apiVersion()); !ok)
    return errorResponse(ok.error());
  std::vector<std::string> warnings;
  if (auto ok = api::strict::checkFields(route.queryValue("fieldValidation"), *obj, warnings); !ok)
    return errorResponse(ok.error());
  recordUpdate(Json(), *obj, schemaOf(resource), updateManager(request, *options),
               resource.apiVersion());
  auto created = client_.create(resource, route.ns, std::move(*obj), *options);
  if (!created) return withWarnings(errorResponse(created.error()), warnings);
  return withWarnings(objectResponse(request, route, 201, *created), warnings);
}

// Where a node's API (kubelet's port) is: its InternalIP and the port in
// status.daemonEndpoints.
core::Result<NodeProxy> Handler::locateNodeApi(const std::string& nodeName) {
  auto node = client_.get(api::resource("Node"), "", nodeName);
  if (!node)
    return core::internal("error dialing backend: node " + nodeName + ": " + node.error().message);
  NodeProxy proxy;
  const Json& nodeStatus = (*node).value("status", Json::object());
  if (nodeStatus.contains("addresses") && nodeStatus["addresses"].is_array())
    for (const Json& address : nodeStatus["addresses"])
      if (address.value("type", "") == "InternalIP" && proxy.host.empty())
        proxy.host = address.value("address", "");
  if (nodeStatus.contains("daemonEndpoints") &&
      nodeStatus["daemonEndpoints"].contains("kubeletEndpoint") &&
      nodeStatus["daemonEndpoints"]["kubeletEndpoint"].value("Port", 0) > 0)
    proxy.port = static_cast<uint16_t>(
        nodeStatus["daemonEndpoints"]["kubeletEndpoint"].value("Port", 10250));
  if (proxy.host.empty())
    return core::internal("error dialing backend: node " + nodeName + " has no InternalIP");
  return proxy;
}

// nodes/NAME/proxy/PATH: any request to the node's API, as kube-apiserver
// relays to kubelet (`kubectl get --raw /api/v1/nodes/N/proxy/healthz`).
HttpResponse Handler::proxyNode(const HttpRequest& request, const Route& route) {
  if (auto node = client_.get(api::resource("Node"), "", route.name); !node)
    return errorResponse(node.error());  // nodes "x" not found
  auto located = locateNodeApi(route.name);
  if (!located) return errorResponse(located.error());
  NodeProxy proxy = std::move(*located);
  proxy.method = request.method;
  // The decoded path back on the wire, segment by segment.
  size_t start = 1;
  while (start <= route.proxyPath.size()) {
    size_t end = route.proxyPath.find('/', start);
    if (end == std::string::npos) end = route.proxyPath.size();
    proxy.target += "/" + http::urlEncode(route.proxyPath.substr(start, end - start));
    start = end + 1;
  }
  if (proxy.target.empty()) proxy.target = "/";
  size_t question = request.target.find('?');
  if (question != std::string::npos) proxy.target += request.target.substr(question);
  proxy.body = request.body;
  proxy.contentType = request.contentType;
  HttpResponse response;
  response.nodeProxy = std::move(proxy);
  return response;
}

// POST pods/NAME/binding with a v1 Binding: how a scheduler assigns a pod.
// pods/log, exec, attach, portforward: checked here as kube-apiserver does
// (the pod, its node, the container), then proxied to the node's API.
HttpResponse Handler::streamPod(const HttpRequest& request, const Route& route) {
  const std::string& sub = route.subresource;
  bool isLog = sub == "log";
  if (isLog ? request.method != "GET" : request.method != "GET" && request.method != "POST")
    return errorResponse(notAllowed());
  auto pod = client_.get(api::resource("Pod"), route.ns, route.name);
  if (!pod) return errorResponse(pod.error());
  const Json& spec = (*pod)["spec"];
  std::string nodeName = spec.value("nodeName", "");
  std::vector<std::string> names;
  for (const char* key : {"initContainers", "containers", "ephemeralContainers"})
    if (spec.contains(key) && spec[key].is_array())
      for (const Json& container : spec[key]) names.push_back(container.value("name", ""));
  std::string container = route.queryValue("container");
  if (sub != "portforward") {
    if (container.empty()) {
      if (names.size() != 1) {
        std::string list;
        for (const std::string& name : names) list += (list.empty() ? "" : " ") + name;
        return errorResponse(core::badRequest("a container name must be specified for pod " +
                                              route.name + ", choose one of: [" + list + "]"));
      }
      container = names.front();
    } else if (std::find(names.begin(), names.end(), container) == names.end()) {
      return errorResponse(
          core::badRequest("container " + container + " is not valid for pod " + route.name));
    }
  }
  if (nodeName.empty())
    return errorResponse(core::badRequest("pod " + route.name + " does not have a host assigned"));
  std::string phase = (*pod).contains("status") ? (*pod)["status"].value("phase", "") : "";
  if ((sub == "exec" || sub == "attach") && (phase == "Succeeded" || phase == "Failed"))
    return errorResponse(core::badRequest(
        "cannot " + sub + " into a container in a completed pod; current phase is " + phase));
  auto located = locateNodeApi(nodeName);
  if (!located) return errorResponse(located.error());
  NodeProxy proxy = std::move(*located);
  proxy.method = request.method;
  std::string path = "/" +
                     std::string(isLog                  ? "containerLogs"
                                 : sub == "portforward" ? "portForward"
                                                        : sub) +
                     "/" + http::urlEncode(route.ns) + "/" + http::urlEncode(route.name);
  if (sub != "portforward") path += "/" + http::urlEncode(container);
  std::string query;
  auto add = [&](const std::string& key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + http::urlEncode(key) + "=" + http::urlEncode(value);
  };
  if (isLog) {
    for (const char* key : {"follow", "previous", "timestamps", "tailLines", "sinceSeconds",
                            "sinceTime", "limitBytes"})
      if (route.hasQuery(key)) add(key, route.queryValue(key));
  } else if (sub != "portforward") {
    // kubelet's names for the streams; every command argument in order.
    size_t question = request.target.find('?');
    if (sub == "exec" && question != std::string::npos)
      for (const auto& [key, value] :
           http::queryParameters(std::string_view(request.target).substr(question + 1)))
        if (key == "command") add("command", value);
    for (auto [apiName, nodeName] :
         {std::pair{"stdin", "input"}, {"stdout", "output"}, {"stderr", "error"}, {"tty", "tty"}})
      if (isTrueParameter(route.queryValue(apiName))) add(nodeName, "1");
  }
  proxy.target = path + query;
  HttpResponse response;
  response.nodeProxy = std::move(proxy);
  return response;
}

HttpResponse Handler::bindPod(const HttpRequest& request, const Route& route) {
  auto options = writeOptions(route);
  if (!options) return errorResponse(options.error());
  auto binding = decodeBody(request);
  if (!binding) return errorResponse(binding.error());
  std::string node = api::getString(*binding, "/target/name"_json_pointer);
  if (node.empty())
    return errorResponse(core::invalid("", "Binding", route.name,
                                       {{"FieldValueRequired", "Required value", "target.name"}}));
  options->subresource = "binding";
  Json pod = {{"metadata", {{"name", route.name}, {"namespace", route.ns}}},
              {"spec", {{"nodeName", node}}}};
  auto bound = client_.update(*route.resource, route.ns, std::move(pod), *options);
  if (!bound) return errorResponse(bound.error());
  return objectResponse(request, route, 201,
                        Json{{"kind", "Status"},
                             {"apiVersion", "v1"},
                             {"metadata", Json::object()},
                             {"status", "Success"},
                             {"code", 201}});
}

// POST serviceaccounts/NAME/token with an authentication.k8s.io/v1
// TokenRequest: `kubectl create token`.
// POST nodes/NAME/token: the node's credentials (a bearer token of
// system:node:NAME), kept in the Secret kube-system/node-token-NAME; a new
// request replaces the previous token, so a node joined again gets a fresh
// one and the old one stops working.
HttpResponse Handler::createNodeToken(const HttpRequest& request, const Route& route) {
  const std::string& node = route.name;
  bool valid = !node.empty() && node.size() <= 240 && node.front() != '.' && node.back() != '.';
  for (char c : node)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) valid = false;
  if (!valid)
    return errorResponse(core::badRequest("invalid node name \"" + node +
                                          "\": a lowercase RFC 1123 subdomain is required"));
  std::string secret = pki::randomHex(24);
  if (secret.empty()) return errorResponse(core::internal("no random source"));
  api::NodeToken token{node, secret};
  const auto& secrets = api::resource("Secret");
  Json stored = api::nodeTokenSecret(token);
  auto created = client_.create(secrets, "kube-system", stored);
  if (!created && created.error().reason == "AlreadyExists") {
    created = guaranteedUpdate_(secrets, "kube-system", api::name(stored),
                                [&](Json& current) -> core::Status {
                                  current["type"] = stored["type"];
                                  current["data"] = stored["data"];
                                  return core::Ok{};
                                },
                                {});
  }
  if (!created) return errorResponse(created.error());
  Json answer = {{"apiVersion", "authentication.k8s.io/v1"},
                 {"kind", "TokenRequest"},
                 {"metadata", {{"name", node}}},
                 {"spec", {{"audiences", Json::array()}}},
                 {"status", {{"token", token.text()}, {"expirationTimestamp", nullptr}}}};
  return objectResponse(request, route, 201, answer);
}

HttpResponse Handler::createToken(const HttpRequest& request, const Route& route) {
  if (route.resource->kind == "Node") return createNodeToken(request, route);
  if (!options_.serviceAccountTokens) return errorResponse(notAllowed());
  auto body = decodeBody(request);
  if (!body) return errorResponse(body.error());
  if (auto ok =
          checkObject(*route.resource, route, *body, "TokenRequest", "authentication.k8s.io/v1");
      !ok)
    return errorResponse(ok.error());
  auto answer = options_.serviceAccountTokens->tokenRequest(
      client_, route.ns, route.name, std::move(*body), static_cast<int64_t>(std::time(nullptr)));
  if (!answer) return errorResponse(answer.error());
  return objectResponse(request, route, 201, *answer);
}

HttpResponse Handler::updateObject(const HttpRequest& request, const Route& route) {
  const api::ResourceInfo& resource = *route.resource;
  auto options = writeOptions(route);
  if (!options) return errorResponse(options.error());
  auto body = decodeBody(request);
  if (!body) return errorResponse(body.error());

  if (route.subresource == "scale") {
    if (auto ok = checkObject(resource, route, *body, "Scale", "autoscaling/v1"); !ok)
      return errorResponse(ok.error());
    if (auto ok = checkName(route, *body); !ok) return errorResponse(ok.error());
    auto replicas = scaleReplicas(*body, route.name);
    if (!replicas) return errorResponse(replicas.error());
    std::string wantedVersion = api::resourceVersion(*body);
    auto updated = guaranteedUpdate_(
        resource, route.ns, route.name,
        [&](Json& obj) -> core::Status {
          if (auto ok = checkResourceVersion(resource, route.name, wantedVersion, obj); !ok)
            return ok;
          setScaleReplicas(resource, obj, *replicas);
          return core::Ok{};
        },
        *options);
    if (!updated) return errorResponse(updated.error());
    return objectResponse(request, route, 200, toScale(resource, *updated));
  }

  if (auto ok = checkObject(resource, route, *body, resource.kind, resource.apiVersion()); !ok)
    return errorResponse(ok.error());
  if (auto ok = checkName(route, *body); !ok) return errorResponse(ok.error());
  std::vector<std::string> warnings;
  if (auto ok = api::strict::checkFields(route.queryValue("fieldValidation"), *body, warnings); !ok)
    return errorResponse(ok.error());
  if (route.subresource.empty()) {
    // managedFields need the object being replaced (a stale read only makes
    // the Update entry less precise; the write itself stays a CAS).
    auto current = client_.get(resource, route.ns, route.name);
    if (current)
      recordUpdate(*current, *body, schemaOf(resource), updateManager(request, *options),
                   resource.apiVersion());
  }
  auto updated = client_.update(resource, route.ns, std::move(*body), *options);
  if (!updated) return withWarnings(errorResponse(updated.error()), warnings);
  return withWarnings(objectResponse(request, route, 200, *updated), warnings);
}

HttpResponse Handler::patchObject(const HttpRequest& request, const Route& route) {
  const api::ResourceInfo& resource = *route.resource;
  auto options = writeOptions(route);
  if (!options) return errorResponse(options.error());
  PatchType type = patchTypeOf(request.contentType);
  if (type == PatchType::Apply && route.subresource.empty()) {
    auto applied =
        serverSideApply(client_, guaranteedUpdate_,
                        {&resource, route.ns, route.name, request.body, options->fieldManager,
                         route.queryValue("force"), route.queryValue("fieldValidation"), *options});
    if (!applied) return errorResponse(applied.error());
    return withWarnings(
        objectResponse(request, route, applied->created ? 201 : 200, applied->object),
        applied->warnings);
  }
  if (type == PatchType::Apply || type == PatchType::Unsupported)
    return errorResponse(core::unsupportedMediaType(bareMediaType(request.contentType)));
  // Custom resources have no patch strategies to merge by (as upstream).
  if (type == PatchType::StrategicMerge && resource.custom)
    return errorResponse(core::Error{
        415, "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"});
  const api::schema::Message* schema = schemaOf(resource);

  bool scale = route.subresource == "scale";
  std::vector<std::string> warnings;  // of the last attempt: the patched object is checked
  auto updated = guaranteedUpdate_(
      resource, route.ns, route.name,
      [&](Json& obj) -> core::Status {
        if (scale) {
          auto patched = applyPatch(type, toScale(resource, obj), request.body);
          if (!patched) return patched.takeError();
          auto replicas = scaleReplicas(*patched, route.name);
          if (!replicas) return replicas.takeError();
          if (auto ok =
                  checkResourceVersion(resource, route.name, api::resourceVersion(*patched), obj);
              !ok)
            return ok;
          setScaleReplicas(resource, obj, *replicas);
          return core::Ok{};
        }
        auto patched = applyPatch(type, obj, request.body, schema);
        if (!patched) return patched.takeError();
        if (!patched->is_object() || !(*patched)["metadata"].is_object())
          return core::badRequest("the patched object has no metadata");
        if (api::name(*patched) != route.name)
          return core::badRequest("the name of the object (" + api::name(*patched) +
                                  ") does not match the name on the URL (" + route.name + ")");
        if (resource.namespaced && api::namespaceOf(*patched) != route.ns)
          return core::badRequest(kNamespaceMismatch);
        warnings.clear();
        if (auto ok = api::strict::checkFields(route.queryValue("fieldValidation"), *patched,
                                               warnings, true);
            !ok)
          return ok;
        std::string patchedVersion = api::resourceVersion(*patched);
        if (auto ok = checkResourceVersion(resource, route.name, patchedVersion, obj); !ok)
          return ok;
        if (patchedVersion.empty())
          (*patched)["metadata"]["resourceVersion"] = api::resourceVersion(obj);
        if (route.subresource.empty())
          recordUpdate(obj, *patched, schema, updateManager(request, *options),
                       resource.apiVersion());
        obj = std::move(*patched);
        return core::Ok{};
      },
      *options);
  if (!updated) return errorResponse(updated.error());
  if (scale) return objectResponse(request, route, 200, toScale(resource, *updated));
  return withWarnings(objectResponse(request, route, 200, *updated), warnings);
}

namespace {

// metav1.DeleteOptions from the body (kubectl sends one) and the query.
core::Status readDeleteOptions(const HttpRequest& request, const Route& route,
                               client::DeleteOptions& options, bool& dryRun) {
  Json body = Json::object();
  bool blank = std::all_of(request.body.begin(), request.body.end(),
                           [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  if (!blank) {
    auto decoded = decodeBody(request);
    if (!decoded) return decoded.takeError();
    body = std::move(*decoded);
  }
  if (auto grace = body.find("gracePeriodSeconds"); grace != body.end() && !grace->is_null()) {
    if (!grace->is_number_integer())
      return core::badRequest("gracePeriodSeconds must be an integer");
    options.gracePeriodSeconds = grace->get<int64_t>();
  }
  if (auto pre = body.find("preconditions"); pre != body.end() && pre->is_object()) {
    options.preconditionUid = api::getString(*pre, Json::json_pointer("/uid"));
    options.preconditionResourceVersion =
        api::getString(*pre, Json::json_pointer("/resourceVersion"));
  }
  if (auto policy = body.find("propagationPolicy"); policy != body.end() && policy->is_string())
    options.propagationPolicy = policy->get<std::string>();
  if (auto orphan = body.find("orphanDependents"); orphan != body.end() && orphan->is_boolean())
    if (options.propagationPolicy.empty() && orphan->get<bool>())
      options.propagationPolicy = "Orphan";
  if (auto dry = body.find("dryRun"); dry != body.end() && dry->is_array())
    for (const auto& value : *dry) dryRun = dryRun || value == "All";

  if (route.hasQuery("gracePeriodSeconds") && !route.queryValue("gracePeriodSeconds").empty()) {
    auto grace = parseInteger(route.queryValue("gracePeriodSeconds"), "gracePeriodSeconds");
    if (!grace) return grace.takeError();
    options.gracePeriodSeconds = *grace;
  }
  if (route.hasQuery("propagationPolicy"))
    options.propagationPolicy = route.queryValue("propagationPolicy");
  const std::string& policy = options.propagationPolicy;
  if (!policy.empty() && policy != "Background" && policy != "Foreground" && policy != "Orphan")
    return core::badRequest("propagationPolicy must be one of Background, Foreground or Orphan");
  if (route.queryValue("dryRun") == "All") dryRun = true;
  return core::Ok{};
}

}  // namespace

HttpResponse Handler::deleteObject(const HttpRequest& request, const Route& route) {
  client::DeleteOptions options;
  bool dryRun = false;
  if (auto ok = readDeleteOptions(request, route, options, dryRun); !ok)
    return errorResponse(ok.error());
  if (dryRun) {
    auto current = client_.get(*route.resource, route.ns, route.name);
    if (!current) return errorResponse(current.error());
    return objectResponse(request, route, 200, *current);
  }
  auto deleted = client_.remove(*route.resource, route.ns, route.name, options);
  if (!deleted) return errorResponse(deleted.error());
  return objectResponse(request, route, 200, *deleted);
}

HttpResponse Handler::deleteCollection(const HttpRequest& request, const Route& route) {
  const api::ResourceInfo& resource = *route.resource;
  client::DeleteOptions options;
  bool dryRun = false;
  if (auto ok = readDeleteOptions(request, route, options, dryRun); !ok)
    return errorResponse(ok.error());
  auto selectors = listOptions(route);
  if (!selectors) return errorResponse(selectors.error());
  selectors->limit = 0;
  selectors->continueToken.clear();
  auto list = client_.list(resource, route.ns, *selectors);
  if (!list) return errorResponse(list.error());
  Json deleted = Json::array();
  if (list->contains("items") && (*list)["items"].is_array()) {
    for (const auto& item : (*list)["items"]) {
      if (dryRun) {
        deleted.push_back(item);
        continue;
      }
      auto removed = client_.remove(resource, api::namespaceOf(item), api::name(item), options);
      if (removed) {
        deleted.push_back(std::move(*removed));
      } else if (removed.error().code != 404) {  // deleted meanwhile is fine
        return errorResponse(removed.error());
      }
    }
  }
  Json result = {{"kind", resource.listKind()},
                 {"apiVersion", resource.apiVersion()},
                 {"metadata", Json::object()},
                 {"items", std::move(deleted)}};
  return objectResponse(request, route, 200, result);
}

}  // namespace podnet::apiserver
