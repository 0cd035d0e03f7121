// The real kubectl and the storage kinds: a claim applied without a class
// gets the default class `standard`, `kubectl get pvc,pv,sc` prints
// kubectl 1.32's columns (access modes abbreviated, CLAIM as ns/name,
// <unset> attribute classes, "standard (default)"), invalid claims are
// refused with kube-apiserver's field causes, and `kubectl explain` reads the
// schemas. Nothing here binds claims: where a bound claim is shown, the test
// writes what a volume binder would.
#include <gtest/gtest.h>

#include <regex>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

using Tokens = std::vector<std::string>;

Tokens tokens(const std::string& line) {
  Tokens out;
  std::istringstream in(line);
  for (std::string token; in >> token;) out.push_back(token);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!tokens(line).empty()) out.push_back(line);
  return out;
}

Tokens header(const std::string& text) {
  auto all = lines(text);
  return all.empty() ? Tokens{} : tokens(all[0]);
}

// The tokens of the first row whose first cell is `name` (empty when none).
Tokens row(const std::string& text, const std::string& name) {
  for (const auto& line : lines(text)) {
    Tokens cells = tokens(line);
    if (!cells.empty() && cells[0] == name) return cells;
  }
  return {};
}

bool isAge(const std::string& cell) {
  static const std::regex age("^[0-9]+[smhdy]([0-9]+[smhd])?$");
  return std::regex_match(cell, age);
}

class KubectlStorage : public KubectlNamespaceSuite<KubectlStorage> {
 protected:
  // kubectl's stdout only (stderr in lastError_, so warnings never mix into
  // tables), failing the test on a non-zero exit.
  std::string get(const std::string& args) {
    std::string errors = server_->dataDir + "/" + ns_ + "-kubectl.err";
    auto [code, out] =
        runCommand("(" + kubectlCommand() + "-n " + ns_ + " get " + args + " 2>" + errors + ")");
    lastError_ = readFile(errors);
    EXPECT_EQ(code, 0) << "kubectl get " << args << "\n" << out << lastError_;
    return out;
  }
  std::pair<int, std::string> apply(const std::string& name, const std::string& manifest) {
    return kubectl("apply -f " + file(name, manifest));
  }

  std::string lastError_;
};

std::string claimManifest(const std::string& name, const std::string& extra = "") {
  return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: " + name +
         "\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: "
         "1Gi\n" +
         extra;
}

TEST_F(KubectlStorage, ClaimWithoutClassGetsTheDefaultClass) {
  auto [code, out] = apply("data.yaml", claimManifest("data"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "persistentvolumeclaim/data created")) << out;
  EXPECT_EQ(jsonpath("pvc data", "{.spec.storageClassName}"), "standard");
  EXPECT_EQ(jsonpath("pvc data", "{.spec.volumeMode}"), "Filesystem");
  EXPECT_EQ(jsonpath("pvc data", "{.status.phase}"), "Pending");

  std::string table = get("pvc");
  EXPECT_EQ(header(table), (Tokens{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES",
                                   "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"}))
      << table;
  // VOLUME, CAPACITY and ACCESS MODES stay empty until the claim is bound.
  Tokens data = row(table, "data");
  ASSERT_EQ(data.size(), 5u) << table;
  EXPECT_EQ(Tokens(data.begin(), data.end() - 1),
            (Tokens{"data", "Pending", "standard", "<unset>"}));
  EXPECT_TRUE(isAge(data.back())) << data.back();

  std::string wide = get("pvc -o wide");
  EXPECT_EQ(header(wide).back(), "VOLUMEMODE") << wide;
  EXPECT_EQ(row(wide, "data").back(), "Filesystem") << wide;

  // An explicit "" asks for no class: it stays "", and applying again changes nothing.
  auto [none, noneOut] = apply("none.yaml", claimManifest("none", "  storageClassName: \"\"\n"));
  ASSERT_EQ(none, 0) << noneOut;
  EXPECT_EQ(jsonpath("pvc none", "{.spec.storageClassName}"), "");
  auto [again, againOut] = apply("data.yaml", claimManifest("data"));
  ASSERT_EQ(again, 0) << againOut;
  EXPECT_TRUE(contains(againOut, "persistentvolumeclaim/data unchanged")) << againOut;
}

