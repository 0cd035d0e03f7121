// The scheduler's choice as a pure function: which Nodes a pod may run on
// (Ready, schedulable, nodeSelector, NoSchedule taints, the nodes its
// volumes allow) and which of them spreads best (fewest pods of the same
// owner, then fewest pods).
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

// The provisioner of podnet's node-local volumes (the agent runs it).
constexpr const char* kLocalPathProvisioner = "podnet.io/local-path";
// The claim annotation that tells a provisioner on which node to make the
// volume (the scheduler's, for WaitForFirstConsumer binding).
constexpr const char* kSelectedNodeAnnotation = "volume.kubernetes.io/selected-node";

// What a pod's persistentVolumeClaim volumes allow, as the VolumeBinding
// plugin sees them: a bound claim's PersistentVolume node affinity, a claim
// already given a node, and the unbound claims of a class podnet provisions
// (the chosen node is written on them).
struct VolumeConstraints {
  std::string error;                 // the pod cannot be placed at all (a claim missing, unbound)
  std::vector<Json> nodeAffinities;  // PersistentVolume spec.nodeAffinity.required
  std::optional<std::string> node;   // a claim's selected node
  std::vector<std::string> claimsToPlace;
};

// `claim`, `volume`, `storageClass`: lookups by name (nullptr when absent).
template <typename ClaimLookup, typename VolumeLookup, typename ClassLookup>
VolumeConstraints volumeConstraints(const Json& pod, ClaimLookup claim, VolumeLookup volume,
                                    ClassLookup storageClass);

struct SchedulingResult {
  std::optional<std::string> node;
  std::string reason;  // why none fits, as "0/3 nodes are available: ..."
};

// `pods` are the pods already placed anywhere (any namespace); pods of the
// same controller (or, without one, the same namespace and labels) count as
// "siblings" for spreading.
SchedulingResult chooseNode(const Json& pod, const std::vector<const Json*>& nodes,
                            const std::vector<const Json*>& pods,
                            const VolumeConstraints& volumes = {});

// A NodeSelector (nodeSelectorTerms, ORed) against a node.
bool nodeSelectorMatches(const Json& selector, const Json& node);

template <typename ClaimLookup, typename VolumeLookup, typename ClassLookup>
VolumeConstraints volumeConstraints(const Json& pod, ClaimLookup claim, VolumeLookup volume,
                                    ClassLookup storageClass) {
  VolumeConstraints out;
  auto text = [](const Json& obj, std::initializer_list<const char*> path) -> std::string {
    const Json* at = &obj;
    for (const char* key : path) {
      if (!at->is_object() || !at->contains(key)) return "";
      at = &(*at)[key];
    }
    return at->is_string() ? at->get<std::string>() : "";
  };
  const Json& spec = pod.contains("spec") ? pod["spec"] : Json::object();
  if (!spec.contains("volumes") || !spec["volumes"].is_array()) return out;
  for (const Json& podVolume : spec["volumes"]) {
    std::string name = text(podVolume, {"persistentVolumeClaim", "claimName"});
    if (name.empty()) continue;
    const Json* found = claim(name);
    if (!found) {
      out.error = "persistentvolumeclaim \"" + name + "\" not found";
      return out;
    }
    if (found->contains("metadata") && (*found)["metadata"].contains("deletionTimestamp")) {
      out.error = "persistentvolumeclaim \"" + name + "\" is being deleted";
      return out;
    }
    std::string bound = text(*found, {"spec", "volumeName"});
    if (!bound.empty()) {
      const Json* pv = volume(bound);
      if (pv && (*pv)["spec"].contains("nodeAffinity") &&
          (*pv)["spec"]["nodeAffinity"].contains("required"))
        out.nodeAffinities.push_back((*pv)["spec"]["nodeAffinity"]["required"]);
      continue;
    }
    std::string selected = text(*found, {"metadata", "annotations", kSelectedNodeAnnotation});
    if (!selected.empty()) {
      out.node = selected;
      continue;
    }
    const Json* cls = storageClass(text(*found, {"spec", "storageClassName"}));
    if (!cls || text(*cls, {"provisioner"}) != kLocalPathProvisioner) {
      out.error = "pod has unbound immediate PersistentVolumeClaims";
      return out;
    }
    out.claimsToPlace.push_back(name);
  }
  return out;
}

}  // namespace podnet::controllers
