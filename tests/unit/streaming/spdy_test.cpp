// The SPDY/3 codec: the dictionary against the checksums the spec implies,
// round trips of every frame type between a client and a server codec, frames
// that arrive in pieces, the header compression state across blocks, frames
// built by another zlib user (Python's), and malformed input.
#include "streaming/spdy.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace podnet::streaming::spdy {
namespace {

using Outcome = Codec::Outcome;

// SHA-256 (FIPS 180-4), so the dictionary check needs no crypto library here.
std::string sha256Hex(std::string_view message) {
  static constexpr uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::string padded(message);
  padded.push_back(static_cast<char>(0x80));
  while (padded.size() % 64 != 56) padded.push_back('\0');
  uint64_t bits = uint64_t{message.size()} * 8;
  for (int i = 7; i >= 0; --i) padded.push_back(static_cast<char>(bits >> (i * 8)));
  auto rotr = [](uint32_t x, int n) { return x >> n | x << (32 - n); };
  for (size_t block = 0; block < padded.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const uint8_t*>(padded.data() + block + i * 4);
      w[i] = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, hh] = h;
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 =
          hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    std::array<uint32_t, 8> add = {a, b, c, d, e, f, g, hh};
    for (int i = 0; i < 8; ++i) h[i] += add[i];
  }
  std::string hex;
  for (uint32_t word : h) {
    char part[9];
    std::snprintf(part, sizeof part, "%08x", word);
    hex += part;
  }
  return hex;
}

// Parses exactly one frame that must be there.
Frame parseOne(Codec& codec, std::string_view bytes) {
  Frame frame;
  auto parsed = codec.parse(bytes, frame);
  EXPECT_EQ(parsed.outcome, Outcome::frame) << parsed.error;
  EXPECT_EQ(parsed.consumed, bytes.size());
  return frame;
}

// Parses every frame in `bytes`; fails the test on anything but whole frames.
std::vector<Frame> parseAll(Codec& codec, std::string_view bytes) {
  std::vector<Frame> frames;
  while (!bytes.empty()) {
    Frame frame;
    auto parsed = codec.parse(bytes, frame);
    EXPECT_EQ(parsed.outcome, Outcome::frame) << parsed.error;
    if (parsed.outcome != Outcome::frame) break;
    bytes.remove_prefix(parsed.consumed);
    frames.push_back(std::move(frame));
  }
  return frames;
}

// A control frame with the given raw payload (no compression).
std::string control(uint16_t type, uint8_t flags, std::string_view payload, uint16_t version = 3) {
  std::string out = {static_cast<char>(0x80 | version >> 8),
                     static_cast<char>(version),
                     static_cast<char>(type >> 8),
                     static_cast<char>(type),
                     static_cast<char>(flags),
                     static_cast<char>(payload.size() >> 16),
                     static_cast<char>(payload.size() >> 8),
                     static_cast<char>(payload.size())};
  return out + std::string(payload);
}

