// Child processes of ingress_bench: started with fork + exec, stopped by pid
// (never by name), also when the bench fails or gets a signal. Every child
// gets SIGTERM when the bench dies (PR_SET_PDEATHSIG), so nothing it started
// outlives it: nginx and HAProxy masters run in the foreground and take
// their workers down with them.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ingressbench {

namespace fs = std::filesystem;

// Every child started and not yet reaped, for the signal handler: it may not
// run destructors, so it sends SIGTERM to these pids itself.
inline constexpr int kMaxChildren = 32;
inline std::atomic<pid_t> trackedChildren[kMaxChildren];
inline volatile sig_atomic_t interrupted = 0;

inline void track(pid_t pid) {
  for (auto& slot : trackedChildren) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

inline void untrack(pid_t pid) {
  for (auto& slot : trackedChildren) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

inline void onSignal(int) {
  interrupted = 1;
  for (auto& slot : trackedChildren)
    if (pid_t pid = slot.load(); pid > 0) kill(pid, SIGTERM);
}

inline void installSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

// The child side of fork: stdin from /dev/null, stdout and stderr to `out`,
// default signal dispositions, SIGTERM when the bench dies.
[[noreturn]] inline void execChild(const std::vector<std::string>& argv, int out) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2}) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

// A running child, stopped (SIGTERM, then SIGKILL after 5 s) when this goes
// out of scope. Fork only from the main thread: PR_SET_PDEATHSIG fires when
// the forking thread ends.
class Child {
 public:
  Child() = default;
  // stdout and stderr of the child go to `logPath` (/dev/null when empty).
  Child(const std::vector<std::string>& argv, const std::string& logPath) {
    int out = open(logPath.empty() ? "/dev/null" : logPath.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) execChild(argv, out);
    if (out >= 0) close(out);
    if (pid_ > 0) track(pid_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& other) noexcept
      : pid_(std::exchange(other.pid_, 0)), code_(other.code_), cpuSeconds_(other.cpuSeconds_) {}
  Child& operator=(Child&& other) noexcept {
    if (this != &other) {
      stop();
      pid_ = std::exchange(other.pid_, 0);
      code_ = other.code_;
      cpuSeconds_ = other.cpuSeconds_;
    }
    return *this;
  }
  ~Child() { stop(); }

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // The exit code (128 + signal when killed), or -1 while it runs.
  int exitCode() { return reap(WNOHANG) ? code_ : -1; }

  // Waits until it exits by itself; its exit code.
  int wait() {
    reap(0);
    return code_;
  }

  // User + system CPU seconds the child used, once it has exited (its own
  // threads only, not children of its own).
  double cpuSecondsAtExit() const { return cpuSeconds_; }

  void signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (exitCode() >= 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    wait();
  }

 private:
  // wait4 for the child; whether it has exited (also when reaped before).
  bool reap(int flags) {
    if (pid_ <= 0) return true;
    int status = 0;
    rusage usage{};
    pid_t got;
    while ((got = wait4(pid_, &status, flags, &usage)) < 0 && errno == EINTR) {
    }
    if (got != pid_) return false;
    untrack(pid_);
    pid_ = 0;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    cpuSeconds_ = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    return true;
  }

  pid_t pid_ = 0;
  int code_ = -1;
  double cpuSeconds_ = 0;
};

struct Output {
  int exitCode = -1;
  std::string text;  // stdout and stderr together
};

// Runs a command to completion (PATH is searched), collecting its output.
inline Output capture(const std::vector<std::string>& argv, const std::string& input = "") {
  int outPipe[2], inPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0) return {};
  if (pipe2(inPipe, O_CLOEXEC) != 0) {
    close(outPipe[0]);
    close(outPipe[1]);
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(inPipe[0], 0);
    int out = outPipe[1];
    // execChild replaces stdin with /dev/null; keep the pipe instead.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(out, 1);
    dup2(out, 2);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(outPipe[1]);
  close(inPipe[0]);
  if (pid < 0) {
    close(outPipe[0]);
    close(inPipe[1]);
    return {};
  }
  track(pid);
  if (!input.empty()) {
    size_t written = 0;
    while (written < input.size()) {
      ssize_t n = write(inPipe[1], input.data() + written, input.size() - written);
      if (n <= 0) break;
      written += size_t(n);
    }
  }
  close(inPipe[1]);
  Output result;
  char buffer[65536];
  ssize_t n;
  while ((n = read(outPipe[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) result.text.append(buffer, size_t(n));
  close(outPipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  untrack(pid);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// A directory under /tmp, removed with everything in it when this goes out
// of scope. World-readable: nginx's workers run as nobody when the bench
// runs as root, and must read the files they serve.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(pattern.data())) path_ = pattern;
    if (!path_.empty())
      fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    if (path_.empty() || keep_) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

inline void writeFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string tail(const std::string& path, size_t bytes = 600) {
  std::string text = readFile(path);
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

// A TCP port free on 127.0.0.1 right now (the kernel's choice), never one
// handed out before: the ports are bound later, by the children, so the
// kernel could offer the same one twice meanwhile.
inline int freePort() {
  static std::set<int> handedOut;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      port = ntohs(address.sin_port);
    close(fd);
    if (port > 0 && handedOut.insert(port).second) return port;
  }
  return -1;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool accepting(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(uint16_t(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

// The pids whose parent chain reaches `root` (root included): nginx's and
// HAProxy's workers are children of their masters.
inline std::vector<pid_t> processTree(pid_t root) {
  std::map<pid_t, pid_t> parent;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    parent[std::stoi(name)] = ppid;
  }
  std::vector<pid_t> tree;
  for (const auto& [pid, ppid] : parent)
    for (pid_t p = pid; p > 1; p = parent.count(p) ? parent[p] : 0)
      if (p == root) {
        tree.push_back(pid);
        break;
      }
  return tree;
}

// User + system CPU seconds of a process tree so far (exited workers'
// time is lost, which is why the figures are taken around each run, not
// across reloads).
inline double cpuSeconds(pid_t root) {
  if (root <= 0) return 0;
  double ticks = 0;
  for (pid_t pid : processTree(root)) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field) fields.push_back(field);
    // fields[0] is stat field 3 (state); utime and stime are fields 14 and 15.
    if (fields.size() > 12) ticks += std::stod(fields[11]) + std::stod(fields[12]);
  }
  return ticks / double(sysconf(_SC_CLK_TCK));
}

inline double rssMiB(pid_t root) {
  if (root <= 0) return 0;
  double kib = 0;
  for (pid_t pid : processTree(root)) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) kib += std::stod(line.substr(6));
  }
  return kib / 1024;
}

inline std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace ingressbench
