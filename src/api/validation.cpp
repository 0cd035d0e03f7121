#include "api/validation.h"

namespace podnet::api {

std::vector<core::Cause> validate(const ResourceInfo& resource, const Json& obj) { return {}; }
std::vector<core::Cause> validateUpdate(const ResourceInfo& resource, const Json& obj,
                                        const Json& old) {
  return {};
}

}  // namespace podnet::api
