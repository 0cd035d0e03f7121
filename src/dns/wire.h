// DNS wire format (RFC 1035, EDNS0 RFC 6891): a strict, bounds-checked query
// parser that never allocates, and a message builder with name compression
// used to precompute answers when a zone snapshot is compiled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace podnet::dns {

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28,
                          SRV = 33, OPT = 41, IXFR = 251, AXFR = 252, ANY = 255;
}
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassAny = 255;

namespace rcode {
inline constexpr uint8_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                         REFUSED = 5;
inline constexpr uint16_t BADVERS = 16;  // extended: upper 8 bits go in the OPT record
}  // namespace rcode

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;
inline constexpr uint16_t kMinUdpSize = 512;
// What we advertise in our OPT record and the most we send over UDP whatever
// the client offers (the DNS flag day 2020 value).
inline constexpr uint16_t kOurUdpSize = 1232;
inline constexpr uint16_t kMaxUdpSize = 4096;

inline uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

// Header flag bits (second 16-bit word).
namespace flag {
inline constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080;
}

// "Web.Default.svc.cluster.local" or with a trailing dot -> lowercase wire
// name; nullopt when a label is empty or longer than 63 bytes or the name
// longer than 255. "." and "" are the root.
std::optional<std::string> textToWire(std::string_view text);
// Wire name (uncompressed) -> "web.default.svc.cluster.local." (escapes
// dots and non-printable bytes inside labels as \DDD).
std::string wireToText(std::string_view wire);
// True if `name` equals `suffix` or ends with it at a label boundary (both
// lowercase uncompressed wire names).
bool wireEndsWith(std::string_view name, std::string_view suffix);
// The labels of a wire name, in order ("web", "default", ...).
std::vector<std::string_view> wireLabels(std::string_view wire);

enum class ParseStatus {
  ok,
  drop,     // not even a readable query header: no answer
  formErr,  // header readable, the rest malformed
  notImp,   // an opcode other than QUERY
  badVers,  // EDNS version other than 0
};

// Bytes after a name in a padded name buffer, always zero: hashing and
// comparing names read whole 8-byte words (see hashName).
inline constexpr size_t kNamePadding = 16;

// One parsed query. Points into the packet it was parsed from; `lowerName`
// is the question name in lowercase wire form (for lookups and cache keys),
// followed by kNamePadding zero bytes.
struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;      // the query's header flags word
  size_t questionEnd = 0;  // offset after QTYPE/QCLASS (12 + name + 4)
  size_t nameLen = 0;      // wire length of the question name
  alignas(8) uint8_t lowerName[kMaxNameWire + kNamePadding + 2]{};
  uint64_t nameHash = 0;  // hashName(lowerName, nameLen)
  // Where each label of the name starts in lowerName (the root not counted).
  uint8_t labelCount = 0;
  uint8_t labelOffsets[kMaxNameWire / 2 + 1];
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool hasEdns = false;
  uint16_t ednsUdpSize = 0;  // as sent (may be < 512)
  uint8_t ednsVersion = 0;
  bool dnssecOk = false;
  // Our forwarding-loop marker (an EDNS option only our forwarder sends).
  bool hasLoopMarker = false;
  uint64_t loopMarker = 0;

  std::string_view name() const { return {reinterpret_cast<const char*>(lowerName), nameLen}; }
  // The largest response the client accepts over UDP.
  size_t udpLimit() const;
};

// A hash of a lowercase wire name for the zone's table: `padded` holds
// `length` bytes followed by at least kNamePadding zero bytes. Seeded once
// per process (names come from API objects anyone with create rights can
// choose, so collisions must not be predictable).
uint64_t hashName(const uint8_t* padded, size_t length);
// hashName of a name without padding (copies it).
uint64_t hashName(std::string_view lowerWireName);

// Strict parse of a query: exactly one question with an uncompressed name,
// every record of the other sections walked within bounds, at most one OPT
// (root name, in the additional section), no trailing bytes. Never reads
// outside [packet, packet+size).
ParseStatus parseQuery(const uint8_t* packet, size_t size, Query& query);

// EDNS option (local/experimental range) carrying a per-process random
// value in every query our forwarder sends: seeing our own value come back
// means the upstream is ourselves (e.g. a resolv.conf pointing at the
// cluster DNS), which is answered with SERVFAIL instead of looping.
inline constexpr uint16_t kLoopOptionCode = 65283;
uint64_t processLoopMarker();

// A header-only (or header + question, when readable) error response for
// `rcode`, written into out (capacity cap >= 512 is always enough when the
// question is echoed). Returns the length, or 0 when nothing can be said.
size_t writeErrorResponse(const uint8_t* packet, size_t size, const Query* parsed, uint16_t rcode,
                          uint8_t* out, size_t cap);

// Appends an OPT record (our UDP size, extended rcode bits, version 0).
size_t appendOpt(uint8_t* out, size_t at, size_t cap, uint16_t extendedRcode = 0);

// Offsets of one resource record inside a message.
struct RecordRef {
  size_t nameOffset;
  uint16_t type;
  uint16_t klass;
  size_t ttlOffset;
  size_t rdataOffset;
  uint16_t rdataLen;
  size_t end;
};
// Skips a (possibly compressed) name starting at `at`; returns the offset
// after it or nullopt when it is malformed or runs past the end.
std::optional<size_t> skipName(const uint8_t* msg, size_t size, size_t at);
// Reads a possibly compressed name into lowercase wire form (loops and
// forward pointers rejected).
std::optional<std::string> readName(const uint8_t* msg, size_t size, size_t at);
// Walks the records of every section after the question(s); nullopt when
// the message is malformed. `sectionCounts` gets an/ns/ar.
std::optional<std::vector<RecordRef>> walkRecords(const uint8_t* msg, size_t size);

// Builds a DNS message with name compression (RFC 1035 4.1.4): every name
// written (owner names and the names inside CNAME/PTR/SOA rdata) registers
// its suffixes; later names point at the longest registered suffix.
class MessageBuilder {
 public:
  // compress=false writes every name in full (for sections appended after a
  // question whose length is not known when the answer is built).
  explicit MessageBuilder(bool compress = true);
  // Writes the question (the name must be lowercase wire form).
  void question(std::string_view name, uint16_t qtype, uint16_t qclass = kClassIn);
  void beginSection(int section);  // 0 answer, 1 authority, 2 additional
  void record(std::string_view owner, uint16_t rrtype, uint32_t ttl, std::string_view rdata);
  void a(std::string_view owner, uint32_t ttl, const uint8_t ip[4]);
  void aaaa(std::string_view owner, uint32_t ttl, const uint8_t ip[16]);
  void nameRecord(std::string_view owner, uint16_t rrtype, uint32_t ttl, std::string_view target);
  void srv(std::string_view owner, uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port,
           std::string_view target);
  void txt(std::string_view owner, uint32_t ttl, std::string_view text);
  void soa(std::string_view owner, uint32_t ttl, std::string_view mname, std::string_view rname,
           uint32_t serial, uint32_t refresh, uint32_t retry, uint32_t expire, uint32_t minimum);
  void setFlags(uint16_t flags);

  const std::string& bytes() const { return bytes_; }
  uint16_t count(int section) const { return counts_[section]; }

 private:
  void name(std::string_view wire, bool compress);
  void bumpCount();

  std::string bytes_;
  uint16_t counts_[3] = {0, 0, 0};
  int section_ = 0;
  bool compress_ = true;
  std::map<std::string, uint16_t, std::less<>> suffixes_;
};

}  // namespace podnet::dns
