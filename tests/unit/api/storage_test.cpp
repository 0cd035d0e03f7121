// The storage kinds: resource.Quantity as apimachinery parses and prints it,
// then PersistentVolumeClaim, PersistentVolume and StorageClass defaulting
// and validation with kube-apiserver 1.32's field paths and messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/quantity.h"
#include "api/schema.h"
#include "test_util.h"

namespace podnet::api {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using testing::errorsOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::printed;
using testing::yaml;

const char* const kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

// ---------------------------------------------------------------------------
// Quantity.

std::string canonical(std::string_view text) {
  auto q = Quantity::parse(text);
  return q ? q->toString() : "<error>";
}

TEST(Quantity, CanonicalTextAsUpstreamPrintsIt) {
  EXPECT_EQ(canonical("1Gi"), "1Gi");
  EXPECT_EQ(canonical("1024Mi"), "1Gi");
  EXPECT_EQ(canonical("1.5Gi"), "1536Mi");
  EXPECT_EQ(canonical("1000M"), "1G");
  EXPECT_EQ(canonical("100M"), "100M");
  EXPECT_EQ(canonical("1500m"), "1500m");  // already canonical: the text is kept
  EXPECT_EQ(canonical("1.5"), "1500m");
  EXPECT_EQ(canonical("0.5"), "500m");
  EXPECT_EQ(canonical("0"), "0");
  EXPECT_EQ(canonical("0Gi"), "0");
  EXPECT_EQ(canonical("-0"), "0");
  EXPECT_EQ(canonical("1e3"), "1e3");
  EXPECT_EQ(canonical("1000e3"), "1e6");
  EXPECT_EQ(canonical("512"), "512");
  EXPECT_EQ(canonical("1073741824"), "1073741824");
  EXPECT_EQ(canonical("8Gi"), "8Gi");
  EXPECT_EQ(canonical("2048Ki"), "2Mi");
  EXPECT_EQ(canonical("100Ki"), "100Ki");
  EXPECT_EQ(canonical("0.5Ki"), "512");  // below 1024: printed as decimal
  EXPECT_EQ(canonical("-1Gi"), "-1Gi");
  EXPECT_EQ(canonical("+1Gi"), "+1Gi");  // ParseQuantity keeps canonical-looking input as is
  EXPECT_EQ(canonical("0.1n"), "1n");    // rounded up to nano
  EXPECT_EQ(canonical("1E"), "1E");
  EXPECT_EQ(canonical("1Ei"), "1Ei");
}

TEST(Quantity, RefusesWhatParseQuantityRefuses) {
  std::string error;
  EXPECT_FALSE(Quantity::parse("1Gx", &error));
  EXPECT_EQ(error, kQuantityFormatError);
  EXPECT_EQ(error,
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
  EXPECT_FALSE(Quantity::parse("", &error));
  EXPECT_FALSE(Quantity::parse("abc", &error));
  EXPECT_EQ(error, kQuantityFormatError);
  EXPECT_FALSE(Quantity::parse("1GG", &error));
  EXPECT_EQ(error, "unable to parse quantity's suffix");
  EXPECT_FALSE(Quantity::parse("1e", &error));
  EXPECT_FALSE(Quantity::fromJson(Json::array()));
  EXPECT_TRUE(Quantity::fromJson(Json(5)));
  EXPECT_EQ(Quantity::fromJson(Json(5))->toString(), "5");
}

TEST(Quantity, ComparesByValue) {
  auto q = [](const char* text) { return *Quantity::parse(text); };
  EXPECT_EQ(q("1Gi").compare(q("1073741824")), 0);
  EXPECT_EQ(q("1Gi").compare(q("1024Mi")), 0);
  EXPECT_LT(q("1G").compare(q("1Gi")), 0);
  EXPECT_GT(q("2Gi").compare(q("1Gi")), 0);
  EXPECT_LT(q("-1").compare(q("0")), 0);
  EXPECT_LT(q("1n").compare(q("1e100")), 0);
  EXPECT_GT(q("1e100").compare(q("999999999999999999999999999")), 0);
  EXPECT_EQ(q("0").sign(), 0);
  EXPECT_EQ(q("-5m").sign(), -1);
  EXPECT_EQ(q("1.5").value(), 2);
  EXPECT_EQ(q("-1.5").value(), -2);
  EXPECT_EQ(q("1Gi").value(), 1073741824);
}

// ---------------------------------------------------------------------------
// Schemas.

TEST(StorageSchema, UpstreamFieldNumbers) {
  const auto* pvc = schema::forKind("v1", "PersistentVolumeClaim");
  ASSERT_NE(pvc, nullptr);
  const auto* spec = pvc->field("spec")->message;
  EXPECT_EQ(spec->field("accessModes")->proto, 1);
  EXPECT_EQ(spec->field("resources")->proto, 2);
  EXPECT_EQ(spec->field("volumeName")->proto, 3);
  EXPECT_EQ(spec->field("selector")->proto, 4);
  EXPECT_EQ(spec->field("storageClassName")->proto, 5);
  EXPECT_EQ(spec->field("dataSourceRef")->message->field("namespace")->proto, 4);
  EXPECT_EQ(spec->field("volumeAttributesClassName")->proto, 9);
  EXPECT_EQ(pvc->field("status")->message->field("modifyVolumeStatus")->proto, 9);

  const auto* pv = schema::forKind("v1", "PersistentVolume");
  ASSERT_NE(pv, nullptr);
  const auto* pvSpec = pv->field("spec")->message;
  // The volume source is an inlined member (protobuf field 2).
  EXPECT_EQ(pvSpec->fieldByProto(2)->inlined, true);
  EXPECT_EQ(pvSpec->field("local")->proto, 20);
  EXPECT_EQ(pvSpec->field("csi")->proto, 22);
  EXPECT_EQ(pvSpec->field("claimRef")->proto, 4);
  EXPECT_EQ(pvSpec->field("nodeAffinity")->message->field("required")->message->name,
            "io.k8s.api.core.v1.NodeSelector");
  EXPECT_EQ(pv->field("status")->message->field("lastPhaseTransitionTime")->type,
            schema::Type::Time);

  const auto* sc = schema::forKind("storage.k8s.io/v1", "StorageClass");
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->field("provisioner")->proto, 2);
  EXPECT_EQ(sc->field("volumeBindingMode")->proto, 7);
  EXPECT_EQ(sc->field("allowedTopologies")->proto, 8);
}

// ---------------------------------------------------------------------------
// Defaults.

Json defaulted(std::string_view kind, Json obj) {
  applyDefaults(resource(kind), obj);
  return obj;
}

TEST(StorageDefaults, PersistentVolumeClaim) {
  Json pvc = defaulted("PersistentVolumeClaim",
                       yaml("metadata: {name: data, namespace: default}\n"
                            "spec: {accessModes: [ReadWriteOnce], "
                            "resources: {requests: {storage: 1.5Gi}}, "
                            "dataSource: {kind: PersistentVolumeClaim, name: src}}"));
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pvc["status"]["phase"], "Pending");
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], "1536Mi");
  // dataSource and dataSourceRef mirror each other.
  EXPECT_EQ(pvc["spec"]["dataSourceRef"], yaml("{kind: PersistentVolumeClaim, name: src}"));
  EXPECT_EQ(defaulted("PersistentVolumeClaim", pvc), pvc);  // idempotent

  // dataSourceRef.namespace needs the CrossNamespaceVolumeDataSource gate (off).
  Json crossNamespace = defaulted(
      "PersistentVolumeClaim",
      yaml("spec: {dataSourceRef: {kind: PersistentVolumeClaim, name: src, namespace: other}}"));
  EXPECT_EQ(crossNamespace["spec"]["dataSourceRef"],
            yaml("{kind: PersistentVolumeClaim, name: src}"));
  EXPECT_EQ(crossNamespace["spec"]["dataSource"], yaml("{kind: PersistentVolumeClaim, name: src}"));

  Json block = defaulted("PersistentVolumeClaim", yaml("spec: {volumeMode: Block}"));
  EXPECT_EQ(block["spec"]["volumeMode"], "Block");
  // A data source of a kind no populator handles is dropped, as upstream does.
  Json other = defaulted("PersistentVolumeClaim",
                         yaml("spec: {dataSource: {apiGroup: x.io, kind: Bucket, name: b}}"));
  EXPECT_FALSE(other["spec"].contains("dataSource"));
  EXPECT_FALSE(other["spec"].contains("dataSourceRef"));
}