std::string be32(uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

// Compresses a raw name/value block as a peer would (fresh zlib stream,
// `dictionary` set), so malformed blocks can be sent.
std::string compressed(std::string_view block, const std::string& dictionary) {
  z_stream z{};
  deflateInit(&z, Z_DEFAULT_COMPRESSION);
  deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary.data()),
                       static_cast<uInt>(dictionary.size()));
  std::string out(block.size() + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string synStreamWithBlock(uint32_t streamId, std::string_view compressedBlock) {
  return control(1, 0,
                 be32(streamId) + be32(0) + std::string(2, '\0') + std::string(compressedBlock));
}

// The errors a receiving codec reports for `bytes` (one frame expected).
std::string errorFor(std::string_view bytes) {
  Codec codec;
  Frame frame;
  auto parsed = codec.parse(bytes, frame);
  EXPECT_EQ(parsed.outcome, Outcome::error);
  EXPECT_EQ(parsed.consumed, 0U);
  return parsed.error;
}

const Headers kErrorStream = {{"streamtype", "error"}, {"port", "8080"}, {"requestid", "0"}};
const Headers kDataStream = {{"streamtype", "data"}, {"port", "8080"}, {"requestid", "0"}};

TEST(SpdyDictionary, MatchesTheSpecsChecksums) {
  const std::string& dictionary = compressionDictionary();
  EXPECT_EQ(dictionary.size(), 1423U);
  EXPECT_EQ(adler32(adler32(0, nullptr, 0), reinterpret_cast<const Bytef*>(dictionary.data()),
                    static_cast<uInt>(dictionary.size())),
            0xe3c6a7c2U);
  std::string sha = sha256Hex(dictionary);
  EXPECT_EQ(sha.substr(0, 8), "51d27341") << sha;
  EXPECT_EQ(sha.substr(sha.size() - 8), "98407f02") << sha;
  EXPECT_EQ(dictionary.substr(0, 11), std::string("\0\0\0\7options", 11));
  EXPECT_EQ(dictionary.back(), '.');
}

TEST(SpdySha256, KnownAnswers) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SpdyCodec, PortForwardExchange) {
  Codec client, server;
  std::string wire;
  client.synStream(wire, 1, kErrorStream, /*fin=*/true);
  Frame syn = parseOne(server, wire);
  EXPECT_EQ(syn.type, FrameType::synStream);
  EXPECT_EQ(syn.streamId, 1U);
  EXPECT_EQ(syn.associatedId, 0U);
  EXPECT_EQ(syn.priority, 0);
  EXPECT_TRUE(syn.fin());
  EXPECT_EQ(syn.headers, kErrorStream);
  EXPECT_EQ(headerValue(syn.headers, "streamtype"), "error");
  EXPECT_EQ(headerValue(syn.headers, "port"), "8080");
  EXPECT_EQ(headerValue(syn.headers, "requestid"), "0");
  EXPECT_EQ(headerValue(syn.headers, "absent"), "");

  wire.clear();
  server.synReply(wire, 1, {});
  Frame reply = parseOne(client, wire);
  EXPECT_EQ(reply.type, FrameType::synReply);
  EXPECT_EQ(reply.streamId, 1U);
  EXPECT_FALSE(reply.fin());
  EXPECT_TRUE(reply.headers.empty());

  wire.clear();
  server.data(wire, 3, "GET / HTTP/1.1\r\n\r\n", /*fin=*/true);
  Frame data = parseOne(client, wire);
  EXPECT_EQ(data.type, FrameType::data);
  EXPECT_EQ(data.streamId, 3U);
  EXPECT_TRUE(data.fin());
  EXPECT_EQ(data.data, "GET / HTTP/1.1\r\n\r\n");

  wire.clear();
  client.data(wire, 5, "", /*fin=*/true);  // how spdystream closes a stream
  EXPECT_EQ(wire.size(), 8U);
  Frame close = parseOne(server, wire);
  EXPECT_TRUE(close.fin());
  EXPECT_TRUE(close.data.empty());

  wire.clear();
  server.rstStream(wire, 3, kCancel);
  Frame rst = parseOne(client, wire);
  EXPECT_EQ(rst.type, FrameType::rstStream);
  EXPECT_EQ(rst.streamId, 3U);
  EXPECT_EQ(rst.status, kCancel);

  wire.clear();
  client.ping(wire, 0xfffffffe);
  Frame ping = parseOne(server, wire);
  EXPECT_EQ(ping.type, FrameType::ping);
  EXPECT_EQ(ping.pingId, 0xfffffffeU);

  wire.clear();
  server.goAway(wire, 7);
  Frame goAway = parseOne(client, wire);
  EXPECT_EQ(goAway.type, FrameType::goAway);
  EXPECT_EQ(goAway.lastGoodStreamId, 7U);
  EXPECT_EQ(goAway.status, 0U);

  wire.clear();
  client.windowUpdate(wire, 1, 65536);
  Frame window = parseOne(server, wire);
  EXPECT_EQ(window.type, FrameType::windowUpdate);
  EXPECT_EQ(window.streamId, 1U);
  EXPECT_EQ(window.deltaWindow, 65536U);

  wire.clear();
  client.settings(wire, {{0, 4, 100}, {1, 7, 65536}});
  Frame settings = parseOne(server, wire);
  EXPECT_EQ(settings.type, FrameType::settings);
  ASSERT_EQ(settings.settings.size(), 2U);
  EXPECT_EQ(settings.settings[1].flags, 1);
  EXPECT_EQ(settings.settings[1].id, 7U);
  EXPECT_EQ(settings.settings[1].value, 65536U);

  wire.clear();
  server.headers(wire, 1, {{"x-trailer", std::string("a\0b", 3)}}, /*fin=*/true);
  Frame headers = parseOne(client, wire);
  EXPECT_EQ(headers.type, FrameType::headers);
  EXPECT_TRUE(headers.fin());
  EXPECT_EQ(headerValue(headers.headers, "x-trailer"), std::string_view("a\0b", 3));
}

