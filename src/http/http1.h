// HTTP/1.1 message heads and chunked bodies, parsed strictly (RFC 9112),
// for the ingress proxy: anything that two parsers might read differently
// (request smuggling) or that abuses headers is refused with the status the
// client gets, and the connection is closed:
//   Transfer-Encoding with Content-Length, several or malformed
//   Content-Length values, a coding after chunked or a coding other than
//   chunked, whitespace before a colon, bare CR or LF, NUL, obs-fold, a
//   missing or duplicate Host -> 400; a too long request target -> 414; too
//   many or too long header lines -> 431; an HTTP version other than 1.0
//   and 1.1 -> 505; Transfer-Encoding in HTTP/1.0 -> 400.
// Pure functions over bytes; the proxy feeds them what it read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podnet::http {

struct Header {
  std::string name;   // as received
  std::string value;  // without surrounding whitespace
};

enum class Framing { none, length, chunked, untilClose };

struct Limits {
  size_t maxTarget = 8192;        // request-target bytes (414)
  size_t maxHeaderBytes = 65536;  // the whole head (431)
  size_t maxHeaders = 128;        // header lines (431)
};

struct RequestHead {
  std::string method;
  std::string target;  // as received
  std::string path;    // target's path (origin-form, or from absolute-form)
  std::string query;   // after '?', without it ("" when none)
  bool http10 = false;
  std::vector<Header> headers;
  std::string host;  // the Host header's value
  Framing framing = Framing::none;
  uint64_t contentLength = 0;
  bool keepAlive = true;
  bool upgrade = false;         // Connection: upgrade with an Upgrade header
  bool expectContinue = false;  // Expect: 100-continue
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  bool http10 = false;
  std::vector<Header> headers;
  Framing framing = Framing::untilClose;
  uint64_t contentLength = 0;
  bool keepAlive = true;
};

struct ParseError {
  int status = 400;    // what the client gets (the proxy answers 502 for a response)
  std::string reason;  // for logs and tests
};

template <typename Head>
struct Parsed {
  enum class State { incomplete, done, error } state = State::incomplete;
  Head head;
  size_t consumed = 0;  // bytes of the head, once done
  ParseError error;
};

// The request head at the start of `data` (which may hold more).
Parsed<RequestHead> parseRequest(std::string_view data, const Limits& limits = {});
// The response head to a request (`method` HEAD, or status 1xx/204/304,
// means no body).
Parsed<ResponseHead> parseResponse(std::string_view data, std::string_view method,
                                   const Limits& limits = {});

// Case-insensitive header lookup; the first match (nullptr if none).
const Header* findHeader(const std::vector<Header>& headers, std::string_view name);
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// A chunked body, fed in pieces: data() gets the payload bytes, in order.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(size_t maxTrailerBytes = 8192) : maxTrailer_(maxTrailerBytes) {}
  enum class Result { more, done, error };
  // Consumes from `in` (advancing it past what it used) and appends the
  // payload to `out`. done: the last chunk and trailers are read; what is
  // left in `in` belongs to the next message.
  Result feed(std::string_view& in, std::string& out);
  const std::string& error() const { return error_; }

 private:
  enum class State { size, extension, sizeLf, data, dataCr, dataLf, trailer, trailerLf, done };
  State state_ = State::size;
  uint64_t remaining_ = 0;
  int sizeDigits_ = 0;
  size_t trailerBytes_ = 0, maxTrailer_;
  bool trailerLineEmpty_ = true;
  std::string error_;
};

// The standard reason phrase of a status code ("Unknown" for others).
std::string_view reasonPhrase(int status);

// "Date: <now as an HTTP-date>\r\n" (cached per second, per thread).
std::string_view dateHeader();

}  // namespace podnet::http