TEST(StorageDefaults, PersistentVolume) {
  Json pv = defaulted("PersistentVolume", yaml("metadata: {name: pv1}\n"
                                               "spec: {capacity: {storage: 1024Mi}, "
                                               "hostPath: {path: /data}}"));
  EXPECT_EQ(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
  EXPECT_EQ(pv["spec"]["volumeMode"], "Filesystem");
  EXPECT_EQ(pv["spec"]["hostPath"]["type"], "");
  EXPECT_EQ(pv["spec"]["capacity"]["storage"], "1Gi");
  EXPECT_EQ(pv["status"]["phase"], "Pending");
}

TEST(StorageDefaults, StorageClass) {
  Json sc = defaulted("StorageClass", yaml("metadata: {name: fast}\nprovisioner: x.io/y"));
  EXPECT_EQ(sc["reclaimPolicy"], "Delete");
  EXPECT_EQ(sc["volumeBindingMode"], "Immediate");
  Json kept = defaulted("StorageClass", yaml("metadata: {name: fast}\nprovisioner: x.io/y\n"
                                             "reclaimPolicy: Retain\n"
                                             "volumeBindingMode: WaitForFirstConsumer"));
  EXPECT_EQ(kept["reclaimPolicy"], "Retain");
  EXPECT_EQ(kept["volumeBindingMode"], "WaitForFirstConsumer");
}

// ---------------------------------------------------------------------------
// PersistentVolumeClaim.

Json claim(std::string_view spec) {
  return yaml("metadata: {name: data, namespace: default}\nspec: " + std::string(spec));
}

TEST(PersistentVolumeClaimValidation, Valid) {
  EXPECT_THAT(errorsOf("PersistentVolumeClaim",
                       claim("{accessModes: [ReadWriteOnce], storageClassName: standard, "
                             "resources: {requests: {storage: 1Gi}}}")),
              IsEmpty());
  EXPECT_THAT(errorsOf("PersistentVolumeClaim",
                       claim("{accessModes: [ReadWriteOncePod], storageClassName: \"\", "
                             "volumeMode: Block, selector: {matchLabels: {disk: ssd}}, "
                             "resources: {requests: {storage: 10G}, limits: {storage: 20G}}}")),
              IsEmpty());
}

TEST(PersistentVolumeClaimValidation, AccessModes) {
  EXPECT_THAT(errorsOf("PersistentVolumeClaim", claim("{resources: {requests: {storage: 1Gi}}}")),
              ElementsAre("spec.accessModes: Required value: at least 1 access mode is required"));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim("{accessModes: [ReadWriteSometimes], resources: {requests: {storage: 1Gi}}}")),
      ElementsAre("spec.accessModes: Unsupported value: \"ReadWriteSometimes\": supported values: "
                  "\"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\""));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim", claim("{accessModes: [ReadWriteOncePod, ReadOnlyMany], "
                                              "resources: {requests: {storage: 1Gi}}}")),
      ElementsAre("spec.accessModes: Forbidden: may not use ReadWriteOncePod with other "
                  "access modes"));
}

