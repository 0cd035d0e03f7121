#include "dns/zone.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "api/object.h"

namespace podnet::dns {

namespace {

constexpr uint32_t kSoaRefresh = 7200, kSoaRetry = 1800, kSoaExpire = 86400;

const std::string kInAddrArpa = *textToWire("in-addr.arpa");
const std::string kIp6Arpa = *textToWire("ip6.arpa");

// The records collected for one name before answers are built.
struct Srv {
  uint16_t port;
  std::string target;  // wire
  auto operator<=>(const Srv&) const = default;
};
struct RecordSet {
  std::set<std::array<uint8_t, 4>> a;
  std::set<std::array<uint8_t, 16>> aaaa;
  std::set<std::string> ptr;
  std::set<Srv> srv;
  std::string cname;
  std::string txt;
  bool hasTxt = false;
  bool apex = false;
};

std::string str(const api::Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}
const api::Json& field(const api::Json& obj, const char* key) {
  static const api::Json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it != obj.end() ? *it : null;
}
bool boolField(const api::Json& obj, const char* key, bool fallback) {
  const auto& value = field(obj, key);
  return value.is_boolean() ? value.get<bool>() : fallback;
}

std::string join(std::string_view label, std::string_view wire) {
  std::string out;
  out.push_back(char(label.size()));
  out.append(label);
  out.append(wire);
  return out;
}

// A valid DNS label in lowercase, or "".
std::string labelOf(std::string_view text) {
  if (text.empty() || text.size() > 63) return {};
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
    if (c == '.') return {};
  }
  return out;
}

class Compiler {
 public:
  Compiler(const ZoneConfig& config, const Authority& authority)
      : config_(config), authority_(authority), zone_(authority.zoneWire()) {
    svcZone_ = join("svc", zone_);
    podZone_ = join("pod", zone_);
    mname_ = join("ns", join("dns", zone_));
    rname_ = join("hostmaster", zone_);
    serial_ = config_.serial ? config_.serial : uint32_t(std::time(nullptr));
  }

  void addIp(const std::string& name, const core::IpAddress& ip) {
    auto& set = names_[name];
    if (ip.v6) {
      std::array<uint8_t, 16> bytes;
      std::copy(ip.bytes.begin(), ip.bytes.end(), bytes.begin());
      set.aaaa.insert(bytes);
    } else {
      set.a.insert({ip.bytes[0], ip.bytes[1], ip.bytes[2], ip.bytes[3]});
    }
  }
  void addPtr(const core::IpAddress& ip, const std::string& target) {
    names_[reverseName(ip)].ptr.insert(target);
  }
  void addSrv(const std::string& name, uint16_t port, const std::string& target) {
    names_[name].srv.insert({port, target});
  }

  void compile(const ObjectSource& source) {
    names_[zone_].apex = true;
    names_[join("dns-version", zone_)].txt = "1.1.0";
    names_[join("dns-version", zone_)].hasTxt = true;
    names_[svcZone_];
    names_[podZone_];
    if (source.namespaces)
      source.namespaces([&](const api::Json& ns) {
        if (!ns.is_object()) return;
        std::string label = labelOf(api::name(ns));
        if (label.empty()) return;
        names_[join(label, svcZone_)];
        names_[join(label, podZone_)];
      });
    if (source.endpointSlices)
      source.endpointSlices([&](const api::Json& slice) {
        if (slice.is_object()) indexSlice(slice);
      });
    std::map<std::pair<std::string, std::string>, bool> headless;  // (ns, name) -> publishNotReady
    if (source.services)
      source.services([&](const api::Json& svc) {
        if (svc.is_object()) addService(svc, headless);
      });
    if (source.pods)
      source.pods([&](const api::Json& pod) {
        if (pod.is_object()) addPod(pod, headless);
      });
  }

