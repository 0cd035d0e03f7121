// Allocated values (Service IPs, NodePorts) claimed by one Store key each,
// so that several API servers on one store never hand out the same value:
// a claim is a create-if-absent, which exactly one server wins. This is the
// design of upstream's IPAddress objects (KEP-1880), which replaced the
// single bitmap key kube-apiserver rewrote on every allocation; NodePorts
// get the same treatment here.
//
// Keys: /registry/podnet.io/allocations/<kind>/<value>, the value JSON
// {"kind", "metadata": {"name": value}, "spec": {"parentRef": {namespace,
// name, uid}}}. The owner of a claim is "namespace/name/uid", so a Service
// deleted and created again under its name never mistakes the old one's
// claim for its own.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/codec.h"
#include "core/result.h"
#include "store/store.h"

namespace podnet::controllers {

inline constexpr std::string_view kAllocationsPrefix = "/registry/podnet.io/allocations/";

// The owner string of an object's claims: "namespace/name/uid".
std::string claimOwner(const api::Json& obj);

class ValueClaims {
 public:
  // `kind` names the key space ("serviceips", "nodeports").
  ValueClaims(store::Store& store, std::string kind) : store_(store), kind_(std::move(kind)) {}

  const std::string& kind() const { return kind_; }
  std::string key(std::string_view value) const;
  std::string prefix() const;

  struct Holder {
    std::string owner;
    int64_t revision = 0;  // the claim's modRevision
  };
  // Claims `value` for `owner`. The holder after the attempt: `owner` when
  // the claim is (or already was) its own, another owner when it was taken.
  core::Result<Holder> claim(const std::string& value, const std::string& owner);
  // Deletes the claim if `owner` holds it (compare-and-delete, so a claim
  // another owner made in between stays): the revision of the delete, 0
  // when nothing was deleted.
  core::Result<int64_t> release(const std::string& value, const std::string& owner);
  // Deletes the claim if it is still the one written at `modRevision`.
  core::Status releaseAt(const std::string& value, int64_t modRevision);

  struct Snapshot {
    std::map<std::string, std::string> owners;  // value -> owner
    std::map<std::string, int64_t> revisions;   // value -> modRevision of its claim
    int64_t revision = 0;
  };
  core::Result<Snapshot> list();

  // A claim key of this kind -> its value ("" for a key of another kind).
  std::string valueOf(std::string_view key) const;
  // The owner a stored claim names ("" when it is unreadable).
  static std::string ownerOf(std::string_view stored);

 private:
  store::Store& store_;
  std::string kind_;
};

}  // namespace podnet::controllers