TEST_F(KubectlStorage, StorageClassesShowTheDefault) {
  std::string table = get("sc");
  EXPECT_EQ(header(table), (Tokens{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                   "ALLOWVOLUMEEXPANSION", "AGE"}))
      << table;
  Tokens standard = row(table, "standard");
  ASSERT_EQ(standard.size(), 7u) << table;
  EXPECT_EQ(Tokens(standard.begin(), standard.end() - 1),
            (Tokens{"standard", "(default)", "podnet.io/local-path", "Delete",
                    "WaitForFirstConsumer", "false"}));

  // A class of the user's own, by its short name; provisioner is immutable.
  std::string fast = "fast-" + ns_;
  std::string manifest =
      "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: " + fast +
      "\nprovisioner: example.com/fast\nallowVolumeExpansion: true\n";
  auto [code, out] = apply("fast.yaml", manifest);
  ASSERT_EQ(code, 0) << out;
  Tokens mine = row(get("storageclass " + fast), fast);
  ASSERT_EQ(mine.size(), 6u);
  EXPECT_EQ(Tokens(mine.begin() + 1, mine.end() - 1),
            (Tokens{"example.com/fast", "Delete", "Immediate", "true"}));
  std::string changed = manifest;
  changed.replace(changed.find("example.com/fast"), 16, "example.com/slow");
  auto [refused, refusedOut] = apply("fast.yaml", changed);
  EXPECT_NE(refused, 0);
  EXPECT_TRUE(contains(refusedOut, "provisioner: Forbidden: updates to provisioner are forbidden."))
      << refusedOut;
  EXPECT_EQ(kubectl("delete sc " + fast).first, 0);
}

TEST_F(KubectlStorage, ClaimsVolumesAndClassesInOneGet) {
  // A claim for a volume of the test's own, bound as a volume binder would.
  std::string pv = "pv-" + ns_;
  auto [claimed, claimedOut] =
      apply("claim.yaml", claimManifest("db", "  storageClassName: manual\n  volumeName: " + pv +
                                                  "\n  volumeMode: Filesystem\n"));
  ASSERT_EQ(claimed, 0) << claimedOut;
  auto [created, createdOut] =
      apply("pv.yaml", "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: " + pv +
                           "\nspec:\n  capacity: {storage: 2Gi}\n  accessModes: [ReadWriteOnce, "
                           "ReadOnlyMany]\n  storageClassName: manual\n  hostPath: {path: /tmp/" +
                           pv + "}\n  claimRef: {namespace: " + ns_ + ", name: db}\n");
  ASSERT_EQ(created, 0) << createdOut;
  auto [pvBound, pvOut] = kubectl("patch pv " + pv +
                                  " --subresource=status --type=merge -p "
                                  "'{\"status\":{\"phase\":\"Bound\"}}'");
  ASSERT_EQ(pvBound, 0) << pvOut;
  auto [claimBound, claimOut] = kubectl(
      "patch pvc db --subresource=status --type=merge -p "
      "'{\"status\":{\"phase\":\"Bound\",\"accessModes\":[\"ReadWriteOnce\","
      "\"ReadOnlyMany\"],\"capacity\":{\"storage\":\"2048Mi\"}}}'");
  ASSERT_EQ(claimBound, 0) << claimOut;

  std::string out = get("pvc,pv,sc");
  Tokens claim = row(out, "persistentvolumeclaim/db");
  ASSERT_EQ(claim.size(), 8u) << out;
  EXPECT_EQ(
      Tokens(claim.begin(), claim.end() - 1),
      (Tokens{"persistentvolumeclaim/db", "Bound", pv, "2Gi", "RWO,ROX", "manual", "<unset>"}));
  Tokens volume = row(out, "persistentvolume/" + pv);
  ASSERT_EQ(volume.size(), 9u) << out;
  EXPECT_EQ(Tokens(volume.begin(), volume.end() - 1),
            (Tokens{"persistentvolume/" + pv, "2Gi", "RWO,ROX", "Retain", "Bound", ns_ + "/db",
                    "manual", "<unset>"}));
  EXPECT_TRUE(isAge(volume.back())) << out;
  EXPECT_FALSE(row(out, "storageclass.storage.k8s.io/standard").empty()) << out;
  // One header per kind.
  for (const Tokens& expected :
       {Tokens{"NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
               "VOLUMEATTRIBUTESCLASS", "AGE"},
        Tokens{"NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
               "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"},
        Tokens{"NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
               "AGE"}}) {
    bool found = false;
    for (const auto& line : lines(out)) found = found || tokens(line) == expected;
    EXPECT_TRUE(found) << "no header " << ::testing::PrintToString(expected) << " in\n" << out;
  }

  std::string wide = get("pv " + pv + " -o wide");
  EXPECT_EQ(header(wide).back(), "VOLUMEMODE") << wide;
  EXPECT_EQ(row(wide, pv).back(), "Filesystem") << wide;

  // A bound claim may grow, not change class.
  auto [grown, grownOut] = kubectl(
      "patch pvc db --type=merge -p "
      "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"3Gi\"}}}}'");
  EXPECT_EQ(grown, 0) << grownOut;
  auto [renamed, renamedOut] =
      kubectl("patch pvc db --type=merge -p '{\"spec\":{\"storageClassName\":\"fast\"}}'");
  EXPECT_NE(renamed, 0);
  EXPECT_TRUE(contains(renamedOut,
                       "spec: Forbidden: spec is immutable after creation except "
                       "resources.requests and volumeAttributesClassName for bound claims"))
      << renamedOut;
  EXPECT_EQ(kubectl("delete pv " + pv).first, 0);
}

