#include "controllers/rollout.h"

#include <algorithm>

#include "controllers/util.h"

namespace podnet::controllers {

uint32_t fnv32a(std::string_view data) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

// Null members are Go's zero values: `creationTimestamp: null`, which
// kubectl's rollback sends inside the template, is the same template as one
// without it (upstream compares and hashes Go structs).
static void dropNulls(Json& value, int depth = 0) {
  if (depth > 64) return;
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end();) {
      if (it->is_null()) {
        it = value.erase(it);
      } else {
        dropNulls(*it, depth + 1);
        ++it;
      }
    }
  } else if (value.is_array()) {
    for (auto& item : value) dropNulls(item, depth + 1);
  }
}

static Json withoutHashLabel(const Json& podTemplate) {
  Json copy = podTemplate.is_object() ? podTemplate : Json::object();
  dropNulls(copy);
  if (copy.contains("metadata") && copy["metadata"].is_object() &&
      copy["metadata"].contains("labels") && copy["metadata"]["labels"].is_object())
    copy["metadata"]["labels"].erase(kPodTemplateHashLabel);
  return copy;
}

std::string podTemplateHash(const Json& podTemplate) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string digits = std::to_string(fnv32a(withoutHashLabel(podTemplate).dump()));
  std::string out;
  for (unsigned char c : digits) out += kAlphabet[c % kAlphabet.size()];
  return out;
}

bool templatesEqualIgnoringHash(const Json& a, const Json& b) {
  return withoutHashLabel(a) == withoutHashLabel(b);
}

RollingParams rollingParams(const Json& deployment) {
  int64_t replicas = intAt(deployment, {"spec", "replicas"}, 1);
  const Json* surge = at(deployment, {"spec", "strategy", "rollingUpdate", "maxSurge"});
  const Json* unavailable = at(deployment, {"spec", "strategy", "rollingUpdate", "maxUnavailable"});
  static const Json kDefault = "25%";
  RollingParams params;
  params.maxSurge = scaledValue(surge ? surge : &kDefault, replicas, true, 0);
  params.maxUnavailable = scaledValue(unavailable ? unavailable : &kDefault, replicas, false, 0);
  if (params.maxSurge == 0 && params.maxUnavailable == 0) params.maxUnavailable = 1;
  params.maxUnavailable = std::min(params.maxUnavailable, std::max<int64_t>(replicas, 0));
  return params;
}

int64_t newReplicaSetReplicas(int64_t desired, int64_t maxSurge, int64_t allReplicas,
                              int64_t newReplicas) {
  if (newReplicas >= desired) return desired;
  int64_t maxTotal = desired + maxSurge;
  if (allReplicas >= maxTotal) return newReplicas;
  int64_t scaleUp = std::min(maxTotal - allReplicas, desired - newReplicas);
  return newReplicas + scaleUp;
}

int64_t oldReplicasScaleDownBudget(int64_t desired, int64_t maxUnavailable, int64_t allReplicas,
                                   int64_t newReplicas, int64_t newAvailable) {
  int64_t minAvailable = desired - maxUnavailable;
  int64_t newUnavailable = std::max<int64_t>(0, newReplicas - newAvailable);
  return std::max<int64_t>(0, allReplicas - minAvailable - newUnavailable);
}

}  // namespace podnet::controllers
