// The serviceaccount and root-ca-cert-publisher controllers: every active
// namespace has the ServiceAccount `default` and the ConfigMap
// kube-root-ca.crt; both come back when deleted. And the ServiceAccount
// admission check on pod creation.
#include <random>

#include "api/object.h"
#include "controllers/runtime.h"
#include "controllers/service_accounts.h"
#include "controllers/util.h"

namespace podnet::controllers {

namespace {

constexpr const char* kRootCaConfigMap = "kube-root-ca.crt";
constexpr const char* kServiceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

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

namespace {

// utilrand.String's alphabet: no vowels (no words), no look-alikes.
std::string randomSuffix(size_t length) {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::random_device device;
  std::string out;
  for (size_t i = 0; i < length; ++i) out += alphabet[device() % (sizeof alphabet - 1)];
  return out;
}

// The token, the cluster CA and the namespace at
// /var/run/secrets/kubernetes.io/serviceaccount of every container, as the
// upstream plugin mounts them (volume kube-api-access-xxxxx).
void mountServiceAccountToken(Json& pod) {
  Json& spec = pod["spec"];
  auto mountedIn = [](const Json& container) {
    if (container.contains("volumeMounts") && container["volumeMounts"].is_array())
      for (const Json& mount : container["volumeMounts"])
        if (mount.is_object() && mount.value("mountPath", "") == kServiceAccountMountPath)
          return true;
    return false;
  };
  std::string volumeName = "kube-api-access-" + randomSuffix(5);
  bool added = false;
  for (const char* list : {"initContainers", "containers"}) {
    if (!spec.contains(list) || !spec[list].is_array()) continue;
    for (Json& container : spec[list]) {
      if (!container.is_object() || mountedIn(container)) continue;
      if (!container.contains("volumeMounts") || !container["volumeMounts"].is_array())
        container["volumeMounts"] = Json::array();
      container["volumeMounts"].push_back(
          {{"name", volumeName}, {"readOnly", true}, {"mountPath", kServiceAccountMountPath}});
      added = true;
    }
  }
  if (!added) return;
  if (!spec.contains("volumes") || !spec["volumes"].is_array()) spec["volumes"] = Json::array();
  spec["volumes"].push_back(
      {{"name", volumeName},
       {"projected",
        {{"defaultMode", 420},
         {"sources",
          Json::array(
              {{{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}},
               {{"configMap",
                 {{"name", kRootCaConfigMap},
                  {"items", Json::array({{{"key", "ca.crt"}, {"path", "ca.crt"}}})}}}},
               {{"downwardAPI",
                 {{"items", Json::array({{{"path", "namespace"},
                                          {"fieldRef",
                                           {{"apiVersion", "v1"},
                                            {"fieldPath", "metadata.namespace"}}}}})}}}}})}}}});
}

}  // namespace

core::Status ServiceAccountAdmission::admitCreate(const api::ResourceInfo& resource,
                                                  api::Json& obj) {
  if (resource.kind != "Pod") return core::Ok{};
  std::string name = stringAt(obj, {"spec", "serviceAccountName"});
  if (name.empty()) name = "default";
  std::string ns = api::namespaceOf(obj);
  auto sa = api_.get(api::resource("ServiceAccount"), ns, name);
  if (!sa.ok()) {
    if (sa.error().code != 404) return sa.takeError();
    // A missing `default` is let through: its controller makes it shortly.
    if (name != "default")
      return core::Error{403, "Forbidden",
                         "pods \"" + api::name(obj) + "\" is forbidden: error looking up service " +
                             "account " + ns + "/" + name + ": serviceaccount \"" + name +
                             "\" not found"};
  }
  // The pod's own setting wins over its ServiceAccount's; mirror pods get none.
  bool automount = true;
  if (sa.ok() && (*sa).contains("automountServiceAccountToken") &&
      (*sa)["automountServiceAccountToken"].is_boolean())
    automount = (*sa)["automountServiceAccountToken"].get<bool>();
  const Json& spec = obj.value("spec", Json::object());
  if (spec.contains("automountServiceAccountToken") &&
      spec["automountServiceAccountToken"].is_boolean())
    automount = spec["automountServiceAccountToken"].get<bool>();
  if (!stringAt(obj, {"metadata", "annotations", "kubernetes.io/config.mirror"}).empty())
    automount = false;
  if (automount && obj.contains("spec") && obj["spec"].is_object()) mountServiceAccountToken(obj);
  return core::Ok{};
}

std::unique_ptr<Controller> makeServiceAccountController(Context& context) {
  return std::make_unique<ServiceAccountController>(context);
}

}  // namespace podnet::controllers
