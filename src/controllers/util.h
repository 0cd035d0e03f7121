// Small helpers shared by the controllers: typed reads of JSON fields that
// never throw on a missing or mistyped field, owner references, pod state.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/codec.h"

namespace podnet::controllers {

using api::Json;

// The value at a path of object keys, or nullptr when any step is missing or
// not an object.
const Json* at(const Json& obj, std::initializer_list<std::string_view> path);
std::string stringAt(const Json& obj, std::initializer_list<std::string_view> path);
int64_t intAt(const Json& obj, std::initializer_list<std::string_view> path, int64_t fallback);
bool boolAt(const Json& obj, std::initializer_list<std::string_view> path, bool fallback);
// The object or array at a path, or an empty one (for iteration).
const Json& arrayAt(const Json& obj, std::initializer_list<std::string_view> path);
const Json& objectAt(const Json& obj, std::initializer_list<std::string_view> path);

// `length` characters from the alphabet upstream uses for generated names
// (no vowels, so no words; no 0/1/3 lookalikes).
std::string randomSuffix(size_t length = 5);

struct OwnerRef {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
};
// The ownerReference with controller: true, if any.
std::optional<OwnerRef> controllerOf(const Json& obj);
// An ownerReferences entry pointing at `owner` (a full object with
// apiVersion, kind, name, uid).
Json ownerReference(const Json& owner, std::string_view apiVersion, std::string_view kind,
                    bool controller = true);

// Seconds since the epoch, the clock pod readiness and Job times are read against.
long long nowSeconds();
// The resourceVersion of an object as a revision (0 when absent).
int64_t revisionOf(const Json& obj);
// Whether `obj`'s controller reference names `owner` (by uid).
bool ownedBy(const Json& obj, const Json& owner);
// A new Pod of `owner`'s pod template (spec.template): the template's
// labels, annotations and spec, the owner as controller reference. The
// caller names it.
Json podFromTemplate(const Json& owner, std::string_view apiVersion, std::string_view kind);

// Pods.
bool isPodTerminal(const Json& pod);  // phase Succeeded or Failed
// Counts toward a ReplicaSet: not terminal and not being deleted.
bool isPodActive(const Json& pod);
bool isPodReady(const Json& pod);  // condition Ready is "True"
// Seconds since the epoch when the pod last became Ready, or -1.
long long podReadySince(const Json& pod);
// Ready for at least minReadySeconds at `now` (seconds since the epoch).
bool isPodAvailable(const Json& pod, int64_t minReadySeconds, long long now);

// A Service-style selector: every pair must be present in `labels`.
bool mapSelectorMatches(const std::map<std::string, std::string>& selector,
                        const std::map<std::string, std::string>& labels);

// intstr.IntOrString scaled against `total` ("25%" of 10 -> 3 when rounding
// up, 2 when down); an int is itself. Unparsable -> fallback.
int64_t scaledValue(const Json* value, int64_t total, bool roundUp, int64_t fallback);

}  // namespace podnet::controllers
