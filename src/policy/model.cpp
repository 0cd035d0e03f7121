#include "policy/model.h"

#include <algorithm>

#include "api/object.h"

namespace podnet::policy {

const char* protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::tcp:
      return "TCP";
    case Protocol::udp:
      return "UDP";
    case Protocol::sctp:
      return "SCTP";
  }
  return "?";
}

std::optional<Protocol> parseProtocol(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "TCP") return Protocol::tcp;
  if (upper == "UDP") return Protocol::udp;
  if (upper == "SCTP") return Protocol::sctp;
  return std::nullopt;
}

const char* directionName(Direction direction) {
  return direction == Direction::ingress ? "ingress" : "egress";
}

bool IpBlock::contains(const core::IpAddress& ip) const {
  if (ip.v6 != cidr.network.v6 || !cidr.contains(ip)) return false;
  for (const auto& e : except)
    if (e.contains(ip)) return false;
  return true;
}

std::vector<std::pair<uint32_t, uint32_t>> IpBlock::ipv4Ranges() const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  if (cidr.network.v6) return out;
  auto rangeOf = [](const core::Cidr& c) {
    uint32_t first = c.network.v4();
    uint32_t size = c.prefix == 0 ? 0 : (uint32_t(1) << (32 - c.prefix));
    return std::pair<uint32_t, uint32_t>(first, first + (size - 1));  // size 0: 2^32
  };
  std::vector<std::pair<uint32_t, uint32_t>> holes;
  for (const auto& e : except)
    if (!e.network.v6) holes.push_back(rangeOf(e));
  std::sort(holes.begin(), holes.end());
  auto [first, last] = rangeOf(cidr);
  uint64_t next = first;  // the first address not yet handed out
  for (const auto& [holeFirst, holeLast] : holes) {
    if (holeLast < next) continue;
    if (holeFirst > next) out.emplace_back(uint32_t(next), holeFirst - 1);
    next = uint64_t(holeLast) + 1;
    if (next > last) break;
  }
  if (next <= last) out.emplace_back(uint32_t(next), last);
  return out;
}

namespace {

using api::member;

core::Error fieldError(const std::string& path, const std::string& message) {
  return core::badRequest(path + ": " + message);
}

core::Result<api::LabelSelector> selectorAt(const Json& selector, const std::string& path) {
  auto parsed = api::LabelSelector::fromJson(selector);
  if (!parsed) return fieldError(path, parsed.error().message);
  return parsed;
}

core::Result<core::Cidr> cidrAt(const Json& value, const std::string& path) {
  if (!value.is_string()) return fieldError(path, "must be a CIDR string");
  auto cidr = core::Cidr::parse(value.get<std::string>());
  if (!cidr) return fieldError(path, "invalid CIDR " + value.get<std::string>());
  return *cidr;
}

core::Result<Peer> peerFromJson(const Json& item, const std::string& path) {
  if (!item.is_object()) return fieldError(path, "must be an object");
  Peer peer;
  if (const Json* s = member(item, "podSelector")) {
    auto parsed = selectorAt(*s, path + ".podSelector");
    if (!parsed) return parsed.takeError();
    peer.podSelector = std::move(*parsed);
  }
  if (const Json* s = member(item, "namespaceSelector")) {
    auto parsed = selectorAt(*s, path + ".namespaceSelector");
    if (!parsed) return parsed.takeError();
    peer.namespaceSelector = std::move(*parsed);
  }
  if (const Json* block = member(item, "ipBlock")) {
    if (peer.podSelector || peer.namespaceSelector)
      return fieldError(path, "may not specify both ipBlock and another peer");
    if (!block->is_object()) return fieldError(path + ".ipBlock", "must be an object");
    const Json* cidrText = member(*block, "cidr");
    if (!cidrText) return fieldError(path + ".ipBlock.cidr", "Required value");
    auto cidr = cidrAt(*cidrText, path + ".ipBlock.cidr");
    if (!cidr) return cidr.takeError();
    IpBlock ipBlock{*cidr, {}};
    if (const Json* excepts = member(*block, "except")) {
      if (!excepts->is_array()) return fieldError(path + ".ipBlock.except", "must be a list");
      for (size_t i = 0; i < excepts->size(); ++i) {
        std::string p = path + ".ipBlock.except[" + std::to_string(i) + "]";
        auto e = cidrAt((*excepts)[i], p);
        if (!e) return e.takeError();
        if (e->network.v6 != cidr->network.v6 || !cidr->contains(e->network) ||
            e->prefix <= cidr->prefix)
          return fieldError(p, "must be a strict subset of `cidr`");
        ipBlock.except.push_back(*e);
      }
    }
    peer.ipBlock = std::move(ipBlock);
  }
  if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock)
    return fieldError(path, "must specify a peer");
  return peer;
}

