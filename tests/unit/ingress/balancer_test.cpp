// Canary choice (header, cookie, weight: with a real generator's draws, the
// share sent to the canary is the weight) and endpoint choice (round robin
// skipping failed endpoints, affinity cookie).
#include "ingress/balancer.h"

#include <gtest/gtest.h>

#include <random>

namespace podnet::ingress {
namespace {

std::shared_ptr<Route> routeTo(const std::string& service, std::vector<std::string> ips,
                               Annotations annotations = {}) {
  auto target = std::make_shared<BackendTarget>();
  target->service = "default/" + service;
  for (const auto& ip : ips) target->endpoints.push_back({*core::IpAddress::parse(ip), 8080});
  auto route = std::make_shared<Route>();
  route->backend = target;
  route->annotations = std::make_shared<const Annotations>(std::move(annotations));
  return route;
}

Annotations canary(std::optional<uint32_t> weight, std::string header = "") {
  Annotations a;
  a.canary = true;
  a.canaryWeight = weight;
  a.canaryByHeader = std::move(header);
  return a;
}

int canaryShare(const Route& main, const std::vector<http::Header>& headers, int draws) {
  std::mt19937 random(42);
  int hits = 0;
  for (int i = 0; i < draws; ++i) hits += &chooseCanary(main, headers, uint32_t(random())) != &main;
  return hits;
}

TEST(Canary, WeightIsTheShareOfRequests) {
  auto main = routeTo("main", {"10.0.0.1"});
  main->canaries.push_back(routeTo("canary", {"10.0.0.2"}, canary(30)));
  int hits = canaryShare(*main, {}, 10000);
  EXPECT_GT(hits, 2700);
  EXPECT_LT(hits, 3300);
  main->canaries[0] = routeTo("canary", {"10.0.0.2"}, canary(0));
  EXPECT_EQ(canaryShare(*main, {}, 1000), 0);
  main->canaries[0] = routeTo("canary", {"10.0.0.2"}, canary(100));
  EXPECT_EQ(canaryShare(*main, {}, 1000), 1000);
  Annotations perMille = canary(5);
  perMille.canaryWeightTotal = 1000;
  main->canaries[0] = routeTo("canary", {"10.0.0.2"}, perMille);
  EXPECT_LT(canaryShare(*main, {}, 10000), 150);  // 0.5 %
}

TEST(Canary, HeaderDecidesBeforeWeight) {
  auto main = routeTo("main", {"10.0.0.1"});
  main->canaries.push_back(routeTo("canary", {"10.0.0.2"}, canary(50, "X-Canary")));
  EXPECT_EQ(canaryShare(*main, {{"x-canary", "always"}}, 100), 100);
  EXPECT_EQ(canaryShare(*main, {{"X-Canary", "never"}}, 100), 0);
  int other = canaryShare(*main, {{"X-Canary", "maybe"}}, 1000);  // neither: the weight
  EXPECT_GT(other, 400);
  EXPECT_LT(other, 600);
  // A canary without endpoints is never chosen.
  main->canaries[0] = routeTo("canary", {}, canary(100, "X-Canary"));
  EXPECT_EQ(canaryShare(*main, {{"X-Canary", "always"}}, 10), 0);
}

TEST(Endpoints, RoundRobinSkipsWhatWasTried) {
  auto route = routeTo("web", {"10.0.0.1", "10.0.0.2", "10.0.0.3"});
  std::map<std::string, int> seen;
  for (int i = 0; i < 30; ++i) {
    auto choice = chooseEndpoint(*route, *route->backend, {}, {});
    ASSERT_NE(choice.endpoint, nullptr);
    ++seen[choice.endpoint->ip.toString()];
  }
  EXPECT_EQ(seen.size(), 3u);
  for (const auto& [ip, n] : seen) EXPECT_EQ(n, 10) << ip;
  std::vector<Endpoint> tried = route->backend->endpoints;
  EXPECT_EQ(chooseEndpoint(*route, *route->backend, {}, tried).endpoint, nullptr);
  tried.pop_back();
  auto last = chooseEndpoint(*route, *route->backend, {}, tried);
  ASSERT_NE(last.endpoint, nullptr);
  EXPECT_EQ(last.endpoint->ip.toString(), "10.0.0.3");
}

TEST(Endpoints, AffinityCookieSticks) {
  Annotations a;
  a.affinityCookie = "route";
  auto route = routeTo("web", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}, a);
  auto first = chooseEndpoint(*route, *route->backend, {}, {});
  ASSERT_NE(first.endpoint, nullptr);
  EXPECT_NE(first.setCookie.find("route=" + affinityValue(*first.endpoint)), std::string::npos)
      << first.setCookie;
  std::vector<http::Header> cookie = {{"Cookie", "a=b; route=" + affinityValue(*first.endpoint)}};
  for (int i = 0; i < 10; ++i) {
    auto again = chooseEndpoint(*route, *route->backend, cookie, {});
    ASSERT_NE(again.endpoint, nullptr);
    EXPECT_EQ(*again.endpoint, *first.endpoint);
    EXPECT_EQ(again.setCookie, "");
  }
}

}  // namespace
}  // namespace podnet::ingress