TEST(PersistentVolumeClaimValidation, StorageRequest) {
  EXPECT_THAT(errorsOf("PersistentVolumeClaim", claim("{accessModes: [ReadWriteOnce]}")),
              ElementsAre("spec.resources[storage]: Required value"));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim("{accessModes: [ReadWriteOnce], resources: {requests: {storage: 0}}}")),
      ElementsAre("spec.resources[storage]: Invalid value: \"0\": must be greater than zero"));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim("{accessModes: [ReadWriteOnce], resources: {requests: {storage: -1Gi}}}")),
      ElementsAre("spec.resources[storage]: Invalid value: \"-1Gi\": must be greater than zero"));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim("{accessModes: [ReadWriteOnce], resources: {requests: {storage: lots}}}")),
      ElementsAre(std::string("spec.resources.requests[storage]: Invalid value: \"lots\": ") +
                  kQuantityFormatError));
}

TEST(PersistentVolumeClaimValidation, ClassModeAndDataSources) {
  const char* base = "accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}";
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim(std::string("{") + base + ", storageClassName: Fast}")),
      ElementsAre(std::string("spec.storageClassName: Invalid value: \"Fast\": ") + kSubdomainMsg));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim", claim(std::string("{") + base + ", volumeMode: Raw}")),
      ElementsAre("spec.volumeMode: Unsupported value: \"Raw\": supported values: "
                  "\"Block\", \"Filesystem\""));
  EXPECT_THAT(
      errorsOf("PersistentVolumeClaim",
               claim(std::string("{") + base + ", dataSource: {kind: PersistentVolumeClaim}}")),
      ElementsAre("spec.dataSource.name: Required value",
                  "spec.dataSourceRef.name: Required value"));
  EXPECT_THAT(errorsOf("PersistentVolumeClaim",
                       claim(std::string("{") + base +
                             ", dataSource: {kind: PersistentVolumeClaim, name: a}, "
                             "dataSourceRef: {kind: PersistentVolumeClaim, name: b}}")),
              ElementsAre("spec: Invalid value: spec.dataSource: must match dataSourceRef"));
}

