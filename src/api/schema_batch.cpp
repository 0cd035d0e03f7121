// batch/v1 types (k8s.io/api/batch/v1 types.go and generated.proto, v1.32):
// Job and CronJob; and authentication.k8s.io/v1 TokenRequest, the body of
// the serviceaccounts/token subresource (an envelope type, not served).
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace {

#define BATCH_MESSAGE(member, name) Message member{"io.k8s.api.batch.v1." name, {}}
#define AUTHN_MESSAGE(member, name) Message member{"io.k8s.api.authentication.v1." name, {}}

struct BatchTypes {
  BATCH_MESSAGE(job, "Job");
  BATCH_MESSAGE(jobSpec, "JobSpec");
  BATCH_MESSAGE(jobStatus, "JobStatus");
  BATCH_MESSAGE(jobCondition, "JobCondition");
  BATCH_MESSAGE(uncountedTerminatedPods, "UncountedTerminatedPods");
  BATCH_MESSAGE(podFailurePolicy, "PodFailurePolicy");
  BATCH_MESSAGE(podFailurePolicyRule, "PodFailurePolicyRule");
  BATCH_MESSAGE(podFailurePolicyOnExitCodes, "PodFailurePolicyOnExitCodesRequirement");
  BATCH_MESSAGE(podFailurePolicyOnPodConditions, "PodFailurePolicyOnPodConditionsPattern");
  BATCH_MESSAGE(successPolicy, "SuccessPolicy");
  BATCH_MESSAGE(successPolicyRule, "SuccessPolicyRule");
  BATCH_MESSAGE(cronJob, "CronJob");
  BATCH_MESSAGE(cronJobSpec, "CronJobSpec");
  BATCH_MESSAGE(cronJobStatus, "CronJobStatus");
  BATCH_MESSAGE(jobTemplateSpec, "JobTemplateSpec");
  AUTHN_MESSAGE(tokenRequest, "TokenRequest");
  AUTHN_MESSAGE(tokenRequestSpec, "TokenRequestSpec");
  AUTHN_MESSAGE(tokenRequestStatus, "TokenRequestStatus");
  AUTHN_MESSAGE(boundObjectReference, "BoundObjectReference");
  BatchTypes();
};

#undef BATCH_MESSAGE
#undef AUTHN_MESSAGE

BatchTypes::BatchTypes() {
  const MetaTypes& m = meta();
  const Message& podTemplateSpec = *coreShared().podTemplateSpec;
  const Message& objectReference = *coreShared().objectReference;
  job.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, jobSpec),
      F("status", 3, jobStatus),
  };
  jobSpec.fields = {
      F("parallelism", 1, Type::Int32),
      F("completions", 2, Type::Int32),
      F("activeDeadlineSeconds", 3, Type::Int64),
      F("podFailurePolicy", 11, podFailurePolicy),
      F("successPolicy", 16, successPolicy),
      F("backoffLimit", 7, Type::Int32),
      F("backoffLimitPerIndex", 12, Type::Int32),
      F("maxFailedIndexes", 13, Type::Int32),
      F("selector", 4, m.labelSelector),
      F("manualSelector", 5, Type::Bool),
      F("template", 6, podTemplateSpec),
      F("ttlSecondsAfterFinished", 8, Type::Int32),
      F("completionMode", 9),
      F("suspend", 10, Type::Bool),
      F("podReplacementPolicy", 14),
      F("managedBy", 15),
  };
  jobStatus.fields = {
      F("conditions", 1, jobCondition).list().merge("type").atomic(),
      F("startTime", 2, Type::Time),
      F("completionTime", 3, Type::Time),
      F("active", 4, Type::Int32),
      F("succeeded", 5, Type::Int32),
      F("failed", 6, Type::Int32),
      F("terminating", 11, Type::Int32),
      F("completedIndexes", 7),
      F("failedIndexes", 10),
      F("uncountedTerminatedPods", 8, uncountedTerminatedPods),
      F("ready", 9, Type::Int32),
  };
  jobCondition.fields = {
      F("type", 1),
      F("status", 2),
      F("lastProbeTime", 3, Type::Time),
      F("lastTransitionTime", 4, Type::Time),
      F("reason", 5),
      F("message", 6),
  };
  uncountedTerminatedPods.fields = {
      F("succeeded", 1).list().set(),
      F("failed", 2).list().set(),
  };
  podFailurePolicy.fields = {F("rules", 1, podFailurePolicyRule).list().atomic()};
  podFailurePolicyRule.fields = {
      F("action", 1),
      F("onExitCodes", 2, podFailurePolicyOnExitCodes),
      F("onPodConditions", 3, podFailurePolicyOnPodConditions).list().atomic(),
  };
  podFailurePolicyOnExitCodes.fields = {
      F("containerName", 1),
      F("operator", 2),
      F("values", 3, Type::Int32).list().set(),
  };
  podFailurePolicyOnPodConditions.fields = {
      F("type", 1),
      F("status", 2),
  };
  successPolicy.fields = {F("rules", 1, successPolicyRule).list().atomic()};
  successPolicyRule.fields = {
      F("succeededIndexes", 1),
      F("succeededCount", 2, Type::Int32),
  };

  cronJob.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, cronJobSpec),
      F("status", 3, cronJobStatus),
  };
  cronJobSpec.fields = {
      F("schedule", 1),
      F("timeZone", 8),
      F("startingDeadlineSeconds", 2, Type::Int64),
      F("concurrencyPolicy", 3),
      F("suspend", 4, Type::Bool),
      F("jobTemplate", 5, jobTemplateSpec),
      F("successfulJobsHistoryLimit", 6, Type::Int32),
      F("failedJobsHistoryLimit", 7, Type::Int32),
  };
  cronJobStatus.fields = {
      F("active", 1, objectReference).list().atomic(),
      F("lastScheduleTime", 4, Type::Time),
      F("lastSuccessfulTime", 5, Type::Time),
  };
  jobTemplateSpec.fields = {
      F("metadata", 1, m.objectMeta),
      F("spec", 2, jobSpec),
  };

  tokenRequest.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, tokenRequestSpec),
      F("status", 3, tokenRequestStatus),
  };
  tokenRequestSpec.fields = {
      F("audiences", 1).list().atomic(),
      F("expirationSeconds", 4, Type::Int64),
      F("boundObjectRef", 3, boundObjectReference),
  };
  tokenRequestStatus.fields = {
      F("token", 1),
      F("expirationTimestamp", 2, Type::Time),
  };
  boundObjectReference.fields = {
      F("kind", 1),
      F("apiVersion", 2),
      F("name", 3),
      F("uid", 4),
  };
}

const BatchTypes& batch() {
  static const BatchTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

}  // namespace

void batchKinds(std::vector<KindSchema>& out) {
  out.push_back({"batch", "v1", "Job", &batch().job, true});
  out.push_back({"batch", "v1", "CronJob", &batch().cronJob, true});
}

void tokenRequestKind(std::vector<KindSchema>& out) {
  out.push_back({"authentication.k8s.io", "v1", "TokenRequest", &batch().tokenRequest, false});
}

// clang-format on

}  // namespace podnet::api::schema::detail