TEST(SpdyCodec, ExactBytesOfFixedFrames) {
  Codec codec;
  std::string wire;
  codec.ping(wire, 1);
  EXPECT_EQ(wire, std::string("\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01", 12));
  wire.clear();
  codec.rstStream(wire, 3, kRefusedStream);
  EXPECT_EQ(wire,
            std::string("\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x03", 16));
  wire.clear();
  codec.data(wire, 1, "hi", true);
  EXPECT_EQ(wire, std::string("\x00\x00\x00\x01\x01\x00\x00\x02hi", 10));
}

TEST(SpdyCodec, ManyFramesInOneBuffer) {
  Codec client, server;
  std::string wire;
  client.synStream(wire, 1, kErrorStream, true);
  client.synStream(wire, 3, kDataStream);
  client.data(wire, 3, "hello");
  client.ping(wire, 1);
  client.data(wire, 3, "", true);
  auto frames = parseAll(server, wire);
  ASSERT_EQ(frames.size(), 5U);
  EXPECT_EQ(frames[0].headers, kErrorStream);
  EXPECT_EQ(frames[1].headers, kDataStream);
  EXPECT_EQ(frames[2].data, "hello");
  EXPECT_EQ(frames[3].type, FrameType::ping);
  EXPECT_TRUE(frames[4].fin());
}

TEST(SpdyCodec, SplitAtEveryBytePosition) {
  Codec client;
  std::string wire;
  client.synStream(wire, 1, kErrorStream, true);
  client.synStream(wire, 3, kDataStream);
  client.data(wire, 3, "payload");
  client.headers(wire, 3, {{"a", "b"}});
  client.goAway(wire, 0);
  for (size_t split = 0; split <= wire.size(); ++split) {
    // As WebSocket messages arrive: the receiver appends each piece to its
    // buffer and takes whole frames off the front.
    Codec server;
    std::string buffer;
    std::vector<Frame> frames;
    for (std::string_view piece :
         {std::string_view(wire).substr(0, split), std::string_view(wire).substr(split)}) {
      buffer.append(piece);
      for (;;) {
        Frame frame;
        auto parsed = server.parse(buffer, frame);
        ASSERT_NE(parsed.outcome, Outcome::error) << split << ": " << parsed.error;
        if (parsed.outcome == Outcome::needMore) {
          EXPECT_EQ(parsed.consumed, 0U);
          break;
        }
        buffer.erase(0, parsed.consumed);
        frames.push_back(std::move(frame));
      }
    }
    ASSERT_EQ(frames.size(), 5U) << split;
    EXPECT_EQ(frames[1].headers, kDataStream) << split;
    EXPECT_EQ(frames[3].headers, (Headers{{"a", "b"}})) << split;
    EXPECT_TRUE(buffer.empty());
  }
}

