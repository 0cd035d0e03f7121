#include "policy/program.h"

#include <algorithm>
#include <iterator>

namespace podnet::policy {

const char* isolatedSetName(size_t direction) {
  return direction == 0 ? "ingress-isolated" : "egress-isolated";
}

const char* chainName(size_t direction) { return direction == 0 ? "ingress" : "egress"; }

std::string ruleSetName(size_t direction, SetKind kind) {
  static const char* kinds[] = {"peers", "protocols", "ports", "port-ranges", "cidrs"};
  return std::string(chainName(direction)) + "-" + kinds[static_cast<size_t>(kind)];
}

bool Delta::empty() const { return size() == 0; }

size_t Delta::size() const {
  size_t n = identitiesAdded.size() + identitiesRemoved.size() + localPodsAdded.size() +
             localPodsRemoved.size();
  for (size_t d = 0; d < kDirections; ++d) {
    n += isolatedAdded[d].size() + isolatedRemoved[d].size();
    for (size_t k = 0; k < kSetKinds; ++k) n += added[d][k].size() + removed[d][k].size();
  }
  return n;
}

namespace {

template <typename T>
void diffSets(const std::set<T>& before, const std::set<T>& after, std::set<T>& added,
              std::set<T>& removed) {
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::inserter(added, added.end()));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::inserter(removed, removed.end()));
}

}  // namespace

Delta diffPrograms(const Program& before, const Program& after) {
  Delta delta;
  for (const auto& [ip, id] : before.identities) {
    auto it = after.identities.find(ip);
    if (it == after.identities.end() || it->second != id) delta.identitiesRemoved[ip] = id;
  }
  for (const auto& [ip, id] : after.identities) {
    auto it = before.identities.find(ip);
    if (it == before.identities.end() || it->second != id) delta.identitiesAdded[ip] = id;
  }
  diffSets(before.localPods, after.localPods, delta.localPodsAdded, delta.localPodsRemoved);
  for (size_t d = 0; d < kDirections; ++d) {
    diffSets(before.isolated[d], after.isolated[d], delta.isolatedAdded[d],
             delta.isolatedRemoved[d]);
    for (size_t k = 0; k < kSetKinds; ++k)
      diffSets(before.sets[d][k], after.sets[d][k], delta.added[d][k], delta.removed[d][k]);
  }
  return delta;
}

void applyDelta(Program& program, const Delta& delta) {
  for (const auto& [ip, id] : delta.identitiesRemoved) program.identities.erase(ip);
  for (const auto& [ip, id] : delta.identitiesAdded) program.identities[ip] = id;
  for (uint32_t ip : delta.localPodsRemoved) program.localPods.erase(ip);
  program.localPods.insert(delta.localPodsAdded.begin(), delta.localPodsAdded.end());
  for (size_t d = 0; d < kDirections; ++d) {
    for (uint32_t ip : delta.isolatedRemoved[d]) program.isolated[d].erase(ip);
    program.isolated[d].insert(delta.isolatedAdded[d].begin(), delta.isolatedAdded[d].end());
    for (size_t k = 0; k < kSetKinds; ++k) {
      for (const auto& e : delta.removed[d][k]) program.sets[d][k].erase(e);
      program.sets[d][k].insert(delta.added[d][k].begin(), delta.added[d][k].end());
    }
  }
}

}  // namespace podnet::policy
