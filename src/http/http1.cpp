#include "http/http1.h"

#include <cctype>
#include <ctime>

namespace podnet::http {

namespace {

bool isTokenChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!isTokenChar(c)) return false;
  return true;
}

// A field value's bytes: visible characters, obs-text, space and tab.
bool isValueChar(unsigned char c) { return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f); }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Comma-separated list elements, trimmed; empty elements kept (the caller
// decides whether they are allowed).
std::vector<std::string_view> listElements(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = value.find(',');
    out.push_back(trimOws(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<uint64_t> parseLength(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  return v;
}

bool isHostValue(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (unsigned char c : host)
    if (!std::isalnum(c) && std::string_view("-._~:[]!$&'()*+,;=%").find(static_cast<char>(c)) ==
                                std::string_view::npos)
      return false;
  return true;
}

struct HeadLines {
  std::string_view firstLine;
  std::vector<Header> headers;
  size_t consumed = 0;
};

enum class LinesState { incomplete, done, error };

// The head's lines, strictly: CRLF endings only, no bare CR, no NUL, no
// obs-fold, field names that are tokens right before their colon.
LinesState readLines(std::string_view data, const Limits& limits, bool request, HeadLines& out,
                     ParseError& error) {
  size_t pos = 0;
  bool first = true;
  while (true) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (data.size() > limits.maxHeaderBytes) {
        error = {431, "request header fields too large"};
        return LinesState::error;
      }
      if (first && request && data.size() > limits.maxTarget + 32) {
        error = {414, "request target too long"};
        return LinesState::error;
      }
      // What is already there must be clean.
      for (size_t i = pos; i < data.size(); ++i)
        if (data[i] == '\0' || (data[i] == '\r' && i + 1 < data.size())) {
          error = {400, data[i] == '\0' ? "NUL in the head" : "bare CR"};
          return LinesState::error;
        }
      return LinesState::incomplete;
    }
    if (nl + 1 > limits.maxHeaderBytes) {
      error = {431, "request header fields too large"};
      return LinesState::error;
    }
    if (nl == pos || data[nl - 1] != '\r') {
      error = {400, "bare LF"};
      return LinesState::error;
    }
    std::string_view line = data.substr(pos, nl - 1 - pos);
    for (char c : line)
      if (c == '\r' || c == '\0') {
        error = {400, c == '\0' ? "NUL in the head" : "bare CR"};
        return LinesState::error;
      }
    pos = nl + 1;
    if (first) {
      out.firstLine = line;
      first = false;
      continue;
    }
    if (line.empty()) {
      out.consumed = pos;
      return LinesState::done;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      error = {400, "obs-fold (a folded header line)"};
      return LinesState::error;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
      error = {400, colon != std::string_view::npos && colon > 0 &&
                            (line[colon - 1] == ' ' || line[colon - 1] == '\t')
                        ? "whitespace before a colon"
                        : "a malformed header line"};
      return LinesState::error;
    }
    std::string_view value = trimOws(line.substr(colon + 1));
    for (unsigned char c : value)
      if (!isValueChar(c)) {
        error = {400, "a control character in a header value"};
        return LinesState::error;
      }
    if (out.headers.size() >= limits.maxHeaders) {
      error = {431, "too many header fields"};
      return LinesState::error;
    }
    out.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
}

// "HTTP/1.1" -> false (http10), "HTTP/1.0" -> true; anything else an error.
bool parseVersion(std::string_view v, bool& http10, ParseError& error) {
  if (v == "HTTP/1.1") {
    http10 = false;
    return true;
  }
  if (v == "HTTP/1.0") {
    http10 = true;
    return true;
  }
  if (v.size() == 8 && v.substr(0, 5) == "HTTP/" &&
      std::isdigit(static_cast<unsigned char>(v[5])) && v[6] == '.' &&
      std::isdigit(static_cast<unsigned char>(v[7])))
    error = {505, "HTTP version not supported"};
  else
    error = {400, "a malformed HTTP version"};
  return false;
}

// Content-Length and Transfer-Encoding, as RFC 9112 section 6 reads them
// for a message that may carry a body.
bool framingOf(const std::vector<Header>& headers, bool http10, int badStatus, Framing& framing,
               uint64_t& length, ParseError& error) {
  const Header* contentLength = nullptr;
  std::vector<std::string_view> codings;
  bool transferEncoding = false;
  for (const auto& h : headers) {
    if (equalsIgnoreCase(h.name, "content-length")) {
      if (contentLength) {
        error = {badStatus, "several Content-Length fields"};
        return false;
      }
      contentLength = &h;
    } else if (equalsIgnoreCase(h.name, "transfer-encoding")) {
      transferEncoding = true;
      for (auto c : listElements(h.value)) codings.push_back(c);
    }
  }
  if (transferEncoding) {
    if (contentLength) {
      error = {badStatus, "Transfer-Encoding and Content-Length together"};
      return false;
    }
    if (http10) {
      error = {badStatus, "Transfer-Encoding in HTTP/1.0"};
      return false;
    }
    for (size_t i = 0; i < codings.size(); ++i) {
      if (codings[i].empty()) {
        error = {badStatus, "an empty transfer coding"};
        return false;
      }
      bool chunked = equalsIgnoreCase(codings[i], "chunked");
      if (chunked && i + 1 != codings.size()) {
        error = {badStatus, "a transfer coding after chunked"};
        return false;
      }
      if (!chunked) {
        error = i + 1 == codings.size()
                    ? ParseError{badStatus, "chunked is not the final transfer coding"}
                    : ParseError{badStatus == 400 ? 501 : badStatus,
                                 "transfer codings other than chunked are not supported"};
        return false;
      }
    }
    framing = Framing::chunked;
    return true;
  }
  if (contentLength) {
    auto n = parseLength(contentLength->value);
    if (!n) {
      error = {badStatus, "a malformed Content-Length"};
      return false;
    }
    length = *n;
    framing = *n ? Framing::length : Framing::none;
  }
  return true;
}

void connectionOptions(const std::vector<Header>& headers, bool http10, bool& keepAlive,
                       bool* upgrade) {
  keepAlive = !http10;
  bool wantsUpgrade = false;
  for (const auto& h : headers) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    for (auto option : listElements(h.value)) {
      if (equalsIgnoreCase(option, "close")) keepAlive = false;
      if (equalsIgnoreCase(option, "keep-alive") && http10) keepAlive = true;
      if (equalsIgnoreCase(option, "upgrade")) wantsUpgrade = true;
    }
  }
  if (upgrade) *upgrade = wantsUpgrade && findHeader(headers, "upgrade") != nullptr;
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

const Header* findHeader(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (equalsIgnoreCase(h.name, name)) return &h;
  return nullptr;
}

Parsed<RequestHead> parseRequest(std::string_view data, const Limits& limits) {
  Parsed<RequestHead> p;
  HeadLines lines;
  LinesState state = readLines(data, limits, true, lines, p.error);
  if (state == LinesState::incomplete) return p;
  if (state == LinesState::error) {
    p.state = Parsed<RequestHead>::State::error;
    return p;
  }
  auto fail = [&](int status, std::string reason) {
    p.state = Parsed<RequestHead>::State::error;
    p.error = {status, std::move(reason)};
    return p;
  };
  RequestHead& r = p.head;
  // method SP request-target SP HTTP-version, single spaces.
  std::string_view line = lines.firstLine;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "a malformed request line");
  std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!isToken(method)) return fail(400, "a malformed method");
  if (target.empty()) return fail(400, "an empty request target");
  if (target.size() > limits.maxTarget) return fail(414, "request target too long");
  if (!parseVersion(line.substr(sp2 + 1), r.http10, p.error)) {
    p.state = Parsed<RequestHead>::State::error;
    return p;
  }
  r.method = std::string(method);
  r.target = std::string(target);
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f || c == '#') return fail(400, "a malformed request target");
  std::string_view pathAndQuery;
  std::string absoluteHost;
  if (target[0] == '/') {
    pathAndQuery = target;
  } else if (target == "*") {
    if (method != "OPTIONS") return fail(400, "* is a target for OPTIONS only");
    pathAndQuery = "*";
  } else if (equalsIgnoreCase(target.substr(0, std::min<size_t>(7, target.size())), "http://") ||
             equalsIgnoreCase(target.substr(0, std::min<size_t>(8, target.size())), "https://")) {
    std::string_view rest = target.substr(target.find("//") + 2);
    size_t slash = rest.find_first_of("/?");
    absoluteHost = std::string(rest.substr(0, slash));
    pathAndQuery = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (absoluteHost.empty() || !isHostValue(absoluteHost) ||
        absoluteHost.find('@') != std::string::npos)
      return fail(400, "a malformed absolute target");
  } else if (method == "CONNECT") {
    return fail(405, "CONNECT is not served");
  } else {
    return fail(400, "a malformed request target");
  }
  size_t question = pathAndQuery.find('?');
  r.path = std::string(pathAndQuery.substr(0, question));
  if (question != std::string_view::npos) r.query = std::string(pathAndQuery.substr(question + 1));
  if (r.path.empty()) r.path = "/";
  r.headers = std::move(lines.headers);
  // Exactly one Host, well formed (an absolute target's authority wins).
  const Header* host = nullptr;
  for (const auto& h : r.headers)
    if (equalsIgnoreCase(h.name, "host")) {
      if (host) return fail(400, "several Host fields");
      host = &h;
    }
  if (!host) return fail(400, "no Host field");
  if (!isHostValue(host->value)) return fail(400, "a malformed Host");
  r.host = absoluteHost.empty() ? host->value : absoluteHost;
  if (!framingOf(r.headers, r.http10, 400, r.framing, r.contentLength, p.error)) {
    p.state = Parsed<RequestHead>::State::error;
    return p;
  }
  connectionOptions(r.headers, r.http10, r.keepAlive, &r.upgrade);
  if (const Header* expect = findHeader(r.headers, "expect"))
    r.expectContinue = equalsIgnoreCase(expect->value, "100-continue");
  p.consumed = lines.consumed;
  p.state = Parsed<RequestHead>::State::done;
  return p;
}