TEST_F(KubectlStorage, InvalidClaimsAreRefusedWithFieldCauses) {
  std::string noModes =
      "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bad\nspec:\n  resources:\n"
      "    requests: {storage: 1Gi}\n";
  auto [code, out] = apply("bad.yaml", noModes);
  EXPECT_NE(code, 0);
  EXPECT_TRUE(contains(out,
                       "The PersistentVolumeClaim \"bad\" is invalid: spec.accessModes: "
                       "Required value: at least 1 access mode is required"))
      << out;
  auto [sized, sizedOut] = apply("nosize.yaml",
                                 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: "
                                 "nosize\nspec:\n  accessModes: [ReadWriteMany, Sometimes]\n");
  EXPECT_NE(sized, 0);
  EXPECT_TRUE(contains(sizedOut,
                       "spec.accessModes: Unsupported value: \"Sometimes\": supported "
                       "values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", "
                       "\"ReadWriteOncePod\""))
      << sizedOut;
  EXPECT_TRUE(contains(sizedOut, "spec.resources[storage]: Required value")) << sizedOut;
  // Strict field validation knows the claim's fields.
  auto [strict, strictOut] =
      apply("typo.yaml", claimManifest("typo", "  storageClasName: standard\n"));
  EXPECT_NE(strict, 0);
  EXPECT_TRUE(contains(strictOut, "unknown field \"spec.storageClasName\"")) << strictOut;
  EXPECT_TRUE(get("pvc").find("bad") == std::string::npos);
}

TEST_F(KubectlStorage, ExplainReadsTheSchemas) {
  auto [code, out] = kubectl("explain pvc.spec");
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "KIND:       PersistentVolumeClaim")) << out;
  EXPECT_TRUE(contains(out, "VERSION:    v1")) << out;
  EXPECT_TRUE(contains(out, "accessModes\t<[]string>")) << out;
  EXPECT_TRUE(contains(out, "storageClassName\t<string>")) << out;
  EXPECT_TRUE(contains(out, "resources\t<VolumeResourceRequirements>")) << out;
  auto [pv, pvOut] = kubectl("explain pv.spec.local");
  EXPECT_EQ(pv, 0) << pvOut;
  EXPECT_TRUE(contains(pvOut, "path\t<string>")) << pvOut;
  auto [sc, scOut] = kubectl("explain storageclass");
  EXPECT_EQ(sc, 0) << scOut;
  EXPECT_TRUE(contains(scOut, "GROUP:      storage.k8s.io")) << scOut;
  EXPECT_TRUE(contains(scOut, "StorageClass describes the parameters for a class of storage"))
      << scOut;
}

TEST_F(KubectlStorage, ServerSideApplyOwnsClaimFields) {
  auto [code, out] =
      kubectl("apply --server-side -f " +
              file("ssa.yaml", claimManifest("ssa", "  storageClassName: standard\n")));
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(contains(out, "persistentvolumeclaim/ssa serverside-applied")) << out;
  std::string managers = jsonpath("pvc ssa", "{.metadata.managedFields[*].manager}");
  EXPECT_TRUE(contains(managers, "kubectl")) << managers;
}

}  // namespace
}  // namespace podnet::testing