  std::shared_ptr<const Zone> build() {
    // Every ancestor of a cluster name down to the zone exists (as an empty
    // non-terminal answering NODATA), so `<ns>.svc.<zone>` and `_tcp...`
    // are not NXDOMAIN.
    std::vector<std::string> ancestors;
    for (const auto& [name, set] : names_) {
      if (!wireEndsWith(name, zone_)) continue;
      for (size_t at = uint8_t(name[0]) + 1; at + zone_.size() <= name.size();
           at += uint8_t(name[at]) + 1)
        ancestors.emplace_back(name.substr(at));
    }
    for (auto& name : ancestors) names_[name];

    Zone::Entries nodes;
    nodes.reserve(names_.size());
    for (const auto& [name, set] : names_) nodes.emplace_back(name, buildNode(name, set));
    std::vector<Answer> nxdomain;
    for (size_t i = 0; i < authority_.size(); ++i) {
      MessageBuilder b(/*compress=*/false);       // the query's name is not known here
      b.question(std::string(1, '\0'), type::A);  // placeholder, cut off below
      b.beginSection(1);
      addSoa(b, authority_.ownerWire(int(i)));
      Answer answer = cut(b, std::string(1, '\0'));
      answer.rcode = rcode::NXDOMAIN;
      nxdomain.push_back(std::move(answer));
    }
    return std::make_shared<const Zone>(zone_, std::move(nodes), std::move(nxdomain));
  }

 private:
  struct Endpoint {
    core::IpAddress ip;
    std::string hostname;  // label
    bool ready;
  };
  struct SlicePort {
    std::string name, protocol;
    uint16_t port;
  };
  struct ServiceEndpoints {
    std::vector<Endpoint> endpoints;
    std::vector<SlicePort> ports;
  };

  void indexSlice(const api::Json& slice) {
    std::string addressType = str(slice, "addressType");
    if (addressType == "FQDN") return;
    auto labels = api::labels(slice);
    auto svcName = labels.find("kubernetes.io/service-name");
    if (svcName == labels.end()) return;
    auto& entry = endpoints_[{api::namespaceOf(slice), svcName->second}];
    const auto& ports = field(slice, "ports");
    std::vector<SlicePort> slicePorts;
    if (ports.is_array()) {
      for (const auto& port : ports) {
        const auto& number = field(port, "port");
        if (!number.is_number_integer()) continue;
        int value = number.get<int>();
        if (value < 1 || value > 65535) continue;
        std::string protocol = str(port, "protocol");
        slicePorts.push_back({labelOf(str(port, "name")),
                              labelOf(protocol.empty() ? "TCP" : protocol), uint16_t(value)});
      }
    }
    for (auto& port : slicePorts) {
      bool seen = false;
      for (const auto& have : entry.ports)
        seen |= have.name == port.name && have.protocol == port.protocol && have.port == port.port;
      if (!seen) entry.ports.push_back(port);
    }
    const auto& list = field(slice, "endpoints");
    if (!list.is_array()) return;
    for (const auto& endpoint : list) {
      const auto& conditions = field(endpoint, "conditions");
      // conditions.ready == nil counts as ready (CoreDNS, EndpointSlice API).
      bool ready = boolField(conditions, "ready", true);
      std::string hostname = labelOf(str(endpoint, "hostname"));
      const auto& addresses = field(endpoint, "addresses");
      if (!addresses.is_array()) continue;
      for (const auto& address : addresses) {
        if (!address.is_string()) continue;
        auto ip = core::IpAddress::parse(address.get<std::string>());
        if (!ip) continue;
        entry.endpoints.push_back({*ip, hostname.empty() ? dashedIp(*ip) : hostname, ready});
      }
    }
  }

