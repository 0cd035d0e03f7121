#include "runtime/container_shim.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <list>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "runtime/container_log.h"

namespace podnet::runtime {

using Json = nlohmann::json;

namespace {

Json mountsToJson(const std::vector<Mount>& mounts) {
  Json list = Json::array();
  for (const Mount& mount : mounts)
    list.push_back(
        {{"source", mount.source}, {"target", mount.target}, {"readOnly", mount.readOnly}});
  return list;
}

Json specToJson(const ShimSpec& spec) {
  const ProcessSpec& p = spec.process;
  return {{"argv", p.argv},
          {"env", p.env},
          {"workingDir", p.workingDir},
          {"netnsPath", p.netnsPath},
          {"resolvConfPath", p.resolvConfPath},
          {"hostsPath", p.hostsPath},
          {"hostname", p.hostname},
          {"mounts", mountsToJson(p.mounts)},
          {"scratchDir", p.scratchDir},
          {"logPath", spec.logPath},
          {"logMaxBytes", spec.logMaxBytes},
          {"attachSocket", spec.attachSocket},
          {"exitPath", spec.exitPath},
          {"stdin", spec.stdinOpen},
          {"stdinOnce", spec.stdinOnce},
          {"tty", spec.tty}};
}

core::Result<ShimSpec> specFromJson(const Json& json) {
  if (!json.is_object()) return core::badRequest("the shim's spec is not a JSON object");
  try {
    ShimSpec spec;
    spec.process.argv = json.at("argv").get<std::vector<std::string>>();
    spec.process.env = json.at("env").get<std::vector<std::string>>();
    spec.process.workingDir = json.value("workingDir", "");
    spec.process.netnsPath = json.value("netnsPath", "");
    spec.process.resolvConfPath = json.value("resolvConfPath", "");
    spec.process.hostsPath = json.value("hostsPath", "");
    if (json.contains("mounts")) {
      for (const Json& mount : json.at("mounts"))
        spec.process.mounts.push_back({mount.at("source").get<std::string>(),
                                       mount.at("target").get<std::string>(),
                                       mount.value("readOnly", false)});
    }
    spec.process.scratchDir = json.value("scratchDir", "");
    spec.process.hostname = json.value("hostname", "");
    spec.logPath = json.value("logPath", "");
    spec.logMaxBytes = json.value("logMaxBytes", spec.logMaxBytes);
    spec.attachSocket = json.value("attachSocket", "");
    spec.exitPath = json.value("exitPath", "");
    spec.stdinOpen = json.value("stdin", false);
    spec.stdinOnce = json.value("stdinOnce", false);
    spec.tty = json.value("tty", false);
    return spec;
  } catch (const std::exception& e) {
    return core::badRequest(std::string("the shim's spec: ") + e.what());
  }
}

std::string readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The log file of one instance: entries with the time their bytes were read,
// lines longer than 16 KiB split into partial entries (as containerd does),
// rotated when it outgrows its limit.
class LogWriter {
 public:
  LogWriter(std::string path, uint64_t maxBytes) : path_(std::move(path)), maxBytes_(maxBytes) {
    open();
  }
  ~LogWriter() {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(LogStream stream, std::string_view data) {
    std::string& pending = pending_[stream == LogStream::stdoutStream ? 0 : 1];
    auto now = SystemClock::now();
    std::string out;
    while (!data.empty()) {
      size_t newline = data.find('\n');
      if (newline == std::string_view::npos) {
        pending.append(data);
        break;
      }
      pending.append(data.substr(0, newline));
      appendLogLine(out, now, stream, false, pending);
      pending.clear();
      data.remove_prefix(newline + 1);
    }
    while (pending.size() >= kMaxLine) {
      appendLogLine(out, now, stream, true, std::string_view(pending).substr(0, kMaxLine));
      pending.erase(0, kMaxLine);
    }
    append(out);
  }

  // At the end: what is left of a line without its newline is a last line.
  void flush() {
    std::string out;
    auto now = SystemClock::now();
    for (int i = 0; i < 2; ++i)
      if (!pending_[i].empty()) {
        appendLogLine(out, now, i == 0 ? LogStream::stdoutStream : LogStream::stderrStream, false,
                      pending_[i]);
        pending_[i].clear();
      }
    append(out);
  }

 private:
  static constexpr size_t kMaxLine = 16 * 1024;

  void open() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    struct stat info {};
    size_ = fd_ >= 0 && ::fstat(fd_, &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
  }

  // Whole entries; a file is rotated before an entry would take it past
  // the limit, so each file stays within it (unless one entry alone is
  // bigger: at most 16 KiB of content).
  void append(std::string_view out) {
    while (!out.empty() && fd_ >= 0) {
      size_t room = size_ < maxBytes_ ? maxBytes_ - size_ : 0;
      size_t take = 0;
      while (take < out.size()) {
        size_t newline = out.find('\n', take);
        size_t end = newline == std::string_view::npos ? out.size() : newline + 1;
        if (end > room && take > 0) break;
        take = end;
        if (take > room) break;
      }
      if (take > room && size_ > 0) {
        rotate();
        continue;
      }
      writeAll(fd_, out.substr(0, take));
      size_ += take;
      out.remove_prefix(take);
    }
  }

  void rotate() {
    ::close(fd_);
    ::rename(path_.c_str(), (path_ + ".1").c_str());
    open();
  }

  std::string path_;
  uint64_t maxBytes_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string pending_[2];
};

struct AttachClient {
  int fd = -1;
  std::string in, out;
  bool sentStdin = false;
};

constexpr size_t kClientBufferLimit = 8 * 1024 * 1024;
constexpr size_t kStdinBufferLimit = 1024 * 1024;
constexpr auto kFirstAttachWait = std::chrono::seconds(5);

class Shim {
 public:
  explicit Shim(ShimSpec spec) : spec_(std::move(spec)), log_(spec_.logPath, spec_.logMaxBytes) {}

