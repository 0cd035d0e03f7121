// Network namespaces: named ones as iproute2 makes them (/run/netns/NAME, a bind
// mount of the namespace's nsfs file), and running code inside one on a
// dedicated thread so the caller's thread never changes namespace.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "core/result.h"

namespace podnet::net {

inline constexpr std::string_view kNetnsDir = "/run/netns";

// An open namespace file (O_RDONLY|O_CLOEXEC); closes it on destruction.
class NetnsHandle {
 public:
  static core::Result<NetnsHandle> open(const std::string& path);
  static core::Result<NetnsHandle> openNamed(std::string_view name);  // /run/netns/NAME
  static core::Result<NetnsHandle> openCurrentThread();               // /proc/thread-self/ns/net

  NetnsHandle(NetnsHandle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  NetnsHandle& operator=(NetnsHandle&& other) noexcept;
  NetnsHandle(const NetnsHandle&) = delete;
  NetnsHandle& operator=(const NetnsHandle&) = delete;
  ~NetnsHandle();

  int fd() const { return fd_; }

 private:
  explicit NetnsHandle(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// `ip netns add NAME`: a new network namespace pinned at /run/netns/NAME.
// Fails with AlreadyExists if the name is taken.
core::Result<NetnsHandle> createNamedNetns(std::string_view name);
// `ip netns delete NAME`: unmount and unlink; an absent name is fine.
core::Status deleteNamedNetns(std::string_view name);
std::string namedNetnsPath(std::string_view name);

// Moves the calling thread into the namespace (used by runInNetns's worker).
core::Status enterNetnsOnThisThread(int netnsFd);

// Runs `body` on a new thread that first joins the namespace `netnsFd`, and
// returns what it returns (a core::Result or core::Status). The thread ends
// with `body`, so no thread is left in a foreign namespace. Sockets created in
// `body` stay in that namespace and can be used afterwards from any thread.
template <typename Body>
auto runInNetns(int netnsFd, Body&& body) -> std::invoke_result_t<Body&> {
  using ResultType = std::invoke_result_t<Body&>;
  std::optional<ResultType> result;
  try {
    std::thread worker([&] {
      core::Status entered = enterNetnsOnThisThread(netnsFd);
      if (!entered) {
        result.emplace(entered.takeError());
        return;
      }
      result.emplace(body());
    });
    worker.join();
  } catch (const std::system_error& error) {  // no thread available: report, never throw
    return ResultType(core::internal(std::string("runInNetns: ") + error.what()));
  }
  return std::move(*result);
}

template <typename Body>
auto runInNetns(const NetnsHandle& netns, Body&& body) -> std::invoke_result_t<Body&> {
  return runInNetns(netns.fd(), std::forward<Body>(body));
}

// For short bodies (creating a socket): moves the calling thread into
// `netnsFd`, runs `body`, and moves it back. No thread is started, which
// saves ~0.1 ms (and up to ~1 ms on a loaded machine, where a new thread waits
// for a CPU) per call. Should the way back ever fail, the process aborts
// rather than leave a thread in a foreign namespace. Falls back to runInNetns
// when the current namespace cannot be opened (no /proc).
core::Result<int> openNetnsOfThisThread();                // an fd, O_CLOEXEC
void returnToNetnsOrAbort(int originalNetnsFd) noexcept;  // setns back, closes the fd
template <typename Body>
auto runInNetnsOnThisThread(int netnsFd, Body&& body) -> std::invoke_result_t<Body&> {
  using ResultType = std::invoke_result_t<Body&>;
  auto original = openNetnsOfThisThread();
  if (!original) return runInNetns(netnsFd, std::forward<Body>(body));
  if (core::Status entered = enterNetnsOnThisThread(netnsFd); !entered) {
    returnToNetnsOrAbort(*original);
    return ResultType(entered.takeError());
  }
  struct Back {
    int fd;
    ~Back() { returnToNetnsOrAbort(fd); }
  } back{*original};  // also when body throws
  return body();
}

// sysctl in the calling thread's namespace; `key` in slash form, e.g.
// "net/ipv4/ip_forward" or "net/ipv4/conf/eth0/rp_filter" (dots stay dots, so
// interface names such as eth0.100 work).
core::Status writeSysctl(std::string_view key, std::string_view value);
core::Result<std::string> readSysctl(std::string_view key);  // trailing newline removed
core::Status writeSysctlIn(const NetnsHandle& netns, std::string_view key, std::string_view value);

}  // namespace podnet::net
