#include "dns/wire.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace podnet::dns {

namespace {

inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? uint8_t(c + 32) : c; }

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// ASCII A-Z to a-z in 8 bytes at once; every other byte (label lengths are
// below 64, bytes >= 0x80) unchanged.
inline uint64_t lower8(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  uint64_t seven = w & ~high;
  uint64_t atLeastA = seven + (0x80 - 'A') * ones;
  uint64_t aboveZ = seven + (0x80 - 'Z' - 1) * ones;
  uint64_t upper = atLeastA & ~aboveZ & ~w & high;
  return w | (upper >> 2);
}

// 64x64 -> 128 multiply folded to 64 bits (the wyhash mixer).
inline uint64_t mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}

[[gnu::noinline, gnu::cold]] uint64_t randomSeed() {
  std::random_device random;
  return (uint64_t(random()) << 32) | random();
}

}  // namespace

uint64_t hashName(const uint8_t* padded, size_t length) {
  // A function-local static: a zone compiled during another file's static
  // initialization must hash with the same seed as the queries later.
  static const uint64_t seed = randomSeed();
  uint64_t h = seed ^ length;
  for (size_t i = 0; i < length; i += 16)
    h = mix(load64(padded + i) ^ 0xa0761d6478bd642full, load64(padded + i + 8) ^ h);
  return mix(h ^ 0xe7037ed1a0b428dbull, length ^ 0x8ebc6af09c88c6e3ull);
}

uint64_t hashName(std::string_view name) {
  uint8_t buffer[kMaxNameWire + kNamePadding + 16] = {};
  if (name.size() > kMaxNameWire) name = name.substr(0, kMaxNameWire);
  std::memcpy(buffer, name.data(), name.size());
  return hashName(buffer, name.size());
}

std::optional<std::string> textToWire(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  std::string wire;
  if (text.empty()) return std::string(1, '\0');
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) return std::nullopt;
    wire.push_back(char(len));
    for (size_t i = start; i < dot; ++i) wire.push_back(char(lower(uint8_t(text[i]))));
    start = dot + 1;
    if (dot == text.size()) break;
  }
  wire.push_back('\0');
  if (wire.size() > kMaxNameWire) return std::nullopt;
  return wire;
}

std::string wireToText(std::string_view wire) {
  std::string text;
  size_t at = 0;
  while (at < wire.size() && wire[at] != 0) {
    size_t len = uint8_t(wire[at]);
    for (size_t i = at + 1; i <= at + len && i < wire.size(); ++i) {
      uint8_t c = uint8_t(wire[i]);
      if (c == '.' || c == '\\') {
        text.push_back('\\');
        text.push_back(char(c));
      } else if (c < 0x21 || c > 0x7e) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        text += buf;
      } else {
        text.push_back(char(c));
      }
    }
    text.push_back('.');
    at += len + 1;
  }
  return text.empty() ? "." : text;
}

bool wireEndsWith(std::string_view name, std::string_view suffix) {
  if (suffix.size() > name.size()) return false;
  size_t want = name.size() - suffix.size();
  for (size_t at = 0; at < name.size() && name[at] != 0; at += uint8_t(name[at]) + 1) {
    if (at == want) return name.substr(at) == suffix;
    if (at > want) return false;
  }
  return want == name.size() - 1 && suffix.size() == 1;  // suffix is the root
}

std::vector<std::string_view> wireLabels(std::string_view wire) {
  std::vector<std::string_view> labels;
  for (size_t at = 0; at < wire.size() && wire[at] != 0; at += uint8_t(wire[at]) + 1)
    labels.push_back(wire.substr(at + 1, uint8_t(wire[at])));
  return labels;
}

uint64_t processLoopMarker() {
  static const uint64_t marker = [] {
    std::random_device random;
    return (uint64_t(random()) << 32) | random();
  }();
  return marker;
}

size_t Query::udpLimit() const {
  if (!hasEdns) return kMinUdpSize;
  return std::clamp<size_t>(ednsUdpSize, kMinUdpSize, kMaxUdpSize);
}

std::optional<size_t> skipName(const uint8_t* msg, size_t size, size_t at) {
  size_t total = 0;
  while (true) {
    if (at >= size) return std::nullopt;
    uint8_t len = msg[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 1 >= size) return std::nullopt;
      return at + 2;
    }
    if (len & 0xC0) return std::nullopt;
    if (len == 0) return at + 1;
    total += len + 1;
    if (total + 1 > kMaxNameWire) return std::nullopt;
    at += len + 1;
  }
}

