// The serviceaccount and root-ca-cert-publisher controllers: every active
// namespace has the ServiceAccount `default` and the ConfigMap
// kube-root-ca.crt; both come back when deleted. And the ServiceAccount
// admission check on pod creation.
#include "api/object.h"
#include "controllers/runtime.h"
#include "controllers/service_accounts.h"
#include "controllers/util.h"

namespace podnet::controllers {

namespace {

constexpr const char* kRootCaConfigMap = "kube-root-ca.crt";

class ServiceAccountController : public Controller {
 public:
  explicit ServiceAccountController(Context& context)
      : Controller("serviceaccount", context),
        namespaces_(context.informers.forResource(api::resource("Namespace"))),
        serviceAccounts_(context.informers.forResource(api::resource("ServiceAccount"))),
        configMaps_(context.informers.forResource(api::resource("ConfigMap"))) {
    auto onNamespace = [this](const Json& ns) {
      if (!api::isBeingDeleted(ns)) queue_.add(api::name(ns));
    };
    namespaces_.addHandlers(
        {onNamespace, [onNamespace](const Json&, const Json& ns) { onNamespace(ns); }, nullptr});
    serviceAccounts_.addHandlers({nullptr, nullptr, [this](const Json& sa) {
                                    if (api::name(sa) == "default")
                                      queue_.add(api::namespaceOf(sa));
                                  }});
    auto onConfigMap = [this](const Json& cm) {
      if (api::name(cm) == kRootCaConfigMap) queue_.add(api::namespaceOf(cm));
    };
    configMaps_.addHandlers(
        {nullptr, [onConfigMap](const Json&, const Json& cm) { onConfigMap(cm); }, onConfigMap});
  }

 protected:
  core::Status sync(const std::string& ns) override {
    auto namespaceObj = namespaces_.get("", ns);
    if (!namespaceObj || api::isBeingDeleted(*namespaceObj)) return core::Ok{};
    if (!serviceAccounts_.get(ns, "default")) {
      Json sa = {{"apiVersion", "v1"},
                 {"kind", "ServiceAccount"},
                 {"metadata", {{"name", "default"}, {"namespace", ns}}}};
      auto created = context_.registry.create(api::resource("ServiceAccount"), ns, sa);
      if (!created.ok() && created.error().reason != "AlreadyExists" &&
          created.error().code != 403 && created.error().code != 404)
        return created.takeError();
    }
    const std::string& ca = context_.config.rootCaPem;
    if (ca.empty()) return core::Ok{};
    Json wanted = rootCaConfigMap(ns, ca);
    auto current = configMaps_.get(ns, kRootCaConfigMap);
    if (!current) {
      auto created = context_.registry.create(api::resource("ConfigMap"), ns, wanted);
      if (!created.ok() && created.error().reason != "AlreadyExists" &&
          created.error().code != 403 && created.error().code != 404)
        return created.takeError();
    } else if (objectAt(*current, {"data"}) != wanted["data"]) {
      auto updated = context_.registry.guaranteedUpdate(
          api::resource("ConfigMap"), ns, kRootCaConfigMap, [&](Json& cm) -> core::Status {
            cm["data"] = wanted["data"];
            return core::Ok{};
          });
      if (!updated.ok() && updated.error().code != 404) return updated.takeError();
    }
    return core::Ok{};
  }

 private:
  client::Informer& namespaces_;
  client::Informer& serviceAccounts_;
  client::Informer& configMaps_;
};

}  // namespace

Json rootCaConfigMap(const std::string& ns, const std::string& caPem) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", kRootCaConfigMap},
            {"namespace", ns},
            {"annotations",
             {{"kubernetes.io/description",
               "Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or "
               "kubernetes.default.svc. No other usage is guaranteed across distributions of "
               "Kubernetes clusters."}}}}},
          {"data", {{"ca.crt", caPem}}}};
}

core::Status ServiceAccountAdmission::admitCreate(const api::ResourceInfo& resource,
                                                  api::Json& obj) {
  if (resource.kind != "Pod") return core::Ok{};
  std::string name = stringAt(obj, {"spec", "serviceAccountName"});
  if (name.empty() || name == "default") return core::Ok{};
  std::string ns = api::namespaceOf(obj);
  auto sa = api_.get(api::resource("ServiceAccount"), ns, name);
  if (sa.ok()) return core::Ok{};
  if (sa.error().code != 404) return sa.takeError();
  return core::Error{403, "Forbidden",
                     "pods \"" + api::name(obj) + "\" is forbidden: error looking up service " +
                         "account " + ns + "/" + name + ": serviceaccount \"" + name +
                         "\" not found"};
}

std::unique_ptr<Controller> makeServiceAccountController(Context& context) {
  return std::make_unique<ServiceAccountController>(context);
}

}  // namespace podnet::controllers
