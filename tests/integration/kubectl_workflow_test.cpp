// The real kubectl drives podnet through the everyday workflow: describe,
// expose, scale, label, annotate, edit, rollout status, delete, and the
// errors kubectl prints for a real cluster. Assertions are on what kubectl
// prints and its exit code. (get and its Tables, create <generator>,
// apply and strict validation have their own files.)
#include <gtest/gtest.h>

#include <fstream>

#include "podnet_harness.h"

namespace podnet::testing {
namespace {

class KubectlWorkflow : public KubectlNamespaceSuite<KubectlWorkflow> {
 protected:
  // What a node agent would report: the pod runs with an IP and is Ready.
  void markPodsReady(const std::string& selector) {
    auto [code, names] = kubectl("get pods -l " + selector + " -o name");
    ASSERT_EQ(code, 0) << names;
    std::istringstream lines(names);
    std::string pod;
    int n = 0;
    while (std::getline(lines, pod)) {
      if (pod.empty()) continue;
      std::string ip = "10.244.9." + std::to_string(++n);
      auto [patched, out] =
          kubectl("patch " + pod +
                  " --subresource=status --type=merge -p '{\"status\":{\"phase\":"
                  "\"Running\",\"podIP\":\"" +
                  ip + "\",\"podIPs\":[{\"ip\":\"" + ip +
                  "\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}'");
      ASSERT_EQ(patched, 0) << out;
      EXPECT_NE(out.find(pod.substr(4) + " patched"), std::string::npos) << out;
    }
  }

  void createReadyNode(const std::string& name, const std::string& ip) {
    std::string path =
        file(name + ".json",
             "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" + name +
                 "\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
                 "\"True\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"" +
                 ip + "\"}]}}");
    auto [code, out] = kubectl("create -f " + path);
    ASSERT_TRUE(code == 0 || out.find("AlreadyExists") != std::string::npos) << out;
  }

