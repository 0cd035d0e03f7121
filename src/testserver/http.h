// The pure part of the test server: sniffing, HTTP/1.1 request parsing, the
// answers of every endpoint and of the UDP protocol. No I/O, so it is
// unit-tested and fuzzed directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/query.h"

namespace podnet::testserver {

// Who this server is (flags --name / --ip).
struct Identity {
  std::string name;
  std::string ip;
  std::string ns;  // the pod's namespace ($POD_NAMESPACE), "" outside a pod
};

// The other end of a connection or datagram, as the server sees it.
struct PeerInfo {
  std::string client;      // "IP:port" ("[IPv6]:port" for IPv6)
  uint16_t localPort = 0;  // the port the request arrived on
};

struct Request {
  std::string method;
  std::string target;    // as sent
  std::string path;      // target without query (absolute-form reduced to its path)
  std::string query;     // after '?', still encoded
  int minorVersion = 1;  // HTTP/1.<minorVersion>
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepAlive = true;  // after Connection header and version rules

  // First header named `name` (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

struct HttpReply {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
  bool close = false;     // send "Connection: close" and close afterwards
  bool headOnly = false;  // HEAD: headers (with the body's Content-Length) but no body
  int delayMs = 0;        // /delay/MS: wait this long before answering
};

enum class ParseState { incomplete, complete, malformed };

struct ParseResult {
  ParseState state = ParseState::incomplete;
  Request request;        // when complete
  size_t consumed = 0;    // bytes of the buffer the request used (head + body), when complete
  int errorStatus = 400;  // when malformed: 400, 413, 431 or 501
  std::string error;      // when malformed
};

// Limits of one request.
inline constexpr size_t kMaxHeadBytes = 64 * 1024;
inline constexpr size_t kMaxBodyBytes = 1024 * 1024;

// Parses one request from the start of `buffer` (pipelined requests follow it).
// Never throws; accepts CRLF or bare LF line endings.
ParseResult parseHttpRequest(std::string_view buffer);

enum class Sniff { needMore, http, other };
// Whether the first bytes of a TCP connection start an HTTP request: a known
// method token followed by a space.
Sniff sniffHttp(std::string_view prefix);

// The answer to a parsed request.
HttpReply answerHttp(const Request& request, const Identity& self, const PeerInfo& peer);
// The answer to a request that could not be parsed (always closes).
HttpReply malformedReply(const ParseResult& result);

// The bytes on the wire.
// `date`: a "Date: ...\r\n" line (http::dateHeader()), or "" for none.
std::string serializeReply(const HttpReply& reply, std::string_view date = {});

// The answer to one UDP datagram.
std::string answerUdp(std::string_view datagram, const Identity& self, const PeerInfo& peer);

// %XX decoding (http/query.h, shared with the API server and the node API).
using http::urlDecode;
// The decoded value of the first `key` parameter of a query string; a bad
// %-encoding of that value sets `malformed`.
struct QueryValue {
  bool found = false;
  bool malformed = false;
  std::string value;
};
QueryValue queryParam(std::string_view query, std::string_view key);

}  // namespace podnet::testserver
