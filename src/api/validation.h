// Validation with the real rules (k8s.io/apimachinery/pkg/util/validation and
// pkg/apis/*/validation): one core::Cause per problem, with the field path
// and the message kube-apiserver gives, e.g.
//   {FieldValueInvalid, "Invalid value: 0: must be between 1 and 65535, inclusive",
//    "spec.ports[0].port"}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/resource.h"
#include "core/error.h"

namespace podnet::api {

// Validates an object (already defaulted) for create.
std::vector<core::Cause> validate(const ResourceInfo& resource, const Json& obj);
// Validates an update: everything validate() checks plus immutable fields
// (metadata.name/namespace, Service clusterIP, Deployment selector, ...).
std::vector<core::Cause> validateUpdate(const ResourceInfo& resource, const Json& obj,
                                        const Json& old);

// The building blocks, for other components' use.
std::vector<std::string> isDns1123Label(std::string_view value);
std::vector<std::string> isDns1123Subdomain(std::string_view value);
std::vector<std::string> isDns1035Label(std::string_view value);
std::vector<std::string> isQualifiedName(std::string_view value);  // label keys
std::vector<std::string> isValidLabelValue(std::string_view value);
// Go's strconv.Quote, as field errors print string values: "a\"b".
std::string goQuote(std::string_view s);

}  // namespace podnet::api
