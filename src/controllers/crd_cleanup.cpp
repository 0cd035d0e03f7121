// Deleting a CustomResourceDefinition deletes its objects first, as
// apiextensions-apiserver's CRD finalizer: the CRD is marked Terminating (no
// new objects), every object of it is deleted, and then the
// customresourcecleanup finalizer goes, which removes the CRD and stops
// serving its resources.
#include "api/custom_resource.h"
#include "api/object.h"
#include "apiextensions/crd.h"
#include "controllers/runtime.h"
#include "controllers/util.h"

namespace podnet::controllers {

namespace {

using namespace std::chrono_literals;

bool hasCleanupFinalizer(const Json& crd) {
  for (const auto& finalizer : arrayAt(crd, {"metadata", "finalizers"}))
    if (finalizer == apiextensions::kCleanupFinalizer) return true;
  return false;
}

bool markedTerminating(const Json& crd) {
  for (const auto& condition : arrayAt(crd, {"status", "conditions"}))
    if (api::stringAt(condition, "type") == "Terminating") return true;
  return false;
}

class CrdCleanupController : public Controller {
 public:
  explicit CrdCleanupController(Context& context)
      : Controller("crd-cleanup", context),
        crds_(context.informers.forResource(api::resource("CustomResourceDefinition"))) {
    auto onCrd = [this](const Json& crd) {
      if (api::isBeingDeleted(crd) && hasCleanupFinalizer(crd)) enqueue(crd);
    };
    crds_.addHandlers({onCrd, [onCrd](const Json&, const Json& crd) { onCrd(crd); }, nullptr});
  }

 protected:
  core::Status sync(const std::string& key) override {
    const auto& crdResource = api::resource("CustomResourceDefinition");
    auto crd = context_.registry.get(crdResource, "", key);
    if (!crd) return crd.error().code == 404 ? core::Status(core::Ok{}) : crd.takeError();
    if (!api::isBeingDeleted(*crd) || !hasCleanupFinalizer(*crd)) return core::Ok{};

    if (!markedTerminating(*crd)) {
      Json updated = *crd;
      apiextensions::setStatus(updated, "");
      updated["metadata"].erase("resourceVersion");
      client::WriteOptions statusWrite;
      statusWrite.subresource = "status";
      auto written = context_.registry.update(crdResource, "", std::move(updated), statusWrite);
      if (!written && written.error().code != 409) return written.takeError();
    }

    // Every served version reads the same objects: one is enough.
    auto served = api::customResources(key);
    size_t remaining = 0;
    if (!served.empty()) {
      const api::ResourceInfo& resource = *served.front();
      auto items = context_.registry.list(resource, "");
      if (!items) return items.takeError();
      for (const auto& item : arrayAt(*items, {"items"})) {
        ++remaining;
        if (api::isBeingDeleted(item)) continue;  // waiting for its own finalizers
        auto removed = context_.registry.remove(resource, api::namespaceOf(item), api::name(item));
        if (!removed && removed.error().code != 404) return removed.takeError();
      }
    }
    if (remaining > 0) {
      queue_.addAfter(key, 1s);  // look again once they are gone
      return core::Ok{};
    }
    auto finalized =
        context_.registry.guaranteedUpdate(crdResource, "", key, [](Json& current) -> core::Status {
          Json kept = Json::array();
          for (const auto& f : arrayAt(current, {"metadata", "finalizers"}))
            if (f != apiextensions::kCleanupFinalizer) kept.push_back(f);
          current["metadata"]["finalizers"] = kept;
          return core::Ok{};
        });
    if (!finalized && finalized.error().code != 404) return finalized.takeError();
    return core::Ok{};
  }

 private:
  client::Informer& crds_;
};

}  // namespace

std::unique_ptr<Controller> makeCrdCleanupController(Context& context) {
  return std::make_unique<CrdCleanupController>(context);
}

}  // namespace podnet::controllers
