// The real kubectl's `get` against podnet: server-side Tables with the
// upstream columns for every served kind (kubectl 1.32 prints only NAME and
// AGE without them), -o wide, -A, -l, --show-labels, -o name|jsonpath|yaml,
// short names, `get all`, and `get -w` printing rows as objects change.
// Assertions are on what kubectl prints, compared as whitespace-separated
// tokens so column widths do not matter.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "api/object.h"
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

// The tokens of the first row whose column `column` is `name` (empty when
// there is none).
Tokens row(const std::string& text, const std::string& name, size_t column = 0) {
  for (const auto& line : lines(text)) {
    Tokens cells = tokens(line);
    if (cells.size() > column && cells[column] == name) return cells;
  }
  return {};
}

// Cell `index` of that row (the last for -1), "" when there is no such row.
std::string cell(const std::string& text, const std::string& name, int index, size_t column = 0) {
  Tokens cells = row(text, name, column);
  if (index < 0) index += int(cells.size());
  return index >= 0 && size_t(index) < cells.size() ? cells[index] : "";
}

// Rows whose first cell starts with `prefix` (generated names).
std::vector<Tokens> rowsStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<Tokens> out;
  for (const auto& line : lines(text)) {
    Tokens cells = tokens(line);
    if (!cells.empty() && cells[0].rfind(prefix, 0) == 0) out.push_back(cells);
  }
  return out;
}

// An AGE cell as duration.HumanDuration prints it: "5s", "3m20s", "2d".
bool isAge(const std::string& cell) {
  static const std::regex age("^[0-9]+[smhdy]([0-9]+[smhd])?$");
  return std::regex_match(cell, age);
}

class KubectlGet : public KubectlSuite<KubectlGet> {
 public:
  static std::string prepare() { return createObjects(); }

 protected:
  // Runs kubectl against the server; returns its exit code and stdout
  // (stderr goes to `lastError_`, so warnings never mix into tables).
  std::pair<int, std::string> kubectl(const std::string& args) {
    std::string errors = server_->dataDir + "/kubectl.err";
    auto result = runCommand("(" + kubectlCommand() + args + " 2>" + errors + ")");
    lastError_ = readFile(errors);
    return result;
  }
  // kubectl's stdout, failing the test on a non-zero exit.
  std::string get(const std::string& args) {
    auto [code, out] = kubectl("get " + args);
    EXPECT_EQ(code, 0) << "kubectl get " << args << "\n" << out << lastError_;
    return out;
  }

  static std::string createObjects();
  static std::string markPodRunning(HttpsClient& api, const std::string& ns,
                                    const std::string& name, const std::string& ip,
                                    const std::string& container);

  std::string lastError_;
};

