// Workloads with a network identity on `podnet up`, driven by the real
// kubectl: StatefulSet pods with stable names, hostnames and DNS records
// through their headless Service (resolved with dig from a pod), ordered
// scaling and partitioned rolling updates; a DaemonSet with one pod on every
// eligible node and its rolling update.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cluster_fixture.h"

namespace podnet::testing {
namespace {

using namespace std::chrono_literals;

class WorkloadsE2E : public ClusterTest {};

constexpr const char* kStatefulSet = R"(
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
    name: web
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.k8s.io/e2e-test-images/agnhost:2.39
        args: ["netexec", "--http-port=80"]
        ports:
        - containerPort: 80
          name: web
)";

TEST_F(WorkloadsE2E, StatefulSetPodsHaveStableNamesHostnamesAndDnsRecords) {
  auto [applied, appliedOut] = apply("sts.yaml", kStatefulSet);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [rolled, rolledOut] = kubectl("rollout status sts/web --timeout=60s");
  ASSERT_EQ(rolled, 0) << rolledOut;
  EXPECT_TRUE(contains(rolledOut, "partitioned roll out complete: 3 new pods have been updated"))
      << rolledOut;
  auto [get, getOut] = kubectl("get sts web");
  EXPECT_TRUE(contains(getOut, "web    3/3")) << getOut;
  EXPECT_EQ(jsonpath("pods -l app=web", "{.items[*].metadata.name}"), "web-0 web-1 web-2");

  // Each pod's own hostname, and its DNS name through the headless Service,
  // from any pod.
  auto [hostname, hostnameOut] = kubectl("exec web-1 -- hostname");
  EXPECT_EQ(hostnameOut, "web-1\n");
  for (const char* pod : {"web-0", "web-2"}) {
    std::string ip = jsonpath(std::string("pod ") + pod, "{.status.podIP}");
    auto [dug, dugOut] = kubectl(std::string("exec web-1 -- dig +short ") + pod +
                                 ".nginx.default.svc.cluster.local");
    EXPECT_EQ(dugOut, ip + "\n") << pod;
  }
  auto [curl, curlOut] = kubectl("exec web-0 -- curl -s --max-time 5 http://web-2.nginx/hostname");
  EXPECT_EQ(curlOut, "web-2");

  // Scaling down removes the highest ordinals; scaling up brings the same names back.
  auto [down, downOut] = kubectl("scale sts web --replicas=1");
  ASSERT_EQ(down, 0) << downOut;
  EXPECT_TRUE(eventually([&] {
    return jsonpath("pods -l app=web", "{.items[*].metadata.name}") == "web-0";
  })) << jsonpath("pods -l app=web", "{.items[*].metadata.name}");
  auto [up, upOut] = kubectl("scale sts web --replicas=3");
  ASSERT_EQ(up, 0) << upOut;
  auto [again, againOut] = kubectl("rollout status sts/web --timeout=60s");
  EXPECT_EQ(again, 0) << againOut;

  // A partitioned rolling update leaves the ordinals below the partition alone.
  std::string oldRevision = jsonpath("pod web-0", "{.metadata.labels.controller-revision-hash}");
  auto [patched, patchedOut] = kubectl(
      "patch sts web --type=merge -p '{\"spec\":{\"updateStrategy\":{\"rollingUpdate\":"
      "{\"partition\":1}},\"template\":{\"metadata\":{\"annotations\":{\"rev\":\"2\"}}}}}'");
  ASSERT_EQ(patched, 0) << patchedOut;
  auto [partitioned, partitionedOut] = kubectl("rollout status sts/web --timeout=60s");
  EXPECT_TRUE(
      contains(partitionedOut, "partitioned roll out complete: 2 new pods have been updated"))
      << partitionedOut;
  EXPECT_EQ(jsonpath("pod web-0", "{.metadata.labels.controller-revision-hash}"), oldRevision);
  EXPECT_NE(jsonpath("pod web-2", "{.metadata.labels.controller-revision-hash}"), oldRevision);
  EXPECT_EQ(jsonpath("sts web", "{.status.updateRevision}"),
            jsonpath("pod web-2", "{.metadata.labels.controller-revision-hash}"));
}

constexpr const char* kDaemonSet = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: registry.k8s.io/e2e-test-images/agnhost:2.39
        args: ["netexec", "--http-port=8080"]
)";

