// ClusterIP and NodePort allocation as an admission hook on Services, as
// kube-apiserver's service REST storage does it: a created Service comes
// back with spec.clusterIP(s) and nodePorts set; a requested value is
// honoured or refused with a 422 like upstream; values are released when the
// Service is deleted, when its create fails after admission, and when a type
// change drops them.
//
// Every value taken is claimed in the Store (value_claims.h) before the
// Service is written, so API servers sharing one store never hand out the
// same value; the local bitmaps are a cache of the claims, kept current by a
// watch on them, that lets a server pick a free value at the first try.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controllers/allocators.h"
#include "controllers/controllers.h"
#include "controllers/runtime.h"
#include "controllers/value_claims.h"
#include "registry/registry.h"

namespace podnet::controllers {

using api::Json;
using api::ResourceInfo;

class ServiceAllocator : public registry::AdmissionHook {
 public:
  static core::Result<std::shared_ptr<ServiceAllocator>> create(const Config& config,
                                                                store::Store& store);
  ~ServiceAllocator() override;

  // Marks what stored Services and claims hold (at start, before serving
  // writes), then follows the claims other servers make and release.
  core::Status rebuild(const std::vector<Json>& services);

  core::Status admitCreate(const ResourceInfo& resource, Json& obj) override;
  core::Status admitUpdate(const ResourceInfo& resource, const Json& old, Json& obj) override;
  void abortCreate(const ResourceInfo& resource, const Json& obj) override;
  void abortUpdate(const ResourceInfo& resource, const Json& old, const Json& obj) override;
  void stored(const ResourceInfo& resource, const Json& obj) override;
  void deleted(const ResourceInfo& resource, const Json& old) override;

  bool ipAllocated(const std::string& ip);
  bool nodePortAllocated(int port);
  std::string firstServiceIp() const;

 private:
  // What one admission took or gave back, so an abort can undo exactly it.
  struct Change {
    std::vector<std::string> ipsTaken;
    std::vector<int> portsTaken;
    std::vector<std::string> ipsReleased;
    std::vector<int> portsReleased;
  };

  ServiceAllocator(IpRangeAllocator ips, PortAllocator ports, store::Store& store);

  // Allocates the ClusterIP (requested or random) into obj; records it.
  core::Status allocateClusterIp(Json& obj, Change& change);
  // Allocates NodePorts for every port of obj; `reusable` are ports the old
  // object owns that may be kept (by port index key).
  core::Status allocateNodePorts(Json& obj, const Json* old, Change& change);
  void takeIp(const std::string& ip, const std::string& owner);
  void releaseIp(const std::string& ip, const std::string& owner);
  void takePort(int port, const std::string& owner);
  void releasePort(int port, const std::string& owner);
  void undo(const Change& change, const std::string& owner);
  // Claims a value the local bitmap just gave `owner`: true when the claim
  // is the owner's; false when another server's Service holds it (the
  // local cache then records that holder).
  core::Result<bool> claimIp(const std::string& ip, const std::string& owner);
  core::Result<bool> claimPort(int port, const std::string& owner);
  void releaseClaims(const std::vector<std::string>& ips, const std::vector<int>& ports,
                     const std::string& owner);
  // Applies a claim put or delete seen in the store to the local cache,
  // unless this server already knows that revision of the claim or a newer.
  void applyClaimEvent(const store::Event& event);
  void noteClaim(const std::string& key, int64_t revision);
  bool ipAllocatedLocked(const std::string& ip) const;
  void followClaims(int64_t fromRevision);

  std::mutex mutex_;
  IpRangeAllocator ips_;
  PortAllocator ports_;
  std::map<std::string, std::string> ipOwners_;  // ip -> "ns/name"
  std::map<int, std::string> portOwners_;
  std::map<std::string, Change> pendingCreates_;  // by "ns/name"
  std::map<std::string, Change> pendingUpdates_;
  ValueClaims ipClaims_;
  ValueClaims portClaims_;
  // Claim key -> the newest revision of it this server wrote or saw.
  std::map<std::string, int64_t> claimRevisions_;
  store::Store& store_;
  std::atomic<bool> stopping_{false};
  std::thread follower_;  // last: it runs on everything above
};

// Service helpers shared with the endpoint controllers.
std::string serviceType(const Json& svc);  // "ClusterIP" when unset
bool needsClusterIp(const Json& svc);      // not ExternalName
bool needsNodePorts(const Json& svc);      // NodePort, or LoadBalancer allocating them

// On the leader: claims what Services hold without a claim (stores written
// before claims existed), and releases claims whose Service is gone (a
// server that died between claiming and writing) once they were seen
// orphaned at two runs in a row, so an allocation in flight is never taken.
std::unique_ptr<Controller> makeServiceClaimRepairController(Context& context);

}  // namespace podnet::controllers
