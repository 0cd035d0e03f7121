// Pod volumes and ServiceAccount tokens on `podnet up`, driven by the real
// kubectl: an emptyDir shared by two containers, ConfigMap and Secret files
// (whole and by subPath), a pod waiting in ContainerCreating with a
// FailedMount event until its ConfigMap exists, the mounted token used with
// curl against https://kubernetes.default.svc, and StatefulSet claims that
// keep their data when the pod is replaced.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cluster_fixture.h"

namespace podnet::testing {
namespace {

using namespace std::chrono_literals;

class VolumesE2E : public ClusterTest {};

constexpr const char* kVolumes = R"(
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: s3cr3t
---
apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  containers:
  - name: writer
    image: busybox
    command: ["sh", "-c", "echo from-writer > /cache/note; sleep 3600"]
    volumeMounts:
    - name: cache
      mountPath: /cache
  - name: reader
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts:
    - name: cache
      mountPath: /data/cache
    - name: config
      mountPath: /etc/app
    - name: config
      mountPath: /opt/app.conf
      subPath: app.conf
    - name: creds
      mountPath: /var/run/secrets/db
  volumes:
  - name: cache
    emptyDir: {}
  - name: config
    configMap:
      name: app-config
  - name: creds
    secret:
      secretName: db
      defaultMode: 0400
)";

TEST_F(VolumesE2E, VolumesAreSharedAndFilledFromConfigMapsAndSecrets) {
  auto [applied, appliedOut] = apply("volumes.yaml", kVolumes);
  ASSERT_EQ(applied, 0) << appliedOut;
  // No ConfigMap yet: the pod waits, and says why.
  EXPECT_TRUE(eventually([&] {
    auto [code, out] = kubectl("describe pod shared");
    return contains(out, "FailedMount") &&
           contains(out,
                    "MountVolume.SetUp failed for volume \"config\" : configmap "
                    "\"app-config\" not found");
  })) << kubectl("describe pod shared").second;
  EXPECT_EQ(jsonpath("pod shared", "{.status.containerStatuses[0].state.waiting.reason}"),
            "ContainerCreating");
  auto [created, createdOut] =
      kubectl("create configmap app-config --from-literal=app.conf=greeting=hello");
  ASSERT_EQ(created, 0) << createdOut;
  auto [ready, readyOut] = kubectl("wait --for=condition=Ready pod/shared --timeout=60s");
  ASSERT_EQ(ready, 0) << readyOut << kubectl("describe pod shared").second;

  // The two containers share the emptyDir.
  EXPECT_TRUE(eventually([&] {
    return kubectl("exec shared -c reader -- cat /data/cache/note").second == "from-writer\n";
  }));
  EXPECT_EQ(kubectl("exec shared -c reader -- cat /etc/app/app.conf").second, "greeting=hello");
  EXPECT_EQ(kubectl("exec shared -c reader -- cat /opt/app.conf").second, "greeting=hello");
  EXPECT_EQ(kubectl("exec shared -c reader -- cat /var/run/secrets/db/password").second, "s3cr3t");
  EXPECT_EQ(kubectl("exec shared -c reader -- stat -c %a /var/run/secrets/db/password").second,
            "400\n");
  // ConfigMap volumes are read-only; the emptyDir is not.
  auto [write, writeOut] = kubectl("exec shared -c reader -- touch /etc/app/new");
  EXPECT_NE(write, 0);
  EXPECT_TRUE(contains(writeOut, "Read-only file system")) << writeOut;
  EXPECT_EQ(kubectl("exec shared -c reader -- touch /data/cache/ok").first, 0);
  // A changed ConfigMap reaches the mounted directory (not the subPath file).
  auto [patched, patchedOut] =
      kubectl(R"(patch configmap app-config -p '{"data":{"app.conf":"greeting=bye"}}')");
  ASSERT_EQ(patched, 0) << patchedOut;
  EXPECT_TRUE(eventually(
      [&] {
        return kubectl("exec shared -c reader -- cat /etc/app/app.conf").second == "greeting=bye";
      },
      90s));
  // Nothing of it appeared on the host.
  EXPECT_FALSE(std::filesystem::exists("/data/cache"));
  EXPECT_FALSE(std::filesystem::exists("/opt/app.conf"));
  EXPECT_FALSE(std::filesystem::exists("/etc/app/app.conf"));
}

constexpr const char* kApiClient = R"(
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reporter
---
apiVersion: v1
kind: Pod
metadata:
  name: api-client
spec:
  serviceAccountName: reporter
  containers:
  - name: client
    image: curlimages/curl
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: no-token
spec:
  automountServiceAccountToken: false
  containers:
  - name: client
    image: busybox
    command: ["sleep", "3600"]
)";

