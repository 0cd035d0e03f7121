// Fuzzes the test server's request handling as a TCP connection drives it:
// sniffing, then parsing pipelined requests off the buffer and answering each.
// Parsing must never crash, consume more than it was given or make no
// progress; every reply must frame its body exactly. The input is also a UDP
// datagram and a query string.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "testserver/http.h"

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace podnet::testserver;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const Identity self{"pod", "10.244.0.2"};
  const PeerInfo peer{"10.244.0.3:1234", 8080};

  (void)sniffHttp(input);
  std::string_view rest = input;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    ParseResult r = parseHttpRequest(rest);
    if (r.state == ParseState::incomplete) break;
    HttpReply reply =
        r.state == ParseState::malformed ? malformedReply(r) : answerHttp(r.request, self, peer);
    std::string wire = serializeReply(reply);
    std::string length = "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    if (reply.status == 204 || reply.status == 304)
      check(wire.find("Content-Length") == std::string::npos, "no length on a bodiless status");
    else
      check(wire.find(length) != std::string::npos, "Content-Length matches the body");
    check(reply.headOnly || wire.size() >= reply.body.size(), "body is sent");
    if (r.state == ParseState::malformed) {
      check(reply.close && reply.status >= 400, "malformed closes with an error");
      break;
    }
    check(r.consumed > 0 && r.consumed <= rest.size(), "consumed within the buffer");
    rest.remove_prefix(r.consumed);
  }
  (void)answerUdp(input, self, peer);
  QueryValue q = queryParam(input, "msg");
  check(!(q.malformed && !q.found), "malformed implies found");
  return 0;
}