  // Starts the program; the error is the one the agent reports.
  core::Status start() {
    ProcessSpec process = spec_.process;
    int childIn = -1, childOut = -1, childErr = -1;
    if (spec_.tty) {
      terminal_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (terminal_ < 0 || ::grantpt(terminal_) != 0 || ::unlockpt(terminal_) != 0)
        return core::internal(std::string("open a terminal: ") + std::strerror(errno));
      char name[128];
      if (::ptsname_r(terminal_, name, sizeof name) != 0) return core::internal("ptsname failed");
      int replica = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (replica < 0) return core::internal(std::string("open ") + name + ": " + strerror(errno));
      childIn = childOut = childErr = replica;
      process.controllingTerminal = true;
      process.newSession = true;
      outFd_ = terminal_;
      if (spec_.stdinOpen) stdinFd_ = terminal_;
    } else {
      int out[2], err[2];
      if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
        return core::internal(std::string("pipe: ") + std::strerror(errno));
      outFd_ = out[0];
      errFd_ = err[0];
      childOut = out[1];
      childErr = err[1];
      if (spec_.stdinOpen) {
        int in[2];
        if (::pipe2(in, O_CLOEXEC) != 0)
          return core::internal(std::string("pipe: ") + std::strerror(errno));
        childIn = in[0];
        stdinFd_ = in[1];
      }
    }
    process.stdinFd = childIn;
    process.stdoutFd = childOut;
    process.stderrFd = childErr;
    process.logPath.clear();
    auto started = spawnInPod(process);
    // The program holds its ends now; ours would keep EOF from coming.
    if (childIn >= 0 && childIn != childOut) ::close(childIn);
    if (childErr >= 0 && childErr != childOut) ::close(childErr);
    if (childOut >= 0) ::close(childOut);
    if (!started) return started.takeError();
    pid_ = *started;
    pidFd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    for (int fd : {outFd_, errFd_, stdinFd_})
      if (fd >= 0) setNonBlocking(fd);
    if (!spec_.attachSocket.empty()) listen();
    return core::Ok{};
  }

  pid_t pid() const { return pid_; }

  // Runs until the program has ended and its output is in the log.
  int run() {
    std::optional<std::chrono::steady_clock::time_point> drainUntil;
    int status = 0;
    while (true) {
      if (!exited_) {
        int result = ::waitpid(pid_, &status, WNOHANG);
        if (result == pid_) {
          exited_ = true;
          // Output still in the pipes is read; a background process that
          // keeps them open does not hold the container's end for long.
          drainUntil = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        }
      }
      if (exited_ &&
          ((outFd_ < 0 && errFd_ < 0) || std::chrono::steady_clock::now() > *drainUntil)) {
        // `kubectl run -it` attaches once the pod is Running; a short
        // program may be done by then. Its first attach still gets what it
        // printed, so the user sees the output rather than a warning.
        if (!awaitingFirstAttach() ||
            std::chrono::steady_clock::now() > *drainUntil + kFirstAttachWait)
          break;
      }
      pollOnce(exited_ ? 50 : 1000);
    }
    log_.flush();
    int exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!spec_.exitPath.empty()) {
      Json record = {{"exitCode", exitCode},
                     {"reason", exitCode == 0 ? "Completed" : "Error"},
                     {"finishedAt", rfc3339Nano(SystemClock::now()).substr(0, 19) + "Z"}};
      std::string temporary = spec_.exitPath + ".tmp";
      int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd >= 0) {
        writeAll(fd, record.dump());
        ::close(fd);
        ::rename(temporary.c_str(), spec_.exitPath.c_str());
      }
    }
    for (AttachClient& client : clients_) {
      setBlockingBriefly(client.fd);
      writeAll(client.fd, client.out);
      ::close(client.fd);
    }
    if (listener_ >= 0) ::unlink(spec_.attachSocket.c_str());
    return exitCode;
  }

