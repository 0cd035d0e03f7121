// Errors as the Kubernetes API reports them (metav1.Status), used by every
// component so an error can travel from the store to the client unchanged.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace podnet::core {

// One field-level problem, as metav1.StatusCause.
struct Cause {
  std::string reason;  // FieldValueInvalid, FieldValueRequired, FieldValueDuplicate, ...
  std::string message;
  std::string field;  // e.g. spec.ports[0].port
};

// A failed operation: the HTTP code, the machine-readable reason and the
// details kubectl prints (kind and name of the object, field causes).
struct Error {
  int code = 500;
  std::string reason;  // NotFound, AlreadyExists, Conflict, Invalid, BadRequest, ...
  std::string message;
  std::string group;
  std::string kind;  // plural resource for NotFound/AlreadyExists, Kind for Invalid
  std::string name;
  std::vector<Cause> causes;
  int retryAfterSeconds = 0;

  nlohmann::json toStatus() const;
};

Error notFound(std::string group, std::string resource, std::string name);
Error alreadyExists(std::string group, std::string resource, std::string name);
Error conflict(std::string group, std::string resource, std::string name, std::string why);
Error badRequest(std::string message);
Error invalid(std::string group, std::string kind, std::string name, std::vector<Cause> causes);
Error gone(std::string message);
Error internal(std::string message);
Error unauthorized();
Error methodNotAllowed(std::string message);
Error unsupportedMediaType(std::string contentType);

}  // namespace podnet::core
