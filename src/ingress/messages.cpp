#include "ingress/messages.h"

#include <time.h>

#include <array>
#include <cctype>
#include <charconv>

namespace podnet::ingress {

namespace {

constexpr std::array<std::string_view, 8> kHopByHop = {
    "connection", "keep-alive",        "proxy-connection", "te",
    "trailer",    "transfer-encoding", "upgrade",          "http2-settings"};

// Set by the proxy itself; whatever the client sent under these names is
// dropped (a client must not choose its own X-Forwarded-For).
constexpr std::array<std::string_view, 10> kProxySet = {"x-forwarded-for",    "x-forwarded-host",
                                                        "x-forwarded-port",   "x-forwarded-proto",
                                                        "x-forwarded-scheme", "x-real-ip",
                                                        "x-scheme",           "x-request-id",
                                                        "content-length",     "expect"};

bool inList(std::string_view name, const auto& list) {
  for (std::string_view n : list)
    if (http::equalsIgnoreCase(name, n)) return true;
  return false;
}

void appendNumber(Buffer& out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;
  out.append(std::string_view(digits, size_t(end - digits)));
}

void appendHeader(Buffer& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

std::string_view defaultText(int status) {
  switch (status) {
    case 400:
      return "400 Bad Request";
    case 403:
      return "403 Forbidden";
    case 404:
      return "404 Not Found";
    case 408:
      return "408 Request Timeout";
    case 413:
      return "413 Request Entity Too Large";
    case 414:
      return "414 Request-URI Too Large";
    case 431:
      return "431 Request Header Fields Too Large";
    case 500:
      return "500 Internal Server Error";
    case 501:
      return "501 Not Implemented";
    case 502:
      return "502 Bad Gateway";
    case 503:
      return "503 Service Temporarily Unavailable";
    case 504:
      return "504 Gateway Time-out";
    case 505:
      return "505 HTTP Version Not Supported";
    default:
      return {};
  }
}

}  // namespace

bool isHopByHop(std::string_view name, const std::vector<http::Header>& headers) {
  if (inList(name, kHopByHop)) return true;
  for (const auto& h : headers) {
    if (!http::equalsIgnoreCase(h.name, "connection")) continue;
    std::string_view value = h.value;
    while (!value.empty()) {
      size_t comma = value.find(',');
      std::string_view option = value.substr(0, comma);
      while (!option.empty() && (option.front() == ' ' || option.front() == '\t'))
        option.remove_prefix(1);
      while (!option.empty() && (option.back() == ' ' || option.back() == '\t'))
        option.remove_suffix(1);
      if (http::equalsIgnoreCase(option, name)) return true;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string_view acceptedRequestId(const std::vector<http::Header>& headers) {
  const http::Header* id = http::findHeader(headers, "x-request-id");
  if (!id || id->value.empty() || id->value.size() > 128) return {};
  for (unsigned char c : id->value)
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':')) return {};
  return id->value;
}

void writeUpstreamRequest(Buffer& out, const ProxyRequest& request, std::string_view path,
                          std::string_view requestId, BodyFraming framing, uint64_t contentLength) {
  out.append(request.method);
  out.append(" ");
  out.append(path);
  if (!request.query.empty()) {
    out.append("?");
    out.append(request.query);
  }
  out.append(" HTTP/1.1\r\n");
  bool hostSeen = false;
  for (const auto& h : request.headers) {
    if (isHopByHop(h.name, request.headers) || inList(h.name, kProxySet)) continue;
    if (http::equalsIgnoreCase(h.name, "host")) {
      hostSeen = true;
      appendHeader(out, "Host", request.host);
      continue;
    }
    appendHeader(out, h.name, h.value);
  }
  if (!hostSeen && !request.host.empty()) appendHeader(out, "Host", request.host);
  if (request.upgrade) {
    if (const http::Header* up = http::findHeader(request.headers, "upgrade"))
      appendHeader(out, "Upgrade", up->value);
    out.append("Connection: upgrade\r\n");
  }
  appendHeader(out, "X-Request-ID", requestId);
  appendHeader(out, "X-Real-IP", request.clientIp);
  // The client's own X-Forwarded-For is not trusted (ingress-nginx's
  // default, use-forwarded-headers off): the proxy's peer is the client.
  appendHeader(out, "X-Forwarded-For", request.clientIp);
  if (!request.host.empty()) appendHeader(out, "X-Forwarded-Host", request.host);
  out.append("X-Forwarded-Port: ");
  appendNumber(out, request.serverPort);
  out.append("\r\n");
  std::string_view scheme = request.secure ? "https" : "http";
  appendHeader(out, "X-Forwarded-Proto", scheme);
  appendHeader(out, "X-Forwarded-Scheme", scheme);
  appendHeader(out, "X-Scheme", scheme);
  if (framing == BodyFraming::length) {
    out.append("Content-Length: ");
    appendNumber(out, contentLength);
    out.append("\r\n");
  } else if (framing == BodyFraming::chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
}

std::vector<http::Header> upstreamHttp2Headers(const ProxyRequest& request, std::string_view path,
                                               std::string_view requestId, bool tlsUpstream) {
  std::string target(path);
  if (!request.query.empty()) target += "?" + request.query;
  std::vector<http::Header> out = {{":method", request.method},
                                   {":scheme", tlsUpstream ? "https" : "http"},
                                   {":authority", request.host},
                                   {":path", std::move(target)}};
  for (const auto& h : request.headers) {
    if (http::equalsIgnoreCase(h.name, "te")) {
      if (h.value.find("trailers") != std::string::npos) out.push_back({"te", "trailers"});
      continue;
    }
    if (isHopByHop(h.name, request.headers) || inList(h.name, kProxySet) ||
        http::equalsIgnoreCase(h.name, "host"))
      continue;
    std::string name = h.name;
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    out.push_back({std::move(name), h.value});
  }
  std::string_view scheme = request.secure ? "https" : "http";
  out.push_back({"x-request-id", std::string(requestId)});
  out.push_back({"x-real-ip", request.clientIp});
  out.push_back({"x-forwarded-for", request.clientIp});
  if (!request.host.empty()) out.push_back({"x-forwarded-host", request.host});
  out.push_back({"x-forwarded-port", std::to_string(request.serverPort)});
  out.push_back({"x-forwarded-proto", std::string(scheme)});
  out.push_back({"x-forwarded-scheme", std::string(scheme)});
  out.push_back({"x-scheme", std::string(scheme)});
  return out;
}

void writeResponseHead(Buffer& out, const http::ResponseHead& upstream,
                       const ClientResponse& response, std::string_view extraHeaders) {
  out.append("HTTP/1.1 ");
  appendNumber(out, uint64_t(upstream.status));
  out.append(" ");
  out.append(upstream.reason.empty() ? http::reasonPhrase(upstream.status) : upstream.reason);
  out.append("\r\n");
  for (const auto& h : upstream.headers) {
    if (isHopByHop(h.name, upstream.headers) || http::equalsIgnoreCase(h.name, "content-length"))
      continue;
    appendHeader(out, h.name, h.value);
  }
  out.append(extraHeaders);
  if (response.upgrade) {
    if (const http::Header* up = http::findHeader(upstream.headers, "upgrade"))
      appendHeader(out, "Upgrade", up->value);
    out.append("Connection: upgrade\r\n\r\n");
    return;
  }
  if (response.framing == BodyFraming::length) {
    out.append("Content-Length: ");
    appendNumber(out, response.contentLength);
    out.append("\r\n");
  } else if (response.framing == BodyFraming::chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (!response.keepAlive)
    out.append("Connection: close\r\n");
  else if (response.http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

LocalContent localContent(const LocalResponse& response) {
  LocalContent content{response.body, response.contentType};
  if (response.status == 204 || response.status == 304) return {};
  if (content.body.empty() && response.status >= 300) {
    std::string_view text = defaultText(response.status);
    std::string title = text.empty() ? std::to_string(response.status) + " " +
                                           std::string(http::reasonPhrase(response.status))
                                     : std::string(text);
    content.body = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" +
                   title +
                   "</h1></center>\r\n<hr><center>podnet</center>\r\n</body>\r\n</html>\r\n";
    content.contentType = "text/html";
  }
  if (content.contentType.empty()) content.contentType = "text/plain";
  return content;
}

std::vector<http::Header> splitHeaderLines(std::string_view lines) {
  std::vector<http::Header> headers;
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return headers;
}

void writeLocalResponse(Buffer& out, const LocalResponse& response, bool http10, bool keepAlive,
                        bool head) {
  LocalContent content = localContent(response);
  const std::string& body = content.body;
  const std::string& contentType = content.contentType;
  out.append("HTTP/1.1 ");
  appendNumber(out, uint64_t(response.status));
  out.append(" ");
  out.append(http::reasonPhrase(response.status));
  out.append("\r\n");
  out.append(http::dateHeader());
  out.append("Server: podnet\r\n");
  if (response.status != 204 && response.status != 304) {
    appendHeader(out, "Content-Type", contentType);
    out.append("Content-Length: ");
    appendNumber(out, body.size());
    out.append("\r\n");
  }
  if (!response.location.empty()) appendHeader(out, "Location", response.location);
  out.append(response.extraHeaders);
  if (!keepAlive)
    out.append("Connection: close\r\n");
  else if (http10)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  if (!head && response.status != 204 && response.status != 304) out.append(body);
}

std::string_view corsHeaders() {
  return "Access-Control-Allow-Origin: *\r\n"
         "Access-Control-Allow-Credentials: true\r\n"
         "Access-Control-Allow-Methods: GET, PUT, POST, DELETE, PATCH, OPTIONS\r\n"
         "Access-Control-Allow-Headers: DNT,Keep-Alive,User-Agent,X-Requested-With,"
         "If-Modified-Since,Cache-Control,Content-Type,Range,Authorization\r\n"
         "Access-Control-Max-Age: 1728000\r\n";
}

}  // namespace podnet::ingress
