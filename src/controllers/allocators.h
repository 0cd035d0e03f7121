// Address and port allocators kept in bitmaps, as kube-apiserver's
// (pkg/registry/core/service/allocator): one bit per address or port, random
// choice for dynamic allocations, O(size/64) worst case, no scans of the
// store. Pure data structures: not thread-safe, callers hold a lock.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/result.h"

namespace podnet::controllers {

class BitmapAllocator {
 public:
  explicit BitmapAllocator(uint64_t size, uint64_t seed = std::random_device{}());

  uint64_t size() const { return size_; }
  uint64_t used() const { return used_; }
  bool has(uint64_t offset) const;
  // Marks `offset` used; false when it is taken or out of range.
  bool allocate(uint64_t offset);
  // A free offset in [from, to), starting the search at a random point and
  // wrapping, so concurrent servers rarely collide and freed values are not
  // handed out again at once.
  std::optional<uint64_t> allocateRandom(uint64_t from, uint64_t to);
  // The lowest free offset (node podCIDRs are handed out in order).
  std::optional<uint64_t> allocateLowest();
  void release(uint64_t offset);

 private:
  // The first free offset in [from, to), or nullopt.
  std::optional<uint64_t> findFree(uint64_t from, uint64_t to) const;

  uint64_t size_;
  uint64_t used_ = 0;
  std::vector<uint64_t> words_;
  std::mt19937_64 rng_;
};

enum class AllocateOutcome { Allocated, Taken, OutOfRange };

// Service IPs of one CIDR. The network address (and for IPv4 the broadcast
// address) is never handed out. Dynamic allocation prefers the upper part
// of the range and leaves the lowest addresses (up to 256, as upstream's
// KEP-3070) to static requests such as 10.96.0.10 for kube-dns.
class IpRangeAllocator {
 public:
  static core::Result<IpRangeAllocator> create(const std::string& cidr);

  AllocateOutcome allocate(const core::IpAddress& ip);
  std::optional<core::IpAddress> allocateNext();
  void release(const core::IpAddress& ip);
  bool has(const core::IpAddress& ip) const;
  bool inRange(const core::IpAddress& ip) const;
  const core::Cidr& cidr() const { return cidr_; }
  // The first usable address (10.96.0.1 for 10.96.0.0/12).
  core::IpAddress first() const { return cidr_.at(1); }
  uint64_t used() const { return bitmap_.used(); }
  uint64_t staticBandSize() const { return staticBand_; }

 private:
  IpRangeAllocator(core::Cidr cidr, uint64_t size);
  core::Cidr cidr_;
  uint64_t size_;  // offsets [1, size_) are usable
  uint64_t staticBand_;
  BitmapAllocator bitmap_;
};

// Ports in [min, max], e.g. NodePorts 30000-32767.
class PortAllocator {
 public:
  PortAllocator(int min, int max);
  AllocateOutcome allocate(int port);
  std::optional<int> allocateNext();
  void release(int port);
  bool has(int port) const;
  int min() const { return min_; }
  int max() const { return max_; }
  std::string rangeText() const { return std::to_string(min_) + "-" + std::to_string(max_); }

 private:
  int min_;
  int max_;
  BitmapAllocator bitmap_;
};

// Subnets of one prefix length carved from a cluster CIDR (node podCIDRs).
class CidrSetAllocator {
 public:
  static core::Result<CidrSetAllocator> create(const std::string& clusterCidr, int subnetPrefix);
  AllocateOutcome allocate(const core::Cidr& subnet);
  std::optional<core::Cidr> allocateNext();
  void release(const core::Cidr& subnet);
  bool has(const core::Cidr& subnet) const;
  int subnetPrefix() const { return subnetPrefix_; }

 private:
  CidrSetAllocator(core::Cidr cluster, int subnetPrefix, uint64_t count);
  std::optional<uint64_t> indexOf(const core::Cidr& subnet) const;
  core::Cidr cluster_;
  int subnetPrefix_;
  BitmapAllocator bitmap_;
};

}  // namespace podnet::controllers
