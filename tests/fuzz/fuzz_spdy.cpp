// Fuzzes the SPDY/3 codec with what a kubectl port-forward or exec peer may
// send: the input is parsed frame by frame as one buffer and again as it
// would arrive byte by byte (both must agree), and every frame parsed is
// serialized again and parsed by another codec pair, which must give it back.
// The input is also compressed as a peer would and sent as a SYN_STREAM's
// header block, so the name/value parser sees fuzzed bytes behind zlib.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "streaming/spdy.h"

namespace spdy = podnet::streaming::spdy;

namespace {

struct Run {
  std::vector<spdy::Frame> frames;
  spdy::Codec::Outcome last = spdy::Codec::Outcome::needMore;
};

bool same(const spdy::Frame& a, const spdy::Frame& b) {
  if (a.type != b.type || a.flags != b.flags || a.streamId != b.streamId ||
      a.associatedId != b.associatedId || a.priority != b.priority || a.status != b.status ||
      a.pingId != b.pingId || a.lastGoodStreamId != b.lastGoodStreamId ||
      a.deltaWindow != b.deltaWindow || a.headers != b.headers || a.data != b.data ||
      a.settings.size() != b.settings.size())
    return false;
  for (size_t i = 0; i < a.settings.size(); ++i)
    if (a.settings[i].flags != b.settings[i].flags || a.settings[i].id != b.settings[i].id ||
        a.settings[i].value != b.settings[i].value)
      return false;
  return true;
}

Run whole(std::string_view input) {
  spdy::Codec codec;
  Run run;
  for (;;) {
    spdy::Frame frame;
    auto parsed = codec.parse(input, frame);
    run.last = parsed.outcome;
    if (parsed.outcome != spdy::Codec::Outcome::frame) {
      if (parsed.consumed != 0) std::abort();
      if (parsed.outcome == spdy::Codec::Outcome::error && parsed.error.empty()) std::abort();
      return run;
    }
    if (parsed.consumed < 8 || parsed.consumed > input.size()) std::abort();
    input.remove_prefix(parsed.consumed);
    run.frames.push_back(std::move(frame));
  }
}

// As a WebSocket tunnel delivers it: one byte more each time.
Run byteByByte(std::string_view input) {
  spdy::Codec codec;
  Run run;
  size_t start = 0;
  for (size_t end = 1; end <= input.size(); ++end) {
    for (;;) {
      spdy::Frame frame;
      auto parsed = codec.parse(input.substr(start, end - start), frame);
      run.last = parsed.outcome;
      if (parsed.outcome == spdy::Codec::Outcome::error) return run;
      if (parsed.outcome == spdy::Codec::Outcome::needMore) break;
      start += parsed.consumed;
      run.frames.push_back(std::move(frame));
    }
  }
  return run;
}

// Serializes `frame` again; false for what the serializers do not express
// one to one (unknown types, flags other than FIN, priorities, long DATA).
bool reencode(spdy::Codec& sender, const spdy::Frame& frame, std::string& out) {
  using spdy::FrameType;
  bool fin = frame.fin();
  switch (frame.type) {
    case FrameType::data:
      if (frame.data.size() > spdy::kMaxSendChunk || (frame.flags & ~spdy::kFlagFin)) return false;
      sender.data(out, frame.streamId, frame.data, fin);
      return true;
    case FrameType::synStream:
      if (frame.flags & ~spdy::kFlagFin || frame.priority || frame.associatedId) return false;
      sender.synStream(out, frame.streamId, frame.headers, fin);
      return true;
    case FrameType::synReply:
      if (frame.flags & ~spdy::kFlagFin) return false;
      sender.synReply(out, frame.streamId, frame.headers, fin);
      return true;
    case FrameType::headers:
      if (frame.flags & ~spdy::kFlagFin) return false;
      sender.headers(out, frame.streamId, frame.headers, fin);
      return true;
    case FrameType::rstStream:
      if (frame.flags) return false;
      sender.rstStream(out, frame.streamId, frame.status);
      return true;
    case FrameType::settings:
      if (frame.flags) return false;
      sender.settings(out, frame.settings);
      return true;
    case FrameType::ping:
      if (frame.flags) return false;
      sender.ping(out, frame.pingId);
      return true;
    case FrameType::goAway:
      if (frame.flags) return false;
      sender.goAway(out, frame.lastGoodStreamId, frame.status);
      return true;
    case FrameType::windowUpdate:
      if (frame.flags) return false;
      sender.windowUpdate(out, frame.streamId, frame.deltaWindow);
      return true;
    case FrameType::unknown:
      return false;
  }
  return false;
}

// A SYN_STREAM on stream 1 whose header block is `block` compressed with the
// SPDY dictionary, as the first block of a connection.
std::string synStreamCarrying(std::string_view block) {
  z_stream z{};
  deflateInit(&z, Z_DEFAULT_COMPRESSION);
  const std::string& dictionary = spdy::compressionDictionary();
  deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary.data()),
                       static_cast<uInt>(dictionary.size()));
  std::string compressed(deflateBound(&z, block.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = reinterpret_cast<Bytef*>(compressed.data());
  z.avail_out = static_cast<uInt>(compressed.size());
  deflate(&z, Z_SYNC_FLUSH);
  compressed.resize(compressed.size() - z.avail_out);
  deflateEnd(&z);
  std::string payload("\0\0\0\1\0\0\0\0\0\0", 10);
  payload += compressed;
  size_t length = payload.size();
  std::string frame = {'\x80',
                       '\x03',
                       '\x00',
                       '\x01',
                       '\x00',
                       static_cast<char>(length >> 16),
                       static_cast<char>(length >> 8),
                       static_cast<char>(length)};
  return frame + payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Run all = whole(input);
  Run pieces = byteByByte(input);
  if (all.frames.size() != pieces.frames.size()) std::abort();
  for (size_t i = 0; i < all.frames.size(); ++i)
    if (!same(all.frames[i], pieces.frames[i])) std::abort();
  if (all.last != pieces.last) std::abort();

  // Both directions of a connection: header blocks share one zlib stream per
  // direction, so frames go through in order.
  spdy::Codec sender, receiver;
  for (const auto& frame : all.frames) {
    std::string wire;
    if (!reencode(sender, frame, wire)) continue;
    spdy::Frame back;
    auto parsed = receiver.parse(wire, back);
    if (parsed.outcome != spdy::Codec::Outcome::frame || parsed.consumed != wire.size() ||
        !same(frame, back))
      std::abort();
  }

  if (size <= spdy::kMaxHeaderBlock) {
    std::string frame = synStreamCarrying(input);
    spdy::Codec codec;
    spdy::Frame parsed;
    auto result = codec.parse(frame, parsed);
    if (result.outcome == spdy::Codec::Outcome::needMore) std::abort();
    if (result.outcome == spdy::Codec::Outcome::frame) {
      // Accepted pairs obey SPDY's rules: non-empty lower-case unique names.
      for (size_t i = 0; i < parsed.headers.size(); ++i) {
        const std::string& name = parsed.headers[i].first;
        if (name.empty()) std::abort();
        for (char c : name)
          if (c == '\0' || (c >= 'A' && c <= 'Z')) std::abort();
        if (spdy::headerValue(parsed.headers, name).data() != parsed.headers[i].second.data())
          std::abort();
      }
    }
  }
  return 0;
}
