#include "runtime/mount_plan.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>

namespace podnet::runtime {

namespace fs = std::filesystem;

FileSystemView hostFileSystem() {
  FileSystemView view;
  view.kind = [](const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return PathKind::Missing;
    if (S_ISDIR(info.st_mode)) return PathKind::Directory;
    if (S_ISREG(info.st_mode)) return PathKind::File;
    return PathKind::Other;
  };
  view.canonical = [](const std::string& path) {
    std::error_code error;
    fs::path resolved = fs::weakly_canonical(path, error);
    return error ? fs::path(path).lexically_normal().string() : resolved.string();
  };
  view.rootEntries = [] {
    std::vector<RootEntry> entries;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/", error)) {
      RootEntry out;
      out.name = entry.path().filename().string();
      std::error_code ignored;
      if (entry.is_symlink(ignored)) {
        out.symlink = true;
        out.linkTarget = fs::read_symlink(entry.path(), ignored).string();
      } else if (entry.is_directory(ignored)) {
        out.kind = PathKind::Directory;
      } else if (entry.is_regular_file(ignored)) {
        out.kind = PathKind::File;
      }
      entries.push_back(std::move(out));
    }
    std::sort(entries.begin(), entries.end(),
              [](const RootEntry& a, const RootEntry& b) { return a.name < b.name; });
    return entries;
  };
  return view;
}

namespace {

bool within(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

size_t depth(const std::string& path) {
  return path == "/" ? 0 : static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

// Overlay options separate paths with ',' and ':'; such paths are refused.
bool overlaySafe(const std::string& path) {
  return path.find_first_of(",:\\") == std::string::npos;
}

}  // namespace

core::Result<std::vector<MountStep>> planMounts(std::vector<Mount> mounts,
                                                const std::string& scratchDir,
                                                const FileSystemView& view) {
  using Op = MountStep::Op;
  struct Planned {
    Mount mount;
    bool directory = true;
    std::string under;     // the earlier mount's target it lies beneath, if any
    std::string ancestor;  // the deepest existing ancestor when the target is missing
  };
  std::vector<Planned> planned;
  for (Mount& mount : mounts) {
    if (mount.target.empty() || mount.target[0] != '/')
      return core::badRequest("mount path \"" + mount.target + "\" is not absolute");
    PathKind sourceKind = view.kind(mount.source);
    if (sourceKind == PathKind::Missing)
      return core::badRequest("mount source " + mount.source + " does not exist");
    Planned p;
    p.directory = sourceKind == PathKind::Directory;
    p.mount = std::move(mount);
    p.mount.target = view.canonical(p.mount.target);
    planned.push_back(std::move(p));
  }
  // Outer mounts first, so an inner one lands in the outer volume.
  std::stable_sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
    return depth(a.mount.target) < depth(b.mount.target);
  });
  bool newRoot = false;
  std::vector<std::string> overlays;
  for (size_t i = 0; i < planned.size(); ++i) {
    Planned& p = planned[i];
    const std::string& target = p.mount.target;
    for (size_t j = 0; j < i; ++j)
      if (within(target, planned[j].mount.target) && target != planned[j].mount.target)
        p.under = planned[j].mount.target;
    if (!p.under.empty()) continue;
    PathKind kind = view.kind(target);
    if (kind != PathKind::Missing) {
      if (kind == PathKind::Directory && !p.directory)
        return core::badRequest("cannot mount file " + p.mount.source + " on directory " + target);
      if (kind != PathKind::Directory && p.directory)
        return core::badRequest("cannot mount directory " + p.mount.source + " on " + target +
                                ": not a directory");
      continue;
    }
    std::string ancestor = parentOf(target);
    while (ancestor != "/" && view.kind(ancestor) == PathKind::Missing)
      ancestor = parentOf(ancestor);
    if (view.kind(ancestor) != PathKind::Directory)
      return core::badRequest("cannot make mount point " + target + ": " + ancestor +
                              " is not a directory");
    for (const char* special : {"/proc", "/sys", "/dev"})
      if (within(ancestor, special))
        return core::badRequest("cannot make mount point " + target + " under " + special);
    p.ancestor = ancestor;
    if (ancestor == "/") {
      newRoot = true;
    } else {
      if (!overlaySafe(ancestor))
        return core::badRequest("cannot make mount point " + target + " under " + ancestor);
      overlays.push_back(ancestor);
    }
  }
  // One overlay per outermost ancestor: an overlay on /usr after one on
  // /usr/share would hide the inner one.
  std::sort(overlays.begin(), overlays.end(),
            [](const std::string& a, const std::string& b) { return depth(a) < depth(b); });
  std::vector<std::string> outermost;
  for (const std::string& dir : overlays) {
    bool covered = false;
    for (const std::string& outer : outermost) covered = covered || within(dir, outer);
    if (!covered) outermost.push_back(dir);
  }