  // describe aligns its columns to the widest label of the object, so lines
  // compare with runs of spaces collapsed.
  static bool hasLine(const std::string& text, const std::string& wanted) {
    return squeeze(text).find(squeeze(wanted)) != std::string::npos;
  }
};

const char* kWebApp = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports:
            - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
)";

TEST_F(KubectlWorkflow, DescribeServiceShowsItsEndpoints) {
  createReadyNode("node-a", "192.168.77.2");
  auto [applied, out] = kubectl("apply -f " + file("web.yaml", kWebApp));
  ASSERT_EQ(applied, 0) << out;
  EXPECT_NE(out.find("deployment.apps/web created"), std::string::npos) << out;
  EXPECT_NE(out.find("service/web created"), std::string::npos) << out;
  ASSERT_TRUE(
      eventually([&] { return kubectl("get pods -l app=web -o name").second.size() > 10; }));
  ASSERT_TRUE(eventually([&] {
    return jsonpath("pods -l app=web", "{.items[*].spec.nodeName}").find("node-a") !=
           std::string::npos;
  }));
  markPodsReady("app=web");

  ASSERT_TRUE(eventually([&] {
    auto [code, described] = kubectl("describe svc web");
    return code == 0 && described.find("10.244.9.1:8080") != std::string::npos &&
           described.find("10.244.9.2:8080") != std::string::npos;
  })) << kubectl("describe svc web").second;
  auto [code, described] = kubectl("describe svc web");
  EXPECT_TRUE(hasLine(described, "Selector:          app=web")) << described;
  EXPECT_TRUE(hasLine(described, "Type:              ClusterIP")) << described;
  EXPECT_TRUE(hasLine(described, "TargetPort:        http/TCP")) << described;

  auto [epCode, endpoints] = kubectl("get endpoints web");
  EXPECT_EQ(epCode, 0) << endpoints;
  EXPECT_NE(endpoints.find("10.244.9.1:8080,10.244.9.2:8080"), std::string::npos) << endpoints;

  auto [rolled, status] = kubectl("rollout status deployment/web --timeout=30s");
  EXPECT_EQ(rolled, 0) << status;
  EXPECT_NE(status.find("deployment \"web\" successfully rolled out"), std::string::npos) << status;

  auto [deployCode, deployment] = kubectl("describe deployment web");
  EXPECT_EQ(deployCode, 0) << deployment;
  EXPECT_TRUE(
      hasLine(deployment, "Replicas:               2 desired | 2 updated | 2 total | 2 available"))
      << deployment;
  EXPECT_NE(deployment.find("ScalingReplicaSet"), std::string::npos) << deployment;

  std::string pod = jsonpath("pods -l app=web", "{.items[0].metadata.name}");
  auto [podCode, podText] = kubectl("describe pod " + pod);
  EXPECT_EQ(podCode, 0) << podText;
  EXPECT_TRUE(hasLine(podText, "Node: node-a/")) << podText;
  EXPECT_TRUE(hasLine(podText, "Status:           Running")) << podText;
  EXPECT_NE(podText.find("Scheduled"), std::string::npos) << podText;  // the event

  auto [nodeCode, nodeText] = kubectl("describe node node-a");
  EXPECT_EQ(nodeCode, 0) << nodeText;
  EXPECT_TRUE(hasLine(nodeText, "InternalIP:  192.168.77.2")) << nodeText;
  EXPECT_NE(nodeText.find("PodCIDR:"), std::string::npos) << nodeText;
}

// The seed documents' manifests and commands, as written there.
TEST_F(KubectlWorkflow, SeedDocumentExamplesApplyAsWritten) {
  const std::string seeds =
      std::string(PODNET_SOURCE_DIR) + "/tests/integration/data/seed_examples.yaml";
  auto [applied, out] = kubectl("apply -f " + seeds);
  ASSERT_EQ(applied, 0) << out;
  for (const char* line :
       {"networkpolicy.networking.k8s.io/allow-app created",
        "ingress.networking.k8s.io/hotel-ingress created",
        "networkpolicy.networking.k8s.io/deny-all created", "service/app-service created",
        "service/app-nodeport created", "service/app-lb created", "service/my-database created",
        "ingress.networking.k8s.io/app-ingress created",
        "networkpolicy.networking.k8s.io/allow-web-to-api created"})
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  auto [again, againOut] = kubectl("apply -f " + seeds);
  EXPECT_EQ(again, 0) << againOut;
  EXPECT_NE(againOut.find("service/app-service unchanged"), std::string::npos) << againOut;

  // The example app itself, from a directory.
  auto [dir, dirOut] = kubectl("apply -f " + std::string(PODNET_SOURCE_DIR) + "/examples/");
  EXPECT_EQ(dir, 0) << dirOut;
  EXPECT_NE(dirOut.find("deployment.apps/nextgen-app created"), std::string::npos) << dirOut;

  auto [svc, services] = kubectl("get services");
  EXPECT_EQ(svc, 0) << services;
  EXPECT_TRUE(hasLine(services, "app-nodeport NodePort")) << services;
  EXPECT_NE(services.find("80:30080/TCP"), std::string::npos) << services;
  EXPECT_TRUE(hasLine(services, "my-database ExternalName <none> my.database.example.com"))
      << services;
  auto [described, describeOut] = kubectl("describe svc app-service");
  EXPECT_EQ(described, 0) << describeOut;
  EXPECT_TRUE(hasLine(describeOut, "TargetPort: 3000/TCP")) << describeOut;
  auto [ep, endpoints] = kubectl("get endpoints app-service");
  EXPECT_EQ(ep, 0) << endpoints;
  EXPECT_TRUE(hasLine(endpoints, "NAME ENDPOINTS AGE")) << endpoints;
}

TEST_F(KubectlWorkflow, DescribeNetworkPolicyAndIngress) {
  auto [applied, out] = kubectl("apply -f " + file("policy.yaml", R"(
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-app
spec:
  podSelector:
    matchLabels: {app: my-app}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: frontend}
      ports:
        - {protocol: TCP, port: 80}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: hotel-ingress
spec:
  rules:
    - host: hotel.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: hotel-service
                port: {number: 80}
)"));
  ASSERT_EQ(applied, 0) << out;
  auto [netpolCode, netpol] = kubectl("describe netpol allow-app");
  EXPECT_EQ(netpolCode, 0) << netpol;
  EXPECT_TRUE(hasLine(netpol, "PodSelector:     app=my-app")) << netpol;
  EXPECT_NE(netpol.find("Policy Types: Ingress, Egress"), std::string::npos) << netpol;
  EXPECT_TRUE(hasLine(netpol, "PodSelector: app=frontend")) << netpol;
  auto [ingCode, ing] = kubectl("describe ingress hotel-ingress");
  EXPECT_EQ(ingCode, 0) << ing;
  EXPECT_NE(ing.find("hotel.example.com"), std::string::npos) << ing;
  EXPECT_NE(ing.find("hotel-service:80"), std::string::npos) << ing;
}

TEST_F(KubectlWorkflow, ExposeScaleLabelAnnotate) {
  auto [applied, out] = kubectl("apply -f " + file("web.yaml", kWebApp));
  ASSERT_EQ(applied, 0) << out;

  auto [exposed, exposeOut] =
      kubectl("expose deployment web --name=web-public --port=8081 --target-port=8080");
  EXPECT_EQ(exposed, 0) << exposeOut;
  EXPECT_NE(exposeOut.find("service/web-public exposed"), std::string::npos) << exposeOut;
  EXPECT_EQ(jsonpath("svc web-public", "{.spec.selector.app}"), "web");
  EXPECT_EQ(jsonpath("svc web-public", "{.spec.ports[0].targetPort}"), "8080");
  EXPECT_NE(jsonpath("svc web-public", "{.spec.clusterIP}").rfind("10.", 0), std::string::npos);

  auto [scaled, scaleOut] = kubectl("scale deployment web --replicas=4");
  EXPECT_EQ(scaled, 0) << scaleOut;
  EXPECT_NE(scaleOut.find("deployment.apps/web scaled"), std::string::npos) << scaleOut;
  EXPECT_TRUE(eventually([&] { return jsonpath("deployment web", "{.status.replicas}") == "4"; }))
      << jsonpath("deployment web", "{.status}");
  auto [pods, podList] = kubectl("get pods -l app=web -o name");
  EXPECT_EQ(std::count(podList.begin(), podList.end(), '\n'), 4) << podList;

  auto [labelled, labelOut] = kubectl("label deployment web tier=frontend");
  EXPECT_EQ(labelled, 0) << labelOut;
  EXPECT_NE(labelOut.find("deployment.apps/web labeled"), std::string::npos) << labelOut;
  auto [selected, selectedOut] = kubectl("get deployments -l tier=frontend -o name");
  EXPECT_EQ(selectedOut, "deployment.apps/web\n");
  auto [again, againOut] = kubectl("label deployment web tier=backend");
  EXPECT_EQ(again, 1) << againOut;
  EXPECT_NE(againOut.find("'tier' already has a value (frontend), and --overwrite is false"),
            std::string::npos)
      << againOut;
  auto [removed, removedOut] = kubectl("label deployment web tier-");
  EXPECT_EQ(removed, 0) << removedOut;
  EXPECT_EQ(jsonpath("deployment web", "{.metadata.labels.tier}"), "");

  auto [annotated, annotateOut] = kubectl("annotate service web owner=team-a");
  EXPECT_EQ(annotated, 0) << annotateOut;
  EXPECT_NE(annotateOut.find("service/web annotated"), std::string::npos) << annotateOut;
  EXPECT_EQ(jsonpath("service web", "{.metadata.annotations.owner}"), "team-a");
}

TEST_F(KubectlWorkflow, EditWithAScriptedEditor) {
  auto [created, out] = kubectl("create configmap settings --from-literal=mode=slow");
  ASSERT_EQ(created, 0) << out;
  // kubectl runs $EDITOR on a temp file holding the object as YAML, then
  // sends what changed as a patch.
  auto [edited, editOut] =
      kubectl("edit configmap settings", "EDITOR=\"sed -i -e 's/mode: slow/mode: fast/'\"");
  EXPECT_EQ(edited, 0) << editOut;
  EXPECT_NE(editOut.find("configmap/settings edited"), std::string::npos) << editOut;
  EXPECT_EQ(jsonpath("configmap settings", "{.data.mode}"), "fast");

  auto [unchanged, unchangedOut] = kubectl("edit configmap settings", "EDITOR=true");
  EXPECT_EQ(unchanged, 0) << unchangedOut;
  EXPECT_NE(unchangedOut.find("Edit cancelled, no changes made."), std::string::npos)
      << unchangedOut;
}

TEST_F(KubectlWorkflow, DeleteByNameFileAndLabel) {
  std::string path = file("cms.yaml", R"(apiVersion: v1
kind: ConfigMap
metadata: {name: one, labels: {group: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two, labels: {group: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: three, labels: {group: b}}
)");
  auto [applied, out] = kubectl("apply -f " + path);
  ASSERT_EQ(applied, 0) << out;
  auto [byLabel, byLabelOut] = kubectl("delete configmap -l group=a");
  EXPECT_EQ(byLabel, 0) << byLabelOut;
  EXPECT_NE(byLabelOut.find("configmap \"one\" deleted"), std::string::npos) << byLabelOut;
  EXPECT_NE(byLabelOut.find("configmap \"two\" deleted"), std::string::npos) << byLabelOut;
  auto [byName, byNameOut] = kubectl("delete configmap three");
  EXPECT_EQ(byName, 0) << byNameOut;
  EXPECT_EQ(byNameOut, "configmap \"three\" deleted\n");
  auto [reapplied, reappliedOut] = kubectl("apply -f " + path);
  ASSERT_EQ(reapplied, 0) << reappliedOut;
  auto [byFile, byFileOut] = kubectl("delete -f " + path);
  EXPECT_EQ(byFile, 0) << byFileOut;
  EXPECT_NE(byFileOut.find("configmap \"three\" deleted"), std::string::npos) << byFileOut;
  auto [left, leftOut] = kubectl("get configmaps -o name");
  EXPECT_EQ(leftOut.find("configmap/one"), std::string::npos) << leftOut;
  auto [missing, missingOut] = kubectl("delete configmap three");
  EXPECT_EQ(missing, 1) << missingOut;
  EXPECT_NE(missingOut.find("Error from server (NotFound): configmaps \"three\" not found"),
            std::string::npos)
      << missingOut;
}

TEST_F(KubectlWorkflow, ErrorsPrintAsOnARealCluster) {
  auto [notFound, notFoundOut] = kubectl("get svc nosuch");
  EXPECT_EQ(notFound, 1);
  EXPECT_EQ(notFoundOut, "Error from server (NotFound): services \"nosuch\" not found\n");

  std::string svc = file("svc.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: twice}
spec:
  selector: {app: x}
  ports: [{port: 80}]
)");
  auto [first, firstOut] = kubectl("create -f " + svc);
  ASSERT_EQ(first, 0) << firstOut;
  auto [second, secondOut] = kubectl("create -f " + svc);
  EXPECT_EQ(second, 1);
  EXPECT_NE(secondOut.find("Error from server (AlreadyExists): error when creating \"" + svc +
                           "\": services \"twice\" already exists"),
            std::string::npos)
      << secondOut;

  std::string bad = file("bad.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: bad2}
spec:
  ports:
    - {name: a, port: 0, targetPort: 80}
    - {name: b, port: 99999, targetPort: 80}
)");
  auto [invalid, invalidOut] = kubectl("create -f " + bad);
  EXPECT_EQ(invalid, 1);
  EXPECT_NE(invalidOut.find("The Service \"bad2\" is invalid: \n"
                            "* spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, "
                            "inclusive\n"
                            "* spec.ports[1].port: Invalid value: 99999: must be between 1 and "
                            "65535, inclusive"),
            std::string::npos)
      << invalidOut;

  // A stale resourceVersion: kubectl replace of an object changed meanwhile.
  auto [cm, cmOut] = kubectl("create configmap racy --from-literal=a=1");
  ASSERT_EQ(cm, 0) << cmOut;
  auto [got, stale] = kubectl("get configmap racy -o yaml");
  ASSERT_EQ(got, 0) << stale;
  auto [changed, changedOut] = kubectl("label configmap racy touched=yes");
  ASSERT_EQ(changed, 0) << changedOut;
  std::string stalePath = file("stale.yaml", stale);
  auto [conflict, conflictOut] = kubectl("replace -f " + stalePath);
  EXPECT_EQ(conflict, 1);
  EXPECT_NE(conflictOut.find("Error from server (Conflict): error when replacing \"" + stalePath +
                             "\": Operation cannot be fulfilled on configmaps \"racy\": the object "
                             "has been modified; please apply your changes to the latest version "
                             "and try again"),
            std::string::npos)
      << conflictOut;
}

TEST_F(KubectlWorkflow, RequestsWithoutCredentialsAreRefused) {
  // The same server and CA, but no token.
  std::string kubeconfig = readFile(server_->kubeconfig());
  auto tokenAt = kubeconfig.find("token:");
  ASSERT_NE(tokenAt, std::string::npos) << kubeconfig;
  kubeconfig.replace(tokenAt, kubeconfig.find('\n', tokenAt) - tokenAt, "token: wrong");
  std::string path = file("anonymous.kubeconfig", kubeconfig);
  auto [code, out] = runCommand("HOME=" + server_->dataDir + "/anon timeout 60 " +
                                std::string(kKubectl) + " --kubeconfig " + path + " get pods");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(
      out.find("error: You must be logged in to the server (the server has asked for the client to "
               "provide credentials)"),
      std::string::npos)
      << out;
}

}  // namespace
}  // namespace podnet::testing
