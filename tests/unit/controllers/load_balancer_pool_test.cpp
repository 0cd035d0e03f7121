// The LoadBalancer pool: the flag's parser, the allocator and the
// per-Service decision, without a store.
#include "controllers/load_balancer_pool.h"

#include <gtest/gtest.h>

#include <set>

namespace podnet::controllers {
namespace {

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

LoadBalancerPool pool(const char* text) {
  auto parsed = LoadBalancerPool::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? *parsed : LoadBalancerPool{};
}

std::string parseError(const char* text) {
  auto parsed = LoadBalancerPool::parse(text);
  return parsed.ok() ? "" : parsed.error().message;
}

Json loadBalancer(const char* name, Json spec = Json::object()) {
  spec["type"] = "LoadBalancer";
  if (!spec.contains("ipFamilies")) spec["ipFamilies"] = {"IPv4"};
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", spec}};
}

std::vector<std::string> texts(const std::vector<core::IpAddress>& ips) {
  std::vector<std::string> out;
  for (const auto& address : ips) out.push_back(address.toString());
  return out;
}

TEST(LoadBalancerPoolParse, CidrsRangesAndSingleAddresses) {
  auto p = pool("172.30.0.200-172.30.0.250, 10.0.0.0/28,fd00::/120,192.168.1.7");
  ASSERT_EQ(p.ranges().size(), 4u);
  EXPECT_EQ(p.toString(),
            "10.0.0.0-10.0.0.15,172.30.0.200-172.30.0.250,192.168.1.7,fd00::-fd00::ff");
  EXPECT_EQ(p.size(false), 16u + 51u + 1u);
  EXPECT_EQ(p.size(true), 256u);
  EXPECT_TRUE(p.contains(ip("10.0.0.0")));  // every address of a CIDR, as MetalLB
  EXPECT_TRUE(p.contains(ip("10.0.0.15")));
  EXPECT_FALSE(p.contains(ip("10.0.0.16")));
  EXPECT_TRUE(p.contains(ip("172.30.0.250")));
  EXPECT_FALSE(p.contains(ip("172.30.0.199")));
  EXPECT_TRUE(p.contains(ip("fd00::ff")));
  EXPECT_FALSE(p.contains(ip("fd00::100")));
  EXPECT_FALSE(p.contains(ip("::ffff:10.0.0.1")));  // an IPv6 address is not the IPv4 one
  EXPECT_TRUE(p.hasFamily(true));
}

TEST(LoadBalancerPoolParse, EmptyIsNoPool) {
  EXPECT_TRUE(pool("").empty());
  EXPECT_TRUE(pool("  ").empty());
  EXPECT_FALSE(pool("").hasFamily(false));
}

TEST(LoadBalancerPoolParse, HugeIpv6RangesSaturate) {
  auto p = pool("2001:db8::/64,2001:db9::/32");
  EXPECT_EQ(p.size(true), UINT64_MAX);
  EXPECT_EQ(pool("::/0").size(true), UINT64_MAX);
  EXPECT_EQ(pool("0.0.0.0/0").size(false), uint64_t(1) << 32);
}

TEST(LoadBalancerPoolParse, ErrorsSayWhatIsWrong) {
  EXPECT_NE(parseError("10.0.0.0/33").find("is not a CIDR"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.5/28").find("host bits set; the network is 10.0.0.0/28"),
            std::string::npos);
  EXPECT_NE(parseError("10.0.0.9-10.0.0.1").find("ends before it starts"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.1-fd00::1").find("mixes IPv4 and IPv6"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.1-").find("is not a range"), std::string::npos);
  EXPECT_NE(parseError("pool-a").find("is not a range"), std::string::npos);
  EXPECT_NE(parseError("banana").find("neither a CIDR"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.0/28,,10.1.0.0/28").find("empty range"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.0/28,").find("empty range"), std::string::npos);
  EXPECT_NE(parseError("10.0.0.0/28,10.0.0.10-10.0.0.20").find("overlap"), std::string::npos);
  EXPECT_NE(parseError("fd00::/64,fd00::5").find("overlap"), std::string::npos);
  EXPECT_EQ(parseError("10.0.0.0/28,10.0.0.16-10.0.0.20"), "");  // adjacent is fine
  EXPECT_EQ(parseError("999.1.1.1-999.1.1.2"),
            "\"999.1.1.1-999.1.1.2\" is not a range such as 172.30.0.200-172.30.0.250");
}

TEST(LoadBalancerIpam, HandsOutTheLowestFreeAddressUntilExhausted) {
  LoadBalancerIpam ipam(pool("10.0.0.0/30,10.0.1.7"));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto next = ipam.assignNext(false, "default/s" + std::to_string(i));
    ASSERT_TRUE(next);
    got.push_back(next->toString());
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.7"}));
  EXPECT_FALSE(ipam.assignNext(false, "default/late"));
  EXPECT_FALSE(ipam.assignNext(true, "default/late"));  // no IPv6 in the pool
  EXPECT_EQ(ipam.used(false), 5u);
  ipam.release(ip("10.0.0.2"), "default/someone-else");  // not theirs: nothing happens
  EXPECT_EQ(ipam.ownerOf(ip("10.0.0.2")), "default/s2");
  EXPECT_TRUE(ipam.releaseAll("default/s2"));
  EXPECT_FALSE(ipam.releaseAll("default/s2"));
  EXPECT_EQ(ipam.assignNext(false, "default/late")->toString(), "10.0.0.2");
}

TEST(LoadBalancerIpam, SpecificAddresses) {
  LoadBalancerIpam ipam(pool("10.0.0.0/29"));
  EXPECT_EQ(ipam.assign(ip("10.0.0.5"), "a/x"), PoolOutcome::Allocated);
  EXPECT_EQ(ipam.assign(ip("10.0.0.5"), "a/x"), PoolOutcome::Allocated);  // already its own
  EXPECT_EQ(ipam.assign(ip("10.0.0.5"), "a/y"), PoolOutcome::Taken);
  EXPECT_EQ(ipam.assign(ip("10.0.0.8"), "a/y"), PoolOutcome::OutOfPool);
  EXPECT_EQ(ipam.assign(ip("fd00::1"), "a/y"), PoolOutcome::OutOfPool);
  EXPECT_EQ(texts(ipam.heldBy("a/x")), (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_TRUE(ipam.heldBy("a/y").empty());
}

TEST(LoadBalancerIpam, EndOfTheAddressSpaceDoesNotWrap) {
  LoadBalancerIpam ipam(pool("255.255.255.254/31,ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"));
  EXPECT_TRUE(ipam.assignNext(false, "a/1"));
  EXPECT_EQ(ipam.assignNext(false, "a/2")->toString(), "255.255.255.255");
  EXPECT_FALSE(ipam.assignNext(false, "a/3"));
  EXPECT_TRUE(ipam.assignNext(true, "a/1"));
  EXPECT_EQ(ipam.assignNext(true, "a/2")->toString(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_FALSE(ipam.assignNext(true, "a/3"));
}

TEST(LoadBalancerIpam, NeverGivesOneAddressTwice) {
  LoadBalancerIpam ipam(pool("10.0.0.0/26"));
  std::set<std::string> seen;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 64; ++i) {
      auto next = ipam.assignNext(false, "ns/" + std::to_string(round * 100 + i));
      if (!next) break;
      EXPECT_TRUE(seen.insert(next->toString()).second);
    }
    // Free every other one, then hand them out again.
    for (int i = 0; i < 64; i += 2) {
      auto owner = "ns/" + std::to_string(round * 100 + i);
      for (const auto& held : ipam.heldBy(owner)) seen.erase(held.toString());
      ipam.releaseAll(owner);
    }
  }
  EXPECT_EQ(ipam.used(false), seen.size());
}

TEST(ServedByPool, TypeAndClass) {
  EXPECT_TRUE(servedByPool(loadBalancer("a")));
  EXPECT_TRUE(servedByPool(loadBalancer("a", {{"loadBalancerClass", "podnet.io/lb"}})));
  EXPECT_FALSE(servedByPool(loadBalancer("a", {{"loadBalancerClass", "example.com/other"}})));
  Json clusterIp = loadBalancer("a");
  clusterIp["spec"]["type"] = "ClusterIP";
  EXPECT_FALSE(servedByPool(clusterIp));
}

TEST(AssignLoadBalancerIps, OnePerFamilyKeptAcrossSyncs) {
  LoadBalancerIpam ipam(pool("10.0.0.10-10.0.0.12,fd00::10-fd00::11"));
  auto first = assignLoadBalancerIps(ipam, loadBalancer("web"), "default/web");
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(texts(first.ips), (std::vector<std::string>{"10.0.0.10"}));
  auto again = assignLoadBalancerIps(ipam, loadBalancer("web"), "default/web");
  EXPECT_EQ(texts(again.ips), texts(first.ips));
  EXPECT_FALSE(again.released);

  auto dual = assignLoadBalancerIps(ipam, loadBalancer("dual", {{"ipFamilies", {"IPv6", "IPv4"}}}),
                                    "default/dual");
  ASSERT_TRUE(dual.ok()) << dual.error;
  EXPECT_EQ(texts(dual.ips), (std::vector<std::string>{"fd00::10", "10.0.0.11"}));
  EXPECT_EQ(loadBalancerStatus(dual.ips),
            Json::parse(R"({"ingress":[{"ip":"fd00::10","ipMode":"VIP"},)"
                        R"({"ip":"10.0.0.11","ipMode":"VIP"}]})"));
  EXPECT_EQ(loadBalancerStatus({}), Json::object());
}

TEST(AssignLoadBalancerIps, FamilyFromClusterIpWhenIpFamiliesIsUnset) {
  LoadBalancerIpam ipam(pool("10.0.0.10/32,fd00::10/128"));
  Json svc = loadBalancer("v6");
  svc["spec"].erase("ipFamilies");
  svc["spec"]["clusterIP"] = "fd10::5";
  auto got = assignLoadBalancerIps(ipam, svc, "default/v6");
  EXPECT_EQ(texts(got.ips), (std::vector<std::string>{"fd00::10"}));
}

TEST(AssignLoadBalancerIps, RequestedAddressIsHonouredOrRefused) {
  LoadBalancerIpam ipam(pool("10.0.0.10-10.0.0.20"));
  auto asked = assignLoadBalancerIps(ipam, loadBalancer("a", {{"loadBalancerIP", "10.0.0.15"}}),
                                     "default/a");
  ASSERT_TRUE(asked.ok()) << asked.error;
  EXPECT_EQ(texts(asked.ips), (std::vector<std::string>{"10.0.0.15"}));

  auto taken = assignLoadBalancerIps(ipam, loadBalancer("b", {{"loadBalancerIP", "10.0.0.15"}}),
                                     "default/b");
  EXPECT_FALSE(taken.ok());
  EXPECT_EQ(taken.error, "requested IP 10.0.0.15 is already allocated to default/a");
  EXPECT_TRUE(ipam.heldBy("default/b").empty());

  auto outside = assignLoadBalancerIps(ipam, loadBalancer("c", {{"loadBalancerIP", "10.0.0.99"}}),
                                       "default/c");
  EXPECT_EQ(outside.error,
            "requested IP 10.0.0.99 is not in the load balancer pool 10.0.0.10-10.0.0.20");

  auto invalid =
      assignLoadBalancerIps(ipam, loadBalancer("d", {{"loadBalancerIP", "10.0.0"}}), "default/d");
  EXPECT_EQ(invalid.error, "invalid IP \"10.0.0\" in spec.loadBalancerIP");

  auto wrongFamily =
      assignLoadBalancerIps(ipam, loadBalancer("e", {{"loadBalancerIP", "fd00::1"}}), "default/e");
  EXPECT_EQ(wrongFamily.error,
            "requested IP fd00::1 is IPv6 but the Service's ipFamilies are IPv4");
}

TEST(AssignLoadBalancerIps, MetallbAnnotation) {
  LoadBalancerIpam ipam(pool("10.0.0.10-10.0.0.20,fd00::/124"));
  Json svc = loadBalancer("a", {{"ipFamilies", {"IPv4", "IPv6"}}});
  svc["metadata"]["annotations"] = {{kMetallbIpsAnnotation, "10.0.0.12, fd00::3"}};
  auto got = assignLoadBalancerIps(ipam, svc, "default/a");
  ASSERT_TRUE(got.ok()) << got.error;
  EXPECT_EQ(texts(got.ips), (std::vector<std::string>{"10.0.0.12", "fd00::3"}));

  Json two = loadBalancer("b");
  two["metadata"]["annotations"] = {{kMetallbIoIpsAnnotation, "10.0.0.13,10.0.0.14"}};
  EXPECT_EQ(assignLoadBalancerIps(ipam, two, "default/b").error,
            "metallb.io/loadBalancerIPs asks for more than one IPv4 address");

  Json both = loadBalancer("c", {{"loadBalancerIP", "10.0.0.13"}});
  both["metadata"]["annotations"] = {{kMetallbIpsAnnotation, "10.0.0.13"}};
  EXPECT_NE(assignLoadBalancerIps(ipam, both, "default/c").error.find("both set"),
            std::string::npos);
}

TEST(AssignLoadBalancerIps, ChangingTheRequestReleasesTheOldAddress) {
  LoadBalancerIpam ipam(pool("10.0.0.10-10.0.0.20"));
  auto first = assignLoadBalancerIps(ipam, loadBalancer("a"), "default/a");
  EXPECT_EQ(texts(first.ips), (std::vector<std::string>{"10.0.0.10"}));
  auto moved = assignLoadBalancerIps(ipam, loadBalancer("a", {{"loadBalancerIP", "10.0.0.17"}}),
                                     "default/a");
  EXPECT_EQ(texts(moved.ips), (std::vector<std::string>{"10.0.0.17"}));
  EXPECT_TRUE(moved.released);
  EXPECT_EQ(ipam.ownerOf(ip("10.0.0.10")), "");
  // A refused request leaves the Service with nothing (pending), as MetalLB.
  ASSERT_TRUE(assignLoadBalancerIps(ipam, loadBalancer("b"), "default/b").ok());
  auto refused = assignLoadBalancerIps(ipam, loadBalancer("a", {{"loadBalancerIP", "10.0.0.10"}}),
                                       "default/a");
  EXPECT_EQ(refused.error, "requested IP 10.0.0.10 is already allocated to default/b");
  EXPECT_TRUE(refused.released);
  EXPECT_TRUE(ipam.heldBy("default/a").empty());
  EXPECT_EQ(ipam.ownerOf(ip("10.0.0.17")), "");
}

TEST(AssignLoadBalancerIps, ExhaustionAndMissingFamilySayWhy) {
  LoadBalancerIpam ipam(pool("10.0.0.10-10.0.0.11"));
  ASSERT_TRUE(assignLoadBalancerIps(ipam, loadBalancer("a"), "default/a").ok());
  ASSERT_TRUE(assignLoadBalancerIps(ipam, loadBalancer("b"), "default/b").ok());
  auto full = assignLoadBalancerIps(ipam, loadBalancer("c"), "default/c");
  EXPECT_EQ(full.error,
            "no available IPs: all 2 IPv4 addresses of the pool 10.0.0.10-10.0.0.11 are in use");
  EXPECT_FALSE(full.released);
  auto v6 = assignLoadBalancerIps(ipam, loadBalancer("d", {{"ipFamilies", {"IPv6"}}}), "default/d");
  EXPECT_EQ(v6.error, "no IPv6 addresses in the load balancer pool 10.0.0.10-10.0.0.11");
  // A dual-stack Service that gets only one family holds nothing.
  ipam.releaseAll("default/b");
  auto dual = assignLoadBalancerIps(ipam, loadBalancer("e", {{"ipFamilies", {"IPv4", "IPv6"}}}),
                                    "default/e");
  EXPECT_FALSE(dual.ok());
  EXPECT_TRUE(ipam.heldBy("default/e").empty());
  EXPECT_EQ(ipam.ownerOf(ip("10.0.0.11")), "");
}

TEST(StatusIngressIps, ReadsIpsAndSkipsHostnames) {
  Json svc = loadBalancer("a");
  svc["status"]["loadBalancer"]["ingress"] = {
      {{"ip", "10.0.0.1"}}, {{"hostname", "lb.example.com"}}, {{"ip", "fd00::1"}}};
  EXPECT_EQ(texts(statusIngressIps(svc)), (std::vector<std::string>{"10.0.0.1", "fd00::1"}));
  EXPECT_TRUE(statusIngressIps(loadBalancer("b")).empty());
}

}  // namespace
}  // namespace podnet::controllers