TEST(SpdyCodec, ByteByByteIsNeedMoreUntilTheLastByte) {
  Codec client, server;
  std::string wire;
  client.synStream(wire, 1, kErrorStream);
  Frame frame;
  for (size_t n = 0; n < wire.size(); ++n) {
    auto parsed = server.parse(std::string_view(wire).substr(0, n), frame);
    ASSERT_EQ(parsed.outcome, Outcome::needMore) << n;
    EXPECT_EQ(parsed.consumed, 0U);
  }
  EXPECT_EQ(parseOne(server, wire).headers, kErrorStream);
}

TEST(SpdyCodec, CompressionStateCarriesAcrossBlocksBothWays) {
  Codec client, server;
  std::string up, down;
  size_t firstSize = 0;
  for (uint32_t n = 0; n < 20; ++n) {
    Headers error = {{"streamtype", "error"}, {"port", "8080"}, {"requestid", std::to_string(n)}};
    Headers data = {{"streamtype", "data"}, {"port", "8080"}, {"requestid", std::to_string(n)}};
    up.clear();
    client.synStream(up, 4 * n + 1, error, true);
    if (n == 0) firstSize = up.size();
    client.synStream(up, 4 * n + 3, data);
    auto frames = parseAll(server, up);
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].headers, error);
    EXPECT_EQ(frames[1].headers, data);
    down.clear();
    server.synReply(down, 4 * n + 1, {});
    server.synReply(down, 4 * n + 3, {{"n", std::to_string(n)}});
    server.headers(down, 4 * n + 3, {{"n", std::to_string(n)}});
    auto replies = parseAll(client, down);
    ASSERT_EQ(replies.size(), 3U);
    EXPECT_EQ(headerValue(replies[2].headers, "n"), std::to_string(n));
  }
  // Later blocks refer back to earlier ones: a fresh receiver cannot read the
  // last frame alone, and the same headers cost far fewer bytes.
  std::string last;
  client.synStream(last, 1001, kErrorStream);
  EXPECT_LT(last.size(), firstSize);
  Codec fresh;
  Frame frame;
  EXPECT_EQ(fresh.parse(last, frame).outcome, Outcome::error);
}

TEST(SpdyCodec, ReadsFramesFromAnotherZlibUser) {
  // Built by a Python script from the spec with zlib.compressobj(zdict=the
  // dictionary): SYN_STREAM 1 {streamtype: error, port: 8080, requestid: 0},
  // then SYN_STREAM 3 {streamtype: data, ...}, whose block refers to the first.
  const std::string first(
      "\x80\x03\x00\x01\x00\x00\x00\x3d\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x78\xf9\xe3\xc6"
      "\xa7\xc2\x02\x25\x3a\x70\x3a\x2b\x29\x4a\x4d\xcc\x85\x16\x25\xac\xa9\xa0\x80\x86\x14\xcb"
      "\x45\xe0\x1c\x60\x61\x60\x61\x00\xa4\x39\x8b\x20\xd1\x98\x09\x4a\xde\x8c\x06\x00\x00\x00"
      "\x00\xff\xff",
      69);
  const std::string second(
      "\x80\x03\x00\x01\x00\x00\x00\x18\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\xc2\xaa\x19\x54"
      "\x0e\x25\x12\xd6\x0b\x00\x00\x00\xff\xff",
      32);
  Codec server;
  auto frames = parseAll(server, first + second);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].streamId, 1U);
  EXPECT_EQ(frames[0].headers, kErrorStream);
  EXPECT_EQ(frames[1].streamId, 3U);
  EXPECT_EQ(frames[1].headers, kDataStream);
}

