// The messages the proxy writes, as pure functions: the request head sent
// upstream (hop-by-hop headers gone, X-Forwarded-* and X-Request-ID set),
// the response head an HTTP/1 client gets, and the answers the proxy gives
// itself (404, 308 redirects, 403, 413, 502-504, 400).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http1.h"
#include "ingress/buffer.h"

namespace podnet::ingress {

// A client's request as the proxy routes and forwards it, whether it came
// over HTTP/1 or as an HTTP/2 stream.
struct ProxyRequest {
  std::string method;
  std::string path;                   // as the client sent it (before normalization)
  std::string query;                  // after '?', without it
  std::string host;                   // Host header (HTTP/2: :authority)
  std::vector<http::Header> headers;  // as received (HTTP/2: without pseudo-headers)
  bool http10 = false;
  bool upgrade = false;  // HTTP/1.1 Upgrade (WebSocket): forwarded, then a tunnel on 101
  std::optional<uint64_t> contentLength;  // nullopt with a body of unknown length
  bool hasBody = false;
  // The connection it came on.
  std::string clientIp;
  bool secure = false;
  uint16_t serverPort = 0;
  bool http2 = false;  // the client spoke HTTP/2 (gRPC needs it end to end)
};

// How a body is framed on the next hop.
enum class BodyFraming { none, length, chunked, raw };

// Whether a header is hop-by-hop (never forwarded): the fixed list and
// the names `headers`' Connection options list.
bool isHopByHop(std::string_view name, const std::vector<http::Header>& headers);

// A client's X-Request-ID if it is a sane token (at most 128 token
// characters), else "".
std::string_view acceptedRequestId(const std::vector<http::Header>& headers);

// The request head sent upstream: `path` (normalized or rewritten) and the
// query; the client's headers minus hop-by-hop, Expect, Content-Length and
// the forwarding headers the proxy sets itself (X-Forwarded-For, -Host,
// -Port, -Proto, -Scheme, X-Real-IP, X-Scheme, X-Request-ID); the body
// framed as `framing` (length: `contentLength`).
void writeUpstreamRequest(Buffer& out, const ProxyRequest& request, std::string_view path,
                          std::string_view requestId, BodyFraming framing, uint64_t contentLength);

// The same request as HTTP/2 header fields, for a gRPC backend: the
// pseudo-headers (:scheme `tlsUpstream` ? https : http), then the client's
// fields as writeUpstreamRequest forwards them (names lowercase; `te:
// trailers` kept, as gRPC needs it), then the proxy's own.
std::vector<http::Header> upstreamHttp2Headers(const ProxyRequest& request, std::string_view path,
                                               std::string_view requestId, bool tlsUpstream);

// The response head an HTTP/1 client gets for an upstream response: status
// line, the upstream's headers minus hop-by-hop, `extraHeaders` (whole
// lines, each ending in CRLF), the framing towards the client and the
// connection's fate.
struct ClientResponse {
  bool http10 = false;    // the client spoke HTTP/1.0
  bool keepAlive = true;  // the connection stays open after this response
  BodyFraming framing = BodyFraming::length;
  uint64_t contentLength = 0;
  bool upgrade = false;  // 101: Connection/Upgrade kept
};
void writeResponseHead(Buffer& out, const http::ResponseHead& upstream,
                       const ClientResponse& response, std::string_view extraHeaders);

// A response the proxy makes itself (small text body unless `head`).
struct LocalResponse {
  int status = 404;
  std::string location;      // redirects
  std::string extraHeaders;  // whole lines, each ending in CRLF
  std::string body;          // "" = the status's default text
  std::string contentType;   // "" = text/html
};
void writeLocalResponse(Buffer& out, const LocalResponse& response, bool http10, bool keepAlive,
                        bool head);
// The body and Content-Type a local response carries (the status's default
// HTML page when it has no body of its own; "" for 204 and 304).
struct LocalContent {
  std::string body;
  std::string contentType;
};
LocalContent localContent(const LocalResponse& response);
// Whole header lines ("Name: value\r\n"...) as name/value pairs.
std::vector<http::Header> splitHeaderLines(std::string_view lines);

// The CORS headers ingress-nginx's enable-cors sends (its defaults).
std::string_view corsHeaders();

}  // namespace podnet::ingress
