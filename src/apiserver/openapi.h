// A minimal /openapi/v3, generated from the schema table (api/schema.h).
//
// kubectl's default --validate=strict reads it to learn whether the server
// validates fields itself: it looks for the PATCH operation of the object's
// group-version-kind and a `fieldValidation` query parameter on it, then
// sends fieldValidation=Strict instead of validating on the client. The
// component schemas (with x-kubernetes-group-version-kind, patch and list
// metadata) also serve `kubectl explain`.
//
//   GET /openapi/v3                    {"paths":{"api/v1":{"serverRelativeURL":
//                                       "/openapi/v3/api/v1?hash=<SHA-512 hex>"},...}}
//   GET /openapi/v3/api/v1?hash=H      the OpenAPI 3.0 document; immutable when
//                                       H is its hash, 301 to the current URL otherwise
//   GET /openapi/v3/apis/GROUP/VERSION the same for a named group
//
// /openapi/v2 is not served (404): kubectl only falls back to it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "apiserver/handler.h"

namespace podnet::apiserver {

// The /openapi/v3 index.
api::Json openApiV3Index();

// One group version's document, by its path below /openapi/v3 ("api/v1",
// "apis/apps/v1"); built once. nullptr when that group version is not served.
struct OpenApiDocument {
  std::string body;  // the JSON text served
  std::string hash;  // upper-case hex SHA-512 of `body`, as upstream computes it
};
std::shared_ptr<const OpenApiDocument> openApiV3Document(std::string_view groupVersionPath);

// Answers a GET of /openapi/v3 or /openapi/v3/...: the route's path and its
// hash query parameter decide the document and the caching headers.
// `accept`: for /openapi/v2, which kubectl asks for in protobuf.
HttpResponse serveOpenApi(const Route& route, std::string_view accept = "");

}  // namespace podnet::apiserver