  void addService(const api::Json& svc,
                  std::map<std::pair<std::string, std::string>, bool>& headless) {
    std::string ns = labelOf(api::namespaceOf(svc));
    std::string name = labelOf(api::name(svc));
    if (ns.empty() || name.empty()) return;
    const auto& spec = field(svc, "spec");
    std::string fqdn = join(name, join(ns, svcZone_));
    if (str(spec, "type") == "ExternalName") {
      auto target = textToWire(str(spec, "externalName"));
      if (target && target->size() > 1) names_[fqdn].cname = *target;
      return;
    }
    std::vector<core::IpAddress> clusterIps;
    bool isHeadless = false;
    const auto& ips = field(spec, "clusterIPs");
    std::vector<std::string> ipTexts;
    if (ips.is_array()) {
      for (const auto& ip : ips)
        if (ip.is_string()) ipTexts.push_back(ip.get<std::string>());
    }
    if (ipTexts.empty()) ipTexts.push_back(str(spec, "clusterIP"));
    for (const auto& text : ipTexts) {
      if (text == "None") isHeadless = true;
      if (auto ip = core::IpAddress::parse(text)) clusterIps.push_back(*ip);
    }
    if (!isHeadless && clusterIps.empty()) return;  // no ClusterIP allocated yet
    bool publishNotReady = boolField(spec, "publishNotReadyAddresses", false);
    if (isHeadless) headless[{ns, name}] = publishNotReady;

    if (!isHeadless) {
      for (const auto& ip : clusterIps) {
        addIp(fqdn, ip);
        addPtr(ip, fqdn);
      }
      const auto& ports = field(spec, "ports");
      if (ports.is_array()) {
        for (const auto& port : ports) {
          const auto& number = field(port, "port");
          if (!number.is_number_integer() || number.get<int>() < 1 || number.get<int>() > 65535)
            continue;
          uint16_t value = uint16_t(number.get<int>());
          std::string protocol =
              labelOf(str(port, "protocol").empty() ? "TCP" : str(port, "protocol"));
          std::string portName = labelOf(str(port, "name"));
          addSrv(fqdn, value, fqdn);
          if (!portName.empty() && !protocol.empty())
            addSrv(join("_" + portName, join("_" + protocol, fqdn)), value, fqdn);
        }
      }
    }
    auto found = endpoints_.find({ns, name});
    if (found == endpoints_.end()) return;
    for (const auto& endpoint : found->second.endpoints) {
      if (!endpoint.ready && !publishNotReady) continue;
      std::string host = join(endpoint.hostname, fqdn);
      addIp(host, endpoint.ip);
      addPtr(endpoint.ip, host);
      if (!isHeadless) continue;
      addIp(fqdn, endpoint.ip);
      for (const auto& port : found->second.ports) {
        addSrv(fqdn, port.port, host);
        if (!port.name.empty() && !port.protocol.empty())
          addSrv(join("_" + port.name, join("_" + port.protocol, fqdn)), port.port, host);
      }
    }
  }

  void addPod(const api::Json& pod,
              const std::map<std::pair<std::string, std::string>, bool>& headless) {
    std::string ns = labelOf(api::namespaceOf(pod));
    if (ns.empty()) return;
    const auto& status = field(pod, "status");
    std::string phase = str(status, "phase");
    if (phase == "Succeeded" || phase == "Failed") return;
    std::vector<core::IpAddress> ips;
    const auto& podIps = field(status, "podIPs");
    if (podIps.is_array()) {
      for (const auto& entry : podIps)
        if (auto ip = core::IpAddress::parse(str(entry, "ip"))) ips.push_back(*ip);
    }
    if (ips.empty())
      if (auto ip = core::IpAddress::parse(str(status, "podIP"))) ips.push_back(*ip);
    if (ips.empty()) return;
    std::string podNs = join(ns, podZone_);
    for (const auto& ip : ips) addIp(join(dashedIp(ip), podNs), ip);

    // hostname + subdomain: a record under a same-namespace headless Service
    // named after the subdomain; the pod must be ready unless the Service
    // publishes not-ready addresses.
    const auto& spec = field(pod, "spec");
    std::string hostname = labelOf(str(spec, "hostname"));
    std::string subdomain = labelOf(str(spec, "subdomain"));
    if (hostname.empty() || subdomain.empty()) return;
    auto svc = headless.find({ns, subdomain});
    if (svc == headless.end()) return;
    bool ready = false;
    const auto& conditions = field(status, "conditions");
    if (conditions.is_array())
      for (const auto& condition : conditions)
        if (str(condition, "type") == "Ready") ready = str(condition, "status") == "True";
    if (!ready && !svc->second) return;
    std::string fqdn = join(hostname, join(subdomain, join(ns, svcZone_)));
    for (const auto& ip : ips) addIp(fqdn, ip);
  }

  void addSoa(MessageBuilder& b, const std::string& owner) {
    b.soa(owner, std::min<uint32_t>(config_.ttl, 300), mname_, rname_, serial_, kSoaRefresh,
          kSoaRetry, kSoaExpire, config_.ttl);
  }

