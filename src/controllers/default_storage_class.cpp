#include "controllers/default_storage_class.h"

#include "api/resource.h"

namespace podnet::controllers {

namespace {

// storageutil.IsDefaultAnnotation: the GA annotation or the beta one.
bool isDefaultClass(const api::Json& annotations) {
  if (!annotations.is_object()) return false;
  for (const char* key : {"storageclass.kubernetes.io/is-default-class",
                          "storageclass.beta.kubernetes.io/is-default-class"})
    if (auto it = annotations.find(key); it != annotations.end() && *it == "true") return true;
  return false;
}

}  // namespace

core::Status DefaultStorageClass::admitCreate(const api::ResourceInfo& resource, api::Json& obj) {
  if (resource.custom || !resource.group.empty() || resource.kind != "PersistentVolumeClaim")
    return core::Ok{};
  if (!obj.contains("spec") || !obj["spec"].is_object()) return core::Ok{};
  api::Json& spec = obj["spec"];
  // PersistentVolumeClaimHasClass: any class named, "" included.
  if (spec.contains("storageClassName") && !spec["storageClassName"].is_null()) return core::Ok{};
  const api::Json& meta = obj.value("metadata", api::Json::object());
  const api::Json& annotations = meta.value("annotations", api::Json::object());
  if (annotations.is_object() && annotations.contains("volume.beta.kubernetes.io/storage-class"))
    return core::Ok{};
  auto classes = api_.list(api::resource("StorageClass"), "");
  if (!classes) return core::Ok{};  // no default known: the claim stays classless
  // util.GetDefaultClass: the newest default, then the first by name.
  std::string chosen, chosenCreated;
  for (const api::Json& c : classes->value("items", api::Json::array())) {
    const api::Json& m = c.value("metadata", api::Json::object());
    if (!isDefaultClass(m.value("annotations", api::Json::object()))) continue;
    std::string name = m.value("name", ""), created = m.value("creationTimestamp", "");
    if (chosen.empty() || created > chosenCreated || (created == chosenCreated && name < chosen)) {
      chosen = name;
      chosenCreated = created;
    }
  }
  if (!chosen.empty()) spec["storageClassName"] = chosen;
  return core::Ok{};
}

api::Json standardStorageClass() {
  return {{"apiVersion", "storage.k8s.io/v1"},
          {"kind", "StorageClass"},
          {"metadata",
           {{"name", "standard"},
            {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
          {"provisioner", "podnet.io/local-path"},
          {"reclaimPolicy", "Delete"},
          {"volumeBindingMode", "WaitForFirstConsumer"}};
}

}  // namespace podnet::controllers