TEST_F(WorkloadsE2E, DaemonSetRunsOnePodOnEveryNodeAndRollsOut) {
  auto [applied, appliedOut] = apply("ds.yaml", kDaemonSet);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [rolled, rolledOut] = kubectl("rollout status ds/agent --timeout=60s");
  ASSERT_EQ(rolled, 0) << rolledOut;
  EXPECT_TRUE(contains(rolledOut, "daemon set \"agent\" successfully rolled out")) << rolledOut;
  auto [get, getOut] = kubectl("get ds agent");
  EXPECT_TRUE(
      contains(getOut, "agent   2         2         2       2            2           <none>"))
      << getOut;
  auto [described, describedOut] = kubectl("describe ds agent");
  EXPECT_TRUE(contains(describedOut, "Desired Number of Nodes Scheduled: 2")) << describedOut;
  EXPECT_TRUE(contains(describedOut, "2 Running / 0 Waiting / 0 Succeeded / 0 Failed"))
      << describedOut;
  EXPECT_EQ(jsonpath("pods -l app=agent", "{.items[*].spec.nodeName}").size(),
            std::string("node-1 node-2").size());
  std::string nodes = jsonpath("pods -l app=agent", "{.items[*].spec.nodeName}");
  EXPECT_TRUE(contains(nodes, "node-1") && contains(nodes, "node-2")) << nodes;
  // Bound as upstream: required node affinity on the node's name.
  EXPECT_TRUE(
      contains(jsonpath("pods -l app=agent", "{.items[0].spec.affinity}"), "metadata.name"));

  // A rolling update replaces every pod with the new template.
  auto [set, setOut] =
      kubectl("set image ds/agent agent=registry.k8s.io/e2e-test-images/agnhost:2.40");
  ASSERT_EQ(set, 0) << setOut;
  auto [updated, updatedOut] = kubectl("rollout status ds/agent --timeout=90s");
  EXPECT_EQ(updated, 0) << updatedOut;
  EXPECT_TRUE(eventually([&] {
    return jsonpath("pods -l app=agent", "{.items[*].spec.containers[0].image}") ==
           "registry.k8s.io/e2e-test-images/agnhost:2.40 "
           "registry.k8s.io/e2e-test-images/agnhost:2.40";
  }));

  // A nodeSelector no node matches: no node is eligible, the pods go.
  auto [patched, patchedOut] = kubectl(
      "patch ds agent --type=merge -p '{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":"
      "{\"disk\":\"ssd\"}}}}}'");
  ASSERT_EQ(patched, 0) << patchedOut;
  EXPECT_TRUE(
      eventually([&] { return jsonpath("ds agent", "{.status.desiredNumberScheduled}") == "0"; }));
  auto [labeled, labeledOut] = kubectl("label node node-2 disk=ssd");
  ASSERT_EQ(labeled, 0) << labeledOut;
  EXPECT_TRUE(eventually(
      [&] {
        return jsonpath("pods -l app=agent --field-selector=status.phase=Running",
                        "{.items[*].spec.nodeName}") == "node-2";
      },
      60s))
      << jsonpath("pods -l app=agent", "{.items[*].spec.nodeName}");
}

