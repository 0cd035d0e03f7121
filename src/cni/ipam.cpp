#include "cni/ipam.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/files.h"

namespace podnet::cni {

namespace {

namespace fs = std::filesystem;

constexpr const char* kLineBreak = "\r\n";  // host-local's separator
constexpr const char* kLastReservedFile = "last_reserved_ip.0";
constexpr const char* kTempPrefix = ".tmp.";

CniError ioError(std::string what, int err) {
  return {kIoFailure, std::move(what), err ? std::strerror(err) : ""};
}

// The directory's lock, held for the lifetime of the object. flock locks an
// open file description, so separate opens exclude each other across
// processes and across threads of one process alike.
class DirectoryLock {
 public:
  static Outcome<std::shared_ptr<DirectoryLock>> acquire(const std::string& directory) {
    if (auto made = core::makePrivateDirectories(directory); !made)
      return CniError{kIoFailure, "cannot create IPAM directory " + directory,
                      made.error().message};
    std::string path = directory + "/lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ioError("cannot open " + path, errno);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ioError("cannot lock " + path, err);
    }
    return std::make_shared<DirectoryLock>(fd);
  }
  explicit DirectoryLock(int fd) : fd_(fd) {}
  ~DirectoryLock() { ::close(fd_); }  // closing releases the flock
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_;
};

// Creates `name` with `content` only if it does not exist (O_EXCL, as
// host-local does). Returns false (and no error) when it already exists.
// Readers hold the directory lock, so none sees the file before its content.
Outcome<bool> createExclusive(const std::string& directory, const std::string& name,
                              const std::string& content) {
  std::string target = directory + "/" + name;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return ioError("cannot create " + target, errno);
  }
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(target.c_str());
      return ioError("cannot write " + target, err);
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  return true;
}

// Overwrites `name` in place, without fsync: for the round-robin hint only,
// where a torn or lost write merely moves where the next search starts.
void writeHint(const std::string& directory, const std::string& name, const std::string& content) {
  std::string target = directory + "/" + name;
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::pwrite(fd, content.data(), content.size(), 0) == ssize_t(content.size()))
    (void)::ftruncate(fd, off_t(content.size()));
  ::close(fd);
}

std::optional<std::string> readSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  char buffer[512];
  while (content.size() < 4096) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

bool sameAttachment(const Allocation& allocation, const std::string& containerId,
                    const std::string& ifname) {
  if (allocation.containerId != containerId) return false;
  // Files of old host-local versions hold only the container ID.
  return allocation.ifname.empty() || allocation.ifname == ifname;
}

// Position of an address inside the range set, for round-robin iteration.
struct Cursor {
  size_t range = 0;
  uint64_t offset = 0;  // offset in the subnet
};

}  // namespace

HostLocalIpam::HostLocalIpam(IpamConfig config, std::string networkName)
    : config_(std::move(config)), directory_(config_.dataDir + "/" + networkName) {}

Outcome<std::vector<Allocation>> HostLocalIpam::listLocked() const {
  std::vector<Allocation> allocations;
  std::error_code ec;
  fs::directory_iterator it(directory_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return allocations;
    return ioError("cannot list " + directory_, ec.value());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return ioError("cannot list " + directory_, ec.value());
    std::string name = it->path().filename().string();
    auto address = core::IpAddress::parse(name);
    if (!address) continue;  // lock, last_reserved_ip.N, temporaries
    auto content = readSmallFile(it->path().string());
    if (!content) continue;  // released meanwhile
    Allocation allocation{*address, "", ""};
    size_t brk = content->find(kLineBreak);
    if (brk == std::string::npos) {
      allocation.containerId = trim(*content);
    } else {
      allocation.containerId = trim(std::string_view(*content).substr(0, brk));
      allocation.ifname = trim(std::string_view(*content).substr(brk + 2));
    }
    allocations.push_back(std::move(allocation));
  }
  std::sort(allocations.begin(), allocations.end(),
            [](const Allocation& a, const Allocation& b) { return a.address < b.address; });
  return allocations;
}

std::optional<CniError> HostLocalIpam::releaseLocked(const Allocation& allocation) {
  std::string path = directory_ + "/" + allocation.address.toString();
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ioError("cannot release " + path, errno);
  return std::nullopt;
}

