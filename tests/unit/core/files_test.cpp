// Private state files: directories made 0700 and files written 0600 whatever
// the umask, and a tree left looser tightened, reporting what it changed.
#include "core/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace podnet::core {
namespace {

namespace fs = std::filesystem;

int modeOf(const fs::path& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 ? int(info.st_mode & 07777) : -1;
}

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("podnet-files-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    oldMask_ = ::umask(0);  // the worst case: nothing taken away
  }
  void TearDown() override {
    ::umask(oldMask_);
    fs::remove_all(root_);
  }
  fs::path root_;
  mode_t oldMask_ = 022;
};

TEST_F(PrivateFiles, DirectoriesAreMadePrivateWhateverTheUmask) {
  fs::path deep = root_ / "a" / "b" / "c";
  ASSERT_TRUE(makePrivateDirectories(deep.string()));
  for (const fs::path& dir : {root_, root_ / "a", root_ / "a" / "b", deep})
    EXPECT_EQ(modeOf(dir), 0700) << dir;
  // An existing one is made private too; a file in the way is an error.
  ::chmod(deep.c_str(), 0755);
  ASSERT_TRUE(makePrivateDirectories(deep.string()));
  EXPECT_EQ(modeOf(deep), 0700);
  std::ofstream(root_ / "file") << "x";
  EXPECT_FALSE(makePrivateDirectories((root_ / "file").string()));
  // Files written atomically get the mode asked for, not 0666 & ~umask.
  ASSERT_TRUE(writeFileAtomically((deep / "key").string(), "secret"));
  EXPECT_EQ(modeOf(deep / "key"), 0600);
}

bool keepsVolumes(std::string_view relative) { return relative.rfind("volumes", 0) == 0; }

TEST_F(PrivateFiles, ALooserTreeIsTightenedExceptWhatIsKept) {
  fs::create_directories(root_ / "pki");
  fs::create_directories(root_ / "volumes" / "v");
  std::ofstream(root_ / "state.db") << "x";
  std::ofstream(root_ / "pki" / "ca.crt") << "x";
  std::ofstream(root_ / "volumes" / "v" / "file") << "x";
  fs::create_symlink("/etc/hostname", root_ / "link");
  ::chmod(root_.c_str(), 0755);
  ::chmod((root_ / "pki").c_str(), 0755);
  ::chmod((root_ / "state.db").c_str(), 0644);
  ::chmod((root_ / "pki" / "ca.crt").c_str(), 0755);
  ::chmod((root_ / "volumes" / "v" / "file").c_str(), 0644);
  int hostnameMode = modeOf("/etc/hostname");

  Tightened tightened = tightenPrivateTree(root_.string(), &keepsVolumes);
  EXPECT_EQ(tightened.count, 4u);  // root, pki, state.db, ca.crt
  EXPECT_EQ(modeOf(root_), 0700);
  EXPECT_EQ(modeOf(root_ / "pki"), 0700);
  EXPECT_EQ(modeOf(root_ / "state.db"), 0600);
  EXPECT_EQ(modeOf(root_ / "pki" / "ca.crt"), 0700);  // the owner's x stays
  EXPECT_EQ(modeOf(root_ / "volumes" / "v" / "file"), 0644);
  EXPECT_EQ(modeOf("/etc/hostname"), hostnameMode);  // links are not followed
  std::string said = describeTightened(tightened, root_.string());
  EXPECT_NE(said.find("made 4 paths under " + root_.string() + " private"), std::string::npos)
      << said;
  // Once tight, a second start has nothing to say.
  Tightened again = tightenPrivateTree(root_.string(), &keepsVolumes);
  EXPECT_EQ(again.count, 0u);
  EXPECT_EQ(describeTightened(again, root_.string()), "");
}

}  // namespace
}  // namespace podnet::core
