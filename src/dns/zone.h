// The zone snapshot: a pure compiler from the Services, EndpointSlices, Pods
// and Namespaces of a cluster to an immutable map from lowercase wire name
// to prebuilt answers (Kubernetes DNS-Based Service Discovery 1.1.0, with
// CoreDNS's choices where the specification is silent). The query path only
// looks a name up and copies bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/informer.h"
#include "core/ip.h"
#include "dns/wire.h"

namespace podnet::dns {

struct ZoneConfig {
  std::string zone = "cluster.local";
  uint32_t ttl = 5;  // every record; the SOA's MINIMUM (negative TTL); SOA TTL min(ttl, 300)
  // Reverse zones we answer for (PTR names of these ranges never go upstream).
  std::vector<core::Cidr> reverseCidrs;
  // The SOA serial; 0: the compile time in seconds (a fixed one makes two
  // compiles comparable).
  uint32_t serial = 0;
};

// The API objects the zone is compiled from, as the informers cache them.
struct ClusterObjects {
  std::vector<client::ObjectPtr> services, endpointSlices, pods, namespaces;
};

// The same, read one kind at a time: each function visits every object of
// its kind, so a cache that keeps them encoded decodes one at a time and a
// build never holds the whole cluster parsed (issue 21).
struct ObjectSource {
  using Visit = std::function<void(const client::Json&)>;
  std::function<void(const Visit&)> services, endpointSlices, pods, namespaces;
};

// The sections after the question of one prebuilt response. Names are
// compressed against a question name at offset 12 (the question is echoed
// from the query, whose name has the same length whatever its case).
struct Answer {
  uint8_t rcode = rcode::NOERROR;
  uint16_t counts[3] = {0, 0, 0};  // answer, authority, additional
  std::string body;
};

struct Node {
  std::vector<std::pair<uint16_t, Answer>> byType;
  Answer nodata;         // NOERROR, no answer, the SOA in the authority section
  bool isCname = false;  // byType holds one CNAME answer served for every type
};

// One prebuilt answer as the query path reads it: a view into the zone.
struct AnswerView {
  const uint8_t* body = nullptr;
  size_t size = 0;
  uint8_t rcode = rcode::NOERROR;
  uint16_t counts[3] = {0, 0, 0};  // answer, authority, additional
};

// Which names we are authoritative for: the cluster zone and the reverse
// zones of the configured ranges. Needed before the first snapshot too (a
// cluster name then gets SERVFAIL, everything else goes upstream).
class Authority {
 public:
  explicit Authority(const ZoneConfig& config);
  // 0: the cluster zone; 1..n: reverse zone of reverseCidrs[i-1]; -1: not ours.
  int classify(std::string_view lowerWireName) const;
  // The same for a parsed query (the zone suffix found from its label offsets).
  int classify(const Query& query) const;
  const std::string& zoneWire() const { return zoneWire_; }
  // The SOA owner name (wire) of authority index i.
  const std::string& ownerWire(int index) const { return owners_[size_t(index)]; }
  size_t size() const { return owners_.size(); }

 private:
  int classifyReverse(std::string_view lowerWireName) const;

  std::string zoneWire_;
  size_t zoneLabels_ = 0;
  std::vector<core::Cidr> cidrs_;
  std::vector<std::string> owners_;
};

// An immutable snapshot. Every name is packed into one arena with its
// answers: a header, the name (zero-padded to 8 bytes), a table of answers
// (NODATA first) and their bytes. Lookups go through a flat open-addressing
// table of (hash tag, arena offset) pairs: a hit reads one slot and a few
// adjacent cache lines of the arena, which the query loop prefetches for a
// whole batch before answering it.
class Zone {
 public:
  using Entries = std::vector<std::pair<std::string, Node>>;
  Zone(std::string zoneWire, Entries entries, std::vector<Answer> nxdomain);

  // A name of the zone (opaque; points into the arena, valid as long as the zone).
  struct Name;
  const Name* find(std::string_view lowerWireName) const;
  // The query's name (padded, hashed by parseQuery).
  const Name* find(const Query& query) const {
    return lookup(query.lowerName, query.nameLen, query.nameHash);
  }
  // The answer for `qtype` at `name`: its RRset, the CNAME, or NODATA.
  AnswerView answer(const Name* name, uint16_t qtype) const;
  // NXDOMAIN with the SOA of authority `index` (uncompressed).
  AnswerView nxdomain(int index) const;
  // Answers `<dashed-ip>.<ns>.pod.<zone>` written in a non-canonical form
  // (e.g. IPv6 with leading zeros) by mapping it to the canonical name.
  const Name* findPodAlias(std::string_view lowerWireName) const;
  // The same, for a query whose name is known to end with the zone: only
  // names of the form `<label>.<ns>.pod.<zone>` are looked at.
  const Name* findPodAlias(const Query& query) const;
  // Cache prefetches for a batch: the slot of a hash, then the name it
  // points to (call the second once the first has had time to arrive).
  void prefetchSlot(uint64_t hash) const { __builtin_prefetch(&slots_[hash & mask_]); }
  void prefetchName(uint64_t hash) const;
  size_t nameCount() const { return names_; }
  // Whether `other` answers every question byte for byte as this one.
  bool identicalTo(const Zone& other) const;
  const std::string& zoneWire() const { return zoneWire_; }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t offsetPlusOne = 0;  // in 8-byte words; 0: empty
  };
  const Name* lookup(const uint8_t* padded, size_t length, uint64_t hash) const;
  const uint8_t* at(uint32_t offsetPlusOne) const {
    return reinterpret_cast<const uint8_t*>(arena_.data() + (offsetPlusOne - 1));
  }

  std::string zoneWire_;
  size_t zoneLabels_ = 0;
  size_t names_ = 0;
  std::vector<uint64_t> arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::vector<Answer> nxdomain_;
};

// Pure: no I/O. Objects with fields of the wrong type are skipped.
std::shared_ptr<const Zone> compileZone(const ZoneConfig& config, const ClusterObjects& objects);
std::shared_ptr<const Zone> compileZone(const ZoneConfig& config, const ObjectSource& source);

// The PTR owner name of an address: "4.3.2.1.in-addr.arpa." or 32 nibbles
// under ip6.arpa, as lowercase wire.
std::string reverseName(const core::IpAddress& ip);
// The dashed form CoreDNS uses as a hostname: 10-1-2-3, fd00--1.
std::string dashedIp(const core::IpAddress& ip);

}  // namespace podnet::dns
