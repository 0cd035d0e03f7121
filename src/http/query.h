// Query strings and %-escapes, for every component that takes URLs from
// outside (the API server, the node API, the test server).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podnet::http {

// %XX decoding; with `plusIsSpace` (query strings) '+' decodes to ' '.
// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> urlDecode(std::string_view text, bool plusIsSpace);

// %-escapes everything but RFC 3986's unreserved characters, so the result
// is one path segment or one query value.
std::string urlEncode(std::string_view text);

// The parameters of a query string (without the '?') in their order,
// repeated keys kept (exec's command=sh&command=-c); malformed escapes are
// kept as they are.
std::vector<std::pair<std::string, std::string>> queryParameters(std::string_view query);

// The path and query of a request target ("/a/b?x=1" -> "/a/b", "x=1").
std::pair<std::string_view, std::string_view> splitTarget(std::string_view target);

}  // namespace podnet::http