std::optional<std::string> readName(const uint8_t* msg, size_t size, size_t at) {
  std::string name;
  int hops = 0;
  while (true) {
    if (at >= size) return std::nullopt;
    uint8_t len = msg[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 1 >= size || ++hops > 64) return std::nullopt;
      size_t target = size_t(len & 0x3F) << 8 | msg[at + 1];
      if (target >= at) return std::nullopt;  // only backwards: no loops
      at = target;
      continue;
    }
    if (len & 0xC0) return std::nullopt;
    if (len == 0) break;
    if (at + 1 + len > size || name.size() + len + 2 > kMaxNameWire) return std::nullopt;
    name.push_back(char(len));
    for (size_t i = 0; i < len; ++i) name.push_back(char(lower(msg[at + 1 + i])));
    at += len + 1;
  }
  name.push_back('\0');
  return name;
}

std::optional<std::vector<RecordRef>> walkRecords(const uint8_t* msg, size_t size) {
  if (size < kHeaderSize) return std::nullopt;
  size_t at = kHeaderSize;
  for (uint16_t q = get16(msg + 4); q > 0; --q) {
    auto end = skipName(msg, size, at);
    if (!end || *end + 4 > size) return std::nullopt;
    at = *end + 4;
  }
  size_t records = size_t(get16(msg + 6)) + get16(msg + 8) + get16(msg + 10);
  std::vector<RecordRef> refs;
  refs.reserve(std::min<size_t>(records, 512));
  for (size_t i = 0; i < records; ++i) {
    auto end = skipName(msg, size, at);
    if (!end || *end + 10 > size) return std::nullopt;
    RecordRef ref{at,       get16(msg + *end), get16(msg + *end + 2),
                  *end + 4, *end + 10,         get16(msg + *end + 8),
                  0};
    ref.end = ref.rdataOffset + ref.rdataLen;
    if (ref.end > size) return std::nullopt;
    refs.push_back(ref);
    at = ref.end;
  }
  if (at != size) return std::nullopt;
  return refs;
}

ParseStatus parseQuery(const uint8_t* p, size_t size, Query& q) {
  if (size < kHeaderSize) return ParseStatus::drop;
  q.id = get16(p);
  q.flags = get16(p + 2);
  q.hasEdns = false;
  q.ednsUdpSize = 0;
  q.ednsVersion = 0;
  q.dnssecOk = false;
  q.hasLoopMarker = false;
  q.nameLen = 0;
  q.questionEnd = 0;
  if (q.flags & flag::QR) return ParseStatus::drop;  // a response: never answer it (loops)
  if (((q.flags >> 11) & 0xF) != 0) return ParseStatus::notImp;
  if (get16(p + 4) != 1) return ParseStatus::formErr;
  // The labels first (bounds, no compression in a lone question), then the
  // whole name copied and lowercased 8 bytes at a time, zero-padded.
  // A length byte must lie inside the packet and leave room for the root
  // within 255 bytes: one bound for both.
  const uint8_t* name = p + kHeaderSize;
  size_t limit = std::min(size - kHeaderSize, kMaxNameWire);
  size_t at = 0;
  uint8_t labels = 0;
  while (true) {
    if (at >= limit) return ParseStatus::formErr;
    uint8_t len = name[at];
    if (len == 0) break;
    if (len & 0xC0) return ParseStatus::formErr;
    q.labelOffsets[labels++] = uint8_t(at);
    at += len + 1;
  }
  size_t nameLen = at + 1;
  at = kHeaderSize + nameLen;
  std::memcpy(q.lowerName, name, nameLen);
  std::memset(q.lowerName + nameLen, 0, kNamePadding);
  for (size_t i = 0; i < nameLen; i += 8) {
    uint64_t w = lower8(load64(q.lowerName + i));
    std::memcpy(q.lowerName + i, &w, 8);
  }
  q.nameLen = nameLen;
  q.labelCount = labels;
  q.nameHash = hashName(q.lowerName, nameLen);
  if (at + 4 > size) return ParseStatus::formErr;
  q.qtype = get16(p + at);
  q.qclass = get16(p + at + 2);
  at += 4;
  q.questionEnd = at;

  uint16_t answers = get16(p + 6), authority = get16(p + 8), additional = get16(p + 10);
  size_t records = size_t(answers) + authority + additional;
  bool sawOpt = false;
  bool badVersion = false;
  for (size_t i = 0; i < records; ++i) {
    size_t nameStart = at;
    auto end = skipName(p, size, at);
    if (!end || *end + 10 > size) return ParseStatus::formErr;
    uint16_t rrtype = get16(p + *end);
    uint16_t rdlen = get16(p + *end + 8);
    size_t rdata = *end + 10;
    if (rdata + rdlen > size) return ParseStatus::formErr;
    if (rrtype == type::OPT) {
      bool inAdditional = i >= size_t(answers) + authority;
      if (sawOpt || !inAdditional || *end != nameStart + 1 || p[nameStart] != 0)
        return ParseStatus::formErr;
      sawOpt = true;
      q.hasEdns = true;
      q.ednsUdpSize = get16(p + *end + 2);
      q.ednsVersion = p[*end + 5];
      q.dnssecOk = (p[*end + 6] & 0x80) != 0;
      // Options: code, length, data; each inside the rdata.
      size_t opt = rdata;
      while (opt < rdata + rdlen) {
        if (opt + 4 > rdata + rdlen) return ParseStatus::formErr;
        size_t optLen = get16(p + opt + 2);
        if (opt + 4 + optLen > rdata + rdlen) return ParseStatus::formErr;
        if (get16(p + opt) == kLoopOptionCode && optLen == 8) {
          q.hasLoopMarker = true;
          q.loopMarker = uint64_t(get32(p + opt + 4)) << 32 | get32(p + opt + 8);
        }
        opt += 4 + optLen;
      }
      if (q.ednsVersion != 0) badVersion = true;
    }
    at = rdata + rdlen;
  }
  if (at != size) return ParseStatus::formErr;
  return badVersion ? ParseStatus::badVers : ParseStatus::ok;
}

