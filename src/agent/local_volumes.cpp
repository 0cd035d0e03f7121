#include "agent/local_volumes.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "api/resource.h"

namespace podnet::agent {

namespace fs = std::filesystem;

namespace {

constexpr const char* kProvisioner = "podnet.io/local-path";
constexpr const char* kSelectedNode = "volume.kubernetes.io/selected-node";
constexpr const char* kProvisionedBy = "pv.kubernetes.io/provisioned-by";

std::string text(const Json& obj, std::initializer_list<const char*> path) {
  const Json* at = &obj;
  for (const char* key : path) {
    if (!at->is_object()) return "";
    auto it = at->find(key);
    if (it == at->end()) return "";
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : "";
}

}  // namespace

Json localVolumeFor(const Json& claim, const std::string& node, const std::string& path,
                    const std::string& storageClass, const std::string& reclaimPolicy) {
  const Json& spec = claim.value("spec", Json::object());
  Json capacity = {{"storage", "1Gi"}};
  if (std::string requested = text(claim, {"spec", "resources", "requests", "storage"});
      !requested.empty())
    capacity["storage"] = requested;
  Json accessModes = spec.value("accessModes", Json::array({"ReadWriteOnce"}));
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata",
           {{"name", "pvc-" + api::uid(claim)},
            {"annotations", {{kProvisionedBy, kProvisioner}}},
            {"labels", {{"podnet.io/node", node}}}}},
          {"spec",
           {{"capacity", capacity},
            {"accessModes", accessModes},
            {"persistentVolumeReclaimPolicy", reclaimPolicy.empty() ? "Delete" : reclaimPolicy},
            {"storageClassName", storageClass},
            {"volumeMode", "Filesystem"},
            {"local", {{"path", path}}},
            {"claimRef",
             {{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"namespace", api::namespaceOf(claim)},
              {"name", api::name(claim)},
              {"uid", api::uid(claim)}}},
            {"nodeAffinity",
             {{"required",
               {{"nodeSelectorTerms",
                 Json::array({{{"matchExpressions",
                                Json::array({{{"key", "kubernetes.io/hostname"},
                                              {"operator", "In"},
                                              {"values", Json::array({node})}}})}}})}}}}}}}};
}

struct LocalVolumes::Impl {
  std::string nodeName;
  std::string dataDir;
  client::Client* client = nullptr;
  client::Informer* claims = nullptr;
  client::Informer* volumes = nullptr;
  client::Informer* classes = nullptr;

  void log(const std::string& message) {
    std::fprintf(stderr, "podnet agent %s: %s\n", nodeName.c_str(), message.c_str());
  }

  fs::path volumeDir(const std::string& volumeName) const {
    return fs::path(dataDir) / "volumes" / volumeName;
  }

