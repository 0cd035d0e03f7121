// A pod's volumes on this node, as kubelet's volume manager makes them:
// - emptyDir: a directory of the pod (removed with it);
// - hostPath: the node's path, with the `type` checks and creation upstream
//   does (DirectoryOrCreate, FileOrCreate, ...);
// - persistentVolumeClaim: the directory of the PersistentVolume the claim
//   is bound to (`local.path` or `hostPath.path`);
// - configMap, secret, downwardAPI and projected (serviceAccountToken too):
//   files written into a directory of the pod, bound read-only.
// The pure part (which files, which mounts) is apart from the writing, so it
// is tested without a node.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/object.h"
#include "core/result.h"
#include "runtime/mount_plan.h"

namespace podnet::agent {

using Json = nlohmann::json;

struct VolumeFile {
  std::string path;  // relative to the volume's directory
  std::string content;
  int mode = 0644;
};

// What the file volumes need from the API.
struct VolumeLookup {
  // A ConfigMap or Secret ("ConfigMap", "Secret") of the pod's namespace; a
  // 404 error when it does not exist.
  std::function<core::Result<Json>(const std::string& kind, const std::string& name)> object;
  // A token of the pod's ServiceAccount, bound to the pod.
  std::function<core::Result<std::string>(const std::string& audience, int64_t expirationSeconds)>
      token;
  int64_t nodeCpus = 1;
  int64_t nodeMemoryBytes = 0;
};

// The volume's type as its source names it: emptyDir, hostPath,
// persistentVolumeClaim, configMap, secret, downwardAPI, projected; "" for
// any other (a cloud or CSI volume podnet cannot provide).
std::string volumeType(const Json& volume);

// The files of a configMap, secret, downwardAPI or projected volume, with
// kubelet's messages for what is missing (configmap "x" not found,
// configmap references non-existent config key: k). An optional source that
// is missing gives no files.
core::Result<std::vector<VolumeFile>> volumeFiles(const Json& volume, const Json& pod,
                                                  const VolumeLookup& lookup);

// One container's volumeMounts as mounts: `volumePaths` maps each volume's
// name to its host path; subPath and subPathExpr ($(VAR) from `env`,
// KEY=VALUE) select inside it; file volumes and readOnly mounts are
// read-only.
core::Result<std::vector<runtime::Mount>> containerMounts(
    const Json& pod, const Json& container, const std::map<std::string, std::string>& volumePaths,
    const std::vector<std::string>& env);

// The hostPath checks and creation of upstream's `type`: "" (made as a
// directory when missing, as container runtimes do), DirectoryOrCreate,
// Directory, FileOrCreate, File, Socket, CharDevice, BlockDevice.
core::Status prepareHostPath(const std::string& path, const std::string& type);

// Writes `files` into `dir` (made when missing): each file replaced
// atomically, files no longer listed removed. Returns whether anything
// changed.
core::Result<bool> writeVolumeFiles(const std::string& dir, const std::vector<VolumeFile>& files);

}  // namespace podnet::agent
