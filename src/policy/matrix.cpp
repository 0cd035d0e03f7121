#include "policy/matrix.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace podnet::policy {

void Bitset::setAll() {
  std::fill(words_.begin(), words_.end(), ~uint64_t(0));
  if (bits_ % 64 && !words_.empty()) words_.back() = (uint64_t(1) << (bits_ % 64)) - 1;
}

Bitset& Bitset::operator|=(const Bitset& o) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
  return *this;
}

Bitset& Bitset::operator&=(const Bitset& o) {
  for (size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
  return *this;
}

void Bitset::flip() {
  for (auto& w : words_) w = ~w;
  if (bits_ % 64 && !words_.empty()) words_.back() &= (uint64_t(1) << (bits_ % 64)) - 1;
}

bool Bitset::any() const {
  for (uint64_t w : words_)
    if (w) return true;
  return false;
}

size_t Bitset::count() const {
  size_t n = 0;
  for (uint64_t w : words_) n += static_cast<size_t>(__builtin_popcountll(w));
  return n;
}

namespace {

// Which items have which labels: a selector becomes a few bitset operations.
class LabelIndex {
 public:
  explicit LabelIndex(size_t items) : items_(items) {}
  void add(size_t item, const Labels& labels) {
    for (const auto& [key, value] : labels) {
      auto& byValue = values_[key];
      auto it = byValue.find(value);
      if (it == byValue.end()) it = byValue.emplace(value, Bitset(items_)).first;
      it->second.set(item);
      auto has = has_.find(key);
      if (has == has_.end()) has = has_.emplace(key, Bitset(items_)).first;
      has->second.set(item);
    }
  }

  // The items `selector` matches, as LabelSelector::matches decides: In
  // needs one of the values, NotIn matches when the key is absent too.
  Bitset select(const api::LabelSelector& selector) const {
    Bitset out(items_);
    if (!selector.selectsEverything() && selector.requirements().empty()) return out;  // nothing
    out.setAll();
    for (const auto& r : selector.requirements()) {
      Bitset part(items_);
      switch (r.op) {
        case api::Requirement::Op::Equals:
        case api::Requirement::Op::In:
        case api::Requirement::Op::NotEquals:
        case api::Requirement::Op::NotIn:
          if (auto byValue = values_.find(r.key); byValue != values_.end())
            for (const auto& v : r.values)
              if (auto it = byValue->second.find(v); it != byValue->second.end())
                part |= it->second;
          if (r.op == api::Requirement::Op::NotEquals || r.op == api::Requirement::Op::NotIn)
            part.flip();
          break;
        case api::Requirement::Op::Exists:
        case api::Requirement::Op::DoesNotExist:
          if (auto it = has_.find(r.key); it != has_.end()) part = it->second;
          if (r.op == api::Requirement::Op::DoesNotExist) part.flip();
          break;
      }
      out &= part;
    }
    return out;
  }

 private:
  size_t items_;
  std::unordered_map<std::string, std::unordered_map<std::string, Bitset>> values_;
  std::unordered_map<std::string, Bitset> has_;
};

std::string selectorKey(const std::optional<api::LabelSelector>& s) {
  if (!s) return "*";
  if (!s->selectsEverything() && s->requirements().empty()) return "!";
  return "{" + s->toString() + "}";
}

// The class of a pod: what policies can see of it. Addresses count through
// the elementary intervals of every ipBlock bound, so two pods in one class
// are inside exactly the same blocks.
std::string classKey(const Pod& pod, size_t addressClass) {
  return kindKey(pod) + '\2' + std::to_string(addressClass);
}

}  // namespace

Reachability Reachability::compute(const ClusterState& state, const std::vector<const Pod*>& pods,
                                   PortProtocol port) {
  Reachability r;
  r.port_ = port;

  // Address classes: cut the IPv4 space at every ipBlock bound; an IPv6
  // address is compared with the blocks one by one.
  std::vector<uint64_t> cuts;
  std::vector<const IpBlock*> v6Blocks;
  for (const auto& [key, policy] : state.policies())
    for (Direction d : {Direction::ingress, Direction::egress})
      for (const auto& rule : policy.rules(d))
        for (const auto& peer : rule.peers) {
          if (!peer.ipBlock) continue;
          if (peer.ipBlock->cidr.network.v6) {
            v6Blocks.push_back(&*peer.ipBlock);
            continue;
          }
          for (const auto& [first, last] : peer.ipBlock->ipv4Ranges()) {
            cuts.push_back(first);
            cuts.push_back(uint64_t(last) + 1);
          }
        }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  auto addressClass = [&](const Pod& pod) -> size_t {
    if (pod.ips.empty()) return 0;
    const core::IpAddress& ip = pod.ips.front();
    if (!ip.v6)
      return size_t(std::upper_bound(cuts.begin(), cuts.end(), uint64_t(ip.v4())) - cuts.begin());
    size_t signature = 1u << 30;
    for (size_t i = 0; i < v6Blocks.size() && i < 30; ++i)
      if (v6Blocks[i]->contains(ip)) signature |= size_t(1) << i;
    return signature;
  };

  std::unordered_map<std::string, uint32_t> classByKey;
  std::vector<const Pod*> reps;
  r.classOf_.reserve(pods.size());
  for (size_t i = 0; i < pods.size(); ++i) {
    std::string key = classKey(*pods[i], addressClass(*pods[i]));
    auto [it, added] = classByKey.emplace(key, static_cast<uint32_t>(reps.size()));
    if (added) {
      reps.push_back(pods[i]);
      r.members_.emplace_back();
    }
    r.classOf_.push_back(it->second);
    r.members_[it->second].push_back(static_cast<uint32_t>(i));
  }
  const size_t classes = reps.size();

  // Indexes: classes by label, namespaces by label, classes by namespace,
  // classes by named port.
  LabelIndex classLabels(classes);
  std::map<std::string, Bitset> classesInNamespace;
  for (size_t c = 0; c < classes; ++c) {
    classLabels.add(c, reps[c]->labels);
    auto it = classesInNamespace.find(reps[c]->ns);
    if (it == classesInNamespace.end())
      it = classesInNamespace.emplace(reps[c]->ns, Bitset(classes)).first;
    it->second.set(c);
  }
  std::vector<std::string> namespaces;
  for (const auto& [name, bits] : classesInNamespace) namespaces.push_back(name);
  LabelIndex namespaceLabels(namespaces.size());
  for (size_t n = 0; n < namespaces.size(); ++n)
    namespaceLabels.add(n, state.namespaceLabels(namespaces[n]));

  std::unordered_map<std::string, Bitset> peerCache;
  auto peerBits = [&](const Policy& policy, const Peer& peer) -> const Bitset& {
    std::string key;
    if (peer.ipBlock) {
      key = "ip:" + peer.ipBlock->cidr.toString();
      for (const auto& e : peer.ipBlock->except) key += "," + e.toString();
    } else {
      key = (peer.namespaceSelector ? selectorKey(peer.namespaceSelector) : "@" + policy.ns) + "|" +
            selectorKey(peer.podSelector);
    }
    auto cached = peerCache.find(key);
    if (cached != peerCache.end()) return cached->second;
    Bitset bits(classes);
    if (peer.ipBlock) {
      for (size_t c = 0; c < classes; ++c)
        if (!reps[c]->ips.empty() && peer.ipBlock->contains(reps[c]->ips.front())) bits.set(c);
    } else {
      Bitset inNamespaces(classes);
      if (peer.namespaceSelector) {
        Bitset selected = namespaceLabels.select(*peer.namespaceSelector);
        for (size_t n = 0; n < namespaces.size(); ++n)
          if (selected.test(n)) inNamespaces |= classesInNamespace.at(namespaces[n]);
      } else if (auto it = classesInNamespace.find(policy.ns); it != classesInNamespace.end()) {
        inNamespaces = it->second;
      }
      if (peer.podSelector) {
        bits = classLabels.select(*peer.podSelector);
        bits &= inNamespaces;
      } else {
        bits = inNamespaces;
      }
    }
    return peerCache.emplace(key, std::move(bits)).first->second;
  };

  // Whether a rule's ports admit the connection when `destination` is the
  // destination pod; and the same over all classes as destinations.
  auto portsAdmit = [&](const Rule& rule, const Pod* destination) {
    if (rule.ports.empty()) return true;
    for (const auto& p : rule.ports)
      if (portMatches(p, port.protocol, port.port, destination)) return true;
    return false;
  };
  // The classes whose named port `name` is the queried port and protocol.
  std::unordered_map<std::string, Bitset> namedPortClasses;
  for (size_t c = 0; c < classes; ++c)
    for (const auto& np : reps[c]->namedPorts)
      if (np.protocol == port.protocol && np.port == port.port) {
        auto it = namedPortClasses.find(np.name);
        if (it == namedPortClasses.end())
          it = namedPortClasses.emplace(np.name, Bitset(classes)).first;
        it->second.set(c);
      }
  auto portsAdmitClasses = [&](const Rule& rule) {
    Bitset bits(classes);
    if (portsAdmit(rule, nullptr)) {  // a number or a protocol matches whoever listens
      bits.setAll();
      return bits;
    }
    for (const auto& p : rule.ports)
      if (p.kind == PolicyPort::Kind::named && p.protocol == port.protocol)
        if (auto it = namedPortClasses.find(p.name); it != namedPortClasses.end())
          bits |= it->second;
    return bits;
  };

  r.ingressFrom_.assign(classes, Bitset(classes));
  r.egressTo_.assign(classes, Bitset(classes));
  r.ingressIsolated_.assign(classes, false);
  r.egressIsolated_.assign(classes, false);
  Bitset everyone(classes);
  everyone.setAll();
  for (const auto& [key, policy] : state.policies()) {
    auto inNs = classesInNamespace.find(policy.ns);
    if (inNs == classesInNamespace.end()) continue;
    Bitset selected = classLabels.select(policy.podSelector);
    selected &= inNs->second;
    if (!selected.any()) continue;
    std::vector<size_t> members;
    for (size_t c = 0; c < classes; ++c)
      if (selected.test(c)) members.push_back(c);
    for (Direction d : {Direction::ingress, Direction::egress}) {
      if (!policy.hasType(d)) continue;
      for (size_t c : members)
        (d == Direction::ingress ? r.ingressIsolated_ : r.egressIsolated_)[c] = true;
      for (const auto& rule : policy.rules(d)) {
        Bitset peers(classes);
        if (rule.peers.empty())
          peers = everyone;
        else
          for (const auto& peer : rule.peers) peers |= peerBits(policy, peer);
        if (d == Direction::ingress) {
          for (size_t c : members)
            if (portsAdmit(rule, reps[c])) r.ingressFrom_[c] |= peers;
        } else {
          peers &= portsAdmitClasses(rule);
          for (size_t c : members) r.egressTo_[c] |= peers;
        }
      }
    }
  }
  for (size_t c = 0; c < classes; ++c) {
    if (!r.ingressIsolated_[c]) r.ingressFrom_[c] = everyone;
    if (!r.egressIsolated_[c]) r.egressTo_[c] = everyone;
  }
  return r;
}

bool Reachability::allowed(size_t from, size_t to) const {
  if (from == to) return true;  // a pod reaching itself
  uint32_t a = classOf_[from], b = classOf_[to];
  return egressTo_[a].test(b) && ingressFrom_[b].test(a);
}

uint64_t Reachability::allowedPairs() const {
  const size_t classes = members_.size();
  // admitted[a]: the classes whose ingress admits a (ingressFrom transposed),
  // 64 x 64 blocks at a time.
  std::vector<Bitset> admitted(classes, Bitset(classes));
  const size_t words = (classes + 63) / 64;
  for (size_t bw = 0; bw < words; ++bw)
    for (size_t aw = 0; aw < words; ++aw) {
      uint64_t block[64];
      for (size_t i = 0; i < 64; ++i) {
        size_t b = bw * 64 + i;
        block[i] = b < classes ? ingressFrom_[b].words()[aw] : 0;
      }
      for (size_t j = 0; j < 64; ++j) {
        size_t a = aw * 64 + j;
        if (a >= classes) break;
        uint64_t column = 0;
        for (size_t i = 0; i < 64; ++i) column |= ((block[i] >> j) & 1) << i;
        admitted[a].words()[bw] = column;
      }
    }
  // Weighted by class sizes: group the classes by size.
  std::map<size_t, Bitset> bySize;
  for (size_t c = 0; c < classes; ++c) {
    auto it = bySize.find(members_[c].size());
    if (it == bySize.end()) it = bySize.emplace(members_[c].size(), Bitset(classes)).first;
    it->second.set(c);
  }
  uint64_t pairs = 0;
  for (size_t a = 0; a < classes; ++a) {
    const auto& out = egressTo_[a].words();
    const auto& in = admitted[a].words();
    uint64_t weighted = 0;
    for (const auto& [size, bits] : bySize) {
      const auto& w = bits.words();
      uint64_t n = 0;
      for (size_t i = 0; i < words; ++i) n += __builtin_popcountll(out[i] & in[i] & w[i]);
      weighted += n * size;
    }
    uint64_t self = egressTo_[a].test(a) && ingressFrom_[a].test(a) ? members_[a].size() : 0;
    // Pairs within the class: the class admits itself or not; a pod to
    // itself is left out.
    pairs += members_[a].size() * (weighted - self) +
             (self ? members_[a].size() * (members_[a].size() - 1) : 0);
  }
  return pairs;
}

size_t Reachability::isolatedForIngress() const {
  size_t n = 0;
  for (size_t c = 0; c < members_.size(); ++c)
    if (ingressIsolated_[c]) n += members_[c].size();
  return n;
}

size_t Reachability::isolatedForEgress() const {
  size_t n = 0;
  for (size_t c = 0; c < members_.size(); ++c)
    if (egressIsolated_[c]) n += members_[c].size();
  return n;
}

std::vector<PortProtocol> declaredPorts(const std::vector<const Pod*>& pods, size_t limit) {
  std::set<std::pair<uint16_t, Protocol>> seen;
  for (const Pod* pod : pods)
    for (const auto& p : pod->containerPorts) seen.emplace(p.port, p.protocol);
  std::vector<PortProtocol> out;
  for (const auto& [port, protocol] : seen) {
    if (out.size() >= limit) break;
    out.push_back({protocol, port});
  }
  return out;
}

}  // namespace podnet::policy
