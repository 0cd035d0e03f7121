#include "controllers/allocators.h"

#include <algorithm>

namespace podnet::controllers {

BitmapAllocator::BitmapAllocator(uint64_t size, uint64_t seed)
    : size_(size), words_((size + 63) / 64, 0), rng_(seed) {}

bool BitmapAllocator::has(uint64_t offset) const {
  return offset < size_ && (words_[offset / 64] >> (offset % 64)) & 1;
}

bool BitmapAllocator::allocate(uint64_t offset) {
  if (offset >= size_ || has(offset)) return false;
  words_[offset / 64] |= uint64_t(1) << (offset % 64);
  ++used_;
  return true;
}

void BitmapAllocator::release(uint64_t offset) {
  if (!has(offset)) return;
  words_[offset / 64] &= ~(uint64_t(1) << (offset % 64));
  --used_;
}

std::optional<uint64_t> BitmapAllocator::findFree(uint64_t from, uint64_t to) const {
  to = std::min(to, size_);
  uint64_t offset = from;
  while (offset < to) {
    uint64_t word = ~words_[offset / 64] >> (offset % 64);  // 1 = free
    if (word == 0) {
      offset = (offset / 64 + 1) * 64;
      continue;
    }
    offset += uint64_t(__builtin_ctzll(word));
    return offset < to ? std::optional<uint64_t>(offset) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<uint64_t> BitmapAllocator::allocateRandom(uint64_t from, uint64_t to) {
  to = std::min(to, size_);
  if (from >= to) return std::nullopt;
  uint64_t start = from + std::uniform_int_distribution<uint64_t>(0, to - from - 1)(rng_);
  auto found = findFree(start, to);
  if (!found) found = findFree(from, start);
  if (found) allocate(*found);
  return found;
}

std::optional<uint64_t> BitmapAllocator::allocateLowest() {
  auto found = findFree(0, size_);
  if (found) allocate(*found);
  return found;
}

// Bitmaps past 2^24 bits (2 MiB) buy nothing here: an IPv6 /64 service range
// is capped to its first 16M addresses.
static constexpr uint64_t kMaxBitmapSize = uint64_t(1) << 24;

IpRangeAllocator::IpRangeAllocator(core::Cidr cidr, uint64_t size)
    : cidr_(cidr),
      size_(size),
      staticBand_(size < 16 ? 0 : std::clamp<uint64_t>(size / 16, 16, 256)),
      bitmap_(size) {}

core::Result<IpRangeAllocator> IpRangeAllocator::create(const std::string& text) {
  auto cidr = core::Cidr::parse(text);
  if (!cidr) return core::badRequest("invalid service CIDR " + text);
  uint64_t size = std::min(cidr->size(), kMaxBitmapSize);
  // IPv4 loses the broadcast address too (only when the range is not capped).
  if (!cidr->network.v6 && size == cidr->size()) --size;
  if (size < 2) return core::badRequest("service CIDR " + text + " is too small");
  return IpRangeAllocator(*cidr, size);
}

bool IpRangeAllocator::inRange(const core::IpAddress& ip) const {
  if (!cidr_.contains(ip)) return false;
  uint64_t offset = cidr_.offsetOf(ip);
  return offset >= 1 && offset < size_;
}

AllocateOutcome IpRangeAllocator::allocate(const core::IpAddress& ip) {
  if (!inRange(ip)) return AllocateOutcome::OutOfRange;
  return bitmap_.allocate(cidr_.offsetOf(ip)) ? AllocateOutcome::Allocated : AllocateOutcome::Taken;
}

std::optional<core::IpAddress> IpRangeAllocator::allocateNext() {
  // Upper band first; the static band only when everything else is taken.
  auto offset = bitmap_.allocateRandom(std::max<uint64_t>(1, staticBand_), size_);
  if (!offset) offset = bitmap_.allocateRandom(1, std::max<uint64_t>(1, staticBand_));
  if (!offset) return std::nullopt;
  return cidr_.at(*offset);
}

void IpRangeAllocator::release(const core::IpAddress& ip) {
  if (inRange(ip)) bitmap_.release(cidr_.offsetOf(ip));
}

bool IpRangeAllocator::has(const core::IpAddress& ip) const {
  return inRange(ip) && bitmap_.has(cidr_.offsetOf(ip));
}

PortAllocator::PortAllocator(int min, int max)
    : min_(min), max_(std::max(min, max)), bitmap_(uint64_t(max_ - min_ + 1)) {}

AllocateOutcome PortAllocator::allocate(int port) {
  if (port < min_ || port > max_) return AllocateOutcome::OutOfRange;
  return bitmap_.allocate(uint64_t(port - min_)) ? AllocateOutcome::Allocated
                                                 : AllocateOutcome::Taken;
}

std::optional<int> PortAllocator::allocateNext() {
  auto offset = bitmap_.allocateRandom(0, bitmap_.size());
  if (!offset) return std::nullopt;
  return min_ + int(*offset);
}

void PortAllocator::release(int port) {
  if (port >= min_ && port <= max_) bitmap_.release(uint64_t(port - min_));
}

bool PortAllocator::has(int port) const {
  return port >= min_ && port <= max_ && bitmap_.has(uint64_t(port - min_));
}

CidrSetAllocator::CidrSetAllocator(core::Cidr cluster, int subnetPrefix, uint64_t count)
    : cluster_(cluster), subnetPrefix_(subnetPrefix), bitmap_(count) {}

core::Result<CidrSetAllocator> CidrSetAllocator::create(const std::string& clusterCidr,
                                                        int subnetPrefix) {
  auto cidr = core::Cidr::parse(clusterCidr);
  if (!cidr) return core::badRequest("invalid cluster CIDR " + clusterCidr);
  if (subnetPrefix < cidr->prefix || subnetPrefix > int(cidr->network.bitLength()))
    return core::badRequest("node CIDR prefix /" + std::to_string(subnetPrefix) +
                            " does not fit in " + clusterCidr);
  int extra = subnetPrefix - cidr->prefix;
  uint64_t count = extra >= 24 ? kMaxBitmapSize : uint64_t(1) << extra;
  return CidrSetAllocator(*cidr, subnetPrefix, count);
}

std::optional<uint64_t> CidrSetAllocator::indexOf(const core::Cidr& subnet) const {
  if (subnet.prefix != subnetPrefix_ || !cluster_.contains(subnet)) return std::nullopt;
  int hostBits = int(cluster_.network.bitLength()) - subnetPrefix_;
  if (hostBits >= 64) return std::nullopt;
  uint64_t index = cluster_.offsetOf(subnet.network) >> hostBits;
  if (index >= kMaxBitmapSize) return std::nullopt;
  return index;
}

AllocateOutcome CidrSetAllocator::allocate(const core::Cidr& subnet) {
  auto index = indexOf(subnet);
  if (!index) return AllocateOutcome::OutOfRange;
  return bitmap_.allocate(*index) ? AllocateOutcome::Allocated : AllocateOutcome::Taken;
}

std::optional<core::Cidr> CidrSetAllocator::allocateNext() {
  auto index = bitmap_.allocateLowest();
  if (!index) return std::nullopt;
  return cluster_.subnet(subnetPrefix_, *index);
}

void CidrSetAllocator::release(const core::Cidr& subnet) {
  if (auto index = indexOf(subnet)) bitmap_.release(*index);
}

bool CidrSetAllocator::has(const core::Cidr& subnet) const {
  auto index = indexOf(subnet);
  return index && bitmap_.has(*index);
}

}  // namespace podnet::controllers