  std::vector<MountStep> steps;
  auto add = [&](Op op, std::string path, std::string source, std::string what,
                 bool optional = false) {
    steps.push_back({op, std::move(path), std::move(source), std::move(what), optional});
  };
  const std::string root = newRoot ? scratchDir + "/root" : "";
  if (newRoot || !outermost.empty()) {
    if (scratchDir.empty() || scratchDir[0] != '/' || !overlaySafe(scratchDir))
      return core::badRequest("no usable scratch directory for mount points: \"" + scratchDir +
                              "\"");
    add(Op::Tmpfs, scratchDir, "", "mount a tmpfs on " + scratchDir);
  }
  if (newRoot) {
    add(Op::Mkdir, root, "", "make " + root);
    add(Op::Bind, root, root, "bind mount " + root + " on itself");
    for (const RootEntry& entry : view.rootEntries()) {
      if (entry.name.empty() || entry.name == "." || entry.name == "..") continue;
      std::string host = "/" + entry.name;
      if (entry.symlink) {
        add(Op::Symlink, root + host, entry.linkTarget, "link " + host);
      } else if (entry.kind == PathKind::Directory) {
        add(Op::Mkdir, root + host, "", "make " + host + " in the new root");
        add(Op::Bind, root + host, host, "bind mount " + host + " in the new root", true);
      } else if (entry.kind == PathKind::File) {
        add(Op::Touch, root + host, "", "make " + host + " in the new root");
        add(Op::Bind, root + host, host, "bind mount " + host + " in the new root", true);
      }
    }
  }
  for (size_t i = 0; i < outermost.size(); ++i) {
    std::string upper = scratchDir + "/upper" + std::to_string(i);
    std::string work = scratchDir + "/work" + std::to_string(i);
    add(Op::Mkdir, upper, "", "make " + upper);
    add(Op::Mkdir, work, "", "make " + work);
    add(Op::Overlay, root + outermost[i],
        "lowerdir=" + outermost[i] + ",upperdir=" + upper + ",workdir=" + work,
        "mount an overlay on " + outermost[i]);
  }
  for (const Planned& p : planned) {
    const std::string& target = p.mount.target;
    if (!p.under.empty() || !p.ancestor.empty()) {
      // The missing components, in the outer volume or the overlay/new root.
      std::string from = !p.under.empty() ? p.under : p.ancestor;
      std::vector<std::string> missing;
      for (std::string dir = target; dir != from && dir != "/"; dir = parentOf(dir))
        missing.push_back(dir);
      std::reverse(missing.begin(), missing.end());
      for (size_t k = 0; k < missing.size(); ++k) {
        bool last = k + 1 == missing.size();
        add(last && !p.directory ? Op::Touch : Op::Mkdir, root + missing[k], "",
            "make mount point " + missing[k]);
      }
    }
    add(Op::Bind, root + target, p.mount.source, "bind mount " + p.mount.source + " on " + target);
    if (p.mount.readOnly) add(Op::ReadOnly, root + target, "", "make " + target + " read-only");
  }
  if (newRoot) add(Op::PivotRoot, root, "", "pivot_root into the new root");
  return steps;
}

int runMountSteps(const std::vector<MountStep>& steps) {
  using Op = MountStep::Op;
  for (size_t i = 0; i < steps.size(); ++i) {
    const MountStep& step = steps[i];
    const char* path = step.path.c_str();
    bool ok = true;
    switch (step.op) {
      case Op::Tmpfs:
        ok = ::mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0;
        break;
      case Op::Mkdir:
        ok = ::mkdir(path, 0755) == 0 || errno == EEXIST;
        break;
      case Op::Touch: {
        int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        ok = fd >= 0 || errno == EEXIST;
        if (fd >= 0) ::close(fd);
        break;
      }
      case Op::Bind:
        ok = ::mount(step.source.c_str(), path, nullptr, MS_BIND | MS_REC, nullptr) == 0;
        break;
      case Op::ReadOnly:
        ok = ::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
        break;
      case Op::Symlink:
        ok = ::symlink(step.source.c_str(), path) == 0;
        break;
      case Op::Overlay:
        ok = ::mount("overlay", path, "overlay", 0, step.source.c_str()) == 0;
        break;
      case Op::PivotRoot:
        // runc's way: no put_old directory; the old root is stacked under
        // the new one and detached.
        ok = ::chdir(path) == 0 && ::syscall(SYS_pivot_root, ".", ".") == 0 &&
             ::umount2(".", MNT_DETACH) == 0 && ::chdir("/") == 0;
        break;
    }
    if (!ok && !step.optional) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace podnet::runtime
