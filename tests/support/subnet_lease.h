// A /24 that no other test process on this machine is using while the lease
// lives. Tests that put addresses on host interfaces (a veth to a node netns,
// a bridge) used to derive the third octet from their pid, and two test
// processes run by ctest -j2 now and then picked the same one: the second
// server's listen then failed with EADDRINUSE. A lease is an flock on a file
// per octet, so it is free the moment its holder exits, even on a crash.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace podnet::testing {

class SubnetLease {
 public:
  // Leases "<prefix>.N" for the first free N in [first, first + count),
  // starting the search at a pid-derived offset so most leases succeed at
  // the first try.
  SubnetLease(const std::string& prefix, int first, int count) {
    ::mkdir("/run/podnet-test-subnets", 0700);
    int start = int(::getpid()) % count;
    for (int i = 0; i < count; ++i) {
      int octet = first + (start + i) % count;
      std::string path = "/run/podnet-test-subnets/" + prefix + "." + std::to_string(octet);
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) continue;
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        fd_ = fd;
        octet_ = octet;
        prefix_ = prefix;
        return;
      }
      ::close(fd);
    }
    throw std::runtime_error("no free test subnet in " + prefix + ".*");
  }
  ~SubnetLease() {
    if (fd_ >= 0) ::close(fd_);
  }
  SubnetLease(const SubnetLease&) = delete;
  SubnetLease& operator=(const SubnetLease&) = delete;

  int octet() const { return octet_; }
  // "172.31.123." for prefix "172.31": append the host part.
  std::string base() const { return prefix_ + "." + std::to_string(octet_) + "."; }

 private:
  int fd_ = -1;
  int octet_ = 0;
  std::string prefix_;
};

}  // namespace podnet::testing