core::Result<PolicyPort> portFromJson(const Json& item, const std::string& path) {
  if (!item.is_object()) return fieldError(path, "must be an object");
  PolicyPort port;
  if (const Json* protocol = member(item, "protocol")) {
    auto parsed = protocol->is_string() ? parseProtocol(protocol->get<std::string>())
                                        : std::optional<Protocol>();
    // Case matters to the API server: "tcp" is refused there.
    if (!parsed || protocol->get<std::string>() != protocolName(*parsed))
      return fieldError(path + ".protocol", "Unsupported value: must be TCP, UDP or SCTP");
    port.protocol = *parsed;
  }
  const Json* number = member(item, "port");
  const Json* end = member(item, "endPort");
  if (number && number->is_number_integer()) {
    int64_t n = number->is_number_unsigned()
                    ? int64_t(std::min<uint64_t>(number->get<uint64_t>(), 1U << 20))
                    : number->get<int64_t>();
    if (n < 1 || n > 65535) return fieldError(path + ".port", "must be between 1 and 65535");
    port.kind = PolicyPort::Kind::number;
    port.port = port.endPort = static_cast<uint16_t>(n);
    if (end) {
      if (!end->is_number_integer()) return fieldError(path + ".endPort", "must be an integer");
      int64_t e = end->is_number_unsigned()
                      ? int64_t(std::min<uint64_t>(end->get<uint64_t>(), 1U << 20))
                      : end->get<int64_t>();
      if (e < n || e > 65535)
        return fieldError(path + ".endPort", "must be between `port` and 65535");
      port.endPort = static_cast<uint16_t>(e);
    }
  } else if (number && number->is_string()) {
    if (end)
      return fieldError(path + ".endPort", "may not be specified when `port` is non-numeric");
    port.kind = PolicyPort::Kind::named;
    port.name = number->get<std::string>();
    if (port.name.empty() || port.name.size() > 15)
      return fieldError(path + ".port", "must be a port name of 1-15 characters");
  } else if (number) {
    return fieldError(path + ".port", "must be an integer or a port name");
  } else if (end) {
    return fieldError(path + ".endPort", "may not be specified when `port` is not specified");
  }
  return port;
}