size_t appendOpt(uint8_t* out, size_t at, size_t cap, uint16_t extendedRcode) {
  if (at + 11 > cap) return at;
  out[at] = 0;
  put16(out + at + 1, type::OPT);
  put16(out + at + 3, kOurUdpSize);
  out[at + 5] = uint8_t(extendedRcode >> 4);
  out[at + 6] = 0;  // version 0
  out[at + 7] = 0;
  out[at + 8] = 0;
  put16(out + at + 9, 0);
  return at + 11;
}

size_t writeErrorResponse(const uint8_t* packet, size_t size, const Query* parsed, uint16_t rcode,
                          uint8_t* out, size_t cap) {
  if (size < 2 || cap < kHeaderSize) return 0;
  uint16_t queryFlags = size >= 4 ? get16(packet + 2) : 0;
  uint16_t flags = flag::QR | (queryFlags & (0x7800 | flag::RD)) | flag::RA | (rcode & 0xF);
  std::memset(out, 0, kHeaderSize);
  out[0] = packet[0];
  out[1] = packet[1];
  put16(out + 2, flags);
  size_t at = kHeaderSize;
  if (parsed && parsed->questionEnd > kHeaderSize && parsed->questionEnd <= size &&
      parsed->questionEnd <= cap) {
    std::memcpy(out + at, packet + kHeaderSize, parsed->questionEnd - kHeaderSize);
    at = parsed->questionEnd;
    put16(out + 4, 1);
  }
  if ((parsed && parsed->hasEdns) || rcode > 15) {
    size_t withOpt = appendOpt(out, at, cap, rcode);
    if (withOpt != at) put16(out + 10, 1);
    at = withOpt;
  }
  return at;
}

MessageBuilder::MessageBuilder(bool compress) : bytes_(kHeaderSize, '\0'), compress_(compress) {}

void MessageBuilder::setFlags(uint16_t flags) {
  bytes_[2] = char(flags >> 8);
  bytes_[3] = char(flags);
}

void MessageBuilder::question(std::string_view qname, uint16_t qtype, uint16_t qclass) {
  name(qname, true);
  uint8_t tail[4];
  put16(tail, qtype);
  put16(tail + 2, qclass);
  bytes_.append(reinterpret_cast<char*>(tail), 4);
  bytes_[4] = 0;
  bytes_[5] = 1;
}

void MessageBuilder::beginSection(int section) { section_ = section; }

void MessageBuilder::bumpCount() {
  ++counts_[section_];
  size_t at = 6 + 2 * size_t(section_);
  bytes_[at] = char(counts_[section_] >> 8);
  bytes_[at + 1] = char(counts_[section_]);
}

