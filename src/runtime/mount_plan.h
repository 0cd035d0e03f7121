// A container's filesystem view, as a plan of mount steps: the pod's volumes
// bound at their mountPaths and the pod's resolv.conf and hosts over /etc.
//
// podnet's containers run host programs on the host's filesystem, so a
// mountPath that does not exist on the host (/data, /usr/share/nginx/html)
// needs a mount point that must not appear on the host. The plan makes it
// in the container's own mount namespace only:
// - under an existing directory A other than /: an overlay on A (lower A,
//   upper on a tmpfs), in which the missing directories are made;
// - a missing top-level directory: a new root, a tmpfs holding the host's
//   top-level entries (directories bound recursively, symlinks copied),
//   where it is made, then pivot_root into it, as runc does for a rootfs.
// `planMounts` is pure (the filesystem is read through `FileSystemView`), so
// the plan is tested without a kernel; `runMountSteps` applies it in the
// forked child with system calls only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace podnet::runtime {

struct Mount {
  std::string source;  // a host path (directory or file)
  std::string target;  // where the container sees it (absolute)
  bool readOnly = false;
};

enum class PathKind { Missing, Directory, File, Other };

struct RootEntry {
  std::string name;
  PathKind kind = PathKind::Other;
  bool symlink = false;
  std::string linkTarget;  // when symlink
};

struct FileSystemView {
  // What is at `path`, following symlinks.
  std::function<PathKind(const std::string&)> kind;
  // The path with its symlinks resolved as far as it exists (weakly canonical).
  std::function<std::string(const std::string&)> canonical;
  // The entries of "/".
  std::function<std::vector<RootEntry>()> rootEntries;
};

// The real filesystem.
FileSystemView hostFileSystem();

struct MountStep {
  enum class Op { Tmpfs, Mkdir, Touch, Bind, ReadOnly, Symlink, Overlay, PivotRoot };
  Op op;
  std::string path;    // the target of the step
  std::string source;  // Bind: the source; Symlink: the link's text; Overlay: its options
  std::string what;    // the step in words, for the error a failure reports
  // A host entry copied into a new root: one that cannot be bound (an
  // unreadable FUSE or autofs mount) is left out rather than failing the start.
  bool optional = false;
};

// `scratchDir` is an existing empty host directory that the plan may cover
// with a tmpfs (in the container's namespace only). Errors: a relative
// target, a missing source, a file bound over a directory or the reverse, a
// mount point that cannot be made (under /proc, /sys or /dev).
core::Result<std::vector<MountStep>> planMounts(std::vector<Mount> mounts,
                                                const std::string& scratchDir,
                                                const FileSystemView& view);

// In the forked child, after unshare(CLONE_NEWNS) and making / a slave:
// runs the steps; on failure returns the index of the failing step (errno
// set), else -1. Async-signal-safe: the strings were built before fork.
int runMountSteps(const std::vector<MountStep>& steps);

}  // namespace podnet::runtime
