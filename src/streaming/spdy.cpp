#include "streaming/spdy.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace podnet::streaming::spdy {

namespace {

constexpr size_t kFrameHeaderSize = 8;
constexpr uint16_t kVersion = 3;
constexpr uint32_t kStreamIdMask = 0x7fffffff;
constexpr size_t kMaxLengthField = 0xffffff;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be24(const uint8_t* p) { return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2]; }
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

void appendBe32(std::string& out, uint32_t value) {
  char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                   static_cast<char>(value >> 8), static_cast<char>(value)};
  out.append(bytes, 4);
}

void putBe24(char* at, uint32_t value) {
  at[0] = static_cast<char>(value >> 16);
  at[1] = static_cast<char>(value >> 8);
  at[2] = static_cast<char>(value);
}

// Appends a control frame header whose length is patched by finishControl.
size_t beginControl(std::string& out, FrameType type, uint8_t flags) {
  size_t start = out.size();
  auto raw = static_cast<uint16_t>(type);
  char head[kFrameHeaderSize] = {static_cast<char>(0x80 | kVersion >> 8),
                                 static_cast<char>(kVersion & 0xff),
                                 static_cast<char>(raw >> 8),
                                 static_cast<char>(raw & 0xff),
                                 static_cast<char>(flags),
                                 0,
                                 0,
                                 0};
  out.append(head, kFrameHeaderSize);
  return start;
}

void finishControl(std::string& out, size_t start) {
  putBe24(out.data() + start + 5,
          static_cast<uint32_t>(out.size() - start - kFrameHeaderSize) & kMaxLengthField);
}

// Empties `frame` for the next parse, keeping its buffers' capacity.
void reset(Frame& frame, FrameType type, uint8_t flags) {
  frame.type = type;
  frame.flags = flags;
  frame.streamId = 0;
  frame.associatedId = 0;
  frame.priority = 0;
  frame.status = 0;
  frame.pingId = 0;
  frame.lastGoodStreamId = 0;
  frame.deltaWindow = 0;
  frame.headers.clear();
  frame.settings.clear();
  frame.data.clear();
}

// Reads the big-endian fields of a name/value block, never past its end.
struct Reader {
  std::string_view rest;

  bool u32(uint32_t& value) {
    if (rest.size() < 4) return false;
    value = be32(reinterpret_cast<const uint8_t*>(rest.data()));
    rest.remove_prefix(4);
    return true;
  }
  // A length-prefixed string.
  bool lengthPrefixed(std::string_view& value) {
    uint32_t length = 0;
    if (!u32(length) || length > rest.size()) return false;
    value = rest.substr(0, length);
    rest.remove_prefix(length);
    return true;
  }
};

bool validName(std::string_view name) {
  if (name.empty()) return false;
  return std::none_of(name.begin(), name.end(),
                      [](char c) { return c == '\0' || (c >= 'A' && c <= 'Z'); });
}

// SPDY draft 3 section 2.6.10: the decompressed name/value block.
bool parseHeaderBlock(std::string_view block, Headers& headers, std::string& error) {
  Reader reader{block};
  uint32_t count = 0;
  if (!reader.u32(count)) {
    error = "header block without a pair count";
    return false;
  }
  // Each pair takes at least its two length fields, so a larger count cannot
  // fit: checking first keeps a forged count from sizing the reservation.
  if (count > reader.rest.size() / 8) {
    error = "header block announces more pairs than it holds";
    return false;
  }
  headers.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view name, value;
    if (!reader.lengthPrefixed(name) || !reader.lengthPrefixed(value)) {
      error = "header block truncated";
      return false;
    }
    if (!validName(name)) {
      error = "header name is empty, has upper-case letters or NUL";
      return false;
    }
    headers.emplace_back(std::string(name), std::string(value));
  }
  if (!reader.rest.empty()) {
    error = "bytes after the header block's last pair";
    return false;
  }
  // Sorted views find duplicates in n log n: a block of tens of thousands of
  // tiny pairs must not cost a quadratic scan.
  std::vector<std::string_view> names;
  names.reserve(headers.size());
  for (const auto& [name, value] : headers) names.emplace_back(name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    error = "duplicate header name";
    return false;
  }
  return true;
}

}  // namespace

std::string_view headerValue(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return {};
}

