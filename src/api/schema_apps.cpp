// apps/v1 types (k8s.io/api/apps/v1 types.go and generated.proto, v1.32):
// Deployment, ReplicaSet, StatefulSet and DaemonSet.
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
  APPS_MESSAGE(statefulSet, "StatefulSet");
  APPS_MESSAGE(statefulSetSpec, "StatefulSetSpec");
  APPS_MESSAGE(statefulSetUpdateStrategy, "StatefulSetUpdateStrategy");
  APPS_MESSAGE(rollingUpdateStatefulSet, "RollingUpdateStatefulSetStrategy");
  APPS_MESSAGE(statefulSetRetention, "StatefulSetPersistentVolumeClaimRetentionPolicy");
  APPS_MESSAGE(statefulSetOrdinals, "StatefulSetOrdinals");
  APPS_MESSAGE(statefulSetStatus, "StatefulSetStatus");
  APPS_MESSAGE(statefulSetCondition, "StatefulSetCondition");
  APPS_MESSAGE(daemonSet, "DaemonSet");
  APPS_MESSAGE(daemonSetSpec, "DaemonSetSpec");
  APPS_MESSAGE(daemonSetUpdateStrategy, "DaemonSetUpdateStrategy");
  APPS_MESSAGE(rollingUpdateDaemonSet, "RollingUpdateDaemonSet");
  APPS_MESSAGE(daemonSetStatus, "DaemonSetStatus");
  APPS_MESSAGE(daemonSetCondition, "DaemonSetCondition");
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

  statefulSet.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, statefulSetSpec),
      F("status", 3, statefulSetStatus),
  };
  statefulSetSpec.fields = {
      F("replicas", 1, Type::Int32),
      F("selector", 2, m.labelSelector),
      F("template", 3, podTemplateSpec),
      // PersistentVolumeClaims: accepted as written (podnet has no PVC type).
      F("volumeClaimTemplates", 4, Type::Any).list().atomic(),
      F("serviceName", 5),
      F("podManagementPolicy", 6),
      F("updateStrategy", 7, statefulSetUpdateStrategy),
      F("revisionHistoryLimit", 8, Type::Int32),
      F("minReadySeconds", 9, Type::Int32),
      F("persistentVolumeClaimRetentionPolicy", 10, statefulSetRetention),
      F("ordinals", 11, statefulSetOrdinals),
  };
  statefulSetUpdateStrategy.fields = {
      F("type", 1),
      F("rollingUpdate", 2, rollingUpdateStatefulSet),
  };
  rollingUpdateStatefulSet.fields = {
      F("partition", 1, Type::Int32),
      F("maxUnavailable", 2, Type::IntOrString),
  };
  statefulSetRetention.fields = {
      F("whenDeleted", 1),
      F("whenScaled", 2),
  };
  statefulSetOrdinals.fields = {F("start", 1, Type::Int32)};
  statefulSetStatus.fields = {
      F("observedGeneration", 1, Type::Int64),
      F("replicas", 2, Type::Int32),
      F("readyReplicas", 3, Type::Int32),
      F("currentReplicas", 4, Type::Int32),
      F("updatedReplicas", 5, Type::Int32),
      F("currentRevision", 6),
      F("updateRevision", 7),
      F("collisionCount", 9, Type::Int32),
      F("conditions", 10, statefulSetCondition).list().merge("type").mapKeys({"type"}),
      F("availableReplicas", 11, Type::Int32),
  };
  statefulSetCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastTransitionTime", 3, Type::Time),
      F("reason", 4),
      F("message", 5),
  };

  daemonSet.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, daemonSetSpec),
      F("status", 3, daemonSetStatus),
  };
  daemonSetSpec.fields = {
      F("selector", 1, m.labelSelector),
      F("template", 2, podTemplateSpec),
      F("updateStrategy", 3, daemonSetUpdateStrategy),
      F("minReadySeconds", 4, Type::Int32),
      F("revisionHistoryLimit", 6, Type::Int32),
  };
  daemonSetUpdateStrategy.fields = {
      F("type", 1),
      F("rollingUpdate", 2, rollingUpdateDaemonSet),
  };
  rollingUpdateDaemonSet.fields = {
      F("maxUnavailable", 1, Type::IntOrString),
      F("maxSurge", 2, Type::IntOrString),
  };
  daemonSetStatus.fields = {
      F("currentNumberScheduled", 1, Type::Int32),
      F("numberMisscheduled", 2, Type::Int32),
      F("desiredNumberScheduled", 3, Type::Int32),
      F("numberReady", 4, Type::Int32),
      F("observedGeneration", 5, Type::Int64),
      F("updatedNumberScheduled", 6, Type::Int32),
      F("numberAvailable", 7, Type::Int32),
      F("numberUnavailable", 8, Type::Int32),
      F("collisionCount", 9, Type::Int32),
      F("conditions", 10, daemonSetCondition).list().merge("type").mapKeys({"type"}),
  };
  daemonSetCondition.fields = {
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
  out.push_back({"apps", "v1", "StatefulSet", &apps().statefulSet, true});
  out.push_back({"apps", "v1", "DaemonSet", &apps().daemonSet, true});
}

// clang-format on

}  // namespace podnet::api::schema::detail
