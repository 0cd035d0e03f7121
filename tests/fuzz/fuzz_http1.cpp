// Fuzzes the ingress proxy's HTTP/1.1 parsers with what a client or an
// upstream may send: request and response heads, and chunked bodies fed
// whole and byte by byte, which must decode to the same payload.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/http1.h"

namespace http1 = podnet::http;

namespace {

// Feeds `body` in pieces of `step` bytes; returns the payload and result.
std::pair<http1::ChunkedDecoder::Result, std::string> decode(std::string_view body, size_t step) {
  http1::ChunkedDecoder decoder;
  std::string out;
  auto result = http1::ChunkedDecoder::Result::more;
  for (size_t at = 0; at < body.size() && result == http1::ChunkedDecoder::Result::more;) {
    std::string_view piece = body.substr(at, step);
    size_t before = piece.size();
    result = decoder.feed(piece, out);
    at += before - piece.size();
    if (piece.size() == before && result == http1::ChunkedDecoder::Result::more) break;
  }
  return {result, out};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto request = http1::parseRequest(input);
  if (request.state == http1::Parsed<http1::RequestHead>::State::done) {
    if (request.consumed > size) std::abort();
    (void)http1::findHeader(request.head.headers, "host");
  }
  (void)http1::parseResponse(input, "GET");
  (void)http1::parseResponse(input, "HEAD");
  auto whole = decode(input, input.size() + 1);
  auto bytes = decode(input, 1);
  if (whole.first == http1::ChunkedDecoder::Result::done &&
      (bytes.first != whole.first || bytes.second != whole.second))
    std::abort();
  return 0;
}