// The registry's update: defaults, then validateUpdate against the stored object.
std::vector<std::string> updateErrors(std::string_view kind, Json now, Json before) {
  const auto& r = resource(kind);
  applyDefaults(r, now);
  applyDefaults(r, before);
  return printed(validateUpdate(r, now, before));
}

TEST(PersistentVolumeClaimValidation, SpecIsImmutable) {
  Json stored = claim(
      "{accessModes: [ReadWriteOnce], storageClassName: standard, "
      "resources: {requests: {storage: 1Gi}}}");
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", stored, stored), IsEmpty());

  Json modes = stored;
  modes["spec"]["accessModes"] = {"ReadWriteMany"};
  auto errors = updateErrors("PersistentVolumeClaim", modes, stored);
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_THAT(
      errors[0],
      ::testing::StartsWith("spec: Forbidden: spec is immutable after creation except "
                            "resources.requests and volumeAttributesClassName for bound claims\n"));
  EXPECT_THAT(errors[0], HasSubstr("- \tAccessModes: [\"ReadWriteOnce\"],\n"));
  EXPECT_THAT(errors[0], HasSubstr("+ \tAccessModes: [\"ReadWriteMany\"],\n"));

  // The binder sets volumeName once, then it stays.
  Json binding = stored;
  binding["spec"]["volumeName"] = "pv1";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", binding, stored), IsEmpty());
  Json rebinding = binding;
  rebinding["spec"]["volumeName"] = "pv2";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", rebinding, binding),
              ElementsAre(HasSubstr("spec: Forbidden: spec is immutable after creation")));

  // A Pending claim may not be resized; a Bound one may grow.
  Json bigger = stored;
  bigger["spec"]["resources"]["requests"]["storage"] = "2Gi";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", bigger, stored),
              ElementsAre(HasSubstr("spec: Forbidden: spec is immutable after creation")));
  Json bound = stored;
  bound["status"] = {{"phase", "Bound"}, {"capacity", {{"storage", "1Gi"}}}};
  bigger["status"] = bound["status"];
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", bigger, bound), IsEmpty());
  Json smaller = bound;
  smaller["spec"]["resources"]["requests"]["storage"] = "512Mi";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", smaller, bound),
              ElementsAre("spec.resources.requests.storage: Forbidden: field can not be less than "
                          "status.capacity"));

  Json block = stored;
  block["spec"]["volumeMode"] = "Block";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", block, stored),
              ElementsAre(HasSubstr("spec: Forbidden: spec is immutable after creation"),
                          "volumeMode: Invalid value: \"Block\": field is immutable"));
}

TEST(PersistentVolumeClaimValidation, ClassMayBeSetOnceFromNothing) {
  Json classless = claim("{accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}");
  Json named = classless;
  named["spec"]["storageClassName"] = "standard";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", named, classless), IsEmpty());
  Json renamed = named;
  renamed["spec"]["storageClassName"] = "fast";
  EXPECT_THAT(updateErrors("PersistentVolumeClaim", renamed, named),
              ElementsAre(HasSubstr("spec: Forbidden: spec is immutable after creation")));
}

// ---------------------------------------------------------------------------
// PersistentVolume.

Json volume(std::string_view spec) {
  return yaml("metadata: {name: pv1}\nspec: " + std::string(spec));
}

