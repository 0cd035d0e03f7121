// planMounts on a fake filesystem: which steps a container's volumes need,
// and that nothing is ever made on the host's own tree.
#include "runtime/mount_plan.h"

#include <gtest/gtest.h>

#include <map>

namespace podnet::runtime {
namespace {

using Op = MountStep::Op;

class MountPlanTest : public ::testing::Test {
 protected:
  std::map<std::string, PathKind> paths_ = {
      {"/", PathKind::Directory},
      {"/etc", PathKind::Directory},
      {"/etc/resolv.conf", PathKind::File},
      {"/usr", PathKind::Directory},
      {"/usr/share", PathKind::Directory},
      {"/run", PathKind::Directory},
      {"/proc", PathKind::Directory},
      {"/pod", PathKind::Directory},
      {"/pod/volumes/www", PathKind::Directory},
      {"/pod/volumes/config", PathKind::Directory},
      {"/pod/resolv.conf", PathKind::File},
      {"/pod/volumes/config/nginx.conf", PathKind::File},
  };
  FileSystemView view() {
    FileSystemView v;
    v.kind = [this](const std::string& path) {
      auto it = paths_.find(path);
      return it == paths_.end() ? PathKind::Missing : it->second;
    };
    // /var/run is a symlink to /run, as on Debian.
    v.canonical = [](const std::string& path) {
      if (path.rfind("/var/run/", 0) == 0) return "/run/" + path.substr(9);
      return path;
    };
    v.rootEntries = [] {
      std::vector<RootEntry> entries;
      entries.push_back({"bin", PathKind::Other, true, "usr/bin"});
      entries.push_back({"etc", PathKind::Directory, false, ""});
      entries.push_back({"run", PathKind::Directory, false, ""});
      entries.push_back({"usr", PathKind::Directory, false, ""});
      return entries;
    };
    return v;
  }
  static std::vector<std::string> render(const std::vector<MountStep>& steps) {
    std::vector<std::string> out;
    for (const MountStep& step : steps) {
      const char* names[] = {"tmpfs", "mkdir",   "touch",   "bind",
                             "ro",    "symlink", "overlay", "pivot"};
      std::string line = std::string(names[static_cast<int>(step.op)]) + " " + step.path;
      if (!step.source.empty()) line += " <- " + step.source;
      out.push_back(line);
    }
    return out;
  }
};

TEST_F(MountPlanTest, ExistingTargetsAreBoundDirectlyWithoutScratch) {
  auto steps = planMounts({{"/pod/resolv.conf", "/etc/resolv.conf"}}, "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  EXPECT_EQ(render(*steps),
            (std::vector<std::string>{"bind /etc/resolv.conf <- /pod/resolv.conf"}));
}

TEST_F(MountPlanTest, MissingDirectoryUnderAnExistingOneGetsAnOverlay) {
  auto steps =
      planMounts({{"/pod/volumes/www", "/usr/share/nginx/html", true}}, "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  EXPECT_EQ(render(*steps),
            (std::vector<std::string>{
                "tmpfs /pod/mnt",
                "mkdir /pod/mnt/upper0",
                "mkdir /pod/mnt/work0",
                "overlay /usr/share <- lowerdir=/usr/share,upperdir=/pod/mnt/upper0,workdir=/pod/"
                "mnt/work0",
                "mkdir /usr/share/nginx",
                "mkdir /usr/share/nginx/html",
                "bind /usr/share/nginx/html <- /pod/volumes/www",
                "ro /usr/share/nginx/html",
            }));
}

TEST_F(MountPlanTest, OneOverlayOnTheOutermostAncestor) {
  auto steps =
      planMounts({{"/pod/volumes/www", "/usr/share/a/b"}, {"/pod/volumes/config", "/usr/x/y/z/w"}},
                 "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  int overlays = 0;
  for (const MountStep& step : *steps)
    if (step.op == Op::Overlay) {
      ++overlays;
      EXPECT_EQ(step.path, "/usr");
    }
  EXPECT_EQ(overlays, 1);
}

TEST_F(MountPlanTest, MissingTopLevelDirectoryMeansANewRoot) {
  auto steps = planMounts({{"/pod/volumes/www", "/data"}, {"/pod/resolv.conf", "/etc/resolv.conf"}},
                          "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  EXPECT_EQ(render(*steps), (std::vector<std::string>{
                                "tmpfs /pod/mnt",
                                "mkdir /pod/mnt/root",
                                "bind /pod/mnt/root <- /pod/mnt/root",
                                "symlink /pod/mnt/root/bin <- usr/bin",
                                "mkdir /pod/mnt/root/etc",
                                "bind /pod/mnt/root/etc <- /etc",
                                "mkdir /pod/mnt/root/run",
                                "bind /pod/mnt/root/run <- /run",
                                "mkdir /pod/mnt/root/usr",
                                "bind /pod/mnt/root/usr <- /usr",
                                "mkdir /pod/mnt/root/data",
                                "bind /pod/mnt/root/data <- /pod/volumes/www",
                                "bind /pod/mnt/root/etc/resolv.conf <- /pod/resolv.conf",
                                "pivot /pod/mnt/root",
                            }));
  // A host entry that cannot be bound is left out; a volume that cannot be is an error.
  for (const MountStep& step : *steps)
    if (step.op == Op::Bind)
      EXPECT_EQ(step.optional, step.what.find("in the new root") != std::string::npos) << step.what;
}

TEST_F(MountPlanTest, SymlinkedTargetsResolveAndNestedMountsLandInTheOuterVolume) {
  auto steps = planMounts({{"/pod/volumes/config", "/var/run/secrets/kubernetes.io/sa/extra"},
                           {"/pod/volumes/www", "/var/run/secrets/kubernetes.io/sa"}},
                          "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  EXPECT_EQ(render(*steps),
            (std::vector<std::string>{
                "tmpfs /pod/mnt",
                "mkdir /pod/mnt/upper0",
                "mkdir /pod/mnt/work0",
                "overlay /run <- lowerdir=/run,upperdir=/pod/mnt/upper0,workdir=/pod/mnt/work0",
                "mkdir /run/secrets",
                "mkdir /run/secrets/kubernetes.io",
                "mkdir /run/secrets/kubernetes.io/sa",
                "bind /run/secrets/kubernetes.io/sa <- /pod/volumes/www",
                "mkdir /run/secrets/kubernetes.io/sa/extra",
                "bind /run/secrets/kubernetes.io/sa/extra <- /pod/volumes/config",
            }));
}

TEST_F(MountPlanTest, AFileVolumeGetsAFileMountPoint) {
  auto steps =
      planMounts({{"/pod/volumes/config/nginx.conf", "/etc/nginx/nginx.conf"}}, "/pod/mnt", view());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  auto lines = render(*steps);
  EXPECT_EQ(lines[lines.size() - 3], "mkdir /etc/nginx");
  EXPECT_EQ(lines[lines.size() - 2], "touch /etc/nginx/nginx.conf");
}

TEST_F(MountPlanTest, RefusesWhatCannotWork) {
  auto relative = planMounts({{"/pod/volumes/www", "data"}}, "/pod/mnt", view());
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.error().message.find("not absolute"), std::string::npos);
  auto missing = planMounts({{"/pod/volumes/nope", "/data"}}, "/pod/mnt", view());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  auto fileOnDir = planMounts({{"/pod/resolv.conf", "/usr"}}, "/pod/mnt", view());
  ASSERT_FALSE(fileOnDir.ok());
  auto dirOnFile = planMounts({{"/pod/volumes/www", "/etc/resolv.conf"}}, "/pod/mnt", view());
  ASSERT_FALSE(dirOnFile.ok());
  EXPECT_NE(dirOnFile.error().message.find("not a directory"), std::string::npos);
  auto proc = planMounts({{"/pod/volumes/www", "/proc/fake/x"}}, "/pod/mnt", view());
  ASSERT_FALSE(proc.ok());
  auto noScratch = planMounts({{"/pod/volumes/www", "/data"}}, "", view());
  ASSERT_FALSE(noScratch.ok());
}

}  // namespace
}  // namespace podnet::runtime
