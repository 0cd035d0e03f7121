#include "testserver/http.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "http/http1.h"

namespace podnet::testserver {
namespace {

constexpr std::array<std::string_view, 9> kMethods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool isTchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value contains `token` (case-insensitive).
bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult malformed(int status, std::string error) {
  ParseResult r;
  r.state = ParseState::malformed;
  r.errorStatus = status;
  r.error = std::move(error);
  return r;
}

HttpReply text(int status, std::string body) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return std::nullopt;
}

Sniff sniffHttp(std::string_view prefix) {
  bool couldBe = false;
  for (std::string_view method : kMethods) {
    size_t n = std::min(prefix.size(), method.size() + 1);
    std::string_view want = method;
    // Compare against "METHOD " without building it.
    bool match = true;
    for (size_t i = 0; i < n; ++i) {
      char expected = i < want.size() ? want[i] : ' ';
      if (prefix[i] != expected) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (prefix.size() > method.size()) return Sniff::http;
    couldBe = true;
  }
  return couldBe ? Sniff::needMore : Sniff::other;
}

ParseResult parseHttpRequest(std::string_view buffer) {
  // Skip empty lines before a request (RFC 9112 section 2.2).
  size_t start = 0;
  while (start < buffer.size() && (buffer[start] == '\r' || buffer[start] == '\n')) ++start;
  if (start > kMaxHeadBytes) return malformed(400, "too many empty lines");

  // Find the end of the head: an empty line.
  size_t pos = start;
  size_t headEnd = std::string_view::npos;  // index after the blank line
  std::vector<std::string_view> lines;
  while (true) {
    size_t nl = buffer.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (buffer.size() - start > kMaxHeadBytes) return malformed(431, "request head too large");
      return {};
    }
    if (nl - start > kMaxHeadBytes) return malformed(431, "request head too large");
    std::string_view line = buffer.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) {
      headEnd = pos;
      break;
    }
    lines.push_back(line);
  }

  ParseResult result;
  Request& req = result.request;

  // Request line: METHOD SP target SP HTTP/1.x
  std::string_view requestLine = lines.front();
  size_t sp1 = requestLine.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return malformed(400, "bad request line");
  size_t sp2 = requestLine.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return malformed(400, "bad request line");
  std::string_view method = requestLine.substr(0, sp1);
  std::string_view target = requestLine.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = requestLine.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), isTchar)) return malformed(400, "bad method");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return malformed(400, "bad request target");
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9')
    return malformed(version.substr(0, 5) == "HTTP/" ? 505 : 400, "bad HTTP version");
  req.method = std::string(method);
  req.target = std::string(target);
  req.minorVersion = version[7] - '0';

  // Target: origin-form "/path?query", absolute-form "http://host/path?query", or "*".
  std::string_view pathAndQuery = target;
  if (target.front() != '/' && target != "*") {
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return malformed(400, "bad request target");
    size_t slash = target.find_first_of("/?", scheme + 3);
    pathAndQuery = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t question = pathAndQuery.find('?');
  req.path = std::string(pathAndQuery.substr(0, question));
  if (req.path.empty()) req.path = "/";
  if (question != std::string_view::npos)
    req.query = std::string(pathAndQuery.substr(question + 1));

  // Header fields.
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') return malformed(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return malformed(400, "bad header line");
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), isTchar)) return malformed(400, "bad header name");
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return malformed(400, "bad header value");
    req.headers.emplace_back(std::string(name), std::string(value));
  }

  // Body framing: Content-Length, or chunked (proxies stream uploads so).
  auto transferEncoding = req.header("Transfer-Encoding");
  std::optional<size_t> contentLength;
  for (const auto& [key, value] : req.headers) {
    if (!iequals(key, "Content-Length")) continue;
    size_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size())
      return malformed(400, "bad Content-Length");
    if (contentLength && *contentLength != n) return malformed(400, "conflicting Content-Length");
    contentLength = n;
  }
  size_t bodyEnd = headEnd;
  if (transferEncoding) {
    if (!iequals(*transferEncoding, "chunked"))
      return malformed(501, "Transfer-Encoding other than chunked not supported");
    if (contentLength) return malformed(400, "both Content-Length and Transfer-Encoding");
    // Decoded afresh from the whole buffer each time more arrives: a test
    // server's bodies are small.
    http::ChunkedDecoder decoder;
    std::string_view rest = buffer.substr(headEnd);
    for (;;) {
      auto step = decoder.feed(rest, req.body);
      if (req.body.size() > kMaxBodyBytes) return malformed(413, "request body too large");
      if (step == http::ChunkedDecoder::Result::error)
        return malformed(400, "bad chunked body: " + decoder.error());
      if (step == http::ChunkedDecoder::Result::more) {
        if (rest.empty()) return {};
        continue;
      }
      break;
    }
    bodyEnd = buffer.size() - rest.size();
  } else {
    size_t bodyLength = contentLength.value_or(0);
    if (bodyLength > kMaxBodyBytes) return malformed(413, "request body too large");
    if (buffer.size() - headEnd < bodyLength) return {};
    req.body = std::string(buffer.substr(headEnd, bodyLength));
    bodyEnd = headEnd + bodyLength;
  }

  // Persistence: HTTP/1.1 keeps alive unless "close"; HTTP/1.0 only with "keep-alive".
  auto connection = req.header("Connection");
  if (req.minorVersion >= 1)
    req.keepAlive = !(connection && hasToken(*connection, "close"));
  else
    req.keepAlive = connection && hasToken(*connection, "keep-alive");

  result.state = ParseState::complete;
  result.consumed = bodyEnd;
  return result;
}

