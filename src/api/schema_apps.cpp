// apps/v1 types (k8s.io/api/apps/v1 types.go and generated.proto, v1.32):
// Deployment and ReplicaSet.
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace {

#define APPS_MESSAGE(member, name) Message member{"io.k8s.api.apps.v1." name, {}}

struct AppsTypes {
  APPS_MESSAGE(deployment, "Deployment");
  APPS_MESSAGE(deploymentSpec, "DeploymentSpec");
  APPS_MESSAGE(deploymentStrategy, "DeploymentStrategy");
  APPS_MESSAGE(rollingUpdateDeployment, "RollingUpdateDeployment");
  APPS_MESSAGE(deploymentStatus, "DeploymentStatus");
  APPS_MESSAGE(deploymentCondition, "DeploymentCondition");
  APPS_MESSAGE(replicaSet, "ReplicaSet");
  APPS_MESSAGE(replicaSetSpec, "ReplicaSetSpec");
  APPS_MESSAGE(replicaSetStatus, "ReplicaSetStatus");
  APPS_MESSAGE(replicaSetCondition, "ReplicaSetCondition");
  AppsTypes();
};

#undef APPS_MESSAGE

AppsTypes::AppsTypes() {
  const MetaTypes& m = meta();
  const Message& podTemplateSpec = *coreShared().podTemplateSpec;
  deployment.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, deploymentSpec),
      F("status", 3, deploymentStatus),
  };
  deploymentSpec.fields = {
      F("replicas", 1, Type::Int32),
      F("selector", 2, m.labelSelector),
      F("template", 3, podTemplateSpec),
      F("strategy", 4, deploymentStrategy).strategy("retainKeys"),
      F("minReadySeconds", 5, Type::Int32),
      F("revisionHistoryLimit", 6, Type::Int32),
      F("paused", 7, Type::Bool),
      F("progressDeadlineSeconds", 9, Type::Int32),
  };
  deploymentStrategy.fields = {
      F("type", 1),
      F("rollingUpdate", 2, rollingUpdateDeployment),
  };
  rollingUpdateDeployment.fields = {
      F("maxUnavailable", 1, Type::IntOrString),
      F("maxSurge", 2, Type::IntOrString),
  };
  deploymentStatus.fields = {
      F("observedGeneration", 1, Type::Int64),
      F("replicas", 2, Type::Int32),
      F("updatedReplicas", 3, Type::Int32),
      F("readyReplicas", 7, Type::Int32),
      F("availableReplicas", 4, Type::Int32),
      F("unavailableReplicas", 5, Type::Int32),
      F("conditions", 6, deploymentCondition).list().merge("type").mapKeys({"type"}),
      F("collisionCount", 8, Type::Int32),
  };
  deploymentCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastUpdateTime", 6, Type::Time),
      F("lastTransitionTime", 7, Type::Time),
      F("reason", 4),
      F("message", 5),
  };

  replicaSet.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, replicaSetSpec),
      F("status", 3, replicaSetStatus),
  };
  replicaSetSpec.fields = {
      F("replicas", 1, Type::Int32),
      F("minReadySeconds", 4, Type::Int32),
      F("selector", 2, m.labelSelector),
      F("template", 3, podTemplateSpec),
  };
  replicaSetStatus.fields = {
      F("replicas", 1, Type::Int32),
      F("fullyLabeledReplicas", 2, Type::Int32),
      F("readyReplicas", 4, Type::Int32),
      F("availableReplicas", 5, Type::Int32),
      F("observedGeneration", 3, Type::Int64),
      F("conditions", 6, replicaSetCondition).list().merge("type").mapKeys({"type"}),
  };
  replicaSetCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastTransitionTime", 3, Type::Time),
      F("reason", 4),
      F("message", 5),
  };
}

const AppsTypes& apps() {
  static const AppsTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

}  // namespace

void appsKinds(std::vector<KindSchema>& out) {
  out.push_back({"apps", "v1", "Deployment", &apps().deployment, true});
  out.push_back({"apps", "v1", "ReplicaSet", &apps().replicaSet, true});
}

// clang-format on

}  // namespace podnet::api::schema::detail
