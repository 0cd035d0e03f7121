// Built-in IPAM with durable state in host-local's on-disk layout, so a node
// can switch between podnet and the reference host-local plugin (and the
// tools people use to inspect it) without losing track of addresses:
//
//   <dataDir>/<network>/<ip>                  "containerID\r\nifname", created exclusively
//   <dataDir>/<network>/last_reserved_ip.0    the last address handed out (round-robin)
//   <dataDir>/<network>/lock                  flock()ed for every operation
//
// Every file appears atomically: it is written to a temporary name, then
// link()ed (for address files: fails if the address is taken, like O_EXCL) or
// rename()d into place, so a crash never leaves a half-written file. An address
// file and its directory entry are fsynced before the allocation is reported
// (allocate() returns, or waitDurable() with deferred sync). last_reserved_ip.0
// is only a round-robin hint and is not fsynced: a crash may leave an older
// (or unreadable) value, which moves where the next search starts, nothing
// else. State is only files, so it survives plugin and node restarts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cni/types.h"

namespace podnet::cni {

struct Allocation {
  core::IpAddress address;
  std::string containerId;
  std::string ifname;  // empty for files written by old host-local (containerID only)
  bool operator==(const Allocation&) const = default;
};

struct AllocatedAddress {
  InterfaceAddress address;  // with the subnet's prefix length
  core::IpAddress gateway;
};

class HostLocalIpam {
 public:
  HostLocalIpam(IpamConfig config, std::string networkName);
  ~HostLocalIpam();  // performs a deferred sync still pending
  HostLocalIpam(HostLocalIpam&&) noexcept;
  HostLocalIpam& operator=(HostLocalIpam&&) = delete;

  // With deferred sync, allocate() returns once the address is reserved (the
  // file created under the lock) and leaves the fsyncs of the file and the
  // directory (~1 ms on a disk) to waitDurable(), which the caller runs when
  // it suits it, e.g. on a thread while the kernel work runs, and must have
  // succeeded before the address is reported. A crash before that may leave
  // the address file empty: an allocation with no owner, which GC releases.
  void setDeferredSync(bool deferred) { deferredSync_ = deferred; }
  // Performs the pending fsyncs, if any; the error of a failed one.
  std::optional<CniError> waitDurable();

  // <dataDir>/<network>
  const std::string& directory() const { return directory_; }

  // Reserves one address of the range set for (containerId, ifname): the
  // requested one if given (it must lie in a range and not be the gateway),
  // else the next free one after last_reserved_ip.0, wrapping around.
  // Errors: kRangeExhausted, kRequestedIpUnavailable, kDuplicateAllocation, kIoFailure.
  Outcome<AllocatedAddress> allocate(const std::string& containerId, const std::string& ifname,
                                     std::optional<core::IpAddress> requested = std::nullopt);
  // Releases every address of (containerId, ifname); releasing nothing is
  // success (DEL must be idempotent). Returns how many were released.
  Outcome<int> release(const std::string& containerId, const std::string& ifname);
  // The addresses held by (containerId, ifname).
  Outcome<std::vector<Allocation>> find(const std::string& containerId,
                                        const std::string& ifname) const;
  // Every allocation, sorted by address.
  Outcome<std::vector<Allocation>> list() const;
  // Releases every allocation whose attachment is not in `valid` (CNI GC).
  // Keeps going past errors and reports the first one. Returns the count released.
  Outcome<int> garbageCollect(const std::vector<Attachment>& valid);

 private:
  Outcome<std::vector<Allocation>> listLocked() const;
  std::optional<CniError> releaseLocked(const Allocation& allocation);

  IpamConfig config_;
  std::string directory_;
  bool deferredSync_ = false;
  struct PendingSync;
  std::unique_ptr<PendingSync> pending_;
};

}  // namespace podnet::cni