Parsed<ResponseHead> parseResponse(std::string_view data, std::string_view method,
                                   const Limits& limits) {
  Parsed<ResponseHead> p;
  HeadLines lines;
  LinesState state = readLines(data, limits, false, lines, p.error);
  if (state == LinesState::incomplete) return p;
  if (state == LinesState::error) {
    p.state = Parsed<ResponseHead>::State::error;
    p.error.status = 502;
    return p;
  }
  auto fail = [&](std::string reason) {
    p.state = Parsed<ResponseHead>::State::error;
    p.error = {502, std::move(reason)};
    return p;
  };
  ResponseHead& r = p.head;
  std::string_view line = lines.firstLine;
  // HTTP-version SP 3DIGIT SP [reason]
  if (line.size() < 12 || line[8] != ' ' || line[12] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(line[9])) ||
      !std::isdigit(static_cast<unsigned char>(line[10])) ||
      !std::isdigit(static_cast<unsigned char>(line[11])))
    return fail("a malformed status line");
  ParseError versionError;
  if (!parseVersion(line.substr(0, 8), r.http10, versionError)) return fail(versionError.reason);
  r.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (r.status < 100) return fail("a malformed status code");
  r.reason = std::string(line.substr(13));
  r.headers = std::move(lines.headers);
  bool bodiless =
      method == "HEAD" || (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  r.framing = Framing::untilClose;
  if (!framingOf(r.headers, r.http10, 502, r.framing, r.contentLength, p.error)) {
    p.state = Parsed<ResponseHead>::State::error;
    return p;
  }
  if (r.framing == Framing::none && !findHeader(r.headers, "content-length"))
    r.framing = Framing::untilClose;
  if (bodiless) r.framing = Framing::none;
  connectionOptions(r.headers, r.http10, r.keepAlive, nullptr);
  if (r.framing == Framing::untilClose) r.keepAlive = false;
  p.consumed = lines.consumed;
  p.state = Parsed<ResponseHead>::State::done;
  return p;
}

