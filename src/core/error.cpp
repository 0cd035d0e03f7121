#include "core/error.h"

#include <nlohmann/json.hpp>

namespace podnet::core {

nlohmann::json Error::toStatus() const {
  nlohmann::json status = {{"kind", "Status"},         {"apiVersion", "v1"},
                           {"metadata", nlohmann::json::object()},
                           {"status", "Failure"},      {"message", message},
                           {"reason", reason},         {"code", code}};
  nlohmann::json details = nlohmann::json::object();
  if (!name.empty()) details["name"] = name;
  if (!group.empty()) details["group"] = group;
  if (!kind.empty()) details["kind"] = kind;
  if (!causes.empty()) {
    auto& list = details["causes"] = nlohmann::json::array();
    for (const auto& c : causes)
      list.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
  }
  if (retryAfterSeconds > 0) details["retryAfterSeconds"] = retryAfterSeconds;
  if (!details.empty()) status["details"] = std::move(details);
  return status;
}

static std::string qualified(const std::string& group, const std::string& resource) {
  return group.empty() ? resource : resource + "." + group;
}

Error notFound(std::string group, std::string resource, std::string name) {
  Error e{404, "NotFound", qualified(group, resource) + " \"" + name + "\" not found"};
  e.group = std::move(group);
  e.kind = std::move(resource);
  e.name = std::move(name);
  return e;
}

Error alreadyExists(std::string group, std::string resource, std::string name) {
  Error e{409, "AlreadyExists", qualified(group, resource) + " \"" + name + "\" already exists"};
  e.group = std::move(group);
  e.kind = std::move(resource);
  e.name = std::move(name);
  return e;
}

Error conflict(std::string group, std::string resource, std::string name, std::string why) {
  Error e{409, "Conflict",
          "Operation cannot be fulfilled on " + qualified(group, resource) + " \"" + name +
              "\": " + why};
  e.group = std::move(group);
  e.kind = std::move(resource);
  e.name = std::move(name);
  return e;
}

Error badRequest(std::string message) { return Error{400, "BadRequest", std::move(message)}; }

Error invalid(std::string group, std::string kind, std::string name, std::vector<Cause> causes) {
  std::string message = (group.empty() ? kind : kind + "." + group) + " \"" + name +
                        "\" is invalid: ";
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i) message += ", ";
    message += causes[i].field + ": " + causes[i].message;
  }
  Error e{422, "Invalid", std::move(message)};
  e.group = std::move(group);
  e.kind = std::move(kind);
  e.name = std::move(name);
  e.causes = std::move(causes);
  return e;
}

Error gone(std::string message) { return Error{410, "Expired", std::move(message)}; }
Error internal(std::string message) {
  return Error{500, "InternalError", "Internal error occurred: " + std::move(message)};
}
Error unauthorized() { return Error{401, "Unauthorized", "Unauthorized"}; }
Error methodNotAllowed(std::string message) {
  return Error{405, "MethodNotAllowed", std::move(message)};
}
Error unsupportedMediaType(std::string contentType) {
  return Error{415, "UnsupportedMediaType",
               "the body of the request was in an unknown format (" + contentType +
                   ") - accepted media types include: application/json, application/yaml"};
}

}  // namespace podnet::core
