// The strict HTTP/1.1 parser: what a client may send, what smuggling and
// header abuse get (HAProxy's http_transfer_encoding.vtc and RFC 9112's
// section 6 cases), chunked bodies fed byte by byte, and upstream responses.
#include "http/http1.h"

#include <gtest/gtest.h>

namespace podnet::http {
namespace {

using State = Parsed<RequestHead>::State;

Parsed<RequestHead> request(const std::string& text) { return parseRequest(text); }

TEST(Http1Request, AnOrdinaryRequest) {
  auto p = request(
      "GET /api/users?id=7 HTTP/1.1\r\nHost: learn.nextgenplayground.org\r\n"
      "User-Agent: curl/7.88\r\nAccept: */*\r\n\r\nleftover");
  ASSERT_EQ(p.state, State::done) << p.error.reason;
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.path, "/api/users");
  EXPECT_EQ(p.head.query, "id=7");
  EXPECT_EQ(p.head.host, "learn.nextgenplayground.org");
  EXPECT_EQ(p.head.framing, Framing::none);
  EXPECT_TRUE(p.head.keepAlive);
  EXPECT_EQ(p.consumed,
            std::string_view("GET /api/users?id=7 HTTP/1.1\r\nHost: learn.nextgenplayground.org\r\n"
                             "User-Agent: curl/7.88\r\nAccept: */*\r\n\r\n")
                .size());
}

TEST(Http1Request, IncompleteUntilTheBlankLine) {
  std::string full = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  for (size_t n = 0; n < full.size(); ++n)
    EXPECT_EQ(request(full.substr(0, n)).state, State::incomplete) << n;
  auto p = request(full);
  ASSERT_EQ(p.state, State::done);
  EXPECT_EQ(p.consumed, full.size());
  EXPECT_EQ(p.head.framing, Framing::length);
  EXPECT_EQ(p.head.contentLength, 5U);
}

TEST(Http1Request, ConnectionOptionsAndVersions) {
  auto close = request("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(close.head.keepAlive);
  auto old = request("GET / HTTP/1.0\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(old.head.http10);
  EXPECT_FALSE(old.head.keepAlive);
  auto oldKeep = request("GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(oldKeep.head.keepAlive);
  auto ws = request(
      "GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: "
      "websocket\r\n\r\n");
  EXPECT_TRUE(ws.head.upgrade);
  auto absolute = request("GET http://Example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_EQ(absolute.state, State::done);
  EXPECT_EQ(absolute.head.host, "Example.com:8080");
  EXPECT_EQ(absolute.head.path, "/x");
  EXPECT_EQ(absolute.head.query, "y");
  auto chunked = request("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
  EXPECT_EQ(chunked.head.framing, Framing::chunked);
}

TEST(Http1Request, SmugglingAndHeaderAbuseAreRefused) {
  struct Case {
    std::string text;
    int status;
  };
  const std::string ok = "GET / HTTP/1.1\r\nHost: h\r\n";
  const std::vector<Case> cases = {
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 10\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n", 400},
      {"POST / HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400},  // obs-fold
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400},     // bare CR
      {"GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", 400},          // bare LF
      {"GET / HTTP/1.1\nHost: h\n\n", 400},
      {std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35), 400},
      {"GET / HTTP/1.1\r\nX: a\r\n\r\n", 400},                // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},  // two Hosts
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
      {"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400},
      {"G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 405},
      {"GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nX\x01Y: z\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: \x7f\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    auto p = request(c.text);
    EXPECT_EQ(p.state, State::error) << c.text;
    EXPECT_EQ(p.error.status, c.status) << c.text << " (" << p.error.reason << ")";
  }
  EXPECT_EQ(request(ok + "\r\n").state, State::done);
}

TEST(Http1Request, SizeLimits) {
  Limits limits;
  limits.maxTarget = 100;
  limits.maxHeaderBytes = 1000;
  limits.maxHeaders = 10;
  auto longTarget =
      parseRequest("GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits);
  EXPECT_EQ(longTarget.error.status, 414);
  auto longTargetIncomplete = parseRequest("GET /" + std::string(200, 'a'), limits);
  EXPECT_EQ(longTargetIncomplete.error.status, 414) << "refused before the line ends";
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 11; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(parseRequest(many + "\r\n", limits).error.status, 431);
  auto big = parseRequest("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(2000, 'v'), limits);
  EXPECT_EQ(big.error.status, 431) << "refused before the head ends";
}

TEST(Http1Chunked, DecodesPieceByPiece) {
  const std::string body =
      "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: "
      "x\r\n\r\nNEXT";
  for (size_t piece : {1U, 2U, 7U, 1000U}) {
    ChunkedDecoder decoder;
    std::string out;
    ChunkedDecoder::Result r = ChunkedDecoder::Result::more;
    std::string_view rest;
    for (size_t i = 0; i < body.size() && r == ChunkedDecoder::Result::more; i += piece) {
      std::string_view in(body.data() + i, std::min(piece, body.size() - i));
      r = decoder.feed(in, out);
      rest = in;
      if (r == ChunkedDecoder::Result::done)
        rest = std::string_view(in.data(), body.data() + body.size() - in.data());
    }
    EXPECT_EQ(r, ChunkedDecoder::Result::done) << piece << ": " << decoder.error();
    EXPECT_EQ(out, "Wikipedia in\r\n\r\nchunks.") << piece;
    EXPECT_EQ(rest, "NEXT") << piece;
  }
  for (const std::string bad : {"x\r\n", "4 \r\nWiki\r\n", "4\nWiki\r\n", "4\r\nWikiX\r\n",
                                "-1\r\n", "10000000000000000\r\n", "0\r\nT: x\n\r\n"}) {
    ChunkedDecoder decoder;
    std::string out;
    std::string_view in(bad);
    EXPECT_EQ(decoder.feed(in, out), ChunkedDecoder::Result::error) << bad;
  }
}

TEST(Http1Response, FramingOfUpstreamAnswers) {
  auto length = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", "GET");
  ASSERT_EQ(length.state, Parsed<ResponseHead>::State::done);
  EXPECT_EQ(length.head.status, 200);
  EXPECT_EQ(length.head.framing, Framing::length);
  auto head = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", "HEAD");
  EXPECT_EQ(head.head.framing, Framing::none);
  auto close = parseResponse("HTTP/1.1 200 OK\r\n\r\n", "GET");
  EXPECT_EQ(close.head.framing, Framing::untilClose);
  EXPECT_FALSE(close.head.keepAlive);
  auto noContent = parseResponse("HTTP/1.1 204 No Content\r\n\r\n", "GET");
  EXPECT_EQ(noContent.head.framing, Framing::none);
  auto empty = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET");
  EXPECT_EQ(empty.head.framing, Framing::none);
  EXPECT_TRUE(empty.head.keepAlive);
  auto noReason = parseResponse("HTTP/1.1 404 \r\n\r\n", "GET");
  EXPECT_EQ(noReason.head.status, 404);
  for (const std::string bad :
       {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "ICY 200 OK\r\n\r\n"}) {
    auto p = parseResponse(bad, "GET");
    EXPECT_EQ(p.state, Parsed<ResponseHead>::State::error) << bad;
    EXPECT_EQ(p.error.status, 502) << bad;
  }
}

}  // namespace
}  // namespace podnet::http
