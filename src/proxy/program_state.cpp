#include "proxy/program_state.h"

#include <algorithm>
#include <functional>

#include "proxy/compiler.h"

namespace podnet::proxy {

namespace {

const char* addressKeyword(Family family) { return family == Family::v4 ? "ip" : "ip6"; }
const char* addressType(Family family) { return family == Family::v4 ? "ipv4_addr" : "ipv6_addr"; }

std::string joinBraced(const std::vector<std::string>& items) {
  if (items.size() == 1) return items[0];
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  return out + " }";
}

std::string hostPort(Family family, const DnatTarget& target) {
  if (family == Family::v6) return "[" + target.ip + "]:" + std::to_string(target.port);
  return target.ip + ":" + std::to_string(target.port);
}

template <typename Map>
const typename Map::mapped_type* find(const Map& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

bool Transaction::empty() const {
  return newSets.empty() && newChains.empty() && flushedChains.empty() && rules.empty() &&
         elements.empty() && deletedChains.empty() && deletedSets.empty();
}

void Transaction::noteElement(const std::string& set, const std::string& key,
                              std::optional<std::string> before, std::optional<std::string> after) {
  auto [it, fresh] = elements[set].try_emplace(key, std::move(before), std::nullopt);
  it->second.second = std::move(after);
}

std::map<std::string, std::vector<std::string>> Transaction::elementsToDelete() const {
  // A key whose value changes is deleted, then added.
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [set, keys] : elements)
    for (const auto& [key, change] : keys)
      if (change.first && change.first != change.second) out[set].push_back(key);
  return out;
}

std::map<std::string, std::vector<std::pair<std::string, std::string>>> Transaction::elementsToAdd()
    const {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
  for (const auto& [set, keys] : elements)
    for (const auto& [key, change] : keys)
      if (change.second && change.first != change.second)
        out[set].emplace_back(key, *change.second);
  return out;
}

std::string Transaction::script() const {
  const std::string p = std::string(addressKeyword(family)) + " " + table;
  std::string out;
  for (const auto& [name, set] : newSets) out += affinitySetDecl(p, family, name, set);
  for (const auto& name : newChains) out += "add chain " + p + " " + name + "\n";
  for (const auto& name : flushedChains) out += "flush chain " + p + " " + name + "\n";
  for (const auto& [chain, rule] : rules)
    out += "add rule " + p + " " + chain + " " + ruleText(family, rule) + "\n";
  for (const auto& [set, keys] : elementsToDelete()) {
    std::string list;
    for (const auto& key : keys) list += (list.empty() ? "" : ", ") + key;
    out += "delete element " + p + " " + set + " { " + list + " }\n";
  }
  for (const auto& [set, entries] : elementsToAdd()) {
    std::string list;
    for (const auto& [key, value] : entries) {
      if (!list.empty()) list += ", ";
      list += value.empty() ? key : key + " : " + value;
    }
    out += "add element " + p + " " + set + " { " + list + " }\n";
  }
  for (const auto& name : deletedChains) out += "delete chain " + p + " " + name + "\n";
  for (const auto& name : deletedSets) out += "delete set " + p + " " + name + "\n";
  return out;
}

ProgramState::ProgramState(TableConfig config, bool keepRules)
    : config_(std::move(config)), keepRules_(keepRules) {}

Transaction ProgramState::newTransaction() const {
  Transaction tx;
  tx.family = config_.family;
  tx.table = config_.table;
  return tx;
}

std::vector<Rule> kernelRules(const Rule& rule) {
  auto cascade = [&](size_t n, auto&& leg) {
    std::vector<Rule> rules;
    for (size_t i = 0; i < n; ++i) {
      Rule r;
      r.conditions = rule.conditions;
      if (i + 1 < n) r.conditions.push_back({Match::oneIn, {std::to_string(n - i)}});
      leg(r, i);
      rules.push_back(std::move(r));
    }
    return rules;
  };
  if (rule.action == Action::randomGoto)
    return cascade(rule.chains.size(), [&](Rule& r, size_t i) {
      r.action = Action::gotoChain;
      r.target = rule.chains[i];
    });
  if (rule.action == Action::dnat && rule.targets.size() > 1)
    return cascade(rule.targets.size(), [&](Rule& r, size_t i) {
      r.action = Action::dnat;
      r.protocol = rule.protocol;
      r.targets = {rule.targets[i]};
    });
  return {rule};
}

std::string ruleText(Family family, const Rule& rule) {
  const std::string ip = addressKeyword(family);
  std::string out;
  for (const auto& c : rule.conditions) {
    switch (c.match) {
      case Match::saddrIn:
        out += ip + " saddr " + joinBraced(c.values) + " ";
        break;
      case Match::saddrNotIn:
        out += ip + " saddr != " + joinBraced(c.values) + " ";
        break;
      case Match::daddrIs:
        out += ip + " daddr " + c.values.at(0) + " ";
        break;
      case Match::saddrLocal:
        out += "fib saddr type local ";
        break;
      case Match::inAffinity:
        out += ip + " saddr @" + c.values.at(0) + " ";
        break;
      case Match::oneIn:
        out += "numgen random mod " + c.values.at(0) + " == 0 ";
        break;
    }
  }
  switch (rule.action) {
    case Action::jump:
      return out + "jump " + rule.target;
    case Action::gotoChain:
      return out + "goto " + rule.target;
    case Action::drop:
      return out + "drop";
    case Action::reject:
      return out + "reject";
    case Action::markMasquerade:
      return out + "jump " + kMarkForMasquerade;
    case Action::updateAffinity:
      return out + "update @" + rule.target + " { " + ip + " saddr }";
    case Action::randomGoto:  // not a kernel rule: see kernelRules
      return out + "goto " + rule.chains.at(0);
    case Action::dnat:
      // Port translation needs the protocol stated in the same rule.
      return out + "meta l4proto " + rule.protocol + " dnat " + ip + " to " +
             hostPort(family, rule.targets.at(0));
  }
  return out;
}

namespace {

void appendRules(std::vector<std::pair<std::string, Rule>>& out, const std::string& name,
                 const Chain& chain) {
  for (const auto& rule : chain)
    for (auto& kernelRule : kernelRules(rule)) out.emplace_back(name, std::move(kernelRule));
}

}  // namespace

std::string affinitySetDecl(const std::string& prefix, Family family, const std::string& name,
                            const AffinitySet& set) {
  return "add set " + prefix + " " + name + " { type " + addressType(family) +
         "; flags dynamic,timeout; timeout " + std::to_string(set.timeoutSeconds) + "s; }\n";
}

namespace {

// A chain's rules as one 64-bit value: each field written with its length, so
// different rules never write the same bytes.
uint64_t hashRules(const Chain& chain) {
  std::string bytes;
  auto put = [&](std::string_view field) {
    bytes += std::to_string(field.size());
    bytes += ':';
    bytes += field;
  };
  for (const Rule& rule : chain) {
    bytes += 'R';
    put(std::to_string(int(rule.action)));
    put(rule.target);
    put(rule.protocol);
    for (const auto& c : rule.conditions) {
      bytes += 'C';
      put(std::to_string(int(c.match)));
      for (const auto& v : c.values) put(v);
    }
    for (const auto& t : rule.targets) {
      bytes += 'T';
      put(t.ip);
      put(std::to_string(t.port));
    }
    for (const auto& c : rule.chains) {
      bytes += 'G';
      put(c);
    }
  }
  return fnv1a64(bytes);
}

}  // namespace

uint16_t ProgramState::tableIndex(const std::string& name) {
  for (size_t i = 0; i < tableNames_.size(); ++i)
    if (tableNames_[i] == name) return static_cast<uint16_t>(i);
  tableNames_.push_back(name);
  maps_.emplace_back();
  sets_.emplace_back();
  return static_cast<uint16_t>(tableNames_.size() - 1);
}

bool ProgramState::update(const std::string& key, const ServiceProgram& program, Transaction* tx) {
  auto [slot, added] = services_.try_emplace(key);
  const std::string* owner = &slot->first;
  Recorded& old = slot->second;
  bool changed = false;

  // Chains, by name on both sides (program.chains is a map; old.chains is
  // kept sorted the same way).
  std::vector<std::pair<std::string, uint64_t>> chains;
  chains.reserve(program.chains.size());
  for (const auto& [name, chain] : program.chains) chains.emplace_back(name, hashRules(chain));
  auto dropChain = [&](const std::string& name) {
    // Flushed with the fills, deleted after the map entries that point to it.
    changed = true;
    if (tx) {
      tx->flushedChains.push_back(name);
      tx->deletedChains.push_back(name);
    }
    rules_.erase(name);
  };
  auto before = old.chains.begin();
  for (const auto& [name, hash] : chains) {
    for (; before != old.chains.end() && before->first < name; ++before) dropChain(before->first);
    if (before != old.chains.end() && before->first == name) {
      bool same = before->second == hash;
      ++before;
      if (same) continue;
      if (tx) tx->flushedChains.push_back(name);
    } else if (tx) {
      tx->newChains.push_back(name);
    }
    changed = true;
    const Chain& rules = program.chains.at(name);
    if (tx) appendRules(tx->rules, name, rules);
    if (keepRules_) rules_[name] = rules;
  }
  for (; before != old.chains.end(); ++before) dropChain(before->first);

  // Affinity sets: made before the rules that use them, deleted after.
  std::vector<std::pair<std::string, AffinitySet>> affinitySets(program.affinitySets.begin(),
                                                                program.affinitySets.end());
  for (const auto& [name, set] : affinitySets) {
    bool existed = std::any_of(old.affinitySets.begin(), old.affinitySets.end(),
                               [&](const auto& o) { return o.first == name; });
    if (existed) continue;
    changed = true;
    if (tx) tx->newSets.emplace_back(name, set);
  }
  for (const auto& [name, set] : old.affinitySets) {
    if (program.affinitySets.count(name)) continue;
    changed = true;
    if (tx) tx->deletedSets.push_back(name);
  }

  // Shared map entries: compare the effective value (the first owner's)
  // before and after.
  auto effective = [](const auto& owners) -> std::optional<std::string> {
    if (owners.empty()) return std::nullopt;
    return owners.begin()->second;
  };
  auto touchMap = [&](uint16_t table, const std::string& entryKey, const std::string* value) {
    MapEntries& entries = maps_[table];
    auto& owners = entries[entryKey];
    auto was = effective(owners);
    if (value)
      owners[owner] = *value;
    else
      owners.erase(owner);
    auto now = effective(owners);
    if (owners.empty()) entries.erase(entryKey);
    if (tx && was != now) tx->noteElement(tableNames_[table], entryKey, was, now);
  };
  std::set<std::pair<uint16_t, std::string>> newMapKeys;
  for (const auto& [m, entries] : program.maps) {
    uint16_t table = tableIndex(m);
    for (const auto& [entryKey, value] : entries) newMapKeys.emplace(table, entryKey);
  }
  for (const auto& [table, keyPtr] : old.mapKeys) {
    if (newMapKeys.count({table, *keyPtr})) continue;
    changed = true;
    std::string entryKey = *keyPtr;  // touchMap may free the stored key
    touchMap(table, entryKey, nullptr);
  }
  std::vector<std::pair<uint16_t, const std::string*>> mapKeys;
  for (const auto& [m, entries] : program.maps) {
    uint16_t table = tableIndex(m);
    for (const auto& [entryKey, value] : entries) {
      auto stored = maps_[table].find(entryKey);
      const std::string* was = nullptr;
      if (stored != maps_[table].end()) {
        auto mine = stored->second.find(owner);
        if (mine != stored->second.end()) was = &mine->second;
      }
      if (!was || *was != value) {
        changed = true;
        touchMap(table, entryKey, &value);
      }
      mapKeys.emplace_back(table, &maps_[table].find(entryKey)->first);
    }
  }

  // Shared set elements: in the kernel while any Service holds them.
  std::set<std::pair<uint16_t, std::string>> newElements;
  for (const auto& [name, elements] : program.sets) {
    uint16_t table = tableIndex(name);
    for (const auto& element : elements) newElements.emplace(table, element);
  }
  for (const auto& [table, elementPtr] : old.setElements) {
    if (newElements.count({table, *elementPtr})) continue;
    changed = true;
    SetEntries& entries = sets_[table];
    auto stored = entries.find(*elementPtr);
    if (stored == entries.end()) continue;
    stored->second.erase(owner);
    if (stored->second.empty()) {
      if (tx) tx->noteElement(tableNames_[table], stored->first, std::string(), std::nullopt);
      entries.erase(stored);
    }
  }
  std::vector<std::pair<uint16_t, const std::string*>> setElements;
  for (const auto& [table, element] : newElements) {
    auto [stored, fresh] = sets_[table].try_emplace(element);
    if (!stored->second.count(owner)) {
      changed = true;
      if (tx && stored->second.empty())
        tx->noteElement(tableNames_[table], element, std::nullopt, std::string());
      stored->second.insert(owner);
    }
    setElements.emplace_back(table, &stored->first);
  }

  if (chains.empty() && affinitySets.empty() && mapKeys.empty() && setElements.empty()) {
    services_.erase(slot);
    return changed;
  }
  chains.shrink_to_fit();
  mapKeys.shrink_to_fit();
  setElements.shrink_to_fit();
  old.chains = std::move(chains);
  old.affinitySets = std::move(affinitySets);
  old.mapKeys = std::move(mapKeys);
  old.setElements = std::move(setElements);
  return changed;
}

std::string Replacement::script() const {
  std::string out;
  for (const auto& [family, table] : staleTables) {
    std::string p = std::string(addressKeyword(family)) + " " + table;
    // Adding, then deleting, removes a table whether or not it exists.
    out += "add table " + p + "\ndelete table " + p + "\n";
  }
  for (const auto& table : tables) {
    std::string p = std::string(addressKeyword(table.config.family)) + " " + table.config.table;
    out += "add table " + p + "\ndelete table " + p + "\n" + renderBase(table.config) +
           table.contents.script();
  }
  return out;
}

const Chain* ProgramState::chain(const std::string& name) const { return find(rules_, name); }

std::optional<std::string> ProgramState::lookup(const std::string& map,
                                                const std::string& key) const {
  for (size_t i = 0; i < tableNames_.size(); ++i) {
    if (tableNames_[i] != map) continue;
    auto entry = maps_[i].find(key);
    if (entry == maps_[i].end() || entry->second.empty()) return std::nullopt;
    return entry->second.begin()->second;
  }
  return std::nullopt;
}

bool ProgramState::contains(const std::string& set, const std::string& key) const {
  for (size_t i = 0; i < tableNames_.size(); ++i)
    if (tableNames_[i] == set) return sets_[i].count(key) > 0;
  return false;
}

std::string renderBase(const TableConfig& config) {
  const std::string ip = addressKeyword(config.family);
  const std::string type = addressType(config.family);
  const std::string p = ip + " " + config.table;
  const std::string loopback = config.family == Family::v4 ? "127.0.0.0/8" : "::1";
  char mark[16];
  std::snprintf(mark, sizeof mark, "0x%x", config.masqueradeMark);
  std::string out = "add table " + p + "\n";
  auto map = [&](const char* name, const std::string& keyType) {
    out += "add map " + p + " " + name + " { type " + keyType + " : verdict; }\n";
  };
  map(kServiceIps, type + " . inet_proto . inet_service");
  map(kNoEndpointServices, type + " . inet_proto . inet_service");
  map(kServiceNodePorts, "inet_proto . inet_service");
  map(kNoEndpointNodePorts, "inet_proto . inet_service");
  out += "add set " + p + " " + kHairpin + " { type " + type + " . " + type + "; }\n";
  auto chain = [&](const std::string& name, const std::string& hook = "") {
    out += "add chain " + p + " " + name;
    if (!hook.empty()) out += " { " + hook + "; policy accept; }";
    out += "\n";
  };
  auto rule = [&](const std::string& chainName, const std::string& text) {
    out += "add rule " + p + " " + chainName + " " + text + "\n";
  };
  chain(kMarkForMasquerade);
  rule(kMarkForMasquerade, std::string("meta mark set meta mark or ") + mark);
  chain(kRejectChain);
  rule(kRejectChain, "reject");
  chain("masquerading");
  rule("masquerading", "ct status dnat " + ip + " saddr . " + ip + " daddr @" + kHairpin +
                           " masquerade fully-random");
  rule("masquerading", std::string("meta mark and ") + mark + " == 0 return");
  rule("masquerading", std::string("meta mark set meta mark xor ") + mark);
  rule("masquerading", "masquerade fully-random");
  chain("services");
  rule("services", ip + " daddr . meta l4proto . th dport vmap @" + kServiceIps);
  rule("services", "fib daddr type local " + ip + " daddr != " + loopback +
                       " meta l4proto . th dport vmap @" + kServiceNodePorts);
  chain("no-endpoints");
  rule("no-endpoints", ip + " daddr . meta l4proto . th dport vmap @" + kNoEndpointServices);
  rule("no-endpoints", "fib daddr type local " + ip + " daddr != " + loopback +
                           " meta l4proto . th dport vmap @" + kNoEndpointNodePorts);
  // Rejects come before NAT (dstnat - 10 = -110), for new connections only,
  // as in kube-proxy: a Service without endpoints refuses at once. (nft
  // accepts the name "dstnat" only on prerouting, so output uses numbers.)
  chain("filter-prerouting", "type filter hook prerouting priority -110");
  rule("filter-prerouting", "ct state new jump no-endpoints");
  chain("filter-output", "type filter hook output priority -110");
  rule("filter-output", "ct state new jump no-endpoints");
  chain("nat-prerouting", "type nat hook prerouting priority dstnat");
  rule("nat-prerouting", "jump services");
  chain("nat-output", "type nat hook output priority -100");
  rule("nat-output", "jump services");
  chain("nat-postrouting", "type nat hook postrouting priority srcnat");
  rule("nat-postrouting", "jump masquerading");
  return out;
}

}  // namespace podnet::proxy
