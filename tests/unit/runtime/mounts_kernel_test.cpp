// spawnInPod with volumes against the real kernel (root; skipped otherwise):
// a program writes through its mount points into the volumes' host
// directories, sees read-only volumes as read-only, and the mount points it
// needed (/<new top-level dir>, /usr/share/<new dir>) never appear on the
// host. Everything lives in a temporary directory removed at the end.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/container_process.h"

namespace podnet::runtime {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class MountsKernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    dir_ = fs::temp_directory_path() / ("podnet-mounts-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "volumes" / "data");
    fs::create_directories(dir_ / "volumes" / "config");
    fs::create_directories(dir_ / "mnt");
    std::ofstream(dir_ / "volumes" / "config" / "app.conf") << "greeting=hello\n";
    std::ofstream(dir_ / "volumes" / "config" / "run.sh") << "#!/bin/sh\necho from-volume\n";
    fs::permissions(dir_ / "volumes" / "config" / "run.sh", fs::perms::owner_all);
    topLevel_ = "/podnet-test-" + std::to_string(::getpid());
    nested_ = "/usr/share/podnet-test-" + std::to_string(::getpid());
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // Runs `sh -c script` with the volumes; its stdout and exit code.
  std::pair<std::string, int> run(const std::string& script, std::vector<Mount> mounts,
                                  const std::string& program = "sh") {
    ProcessSpec spec;
    spec.argv = program == "sh" ? std::vector<std::string>{"sh", "-c", script}
                                : std::vector<std::string>{program};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.netnsPath = "/proc/self/ns/net";
    spec.mounts = std::move(mounts);
    spec.scratchDir = (dir_ / "mnt").string();
    spec.logPath = (dir_ / "out.log").string();
    std::error_code ignored;
    fs::remove(dir_ / "out.log", ignored);
    auto pid = spawnInPod(spec);
    if (!pid) return {"spawn: " + pid.error().message, -1};
    int status = 0;
    ::waitpid(*pid, &status, 0);
    return {slurp(dir_ / "out.log"), WIFEXITED(status) ? WEXITSTATUS(status) : -1};
  }

  fs::path dir_;
  std::string topLevel_, nested_;
};

TEST_F(MountsKernelTest, VolumesAtNewPathsAreWritableAndLeaveTheHostAlone) {
  auto [out, code] = run("echo written > " + topLevel_ + "/file && cat " + nested_ +
                             "/conf/app.conf && ls / | grep -c '^proc$' && ls /usr/bin/env",
                         {{(dir_ / "volumes" / "data").string(), topLevel_},
                          {(dir_ / "volumes" / "config").string(), nested_ + "/conf", true}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "greeting=hello\n1\n/usr/bin/env\n");
  EXPECT_EQ(slurp(dir_ / "volumes" / "data" / "file"), "written\n");
  EXPECT_FALSE(fs::exists(topLevel_));
  EXPECT_FALSE(fs::exists(nested_));
  // The scratch directory stays empty on the host.
  EXPECT_TRUE(fs::is_empty(dir_ / "mnt"));
}

TEST_F(MountsKernelTest, ReadOnlyVolumesRefuseWrites) {
  auto [out, code] = run("echo x > /usr/share/podnet-ro-" + std::to_string(::getpid()) +
                             "/new 2>/dev/null && echo wrote || echo refused",
                         {{(dir_ / "volumes" / "config").string(),
                           "/usr/share/podnet-ro-" + std::to_string(::getpid()), true}});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("Read-only file system"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 8), "refused\n");
  EXPECT_FALSE(fs::exists(dir_ / "volumes" / "config" / "new"));
}

TEST_F(MountsKernelTest, AProgramInAVolumeIsFoundAndRun) {
  auto [out, code] = run("", {{(dir_ / "volumes" / "config").string(), topLevel_ + "/bin"}},
                         topLevel_ + "/bin/run.sh");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "from-volume\n");
}

TEST_F(MountsKernelTest, AMissingSourceIsAStartErrorNotACrash) {
  auto [out, code] = run("true", {{(dir_ / "volumes" / "nope").string(), "/data"}});
  EXPECT_EQ(code, -1);
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
}

}  // namespace
}  // namespace podnet::runtime

namespace podnet::runtime {
namespace {

TEST_F(MountsKernelTest, SiblingVolumesUnderASymlinkedDirectoryInANewRoot) {
  std::string base = "/var/run/podnet-test-" + std::to_string(::getpid());
  auto [out, code] =
      run("cat " + base + "/db/app.conf && ls " + base + "/kubernetes.io/sa/",
          {{(dir_ / "volumes" / "data").string(), topLevel_ + "/cache"},
           {(dir_ / "volumes" / "config").string(), base + "/db", true},
           {(dir_ / "volumes" / "config").string(), base + "/kubernetes.io/sa", true}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "greeting=hello\napp.conf\nrun.sh\n");
  EXPECT_FALSE(fs::exists(base));
}

}  // namespace
}  // namespace podnet::runtime
