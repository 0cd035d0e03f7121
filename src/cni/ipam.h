// Built-in IPAM with state in host-local's on-disk layout, so a node can
// switch between podnet and the reference host-local plugin (and the tools
// people use to inspect it) without losing track of addresses:
//
//   <dataDir>/<network>/<ip>                  "containerID\r\nifname", created exclusively
//   <dataDir>/<network>/last_reserved_ip.0    the last address handed out (round-robin)
//   <dataDir>/<network>/lock                  flock()ed for every operation
//
// An address file is created with O_EXCL under the lock (host-local's way);
// readers hold the lock too, so none sees it before its content. State is
// only files, so it survives plugin and agent restarts and crashes of either
// (the page cache has it). Nothing is fsynced, as in host-local: what the
// files describe, network namespaces and veths, does not survive the machine
// going down either, and after a reboot the runtime's DEL and GC clean up
// (a file lost with the machine is an address whose pod is gone too). See
// docs/decisions.md.
#pragma once

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
  HostLocalIpam(HostLocalIpam&&) noexcept = default;
  HostLocalIpam& operator=(HostLocalIpam&&) = delete;

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
};

}  // namespace podnet::cni
