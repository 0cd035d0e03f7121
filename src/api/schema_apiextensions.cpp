// apiextensions.k8s.io/v1 CustomResourceDefinition (k8s.io/apiextensions-
// apiserver types.go and generated.proto, v1.32) and the admissionregistration
// .k8s.io/v1 ValidatingAdmissionPolicy kinds podnet stores without enforcing.
// A CRD's openAPIV3Schema is free-form here: apiextensions/ compiles it.
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// clang-format off

namespace {

#define CRD_MESSAGE(member, name) \
  Message member{"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1." name, {}}

struct ApiextensionsTypes {
  CRD_MESSAGE(crd, "CustomResourceDefinition");
  CRD_MESSAGE(spec, "CustomResourceDefinitionSpec");
  CRD_MESSAGE(names, "CustomResourceDefinitionNames");
  CRD_MESSAGE(version, "CustomResourceDefinitionVersion");
  CRD_MESSAGE(validation, "CustomResourceValidation");
  CRD_MESSAGE(subresources, "CustomResourceSubresources");
  CRD_MESSAGE(scale, "CustomResourceSubresourceScale");
  CRD_MESSAGE(column, "CustomResourceColumnDefinition");
  CRD_MESSAGE(conversion, "CustomResourceConversion");
  CRD_MESSAGE(status, "CustomResourceDefinitionStatus");
  CRD_MESSAGE(condition, "CustomResourceDefinitionCondition");
  Message policy{"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy", {}};
  Message binding{"io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding", {}};
  ApiextensionsTypes();
};

#undef CRD_MESSAGE

ApiextensionsTypes::ApiextensionsTypes() {
  const MetaTypes& m = meta();
  crd.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, spec),
      F("status", 3, status),
  };
  spec.fields = {
      F("group", 1),
      F("names", 3, names),
      F("scope", 4),
      F("versions", 7, version).list().atomic(),
      F("conversion", 9, conversion),
      F("preserveUnknownFields", 10, Type::Bool),
  };
  names.fields = {
      F("plural", 1),
      F("singular", 2),
      F("shortNames", 3).list().atomic(),
      F("kind", 4),
      F("listKind", 5),
      F("categories", 6).list().atomic(),
  };
  version.fields = {
      F("name", 1),
      F("served", 2, Type::Bool),
      F("storage", 3, Type::Bool),
      F("schema", 4, validation),
      F("subresources", 5, subresources),
      F("additionalPrinterColumns", 6, column).list().atomic(),
      F("deprecated", 7, Type::Bool),
      F("deprecationWarning", 8),
      F("selectableFields", 9, Type::Any).list().atomic(),
  };
  validation.fields = {F("openAPIV3Schema", 1, Type::Any)};
  subresources.fields = {
      F("status", 1, Type::Any),
      F("scale", 2, scale),
  };
  scale.fields = {
      F("specReplicasPath", 1),
      F("statusReplicasPath", 2),
      F("labelSelectorPath", 3),
  };
  column.fields = {
      F("name", 1),
      F("type", 2),
      F("format", 3),
      F("description", 4),
      F("priority", 5, Type::Int32),
      F("jsonPath", 6),
  };
  conversion.fields = {
      F("strategy", 1),
      F("webhook", 2, Type::Any),
  };
  status.fields = {
      F("conditions", 1, condition).list().mapKeys({"type"}),
      F("acceptedNames", 2, names),
      F("storedVersions", 3).list().atomic(),
  };
  condition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastTransitionTime", 3, Type::Time),
      F("reason", 4),
      F("message", 5),
      F("observedGeneration", 6, Type::Int64),
  };
  policy.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, Type::Any),
      F("status", 3, Type::Any),
  };
  binding.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, Type::Any),
  };
}

const ApiextensionsTypes& apiextensions() {
  static const ApiextensionsTypes types;
  return types;
}

}  // namespace

void apiextensionsKinds(std::vector<KindSchema>& out) {
  const ApiextensionsTypes& t = apiextensions();
  out.push_back({"apiextensions.k8s.io", "v1", "CustomResourceDefinition", &t.crd, true});
  out.push_back({"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", &t.policy, true});
  out.push_back(
      {"admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", &t.binding, true});
}

// clang-format on

}  // namespace podnet::api::schema::detail
