#include "controllers/default_ingress_class.h"

#include "api/resource.h"

namespace podnet::controllers {

core::Status DefaultIngressClass::admitCreate(const api::ResourceInfo& resource, api::Json& obj) {
  if (resource.kind != "Ingress" || resource.group != "networking.k8s.io") return core::Ok{};
  if (!obj.contains("spec") || !obj["spec"].is_object()) return core::Ok{};
  api::Json& spec = obj["spec"];
  if (spec.contains("ingressClassName") && !spec["ingressClassName"].is_null()) return core::Ok{};
  const api::Json& meta = obj.value("metadata", api::Json::object());
  if (meta.contains("annotations") && meta["annotations"].is_object() &&
      meta["annotations"].contains("kubernetes.io/ingress.class"))
    return core::Ok{};
  auto classes = api_.list(api::resource("IngressClass"), "");
  if (!classes) return core::Ok{};  // no default known: the Ingress stays classless
  std::string chosen, chosenCreated;
  for (const api::Json& c : classes->value("items", api::Json::array())) {
    const api::Json& m = c.value("metadata", api::Json::object());
    const api::Json& a = m.value("annotations", api::Json::object());
    if (!a.is_object() || a.value("ingressclass.kubernetes.io/is-default-class", "") != "true")
      continue;
    std::string created = m.value("creationTimestamp", "");
    if (chosen.empty() || created > chosenCreated) {
      chosen = m.value("name", "");
      chosenCreated = created;
    }
  }
  if (!chosen.empty()) spec["ingressClassName"] = chosen;
  return core::Ok{};
}

}  // namespace podnet::controllers
