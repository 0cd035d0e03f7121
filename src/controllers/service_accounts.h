// ServiceAccounts as kube-controller-manager and kube-apiserver keep them:
// the `default` ServiceAccount and the kube-root-ca.crt ConfigMap (the
// cluster CA) in every namespace (controllers), and the ServiceAccount
// admission plugin: a pod naming a ServiceAccount that does not exist is
// refused with 403 (pods default to `default`, see api/defaults.h; a missing
// `default` is let through, so pods created right after their namespace
// never fail). Unless automountServiceAccountToken is false (on the pod, else
// its ServiceAccount), the plugin adds the projected volume
// kube-api-access-xxxxx (a bound token of 3607 s, ca.crt from
// kube-root-ca.crt, the namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container; the
// agent writes and renews its files (agent/pod_volumes.h).
#pragma once

#include "registry/registry.h"

namespace podnet::controllers {

class ServiceAccountAdmission : public registry::AdmissionHook {
 public:
  explicit ServiceAccountAdmission(client::Client& api) : api_(api) {}
  core::Status admitCreate(const api::ResourceInfo& resource, api::Json& obj) override;

 private:
  client::Client& api_;
};

// The ConfigMap every namespace gets: data ca.crt = `caPem`.
api::Json rootCaConfigMap(const std::string& ns, const std::string& caPem);

}  // namespace podnet::controllers
