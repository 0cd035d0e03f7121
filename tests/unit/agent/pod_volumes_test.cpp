// agent/pod_volumes.h: the files of configMap, secret, downwardAPI and
// projected volumes and the mounts of a container, as kubelet makes them.
#include "agent/pod_volumes.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/files.h"

namespace podnet::agent {
namespace {

namespace fs = std::filesystem;

Json pod() {
  return Json::parse(R"({
    "metadata": {"name": "web-0", "namespace": "shop", "uid": "u-1",
                 "labels": {"app": "web", "tier": "front\"end"}},
    "spec": {"nodeName": "node-a", "serviceAccountName": "builder",
             "containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"}}}],
             "volumes": [{"name": "data", "emptyDir": {}},
                         {"name": "config", "configMap": {"name": "app-config"}},
                         {"name": "creds", "secret": {"secretName": "db"}},
                         {"name": "sa", "projected": {"sources": []}}]},
    "status": {"podIP": "10.244.1.5"}
  })");
}

VolumeLookup lookup() {
  VolumeLookup out;
  out.object = [](const std::string& kind, const std::string& name) -> core::Result<Json> {
    if (kind == "ConfigMap" && name == "app-config")
      return Json{{"data", {{"app.conf", "greeting=hello\n"}, {"level", "debug"}}},
                  {"binaryData", {{"blob", "AAEC"}}}};
    if (kind == "ConfigMap" && name == "kube-root-ca.crt")
      return Json{{"data", {{"ca.crt", "-----BEGIN CERTIFICATE-----\n"}}}};
    if (kind == "Secret" && name == "db") return Json{{"data", {{"password", "czNjcjN0"}}}};
    return core::Error{404, "NotFound", "not found"};
  };
  out.token = [](const std::string& audience, int64_t expiration) -> core::Result<std::string> {
    return "token-for-" + audience + "-" + std::to_string(expiration);
  };
  out.nodeCpus = 4;
  out.nodeMemoryBytes = 1 << 30;
  return out;
}

TEST(PodVolumesTest, ConfigMapAndSecretKeysBecomeFiles) {
  auto files = volumeFiles(Json::parse(R"({"name": "c", "configMap": {"name": "app-config"}})"),
                           pod(), lookup());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path, "app.conf");
  EXPECT_EQ((*files)[0].content, "greeting=hello\n");
  EXPECT_EQ((*files)[0].mode, 0644);
  EXPECT_EQ((*files)[1].path, "blob");
  EXPECT_EQ((*files)[1].content, std::string("\x00\x01\x02", 3));

  auto secret =
      volumeFiles(Json::parse(R"({"name": "s", "secret": {"secretName": "db", "defaultMode": 256,
                      "items": [{"key": "password", "path": "db/pass"}]}})"),
                  pod(), lookup());
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  ASSERT_EQ(secret->size(), 1u);
  EXPECT_EQ((*secret)[0].path, "db/pass");
  EXPECT_EQ((*secret)[0].content, "s3cr3t");
  EXPECT_EQ((*secret)[0].mode, 0400);
}

TEST(PodVolumesTest, MissingSourcesSayWhatKubeletSays) {
  auto missing =
      volumeFiles(Json::parse(R"({"name": "c", "configMap": {"name": "nope"}})"), pod(), lookup());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "configmap \"nope\" not found");
  auto missingSecret =
      volumeFiles(Json::parse(R"({"name": "s", "secret": {"secretName": "x"}})"), pod(), lookup());
  ASSERT_FALSE(missingSecret.ok());
  EXPECT_EQ(missingSecret.error().message, "secret \"x\" not found");
  auto optional =
      volumeFiles(Json::parse(R"({"name": "c", "configMap": {"name": "nope", "optional": true}})"),
                  pod(), lookup());
  ASSERT_TRUE(optional.ok());
  EXPECT_TRUE(optional->empty());
  auto badKey = volumeFiles(
      Json::parse(
          R"({"name": "c", "configMap": {"name": "app-config", "items": [{"key": "x", "path": "x"}]}})"),
      pod(), lookup());
  ASSERT_FALSE(badKey.ok());
  EXPECT_EQ(badKey.error().message, "configmap references non-existent config key: x");
  auto escape = volumeFiles(
      Json::parse(
          R"({"name": "c", "configMap": {"name": "app-config", "items": [{"key": "level", "path": "../x"}]}})"),
      pod(), lookup());
  EXPECT_FALSE(escape.ok());
}

