// kubectl get pvc / pv / storageclass: the columns and cells of upstream
// printers.go (1.32): access modes abbreviated, capacities as
// Quantity.String() prints them, <unset> for a missing volume attributes
// class, " (default)" after the name of a default class.
#include <gtest/gtest.h>

#include "api/object.h"
#include "api/schema.h"
#include "apiserver/protobuf.h"
#include "apiserver/tables.h"

namespace podnet::apiserver {
namespace {

using api::Json;

const long long kNow = api::parseRfc3339("2026-01-01T00:05:00Z");

std::vector<std::string> columnNames(const char* kind, int maxPriority) {
  std::vector<std::string> names;
  for (const auto& column : tableColumns(api::resource(kind)))
    if (column["priority"].get<int>() <= maxPriority) names.push_back(column["name"]);
  return names;
}

Json cells(const char* kind, const Json& obj) { return tableCells(api::resource(kind), obj, kNow); }

Json meta(const char* name) {
  return {{"name", name}, {"namespace", "default"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}};
}

using Names = std::vector<std::string>;

TEST(StorageTables, Columns) {
  EXPECT_EQ(columnNames("PersistentVolumeClaim", 0),
            (Names{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                   "VolumeAttributesClass", "Age"}));
  EXPECT_EQ(columnNames("PersistentVolumeClaim", 1),
            (Names{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass",
                   "VolumeAttributesClass", "Age", "VolumeMode"}));
  EXPECT_EQ(columnNames("PersistentVolume", 0),
            (Names{"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim",
                   "StorageClass", "VolumeAttributesClass", "Reason", "Age"}));
  EXPECT_EQ(columnNames("PersistentVolume", 1).back(), "VolumeMode");
  EXPECT_EQ(columnNames("StorageClass", 1),
            (Names{"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode",
                   "AllowVolumeExpansion", "Age"}));
}

TEST(StorageTables, PendingAndBoundClaims) {
  Json pvc = {{"metadata", meta("data")},
              {"spec",
               {{"accessModes", {"ReadWriteOnce"}},
                {"resources", {{"requests", {{"storage", "1Gi"}}}}},
                {"storageClassName", "standard"},
                {"volumeMode", "Filesystem"}}},
              {"status", {{"phase", "Pending"}}}};
  // Capacity and access modes stay empty until the claim is bound.
  EXPECT_EQ(
      cells("PersistentVolumeClaim", pvc),
      Json::array({"data", "Pending", "", "", "", "standard", "<unset>", "5m", "Filesystem"}));
  pvc["spec"]["volumeName"] = "pvc-1234";
  pvc["spec"]["volumeAttributesClassName"] = "gold";
  pvc["status"] = {
      {"phase", "Bound"},
      {"accessModes", {"ReadWriteOncePod", "ReadWriteOnce", "ReadOnlyMany", "ReadWriteOnce"}},
      {"capacity", {{"storage", "1024Mi"}}}};
  EXPECT_EQ(cells("PersistentVolumeClaim", pvc),
            Json::array({"data", "Bound", "pvc-1234", "1Gi", "RWO,ROX,RWOP", "standard", "gold",
                         "5m", "Filesystem"}));
  // The beta annotation names the class first; a deleted claim is Terminating.
  pvc["metadata"]["annotations"] = {{"volume.beta.kubernetes.io/storage-class", "old"}};
  pvc["metadata"]["deletionTimestamp"] = "2026-01-01T00:04:00Z";
  pvc["spec"].erase("volumeMode");
  Json row = cells("PersistentVolumeClaim", pvc);
  EXPECT_EQ(row[1], "Terminating");
  EXPECT_EQ(row[5], "old");
  EXPECT_EQ(row[8], "<unset>");
}

TEST(StorageTables, Volumes) {
  Json pv = {{"metadata", meta("pv1")},
             {"spec",
              {{"capacity", {{"storage", "5Gi"}}},
               {"accessModes", {"ReadWriteMany", "ReadWriteOnce"}},
               {"persistentVolumeReclaimPolicy", "Retain"},
               {"storageClassName", "standard"},
               {"volumeMode", "Filesystem"},
               {"claimRef", {{"namespace", "default"}, {"name", "data"}}}}},
             {"status", {{"phase", "Bound"}}}};
  pv["metadata"].erase("namespace");
  EXPECT_EQ(cells("PersistentVolume", pv),
            Json::array({"pv1", "5Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard",
                         "<unset>", "", "5m", "Filesystem"}));
  pv["spec"].erase("claimRef");
  pv["spec"]["capacity"]["storage"] = "1.5Gi";
  pv["status"] = {{"phase", "Failed"}, {"reason", "RecyclerFailed"}};
  Json row = cells("PersistentVolume", pv);
  EXPECT_EQ(row[1], "1536Mi");
  EXPECT_EQ(row[5], "");
  EXPECT_EQ(row[8], "RecyclerFailed");
}

TEST(StorageTables, StorageClasses) {
  Json sc = {{"metadata",
              {{"name", "standard"},
               {"creationTimestamp", "2026-01-01T00:00:00Z"},
               {"annotations", {{"storageclass.kubernetes.io/is-default-class", "true"}}}}},
             {"provisioner", "podnet.io/local-path"},
             {"reclaimPolicy", "Delete"},
             {"volumeBindingMode", "WaitForFirstConsumer"}};
  EXPECT_EQ(cells("StorageClass", sc),
            Json::array({"standard (default)", "podnet.io/local-path", "Delete",
                         "WaitForFirstConsumer", false, "5m"}));
  sc["metadata"]["annotations"] = {{"storageclass.kubernetes.io/is-default-class", "false"}};
  sc.erase("reclaimPolicy");
  sc.erase("volumeBindingMode");
  sc["allowVolumeExpansion"] = true;
  EXPECT_EQ(cells("StorageClass", sc),
            Json::array({"standard", "podnet.io/local-path", "Delete", "Immediate", true, "5m"}));
  sc["metadata"]["annotations"] = {{"storageclass.beta.kubernetes.io/is-default-class", "true"}};
  EXPECT_EQ(cells("StorageClass", sc)[0], "standard (default)");
}

// A length-delimited protobuf field (numbers and sizes below 16 and 128).
std::string field(int number, const std::string& payload) {
  return std::string(1, char((number << 3) | 2)) + char(payload.size()) + payload;
}

// A PersistentVolume as gogo-protobuf writes it: the volume source is the
// embedded member 2 of the spec, capacity a map of Quantity messages.
TEST(StorageProtobuf, PersistentVolumeDecodesWithTheRealTable) {
  std::string spec = field(1, field(1, "storage") + field(2, field(1, "1Gi"))) +
                     field(2, field(3, field(1, "/data"))) + field(3, "ReadWriteOnce") +
                     field(4, field(2, "default") + field(3, "data"));
  std::string pv = field(1, field(1, "pv1")) + field(2, spec);
  const auto* message = api::schema::forKind("v1", "PersistentVolume");
  ASSERT_NE(message, nullptr);
  auto decoded = decodeProtobufMessage(pv, *message);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_TRUE(decoded->unknownFields.empty());
  EXPECT_EQ(decoded->object["metadata"]["name"], "pv1");
  EXPECT_EQ(decoded->object["spec"], Json::parse(R"({
    "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"},
    "accessModes": ["ReadWriteOnce"], "claimRef": {"namespace": "default", "name": "data"}})"));
}

// storageClassName is a *string: an explicit "" (no class) survives decoding.
TEST(StorageProtobuf, AnEmptyClassNameIsKept) {
  std::string pvc = field(1, field(1, "data")) + field(2, field(1, "ReadWriteOnce") + field(5, ""));
  auto decoded = decodeProtobufMessage(pvc, *api::schema::forKind("v1", "PersistentVolumeClaim"));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->object["spec"], Json::parse(R"({
    "accessModes": ["ReadWriteOnce"], "storageClassName": ""})"));
}

}  // namespace
}  // namespace podnet::apiserver
