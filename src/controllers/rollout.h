// The arithmetic of Deployments (pure; upstream pkg/controller/deployment/
// util): the pod-template-hash, maxSurge/maxUnavailable, how far a rolling
// update may scale the new ReplicaSet up and the old ones down.
#pragma once

#include <cstdint>
#include <string>

#include "api/codec.h"

namespace podnet::controllers {

using api::Json;

inline constexpr const char* kPodTemplateHashLabel = "pod-template-hash";
inline constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr const char* kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr const char* kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";

// 32-bit FNV-1a.
uint32_t fnv32a(std::string_view data);
// The hash of a pod template as upstream renders it: fnv32a of the template
// (without its own pod-template-hash label; keys sorted, so stable), the
// decimal digits mapped onto the safe alphabet (e.g. "7c5ddbdf54").
std::string podTemplateHash(const Json& podTemplate);
// Templates equal apart from the pod-template-hash label.
bool templatesEqualIgnoringHash(const Json& a, const Json& b);

struct RollingParams {
  int64_t maxSurge = 0;
  int64_t maxUnavailable = 0;
};
// maxSurge (rounded up) and maxUnavailable (rounded down) of `deployment`
// against its replicas, defaults 25%; both zero would stall, so
// maxUnavailable becomes 1 (as upstream's ResolveFenceposts).
RollingParams rollingParams(const Json& deployment);

// Replicas for the new ReplicaSet in one rolling-update step: never more
// than replicas + maxSurge pods in all, never more than replicas.
int64_t newReplicaSetReplicas(int64_t desired, int64_t maxSurge, int64_t allReplicas,
                              int64_t newReplicas);

// How many old pods may go now: keeps at least desired - maxUnavailable
// available, not counting new pods that are not yet available.
int64_t oldReplicasScaleDownBudget(int64_t desired, int64_t maxUnavailable, int64_t allReplicas,
                                   int64_t newReplicas, int64_t newAvailable);

}  // namespace podnet::controllers
