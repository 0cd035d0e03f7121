// Test helpers: build query packets and decode responses into text, so the
// tests read like dig output.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/wire.h"

namespace podnet::dns::testing {

inline std::string makeQuery(const std::string& name, uint16_t qtype, bool edns = false,
                             uint16_t bufsize = 1232, uint16_t id = 0x1234) {
  std::string wire(kHeaderSize, '\0');
  auto* h = reinterpret_cast<uint8_t*>(wire.data());
  put16(h, id);
  put16(h + 2, flag::RD);
  put16(h + 4, 1);
  if (edns) put16(h + 10, 1);
  // Keep the case the caller wrote: the answer must echo it.
  std::string_view text = name;
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    wire.push_back(char(dot - start));
    wire.append(text.substr(start, dot - start));
    start = dot + 1;
  }
  wire.push_back('\0');
  uint8_t tail[4];
  put16(tail, qtype);
  put16(tail + 2, kClassIn);
  wire.append(reinterpret_cast<char*>(tail), 4);
  if (edns) {
    uint8_t opt[11] = {0};
    put16(opt + 1, type::OPT);
    put16(opt + 3, bufsize);
    wire.append(reinterpret_cast<char*>(opt), 11);
  }
  return wire;
}

struct Record {
  std::string name;
  uint16_t type;
  uint32_t ttl;
  std::string data;  // presentation form
};

struct Message {
  bool ok = false;
  uint16_t id = 0, flags = 0;
  uint8_t rcode = 0;
  std::string questionWire;  // as written (original case)
  std::vector<Record> answer, authority, additional;
  bool hasOpt = false;
  uint16_t optSize = 0;
  uint8_t extendedRcode = 0;
  bool tc() const { return flags & flag::TC; }
  bool aa() const { return flags & flag::AA; }
};

inline Message decode(const std::string& bytes) {
  Message m;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  auto records = walkRecords(p, bytes.size());
  if (!records) return m;
  m.id = get16(p);
  m.flags = get16(p + 2);
  m.rcode = m.flags & 0xF;
  if (get16(p + 4) == 1) {
    auto end = skipName(p, bytes.size(), kHeaderSize);
    m.questionWire = bytes.substr(kHeaderSize, *end - kHeaderSize);
  }
  size_t an = get16(p + 6), ns = get16(p + 8);
  for (size_t i = 0; i < records->size(); ++i) {
    const auto& rr = (*records)[i];
    if (rr.type == type::OPT) {
      m.hasOpt = true;
      m.optSize = rr.klass;
      m.extendedRcode = p[rr.ttlOffset];
      continue;
    }
    Record r{wireToText(*readName(p, bytes.size(), rr.nameOffset)), rr.type,
             get32(p + rr.ttlOffset), ""};
    const uint8_t* d = p + rr.rdataOffset;
    char buf[INET6_ADDRSTRLEN];
    switch (rr.type) {
      case type::A:
        inet_ntop(AF_INET, d, buf, sizeof buf);
        r.data = buf;
        break;
      case type::AAAA:
        inet_ntop(AF_INET6, d, buf, sizeof buf);
        r.data = buf;
        break;
      case type::CNAME:
      case type::PTR:
        r.data = wireToText(*readName(p, bytes.size(), rr.rdataOffset));
        break;
      case type::SRV:
        r.data = std::to_string(get16(d)) + " " + std::to_string(get16(d + 2)) + " " +
                 std::to_string(get16(d + 4)) + " " +
                 wireToText(*readName(p, bytes.size(), rr.rdataOffset + 6));
        break;
      case type::TXT:
        r.data = std::string(reinterpret_cast<const char*>(d + 1), d[0]);
        break;
      case type::SOA: {
        auto mname = skipName(p, bytes.size(), rr.rdataOffset);
        auto rname = skipName(p, bytes.size(), *mname);
        r.data = wireToText(*readName(p, bytes.size(), rr.rdataOffset)) + " " +
                 wireToText(*readName(p, bytes.size(), *mname));
        for (int k = 0; k < 5; ++k) r.data += " " + std::to_string(get32(p + *rname + 4 * k));
        break;
      }
      default:
        r.data = std::to_string(rr.rdataLen) + " bytes";
    }
    (i < an ? m.answer : i < an + ns ? m.authority : m.additional).push_back(r);
  }
  m.ok = true;
  return m;
}

inline std::vector<std::string> datas(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.data);
  return out;
}

}  // namespace podnet::dns::testing