// What a node agent would report: the pod runs with an IP and is Ready.
std::string KubectlGet::markPodRunning(HttpsClient& api, const std::string& ns,
                                       const std::string& name, const std::string& ip,
                                       const std::string& container) {
  std::string now = "2026-01-01T00:00:00Z";
  Json status = {{"status",
                  {{"phase", "Running"},
                   {"podIP", ip},
                   {"podIPs", {{{"ip", ip}}}},
                   {"conditions",
                    {{{"type", "PodScheduled"}, {"status", "True"}, {"lastTransitionTime", now}},
                     {{"type", "Initialized"}, {"status", "True"}, {"lastTransitionTime", now}},
                     {{"type", "ContainersReady"}, {"status", "True"}, {"lastTransitionTime", now}},
                     {{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", now}}}},
                   {"containerStatuses",
                    {{{"name", container},
                      {"image", "nginx:1.27"},
                      {"imageID", ""},
                      {"ready", true},
                      {"started", true},
                      {"restartCount", 0},
                      {"state", {{"running", {{"startedAt", now}}}}}}}}}}};
  auto patched = api.patch("/api/v1/namespaces/" + ns + "/pods/" + name + "/status", status);
  return patched.status == 200 ? "" : "status of pod " + name + ": " + patched.body;
}

// The objects every test reads: a node, a deployment whose two pods run,
// three kinds of service, endpoints (from the controllers), a network
// policy, an ingress and its class, config maps, a secret, a namespace.
std::string KubectlGet::createObjects() {
  auto api = server_->client();
  auto post = [&api](const std::string& path, const Json& body) -> std::string {
    auto created = api->post(path, body);
    return created.status == 201 ? "" : path + ": " + created.body;
  };
  std::vector<std::string> errors;
  auto check = [&errors](std::string error) {
    if (!error.empty()) errors.push_back(std::move(error));
  };

  check(post("/api/v1/nodes", {{"metadata",
                                {{"name", "node-a"},
                                 {"labels",
                                  {{"node-role.kubernetes.io/control-plane", ""},
                                   {"kubernetes.io/hostname", "node-a"}}}}}}));
  auto nodeStatus = api->patch("/api/v1/nodes/node-a/status",
                               {{"status",
                                 {{"conditions",
                                   {{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "KubeletReady"},
                                     {"message", "podnet agent is posting ready status"},
                                     {"lastHeartbeatTime", "2026-01-01T00:00:00Z"},
                                     {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}},
                                  {"addresses",
                                   {{{"type", "InternalIP"}, {"address", "192.168.1.5"}},
                                    {{"type", "Hostname"}, {"address", "node-a"}}}},
                                  {"nodeInfo",
                                   {{"kubeletVersion", "v1.32.0"},
                                    {"osImage", "PodnetOS-1.0"},
                                    {"kernelVersion", "6.1.0"},
                                    {"containerRuntimeVersion", "podnet://0.1"},
                                    {"operatingSystem", "linux"},
                                    {"architecture", "amd64"},
                                    {"machineID", ""},
                                    {"systemUUID", ""},
                                    {"bootID", ""},
                                    {"kubeProxyVersion", ""}}}}}});
  if (nodeStatus.status != 200) errors.push_back("node status: " + nodeStatus.body);

  check(post("/api/v1/namespaces", {{"metadata", {{"name", "team-a"}}}}));
  check(post("/apis/apps/v1/namespaces/default/deployments",
             {{"metadata", {{"name", "web"}, {"labels", {{"app", "web"}}}}},
              {"spec",
               {{"replicas", 2},
                {"selector", {{"matchLabels", {{"app", "web"}}}}},
                {"template",
                 {{"metadata", {{"labels", {{"app", "web"}}}}},
                  {"spec",
                   {{"containers",
                     {{{"name", "nginx"},
                       {"image", "nginx:1.27"},
                       {"ports", {{{"containerPort", 80}}}}}}}}}}}}}}));
  auto service = [](const std::string& name, const std::string& type, Json port) {
    return Json{
        {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
        {"spec", {{"type", type}, {"selector", {{"app", "web"}}}, {"ports", {std::move(port)}}}}};
  };
  check(post("/api/v1/namespaces/default/services",
             service("web", "ClusterIP", {{"port", 80}, {"targetPort", 80}})));
  check(
      post("/api/v1/namespaces/default/services",
           service("web-np", "NodePort", {{"port", 80}, {"targetPort", 80}, {"nodePort", 30080}})));
  check(post("/api/v1/namespaces/default/services",
             service("web-lb", "LoadBalancer", {{"port", 443}, {"targetPort", 80}})));
  check(post("/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
             {{"metadata", {{"name", "web-allow"}}},
              {"spec",
               {{"podSelector", {{"matchLabels", {{"app", "web"}}}}},
                {"ingress",
                 {{{"from", {{{"podSelector", {{"matchLabels", {{"role", "client"}}}}}}}}}}}}}}));
  check(post(
      "/apis/networking.k8s.io/v1/ingressclasses",
      {{"metadata", {{"name", "nginx"}}}, {"spec", {{"controller", "k8s.io/ingress-nginx"}}}}));
  check(post("/apis/networking.k8s.io/v1/namespaces/default/ingresses",
             {{"metadata", {{"name", "web"}}},
              {"spec",
               {{"ingressClassName", "nginx"},
                {"rules",
                 {{{"host", "web.example.com"},
                   {"http",
                    {{"paths",
                      {{{"path", "/"},
                        {"pathType", "Prefix"},
                        {"backend",
                         {{"service", {{"name", "web"}, {"port", {{"number", 80}}}}}}}}}}}}}}}}}}));
  check(post("/api/v1/namespaces/default/configmaps",
             {{"metadata", {{"name", "settings"}, {"labels", {{"tier", "config"}}}}},
              {"data", {{"a", "1"}, {"b", "2"}}}}));
  check(post("/api/v1/namespaces/team-a/configmaps",
             {{"metadata", {{"name", "other"}}}, {"data", {{"x", "y"}}}}));
  check(post("/api/v1/namespaces/default/secrets",
             {{"metadata", {{"name", "creds"}}},
              {"type", "Opaque"},
              {"data", {{"user", "YWRtaW4="}, {"password", "c2VjcmV0"}}}}));
  // Stays Pending: no node has that disk.
  check(post("/api/v1/namespaces/default/pods",
             {{"metadata", {{"name", "lonely"}, {"labels", {{"app", "lonely"}}}}},
              {"spec",
               {{"nodeSelector", {{"disk", "none"}}},
                {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}));
  if (!errors.empty()) return errors[0];

  // The scheduler binds the deployment's pods to node-a; then they run.
  std::vector<std::string> pods;
  bool scheduled = eventually([&] {
    auto list = api->get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").json();
    pods.clear();
    for (const auto& pod : list["items"])
      if (pod["spec"].value("nodeName", "") == "node-a") pods.push_back(pod["metadata"]["name"]);
    return pods.size() == 2;
  });
  if (!scheduled) return "the web pods were not scheduled";
  for (size_t i = 0; i < pods.size(); ++i)
    if (auto error =
            markPodRunning(*api, "default", pods[i], "10.244.0." + std::to_string(11 + i), "nginx");
        !error.empty())
      return error;
  bool ready = eventually([&] {
    auto deployment = api->get("/apis/apps/v1/namespaces/default/deployments/web").json();
    auto endpoints = api->get("/api/v1/namespaces/default/endpoints/web").json();
    return deployment["status"].value("availableReplicas", 0) == 2 &&
           endpoints["subsets"].is_array() && endpoints["subsets"].size() == 1 &&
           endpoints["subsets"][0]["addresses"].size() == 2;
  });
  return ready ? "" : "the deployment did not become available with two endpoints";
}

TEST_F(KubectlGet, ServicesWithUpstreamColumns) {
  std::string out = get("svc");
  EXPECT_EQ(header(out), (Tokens{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}))
      << out;
  auto api = server_->client();
  std::string clusterIP =
      api->get("/api/v1/namespaces/default/services/web").json()["spec"]["clusterIP"];
  Tokens web = row(out, "web");
  ASSERT_EQ(web.size(), 6u) << out;
  EXPECT_EQ(Tokens(web.begin(), web.end() - 1),
            (Tokens{"web", "ClusterIP", clusterIP, "<none>", "80/TCP"}));
  EXPECT_TRUE(isAge(web[5])) << web[5];
  Tokens nodePort = row(out, "web-np");
  ASSERT_EQ(nodePort.size(), 6u) << out;
  EXPECT_EQ(nodePort[1], "NodePort");
  EXPECT_EQ(nodePort[3], "<none>");
  EXPECT_EQ(nodePort[4], "80:30080/TCP");
  Tokens balancer = row(out, "web-lb");
  ASSERT_EQ(balancer.size(), 6u) << out;
  EXPECT_EQ(balancer[1], "LoadBalancer");
  EXPECT_EQ(balancer[3], "<pending>");
  EXPECT_TRUE(std::regex_match(balancer[4], std::regex("443:3[0-9]{4}/TCP"))) << balancer[4];
  EXPECT_EQ(cell(out, "kubernetes", 4), "443/TCP");

  std::string wide = get("svc -o wide");
  EXPECT_EQ(header(wide),
            (Tokens{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"}))
      << wide;
  EXPECT_EQ(cell(wide, "web", -1), "app=web") << wide;
  EXPECT_EQ(cell(wide, "kubernetes", -1), "<none>") << wide;

  // One object is a one-row table too.
  std::string one = get("service web");
  EXPECT_EQ(lines(one).size(), 2u) << one;
  EXPECT_EQ(cell(one, "web", 2), clusterIP);
}

TEST_F(KubectlGet, PodsWideWithStatusReadyIPAndNode) {
  std::string out = get("pods -o wide");
  EXPECT_EQ(header(out), (Tokens{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                 "NOMINATED", "NODE", "READINESS", "GATES"}))
      << out;
  auto web = rowsStartingWith(out, "web-");
  ASSERT_EQ(web.size(), 2u) << out;
  std::set<std::string> ips;
  for (const auto& cells : web) {
    ASSERT_EQ(cells.size(), 9u) << out;
    EXPECT_EQ(cells[1], "1/1");
    EXPECT_EQ(cells[2], "Running");
    EXPECT_EQ(cells[3], "0");
    EXPECT_TRUE(isAge(cells[4])) << cells[4];
    ips.insert(cells[5]);
    EXPECT_EQ(cells[6], "node-a");
    EXPECT_EQ(cells[7], "<none>");
    EXPECT_EQ(cells[8], "<none>");
  }
  EXPECT_EQ(ips, (std::set<std::string>{"10.244.0.11", "10.244.0.12"}));
  Tokens lonely = row(out, "lonely");
  ASSERT_EQ(lonely.size(), 9u) << out;
  EXPECT_EQ(lonely[1], "0/1");
  EXPECT_EQ(lonely[2], "Pending");
  EXPECT_EQ(lonely[5], "<none>");
  EXPECT_EQ(lonely[6], "<none>");

  std::string narrow = get("po");
  EXPECT_EQ(header(narrow), (Tokens{"NAME", "READY", "STATUS", "RESTARTS", "AGE"})) << narrow;
  EXPECT_EQ(row(narrow, "lonely").size(), 5u) << narrow;
}

TEST_F(KubectlGet, DeploymentsAndReplicaSets) {
  std::string out = get("deploy");
  EXPECT_EQ(header(out), (Tokens{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"})) << out;
  Tokens web = row(out, "web");
  ASSERT_EQ(web.size(), 5u) << out;
  EXPECT_EQ(Tokens(web.begin(), web.begin() + 4), (Tokens{"web", "2/2", "2", "2"}));
  EXPECT_TRUE(isAge(web[4]));

  std::string wide = get("deployments -o wide");
  EXPECT_EQ(header(wide), (Tokens{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS",
                                  "IMAGES", "SELECTOR"}))
      << wide;
  web = row(wide, "web");
  ASSERT_EQ(web.size(), 8u) << wide;
  EXPECT_EQ(Tokens(web.begin() + 5, web.end()), (Tokens{"nginx", "nginx:1.27", "app=web"}));

  std::string sets = get("rs");
  EXPECT_EQ(header(sets), (Tokens{"NAME", "DESIRED", "CURRENT", "READY", "AGE"})) << sets;
  auto replicaSets = rowsStartingWith(sets, "web-");
  ASSERT_EQ(replicaSets.size(), 1u) << sets;
  EXPECT_EQ(Tokens(replicaSets[0].begin() + 1, replicaSets[0].begin() + 4),
            (Tokens{"2", "2", "2"}));
  std::string setsWide = get("rs -o wide");
  EXPECT_EQ(header(setsWide), (Tokens{"NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS",
                                      "IMAGES", "SELECTOR"}))
      << setsWide;
  auto wideRow = rowsStartingWith(setsWide, "web-");
  ASSERT_EQ(wideRow.size(), 1u);
  EXPECT_EQ(wideRow[0].back(), "app=web,pod-template-hash=" + wideRow[0][0].substr(4));
}

TEST_F(KubectlGet, EndpointsAndEndpointSlices) {
  std::string out = get("ep");
  EXPECT_EQ(header(out), (Tokens{"NAME", "ENDPOINTS", "AGE"})) << out;
  Tokens web = row(out, "web");
  ASSERT_EQ(web.size(), 3u) << out;
  std::set<std::string> addresses;
  std::istringstream list(web[1]);
  for (std::string address; std::getline(list, address, ',');) addresses.insert(address);
  EXPECT_EQ(addresses, (std::set<std::string>{"10.244.0.11:80", "10.244.0.12:80"}));

  std::string slices = get("endpointslices -l kubernetes.io/service-name=web");
  EXPECT_EQ(header(slices), (Tokens{"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"})) << slices;
  auto rows = rowsStartingWith(slices, "web-");
  ASSERT_EQ(rows.size(), 1u) << slices;
  ASSERT_EQ(rows[0].size(), 5u) << slices;
  EXPECT_EQ(rows[0][1], "IPv4");
  EXPECT_EQ(rows[0][2], "80");
  EXPECT_TRUE(rows[0][3] == "10.244.0.11,10.244.0.12" || rows[0][3] == "10.244.0.12,10.244.0.11")
      << rows[0][3];
}

TEST_F(KubectlGet, NetworkPoliciesIngressesAndClasses) {
  std::string policies = get("netpol");
  EXPECT_EQ(header(policies), (Tokens{"NAME", "POD-SELECTOR", "AGE"})) << policies;
  EXPECT_EQ(cell(policies, "web-allow", 1), "app=web") << policies;

  std::string ingresses = get("ing");
  EXPECT_EQ(header(ingresses), (Tokens{"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"}))
      << ingresses;
  Tokens web = row(ingresses, "web");
  ASSERT_EQ(web.size(), 5u) << ingresses;  // ADDRESS is empty until a controller sets it
  EXPECT_EQ(Tokens(web.begin(), web.begin() + 4),
            (Tokens{"web", "nginx", "web.example.com", "80"}));

  std::string classes = get("ingressclasses");
  EXPECT_EQ(header(classes), (Tokens{"NAME", "CONTROLLER", "PARAMETERS", "AGE"})) << classes;
  Tokens nginx = row(classes, "nginx");
  ASSERT_EQ(nginx.size(), 4u) << classes;
  EXPECT_EQ(nginx[1], "k8s.io/ingress-nginx");
  EXPECT_EQ(nginx[2], "<none>");
}

TEST_F(KubectlGet, NodesWide) {
  std::string out = get("no");
  EXPECT_EQ(header(out), (Tokens{"NAME", "STATUS", "ROLES", "AGE", "VERSION"})) << out;
  Tokens node = row(out, "node-a");
  ASSERT_EQ(node.size(), 5u) << out;
  EXPECT_EQ(node[1], "Ready");
  EXPECT_EQ(node[2], "control-plane");
  EXPECT_EQ(node[4], "v1.32.0");

  std::string wide = get("nodes -o wide");
  EXPECT_EQ(header(wide),
            (Tokens{"NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                    "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"}))
      << wide;
  node = row(wide, "node-a");
  ASSERT_EQ(node.size(), 10u) << wide;
  EXPECT_EQ(Tokens(node.begin() + 5, node.end()),
            (Tokens{"192.168.1.5", "<none>", "PodnetOS-1.0", "6.1.0", "podnet://0.1"}));
}

TEST_F(KubectlGet, NamespacesConfigMapsAndSecrets) {
  std::string namespaces = get("ns");
  EXPECT_EQ(header(namespaces), (Tokens{"NAME", "STATUS", "AGE"})) << namespaces;
  for (const char* name : {"default", "kube-system", "team-a"}) {
    Tokens ns = row(namespaces, name);
    ASSERT_EQ(ns.size(), 3u) << namespaces;
    EXPECT_EQ(ns[1], "Active");
  }
  std::string configMaps = get("cm");
  EXPECT_EQ(header(configMaps), (Tokens{"NAME", "DATA", "AGE"})) << configMaps;
  EXPECT_EQ(cell(configMaps, "settings", 1), "2") << configMaps;
  EXPECT_TRUE(row(configMaps, "other").empty()) << "team-a's config map is not in default";

  std::string secrets = get("secrets");
  EXPECT_EQ(header(secrets), (Tokens{"NAME", "TYPE", "DATA", "AGE"})) << secrets;
  Tokens creds = row(secrets, "creds");
  ASSERT_EQ(creds.size(), 4u) << secrets;
  EXPECT_EQ(creds[1], "Opaque");
  EXPECT_EQ(creds[2], "2");
}

TEST_F(KubectlGet, EventsAsUpstreamPrintsThem) {
  auto api = server_->client();
  auto created = api->post(
      "/api/v1/namespaces/default/events",
      {{"metadata", {{"name", "lonely.1"}}},
       {"involvedObject",
        {{"kind", "Pod"}, {"namespace", "default"}, {"name", "lonely"}, {"apiVersion", "v1"}}},
       {"type", "Warning"},
       {"reason", "FailedScheduling"},
       {"message", "0/1 nodes are available"},
       {"source", {{"component", "default-scheduler"}}},
       {"count", 3},
       {"firstTimestamp", api::nowRfc3339()},
       {"lastTimestamp", api::nowRfc3339()}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string out = get("events --field-selector involvedObject.name=lonely");
  EXPECT_EQ(header(out), (Tokens{"LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"})) << out;
  bool found = false;
  for (const auto& line : lines(out)) {
    Tokens cells = tokens(line);
    if (cells.size() < 4 || cells[3] != "pod/lonely" || cells[2] != "FailedScheduling") continue;
    found = true;
    EXPECT_TRUE(isAge(cells[0])) << line;
    EXPECT_EQ(cells[1], "Warning");
    EXPECT_NE(line.find("0/1 nodes are available"), std::string::npos) << line;
  }
  EXPECT_TRUE(found) << out;
}

TEST_F(KubectlGet, AllListsWorkloadsAndServices) {
  std::string out = get("all");
  // One table per kind, each with its own header, names qualified by kind.
  for (const Tokens& expected :
       {Tokens{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
        Tokens{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
        Tokens{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
        Tokens{"NAME", "DESIRED", "CURRENT", "READY", "AGE"}}) {
    bool found = false;
    for (const auto& line : lines(out)) found = found || tokens(line) == expected;
    EXPECT_TRUE(found) << "no header " << ::testing::PrintToString(expected) << " in\n" << out;
  }
  EXPECT_EQ(rowsStartingWith(out, "pod/web-").size(), 2u) << out;
  EXPECT_EQ(cell(out, "pod/lonely", 2), "Pending") << out;
  EXPECT_EQ(cell(out, "service/web", 1), "ClusterIP") << out;
  Tokens deployment = row(out, "deployment.apps/web");
  ASSERT_GE(deployment.size(), 4u) << out;
  EXPECT_EQ(deployment[1], "2/2");
  EXPECT_EQ(rowsStartingWith(out, "replicaset.apps/web-").size(), 1u) << out;
}

TEST_F(KubectlGet, AllNamespacesAddsTheNamespaceColumn) {
  std::string out = get("cm -A");
  EXPECT_EQ(header(out), (Tokens{"NAMESPACE", "NAME", "DATA", "AGE"})) << out;
  Tokens other = row(out, "other", 1);
  ASSERT_EQ(other.size(), 4u) << out;
  EXPECT_EQ(other[0], "team-a");
  EXPECT_EQ(other[2], "1");
  EXPECT_EQ(cell(out, "settings", 0, 1), "default") << out;

  std::string pods = get("pods --all-namespaces");
  EXPECT_EQ(header(pods), (Tokens{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"}))
      << pods;
  EXPECT_EQ(cell(pods, "lonely", 0, 1), "default") << pods;
}

TEST_F(KubectlGet, LabelsSelectorsAndShowLabels) {
  std::string out = get("cm --show-labels");
  EXPECT_EQ(header(out), (Tokens{"NAME", "DATA", "AGE", "LABELS"})) << out;
  EXPECT_EQ(cell(out, "settings", -1), "tier=config") << out;

  std::string selected = get("cm -l tier=config");
  EXPECT_EQ(rowsStartingWith(selected, "settings").size(), 1u) << selected;
  EXPECT_EQ(lines(selected).size(), 2u) << selected;

  std::string pods = get("pods -l app=web --show-labels");
  auto web = rowsStartingWith(pods, "web-");
  ASSERT_EQ(web.size(), 2u) << pods;
  for (const auto& cells : web) EXPECT_NE(cells.back().find("app=web"), std::string::npos);
  EXPECT_TRUE(row(pods, "lonely").empty()) << pods;

  std::string services = get("svc -l 'app in (web)'");
  EXPECT_EQ(rowsStartingWith(services, "web").size(), 3u) << services;
  EXPECT_TRUE(row(services, "kubernetes").empty()) << services;
}

TEST_F(KubectlGet, OutputFormats) {
  std::string names = get("svc -l app=web -o name");
  auto printed = lines(names);
  std::sort(printed.begin(), printed.end());
  EXPECT_EQ(printed, (std::vector<std::string>{"service/web", "service/web-lb", "service/web-np"}));
  EXPECT_EQ(get("deploy web -o name"), "deployment.apps/web\n");

  EXPECT_EQ(get("svc web-np -o jsonpath='{.spec.ports[0].nodePort}'"), "30080");
  EXPECT_EQ(get("cm settings -o jsonpath='{.data.a}{\",\"}{.metadata.labels.tier}'"), "1,config");

  std::string yaml = get("cm settings -o yaml");
  EXPECT_NE(yaml.find("kind: ConfigMap"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("name: settings"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("a: \"1\""), std::string::npos) << yaml;

  Json json = Json::parse(get("svc web -o json"), nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  EXPECT_EQ(json["kind"], "Service");
  EXPECT_EQ(json["spec"]["ports"][0]["port"], 80);
  Json list = Json::parse(get("cm -o json"), nullptr, false);
  ASSERT_FALSE(list.is_discarded());
  EXPECT_EQ(list["kind"], "List");
}

TEST_F(KubectlGet, ShortNamesNameTheSameResources) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"svc", "services"},  {"ep", "endpoints"},       {"netpol", "networkpolicies"},
      {"ing", "ingresses"}, {"deploy", "deployments"}, {"rs", "replicasets"},
      {"po", "pods"},       {"ns", "namespaces"},      {"no", "nodes"},
      {"cm", "configmaps"}, {"sc", "storageclasses"}};
  for (const auto& [shortName, plural] : pairs) {
    std::string viaShort = get(shortName + " -o name");
    std::string viaPlural = get(plural + " -o name");
    EXPECT_FALSE(lines(viaShort).empty()) << shortName;
    EXPECT_EQ(viaShort, viaPlural) << shortName;
    EXPECT_EQ(header(get(shortName)), header(get(plural))) << shortName;
  }
}

TEST_F(KubectlGet, AggregatedDiscoveryOverHttps) {
  auto api = server_->client();
  const std::string accept =
      "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"
      "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
  auto groups = api->request("GET", "/apis", "", "", accept);
  ASSERT_EQ(groups.status, 200);
  EXPECT_EQ(groups.contentType,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(groups.json()["kind"], "APIGroupDiscoveryList");
  auto core = api->request("GET", "/api", "", "", accept);
  EXPECT_EQ(core.json()["items"][0]["versions"][0]["version"], "v1");
  EXPECT_EQ(api->get("/api").json()["kind"], "APIVersions");

  auto table = api->request("GET", "/api/v1/namespaces/default/configmaps/settings", "", "",
                            "application/json;as=Table;v=v1;g=meta.k8s.io");
  ASSERT_EQ(table.status, 200) << table.body;
  EXPECT_EQ(table.contentType, "application/json;as=Table;v=v1;g=meta.k8s.io");
  EXPECT_EQ(table.json()["rows"][0]["cells"][1], 2);
}

TEST_F(KubectlGet, WatchPrintsARowForEachChange) {
  auto api = server_->client();
  auto pod = [](const std::string& name) {
    return Json{{"metadata", {{"name", name}, {"labels", {{"watch", "yes"}}}}},
                {"spec",
                 {{"nodeSelector", {{"disk", "none"}}},  // stays unscheduled
                  {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  };
  ASSERT_EQ(api->post("/api/v1/namespaces/default/pods", pod("watch-1")).status, 201);

  std::string output = server_->dataDir + "/watch.out";
  std::string command = "(HOME=" + server_->dataDir + " timeout 10 " + kKubectl + " --kubeconfig " +
                        server_->kubeconfig() + " get pods -w -l watch=yes > " + output +
                        " 2>/dev/null)";
  std::thread watcher([command] { runCommand(command); });
  // The initial list has been printed once watch-1's row is there; the
  // watch then starts from that list's resourceVersion.
  bool listed = eventually([&] { return !row(readFile(output), "watch-1").empty(); });
  EXPECT_TRUE(listed) << readFile(output);
  ASSERT_EQ(api->post("/api/v1/namespaces/default/pods", pod("watch-2")).status, 201);
  bool added = eventually([&] { return !row(readFile(output), "watch-2").empty(); });
  EXPECT_TRUE(added) << readFile(output);
  watcher.join();

  std::string out = readFile(output);
  // One header, then a row per event, all in the same columns.
  EXPECT_EQ(header(out), (Tokens{"NAME", "READY", "STATUS", "RESTARTS", "AGE"})) << out;
  int headers = 0;
  for (const auto& line : lines(out)) headers += tokens(line)[0] == "NAME";
  EXPECT_EQ(headers, 1) << out;
  Tokens added2 = row(out, "watch-2");
  ASSERT_EQ(added2.size(), 5u) << out;
  EXPECT_EQ(Tokens(added2.begin() + 1, added2.begin() + 4), (Tokens{"0/1", "Pending", "0"}));
  EXPECT_TRUE(isAge(added2[4])) << out;
}

}  // namespace
}  // namespace podnet::testing
