#include "apiserver/tables.h"

#include <gtest/gtest.h>

#include <deque>

#include "api/object.h"
#include "apiserver/handler.h"

namespace podnet::apiserver {
namespace {

using api::Json;

// Every object below was created at kCreated; rows are printed at kNow,
// five minutes later.
constexpr const char* kCreated = "2026-01-01T00:00:00Z";
const long long kNow = api::parseRfc3339("2026-01-01T00:05:00Z");

Json cells(const char* kind, const Json& obj) { return tableCells(api::resource(kind), obj, kNow); }

Json meta(const char* name, Json extra = Json::object()) {
  Json metadata = {{"name", name}, {"namespace", "default"}, {"creationTimestamp", kCreated}};
  metadata.update(extra);
  return metadata;
}

std::vector<std::string> columnNames(const char* kind, int maxPriority) {
  std::vector<std::string> names;
  for (const auto& column : tableColumns(api::resource(kind)))
    if (column["priority"].get<int>() <= maxPriority) names.push_back(column["name"]);
  return names;
}

using Names = std::vector<std::string>;

TEST(HumanDuration, MatchesUpstream) {
  EXPECT_EQ(humanDuration(-5), "<invalid>");
  EXPECT_EQ(humanDuration(-1), "0s");  // a clock a second ahead is "now"
  EXPECT_EQ(humanDuration(0), "0s");
  EXPECT_EQ(humanDuration(5), "5s");
  EXPECT_EQ(humanDuration(119), "119s");
  EXPECT_EQ(humanDuration(120), "2m");
  EXPECT_EQ(humanDuration(200), "3m20s");
  EXPECT_EQ(humanDuration(599), "9m59s");
  EXPECT_EQ(humanDuration(600), "10m");
  EXPECT_EQ(humanDuration(179 * 60 + 59), "179m");
  EXPECT_EQ(humanDuration(3 * 3600), "3h");
  EXPECT_EQ(humanDuration(3 * 3600 + 5 * 60), "3h5m");
  EXPECT_EQ(humanDuration(8 * 3600 + 59 * 60), "8h");
  EXPECT_EQ(humanDuration(47 * 3600), "47h");
  EXPECT_EQ(humanDuration(48 * 3600), "2d");
  EXPECT_EQ(humanDuration(52 * 3600), "2d4h");
  EXPECT_EQ(humanDuration(8 * 24 * 3600), "8d");
  EXPECT_EQ(humanDuration(400LL * 24 * 3600), "400d");
  EXPECT_EQ(humanDuration(730LL * 24 * 3600), "2y");
  EXPECT_EQ(humanDuration(731LL * 24 * 3600), "2y1d");
  EXPECT_EQ(humanDuration(8LL * 365 * 24 * 3600), "8y");
}

TEST(TableNegotiation, PicksTheFirstServableRepresentation) {
  const char* kubectl =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
      "g=meta.k8s.io,application/json";
  EXPECT_EQ(tableVersionFor(kubectl), "v1");
  EXPECT_EQ(tableVersionFor("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), "v1beta1");
  EXPECT_EQ(tableVersionFor("application/json; as=Table; g=meta.k8s.io; v=v1"), "v1");
  EXPECT_EQ(tableVersionFor("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,"
                            "application/json;as=Table;v=v1;g=meta.k8s.io"),
            "v1");
  EXPECT_EQ(tableVersionFor("application/vnd.kubernetes.protobuf,application/json;as=Table;v=v1;"
                            "g=meta.k8s.io"),
            "v1");
  EXPECT_EQ(tableVersionFor(""), std::nullopt);
  EXPECT_EQ(tableVersionFor("application/json"), std::nullopt);
  EXPECT_EQ(tableVersionFor("application/json,application/json;as=Table;v=v1;g=meta.k8s.io"),
            std::nullopt);
  EXPECT_EQ(tableVersionFor("application/json;as=Table;v=v2;g=meta.k8s.io"), std::nullopt);
  EXPECT_EQ(tableContentType("v1"), "application/json;as=Table;v=v1;g=meta.k8s.io");
}

TEST(TableColumns, AsUpstreamWithWideColumnsAtPriorityOne) {
  EXPECT_EQ(columnNames("Service", 0),
            (Names{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"}));
  EXPECT_EQ(columnNames("Service", 1),
            (Names{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"}));
  EXPECT_EQ(columnNames("Pod", 1), (Names{"Name", "Ready", "Status", "Restarts", "Age", "IP",
                                          "Node", "Nominated Node", "Readiness Gates"}));
  EXPECT_EQ(columnNames("Pod", 0), (Names{"Name", "Ready", "Status", "Restarts", "Age"}));
  EXPECT_EQ(columnNames("Endpoints", 1), (Names{"Name", "Endpoints", "Age"}));
  EXPECT_EQ(columnNames("EndpointSlice", 1),
            (Names{"Name", "AddressType", "Ports", "Endpoints", "Age"}));
  EXPECT_EQ(columnNames("NetworkPolicy", 1), (Names{"Name", "Pod-Selector", "Age"}));
  EXPECT_EQ(columnNames("Ingress", 1),
            (Names{"Name", "Class", "Hosts", "Address", "Ports", "Age"}));
  EXPECT_EQ(columnNames("IngressClass", 1), (Names{"Name", "Controller", "Parameters", "Age"}));
  EXPECT_EQ(columnNames("Deployment", 0),
            (Names{"Name", "Ready", "Up-to-date", "Available", "Age"}));
  EXPECT_EQ(columnNames("Deployment", 1), (Names{"Name", "Ready", "Up-to-date", "Available", "Age",
                                                 "Containers", "Images", "Selector"}));
  EXPECT_EQ(columnNames("ReplicaSet", 1), (Names{"Name", "Desired", "Current", "Ready", "Age",
                                                 "Containers", "Images", "Selector"}));
  EXPECT_EQ(columnNames("Node", 0), (Names{"Name", "Status", "Roles", "Age", "Version"}));
  EXPECT_EQ(columnNames("Node", 1),
            (Names{"Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP",
                   "OS-Image", "Kernel-Version", "Container-Runtime"}));
  EXPECT_EQ(columnNames("Namespace", 1), (Names{"Name", "Status", "Age"}));
  EXPECT_EQ(columnNames("ConfigMap", 1), (Names{"Name", "Data", "Age"}));
  EXPECT_EQ(columnNames("Secret", 1), (Names{"Name", "Type", "Data", "Age"}));
  EXPECT_EQ(columnNames("Event", 0), (Names{"Last Seen", "Type", "Reason", "Object", "Message"}));
  // Every column carries the fields kubectl decodes.
  for (const auto& info : api::builtinResources())
    for (const auto& column : tableColumns(info)) {
      EXPECT_TRUE(column["name"].is_string());
      EXPECT_TRUE(column["type"].is_string());
      EXPECT_TRUE(column["format"].is_string());
      EXPECT_TRUE(column["description"].is_string());
      EXPECT_TRUE(column["priority"].is_number_integer());
    }
}

TEST(TableRows, ServiceTypesPortsAndSelector) {
  Json clusterIP = {
      {"metadata", meta("web")},
      {"spec",
       {{"type", "ClusterIP"},
        {"clusterIP", "10.96.0.10"},
        {"clusterIPs", {"10.96.0.10"}},
        {"selector", {{"tier", "web"}, {"app", "shop"}}},
        {"ports", {{{"port", 80}, {"protocol", "TCP"}}, {{"port", 53}, {"protocol", "UDP"}}}}}}};
  EXPECT_EQ(cells("Service", clusterIP), Json({"web", "ClusterIP", "10.96.0.10", "<none>",
                                               "80/TCP,53/UDP", "5m", "app=shop,tier=web"}));

  Json nodePort = {{"metadata", meta("np")},
                   {"spec",
                    {{"type", "NodePort"},
                     {"clusterIPs", {"10.96.0.11"}},
                     {"externalIPs", {"1.2.3.4"}},
                     {"ports", {{{"port", 80}, {"nodePort", 30080}, {"protocol", "TCP"}}}}}}};
  EXPECT_EQ(cells("Service", nodePort),
            Json({"np", "NodePort", "10.96.0.11", "1.2.3.4", "80:30080/TCP", "5m", "<none>"}));

  Json pending = {{"metadata", meta("lb")},
                  {"spec",
                   {{"type", "LoadBalancer"},
                    {"clusterIPs", {"10.96.0.12"}},
                    {"ports", {{{"port", 443}, {"nodePort", 31443}, {"protocol", "TCP"}}}}}}};
  EXPECT_EQ(cells("Service", pending)[3], "<pending>");
  pending["status"]["loadBalancer"]["ingress"] = {{{"ip", "203.0.113.9"}},
                                                  {{"hostname", "lb.example.com"}}};
  EXPECT_EQ(cells("Service", pending)[3], "203.0.113.9,lb.example.com");

  Json headless = {{"metadata", meta("db")},
                   {"spec", {{"type", "ClusterIP"}, {"clusterIP", "None"}}}};
  EXPECT_EQ(cells("Service", headless),
            Json({"db", "ClusterIP", "None", "<none>", "<none>", "5m", "<none>"}));

  Json external = {{"metadata", meta("ext")},
                   {"spec", {{"type", "ExternalName"}, {"externalName", "example.com"}}}};
  EXPECT_EQ(cells("Service", external),
            Json({"ext", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"}));
}

TEST(TableRows, PodStatusFromContainerStates) {
  Json pod = {{"metadata", meta("web-1")},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "nginx"}}}}}},
              {"status", {{"phase", "Pending"}}}};
  EXPECT_EQ(cells("Pod", pod),
            Json({"web-1", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"}));

  pod["spec"]["nodeName"] = "node-a";
  pod["status"]["containerStatuses"] = {
      {{"name", "app"},
       {"ready", false},
       {"restartCount", 0},
       {"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "ContainerCreating");
  EXPECT_EQ(cells("Pod", pod)[6], "node-a");

  pod["status"]["phase"] = "Running";
  pod["status"]["podIP"] = "10.244.0.5";
  pod["status"]["podIPs"] = {{{"ip", "10.244.0.5"}}};
  pod["status"]["containerStatuses"][0]["ready"] = true;
  pod["status"]["containerStatuses"][0]["state"] = {
      {"running", {{"startedAt", "2026-01-01T00:01:00Z"}}}};
  EXPECT_EQ(cells("Pod", pod), Json({"web-1", "1/1", "Running", "0", "5m", "10.244.0.5", "node-a",
                                     "<none>", "<none>"}));

  // Restarted three times, last at 00:03:00: "3 (2m ago)".
  pod["status"]["containerStatuses"][0]["restartCount"] = 3;
  pod["status"]["containerStatuses"][0]["ready"] = false;
  pod["status"]["containerStatuses"][0]["state"] = {{"waiting", {{"reason", "CrashLoopBackOff"}}}};
  pod["status"]["containerStatuses"][0]["lastState"] = {
      {"terminated", {{"exitCode", 1}, {"finishedAt", "2026-01-01T00:03:00Z"}}}};
  EXPECT_EQ(cells("Pod", pod)[1], "0/1");
  EXPECT_EQ(cells("Pod", pod)[2], "CrashLoopBackOff");
  EXPECT_EQ(cells("Pod", pod)[3], "3 (2m ago)");

  pod["status"]["containerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 137}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "ExitCode:137");
  pod["status"]["containerStatuses"][0]["state"] = {{"terminated", {{"signal", 9}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "Signal:9");

  pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:04:00Z";
  EXPECT_EQ(cells("Pod", pod)[2], "Terminating");
  pod["status"]["phase"] = "Succeeded";
  pod["status"]["containerStatuses"][0]["state"] = {
      {"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "Completed");  // finished pods do not terminate
}

TEST(TableRows, PodInitContainersAndReadinessGates) {
  Json pod = {{"metadata", meta("init")},
              {"spec",
               {{"initContainers", {{{"name", "setup"}}, {{"name", "migrate"}}}},
                {"containers", {{{"name", "app"}}, {{"name", "sidecar"}}}},
                {"readinessGates", {{{"conditionType", "example.com/ready"}}}}}},
              {"status",
               {{"phase", "Pending"},
                {"conditions", {{{"type", "example.com/ready"}, {"status", "False"}}}},
                {"initContainerStatuses",
                 {{{"name", "setup"}, {"state", {{"terminated", {{"exitCode", 0}}}}}},
                  {{"name", "migrate"}, {"state", {{"running", Json::object()}}}}}}}}};
  EXPECT_EQ(cells("Pod", pod)[1], "0/2");
  EXPECT_EQ(cells("Pod", pod)[2], "Init:1/2");
  EXPECT_EQ(cells("Pod", pod)[8], "0/1");
  pod["status"]["initContainerStatuses"][1]["state"] = {
      {"terminated", {{"exitCode", 2}, {"reason", "Error"}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "Init:Error");
  pod["status"]["initContainerStatuses"][1]["state"] = {
      {"waiting", {{"reason", "ImagePullBackOff"}}}};
  EXPECT_EQ(cells("Pod", pod)[2], "Init:ImagePullBackOff");
}

TEST(TableRows, EndpointsListTheFirstThreeAddresses) {
  Json endpoints = {{"metadata", meta("web")}};
  EXPECT_EQ(cells("Endpoints", endpoints), Json({"web", "<none>", "5m"}));
  endpoints["subsets"] = {{{"addresses", {{{"ip", "10.244.0.5"}}, {{"ip", "10.244.1.7"}}}},
                           {"ports", {{{"port", 8080}, {"protocol", "TCP"}}}}}};
  EXPECT_EQ(cells("Endpoints", endpoints), Json({"web", "10.244.0.5:8080,10.244.1.7:8080", "5m"}));
  endpoints["subsets"][0]["addresses"].push_back({{"ip", "10.244.2.1"}});
  endpoints["subsets"][0]["addresses"].push_back({{"ip", "10.244.2.2"}});
  endpoints["subsets"][0]["addresses"].push_back({{"ip", "fd00::1"}});
  EXPECT_EQ(cells("Endpoints", endpoints)[1],
            "10.244.0.5:8080,10.244.1.7:8080,10.244.2.1:8080 + 2 more...");
  Json ipv6 = {{"metadata", meta("v6")},
               {"subsets", {{{"addresses", {{{"ip", "fd00::1"}}}}, {"ports", {{{"port", 80}}}}}}}};
  EXPECT_EQ(cells("Endpoints", ipv6)[1], "[fd00::1]:80");
  Json headless = {{"metadata", meta("h")}, {"subsets", {{{"addresses", {{{"ip", "10.0.0.1"}}}}}}}};
  EXPECT_EQ(cells("Endpoints", headless)[1], "10.0.0.1");
}

TEST(TableRows, EndpointSlices) {
  Json slice = {{"metadata", meta("web-abc12")}, {"addressType", "IPv4"}};
  EXPECT_EQ(cells("EndpointSlice", slice), Json({"web-abc12", "IPv4", "<unset>", "<unset>", "5m"}));
  slice["ports"] = {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}},
                    {{"name", "metrics"}},
                    Json::object()};
  slice["endpoints"] = Json::array();
  for (int i = 1; i <= 5; ++i)
    slice["endpoints"].push_back({{"addresses", {"10.244.0." + std::to_string(i)}}});
  EXPECT_EQ(cells("EndpointSlice", slice),
            Json({"web-abc12", "IPv4", "8080,metrics,*",
                  "10.244.0.1,10.244.0.2,10.244.0.3 + 2 more...", "5m"}));
}

TEST(TableRows, NetworkPoliciesIngressesAndClasses) {
  Json all = {{"metadata", meta("deny-all")}, {"spec", {{"podSelector", Json::object()}}}};
  EXPECT_EQ(cells("NetworkPolicy", all), Json({"deny-all", "<none>", "5m"}));
  Json selected = {{"metadata", meta("db")},
                   {"spec",
                    {{"podSelector",
                      {{"matchLabels", {{"tier", "db"}}},
                       {"matchExpressions",
                        {{{"key", "env"}, {"operator", "In"}, {"values", {"prod", "dev"}}},
                         {{"key", "zone"}, {"operator", "DoesNotExist"}}}}}}}}};
  EXPECT_EQ(cells("NetworkPolicy", selected)[1], "env in (dev,prod),tier=db,!zone");

  Json ingress = {{"metadata", meta("shop")},
                  {"spec",
                   {{"ingressClassName", "nginx"},
                    {"rules", {{{"host", "shop.example.com"}}, Json::object()}},
                    {"tls", {{{"hosts", {"shop.example.com"}}}}}}}};
  EXPECT_EQ(cells("Ingress", ingress),
            Json({"shop", "nginx", "shop.example.com", "", "80, 443", "5m"}));
  Json plain = {{"metadata", meta("plain")}, {"spec", Json::object()}};
  plain["status"]["loadBalancer"]["ingress"] = {{{"ip", "192.168.1.10"}}};
  EXPECT_EQ(cells("Ingress", plain), Json({"plain", "<none>", "*", "192.168.1.10", "80", "5m"}));
  Json many = {{"metadata", meta("many")}, {"spec", {{"rules", Json::array()}}}};
  for (const char* host : {"a.io", "b.io", "c.io", "d.io", "e.io"})
    many["spec"]["rules"].push_back({{"host", host}});
  EXPECT_EQ(cells("Ingress", many)[2], "a.io,b.io,c.io + 2 more...");

  Json ingressClass = {{"metadata", meta("nginx")},
                       {"spec", {{"controller", "k8s.io/ingress-nginx"}}}};
  EXPECT_EQ(cells("IngressClass", ingressClass),
            Json({"nginx", "k8s.io/ingress-nginx", "<none>", "5m"}));
  ingressClass["spec"]["parameters"] = {
      {"apiGroup", "k8s.example.com"}, {"kind", "IngressParameters"}, {"name", "external-lb"}};
  EXPECT_EQ(cells("IngressClass", ingressClass)[2],
            "IngressParameters.k8s.example.com/external-lb");
}

TEST(TableRows, DeploymentsAndReplicaSets) {
  Json deployment = {
      {"metadata", meta("web")},
      {"spec",
       {{"replicas", 3},
        {"selector", {{"matchLabels", {{"app", "web"}}}}},
        {"template",
         {{"spec",
           {{"containers",
             {{{"name", "app"}, {"image", "nginx:1.27"}},
              {{"name", "log"}, {"image", "busybox"}}}}}}}}}},
      {"status", {{"readyReplicas", 2}, {"updatedReplicas", 3}, {"availableReplicas", 2}}}};
  EXPECT_EQ(cells("Deployment", deployment),
            Json({"web", "2/3", 3, 2, "5m", "app,log", "nginx:1.27,busybox", "app=web"}));
  Json fresh = {{"metadata", meta("fresh")}, {"spec", {{"replicas", 1}}}};
  EXPECT_EQ(cells("Deployment", fresh), Json({"fresh", "0/1", 0, 0, "5m", "", "", ""}));

  Json replicaSet = {
      {"metadata", meta("web-5d4f8")},
      {"spec",
       {{"replicas", 3},
        {"selector", {{"matchLabels", {{"app", "web"}, {"pod-template-hash", "5d4f8"}}}}},
        {"template", {{"spec", {{"containers", {{{"name", "app"}, {"image", "nginx"}}}}}}}}}},
      {"status", {{"replicas", 3}, {"readyReplicas", 1}}}};
  EXPECT_EQ(cells("ReplicaSet", replicaSet),
            Json({"web-5d4f8", 3, 3, 1, "5m", "app", "nginx", "app=web,pod-template-hash=5d4f8"}));
}

TEST(TableRows, NodesNamespacesConfigMapsSecrets) {
  Json node = {{"metadata",
                {{"name", "node-a"},
                 {"creationTimestamp", "2025-12-30T00:05:00Z"},
                 {"labels",
                  {{"node-role.kubernetes.io/control-plane", ""},
                   {"node-role.kubernetes.io/worker", ""},
                   {"kubernetes.io/hostname", "node-a"}}}}},
               {"spec", {{"unschedulable", true}}},
               {"status",
                {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                 {"addresses",
                  {{{"type", "InternalIP"}, {"address", "192.168.1.5"}},
                   {{"type", "Hostname"}, {"address", "node-a"}}}},
                 {"nodeInfo",
                  {{"kubeletVersion", "v1.32.0-podnet"},
                   {"osImage", "Debian GNU/Linux 12 (bookworm)"},
                   {"kernelVersion", "6.1.0"}}}}}};
  EXPECT_EQ(cells("Node", node), Json({"node-a", "Ready,SchedulingDisabled", "control-plane,worker",
                                       "2d", "v1.32.0-podnet", "192.168.1.5", "<none>",
                                       "Debian GNU/Linux 12 (bookworm)", "6.1.0", "<unknown>"}));
  Json unknown = {{"metadata", {{"name", "node-b"}}}};
  EXPECT_EQ(cells("Node", unknown), Json({"node-b", "Unknown", "<none>", "<unknown>", "", "<none>",
                                          "<none>", "<unknown>", "<unknown>", "<unknown>"}));
  unknown["status"]["conditions"] = {{{"type", "Ready"}, {"status", "False"}}};
  EXPECT_EQ(cells("Node", unknown)[1], "NotReady");

  Json ns = {{"metadata", meta("team-a")}, {"status", {{"phase", "Active"}}}};
  EXPECT_EQ(cells("Namespace", ns), Json({"team-a", "Active", "5m"}));
  Json configMap = {{"metadata", meta("settings")},
                    {"data", {{"a", "1"}, {"b", "2"}}},
                    {"binaryData", {{"c", "AA=="}}}};
  EXPECT_EQ(cells("ConfigMap", configMap), Json({"settings", 3, "5m"}));
  EXPECT_EQ(cells("ConfigMap", Json{{"metadata", meta("empty")}}), Json({"empty", 0, "5m"}));
  Json secret = {{"metadata", meta("token")}, {"type", "Opaque"}, {"data", {{"t", "eA=="}}}};
  EXPECT_EQ(cells("Secret", secret), Json({"token", "Opaque", 1, "5m"}));
}

TEST(TableRows, Events) {
  Json event = {{"metadata", meta("web.17a")},
                {"type", "Normal"},
                {"reason", "Scheduled"},
                {"message", "Successfully assigned default/web to node-a\n"},
                {"involvedObject", {{"kind", "Pod"}, {"name", "web"}}},
                {"source", {{"component", "default-scheduler"}}},
                {"firstTimestamp", "2026-01-01T00:01:00Z"},
                {"lastTimestamp", "2026-01-01T00:04:00Z"},
                {"count", 2}};
  EXPECT_EQ(cells("Event", event),
            Json({"60s", "Normal", "Scheduled", "pod/web", "", "default-scheduler",
                  "Successfully assigned default/web to node-a", "4m", 2, "web.17a"}));
  Json newApi = {{"metadata", meta("x")},
                 {"eventTime", "2026-01-01T00:04:30.123456Z"},
                 {"reportingComponent", "podnet-controller"},
                 {"reportingInstance", "host-1"},
                 {"involvedObject", {{"kind", "Node"}}}};
  EXPECT_EQ(cells("Event", newApi),
            Json({"30s", "", "", "node", "", "podnet-controller, host-1", "", "30s", 1, "x"}));
}

TEST(Table, FromAListWithRowObjects) {
  Json list = {{"kind", "ConfigMapList"},
               {"apiVersion", "v1"},
               {"metadata", {{"resourceVersion", "42"}, {"continue", "next"}}},
               {"items",
                {{{"kind", "ConfigMap"},
                  {"metadata", meta("a", {{"labels", {{"app", "x"}}}})},
                  {"data", {{"k", "v"}}}}}}};
  TableOptions options;
  options.now = kNow;
  Json table = toTable(api::resource("ConfigMap"), list, options);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(table["metadata"], Json({{"resourceVersion", "42"}, {"continue", "next"}}));
  EXPECT_EQ(table["columnDefinitions"].size(), 3u);
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["cells"], Json({"a", 1, "5m"}));
  // kubectl reads names, namespaces and labels (-A, --show-labels) from here
  Json object = table["rows"][0]["object"];
  EXPECT_EQ(object["kind"], "PartialObjectMetadata");
  EXPECT_EQ(object["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(object["metadata"]["labels"]["app"], "x");
  EXPECT_EQ(object["metadata"]["namespace"], "default");
  EXPECT_FALSE(object.contains("data"));

  options.version = "v1beta1";
  options.includeObject = IncludeObject::Object;
  table = toTable(api::resource("ConfigMap"), list, options);
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1beta1");
  EXPECT_EQ(table["rows"][0]["object"]["data"]["k"], "v");
  options.includeObject = IncludeObject::None;
  table = toTable(api::resource("ConfigMap"), list, options);
  EXPECT_FALSE(table["rows"][0].contains("object"));

  Json single = list["items"][0];
  single["metadata"]["resourceVersion"] = "7";
  table = toTable(api::resource("ConfigMap"), single, options);
  EXPECT_EQ(table["metadata"], Json({{"resourceVersion", "7"}}));
  EXPECT_EQ(table["rows"].size(), 1u);

  EXPECT_EQ(includeObjectFrom("").value(), IncludeObject::Metadata);
  EXPECT_EQ(includeObjectFrom("Object").value(), IncludeObject::Object);
  EXPECT_EQ(includeObjectFrom("bogus").error().code, 400);
}

TEST(Table, CompletedPodsCarryARowCondition) {
  Json pod = {{"metadata", meta("job")}, {"status", {{"phase", "Succeeded"}}}};
  TableOptions options;
  options.now = kNow;
  Json table = toTable(api::resource("Pod"), pod, options);
  EXPECT_EQ(table["rows"][0]["conditions"][0]["type"], "Completed");
  EXPECT_EQ(table["rows"][0]["conditions"][0]["reason"], "Succeeded");
}

TEST(Table, WatchEventsSendColumnsOnlyFirst) {
  TableOptions options;
  options.now = kNow;
  TableWatchEncoder encoder(api::resource("Pod"), options);
  Json pod = {{"metadata", meta("p", {{"resourceVersion", "5"}})}};
  Json first = encoder.encode("ADDED", pod);
  EXPECT_EQ(first["kind"], "Table");
  EXPECT_EQ(first["columnDefinitions"].size(), 9u);
  ASSERT_EQ(first["rows"].size(), 1u);
  EXPECT_EQ(first["rows"][0]["cells"][0], "p");
  EXPECT_EQ(first["metadata"]["resourceVersion"], "5");
  Json second = encoder.encode("MODIFIED", pod);
  EXPECT_FALSE(second.contains("columnDefinitions"));
  EXPECT_EQ(second["rows"].size(), 1u);
  Json status = {{"kind", "Status"}, {"code", 410}};
  EXPECT_EQ(encoder.encode("ERROR", status), status);
  Json bookmark =
      encoder.encode("BOOKMARK", {{"kind", "Pod"}, {"metadata", {{"resourceVersion", "9"}}}});
  EXPECT_EQ(bookmark["rows"].size(), 0u);
  EXPECT_EQ(bookmark["metadata"]["resourceVersion"], "9");
}

// ------------------------------------------------------ through the handler

// Just enough of client::Client for reads: a fixed set of objects and one
// scripted watch event.
class ReadOnlyClient : public client::Client {
 public:
  core::Result<Json> create(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> get(const api::ResourceInfo& resource, std::string_view,
                         std::string_view name) override {
    for (const auto& obj : objects)
      if (api::name(obj) == name) return obj;
    return core::notFound(resource.group, resource.plural, std::string(name));
  }
  core::Result<Json> update(const api::ResourceInfo&, std::string_view, Json,
                            const client::WriteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> remove(const api::ResourceInfo&, std::string_view, std::string_view,
                            const client::DeleteOptions&) override {
    return core::internal("read-only");
  }
  core::Result<Json> list(const api::ResourceInfo& resource, std::string_view,
                          const client::ListOptions&) override {
    return Json{{"kind", resource.listKind()},
                {"metadata", {{"resourceVersion", "100"}}},
                {"items", objects}};
  }
  class OneShotWatcher : public client::Watcher {
   public:
    explicit OneShotWatcher(std::vector<client::WatchEvent> events) : events_(std::move(events)) {}
    core::Result<std::vector<client::WatchEvent>> next(std::chrono::milliseconds) override {
      return std::exchange(events_, {});
    }

   private:
    std::vector<client::WatchEvent> events_;
  };
  core::Result<std::unique_ptr<client::Watcher>> watch(const api::ResourceInfo&, std::string_view,
                                                       const client::ListOptions&) override {
    std::vector<client::WatchEvent> events;
    for (const auto& obj : objects) events.push_back({"ADDED", obj});
    return std::unique_ptr<client::Watcher>(new OneShotWatcher(std::move(events)));
  }

  Json objects = Json::array();
};

class TableHandlerTest : public ::testing::Test {
 protected:
  TableHandlerTest()
      : handler_(
            client_,
            [](const api::ResourceInfo&, std::string_view, std::string_view,
               const std::function<core::Status(Json&)>&,
               const client::WriteOptions&) -> core::Result<Json> {
              return core::internal("read-only");
            },
            HandlerOptions{}) {
    client_.objects.push_back({{"kind", "Service"},
                               {"apiVersion", "v1"},
                               {"metadata", meta("web", {{"resourceVersion", "11"}})},
                               {"spec",
                                {{"type", "ClusterIP"},
                                 {"clusterIPs", {"10.96.0.20"}},
                                 {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}}});
  }

  HttpResponse get(const std::string& target, const std::string& accept) {
    HttpRequest request;
    request.method = "GET";
    request.target = target;
    request.accept = accept;
    return handler_.handle(request);
  }

  static constexpr const char* kTableAccept =
      "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
      "g=meta.k8s.io,application/json";
  ReadOnlyClient client_;
  Handler handler_;
};

TEST_F(TableHandlerTest, ListAndGetAnswerTablesWhenAsked) {
  auto list = get("/api/v1/namespaces/default/services?limit=500", kTableAccept);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.contentType, "application/json;as=Table;v=v1;g=meta.k8s.io");
  Json table = Json::parse(list.body);
  EXPECT_EQ(table["metadata"]["resourceVersion"], "100");
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["cells"][0], "web");
  EXPECT_EQ(table["rows"][0]["cells"][2], "10.96.0.20");
  EXPECT_EQ(table["rows"][0]["cells"][4], "80/TCP");

  auto one = get("/api/v1/namespaces/default/services/web", kTableAccept);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json::parse(one.body)["metadata"]["resourceVersion"], "11");
  EXPECT_EQ(Json::parse(one.body)["rows"].size(), 1u);

  auto beta = get("/api/v1/namespaces/default/services",
                  "application/json;as=Table;v=v1beta1;g=meta.k8s.io");
  EXPECT_EQ(beta.contentType, "application/json;as=Table;v=v1beta1;g=meta.k8s.io");
  EXPECT_EQ(Json::parse(beta.body)["apiVersion"], "meta.k8s.io/v1beta1");

  auto plain = get("/api/v1/namespaces/default/services", "application/json");
  EXPECT_EQ(plain.contentType, "application/json");
  EXPECT_EQ(Json::parse(plain.body)["kind"], "ServiceList");

  auto bad = get("/api/v1/namespaces/default/services?includeObject=All", kTableAccept);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(get("/api/v1/namespaces/default/services/nope", kTableAccept).status, 404);
}

TEST_F(TableHandlerTest, WatchSendsOneRowTables) {
  auto response =
      get("/api/v1/namespaces/default/services?watch=true&resourceVersion=100", kTableAccept);
  ASSERT_EQ(response.status, 200) << response.body;
  ASSERT_TRUE(response.watch);
  std::string out;
  response.watch->next(std::chrono::milliseconds(10), out);
  Json event = Json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(event["type"], "ADDED");
  EXPECT_EQ(event["object"]["kind"], "Table");
  EXPECT_EQ(event["object"]["columnDefinitions"].size(), 7u);
  EXPECT_EQ(event["object"]["rows"][0]["cells"][0], "web");

  auto plain = get("/api/v1/namespaces/default/services?watch=true", "application/json");
  ASSERT_TRUE(plain.watch);
  out.clear();
  plain.watch->next(std::chrono::milliseconds(10), out);
  EXPECT_EQ(Json::parse(out.substr(0, out.find('\n')))["object"]["kind"], "Service");
}

}  // namespace
}  // namespace podnet::apiserver
