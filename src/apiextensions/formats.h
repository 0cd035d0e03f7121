// Values as kube-apiserver prints them in field errors (Go's %q and %#v of
// decoded JSON), and the OpenAPI `format`s a CRD schema may name.
#pragma once

#include <string>
#include <string_view>

#include "api/codec.h"
#include "api/validation.h"

namespace podnet::apiextensions {

using api::goQuote;  // Go's strconv.Quote (api/validation.h)
// A float64 as Go's %v prints it: 1, 1.5, 1e+21.
std::string goNumber(double value);
// A decoded JSON value as field.Error prints it after "Invalid value: ":
// strings quoted, numbers and booleans bare, objects and lists as Go's %#v
// of map[string]interface {} and []interface {}.
std::string goValue(const api::Json& value);

// Whether a string value is valid for `format` (unknown formats accept
// anything, as upstream; formats apply to strings only): byte, date, date-time, duration,
// hostname, ipv4, ipv6, cidr, mac, uri, email, uuid (3/4/5), hexcolor, ...
bool stringHasFormat(std::string_view text, std::string_view format);

}  // namespace podnet::apiextensions