 private:
  static void setBlockingBriefly(int fd) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  }

  void listen() {
    ::unlink(spec_.attachSocket.c_str());
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (listener_ < 0 || spec_.attachSocket.size() >= sizeof address.sun_path) {
      if (listener_ >= 0) ::close(listener_);
      listener_ = -1;
      return;
    }
    std::memcpy(address.sun_path, spec_.attachSocket.c_str(), spec_.attachSocket.size());
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::chmod(spec_.attachSocket.c_str(), 0600) != 0 || ::listen(listener_, 16) != 0) {
      ::close(listener_);
      listener_ = -1;
    }
  }

  bool awaitingFirstAttach() const { return spec_.stdinOnce && !everAttached_ && listener_ >= 0; }

  void broadcast(AttachStream stream, std::string_view data) {
    if (spec_.stdinOnce && !everAttached_ && earlyOutput_.size() < kClientBufferLimit)
      appendAttachFrame(earlyOutput_, stream, data);
    for (auto it = clients_.begin(); it != clients_.end();) {
      appendAttachFrame(it->out, stream, data);
      // A client that does not read is dropped, so it never holds the log.
      if (it->out.size() > kClientBufferLimit) {
        dropClient(it++);
        continue;
      }
      ++it;
    }
  }

  void dropClient(std::list<AttachClient>::iterator it) {
    ::close(it->fd);
    if (it->sentStdin && spec_.stdinOnce) closeStdin();
    clients_.erase(it);
  }

  void closeStdin() {
    if (stdinFd_ < 0) return;
    if (spec_.tty) {
      // A terminal has no half-close: end-of-file is the EOF character.
      stdinPending_ += '\x04';
      stdinClosing_ = true;
      return;
    }
    stdinClosing_ = true;
    if (stdinPending_.empty()) {
      ::close(stdinFd_);
      stdinFd_ = -1;
    }
  }

  void readOutput(int& fd, LogStream stream) {
    char buffer[65536];
    while (true) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n > 0) {
        std::string_view data(buffer, static_cast<size_t>(n));
        log_.write(stream, data);
        broadcast(
            stream == LogStream::stdoutStream ? AttachStream::stdoutData : AttachStream::stderrData,
            data);
        if (static_cast<size_t>(n) < sizeof buffer) return;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF, or EIO from a terminal whose other side is gone.
      if (fd != stdinFd_) ::close(fd);
      if (fd == terminal_) {
        if (stdinFd_ == terminal_) stdinFd_ = -1;
        terminal_ = -1;
      }
      fd = -1;
      return;
    }
  }

  void handleClientInput(AttachClient& client) {
    size_t offset = 0;
    while (true) {
      AttachStream stream;
      std::string_view payload;
      long size = parseAttachFrame(std::string_view(client.in).substr(offset), stream, payload);
      if (size == 0) break;
      if (size < 0) {
        client.in.clear();
        client.out.clear();
        ::shutdown(client.fd, SHUT_RDWR);
        return;
      }
      offset += static_cast<size_t>(size);
      switch (stream) {
        case AttachStream::stdinData:
          if (stdinFd_ >= 0 && !stdinClosing_) {
            stdinPending_.append(payload);
            client.sentStdin = true;
          }
          break;
        case AttachStream::resize: {
          unsigned width = 0, height = 0;
          if (terminal_ >= 0 &&
              std::sscanf(std::string(payload).c_str(), "%u %u", &width, &height) == 2) {
            winsize size{};
            size.ws_col = static_cast<unsigned short>(width);
            size.ws_row = static_cast<unsigned short>(height);
            ::ioctl(terminal_, TIOCSWINSZ, &size);
          }
          break;
        }
        case AttachStream::closeStdin:
          client.sentStdin = true;
          if (spec_.stdinOnce) closeStdin();
          break;
        default:
          break;
      }
    }
    client.in.erase(0, offset);
  }

  void pollOnce(int timeoutMs) {
    std::vector<pollfd> fds;
    auto add = [&](int fd, short events) {
      fds.push_back(pollfd{fd, events, 0});
      return fds.size() - 1;
    };
    long outIndex = -1, errIndex = -1, stdinIndex = -1, listenerIndex = -1;
    bool stdinFull = stdinPending_.size() > kStdinBufferLimit;
    if (outFd_ >= 0) {
      short events = POLLIN;
      if (outFd_ == stdinFd_ && !stdinPending_.empty()) events |= POLLOUT;
      outIndex = static_cast<long>(add(outFd_, events));
    }
    if (errFd_ >= 0) errIndex = static_cast<long>(add(errFd_, POLLIN));
    if (stdinFd_ >= 0 && stdinFd_ != outFd_ && !stdinPending_.empty())
      stdinIndex = static_cast<long>(add(stdinFd_, POLLOUT));
    if (listener_ >= 0 && (!exited_ || awaitingFirstAttach()))
      listenerIndex = static_cast<long>(add(listener_, POLLIN));
    // Only wakes the loop when the program ends; the loop then reaps it.
    if (pidFd_ >= 0 && !exited_) add(pidFd_, POLLIN);
    size_t firstClient = fds.size();
    for (AttachClient& client : clients_) {
      short events = stdinFull ? 0 : POLLIN;
      if (!client.out.empty()) events |= POLLOUT;
      add(client.fd, events);
    }
    int ready = ::poll(fds.data(), fds.size(), pidFd_ >= 0 || exited_ ? timeoutMs : 100);
    if (ready <= 0) return;
    if (outIndex >= 0 && (fds[outIndex].revents & (POLLIN | POLLHUP | POLLERR)))
      readOutput(outFd_, LogStream::stdoutStream);
    if (outIndex >= 0 && (fds[outIndex].revents & POLLOUT)) writeStdin();
    if (errIndex >= 0 && (fds[errIndex].revents & (POLLIN | POLLHUP | POLLERR)))
      readOutput(errFd_, LogStream::stderrStream);
    if (stdinIndex >= 0 && (fds[stdinIndex].revents & (POLLOUT | POLLERR | POLLHUP))) writeStdin();
    size_t index = firstClient;
    for (auto it = clients_.begin(); it != clients_.end(); ++index) {
      short revents = fds[index].revents;
      bool drop = false;
      if (revents & POLLIN) {
        char buffer[65536];
        ssize_t n = ::read(it->fd, buffer, sizeof buffer);
        if (n > 0) {
          it->in.append(buffer, static_cast<size_t>(n));
          handleClientInput(*it);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          drop = true;
        }
      } else if (revents & (POLLHUP | POLLERR)) {
        drop = true;
      }
      if (!drop && (revents & POLLOUT) && !it->out.empty()) {
        ssize_t n = ::send(it->fd, it->out.data(), it->out.size(), MSG_NOSIGNAL);
        if (n > 0)
          it->out.erase(0, static_cast<size_t>(n));
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
          drop = true;
      }
      if (drop)
        dropClient(it++);
      else
        ++it;
    }
    if (listenerIndex >= 0 && (fds[listenerIndex].revents & POLLIN)) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        clients_.push_back(AttachClient{fd, {}, {}, false});
        if (!everAttached_) clients_.back().out = std::move(earlyOutput_);
        everAttached_ = true;
        earlyOutput_.clear();
      }
    }
    if (stdinFd_ >= 0 && !stdinPending_.empty()) writeStdin();
  }

  void writeStdin() {
    if (stdinFd_ < 0) return;
    while (!stdinPending_.empty()) {
      ssize_t n = ::write(stdinFd_, stdinPending_.data(), stdinPending_.size());
      if (n > 0) {
        stdinPending_.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      // The program closed its stdin: nothing more can go there.
      stdinPending_.clear();
      if (stdinFd_ != terminal_) ::close(stdinFd_);
      stdinFd_ = -1;
      return;
    }
    if (stdinClosing_ && !spec_.tty) {
      ::close(stdinFd_);
      stdinFd_ = -1;
    }
  }

  ShimSpec spec_;
  LogWriter log_;
  pid_t pid_ = 0;
  int pidFd_ = -1;
  int terminal_ = -1;
  int outFd_ = -1, errFd_ = -1, stdinFd_ = -1;
  std::string stdinPending_;
  bool stdinClosing_ = false;
  int listener_ = -1;
  std::list<AttachClient> clients_;
  bool exited_ = false;
  // stdinOnce (kubectl run -it): output before the first attach, for it.
  bool everAttached_ = false;
  std::string earlyOutput_;
};

}  // namespace