TEST_F(VolumesE2E, PodsCallTheApiWithTheirMountedServiceAccountToken) {
  auto [applied, appliedOut] = apply("api-client.yaml", kApiClient);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [ready, readyOut] =
      kubectl("wait --for=condition=Ready pod/api-client pod/no-token --timeout=60s");
  ASSERT_EQ(ready, 0) << readyOut;
  // The admission added the projected volume, as upstream.
  EXPECT_EQ(jsonpath("pod api-client", "{.spec.containers[0].volumeMounts[0].mountPath}"),
            "/var/run/secrets/kubernetes.io/serviceaccount");
  EXPECT_TRUE(contains(jsonpath("pod api-client", "{.spec.volumes[0].name}"), "kube-api-access-"));
  EXPECT_EQ(jsonpath("pod no-token", "{.spec.volumes}"), "");

  const std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  EXPECT_EQ(kubectl("exec api-client -- cat " + dir + "/namespace").second, "default");
  auto [env, envOut] =
      kubectl("exec api-client -- sh -c 'echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT'");
  EXPECT_EQ(envOut, jsonpath("svc kubernetes", "{.spec.clusterIP}") + ":443\n");
  // With the token and the CA, through the kubernetes Service and cluster DNS.
  auto [called, calledOut] =
      kubectl("exec api-client -- sh -c 'curl -sS --max-time 10 --cacert " + dir +
              "/ca.crt -H "
              "\"Authorization: Bearer $(cat " +
              dir +
              "/token)\" "
              "https://kubernetes.default.svc/api/v1/namespaces/default/pods/api-client'");
  EXPECT_EQ(called, 0) << calledOut;
  EXPECT_TRUE(contains(calledOut, "\"name\":\"api-client\"")) << calledOut;
  // A token that is not the mounted one is refused, so the call above
  // really authenticated with it.
  auto [forged, forgedOut] = kubectl(
      "exec api-client -- sh -c 'curl -s -o /dev/null -w %{http_code} --max-time 10 --cacert " +
      dir + "/ca.crt -H \"Authorization: Bearer $(cat " + dir + "/token)x\" " +
      "https://kubernetes.default.svc/api/v1/namespaces/default/pods'");
  EXPECT_EQ(forgedOut, "401") << forgedOut;
  // Without automount: no token.
  auto [none, noneOut] = kubectl("exec no-token -- ls " + dir);
  EXPECT_NE(none, 0) << noneOut;
}

constexpr const char* kStatefulSetWithClaims = R"(
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: nginx
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 2
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: busybox
        command: ["sleep", "3600"]
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
)";

TEST_F(VolumesE2E, StatefulSetClaimsKeepTheirDataWhenPodsAreReplaced) {
  auto [applied, appliedOut] = apply("web.yaml", kStatefulSetWithClaims);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [rolled, rolledOut] = kubectl("rollout status sts/web --timeout=90s");
  ASSERT_EQ(rolled, 0) << rolledOut << kubectl("describe pod web-0").second;

  // One claim per pod, bound by the default class's provisioner.
  auto [claims, claimsOut] = kubectl("get pvc");
  EXPECT_TRUE(contains(claimsOut, "www-web-0")) << claimsOut;
  EXPECT_TRUE(contains(claimsOut, "www-web-1")) << claimsOut;
  EXPECT_EQ(jsonpath("pvc www-web-0", "{.status.phase}"), "Bound");
  EXPECT_EQ(jsonpath("pvc www-web-0", "{.spec.storageClassName}"), "standard");
  EXPECT_EQ(jsonpath("pvc www-web-0", "{.status.capacity.storage}"), "1Gi");
  EXPECT_EQ(jsonpath("pvc www-web-0", "{.metadata.labels.app}"), "nginx");
  std::string volume = jsonpath("pvc www-web-0", "{.spec.volumeName}");
  EXPECT_EQ(jsonpath("pv " + volume, "{.spec.claimRef.name}"), "www-web-0");
  EXPECT_EQ(jsonpath("pv " + volume, "{.status.phase}"), "Bound");
  EXPECT_EQ(jsonpath("pod web-0", "{.spec.volumes[0].persistentVolumeClaim.claimName}"),
            "www-web-0");

  // The tutorial's check: write the hostname, replace the pod, read it back.
  auto [wrote, wroteOut] =
      kubectl("exec web-0 -- sh -c 'hostname > /usr/share/nginx/html/index.html'");
  ASSERT_EQ(wrote, 0) << wroteOut;
  std::string node = jsonpath("pod web-0", "{.spec.nodeName}");
  std::string uid = jsonpath("pod web-0", "{.metadata.uid}");
  ASSERT_EQ(kubectl("delete pod web-0").first, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return jsonpath("pod web-0", "{.metadata.uid}") != uid &&
               jsonpath("pod web-0", "{.status.conditions[?(@.type==\"Ready\")].status}") == "True";
      },
      60s));
  EXPECT_EQ(jsonpath("pod web-0", "{.spec.nodeName}"), node);
  EXPECT_EQ(kubectl("exec web-0 -- cat /usr/share/nginx/html/index.html").second, "web-0\n");
  EXPECT_EQ(kubectl("exec web-1 -- ls /usr/share/nginx/html").second, "");
  // The host's own /usr/share/nginx/html (Debian's nginx has one) is untouched.
  std::ifstream host("/usr/share/nginx/html/index.html");
  std::string firstLine;
  std::getline(host, firstLine);
  EXPECT_NE(firstLine, "web-0");

  // Claims outlive a scale-down (retention Retain); deleting one frees its
  // volume and directory.
  ASSERT_EQ(kubectl("scale sts web --replicas=1").first, 0);
  EXPECT_TRUE(eventually([&] { return kubectl("get pod web-1").first != 0; }, 60s));
  EXPECT_EQ(jsonpath("pvc www-web-1", "{.status.phase}"), "Bound");
  std::string freed = jsonpath("pvc www-web-1", "{.spec.volumeName}");
  ASSERT_EQ(kubectl("delete pvc www-web-1").first, 0);
  EXPECT_TRUE(eventually([&] { return kubectl("get pv " + freed).first != 0; }, 30s))
      << kubectl("get pv").second;
}

}  // namespace
}  // namespace podnet::testing