const std::string& compressionDictionary() {
  // SPDY draft 3 section 2.6.10.1: common header names and values, each with a
  // 4-byte big-endian length, then raw status codes, reason phrases, dates and
  // media types. zlib checks it by adler32 (the DICTID of the peer's first
  // block), so a wrong byte fails the first header block.
  static const std::string dictionary = [] {
    static constexpr std::string_view kWords[] = {
        "options",
        "head",
        "post",
        "put",
        "delete",
        "trace",
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "age",
        "allow",
        "authorization",
        "cache-control",
        "connection",
        "content-base",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "date",
        "etag",
        "expect",
        "expires",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "pragma",
        "proxy-authenticate",
        "proxy-authorization",
        "range",
        "referer",
        "retry-after",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "vary",
        "via",
        "warning",
        "www-authenticate",
        "method",
        "get",
        "status",
        "200 OK",
        "version",
        "HTTP/1.1",
        "url",
        "public",
        "set-cookie",
        "keep-alive",
        "origin",
    };
    static constexpr uint16_t kCodes[] = {100, 101, 201, 202, 205, 206, 300, 302, 303, 304,
                                          305, 306, 307, 402, 405, 406, 407, 408, 409, 410,
                                          411, 412, 413, 414, 415, 416, 417, 502, 504, 505};
    static constexpr std::string_view kTail =
        "203 Non-Authoritative Information"
        "204 No Content"
        "301 Moved Permanently"
        "400 Bad Request"
        "401 Unauthorized"
        "403 Forbidden"
        "404 Not Found"
        "500 Internal Server Error"
        "501 Not Implemented"
        "503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,"
        "application/xhtml+xml,text/plain,text/javascript,public"
        "privatemax-age=gzip,deflate,sdch"
        "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
    std::string bytes;
    for (std::string_view word : kWords) {
      appendBe32(bytes, static_cast<uint32_t>(word.size()));
      bytes.append(word);
    }
    for (uint16_t code : kCodes) bytes.append(std::to_string(code));
    bytes.append(kTail);
    return bytes;
  }();
  return dictionary;
}

struct Codec::Zlib {
  z_stream deflater{};
  z_stream inflater{};
  std::string block;  // scratch: a name/value block before deflate, after inflate

  Zlib() {
    // Both can fail only without memory; then the codec is unusable anyway.
    deflateInit(&deflater, Z_DEFAULT_COMPRESSION);
    const std::string& dictionary = compressionDictionary();
    // The sender sets the dictionary up front; the receiver learns that one is
    // needed from the first block's header (Z_NEED_DICT).
    deflateSetDictionary(&deflater, reinterpret_cast<const Bytef*>(dictionary.data()),
                         static_cast<uInt>(dictionary.size()));
    inflateInit(&inflater);
  }
  ~Zlib() {
    deflateEnd(&deflater);
    inflateEnd(&inflater);
  }

  // Compresses `block` and appends it, ending with a SYNC_FLUSH so the peer
  // can decode it without waiting for more.
  void compress(std::string& out) {
    deflater.next_in = reinterpret_cast<Bytef*>(block.data());
    deflater.avail_in = static_cast<uInt>(block.size());
    size_t room = block.size() / 2 + 64;
    for (;;) {
      size_t before = out.size();
      out.resize(before + room);
      deflater.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      deflater.avail_out = static_cast<uInt>(room);
      deflate(&deflater, Z_SYNC_FLUSH);
      size_t left = deflater.avail_out;
      out.resize(before + room - left);
      // Room left over means zlib had nothing more to give.
      if (left != 0 && deflater.avail_in == 0) return;
      room *= 2;
    }
  }

  // Inflates one header block into `block`.
  bool decompress(std::string_view compressed, std::string& error) {
    block.clear();
    inflater.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    inflater.avail_in = static_cast<uInt>(compressed.size());
    constexpr size_t kStep = 16 * 1024;
    for (;;) {
      size_t before = block.size();
      block.resize(before + kStep);
      inflater.next_out = reinterpret_cast<Bytef*>(block.data() + before);
      inflater.avail_out = static_cast<uInt>(kStep);
      int rc = inflate(&inflater, Z_SYNC_FLUSH);
      size_t left = inflater.avail_out;
      block.resize(before + kStep - left);
      if (block.size() > kMaxHeaderBlock) {
        error = "header block decompresses to more than 256 KiB";
        return false;
      }
      if (rc == Z_NEED_DICT) {
        const std::string& dictionary = compressionDictionary();
        if (inflateSetDictionary(&inflater, reinterpret_cast<const Bytef*>(dictionary.data()),
                                 static_cast<uInt>(dictionary.size())) != Z_OK) {
          error = "header block compressed with another dictionary";
          return false;
        }
        continue;
      }
      if (rc == Z_STREAM_END) {
        // SPDY's stream never ends: later blocks could not be decoded.
        error = "header compression stream ended";
        return false;
      }
      // Z_BUF_ERROR only says no progress was possible: fine once the input
      // is used up (the block ended on a flush boundary), checked below.
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error = std::string("header block does not inflate: ") +
                (inflater.msg ? inflater.msg : "zlib error " + std::to_string(rc));
        return false;
      }
      if (inflater.avail_in == 0 && left != 0) return true;
      if (rc == Z_BUF_ERROR && left != 0) {
        error = "header block does not inflate";
        return false;
      }
    }
  }
};