void appendAttachFrame(std::string& out, AttachStream stream, std::string_view payload) {
  uint32_t length = static_cast<uint32_t>(payload.size());
  out += static_cast<char>(stream);
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xff);
  out.append(payload);
}

long parseAttachFrame(std::string_view input, AttachStream& stream, std::string_view& payload,
                      size_t maxPayload) {
  if (input.size() < 5) return 0;
  uint32_t length = 0;
  for (int i = 1; i < 5; ++i) length = (length << 8) | static_cast<unsigned char>(input[i]);
  if (length > maxPayload) return -1;
  if (input.size() < 5 + static_cast<size_t>(length)) return 0;
  stream = static_cast<AttachStream>(static_cast<unsigned char>(input[0]));
  payload = input.substr(5, length);
  return static_cast<long>(5 + length);
}

std::optional<ExitRecord> readExitRecord(const std::string& exitPath) {
  Json json = Json::parse(readWholeFile(exitPath), nullptr, false);
  if (!json.is_object() || !json.contains("exitCode") || !json["exitCode"].is_number_integer())
    return std::nullopt;
  ExitRecord record;
  record.exitCode = json["exitCode"].get<int>();
  record.reason = json.value("reason", record.exitCode == 0 ? "Completed" : "Error");
  record.finishedAt = json.value("finishedAt", "");
  return record;
}