Outcome<AllocatedAddress> HostLocalIpam::allocate(const std::string& containerId,
                                                  const std::string& ifname,
                                                  std::optional<core::IpAddress> requested) {
  if (config_.ranges.empty()) return CniError{kInvalidNetworkConfig, "ipam: no ranges", ""};
  auto lock = DirectoryLock::acquire(directory_);
  if (!lock) return lock.error();
  auto existing = listLocked();
  if (!existing) return existing.error();
  for (const auto& allocation : *existing)
    if (sameAttachment(allocation, containerId, ifname))
      return CniError{kDuplicateAllocation,
                      allocation.address.toString() + " has been allocated to " + containerId +
                          ", duplicate allocation is not allowed",
                      ""};
  std::string content = containerId + kLineBreak + ifname;
  auto reserve = [&](const IpRange& range, const core::IpAddress& ip) -> Outcome<bool> {
    auto created = createExclusive(directory_, ip.toString(), content);
    if (!created) return created.error();
    if (!*created) return false;
    // Like host-local, the round-robin pointer follows every reservation. A
    // failure here only affects fairness, never correctness.
    writeHint(directory_, kLastReservedFile, ip.toString());
    return true;
  };
  auto result = [](const IpRange& range, const core::IpAddress& ip) {
    return AllocatedAddress{InterfaceAddress{ip, range.subnet.prefix}, range.gateway};
  };

  if (requested) {
    for (const auto& range : config_.ranges) {
      if (requested->v6 != range.subnet.network.v6 || *requested < range.rangeStart ||
          range.rangeEnd < *requested)
        continue;
      if (*requested == range.gateway) break;
      auto reserved = reserve(range, *requested);
      if (!reserved) return reserved.error();
      if (!*reserved) break;
      return result(range, *requested);
    }
    return CniError{
        kRequestedIpUnavailable,
        "requested IP address " + requested->toString() + " is not available in range set", ""};
  }

  // Start right after the last reserved address if it is still in a range.
  Cursor cursor{0, config_.ranges[0].subnet.offsetOf(config_.ranges[0].rangeStart)};
  auto lastText = readSmallFile(directory_ + "/" + kLastReservedFile);
  std::optional<core::IpAddress> last =
      lastText ? core::IpAddress::parse(trim(*lastText)) : std::nullopt;
  if (last) {
    for (size_t i = 0; i < config_.ranges.size(); ++i) {
      const auto& range = config_.ranges[i];
      if (last->v6 == range.subnet.network.v6 && !(*last < range.rangeStart) &&
          !(range.rangeEnd < *last)) {
        cursor = {i, range.subnet.offsetOf(*last)};
        // Step past it (wrapping to the next range) before the first probe.
        if (*last == range.rangeEnd) {
          cursor.range = (i + 1) % config_.ranges.size();
          const auto& next = config_.ranges[cursor.range];
          cursor.offset = next.subnet.offsetOf(next.rangeStart);
        } else {
          ++cursor.offset;
        }
        break;
      }
    }
  }
  // Visit every address of the range set once. Probing stops at the first
  // free address, so the cost is bounded by the number of allocations.
  uint64_t total = 0;
  for (const auto& range : config_.ranges) {
    uint64_t count =
        range.subnet.offsetOf(range.rangeEnd) - range.subnet.offsetOf(range.rangeStart) + 1;
    total = total > UINT64_MAX - count ? UINT64_MAX : total + count;
  }
  for (uint64_t visited = 0; visited < total; ++visited) {
    const auto& range = config_.ranges[cursor.range];
    core::IpAddress candidate = range.subnet.at(cursor.offset);
    if (candidate != range.gateway) {
      auto reserved = reserve(range, candidate);
      if (!reserved) return reserved.error();
      if (*reserved) return result(range, candidate);
    }
    if (cursor.offset >= range.subnet.offsetOf(range.rangeEnd)) {
      cursor.range = (cursor.range + 1) % config_.ranges.size();
      const auto& next = config_.ranges[cursor.range];
      cursor.offset = next.subnet.offsetOf(next.rangeStart);
    } else {
      ++cursor.offset;
    }
  }
  return CniError{kRangeExhausted, "no IP addresses available in range set",
                  "network directory " + directory_};
}

Outcome<int> HostLocalIpam::release(const std::string& containerId, const std::string& ifname) {
  auto lock = DirectoryLock::acquire(directory_);
  if (!lock) return lock.error();
  auto allocations = listLocked();
  if (!allocations) return allocations.error();
  int released = 0;
  for (const auto& allocation : *allocations) {
    if (!sameAttachment(allocation, containerId, ifname)) continue;
    if (auto error = releaseLocked(allocation)) return *error;
    ++released;
  }
  return released;
}

Outcome<std::vector<Allocation>> HostLocalIpam::find(const std::string& containerId,
                                                     const std::string& ifname) const {
  auto all = list();
  if (!all) return all;
  std::vector<Allocation> matching;
  for (const auto& allocation : *all)
    if (sameAttachment(allocation, containerId, ifname)) matching.push_back(allocation);
  return matching;
}

Outcome<std::vector<Allocation>> HostLocalIpam::list() const {
  auto lock = DirectoryLock::acquire(directory_);
  if (!lock) return lock.error();
  return listLocked();
}

Outcome<int> HostLocalIpam::garbageCollect(const std::vector<Attachment>& valid) {
  auto lock = DirectoryLock::acquire(directory_);
  if (!lock) return lock.error();
  auto allocations = listLocked();
  if (!allocations) return allocations.error();
  int released = 0;
  std::optional<CniError> firstError;
  for (const auto& allocation : *allocations) {
    bool keep = std::any_of(valid.begin(), valid.end(), [&](const Attachment& attachment) {
      return sameAttachment(allocation, attachment.containerId, attachment.ifname);
    });
    if (keep) continue;
    if (auto error = releaseLocked(allocation)) {
      if (!firstError) firstError = error;
      continue;
    }
    ++released;
  }
  // Temporaries (".tmp.*") were written by earlier versions and only left
  // behind by a crash mid-write; we hold the lock, so nobody writes one now.
  std::error_code ec;
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().rfind(kTempPrefix, 0) == 0) fs::remove(it->path(), ec);
  if (firstError) return *firstError;
  return released;
}

}  // namespace podnet::cni
