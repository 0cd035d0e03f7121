// The read-only consumers' transforms: what a proxy, DNS or service links
// read stays; what writers keep for themselves (managedFields, annotations
// such as kubectl's last-applied-configuration, targetRef) goes.
#include "client/transforms.h"

#include <gtest/gtest.h>

namespace podnet::client {
namespace {

Json metadata() {
  return {{"name", "web"},
          {"namespace", "shop"},
          {"uid", "u-1"},
          {"resourceVersion", "42"},
          {"labels", {{"app", "web"}}},
          {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{...}"}}},
          {"managedFields", Json::array({{{"manager", "kubectl"}}})},
          {"creationTimestamp", "2026-12-07T00:00:00Z"},
          {"generation", 3},
          {"ownerReferences", Json::array({{{"kind", "Deployment"}}})}};
}

const Json kKeptMetadata = {{"name", "web"},
                            {"namespace", "shop"},
                            {"uid", "u-1"},
                            {"resourceVersion", "42"},
                            {"labels", {{"app", "web"}}}};

TEST(Transforms, ServicesKeepSpecMetadataForReadersAndTheirLoadBalancer) {
  Json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", metadata()},
                  {"spec", {{"clusterIP", "10.96.0.7"}, {"ports", {{{"port", 80}}}}}},
                  {"status",
                   {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}}}}}},
                    {"conditions", Json::array({{{"type", "x"}}})}}}};
  keepServiceRouting(service);
  EXPECT_EQ(service["metadata"], kKeptMetadata);
  EXPECT_EQ(service["spec"]["clusterIP"], "10.96.0.7");
  EXPECT_EQ(service["status"], (Json{{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.200"}}}}}}}));
  Json bare = {{"metadata", {{"name", "x"}}}, {"status", {{"conditions", Json::array()}}}};
  keepServiceRouting(bare);
  EXPECT_FALSE(bare.contains("status"));
}

TEST(Transforms, EndpointSlicesKeepWhatRoutesAndNames) {
  Json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                {"kind", "EndpointSlice"},
                {"metadata", metadata()},
                {"addressType", "IPv4"},
                {"ports", {{{"name", "http"}, {"port", 8080}}}},
                {"endpoints",
                 {{{"addresses", {"10.244.0.5"}},
                   {"conditions", {{"ready", true}}},
                   {"hostname", "web-0"},
                   {"nodeName", "node-1"},
                   {"zone", "a"},
                   {"targetRef", {{"kind", "Pod"}, {"name", "web-0"}, {"uid", "p-1"}}},
                   {"deprecatedTopology", {{"k", "v"}}}}}}};
  keepEndpointSliceRouting(slice);
  EXPECT_EQ(slice["metadata"], kKeptMetadata);
  EXPECT_EQ(slice["ports"][0]["port"], 8080);
  EXPECT_EQ(slice["endpoints"][0], (Json{{"addresses", {"10.244.0.5"}},
                                         {"conditions", {{"ready", true}}},
                                         {"hostname", "web-0"},
                                         {"nodeName", "node-1"},
                                         {"zone", "a"}}));
}

TEST(Transforms, PodsKeepTheirAddressesAndReadiness) {
  Json pod = {{"metadata", metadata()},
              {"spec",
               {{"hostname", "h"},
                {"subdomain", "s"},
                {"containers", {{{"name", "c"}, {"image", "busybox"}}}}}},
              {"status",
               {{"phase", "Running"},
                {"podIP", "10.244.0.9"},
                {"podIPs", {{{"ip", "10.244.0.9"}}}},
                {"hostIP", "172.30.0.11"},
                {"conditions",
                 {{{"type", "PodScheduled"}, {"status", "True"}},
                  {{"type", "Ready"}, {"status", "False"}, {"reason", "ContainersNotReady"}}}},
                {"containerStatuses", Json::array({{{"name", "c"}}})}}}};
  keepPodAddressing(pod);
  EXPECT_EQ(pod["spec"], (Json{{"hostname", "h"}, {"subdomain", "s"}}));
  EXPECT_EQ(pod["status"], (Json{{"phase", "Running"},
                                 {"podIP", "10.244.0.9"},
                                 {"podIPs", {{{"ip", "10.244.0.9"}}}},
                                 {"conditions", {{{"type", "Ready"}, {"status", "False"}}}}}));
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", metadata()}, {"spec", {}}};
  keepMetadataOnly(ns);
  EXPECT_EQ(ns, (Json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", kKeptMetadata}}));
}

TEST(Transforms, MalformedObjectsAreLeftAlone) {
  for (Json odd : {Json(), Json(7), Json::array(), Json{{"metadata", "text"}},
                   Json{{"endpoints", "nope"}}, Json{{"status", {{"conditions", 3}}}}}) {
    Json copy = odd;
    keepServiceRouting(copy);
    copy = odd;
    keepEndpointSliceRouting(copy);
    copy = odd;
    keepPodAddressing(copy);
    copy = odd;
    keepMetadataOnly(copy);
    // What is not an object is not touched at all.
    if (!odd.is_object()) {
      for (auto transform :
           {keepServiceRouting, keepEndpointSliceRouting, keepPodAddressing, keepMetadataOnly}) {
        copy = odd;
        transform(copy);
        EXPECT_EQ(copy, odd) << odd.dump();
      }
    }
  }
}

}  // namespace
}  // namespace podnet::client