TEST(PodVolumesTest, TheServiceAccountVolumeHasTokenCaAndNamespace) {
  // What the ServiceAccount admission adds to every pod.
  auto files = volumeFiles(Json::parse(R"({"name": "kube-api-access-x", "projected": {
      "defaultMode": 420,
      "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
      ]}})"),
                           pod(), lookup());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].path, "token");
  EXPECT_EQ((*files)[0].content, "token-for--3607");
  EXPECT_EQ((*files)[1].path, "ca.crt");
  EXPECT_EQ((*files)[2].path, "namespace");
  EXPECT_EQ((*files)[2].content, "shop");
}

TEST(PodVolumesTest, DownwardApiFieldsAndResources) {
  auto files = volumeFiles(Json::parse(R"({"name": "d", "downwardAPI": {"items": [
      {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
      {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
      {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}},
      {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory"}},
      {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}}]}})"),
                           pod(), lookup());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 5u);
  EXPECT_EQ((*files)[0].content, "app=\"web\"\ntier=\"front\\\"end\"");
  EXPECT_EQ((*files)[1].content, "web");
  EXPECT_EQ((*files)[2].content, "10.244.1.5");
  EXPECT_EQ((*files)[3].content, "64Mi");
  EXPECT_EQ((*files)[4].content, "4");
}

TEST(PodVolumesTest, ContainerMountsWithSubPathsAndReadOnlyFileVolumes) {
  Json container = Json::parse(R"({"name": "app", "volumeMounts": [
      {"name": "data", "mountPath": "/data"},
      {"name": "data", "mountPath": "/logs", "subPathExpr": "$(POD_NAME)/logs"},
      {"name": "config", "mountPath": "/etc/app/app.conf", "subPath": "app.conf"},
      {"name": "creds", "mountPath": "/creds"}]})");
  fs::path dir = fs::temp_directory_path() / ("podnet-volumes-" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  std::map<std::string, std::string> paths = {{"data", (dir / "data").string()},
                                              {"config", (dir / "config").string()},
                                              {"creds", (dir / "creds").string()}};
  auto mounts = containerMounts(pod(), container, paths, {"POD_NAME=web-0"});
  ASSERT_TRUE(mounts.ok()) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 4u);
  EXPECT_EQ((*mounts)[0].source, (dir / "data").string());
  EXPECT_FALSE((*mounts)[0].readOnly);
  EXPECT_EQ((*mounts)[1].source, (dir / "data" / "web-0" / "logs").string());
  EXPECT_TRUE(fs::is_directory(dir / "data" / "web-0" / "logs"));
  EXPECT_EQ((*mounts)[2].target, "/etc/app/app.conf");
  EXPECT_TRUE((*mounts)[2].readOnly);
  EXPECT_TRUE((*mounts)[3].readOnly);

  Json unknown =
      Json::parse(R"({"name": "app", "volumeMounts": [{"name": "x", "mountPath": "/x"}]})");
  EXPECT_FALSE(containerMounts(pod(), unknown, paths, {}).ok());
  Json escaping = Json::parse(
      R"({"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "../../etc"}]})");
  EXPECT_FALSE(containerMounts(pod(), escaping, paths, {}).ok());
  fs::remove_all(dir);
}

TEST(PodVolumesTest, HostPathTypesAndFileWrites) {
  fs::path dir = fs::temp_directory_path() / ("podnet-hostpath-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  EXPECT_TRUE(prepareHostPath((dir / "made").string(), "DirectoryOrCreate").ok());
  EXPECT_TRUE(fs::is_directory(dir / "made"));
  auto notDir = prepareHostPath((dir / "missing").string(), "Directory");
  ASSERT_FALSE(notDir.ok());
  EXPECT_EQ(notDir.error().message,
            "hostPath type check failed: " + (dir / "missing").string() + " is not a directory");
  EXPECT_TRUE(prepareHostPath((dir / "file").string(), "FileOrCreate").ok());
  EXPECT_TRUE(prepareHostPath((dir / "file").string(), "File").ok());
  EXPECT_FALSE(prepareHostPath((dir / "file").string(), "Socket").ok());

  auto changed = writeVolumeFiles((dir / "vol").string(), {{"a", "1", 0644}, {"sub/b", "2", 0600}});
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(core::readFile((dir / "vol" / "sub" / "b").string()), "2");
  struct stat info {};
  ASSERT_EQ(::stat((dir / "vol" / "sub" / "b").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto again = writeVolumeFiles((dir / "vol").string(), {{"a", "1", 0644}, {"sub/b", "2", 0600}});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto removed = writeVolumeFiles((dir / "vol").string(), {{"a", "changed", 0644}});
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(fs::exists(dir / "vol" / "sub" / "b"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace podnet::agent
