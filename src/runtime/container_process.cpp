#include "runtime/container_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace podnet::runtime {

core::Result<std::string> findExecutable(const std::string& program,
                                         const std::string& pathVariable,
                                         const std::vector<Mount>& mounts) {
  // A path inside a volume is looked up in the volume's source: the deepest
  // mount that holds it wins, as in the container.
  auto onHost = [&](const std::string& path) {
    const Mount* best = nullptr;
    for (const Mount& mount : mounts) {
      const std::string& target = mount.target;
      bool inside = path == target ||
                    (path.size() > target.size() && path.compare(0, target.size(), target) == 0 &&
                     (path[target.size()] == '/' || target == "/"));
      if (inside && (!best || target.size() > best->target.size())) best = &mount;
    }
    return best ? best->source + path.substr(best->target.size()) : path;
  };
  auto executable = [&](const std::string& candidate) {
    std::string path = onHost(candidate);
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  if (program.empty()) return core::badRequest("exec: \"\": executable file not found in $PATH");
  if (program.find('/') != std::string::npos) {
    if (executable(program)) return program;
    return core::badRequest("exec: \"" + program + "\": stat " + program +
                            ": no such file or directory");
  }
  size_t start = 0;
  while (start <= pathVariable.size()) {
    size_t end = pathVariable.find(':', start);
    if (end == std::string::npos) end = pathVariable.size();
    std::string dir = pathVariable.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return core::badRequest("exec: \"" + program + "\": executable file not found in $PATH");
}

namespace {

// In the child after fork: only async-signal-safe calls. Writes the failing
// step and errno to `reportFd` and exits.
[[noreturn]] void failChild(int reportFd, const char* step) {
  int code = errno;
  char buffer[600];
  size_t length = std::strlen(step);
  if (length > 440) length = 440;
  std::memcpy(buffer, step, length);
  const char* separator = ": ";
  std::memcpy(buffer + length, separator, 2);
  length += 2;
  const char* reason = strerror(code);  // not strictly async-signal-safe, but no locks in glibc
  size_t reasonLength = std::strlen(reason);
  if (reasonLength > sizeof(buffer) - length) reasonLength = sizeof(buffer) - length;
  std::memcpy(buffer + length, reason, reasonLength);
  length += reasonLength;
  ssize_t ignored = ::write(reportFd, buffer, length);
  (void)ignored;
  _exit(127);
}

}  // namespace

core::Result<pid_t> spawnInPod(const ProcessSpec& spec) {
  if (spec.argv.empty()) return core::badRequest("no command");
  std::string pathVariable = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const std::string& entry : spec.env)
    if (entry.rfind("PATH=", 0) == 0) pathVariable = entry.substr(5);
  std::vector<Mount> mounts = spec.mounts;
  // The pod's resolv.conf and hosts over /etc, as `ip netns exec` does.
  if (!spec.resolvConfPath.empty()) mounts.push_back({spec.resolvConfPath, "/etc/resolv.conf"});
  if (!spec.hostsPath.empty()) mounts.push_back({spec.hostsPath, "/etc/hosts"});
  auto steps = planMounts(mounts, spec.scratchDir, hostFileSystem());
  if (!steps) return steps.takeError();
  auto program = findExecutable(spec.argv[0], pathVariable, spec.mounts);
  if (!program) return program.takeError();

  // Everything the child needs is prepared before fork.
  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : spec.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  std::string workingDir = spec.workingDir.empty() ? "/" : spec.workingDir;

  int netnsFd = ::open(spec.netnsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (netnsFd < 0) return core::internal("open " + spec.netnsPath + ": " + std::strerror(errno));
  int logFd = -1;
  if (!spec.logPath.empty()) {
    logFd = ::open(spec.logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logFd < 0) {
      ::close(netnsFd);
      return core::internal("open " + spec.logPath + ": " + std::strerror(errno));
    }
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    ::close(netnsFd);
    if (logFd >= 0) ::close(logFd);
    return core::internal(std::string("pipe: ") + std::strerror(errno));
  }

  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(report[0]);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    // Ignored signals stay ignored across exec: the shim ignores SIGTERM,
    // its program must not.
    for (int number = 1; number < NSIG; ++number)
      if (number != SIGKILL && number != SIGSTOP) signal(number, SIG_DFL);
    // The container's umask is runc's default, not the agent's (which keeps
    // its own files private): mount points and the program's files 0755/0644.
    ::umask(022);
    if (spec.newSession) ::setsid();
    if (::setns(netnsFd, CLONE_NEWNET) != 0) failChild(report[1], "setns");
    if (::unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) failChild(report[1], "unshare");
    // Our mounts must not propagate back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
      failChild(report[1], "make / rslave");
    if (int failed = runMountSteps(*steps); failed >= 0)
      failChild(report[1], (*steps)[static_cast<size_t>(failed)].what.c_str());
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.c_str(), spec.hostname.size()) != 0)
      failChild(report[1], "sethostname");
    if (::chdir(workingDir.c_str()) != 0) failChild(report[1], "chdir to workingDir");
    if (spec.stdinFd >= 0) {
      ::dup2(spec.stdinFd, 0);
    } else if (!spec.keepStdin) {
      int devNull = ::open("/dev/null", O_RDONLY);
      if (devNull >= 0) ::dup2(devNull, 0);
    }
    if (logFd >= 0) {
      ::dup2(logFd, 1);
      ::dup2(logFd, 2);
    }
    if (spec.stdoutFd >= 0) ::dup2(spec.stdoutFd, 1);
    if (spec.stderrFd >= 0) ::dup2(spec.stderrFd, 2);
    if (spec.controllingTerminal && ::ioctl(0, TIOCSCTTY, 0) != 0)
      failChild(report[1], "set the controlling terminal");
    // Nothing of the agent's beyond stdio reaches the program: sockets its
    // libraries open without CLOEXEC (the node API's listener) would let a
    // container accept on them and keep the port from a restarted agent.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(program->c_str(), argv.data(), envp.data());
    failChild(report[1], "exec");
  }
  int forkErrno = errno;
  ::close(report[1]);
  ::close(netnsFd);
  if (logFd >= 0) ::close(logFd);
  if (pid < 0) {
    ::close(report[0]);
    return core::internal(std::string("fork: ") + std::strerror(forkErrno));
  }
  char buffer[700];
  ssize_t length;
  do {
    length = ::read(report[0], buffer, sizeof(buffer));
  } while (length < 0 && errno == EINTR);
  ::close(report[0]);
  if (length > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return core::internal(std::string(buffer, static_cast<size_t>(length)));
  }
  return pid;
}

unsigned long long processStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string stat = buffer.str();
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int index = 3; index <= 22 && fields >> field; ++index)
    if (index == 22) return std::stoull(field);
  return 0;
}

}  // namespace podnet::runtime
