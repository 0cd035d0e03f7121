#include "proxy/program_state.h"

#include <functional>

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

ProgramState::ProgramState(TableConfig config) : config_(std::move(config)) {}

std::string ProgramState::prefix() const {
  return std::string(addressKeyword(config_.family)) + " " + config_.table;
}

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

bool ProgramState::update(const std::string& key, ServiceProgram program, Transaction* tx) {
  static const ServiceProgram kNone;
  auto found = services_.find(key);
  const ServiceProgram& old = found == services_.end() ? kNone : found->second;
  if (old == program) return false;

  for (const auto& [name, set] : program.affinitySets) {
    if (tx && !find(old.affinitySets, name)) tx->newSets.emplace_back(name, set);
  }
  for (const auto& [name, chain] : program.chains) {
    const Chain* before = find(old.chains, name);
    if (!before) {
      if (tx) tx->newChains.push_back(name);
      chainOwner_[name] = key;
    } else if (*before == chain) {
      continue;
    } else {
      if (tx) tx->flushedChains.push_back(name);
    }
    if (tx) appendRules(tx->rules, name, chain);
  }
  for (const auto& [name, chain] : old.chains) {
    if (find(program.chains, name)) continue;
    // Flushed with the fills, deleted after the map entries that point to it.
    if (tx) {
      tx->flushedChains.push_back(name);
      tx->deletedChains.push_back(name);
    }
    chainOwner_.erase(name);
  }
  for (const auto& [name, set] : old.affinitySets) {
    if (tx && !find(program.affinitySets, name)) tx->deletedSets.push_back(name);
  }

  // Shared map entries: compare the effective value before and after.
  auto effective =
      [](const std::map<std::string, std::string>* owners) -> std::optional<std::string> {
    if (!owners || owners->empty()) return std::nullopt;
    return owners->begin()->second;
  };
  std::set<std::string> mapNames;
  for (const auto& [m, entries] : old.maps) mapNames.insert(m);
  for (const auto& [m, entries] : program.maps) mapNames.insert(m);
  for (const auto& m : mapNames) {
    static const VerdictMap kEmpty;
    const VerdictMap* oldEntries = find(old.maps, m);
    const VerdictMap* newEntries = find(program.maps, m);
    if (!oldEntries) oldEntries = &kEmpty;
    if (!newEntries) newEntries = &kEmpty;
    auto& table = mapEntries_[m];
    auto touch = [&](const std::string& entryKey, const std::string* value) {
      auto& owners = table[entryKey];
      auto before = effective(&owners);
      if (value)
        owners[key] = *value;
      else
        owners.erase(key);
      auto after = effective(&owners);
      if (owners.empty()) table.erase(entryKey);
      if (tx && before != after) tx->noteElement(m, entryKey, before, after);
    };
    for (const auto& [entryKey, value] : *oldEntries)
      if (!newEntries->count(entryKey)) touch(entryKey, nullptr);
    for (const auto& [entryKey, value] : *newEntries) {
      const std::string* was = find(*oldEntries, entryKey);
      if (!was || *was != value) touch(entryKey, &value);
    }
  }
  std::set<std::string> setNames;
  for (const auto& [s, elements] : old.sets) setNames.insert(s);
  for (const auto& [s, elements] : program.sets) setNames.insert(s);
  for (const auto& s : setNames) {
    static const std::set<std::string> kEmpty;
    const std::set<std::string>* oldElements = find(old.sets, s);
    const std::set<std::string>* newElements = find(program.sets, s);
    if (!oldElements) oldElements = &kEmpty;
    if (!newElements) newElements = &kEmpty;
    auto& table = setEntries_[s];
    for (const auto& element : *oldElements) {
      if (newElements->count(element)) continue;
      auto& owners = table[element];
      owners.erase(key);
      if (owners.empty()) {
        table.erase(element);
        if (tx) tx->noteElement(s, element, std::string(), std::nullopt);
      }
    }
    for (const auto& element : *newElements) {
      if (oldElements->count(element)) continue;
      auto& owners = table[element];
      if (tx && owners.empty()) tx->noteElement(s, element, std::nullopt, std::string());
      owners.insert(key);
    }
  }

  if (program.chains.empty() && program.maps.empty() && program.sets.empty() &&
      program.affinitySets.empty())
    services_.erase(key);
  else
    services_[key] = std::move(program);
  return true;
}

Transaction ProgramState::contents() const {
  Transaction tx = newTransaction();
  for (const auto& [key, program] : services_) {
    for (const auto& [name, set] : program.affinitySets) tx.newSets.emplace_back(name, set);
    for (const auto& [name, chain] : program.chains) tx.newChains.push_back(name);
  }
  for (const auto& [key, program] : services_)
    for (const auto& [name, chain] : program.chains) appendRules(tx.rules, name, chain);
  for (const auto& [m, entries] : mapEntries_)
    for (const auto& [entryKey, owners] : entries)
      tx.noteElement(m, entryKey, std::nullopt, owners.begin()->second);
  for (const auto& [s, elements] : setEntries_)
    for (const auto& [element, owners] : elements)
      tx.noteElement(s, element, std::nullopt, std::string());
  return tx;
}

std::string ProgramState::renderFull() const {
  const std::string p = prefix();
  // Creating, deleting and re-creating the table in one transaction replaces
  // it atomically, whatever it held before.
  return "add table " + p + "\ndelete table " + p + "\n" + renderBase(config_) +
         contents().script();
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

const Chain* ProgramState::chain(const std::string& name) const {
  auto owner = chainOwner_.find(name);
  if (owner == chainOwner_.end()) return nullptr;
  auto service = services_.find(owner->second);
  if (service == services_.end()) return nullptr;
  return find(service->second.chains, name);
}

std::optional<std::string> ProgramState::lookup(const std::string& map,
                                                const std::string& key) const {
  auto table = mapEntries_.find(map);
  if (table == mapEntries_.end()) return std::nullopt;
  auto entry = table->second.find(key);
  if (entry == table->second.end() || entry->second.empty()) return std::nullopt;
  return entry->second.begin()->second;
}

bool ProgramState::contains(const std::string& set, const std::string& key) const {
  auto table = setEntries_.find(set);
  return table != setEntries_.end() && table->second.count(key) > 0;
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