Codec::Codec() : zlib_(std::make_unique<Zlib>()) {}
Codec::~Codec() = default;

Codec::Parsed Codec::parse(std::string_view input, Frame& frame) {
  auto fail = [this](std::string why) {
    failed_ = true;
    return Parsed{Outcome::error, 0, std::move(why)};
  };
  if (failed_) return {Outcome::error, 0, "the connection already had a protocol error"};
  if (input.size() < kFrameHeaderSize) return {};
  const auto* head = reinterpret_cast<const uint8_t*>(input.data());
  uint8_t flags = head[4];
  size_t length = be24(head + 5);
  size_t size = kFrameHeaderSize + length;

  if (!(head[0] & 0x80)) {
    uint32_t streamId = be32(head) & kStreamIdMask;
    if (streamId == 0) return fail("DATA frame on stream 0");
    if (input.size() < size) return {};
    reset(frame, FrameType::data, flags);
    frame.streamId = streamId;
    frame.data.assign(input.substr(kFrameHeaderSize, length));
    return {Outcome::frame, size, {}};
  }

  uint16_t version = be16(head) & 0x7fff;
  if (version != kVersion) return fail("SPDY version " + std::to_string(version) + ", not 3");
  uint16_t rawType = be16(head + 2);
  auto type = FrameType::unknown;
  switch (static_cast<FrameType>(rawType)) {
    case FrameType::synStream:
    case FrameType::synReply:
    case FrameType::rstStream:
    case FrameType::settings:
    case FrameType::ping:
    case FrameType::goAway:
    case FrameType::headers:
    case FrameType::windowUpdate:
      type = static_cast<FrameType>(rawType);
      break;
    default:
      break;
  }
  if (length > kMaxControlFrameLength)
    return fail("control frame of " + std::to_string(length) + " bytes");
  // Lengths are checked before waiting for the payload, so a bad frame fails
  // at once instead of stalling the connection for bytes that never come.
  size_t minimum = 0;  // the fixed fields before a header block or entries
  size_t exact = 0;    // frames without a variable part
  switch (type) {
    case FrameType::synStream:
      minimum = 10;
      break;
    case FrameType::synReply:
    case FrameType::headers:
    case FrameType::settings:
      minimum = 4;
      break;
    case FrameType::ping:
      exact = 4;
      break;
    case FrameType::rstStream:
    case FrameType::goAway:
    case FrameType::windowUpdate:
      exact = 8;
      break;
    default:
      break;  // unknown: skipped whole
  }
  if (length < minimum || (exact != 0 && length != exact))
    return fail("control frame type " + std::to_string(rawType) + " with length " +
                std::to_string(length));
  if (input.size() < size) return {};

  reset(frame, type, flags);
  std::string_view payload = input.substr(kFrameHeaderSize, length);
  const auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  std::string_view block;
  switch (type) {
    case FrameType::synStream:
      frame.streamId = be32(p) & kStreamIdMask;
      frame.associatedId = be32(p + 4) & kStreamIdMask;
      frame.priority = p[8] >> 5;
      block = payload.substr(10);
      break;
    case FrameType::synReply:
    case FrameType::headers:
      frame.streamId = be32(p) & kStreamIdMask;
      block = payload.substr(4);
      break;
    case FrameType::rstStream:
      frame.streamId = be32(p) & kStreamIdMask;
      frame.status = be32(p + 4);
      break;
    case FrameType::settings: {
      uint32_t count = be32(p);
      if (count > (length - 4) / 8 || length != 4 + size_t{count} * 8)
        return fail("SETTINGS length does not match its " + std::to_string(count) + " entries");
      frame.settings.reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        const uint8_t* entry = p + 4 + size_t{i} * 8;
        frame.settings.push_back({entry[0], be24(entry + 1), be32(entry + 4)});
      }
      break;
    }
    case FrameType::ping:
      frame.pingId = be32(p);
      break;
    case FrameType::goAway:
      frame.lastGoodStreamId = be32(p) & kStreamIdMask;
      frame.status = be32(p + 4);
      break;
    case FrameType::windowUpdate:
      // Stream 0 is SPDY/3.1's connection window: legal, and ignored like the rest.
      frame.streamId = be32(p) & kStreamIdMask;
      frame.deltaWindow = be32(p + 4) & kStreamIdMask;
      break;
    default:
      return {Outcome::frame, size, {}};
  }
  if (frame.streamId == 0 && type != FrameType::settings && type != FrameType::ping &&
      type != FrameType::goAway && type != FrameType::windowUpdate)
    return fail("control frame type " + std::to_string(rawType) + " on stream 0");
  if (type == FrameType::synStream || type == FrameType::synReply || type == FrameType::headers) {
    std::string error;
    // Every block goes through the inflater, even if it turns out malformed:
    // skipping one would desynchronize the shared compression state.
    if (!zlib_->decompress(block, error) || !parseHeaderBlock(zlib_->block, frame.headers, error))
      return fail(std::move(error));
  }
  return {Outcome::frame, size, {}};
}