TEST(SpdyCodec, LargePayloadsAreSplitIntoSendChunks) {
  Codec client, server;
  std::string payload(kMaxSendChunk * 2 + 10, 'x');
  std::string wire;
  client.data(wire, 1, payload, true);
  auto frames = parseAll(server, wire);
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].data.size(), kMaxSendChunk);
  EXPECT_FALSE(frames[0].fin());
  EXPECT_FALSE(frames[1].fin());
  EXPECT_EQ(frames[2].data.size(), 10U);
  EXPECT_TRUE(frames[2].fin());
}

TEST(SpdyCodec, HugeDataFrameHeaderIsNeedMoreThenParses) {
  // The 24-bit length's maximum: the codec must wait for the bytes, not
  // allocate for them.
  std::string head("\x00\x00\x00\x01\x00\xff\xff\xff", 8);
  Codec server;
  Frame frame;
  auto parsed = server.parse(head + "abc", frame);
  EXPECT_EQ(parsed.outcome, Outcome::needMore);
  EXPECT_EQ(parsed.consumed, 0U);
  EXPECT_TRUE(frame.data.empty());
  std::string whole = head + std::string(0xffffff, 'z');
  parsed = server.parse(whole, frame);
  ASSERT_EQ(parsed.outcome, Outcome::frame);
  EXPECT_EQ(parsed.consumed, whole.size());
  EXPECT_EQ(frame.data.size(), 0xffffffU);
}

TEST(SpdyCodec, UnknownControlFramesAreSkippedWhole) {
  Codec client, server;
  std::string wire = control(10, 0, "credential");  // CREDENTIAL: not used by kubectl
  client.ping(wire, 9);
  Frame frame;
  auto parsed = server.parse(wire, frame);
  ASSERT_EQ(parsed.outcome, Outcome::frame);
  EXPECT_EQ(frame.type, FrameType::unknown);
  EXPECT_EQ(parsed.consumed, 18U);
  EXPECT_EQ(parseOne(server, std::string_view(wire).substr(18)).pingId, 9U);
}

TEST(SpdyCodec, ControlTypeZeroIsUnknownNotData) {
  Codec server;
  Frame frame;
  auto parsed = server.parse(control(0, 0, be32(1)), frame);
  ASSERT_EQ(parsed.outcome, Outcome::frame);
  EXPECT_EQ(frame.type, FrameType::unknown);
  EXPECT_EQ(parsed.consumed, 12U);
}

TEST(SpdyCodec, WindowUpdateForTheConnectionIsAccepted) {
  Codec client, server;
  std::string wire;
  client.windowUpdate(wire, 0, 1000);  // SPDY/3.1's connection window
  EXPECT_EQ(parseOne(server, wire).deltaWindow, 1000U);
}

TEST(SpdyMalformed, WrongVersion) {
  EXPECT_NE(errorFor(control(6, 0, be32(1), 2)).find("version 2"), std::string::npos);
}

TEST(SpdyMalformed, LengthsThatDoNotFitTheType) {
  errorFor(control(6, 0, be32(1) + "x"));                   // PING of 5
  errorFor(control(3, 0, be32(1)));                         // RST_STREAM of 4
  errorFor(control(7, 0, be32(1)));                         // GOAWAY of 4
  errorFor(control(9, 0, be32(1) + be32(1) + "x"));         // WINDOW_UPDATE of 9
  errorFor(control(1, 0, be32(1)));                         // SYN_STREAM shorter than its fields
  errorFor(control(2, 0, "ab"));                            // SYN_REPLY without a stream id
  errorFor(control(4, 0, be32(2) + std::string(8, '\0')));  // SETTINGS: 2 entries, 1 there
  errorFor(control(4, 0, be32(0xffffffff)));                // SETTINGS: absurd count
}