  // The sections after the question of a built message.
  static Answer cut(const MessageBuilder& b, const std::string& qname) {
    Answer answer;
    answer.body = b.bytes().substr(kHeaderSize + qname.size() + 4);
    for (int i = 0; i < 3; ++i) answer.counts[i] = b.count(i);
    return answer;
  }

  void addAddresses(MessageBuilder& b, const std::string& name, bool v4, bool v6) {
    auto found = names_.find(name);
    if (found == names_.end()) return;
    if (v4)
      for (const auto& ip : found->second.a) b.a(name, config_.ttl, ip.data());
    if (v6)
      for (const auto& ip : found->second.aaaa) b.aaaa(name, config_.ttl, ip.data());
  }

  Node buildNode(const std::string& name, const RecordSet& set) {
    Node node;
    int owner = authority_.classify(name);
    const std::string& soaOwner = authority_.ownerWire(owner < 0 ? 0 : owner);
    auto start = [&](uint16_t qtype) {
      MessageBuilder b;
      b.question(name, qtype);
      return b;
    };
    {
      MessageBuilder b = start(type::A);
      b.beginSection(1);
      addSoa(b, soaOwner);
      node.nodata = cut(b, name);
    }
    if (!set.cname.empty()) {
      MessageBuilder b = start(type::CNAME);
      b.nameRecord(name, type::CNAME, config_.ttl, set.cname);
      node.byType.emplace_back(type::CNAME, cut(b, name));
      node.isCname = true;
      return node;
    }
    if (!set.a.empty()) {
      MessageBuilder b = start(type::A);
      addAddresses(b, name, true, false);
      node.byType.emplace_back(type::A, cut(b, name));
    }
    if (!set.aaaa.empty()) {
      MessageBuilder b = start(type::AAAA);
      addAddresses(b, name, false, true);
      node.byType.emplace_back(type::AAAA, cut(b, name));
    }
    if (!set.srv.empty()) {
      MessageBuilder b = start(type::SRV);
      // CoreDNS: priority 0, weight 100/N (at least 1) for the N records.
      uint16_t weight = uint16_t(std::max<size_t>(1, 100 / set.srv.size()));
      for (const auto& srv : set.srv) b.srv(name, config_.ttl, 0, weight, srv.port, srv.target);
      b.beginSection(2);
      std::set<std::string> targets;
      for (const auto& srv : set.srv)
        if (targets.insert(srv.target).second) addAddresses(b, srv.target, true, true);
      node.byType.emplace_back(type::SRV, cut(b, name));
    }
    if (!set.ptr.empty()) {
      MessageBuilder b = start(type::PTR);
      for (const auto& target : set.ptr) b.nameRecord(name, type::PTR, config_.ttl, target);
      node.byType.emplace_back(type::PTR, cut(b, name));
    }
    if (set.hasTxt) {
      MessageBuilder b = start(type::TXT);
      b.txt(name, config_.ttl, set.txt);
      node.byType.emplace_back(type::TXT, cut(b, name));
    }
    if (set.apex) {
      MessageBuilder b = start(type::SOA);
      addSoa(b, name);
      node.byType.emplace_back(type::SOA, cut(b, name));
    }
    return node;
  }

  const ZoneConfig& config_;
  const Authority& authority_;
  std::string zone_, svcZone_, podZone_, mname_, rname_;
  uint32_t serial_ = 0;
  std::map<std::string, RecordSet> names_;
  std::map<std::pair<std::string, std::string>, ServiceEndpoints> endpoints_;
};

}  // namespace

Authority::Authority(const ZoneConfig& config) : cidrs_(config.reverseCidrs) {
  zoneWire_ = textToWire(config.zone).value_or(*textToWire("cluster.local"));
  zoneLabels_ = wireLabels(zoneWire_).size();
  owners_.push_back(zoneWire_);
  for (const auto& cidr : cidrs_) {
    // The octet (v4) or nibble (v6) aligned reverse zone that holds the range.
    if (!cidr.network.v6) {
      std::string owner = kInAddrArpa;
      for (int octet = 0; octet < cidr.prefix / 8; ++octet)
        owner = join(std::to_string(cidr.network.bytes[size_t(octet)]), owner);
      owners_.push_back(owner);
    } else {
      std::string owner = kIp6Arpa;
      static const char* hex = "0123456789abcdef";
      for (int nibble = 0; nibble < cidr.prefix / 4; ++nibble) {
        uint8_t byte = cidr.network.bytes[size_t(nibble / 2)];
        owner = join(std::string(1, hex[nibble % 2 == 0 ? byte >> 4 : byte & 0xF]), owner);
      }
      owners_.push_back(owner);
    }
  }
}

