#include "policy/program.h"

#include <algorithm>
#include <iterator>

namespace podnet::policy {

const char* directionName(size_t direction) { return direction == 0 ? "ingress" : "egress"; }

std::string dispatchMapName(size_t direction) {
  return std::string(directionName(direction)) + "-dispatch";
}

std::string chainName(size_t direction, uint32_t identity) {
  return std::string(directionName(direction)) + "-" + std::to_string(identity);
}

std::string setName(size_t direction, uint32_t identity, SetKind kind) {
  static const char* kinds[] = {"peers", "protocols", "ports", "port-ranges", "cidrs", "groups"};
  return chainName(direction, identity) + "-" + kinds[static_cast<size_t>(kind)];
}

std::string groupSetName(uint32_t group) { return "group-" + std::to_string(group); }

std::string groupPortsSetName(size_t direction, uint32_t chain, uint32_t group) {
  return chainName(direction, chain) + "-g" + std::to_string(group);
}

bool allowsEverything(const Element& e) {
  return e.first[1] == 0 && e.last[1] == 255 && e.first[2] == 0 && e.last[2] == 65535;
}

namespace {

size_t elementsOf(const std::map<uint32_t, ChainSets>& chains) {
  size_t n = 0;
  for (const auto& [id, c] : chains)
    for (const auto& s : c.sets) n += s.size();
  return n;
}

size_t addressesOf(const std::map<uint32_t, std::set<uint32_t>>& groups) {
  size_t n = 0;
  for (const auto& [g, a] : groups) n += a.size();
  return n;
}

template <typename T>
void diffSets(const std::set<T>& before, const std::set<T>& after, std::set<T>& added,
              std::set<T>& removed) {
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::inserter(added, added.end()));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::inserter(removed, removed.end()));
}

}  // namespace

bool Delta::empty() const { return size() == 0; }

size_t Delta::size() const {
  size_t n = localPodsAdded.size() + localPodsRemoved.size() + addressesOf(groupsAdded) +
             groupsRemoved.size() + addressesOf(groupAddressesAdded) +
             addressesOf(groupAddressesRemoved);
  for (size_t d = 0; d < kDirections; ++d)
    n += chainsAdded[d].size() + chainsRemoved[d].size() + dispatchAdded[d].size() +
         dispatchRemoved[d].size() + elementsOf(added[d]) + elementsOf(removed[d]) +
         groupRefsChanged[d].size();
  return n;
}

size_t elementCount(const Program& program) {
  size_t n = program.localPods.size() + addressesOf(program.groups);
  for (size_t d = 0; d < kDirections; ++d)
    n += program.dispatch[d].size() + elementsOf(program.chains[d]);
  return n;
}

Delta diffPrograms(const Program& before, const Program& after) {
  Delta delta;
  diffSets(before.localPods, after.localPods, delta.localPodsAdded, delta.localPodsRemoved);
  for (size_t d = 0; d < kDirections; ++d) {
    for (const auto& [ip, id] : before.dispatch[d]) {
      auto it = after.dispatch[d].find(ip);
      if (it == after.dispatch[d].end() || it->second != id) delta.dispatchRemoved[d][ip] = id;
    }
    for (const auto& [ip, id] : after.dispatch[d]) {
      auto it = before.dispatch[d].find(ip);
      if (it == before.dispatch[d].end() || it->second != id) delta.dispatchAdded[d][ip] = id;
    }
    for (const auto& [id, sets] : before.chains[d])
      if (!after.chains[d].count(id)) delta.chainsRemoved[d].insert(id);
    for (const auto& [id, sets] : after.chains[d]) {
      auto old = before.chains[d].find(id);
      if (old == before.chains[d].end()) {
        delta.chainsAdded[d].insert(id);
        delta.added[d][id] = sets;
        continue;
      }
      for (size_t k = 0; k < kSetKinds; ++k) {
        std::set<Element> added, removed;
        diffSets(old->second.sets[k], sets.sets[k], added, removed);
        if (!added.empty()) delta.added[d][id].sets[k] = std::move(added);
        if (!removed.empty()) delta.removed[d][id].sets[k] = std::move(removed);
      }
      constexpr size_t g = static_cast<size_t>(SetKind::groupPorts);
      if (old->second.sets[g] != sets.sets[g])
        delta.groupRefsChanged[d][id] = {old->second.sets[g], sets.sets[g]};
    }
    for (uint32_t id : delta.chainsRemoved[d])
      delta.removed[d][id].sets[static_cast<size_t>(SetKind::groupPorts)] =
          before.chains[d].at(id).sets[static_cast<size_t>(SetKind::groupPorts)];
  }
  for (const auto& [g, addresses] : before.groups)
    if (!after.groups.count(g)) delta.groupsRemoved.insert(g);
  for (const auto& [g, addresses] : after.groups) {
    auto old = before.groups.find(g);
    if (old == before.groups.end()) {
      delta.groupsAdded[g] = addresses;
      continue;
    }
    std::set<uint32_t> added, removed;
    diffSets(old->second, addresses, added, removed);
    if (!added.empty()) delta.groupAddressesAdded[g] = std::move(added);
    if (!removed.empty()) delta.groupAddressesRemoved[g] = std::move(removed);
  }
  return delta;
}

void applyDelta(Program& program, const Delta& delta) {
  for (uint32_t ip : delta.localPodsRemoved) program.localPods.erase(ip);
  program.localPods.insert(delta.localPodsAdded.begin(), delta.localPodsAdded.end());
  for (size_t d = 0; d < kDirections; ++d) {
    for (const auto& [ip, id] : delta.dispatchRemoved[d]) program.dispatch[d].erase(ip);
    for (uint32_t id : delta.chainsRemoved[d]) program.chains[d].erase(id);
    for (uint32_t id : delta.chainsAdded[d]) program.chains[d][id];
    for (const auto& [id, sets] : delta.removed[d]) {
      if (delta.chainsRemoved[d].count(id)) continue;  // gone with the chain
      for (size_t k = 0; k < kSetKinds; ++k)
        for (const auto& e : sets.sets[k]) program.chains[d][id].sets[k].erase(e);
    }
    for (const auto& [id, sets] : delta.added[d])
      for (size_t k = 0; k < kElementKinds; ++k)
        program.chains[d][id].sets[k].insert(sets.sets[k].begin(), sets.sets[k].end());
    for (const auto& [id, refs] : delta.groupRefsChanged[d])
      program.chains[d][id].sets[static_cast<size_t>(SetKind::groupPorts)] = refs.after;
    for (const auto& [ip, id] : delta.dispatchAdded[d]) program.dispatch[d][ip] = id;
  }
  for (uint32_t g : delta.groupsRemoved) program.groups.erase(g);
  for (const auto& [g, addresses] : delta.groupsAdded) program.groups[g] = addresses;
  for (const auto& [g, addresses] : delta.groupAddressesRemoved)
    for (uint32_t ip : addresses) program.groups[g].erase(ip);
  for (const auto& [g, addresses] : delta.groupAddressesAdded)
    program.groups[g].insert(addresses.begin(), addresses.end());
}

}  // namespace podnet::policy