ChunkedDecoder::Result ChunkedDecoder::feed(std::string_view& in, std::string& out) {
  auto fail = [&](const char* why) {
    error_ = why;
    return Result::error;
  };
  while (!in.empty()) {
    char c = in.front();
    switch (state_) {
      case State::size: {
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v >= 0) {
          if (++sizeDigits_ > 15) return fail("a chunk size too large");
          remaining_ = remaining_ * 16 + uint64_t(v);
          in.remove_prefix(1);
          continue;
        }
        if (sizeDigits_ == 0) return fail("a malformed chunk size");
        if (c == ';') {
          state_ = State::extension;
          trailerBytes_ = 0;
        } else if (c == '\r') {
          state_ = State::sizeLf;
        } else {
          return fail("a malformed chunk size");
        }
        in.remove_prefix(1);
        continue;
      }
      case State::extension:
        if (c == '\r') {
          state_ = State::sizeLf;
        } else if (c == '\n' || c == '\0' || ++trailerBytes_ > 4096) {
          return fail("a malformed chunk extension");
        }
        in.remove_prefix(1);
        continue;
      case State::sizeLf:
        if (c != '\n') return fail("a bare CR after a chunk size");
        in.remove_prefix(1);
        sizeDigits_ = 0;
        if (remaining_ == 0) {
          state_ = State::trailer;
          trailerLineEmpty_ = true;
          trailerBytes_ = 0;
        } else {
          state_ = State::data;
        }
        continue;
      case State::data: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
        out.append(in.data(), n);
        in.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::dataCr;
        continue;
      }
      case State::dataCr:
        if (c != '\r') return fail("chunk data longer than its size");
        in.remove_prefix(1);
        state_ = State::dataLf;
        continue;
      case State::dataLf:
        if (c != '\n') return fail("a bare CR after chunk data");
        in.remove_prefix(1);
        state_ = State::size;
        continue;
      case State::trailer:
        if (c == '\r') {
          state_ = State::trailerLf;
        } else if (c == '\n' || c == '\0' || ++trailerBytes_ > maxTrailer_) {
          return fail("a malformed trailer");
        } else {
          trailerLineEmpty_ = false;
        }
        in.remove_prefix(1);
        continue;
      case State::trailerLf:
        if (c != '\n') return fail("a bare CR in a trailer");
        in.remove_prefix(1);
        if (trailerLineEmpty_) {
          state_ = State::done;
          return Result::done;
        }
        trailerLineEmpty_ = true;
        state_ = State::trailer;
        continue;
      case State::done:
        return Result::done;
    }
  }
  return state_ == State::done ? Result::done : Result::more;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Request Entity Too Large";
    case 414:
      return "Request-URI Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Temporarily Unavailable";
    case 504:
      return "Gateway Time-out";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 200   ? "Informational"
             : status < 300 ? "OK"
             : status < 400 ? "Redirect"
             : status < 500 ? "Client Error"
                            : "Server Error";
  }
}

std::string_view dateHeader() {
  thread_local time_t cachedSecond = 0;
  thread_local char line[64];
  thread_local size_t length = 0;
  time_t now = ::time(nullptr);
  if (now != cachedSecond) {
    cachedSecond = now;
    tm utc{};
    ::gmtime_r(&now, &utc);
    length = ::strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
  }
  return {line, length};
}

}  // namespace podnet::http