void MessageBuilder::name(std::string_view wire, bool compress) {
  size_t start = bytes_.size();
  std::vector<size_t> labelStarts;
  size_t pos = 0;
  bool pointed = false;
  while (pos < wire.size() && wire[pos] != 0) {
    if (compress && compress_) {
      auto found = suffixes_.find(wire.substr(pos));
      if (found != suffixes_.end()) {
        bytes_.append(wire.substr(0, pos));
        uint8_t ptr[2];
        put16(ptr, uint16_t(0xC000 | found->second));
        bytes_.append(reinterpret_cast<char*>(ptr), 2);
        pointed = true;
        break;
      }
    }
    labelStarts.push_back(pos);
    pos += uint8_t(wire[pos]) + 1;
  }
  if (!pointed) bytes_.append(wire.substr(0, pos + 1));
  for (size_t label : labelStarts) {
    if (start + label >= 0x4000) break;
    suffixes_.emplace(std::string(wire.substr(label)), uint16_t(start + label));
  }
}

void MessageBuilder::record(std::string_view owner, uint16_t rrtype, uint32_t ttl,
                            std::string_view rdata) {
  name(owner, true);
  uint8_t fixed[10];
  put16(fixed, rrtype);
  put16(fixed + 2, kClassIn);
  put32(fixed + 4, ttl);
  put16(fixed + 8, uint16_t(rdata.size()));
  bytes_.append(reinterpret_cast<char*>(fixed), 10);
  bytes_.append(rdata);
  bumpCount();
}

void MessageBuilder::a(std::string_view owner, uint32_t ttl, const uint8_t ip[4]) {
  record(owner, type::A, ttl, {reinterpret_cast<const char*>(ip), 4});
}

void MessageBuilder::aaaa(std::string_view owner, uint32_t ttl, const uint8_t ip[16]) {
  record(owner, type::AAAA, ttl, {reinterpret_cast<const char*>(ip), 16});
}

void MessageBuilder::nameRecord(std::string_view owner, uint16_t rrtype, uint32_t ttl,
                                std::string_view target) {
  name(owner, true);
  uint8_t fixed[10];
  put16(fixed, rrtype);
  put16(fixed + 2, kClassIn);
  put32(fixed + 4, ttl);
  size_t lenAt = bytes_.size() + 8;
  bytes_.append(reinterpret_cast<char*>(fixed), 10);
  size_t rdataStart = bytes_.size();
  name(target, true);  // CNAME, PTR, NS: compression allowed (RFC 3597 section 4)
  size_t rdlen = bytes_.size() - rdataStart;
  bytes_[lenAt] = char(rdlen >> 8);
  bytes_[lenAt + 1] = char(rdlen);
  bumpCount();
}

void MessageBuilder::srv(std::string_view owner, uint32_t ttl, uint16_t priority, uint16_t weight,
                         uint16_t port, std::string_view target) {
  name(owner, true);
  uint8_t fixed[16];
  put16(fixed, type::SRV);
  put16(fixed + 2, kClassIn);
  put32(fixed + 4, ttl);
  put16(fixed + 8, uint16_t(6 + target.size()));
  put16(fixed + 10, priority);
  put16(fixed + 12, weight);
  put16(fixed + 14, port);
  bytes_.append(reinterpret_cast<char*>(fixed), 16);
  name(target, false);  // RFC 2782: the target is never compressed
  bumpCount();
}

void MessageBuilder::txt(std::string_view owner, uint32_t ttl, std::string_view text) {
  std::string rdata;
  do {
    size_t chunk = std::min<size_t>(text.size(), 255);
    rdata.push_back(char(chunk));
    rdata.append(text.substr(0, chunk));
    text.remove_prefix(chunk);
  } while (!text.empty());
  record(owner, type::TXT, ttl, rdata);
}

void MessageBuilder::soa(std::string_view owner, uint32_t ttl, std::string_view mname,
                         std::string_view rname, uint32_t serial, uint32_t refresh, uint32_t retry,
                         uint32_t expire, uint32_t minimum) {
  name(owner, true);
  uint8_t fixed[10];
  put16(fixed, type::SOA);
  put16(fixed + 2, kClassIn);
  put32(fixed + 4, ttl);
  size_t lenAt = bytes_.size() + 8;
  bytes_.append(reinterpret_cast<char*>(fixed), 10);
  size_t rdataStart = bytes_.size();
  name(mname, true);
  name(rname, true);
  uint8_t numbers[20];
  put32(numbers, serial);
  put32(numbers + 4, refresh);
  put32(numbers + 8, retry);
  put32(numbers + 12, expire);
  put32(numbers + 16, minimum);
  bytes_.append(reinterpret_cast<char*>(numbers), 20);
  size_t rdlen = bytes_.size() - rdataStart;
  bytes_[lenAt] = char(rdlen >> 8);
  bytes_[lenAt + 1] = char(rdlen);
  bumpCount();
}

}  // namespace podnet::dns
