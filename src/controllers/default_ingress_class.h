// The DefaultIngressClass admission plugin: an Ingress created without
// spec.ingressClassName (and without the legacy kubernetes.io/ingress.class
// annotation) gets the default IngressClass's name, the one annotated
// ingressclass.kubernetes.io/is-default-class: "true" (the newest when
// several are), so `kubectl get ingress` shows its CLASS as upstream does.
#pragma once

#include "registry/registry.h"

namespace podnet::controllers {

class DefaultIngressClass : public registry::AdmissionHook {
 public:
  explicit DefaultIngressClass(client::Client& api) : api_(api) {}
  core::Status admitCreate(const api::ResourceInfo& resource, api::Json& obj) override;

 private:
  client::Client& api_;
};

}  // namespace podnet::controllers