core::Result<std::vector<Rule>> rulesFromJson(const Json& spec, const char* direction) {
  std::vector<Rule> rules;
  const Json* list = member(spec, direction);
  if (!list) return rules;
  std::string base = std::string("spec.") + direction;
  if (!list->is_array()) return fieldError(base, "must be a list");
  const char* peersKey = std::string_view(direction) == "ingress" ? "from" : "to";
  for (size_t i = 0; i < list->size(); ++i) {
    std::string path = base + "[" + std::to_string(i) + "]";
    const Json& item = (*list)[i];
    if (!item.is_object()) return fieldError(path, "must be an object");
    Rule rule;
    if (const Json* peers = member(item, peersKey)) {
      if (!peers->is_array()) return fieldError(path + "." + peersKey, "must be a list");
      for (size_t j = 0; j < peers->size(); ++j) {
        auto peer =
            peerFromJson((*peers)[j], path + "." + peersKey + "[" + std::to_string(j) + "]");
        if (!peer) return peer.takeError();
        rule.peers.push_back(std::move(*peer));
      }
    }
    if (const Json* ports = member(item, "ports")) {
      if (!ports->is_array()) return fieldError(path + ".ports", "must be a list");
      for (size_t j = 0; j < ports->size(); ++j) {
        auto port = portFromJson((*ports)[j], path + ".ports[" + std::to_string(j) + "]");
        if (!port) return port.takeError();
        rule.ports.push_back(std::move(*port));
      }
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace

core::Result<Policy> policyFromJson(const Json& object) {
  if (!object.is_object()) return core::badRequest("a NetworkPolicy must be an object");
  Policy policy;
  policy.name = api::name(object);
  policy.ns = api::namespaceOf(object);
  if (policy.ns.empty()) policy.ns = "default";
  if (policy.name.empty()) return fieldError("metadata.name", "Required value");
  static const Json kEmpty = Json::object();
  const Json* spec = member(object, "spec");
  if (!spec) spec = &kEmpty;
  if (!spec->is_object()) return fieldError("spec", "must be an object");
  if (const Json* selector = member(*spec, "podSelector")) {
    auto parsed = selectorAt(*selector, "spec.podSelector");
    if (!parsed) return parsed.takeError();
    policy.podSelector = std::move(*parsed);
  }
  auto ingress = rulesFromJson(*spec, "ingress");
  if (!ingress) return ingress.takeError();
  policy.ingressRules = std::move(*ingress);
  auto egress = rulesFromJson(*spec, "egress");
  if (!egress) return egress.takeError();
  policy.egressRules = std::move(*egress);
  const Json* types = member(*spec, "policyTypes");
  if (types && !types->is_array()) return fieldError("spec.policyTypes", "must be a list");
  if (types && !types->empty()) {
    if (types->size() > 2)
      return fieldError("spec.policyTypes", "may not specify more than two policyTypes");
    for (const Json& t : *types) {
      if (t == "Ingress")
        policy.ingress = true;
      else if (t == "Egress")
        policy.egress = true;
      else
        return fieldError("spec.policyTypes",
                          "Unsupported value: " + t.dump() + ": supported values: Ingress, Egress");
    }
  } else {
    // The API server's defaulting: Ingress always, Egress when there are
    // egress rules.
    policy.ingress = true;
    policy.egress = !policy.egressRules.empty();
  }
  return policy;
}

Pod podFromJson(const Json& object) {
  Pod pod;
  pod.name = api::name(object);
  pod.ns = api::namespaceOf(object);
  if (pod.ns.empty()) pod.ns = "default";
  pod.labels = api::labels(object);
  const Json* spec = member(object, "spec");
  const Json* status = member(object, "status");
  if (spec) {
    if (const Json* node = member(*spec, "nodeName"); node && node->is_string())
      pod.nodeName = node->get<std::string>();
    if (const Json* host = member(*spec, "hostNetwork"); host && host->is_boolean())
      pod.hostNetwork = host->get<bool>();
    if (const Json* containers = member(*spec, "containers"); containers && containers->is_array())
      for (const Json& c : *containers) {
        const Json* ports = member(c, "ports");
        if (!ports || !ports->is_array()) continue;
        for (const Json& p : *ports) {
          const Json* number = member(p, "containerPort");
          if (!number || !number->is_number_integer()) continue;
          int64_t n = number->is_number_unsigned()
                          ? int64_t(std::min<uint64_t>(number->get<uint64_t>(), 1U << 20))
                          : number->get<int64_t>();
          if (n < 1 || n > 65535) continue;
          Protocol protocol = Protocol::tcp;
          if (const Json* proto = member(p, "protocol"); proto && proto->is_string()) {
            auto parsed = parseProtocol(proto->get<std::string>());
            if (!parsed) continue;
            protocol = *parsed;
          }
          pod.containerPorts.push_back({protocol, static_cast<uint16_t>(n)});
          if (const Json* name = member(p, "name");
              name && name->is_string() && !name->get<std::string>().empty())
            pod.namedPorts.push_back(
                {name->get<std::string>(), protocol, static_cast<uint16_t>(n)});
        }
      }
  }
  std::sort(pod.namedPorts.begin(), pod.namedPorts.end());
  pod.namedPorts.erase(std::unique(pod.namedPorts.begin(), pod.namedPorts.end()),
                       pod.namedPorts.end());
  std::sort(pod.containerPorts.begin(), pod.containerPorts.end());
  pod.containerPorts.erase(std::unique(pod.containerPorts.begin(), pod.containerPorts.end()),
                           pod.containerPorts.end());
  // A hostNetwork pod has the node's address: NetworkPolicy neither
  // isolates it nor selects it as a peer (its traffic is the node's).
  bool hostNetwork = false;
  if (spec)
    if (const Json* h = member(*spec, "hostNetwork"); h && h->is_boolean())
      hostNetwork = h->get<bool>();
  if (status && !hostNetwork) {
    std::string phase;
    if (const Json* p = member(*status, "phase"); p && p->is_string())
      phase = p->get<std::string>();
    bool finished = phase == "Succeeded" || phase == "Failed";
    if (!finished) {
      if (const Json* ips = member(*status, "podIPs"); ips && ips->is_array())
        for (const Json& item : *ips)
          if (const Json* ip = member(item, "ip"); ip && ip->is_string())
            if (auto parsed = core::IpAddress::parse(ip->get<std::string>()))
              if (std::find(pod.ips.begin(), pod.ips.end(), *parsed) == pod.ips.end())
                pod.ips.push_back(*parsed);
      if (pod.ips.empty())
        if (const Json* ip = member(*status, "podIP"); ip && ip->is_string())
          if (auto parsed = core::IpAddress::parse(ip->get<std::string>()))
            pod.ips.push_back(*parsed);
    }
  }
  return pod;
}

std::string kindKey(const Pod& pod) {
  std::string key = pod.ns;
  key += '\0';
  for (const auto& [k, v] : pod.labels) {
    key += k;
    key += '=';
    key += v;
    key += '\0';
  }
  key += '\1';
  for (const auto& p : pod.namedPorts) {
    key += p.name;
    key += '/';
    key += std::to_string(static_cast<int>(p.protocol));
    key += ':';
    key += std::to_string(p.port);
    key += '\0';
  }
  return key;
}

Namespace namespaceFromJson(const Json& object) {
  Namespace ns;
  ns.name = api::name(object);
  ns.labels = api::labels(object);
  ns.labels[kNamespaceNameLabel] = ns.name;
  return ns;
}

}  // namespace podnet::policy