TEST(SpdyMalformed, LengthCheckedBeforeThePayloadArrives) {
  // A PING announcing 5 bytes is wrong whatever follows: no waiting for it.
  std::string head("\x80\x03\x00\x06\x00\x00\x00\x05", 8);
  errorFor(head);
  // A control frame far past any sane header block.
  errorFor(std::string("\x80\x03\x00\x01\x00\xff\xff\xff", 8));
}

TEST(SpdyMalformed, ZeroStreamIds) {
  errorFor(std::string("\x00\x00\x00\x00\x01\x00\x00\x00", 8));  // DATA on stream 0
  errorFor(control(3, 0, be32(0) + be32(kCancel)));              // RST_STREAM
  Codec client;
  std::string wire;
  client.synStream(wire, 0, kErrorStream);
  EXPECT_NE(errorFor(wire).find("stream 0"), std::string::npos);
}

TEST(SpdyMalformed, HeaderBlocks) {
  const std::string& dictionary = compressionDictionary();
  auto block = [&](std::string_view raw) {
    return errorFor(synStreamWithBlock(1, compressed(raw, dictionary)));
  };
  std::string pair = be32(4) + "port" + be32(4) + "8080";
  // A well-formed block for reference.
  {
    Codec server;
    Frame frame;
    auto parsed =
        server.parse(synStreamWithBlock(1, compressed(be32(1) + pair, dictionary)), frame);
    ASSERT_EQ(parsed.outcome, Outcome::frame) << parsed.error;
    EXPECT_EQ(headerValue(frame.headers, "port"), "8080");
  }
  block("");                                                // not even a count
  block(be32(2) + pair);                                    // truncated: 1 pair of 2
  block(be32(1) + pair + "x");                              // bytes after the last pair
  block(be32(0xffffffff) + pair);                           // count past the block
  block(be32(1) + be32(0xfffffff0) + "port");               // name length past the block
  block(be32(1) + be32(4) + "port" + be32(1000) + "8080");  // value length past the block
  block(be32(1) + be32(0) + be32(1) + "x");                 // empty name
  block(be32(1) + be32(4) + "Port" + be32(1) + "x");        // upper-case name
  block(be32(2) + pair + pair);                             // duplicate name
  EXPECT_NE(block(be32(2) + pair + pair).find("duplicate"), std::string::npos);
  // Compressed with another dictionary: zlib sees the DICTID differ.
  errorFor(synStreamWithBlock(1, compressed(be32(1) + pair, "another dictionary")));
  // Not zlib at all.
  errorFor(synStreamWithBlock(1, "\x78\xbb garbage that does not inflate"));
  errorFor(synStreamWithBlock(1, std::string(40, '\xff')));
  // An empty block (SPDY compresses even those).
  errorFor(synStreamWithBlock(1, ""));
}

TEST(SpdyMalformed, DecompressionBomb) {
  // 1 MiB of one value compresses to about a kilobyte.
  std::string raw = be32(1) + be32(1) + "x" + be32(1 << 20) + std::string(1 << 20, 'a');
  std::string zipped = compressed(raw, compressionDictionary());
  EXPECT_LT(zipped.size(), 8192U);
  EXPECT_NE(errorFor(synStreamWithBlock(1, zipped)).find("256 KiB"), std::string::npos);
}

TEST(SpdyMalformed, NoFurtherFramesAfterAnError) {
  Codec client, server;
  std::string wire = control(6, 0, be32(1), 2);
  client.ping(wire, 1);
  Frame frame;
  EXPECT_EQ(server.parse(wire, frame).outcome, Outcome::error);
  EXPECT_EQ(server.parse(std::string_view(wire).substr(12), frame).outcome, Outcome::error);
}