int Authority::classify(std::string_view name) const {
  if (wireEndsWith(name, zoneWire_)) return 0;
  return classifyReverse(name);
}

int Authority::classify(const Query& query) const {
  // wireEndsWith(name, zone) without walking the labels: the zone's first
  // label must start where the name's last zoneLabels_ labels do.
  size_t size = zoneWire_.size();
  if (query.nameLen >= size && query.labelCount >= zoneLabels_ &&
      (zoneLabels_ == 0 ||
       query.labelOffsets[query.labelCount - zoneLabels_] == query.nameLen - size) &&
      std::memcmp(query.lowerName + query.nameLen - size, zoneWire_.data(), size) == 0)
    return 0;
  return classifyReverse(query.name());
}

int Authority::classifyReverse(std::string_view name) const {
  bool v4 = wireEndsWith(name, kInAddrArpa);
  bool v6 = !v4 && wireEndsWith(name, kIp6Arpa);
  if ((!v4 && !v6) || cidrs_.empty()) return -1;
  // The labels before the arpa suffix, read from the right: the longest
  // valid prefix of the address they spell.
  auto labels = wireLabels(name.substr(0, name.size() - (v4 ? kInAddrArpa : kIp6Arpa).size()));
  core::IpAddress prefix;
  prefix.v6 = v6;
  int bits = 0;
  for (size_t i = labels.size(); i-- > 0;) {
    std::string_view label = labels[i];
    if (v4) {
      if (bits >= 32 || label.empty() || label.size() > 3) break;
      int value = 0;
      bool ok = true;
      for (char c : label) {
        ok &= c >= '0' && c <= '9';
        value = value * 10 + (c - '0');
      }
      if (!ok || value > 255 || (label.size() > 1 && label[0] == '0')) break;
      prefix.bytes[size_t(bits / 8)] = uint8_t(value);
      bits += 8;
    } else {
      if (bits >= 128 || label.size() != 1) break;
      char c = label[0];
      int value = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (value < 0) break;
      uint8_t& byte = prefix.bytes[size_t(bits / 8)];
      byte = uint8_t(bits % 8 == 0 ? value << 4 : byte | value);
      bits += 4;
    }
  }
  for (size_t i = 0; i < cidrs_.size(); ++i) {
    const auto& cidr = cidrs_[i];
    if (cidr.network.v6 != v6 || bits < cidr.prefix) continue;
    if (cidr.contains(prefix)) return int(i) + 1;
  }
  return -1;
}

// The arena layout of one name (every part 8-byte aligned):
//   NameHeader | name, zero-padded | PackedAnswer[1 + answers] (NODATA first) | bodies
struct Zone::Name {
  uint8_t nameLength;
  uint8_t answers;  // after NODATA
  uint8_t isCname;  // answers == 1, a CNAME served for every type
  uint8_t unused[5];
};

namespace {

struct PackedAnswer {
  uint16_t qtype;
  uint16_t counts[3];
  uint32_t offset;  // of the body, from the start of the name's record
  uint32_t size;
  uint8_t rcode;
  uint8_t unused[3];
};

constexpr size_t round8(size_t n) { return (n + 7) & ~size_t(7); }

inline uint64_t word(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

const PackedAnswer* answersOf(const uint8_t* record) {
  return reinterpret_cast<const PackedAnswer*>(record + 8 + round8(record[0]));
}

}  // namespace

bool Zone::identicalTo(const Zone& other) const {
  auto sameAnswer = [](const Answer& a, const Answer& b) {
    return a.rcode == b.rcode && a.body == b.body && a.counts[0] == b.counts[0] &&
           a.counts[1] == b.counts[1] && a.counts[2] == b.counts[2];
  };
  if (zoneWire_ != other.zoneWire_ || names_ != other.names_ || arena_ != other.arena_ ||
      slots_.size() != other.slots_.size() || nxdomain_.size() != other.nxdomain_.size())
    return false;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].tag != other.slots_[i].tag ||
        slots_[i].offsetPlusOne != other.slots_[i].offsetPlusOne)
      return false;
  for (size_t i = 0; i < nxdomain_.size(); ++i)
    if (!sameAnswer(nxdomain_[i], other.nxdomain_[i])) return false;
  return true;
}

