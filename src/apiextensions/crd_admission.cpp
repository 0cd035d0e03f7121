#include "apiextensions/crd_admission.h"

#include "api/custom_resource.h"
#include "api/object.h"
#include "apiextensions/crd.h"

namespace podnet::apiextensions {

namespace {

bool isCrd(const api::ResourceInfo& resource) {
  return resource.group == "apiextensions.k8s.io" && resource.kind == "CustomResourceDefinition";
}

bool established(const Json& crd) {
  const Json* status = api::member(crd, "status");
  const Json* conditions = status ? api::member(*status, "conditions") : nullptr;
  if (!conditions || !conditions->is_array()) return false;
  for (const auto& condition : *conditions)
    if (api::stringAt(condition, "type") == "Established")
      return api::stringAt(condition, "status") == "True";
  return false;
}

core::Status checkCrd(const Json& crd, const Json* old) {
  auto causes = validateCrd(crd, old);
  if (causes.empty()) return core::Ok{};
  return core::invalid("apiextensions.k8s.io", "CustomResourceDefinition", api::name(crd),
                       std::move(causes));
}

}  // namespace

core::Status CrdAdmission::loadStored(registry::Registry& registry) {
  const auto& crds = api::resource("CustomResourceDefinition");
  auto list = registry.list(crds, "");
  if (!list) return list.takeError();
  for (const auto& crd : (*list)["items"]) serve(crd);
  return core::Ok{};
}

core::Status CrdAdmission::admitCreate(const api::ResourceInfo& resource, Json& obj) {
  if (resource.custom && resource.custom->terminating)
    return core::Error{405, "MethodNotAllowed",
                       "create not allowed while custom resource definition is terminating"};
  if (!isCrd(resource)) return core::Ok{};
  defaultCrd(obj);
  if (auto s = checkCrd(obj, nullptr); !s) return s;
  Json& finalizers = obj["metadata"]["finalizers"];
  if (!finalizers.is_array()) finalizers = Json::array();
  bool present = false;
  for (const auto& f : finalizers) present = present || f == kCleanupFinalizer;
  if (!present) finalizers.push_back(kCleanupFinalizer);
  setStatus(obj, nameConflict(obj));
  return core::Ok{};
}

core::Status CrdAdmission::admitUpdate(const api::ResourceInfo& resource, const Json& old,
                                       Json& obj) {
  if (!isCrd(resource)) return core::Ok{};
  defaultCrd(obj);
  if (auto s = checkCrd(obj, &old); !s) return s;
  setStatus(obj, nameConflict(obj));
  return core::Ok{};
}

void CrdAdmission::stored(const api::ResourceInfo& resource, const Json& obj) {
  if (isCrd(resource)) serve(obj);
}

void CrdAdmission::deleted(const api::ResourceInfo& resource, const Json& old) {
  if (!isCrd(resource)) return;
  std::lock_guard lock(mutex_);
  std::string name = api::name(old);
  servedFrom_.erase(name);
  api::setCustomResources(name, {});
}

void CrdAdmission::serve(const Json& crd) {
  std::string name = api::name(crd);
  std::string from;
  if (established(crd))
    from = Json{{"uid", api::uid(crd)},
                {"spec", crd.contains("spec") ? crd["spec"] : Json()},
                {"terminating", api::isBeingDeleted(crd)}}
               .dump();
  std::lock_guard lock(mutex_);
  auto it = servedFrom_.find(name);
  if (it != servedFrom_.end() && it->second == from) return;
  if (from.empty()) {
    servedFrom_.erase(name);
    api::setCustomResources(name, {});
    return;
  }
  if (api::setCustomResources(name, servedResources(crd))) servedFrom_[name] = from;
}

}  // namespace podnet::apiextensions
