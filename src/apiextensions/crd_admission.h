// The API server's side of CustomResourceDefinitions: a registry admission
// hook that defaults and validates every CRD write, sets its status, and
// keeps the served custom resources (api::setCustomResources) in step with
// the stored CRDs, before the write is answered, so the next request (a
// kubectl apply of the CRD's objects, discovery) already sees the new type.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "registry/registry.h"

namespace podnet::apiextensions {

class CrdAdmission : public registry::AdmissionHook {
 public:
  // Serves the CRDs already in the store (at server start).
  core::Status loadStored(registry::Registry& registry);

  core::Status admitCreate(const api::ResourceInfo& resource, api::Json& obj) override;
  core::Status admitUpdate(const api::ResourceInfo& resource, const api::Json& old,
                           api::Json& obj) override;
  void stored(const api::ResourceInfo& resource, const api::Json& obj) override;
  void deleted(const api::ResourceInfo& resource, const api::Json& old) override;

 private:
  void serve(const api::Json& crd);

  std::mutex mutex_;
  // What each served CRD was registered from, so re-applying an unchanged
  // CRD (or writing only its status) keeps the registered resources.
  std::map<std::string, std::string> servedFrom_;
};

}  // namespace podnet::apiextensions