TEST(PersistentVolumeValidation, Valid) {
  EXPECT_THAT(errorsOf("PersistentVolume",
                       volume("{capacity: {storage: 5Gi}, accessModes: [ReadWriteOnce], "
                              "hostPath: {path: /data/pv1, type: DirectoryOrCreate}, "
                              "claimRef: {namespace: default, name: data}}")),
              IsEmpty());
  EXPECT_THAT(
      errorsOf("PersistentVolume",
               volume("{capacity: {storage: 5Gi}, accessModes: [ReadWriteOnce], "
                      "storageClassName: standard, local: {path: /mnt/disk}, "
                      "nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: "
                      "[{key: kubernetes.io/hostname, operator: In, values: [node-a]}]}]}}}")),
      IsEmpty());
  EXPECT_THAT(errorsOf("PersistentVolume",
                       volume("{capacity: {storage: 1Ti}, accessModes: [ReadWriteMany], "
                              "nfs: {server: 10.0.0.2, path: /exports}, "
                              "persistentVolumeReclaimPolicy: Recycle}")),
              IsEmpty());
  EXPECT_THAT(errorsOf("PersistentVolume",
                       volume("{capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], "
                              "csi: {driver: hostpath.csi.k8s.io, volumeHandle: v1, "
                              "nodePublishSecretRef: {name: creds, namespace: default}}}")),
              IsEmpty());
}

TEST(PersistentVolumeValidation, RequiredFields) {
  EXPECT_THAT(errorsOf("PersistentVolume", volume("{}")),
              ElementsAre("spec.accessModes: Required value", "spec.capacity: Required value",
                          "spec.capacity: Unsupported value: core.ResourceList(nil): supported "
                          "values: \"storage\"",
                          "spec: Required value: must specify a volume type"));
  EXPECT_THAT(
      errorsOf("PersistentVolume", volume("{capacity: {storage: 0}, accessModes: [ReadWriteOnce], "
                                          "hostPath: {path: /data}}")),
      ElementsAre("spec.capacity[storage]: Invalid value: \"0\": must be greater than zero"));
}

TEST(PersistentVolumeValidation, SourcesAndPolicies) {
  const char* base = "capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce]";
  auto pv = [&](const std::string& rest) {
    return errorsOf("PersistentVolume", volume(std::string("{") + base + ", " + rest + "}"));
  };
  EXPECT_THAT(pv("hostPath: {path: /a}, nfs: {server: s, path: /b}"),
              ElementsAre("spec.nfs: Forbidden: may not specify more than 1 volume type"));
  EXPECT_THAT(
      pv("hostPath: {path: /a/../etc}"),
      ElementsAre("spec.hostPath.path: Invalid value: \"/a/../etc\": must not contain '..'"));
  EXPECT_THAT(pv("hostPath: {path: /a, type: Pipe}"),
              ElementsAre("spec.hostPath.type: Unsupported value: \"Pipe\": supported values: "
                          "\"\", \"BlockDevice\", \"CharDevice\", \"Directory\", "
                          "\"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""));
  EXPECT_THAT(pv("nfs: {server: s, path: exports}"),
              ElementsAre("spec.nfs.path: Invalid value: \"exports\": must be an absolute path"));
  EXPECT_THAT(
      pv("local: {path: /mnt}"),
      ElementsAre("spec.nodeAffinity: Required value: Local volume requires node affinity"));
  EXPECT_THAT(pv("hostPath: {path: /}, persistentVolumeReclaimPolicy: Recycle"),
              ElementsAre("spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for "
                          "a hostPath mount of '/'"));
  EXPECT_THAT(pv("hostPath: {path: /a}, persistentVolumeReclaimPolicy: Keep"),
              ElementsAre("spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": "
                          "supported values: \"Delete\", \"Recycle\", \"Retain\""));
  EXPECT_THAT(pv("csi: {driver: x.io}"), ElementsAre("spec.csi.volumeHandle: Required value"));
  EXPECT_THAT(pv("hostPath: {path: /a}, nodeAffinity: {required: {nodeSelectorTerms: []}}"),
              ElementsAre("spec.nodeAffinity.required.nodeSelectorTerms: Required value: must "
                          "have at least one node selector term"));
  EXPECT_THAT(pv("hostPath: {path: /a}, nodeAffinity: {required: {nodeSelectorTerms: "
                 "[{matchExpressions: [{key: zone, operator: In}]}]}}"),
              ElementsAre("spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0]."
                          "values: Required value: must be specified when `operator` is 'In' or "
                          "'NotIn'"));
  // A cloud plugin is counted, not checked field by field.
  EXPECT_THAT(pv("gcePersistentDisk: {pdName: disk-1}"), IsEmpty());
}

TEST(PersistentVolumeValidation, SourceIsImmutable) {
  Json stored = volume(
      "{capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], "
      "hostPath: {path: /data}}");
  EXPECT_THAT(updateErrors("PersistentVolume", stored, stored), IsEmpty());
  Json moved = stored;
  moved["spec"]["hostPath"]["path"] = "/other";
  auto errors = updateErrors("PersistentVolume", moved, stored);
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0], ::testing::StartsWith("spec.persistentvolumesource: Forbidden: "
                                               "spec.persistentvolumesource is immutable after "
                                               "creation\n"));
  // Binding (claimRef) and the reclaim policy may change.
  Json bound = stored;
  bound["spec"]["claimRef"] = {{"namespace", "default"}, {"name", "data"}};
  bound["spec"]["persistentVolumeReclaimPolicy"] = "Delete";
  EXPECT_THAT(updateErrors("PersistentVolume", bound, stored), IsEmpty());
}