QueryValue queryParam(std::string_view query, std::string_view key) {
  QueryValue result;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    auto name = urlDecode(pair.substr(0, eq), true);
    if (name && *name == key) {
      result.found = true;
      auto value = urlDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (value)
        result.value = std::move(*value);
      else
        result.malformed = true;
      return result;
    }
    if (amp == std::string_view::npos) return result;
    query.remove_prefix(amp + 1);
  }
}

HttpReply answerHttp(const Request& request, const Identity& self, const PeerInfo& peer) {
  HttpReply reply;
  const std::string& path = request.path;
  if (path == "/") {
    reply = text(200, self.name + "\n");
  } else if (path == "/hostname") {
    reply = text(200, self.name);
  } else if (path == "/clientip") {
    reply = text(200, peer.client);
  } else if (path == "/healthz") {
    reply = text(200, "ok");
  } else if (path == "/echo") {
    QueryValue msg = queryParam(request.query, "msg");
    if (msg.malformed)
      reply = text(400, "bad %-encoding in msg\n");
    else
      reply = text(200, msg.found ? msg.value : request.body);
  } else if (path == "/info" || path == "/whoami") {
    nlohmann::json info = {
        {"name", self.name}, {"ip", self.ip}, {"client", peer.client}, {"port", peer.localPort}};
    reply = text(200, info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    reply.contentType = "application/json";
  } else if (path.starts_with("/status/") && path.size() == 11 &&
             path.find_first_not_of("0123456789", 8) == std::string::npos && path[8] >= '2' &&
             path[8] <= '5') {
    int status = std::stoi(path.substr(8));
    reply = text(status, self.name + " " + std::to_string(status) + "\n");
  } else if (path.starts_with("/delay/") && path.size() > 7 && path.size() <= 16 &&
             path.find_first_not_of("0123456789", 7) == std::string::npos) {
    reply = text(200, self.name + "\n");
    reply.delayMs = std::min(std::stoi(path.substr(7)), 60000);
  } else {
    // Anything else: what arrived, so a test sees what a proxy sent on.
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : request.headers) {
      std::string key = name;
      for (char& c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (headers.contains(key))
        headers[key] = headers[key].get<std::string>() + "," + value;
      else
        headers[key] = value;
    }
    nlohmann::json info = {{"name", self.name},
                           {"namespace", self.ns},
                           {"method", request.method},
                           {"target", request.target},
                           {"path", request.path},
                           {"query", request.query},
                           {"host", request.header("Host").value_or("")},
                           {"headers", headers},
                           {"bodyBytes", request.body.size()}};
    reply = text(200, info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    reply.contentType = "application/json";
  }
  reply.close = !request.keepAlive;
  reply.headOnly = request.method == "HEAD";
  return reply;
}

HttpReply malformedReply(const ParseResult& result) {
  HttpReply reply = text(result.errorStatus, std::string(http::reasonPhrase(result.errorStatus)) +
                                                 ": " + result.error + "\n");
  reply.close = true;
  return reply;
}

std::string serializeReply(const HttpReply& reply, std::string_view date) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  out += http::reasonPhrase(reply.status);
  if (!date.empty()) {
    out += "\r\n";
    out += date.substr(0, date.size() - 2);  // without its CRLF
  }
  out += "\r\nServer: podnet-testserver";
  bool bodiless = reply.status == 204 || reply.status == 304;  // no body, no length (RFC 9110)
  if (!bodiless) {
    out += "\r\nContent-Type: " + reply.contentType;
    out += "\r\nContent-Length: " + std::to_string(reply.body.size());
  }
  out += reply.close ? "\r\nConnection: close" : "\r\nConnection: keep-alive";
  out += "\r\n\r\n";
  if (!reply.headOnly && !bodiless) out += reply.body;
  return out;
}

std::string answerUdp(std::string_view datagram, const Identity& self, const PeerInfo& peer) {
  // "hostname\n" from `echo hostname | nc -u` is the same command as "hostname";
  // the answer ends with the same line ending as the question.
  std::string_view command = datagram;
  while (!command.empty() && (command.back() == '\n' || command.back() == '\r'))
    command.remove_suffix(1);
  std::string_view ending = datagram.substr(command.size());
  if (command == "hostname") return self.name + std::string(ending);
  if (command == "clientip") return peer.client + std::string(ending);
  if (command.substr(0, 5) == "echo ") return std::string(command.substr(5)) + std::string(ending);
  return std::string(datagram);
}

}  // namespace podnet::testserver
