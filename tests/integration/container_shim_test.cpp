// The container shim as the agent starts it (`podnet container-shim`), in a
// throwaway network namespace "pcs-<pid>" (root only): the program's output
// in the CRI log with rotation, the exit record, a start error reported
// rather than a dead process, and attach (stdin in, output out, the output
// printed before the first attach kept for it).
#include "runtime/container_shim.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/files.h"
#include "runtime/container_log.h"

namespace podnet::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ContainerShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    netns_ = "pcs-" + std::to_string(::getpid());
    ASSERT_EQ(std::system(("ip netns add " + netns_).c_str()), 0);
    dir_ = fs::temp_directory_path() / netns_;
    fs::create_directories(dir_);
  }
  void TearDown() override {
    for (pid_t pid : started_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (!netns_.empty()) std::system(("ip netns delete " + netns_ + " 2>/dev/null").c_str());
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  ShimSpec spec(std::vector<std::string> argv) {
    ShimSpec shim;
    shim.process.argv = std::move(argv);
    shim.process.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    shim.process.netnsPath = "/run/netns/" + netns_;
    shim.process.hostname = "shimmed";
    shim.logPath = (dir_ / "0.log").string();
    shim.exitPath = (dir_ / "0.exit").string();
    return shim;
  }
  core::Result<ShimStarted> start(const ShimSpec& shim) {
    auto started = startShim(PODNET_BINARY, shim, (dir_ / "0.json").string());
    if (started) started_.push_back(started->shimPid);
    return started;
  }
  // Waits for the shim and returns its exit code.
  int wait(pid_t shim) {
    int status = 0;
    ::waitpid(shim, &status, 0);
    started_.erase(std::remove(started_.begin(), started_.end(), shim), started_.end());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string logOf(const ShimSpec& shim, LogOptions options = {}) {
    LogReader reader(shim.logPath, options);
    std::string out;
    reader.next(out);
    return out;
  }
  int connectTo(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    for (int i = 0; i < 100; ++i) {
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
      std::this_thread::sleep_for(20ms);
    }
    ::close(fd);
    return -1;
  }
  // What the shim sends until it closes: stdout frames' payloads.
  static std::string readOutput(int fd) {
    std::string wire, out;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) wire.append(buffer, size_t(n));
    size_t offset = 0;
    AttachStream stream;
    std::string_view payload;
    long size;
    while ((size = parseAttachFrame(std::string_view(wire).substr(offset), stream, payload)) > 0) {
      if (stream == AttachStream::stdoutData) out.append(payload);
      offset += size_t(size);
    }
    return out;
  }

  std::string netns_;
  fs::path dir_;
  std::vector<pid_t> started_;
};

TEST_F(ContainerShimTest, LogsBothStreamsRotatesAndRecordsTheExitCode) {
  ShimSpec shim = spec({"sh", "-c",
                        "hostname; echo to-stderr >&2; i=0; while [ $i -lt 400 ]; do "
                        "echo \"line $i of many\"; i=$((i+1)); done; printf no-newline; exit 3"});
  shim.logMaxBytes = 4096;
  auto started = start(shim);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_GT(started->containerPid, 0);
  EXPECT_EQ(wait(started->shimPid), 3);
  auto record = readExitRecord(shim.exitPath);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->exitCode, 3);
  EXPECT_EQ(record->reason, "Error");
  // Rotated at the limit: the current file and one before it, bounded.
  EXPECT_TRUE(fs::exists(shim.logPath + ".1"));
  EXPECT_LE(fs::file_size(shim.logPath) + fs::file_size(shim.logPath + ".1"), 2 * 4096 + 200);
  std::string log = logOf(shim);
  // stdout in order; stderr's line may land anywhere between (two pipes).
  size_t last = log.find("line 399 of many\n");
  EXPECT_NE(last, std::string::npos) << log;
  EXPECT_NE(log.find("no-newline\n", last), std::string::npos) << log;
  // Every line of the files is a CRI entry with a timestamp.
  std::ifstream in(shim.logPath);
  for (std::string line; std::getline(in, line);)
    EXPECT_TRUE(parseLogLine(line).has_value()) << line;
}

TEST_F(ContainerShimTest, ProgramNamespacesAndStderrAreInTheLog) {
  ShimSpec shim = spec({"sh", "-c", "hostname; echo oops >&2"});
  auto started = start(shim);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_EQ(wait(started->shimPid), 0);
  std::string log = logOf(shim);
  EXPECT_NE(log.find("shimmed\n"), std::string::npos) << log;
  EXPECT_NE(log.find("oops\n"), std::string::npos) << log;
  EXPECT_NE(core::readFile(shim.logPath).find(" stderr F oops"), std::string::npos);
  EXPECT_EQ(readExitRecord(shim.exitPath)->reason, "Completed");
}

TEST_F(ContainerShimTest, AStartErrorIsReportedNotAProcess) {
  auto started = start(spec({"no-such-program"}));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message,
            "exec: \"no-such-program\": executable file not found in $PATH");
}

TEST_F(ContainerShimTest, AttachSendsStdinAndGetsOutputAndStdinOnceKeepsEarlyOutput) {
  ShimSpec shim = spec({"sh", "-c", "echo before-attach; read line; echo \"got $line\""});
  shim.stdinOpen = true;
  shim.stdinOnce = true;
  shim.attachSocket = (dir_ / "attach").string();
  auto started = start(shim);
  ASSERT_TRUE(started) << started.error().message;
  std::this_thread::sleep_for(200ms);  // the program has printed before anyone attached
  int fd = connectTo(shim.attachSocket);
  ASSERT_GE(fd, 0);
  std::string frames;
  appendAttachFrame(frames, AttachStream::stdinData, "hello\n");
  appendAttachFrame(frames, AttachStream::closeStdin, "");
  ASSERT_EQ(::write(fd, frames.data(), frames.size()), ssize_t(frames.size()));
  EXPECT_EQ(readOutput(fd), "before-attach\ngot hello\n");
  ::close(fd);
  EXPECT_EQ(wait(started->shimPid), 0);
  EXPECT_EQ(logOf(shim), "before-attach\ngot hello\n");
}

TEST_F(ContainerShimTest, AProgramThatEndsBeforeAttachWaitsForItsFirstAttach) {
  ShimSpec shim = spec({"sh", "-c", "echo quick"});
  shim.stdinOpen = true;
  shim.stdinOnce = true;
  shim.tty = true;
  shim.attachSocket = (dir_ / "attach").string();
  auto started = start(shim);
  ASSERT_TRUE(started) << started.error().message;
  std::this_thread::sleep_for(500ms);  // ended by now, the shim waits
  int fd = connectTo(shim.attachSocket);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(readOutput(fd), "quick\r\n");  // a terminal's line ending
  ::close(fd);
  EXPECT_EQ(wait(started->shimPid), 0);
}

}  // namespace
}  // namespace podnet::runtime