  void provision(const Json& claim) {
    std::string classLookup = text(claim, {"spec", "storageClassName"});
    auto storageClass = classes->get("", classLookup);
    if (!storageClass || text(*storageClass, {"provisioner"}) != kProvisioner) return;
    Json volume =
        localVolumeFor(claim, nodeName, "", classLookup, text(*storageClass, {"reclaimPolicy"}));
    std::string volumeName = volume["metadata"]["name"];
    fs::path dir = volumeDir(volumeName);
    volume["spec"]["local"]["path"] = dir.string();
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      log("provision " + volumeName + ": " + error.message());
      return;
    }
    // As local-path-provisioner: any user of any pod may write it.
    ::chmod(dir.c_str(), 0777);
    const auto& pvs = api::resource("PersistentVolume");
    auto created = client->create(pvs, "", volume);
    if (!created && created.error().reason != "AlreadyExists") {
      log("create PersistentVolume " + volumeName + ": " + created.error().message);
      return;
    }
    // Bind the claim to it, then say so in both statuses.
    const auto& pvcs = api::resource("PersistentVolumeClaim");
    std::string ns = api::namespaceOf(claim);
    Json bound = claim;
    bound["spec"]["volumeName"] = volumeName;
    Json& annotations = bound["metadata"]["annotations"];
    annotations["pv.kubernetes.io/bind-completed"] = "yes";
    annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
    annotations["volume.kubernetes.io/storage-provisioner"] = kProvisioner;
    annotations["volume.beta.kubernetes.io/storage-provisioner"] = kProvisioner;
    auto updated = client->update(pvcs, ns, bound);
    if (!updated) {
      log("bind claim " + ns + "/" + api::name(claim) + ": " + updated.error().message);
      return;
    }
    Json claimStatus = *updated;
    claimStatus["status"] = {{"phase", "Bound"},
                             {"accessModes", volume["spec"]["accessModes"]},
                             {"capacity", volume["spec"]["capacity"]}};
    client::WriteOptions status;
    status.subresource = "status";
    if (auto written = client->update(pvcs, ns, claimStatus, status); !written)
      log("status of claim " + api::name(claim) + ": " + written.error().message);
    markVolume(volumeName, "Bound");
    log("provisioned " + volumeName + " for claim " + ns + "/" + api::name(claim));
  }

  void markVolume(const std::string& volumeName, const std::string& phase) {
    const auto& pvs = api::resource("PersistentVolume");
    auto current = client->get(pvs, "", volumeName);
    if (!current || text(*current, {"status", "phase"}) == phase) return;
    Json updated = *current;
    updated["status"] = {{"phase", phase}};
    client::WriteOptions status;
    status.subresource = "status";
    if (auto written = client->update(pvs, "", updated, status); !written)
      log("status of " + volumeName + ": " + written.error().message);
  }

  // A volume of this node whose claim is gone (or is another one now).
  void reclaim(const Json& volume) {
    std::string ns = text(volume, {"spec", "claimRef", "namespace"});
    std::string name = text(volume, {"spec", "claimRef", "name"});
    auto claim = claims->get(ns, name);
    if (claim && api::uid(*claim) == text(volume, {"spec", "claimRef", "uid"})) return;
    // The cache may lag a fresh claim: ask the API before deleting data.
    auto fresh = client->get(api::resource("PersistentVolumeClaim"), ns, name);
    if (fresh && api::uid(*fresh) == text(volume, {"spec", "claimRef", "uid"})) return;
    if (!fresh && fresh.error().code != 404) return;
    std::string volumeName = api::name(volume);
    if (text(volume, {"spec", "persistentVolumeReclaimPolicy"}) != "Delete") {
      if (text(volume, {"status", "phase"}) != "Released") markVolume(volumeName, "Released");
      return;
    }
    // Only the directory this provisioner made, under its own data dir.
    fs::path dir = volumeDir(volumeName);
    if (text(volume, {"spec", "local", "path"}) == dir.string()) {
      std::error_code error;
      fs::remove_all(dir, error);
      if (error) {
        log("delete " + dir.string() + ": " + error.message());
        return;
      }
    }
    client::DeleteOptions options;
    options.preconditionUid = api::uid(volume);
    auto removed = client->remove(api::resource("PersistentVolume"), "", volumeName, options);
    if (!removed && removed.error().code != 404)
      log("delete PersistentVolume " + volumeName + ": " + removed.error().message);
    else
      log("deleted " + volumeName + " (its claim " + ns + "/" + name + " is gone)");
  }

  void sync() {
    if (!claims->hasSynced() || !volumes->hasSynced() || !classes->hasSynced()) return;
    for (const auto& claim : claims->list()) {
      if (api::isBeingDeleted(*claim) || !text(*claim, {"spec", "volumeName"}).empty()) continue;
      if (text(*claim, {"metadata", "annotations", kSelectedNode}) != nodeName) continue;
      provision(*claim);
    }
    for (const auto& volume : volumes->list()) {
      if (text(*volume, {"metadata", "annotations", kProvisionedBy}) != kProvisioner ||
          text(*volume, {"metadata", "labels", "podnet.io/node"}) != nodeName ||
          api::isBeingDeleted(*volume))
        continue;
      reclaim(*volume);
    }
  }
};

LocalVolumes::LocalVolumes(std::string nodeName, std::string dataDir, client::Client& client,
                           client::SharedInformers& informers)
    : impl_(std::make_unique<Impl>()) {
  impl_->nodeName = std::move(nodeName);
  impl_->dataDir = std::move(dataDir);
  impl_->client = &client;
  impl_->claims = &informers.forResource(api::resource("PersistentVolumeClaim"));
  impl_->volumes = &informers.forResource(api::resource("PersistentVolume"));
  impl_->classes = &informers.forResource(api::resource("StorageClass"));
}
LocalVolumes::~LocalVolumes() = default;
void LocalVolumes::sync() { impl_->sync(); }

}  // namespace podnet::agent
