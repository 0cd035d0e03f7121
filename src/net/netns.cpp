#include "net/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace podnet::net {

namespace {

core::Error systemError(std::string_view what, int err) {
  core::Error error{500, "InternalError", std::string(what) + ": " + std::strerror(err)};
  if (err == ENOENT) {
    error.code = 404;
    error.reason = "NotFound";
  } else if (err == EEXIST) {
    error.code = 409;
    error.reason = "AlreadyExists";
  } else if (err == EPERM || err == EACCES) {
    error.code = 403;
    error.reason = "Forbidden";
  }
  return error;
}

bool validName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

// iproute2 makes /run/netns a shared mount point (bind-mounting it onto itself
// first if it is not a mount point yet), so a namespace pinned there is seen in
// mount namespaces created later (containers, `ip netns exec`).
core::Status prepareNetnsDir() {
  // Pods start on several threads: two first calls must not both bind.
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  const std::string dir(kNetnsDir);
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return systemError("mkdir " + dir, errno);
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return core::Ok{};
  if (errno != EINVAL) return systemError("mount --make-shared " + dir, errno);
  if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0)
    return systemError("mount --bind " + dir, errno);
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0)
    return systemError("mount --make-shared " + dir, errno);
  return core::Ok{};
}

}  // namespace

NetnsHandle& NetnsHandle::operator=(NetnsHandle&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

NetnsHandle::~NetnsHandle() {
  if (fd_ >= 0) close(fd_);
}

core::Result<NetnsHandle> NetnsHandle::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return systemError("open netns " + path, errno);
  return NetnsHandle(fd);
}

core::Result<NetnsHandle> NetnsHandle::openNamed(std::string_view name) {
  if (!validName(name)) return core::badRequest("invalid netns name \"" + std::string(name) + "\"");
  return open(namedNetnsPath(name));
}

core::Result<NetnsHandle> NetnsHandle::openCurrentThread() {
  return open("/proc/thread-self/ns/net");
}

std::string namedNetnsPath(std::string_view name) {
  return std::string(kNetnsDir) + "/" + std::string(name);
}

core::Result<NetnsHandle> createNamedNetns(std::string_view name) {
  if (!validName(name)) return core::badRequest("invalid netns name \"" + std::string(name) + "\"");
  if (auto prepared = prepareNetnsDir(); !prepared) return prepared.takeError();
  const std::string path = namedNetnsPath(name);
  int pin = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (pin < 0) return systemError("create netns " + path, errno);
  close(pin);

  // unshare on a throwaway thread: only that thread enters the new namespace,
  // and the bind mount keeps the namespace alive after the thread ends.
  core::Status pinned = core::Ok{};
  try {
    std::thread worker([&] {
      if (unshare(CLONE_NEWNET) != 0) {
        pinned = systemError("unshare(CLONE_NEWNET) for netns " + std::string(name), errno);
        return;
      }
      if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
        pinned = systemError("bind mount netns " + path, errno);
    });
    worker.join();
  } catch (const std::system_error& error) {
    pinned = core::internal(std::string("create netns: ") + error.what());
  }
  if (!pinned) {
    unlink(path.c_str());
    return pinned.takeError();
  }
  return NetnsHandle::open(path);
}

core::Status deleteNamedNetns(std::string_view name) {
  if (!validName(name)) return core::badRequest("invalid netns name \"" + std::string(name) + "\"");
  const std::string path = namedNetnsPath(name);
  // MNT_DETACH: processes or fds still inside keep the namespace alive, but
  // the name goes away now, as `ip netns delete` does.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return systemError("umount netns " + path, errno);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return systemError("unlink " + path, errno);
  return core::Ok{};
}

core::Result<int> openNetnsOfThisThread() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return systemError("open /proc/thread-self/ns/net", errno);
  return fd;
}

void returnToNetnsOrAbort(int originalNetnsFd) noexcept {
  if (setns(originalNetnsFd, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "podnet: cannot return a thread to its network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  close(originalNetnsFd);
}

core::Status enterNetnsOnThisThread(int netnsFd) {
  if (netnsFd < 0) return core::badRequest("setns: no namespace fd");
  if (setns(netnsFd, CLONE_NEWNET) != 0) return systemError("setns(CLONE_NEWNET)", errno);
  return core::Ok{};
}

// /proc/sys/net resolves against the opening thread's network namespace, so
// these follow the thread, which is what runInNetns relies on.
core::Status writeSysctl(std::string_view key, std::string_view value) {
  const std::string path = "/proc/sys/" + std::string(key);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return systemError("sysctl " + std::string(key), errno);
  ssize_t written = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (written < 0) return systemError("sysctl " + std::string(key) + "=" + std::string(value), err);
  return core::Ok{};
}

core::Result<std::string> readSysctl(std::string_view key) {
  const std::string path = "/proc/sys/" + std::string(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return systemError("sysctl " + std::string(key), errno);
  std::string text;
  char buffer[256];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  int err = errno;
  close(fd);
  if (n < 0) return systemError("sysctl " + std::string(key), err);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

core::Status writeSysctlIn(const NetnsHandle& netns, std::string_view key, std::string_view value) {
  return runInNetns(netns, [&] { return writeSysctl(key, value); });
}

}  // namespace podnet::net