void Codec::headerFrame(std::string& out, FrameType type, uint8_t flags, std::string_view fixed,
                        const Headers& headers) {
  size_t start = beginControl(out, type, flags);
  out.append(fixed);
  std::string& block = zlib_->block;
  block.clear();
  appendBe32(block, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    appendBe32(block, static_cast<uint32_t>(name.size()));
    block.append(name);
    appendBe32(block, static_cast<uint32_t>(value.size()));
    block.append(value);
  }
  zlib_->compress(out);
  finishControl(out, start);
}

void Codec::synStream(std::string& out, uint32_t streamId, const Headers& headers, bool fin) {
  std::string fixed;
  appendBe32(fixed, streamId & kStreamIdMask);
  appendBe32(fixed, 0);   // associated stream: none
  fixed.append(2, '\0');  // priority 0 (highest, as spdystream), slot 0
  headerFrame(out, FrameType::synStream, fin ? kFlagFin : 0, fixed, headers);
}

void Codec::synReply(std::string& out, uint32_t streamId, const Headers& headers, bool fin) {
  std::string fixed;
  appendBe32(fixed, streamId & kStreamIdMask);
  headerFrame(out, FrameType::synReply, fin ? kFlagFin : 0, fixed, headers);
}

void Codec::headers(std::string& out, uint32_t streamId, const Headers& headers, bool fin) {
  std::string fixed;
  appendBe32(fixed, streamId & kStreamIdMask);
  headerFrame(out, FrameType::headers, fin ? kFlagFin : 0, fixed, headers);
}

void Codec::data(std::string& out, uint32_t streamId, std::string_view payload, bool fin) {
  do {
    std::string_view chunk = payload.substr(0, kMaxSendChunk);
    payload.remove_prefix(chunk.size());
    bool last = payload.empty();
    appendBe32(out, streamId & kStreamIdMask);
    out.push_back(static_cast<char>(last && fin ? kFlagFin : 0));
    char length[3];
    putBe24(length, static_cast<uint32_t>(chunk.size()));
    out.append(length, 3);
    out.append(chunk);
  } while (!payload.empty());
}

void Codec::rstStream(std::string& out, uint32_t streamId, uint32_t status) {
  size_t start = beginControl(out, FrameType::rstStream, 0);
  appendBe32(out, streamId & kStreamIdMask);
  appendBe32(out, status);
  finishControl(out, start);
}

void Codec::ping(std::string& out, uint32_t id) {
  size_t start = beginControl(out, FrameType::ping, 0);
  appendBe32(out, id);
  finishControl(out, start);
}

void Codec::goAway(std::string& out, uint32_t lastGoodStreamId, uint32_t status) {
  size_t start = beginControl(out, FrameType::goAway, 0);
  appendBe32(out, lastGoodStreamId & kStreamIdMask);
  appendBe32(out, status);
  finishControl(out, start);
}

void Codec::windowUpdate(std::string& out, uint32_t streamId, uint32_t delta) {
  size_t start = beginControl(out, FrameType::windowUpdate, 0);
  appendBe32(out, streamId & kStreamIdMask);
  appendBe32(out, delta & kStreamIdMask);
  finishControl(out, start);
}

void Codec::settings(std::string& out, const std::vector<SettingsEntry>& entries) {
  size_t start = beginControl(out, FrameType::settings, 0);
  appendBe32(out, static_cast<uint32_t>(entries.size()));
  for (const auto& entry : entries) {
    out.push_back(static_cast<char>(entry.flags));
    char id[3];
    putBe24(id, entry.id);
    out.append(id, 3);
    appendBe32(out, entry.value);
  }
  finishControl(out, start);
}

}  // namespace podnet::streaming::spdy
