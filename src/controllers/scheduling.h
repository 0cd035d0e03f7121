// The scheduler's choice as a pure function: which Nodes a pod may run on
// (Ready, schedulable, nodeSelector, NoSchedule taints) and which of them
// spreads best (fewest pods of the same owner, then fewest pods).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/codec.h"

namespace podnet::controllers {

using api::Json;

bool nodeIsReady(const Json& node);  // condition Ready=True
// Ready, not spec.unschedulable, and every NoSchedule/NoExecute taint tolerated.
bool podFitsNode(const Json& pod, const Json& node);

struct SchedulingResult {
  std::optional<std::string> node;
  std::string reason;  // why none fits, as "0/3 nodes are available: ..."
};

// `pods` are the pods already placed anywhere (any namespace); pods of the
// same controller (or, without one, the same namespace and labels) count as
// "siblings" for spreading.
SchedulingResult chooseNode(const Json& pod, const std::vector<const Json*>& nodes,
                            const std::vector<const Json*>& pods);

}  // namespace podnet::controllers