// ---------------------------------------------------------------------------
// StorageClass.

Json storageClass(std::string_view body) {
  return yaml("metadata: {name: fast}\n" + std::string(body));
}

TEST(StorageClassValidation, Fields) {
  EXPECT_THAT(errorsOf("StorageClass", storageClass("provisioner: podnet.io/local-path\n"
                                                    "parameters: {type: ssd}\n"
                                                    "allowVolumeExpansion: true")),
              IsEmpty());
  EXPECT_THAT(errorsOf("StorageClass", storageClass("provisioner: \"\"")),
              ElementsAre("provisioner: Required value"));
  EXPECT_THAT(errorsOf("StorageClass", storageClass("provisioner: x.io/y\nreclaimPolicy: Recycle")),
              ElementsAre("reclaimPolicy: Unsupported value: \"Recycle\": supported values: "
                          "\"Delete\", \"Retain\""));
  EXPECT_THAT(
      errorsOf("StorageClass", storageClass("provisioner: x.io/y\nvolumeBindingMode: Later")),
      ElementsAre("volumeBindingMode: Unsupported value: \"Later\": supported values: "
                  "\"Immediate\", \"WaitForFirstConsumer\""));
  EXPECT_THAT(errorsOf("StorageClass", storageClass("provisioner: \"x.io/a b\"")),
              Contains(HasSubstr("provisioner: Invalid value: \"x.io/a b\": name part must "
                                 "consist of alphanumeric characters")));
  Json many = storageClass("provisioner: x.io/y");
  for (int i = 0; i < 513; ++i) many["parameters"]["p" + std::to_string(i)] = "v";
  EXPECT_THAT(errorsOf("StorageClass", many),
              ElementsAre("parameters: Too long: may not be more than 512 bytes"));
  EXPECT_THAT(
      errorsOf("StorageClass",
               storageClass("provisioner: x.io/y\nallowedTopologies: [{matchLabelExpressions: "
                            "[{key: zone, values: [a, a]}]}, {matchLabelExpressions: "
                            "[{key: zone, values: []}]}]")),
      ElementsAre("allowedTopologies[0].matchLabelExpressions[0].values[1]: Duplicate value: \"a\"",
                  "allowedTopologies[1].matchLabelExpressions[0].values: Required value"));
}

TEST(StorageClassValidation, ImmutableFields) {
  Json stored = storageClass("provisioner: x.io/y\nparameters: {type: ssd}");
  EXPECT_THAT(updateErrors("StorageClass", stored, stored), IsEmpty());
  Json changed = storageClass(
      "provisioner: x.io/z\nparameters: {type: hdd}\n"
      "reclaimPolicy: Retain\nvolumeBindingMode: WaitForFirstConsumer\n"
      "allowVolumeExpansion: true");
  EXPECT_THAT(updateErrors("StorageClass", changed, stored),
              ElementsAre("parameters: Forbidden: updates to parameters are forbidden.",
                          "provisioner: Forbidden: updates to provisioner are forbidden.",
                          "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
                          "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is "
                          "immutable"));
  // allowVolumeExpansion, mountOptions and metadata may change.
  Json expandable = stored;
  expandable["allowVolumeExpansion"] = true;
  expandable["mountOptions"] = {"noatime"};
  expandable["metadata"]["annotations"] = {{"storageclass.kubernetes.io/is-default-class", "true"}};
  EXPECT_THAT(updateErrors("StorageClass", expandable, stored), IsEmpty());
}

}  // namespace
}  // namespace podnet::api