TEST(SpdyMalformed, FlippedBytesAreSafe) {
  // Flip bits of each byte of a small exchange and parse what results to the
  // end: nothing may crash or loop, and consumed stays within the input.
  Codec client;
  std::string wire;
  client.synStream(wire, 1, kErrorStream, true);
  client.data(wire, 1, "abc");
  client.ping(wire, 2);
  for (size_t i = 0; i < wire.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = wire;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      Codec server;
      std::string_view rest = bad;
      Frame frame;
      for (int guard = 0; guard < 10 && !rest.empty(); ++guard) {
        auto parsed = server.parse(rest, frame);
        if (parsed.outcome != Outcome::frame) break;
        ASSERT_GT(parsed.consumed, 0U);
        ASSERT_LE(parsed.consumed, rest.size());
        rest.remove_prefix(parsed.consumed);
      }
    }
  }
}

// Writes the fuzz seeds to $PODNET_SEED_DIR (tests/fuzz/corpus/spdy): run with
// --gtest_also_run_disabled_tests --gtest_filter='SpdySeeds.*'.
TEST(SpdySeeds, DISABLED_Write) {
  const char* dir = std::getenv("PODNET_SEED_DIR");
  ASSERT_NE(dir, nullptr);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(std::filesystem::path(dir) / name, std::ios::binary) << bytes;
  };
  auto seed = [&](const std::string& name, auto&& build) {
    Codec codec;
    std::string wire;
    build(codec, wire);
    write(name, wire);
  };
  seed("syn_stream_error", [](Codec& c, std::string& w) { c.synStream(w, 1, kErrorStream, true); });
  seed("port_forward_pair", [](Codec& c, std::string& w) {
    c.synStream(w, 1, kErrorStream, true);
    c.synStream(w, 3, kDataStream);
    c.data(w, 3, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    c.data(w, 3, "", true);
  });
  seed("exec_streams", [](Codec& c, std::string& w) {
    c.synStream(w, 1, {{"streamtype", "error"}});
    c.synStream(w, 3, {{"streamtype", "stdin"}});
    c.synStream(w, 5, {{"streamtype", "stdout"}});
    c.synStream(w, 7, {{"streamtype", "resize"}});
    c.data(w, 7, "{\"Width\":80,\"Height\":24}\n");
    c.data(w, 3, "", true);
  });
  seed("syn_reply_headers", [](Codec& c, std::string& w) {
    c.synReply(w, 1, {});
    c.headers(w, 1, {{"x", std::string("a\0b", 3)}}, true);
  });
  seed("data_fin", [](Codec& c, std::string& w) { c.data(w, 1, "hello", true); });
  seed("ping", [](Codec& c, std::string& w) { c.ping(w, 1); });
  seed("rst_goaway", [](Codec& c, std::string& w) {
    c.rstStream(w, 1, kCancel);
    c.goAway(w, 1);
  });
  seed("settings_window", [](Codec& c, std::string& w) {
    c.settings(w, {{0, 4, 100}, {1, 7, 65536}});
    c.windowUpdate(w, 1, 1000);
    c.windowUpdate(w, 0, 1000);
  });
  write("unknown_control", control(10, 0, "credential") + control(6, 0, be32(5)));
  write("version2", control(6, 0, be32(1), 2));
  write("duplicate_header",
        synStreamWithBlock(
            1, compressed(be32(2) + be32(1) + "a" + be32(1) + "b" + be32(1) + "a" + be32(1) + "c",
                          compressionDictionary())));
  write("zlib_garbage", synStreamWithBlock(1, "\x78\xf9\xe3\xc6\xa7\xc2garbage"));
  // A raw name/value block: fuzz_spdy also sends its input compressed as one.
  write("nv_block", be32(3) + be32(10) + "streamtype" + be32(5) + "error" + be32(4) + "port" +
                        be32(4) + "8080" + be32(9) + "requestid" + be32(1) + "0");
  std::string garbage;
  for (uint32_t x = 12345; garbage.size() < 64;) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  write("garbage", garbage);
  write("huge_data_header", std::string("\x00\x00\x00\x01\x00\xff\xff\xff"
                                        "abc",
                                        11));
}

}  // namespace
}  // namespace podnet::streaming::spdy