constexpr const char* kHostNetwork = R"(
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
spec:
  selector:
    matchLabels:
      app: node-agent
  template:
    metadata:
      labels:
        app: node-agent
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: registry.k8s.io/e2e-test-images/agnhost:2.39
        args: ["netexec", "--http-port=9376"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  replicas: 2
  selector:
    matchLabels:
      app: backend
  template:
    metadata:
      labels:
        app: backend
    spec:
      containers:
      - name: backend
        image: registry.k8s.io/e2e-test-images/agnhost:2.39
        args: ["netexec", "--http-port=8080"]
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector:
    app: backend
  ports:
  - port: 80
    targetPort: 8080
)";

TEST_F(WorkloadsE2E, HostNetworkPodsUseTheNodeAndReachClusterIps) {
  auto [applied, appliedOut] = apply("hostnet.yaml", kHostNetwork);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [ds, dsOut] = kubectl("rollout status ds/node-agent --timeout=60s");
  ASSERT_EQ(ds, 0) << dsOut;
  auto [deploy, deployOut] = kubectl("rollout status deploy/backend --timeout=60s");
  ASSERT_EQ(deploy, 0) << deployOut;

  std::string pod = jsonpath("pods -l app=node-agent", "{.items[0].metadata.name}");
  std::string node = jsonpath("pod " + pod, "{.spec.nodeName}");
  std::string nodeIp =
      jsonpath("node " + node, "{.status.addresses[?(@.type==\"InternalIP\")].address}");
  // The node's address and name.
  EXPECT_EQ(jsonpath("pod " + pod, "{.status.podIP}"), nodeIp);
  auto [hostname, hostnameOut] = kubectl("exec " + pod + " -- hostname");
  EXPECT_EQ(hostnameOut, node + "\n");
  // It serves on the node's address, reachable from a pod.
  std::string backend = podName("app=backend");
  auto [served, servedOut] =
      kubectl("exec " + backend + " -- curl -s --max-time 5 http://" + nodeIp + ":9376/hostname");
  EXPECT_EQ(servedOut, node) << servedOut;
  // A process in the node's network reaches a ClusterIP (through the proxy's
  // output chain), by name too with ClusterFirstWithHostNet absent: by IP.
  std::string clusterIp = jsonpath("svc backend", "{.spec.clusterIP}");
  for (int i = 0; i < 3; ++i) {
    auto [code, out] =
        kubectl("exec " + pod + " -- curl -s --max-time 5 http://" + clusterIp + "/hostname");
    EXPECT_EQ(code, 0) << out;
    EXPECT_TRUE(contains(out, "backend-")) << out;
  }
}

TEST_F(WorkloadsE2E, JobsRunToCompletionOrFailAfterTheirBackoffLimit) {
  auto [created, createdOut] = kubectl("create job hello --image=busybox -- echo hi from a job");
  ASSERT_EQ(created, 0) << createdOut;
  auto [waited, waitedOut] = kubectl("wait --for=condition=complete job/hello --timeout=60s");
  EXPECT_EQ(waited, 0) << waitedOut;
  auto [logs, logsOut] = kubectl("logs job/hello");
  EXPECT_EQ(logsOut, "hi from a job\n");
  auto [get, getOut] = kubectl("get job hello");
  EXPECT_TRUE(contains(getOut, "hello   Complete   1/1")) << getOut;

  auto [failing, failingOut] = apply("failing.yaml", R"(
apiVersion: batch/v1
kind: Job
metadata:
  name: failing
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: fail
        image: busybox
        command: ["sh", "-c", "exit 3"]
)");
  ASSERT_EQ(failing, 0) << failingOut;
  auto [failed, failedOut] = kubectl("wait --for=condition=failed job/failing --timeout=90s");
  EXPECT_EQ(failed, 0) << failedOut;
  EXPECT_EQ(jsonpath("job failing", "{.status.conditions[?(@.type==\"Failed\")].reason}"),
            "BackoffLimitExceeded");
  EXPECT_EQ(jsonpath("job failing", "{.status.failed}"), "2");
}

}  // namespace
}  // namespace podnet::testing
