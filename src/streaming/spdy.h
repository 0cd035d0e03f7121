// SPDY/3 framing (SPDY draft 3) as kubectl's spdystream speaks it: port-forward
// (and exec/attach when WebSocket is refused) run over it, either on a raw
// upgraded connection or tunnelled in WebSocket binary messages. The HTTP
// headers say "SPDY/3.1"; the frames themselves say version 3.
//
// A pure codec over bytes: the caller buffers what it read and asks for one
// frame at a time, so messages split at arbitrary places work the same as a
// stream. No flow control (spdystream has none: it never sends WINDOW_UPDATE
// and ignores it), so nothing here ever waits for window credit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace podnet::streaming::spdy {

enum class FrameType : uint16_t {
  data = 0,
  synStream = 1,
  synReply = 2,
  rstStream = 3,
  settings = 4,
  ping = 6,
  goAway = 7,
  headers = 8,
  windowUpdate = 9,
  // Not a wire value: a control frame of a type this codec does not know
  // (NOOP, CREDENTIAL, ...). SPDY says to ignore those, so callers skip it.
  unknown = 0xffff,
};

constexpr uint8_t kFlagFin = 0x01;
constexpr uint8_t kFlagUnidirectional = 0x02;

// RST_STREAM status codes.
constexpr uint32_t kProtocolError = 1;
constexpr uint32_t kRefusedStream = 3;
constexpr uint32_t kCancel = 5;
constexpr uint32_t kInternalError = 6;

// A frame may be this long (the 24-bit length field cannot say more).
constexpr size_t kMaxFrameLength = 16 * 1024 * 1024;
// A control frame's payload may be this long: a header block decompresses to
// at most kMaxHeaderBlock, so a longer compressed one is not from a sane peer,
// and SETTINGS has a handful of ids.
constexpr size_t kMaxControlFrameLength = 1024 * 1024;
// A header block may decompress to this much (zlib bombs stop here).
constexpr size_t kMaxHeaderBlock = 256 * 1024;
// Senders split DATA into frames of at most this, so one stream's write does
// not hold the connection for long (there is no flow control to do it).
constexpr size_t kMaxSendChunk = 32 * 1024;

// Names are lower-case (SPDY requires it, and parse() refuses others) and
// unique; a value may hold several values separated by NUL, kept raw.
using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of `name` in `headers`, "" if absent.
std::string_view headerValue(const Headers& headers, std::string_view name);

struct SettingsEntry {
  uint8_t flags = 0;
  uint32_t id = 0;  // 24 bits
  uint32_t value = 0;
};

struct Frame {
  // FrameType::unknown for a control frame of another type, with only `flags`
  // set (its raw number cast would be ambiguous: control type 0 is not DATA).
  FrameType type = FrameType::data;
  uint8_t flags = 0;
  uint32_t streamId = 0;          // data, synStream, synReply, rstStream, headers, windowUpdate
  uint32_t associatedId = 0;      // synStream
  uint8_t priority = 0;           // synStream (0 highest .. 7)
  uint32_t status = 0;            // rstStream, goAway
  uint32_t pingId = 0;            // ping
  uint32_t lastGoodStreamId = 0;  // goAway
  uint32_t deltaWindow = 0;       // windowUpdate
  Headers headers;                // synStream, synReply, headers (decompressed, parsed)
  std::vector<SettingsEntry> settings;  // settings
  std::string data;                     // data frame payload
  bool fin() const { return flags & kFlagFin; }
};

// One per connection. It holds the connection's two zlib streams, one deflate
// for the header blocks this side sends and one inflate for those it receives:
// SPDY compresses all header blocks of a direction as one zlib stream (with
// the SPDY dictionary, a SYNC_FLUSH after each block), so frames must be
// parsed and serialized in wire order through the same Codec.
class Codec {
 public:
  Codec();
  ~Codec();
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  enum class Outcome { needMore, frame, error };
  struct Parsed {
    Outcome outcome = Outcome::needMore;
    size_t consumed = 0;  // the frame's size on the wire (0 unless frame)
    std::string error;    // what was wrong (error only)
  };

  // Parses the first complete frame at the start of `input` into `frame`.
  // needMore: not a whole frame yet; nothing is read beyond the 8-byte frame
  // header until the rest is there, so a buffer that grows by pieces costs
  // O(1) per call and a length field never makes this allocate.
  // error: a protocol error (a version other than 3, a control frame whose
  // length does not fit its type or exceeds kMaxControlFrameLength, a header
  // block that does not inflate, is malformed, or exceeds kMaxHeaderBlock,
  // stream id 0 on a stream's frame, ...). The connection must then be
  // dropped: the inflate state is undefined, and every later parse() returns
  // an error too.
  Parsed parse(std::string_view input, Frame& frame);

  // Serializers append whole frames to `out`. Header names must be lower-case
  // and unique. Stream ids are 31 bits (the top bit is dropped).
  void synStream(std::string& out, uint32_t streamId, const Headers& headers, bool fin = false);
  void synReply(std::string& out, uint32_t streamId, const Headers& headers, bool fin = false);
  void headers(std::string& out, uint32_t streamId, const Headers& headers, bool fin = false);
  // One DATA frame, or several of kMaxSendChunk bytes when `payload` is longer
  // (FIN on the last only). An empty payload with `fin` is how a stream closes.
  void data(std::string& out, uint32_t streamId, std::string_view payload, bool fin = false);
  void rstStream(std::string& out, uint32_t streamId, uint32_t status);
  void ping(std::string& out, uint32_t id);
  void goAway(std::string& out, uint32_t lastGoodStreamId, uint32_t status = 0);
  void windowUpdate(std::string& out, uint32_t streamId, uint32_t delta);
  void settings(std::string& out, const std::vector<SettingsEntry>& entries);

 private:
  struct Zlib;
  std::unique_ptr<Zlib> zlib_;
  bool failed_ = false;

  void headerFrame(std::string& out, FrameType type, uint8_t flags, std::string_view fixed,
                   const Headers& headers);
};

// The SPDY/3 header compression dictionary (1423 bytes, SPDY draft 3
// section 2.6.10.1).
const std::string& compressionDictionary();

}  // namespace podnet::streaming::spdy