core::Result<ShimStarted> startShim(const std::string& selfBinary, const ShimSpec& spec,
                                    const std::string& specPath) {
  {
    std::string temporary = specPath + ".tmp";
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return core::internal("write " + specPath + ": " + std::strerror(errno));
    writeAll(fd, specToJson(spec).dump());
    ::close(fd);
    if (::rename(temporary.c_str(), specPath.c_str()) != 0)
      return core::internal("write " + specPath + ": " + std::strerror(errno));
  }
  std::string subcommand = "container-shim";
  std::vector<char*> argv = {const_cast<char*>(selfBinary.c_str()), subcommand.data(),
                             const_cast<char*>(specPath.c_str()), nullptr};
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    return core::internal("pipe: " + std::string(strerror(errno)));
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls: the agent has threads.
    ::dup2(report[1], 1);
    int devNull = ::open("/dev/null", O_RDWR);
    if (devNull >= 0) ::dup2(devNull, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setsid();
    // The shim outlives the agent: it must hold none of its descriptors
    // (the node API's listener kept a restarted agent from binding).
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    return core::internal("fork: " + std::string(strerror(errno)));
  }
  std::string reply;
  char buffer[512];
  while (true) {
    ssize_t n = ::read(report[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  ::close(report[0]);
  if (reply.rfind("pid ", 0) == 0) {
    ShimStarted started;
    started.shimPid = pid;
    started.containerPid = static_cast<pid_t>(std::atol(reply.c_str() + 4));
    if (started.containerPid > 0) return started;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (reply.rfind("error ", 0) == 0) {
    // The runtime's own words, as the container's waiting message shows them.
    std::string message = reply.substr(6);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return core::Error{500, "StartError", message};
  }
  return core::internal("the container shim did not start (" + selfBinary + ")");
}

int runShim(const std::string& specPath) {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  // The agent stops a container by signalling the program's process group;
  // the shim stays to write what it printed last and how it ended.
  ::signal(SIGTERM, SIG_IGN);
  auto spec = specFromJson(Json::parse(readWholeFile(specPath), nullptr, false));
  // Read once: the environment it holds may come from Secrets, which are
  // kept off the disk (docs/encryption-at-rest.md).
  ::unlink(specPath.c_str());
  if (!spec) {
    std::printf("error %s\n", spec.error().message.c_str());
    return 1;
  }
  Shim shim(*spec);
  auto started = shim.start();
  if (!started) {
    std::printf("error %s\n", started.error().message.c_str());
    return 1;
  }
  std::printf("pid %d\n", static_cast<int>(shim.pid()));
  std::fflush(stdout);
  int devNull = ::open("/dev/null", O_WRONLY);
  if (devNull >= 0) ::dup2(devNull, 1);
  return shim.run();
}

}  // namespace podnet::runtime