Zone::Zone(std::string zoneWire, Entries entries, std::vector<Answer> nxdomain)
    : zoneWire_(std::move(zoneWire)), nxdomain_(std::move(nxdomain)) {
  zoneLabels_ = wireLabels(zoneWire_).size();
  size_t capacity = 16;
  while (capacity < entries.size() * 2) capacity *= 2;  // load factor <= 0.5
  slots_.resize(capacity);
  mask_ = capacity - 1;
  // Every name's record, its offset known before the bytes are written.
  size_t words = 0;
  for (const auto& [name, node] : entries) {
    if (name.empty() || name.size() > kMaxNameWire) continue;
    size_t bytes =
        8 + round8(name.size()) + round8((1 + node.byType.size()) * sizeof(PackedAnswer));
    bytes += round8(node.nodata.body.size());
    for (const auto& [rrtype, answer] : node.byType) bytes += round8(answer.body.size());
    words += bytes / 8;
  }
  arena_.assign(words, 0);
  auto* base = reinterpret_cast<uint8_t*>(arena_.data());
  size_t offset = 0;
  for (auto& [name, node] : entries) {
    if (name.empty() || name.size() > kMaxNameWire) continue;
    uint8_t* record = base + offset;
    record[0] = uint8_t(name.size());
    record[1] = uint8_t(node.byType.size());
    record[2] = node.isCname ? 1 : 0;
    std::memcpy(record + 8, name.data(), name.size());
    auto* table = reinterpret_cast<PackedAnswer*>(record + 8 + round8(name.size()));
    size_t body = 8 + round8(name.size()) + round8((1 + node.byType.size()) * sizeof(PackedAnswer));
    auto put = [&](PackedAnswer& packed, uint16_t rrtype, const Answer& answer) {
      packed = PackedAnswer{rrtype,         {answer.counts[0], answer.counts[1], answer.counts[2]},
                            uint32_t(body), uint32_t(answer.body.size()),
                            answer.rcode,   {}};
      std::memcpy(record + body, answer.body.data(), answer.body.size());
      body += round8(answer.body.size());
    };
    put(table[0], 0, node.nodata);
    for (size_t i = 0; i < node.byType.size(); ++i)
      put(table[i + 1], node.byType[i].first, node.byType[i].second);

    uint64_t hash = hashName(name);
    size_t at = hash & mask_;
    while (slots_[at].offsetPlusOne != 0) at = (at + 1) & mask_;
    slots_[at] = {uint32_t(hash >> 32), uint32_t(offset / 8 + 1)};
    offset += body;
    ++names_;
    node = Node{};  // the bytes live in the arena now
  }
}

const Zone::Name* Zone::lookup(const uint8_t* padded, size_t length, uint64_t hash) const {
  uint32_t tag = uint32_t(hash >> 32);
  for (size_t at = hash & mask_;; at = (at + 1) & mask_) {
    const Slot slot = slots_[at];
    if (slot.offsetPlusOne == 0) return nullptr;
    if (slot.tag != tag) continue;
    const uint8_t* record = this->at(slot.offsetPlusOne);
    if (record[0] != length) continue;
    // Both names are zero-padded to whole words.
    bool same = true;
    for (size_t i = 0; i < length && same; i += 8) same = word(record + 8 + i) == word(padded + i);
    if (same) return reinterpret_cast<const Name*>(record);
  }
}

const Zone::Name* Zone::find(std::string_view name) const {
  if (name.size() > kMaxNameWire) return nullptr;
  uint8_t padded[kMaxNameWire + kNamePadding + 16] = {};
  std::memcpy(padded, name.data(), name.size());
  return lookup(padded, name.size(), hashName(padded, name.size()));
}

