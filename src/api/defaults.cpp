#include "api/defaults.h"

namespace podnet::api {

void applyDefaults(const ResourceInfo& resource, Json& obj) {}

}  // namespace podnet::api
