// Metrics end to end on a `podnet up` cluster: every long-running component
// serves /metrics where operators look for it (agents on 127.0.0.1:10249 of
// their node as kube-proxy, the cluster DNS on :9153 as CoreDNS, the ingress
// proxy on :10254 as ingress-nginx), each read by the strict exposition
// reader, with counters that move when the matching thing happens.
#include <filesystem>
#include <fstream>

#include "cluster_fixture.h"
#include "prometheus_text.h"

namespace {

using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::parsePromText;
using podnet::testing::PromText;
using podnet::testing::runCommand;

class MetricsE2E : public podnet::testing::ClusterTest {
 protected:
  // Parsed by the strict reader, and checked by Prometheus's own promtool
  // when it is installed (scripts/setup.sh installs it).
  PromText checked(const std::string& text) {
    PromText parsed = parsePromText(text);
    if (parsed.error.empty() && std::filesystem::exists("/usr/bin/promtool")) {
      std::filesystem::path file = work() / "scrape.prom";
      std::ofstream(file) << text;
      auto [code, out] = runCommand("/usr/bin/promtool check metrics < " + file.string() + " 2>&1");
      if (code != 0) parsed.error = "promtool: " + out;
    }
    return parsed;
  }
  PromText agentMetrics(const std::string& node) {
    return checked(
        runCommand("ip netns exec " + node + " curl -s -m 5 http://127.0.0.1:10249/metrics")
            .second);
  }
  // /metrics of a kube-system pod, from inside it.
  PromText podMetrics(const std::string& selector, int port) {
    std::string pod = jsonpath("pods -n kube-system -l " + selector, "{.items[0].metadata.name}");
    return checked(kubectl("exec -n kube-system " + pod +
                           " -- curl -s -m 5 http://127.0.0.1:" + std::to_string(port) + "/metrics")
                       .second);
  }
};

TEST_F(MetricsE2E, EveryComponentServesValidMetricsThatMove) {
  // The agents: kube-proxy's names; a first sync is recorded.
  PromText before;
  ASSERT_TRUE(eventually(
      [&] {
        before = agentMetrics("podnet-node-1");
        return before.error.empty() &&
               before.sum("kubeproxy_sync_proxy_rules_duration_seconds_count") > 0;
      },
      std::chrono::seconds(20)))
      << before.error;
  EXPECT_EQ(before.families["kubeproxy_sync_proxy_rules_duration_seconds"].type, "histogram");
  EXPECT_GT(*before.value("kubeproxy_sync_proxy_rules_last_timestamp_seconds"), 1.7e9);
  EXPECT_GE(*before.value("podnet_proxy_services"), 2);  // kubernetes, kube-dns, ...
  PromText node2 = agentMetrics("podnet-node-2");
  EXPECT_EQ(node2.error, "");
  // kubelet's pod metrics: kube-dns and the ingress controller run somewhere.
  EXPECT_TRUE(eventually(
      [&] {
        PromText one = agentMetrics("podnet-node-1"), two = agentMetrics("podnet-node-2");
        return one.sum("kubelet_running_pods") + two.sum("kubelet_running_pods") >= 2 &&
               one.sum("kubelet_pod_start_duration_seconds_count") +
                       two.sum("kubelet_pod_start_duration_seconds_count") >=
                   2;
      },
      std::chrono::seconds(20)));
  // A new Service: one more change seen, and a sync after it.
  ASSERT_EQ(kubectl("create service clusterip metrics-demo --tcp=80:8080").first, 0);
  PromText after;
  EXPECT_TRUE(eventually(
      [&] {
        after = agentMetrics("podnet-node-1");
        return after.error.empty() &&
               after.sum("kubeproxy_sync_proxy_rules_service_changes_total") >
                   before.sum("kubeproxy_sync_proxy_rules_service_changes_total") &&
               after.sum("kubeproxy_sync_proxy_rules_duration_seconds_count") >
                   before.sum("kubeproxy_sync_proxy_rules_duration_seconds_count") &&
               after.sum("podnet_proxy_services") == before.sum("podnet_proxy_services") + 1;
      },
      std::chrono::seconds(20)))
      << after.error;

  // The cluster DNS: CoreDNS's names; its own lookups counted.
  PromText dns;
  ASSERT_TRUE(eventually(
      [&] {
        dns = podMetrics("k8s-app=kube-dns", 9153);
        return dns.error.empty() && dns.families.count("coredns_dns_requests_total");
      },
      std::chrono::seconds(20)))
      << dns.error;
  EXPECT_EQ(dns.families["coredns_dns_request_duration_seconds"].type, "histogram");

  // The API server, as Prometheus scrapes it with the admin's token.
  PromText server = checked(kubectl("get --raw /metrics").second);
  EXPECT_EQ(server.error, "");
  EXPECT_GT(server.sum("apiserver_request_total"), 0);

  // The ingress proxy: a request to the ingress address is counted.
  PromText ingress = podMetrics("app.kubernetes.io/name=podnet-ingress", 10254);
  ASSERT_EQ(ingress.error, "");
  double requests = ingress.sum("podnet_ingress_requests_total");
  runCommand("curl -s -m 5 -o /dev/null http://172.30.0.250/");
  ingress = podMetrics("app.kubernetes.io/name=podnet-ingress", 10254);
  ASSERT_EQ(ingress.error, "");
  EXPECT_EQ(ingress.sum("podnet_ingress_requests_total"), requests + 1);
}

}  // namespace