void Zone::prefetchName(uint64_t hash) const {
  const Slot slot = slots_[hash & mask_];
  if (slot.offsetPlusOne == 0 || slot.tag != uint32_t(hash >> 32)) return;
  const uint8_t* record = at(slot.offsetPlusOne);
  __builtin_prefetch(record);
  __builtin_prefetch(record + 64);
  __builtin_prefetch(record + 128);
}

AnswerView Zone::answer(const Name* name, uint16_t qtype) const {
  const auto* record = reinterpret_cast<const uint8_t*>(name);
  const PackedAnswer* table = answersOf(record);
  const PackedAnswer* pick = &table[0];  // NODATA
  if (name->isCname) {
    pick = &table[1];
  } else {
    for (size_t i = 1; i <= name->answers; ++i)
      if (table[i].qtype == qtype) {
        pick = &table[i];
        break;
      }
    // ANY (RFC 8482 allows a subset): the first RRset the name has.
    if (pick == &table[0] && qtype == type::ANY && name->answers > 0) pick = &table[1];
  }
  return {record + pick->offset,
          pick->size,
          pick->rcode,
          {pick->counts[0], pick->counts[1], pick->counts[2]}};
}

AnswerView Zone::nxdomain(int index) const {
  const Answer& answer = nxdomain_[size_t(index)];
  return {reinterpret_cast<const uint8_t*>(answer.body.data()),
          answer.body.size(),
          answer.rcode,
          {answer.counts[0], answer.counts[1], answer.counts[2]}};
}

const Zone::Name* Zone::findPodAlias(const Query& query) const {
  // `<label>.<ns>.pod.<zone>`: three labels before the zone's, the third "pod".
  if (query.labelCount != zoneLabels_ + 3) return nullptr;
  const uint8_t* pod = query.lowerName + query.labelOffsets[2];
  if (std::memcmp(pod, "\3pod", 4) != 0) return nullptr;
  return findPodAlias(query.name());
}

const Zone::Name* Zone::findPodAlias(std::string_view name) const {
  // <label>.<ns>.pod.<zone>
  if (name.empty() || !wireEndsWith(name, zoneWire_)) return nullptr;
  auto labels = wireLabels(name.substr(0, name.size() - zoneWire_.size()));
  if (labels.size() != 3 || labels[2] != "pod") return nullptr;
  std::string text(labels[0]);
  bool v4 = std::count(text.begin(), text.end(), '-') == 3 && text.find("--") == std::string::npos;
  std::replace(text.begin(), text.end(), '-', v4 ? '.' : ':');
  auto ip = core::IpAddress::parse(text);
  if (!ip) return nullptr;
  std::string canonical = join(dashedIp(*ip), join(labels[1], join("pod", zoneWire_)));
  if (canonical == name) return nullptr;
  return find(canonical);
}

std::shared_ptr<const Zone> compileZone(const ZoneConfig& config, const ObjectSource& source) {
  Authority authority(config);
  Compiler compiler(config, authority);
  compiler.compile(source);
  return compiler.build();
}

std::shared_ptr<const Zone> compileZone(const ZoneConfig& config, const ClusterObjects& objects) {
  auto each = [](const std::vector<client::ObjectPtr>& objects) {
    return [&objects](const ObjectSource::Visit& visit) {
      for (const auto& object : objects)
        if (object) visit(*object);
    };
  };
  return compileZone(config, ObjectSource{each(objects.services), each(objects.endpointSlices),
                                          each(objects.pods), each(objects.namespaces)});
}

std::string reverseName(const core::IpAddress& ip) {
  if (!ip.v6) {
    std::string name = kInAddrArpa;
    for (int i = 0; i < 4; ++i) name = join(std::to_string(ip.bytes[size_t(i)]), name);
    return name;
  }
  static const char* hex = "0123456789abcdef";
  std::string name = kIp6Arpa;
  for (int i = 0; i < 16; ++i) {
    name = join(std::string(1, hex[ip.bytes[size_t(i)] >> 4]), name);
    name = join(std::string(1, hex[ip.bytes[size_t(i)] & 0xF]), name);
  }
  return name;
}

std::string dashedIp(const core::IpAddress& ip) {
  std::string text = ip.toString();
  std::replace(text.begin(), text.end(), ip.v6 ? ':' : '.', '-');
  return text;
}

}  // namespace podnet::dns
