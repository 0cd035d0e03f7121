// The address an Ingress's status carries: the published Service's
// load-balancer ingress (IP or hostname), else its externalIPs, or fixed
// addresses; nothing while none is known.
#include "ingress/controller.h"

#include <gtest/gtest.h>

namespace podnet::ingress {
namespace {

TEST(IngressStatus, FromThePublishedService) {
  Json service = {
      {"spec", {{"type", "LoadBalancer"}}},
      {"status", {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.250"}, {"ipMode", "VIP"}}}}}}}}};
  EXPECT_EQ(ingressLoadBalancer(&service, {}), Json({{"ingress", {{{"ip", "172.30.0.250"}}}}}));
  Json named = {{"status", {{"loadBalancer", {{"ingress", {{{"hostname", "lb.example.com"}}}}}}}}};
  EXPECT_EQ(ingressLoadBalancer(&named, {}),
            Json({{"ingress", {{{"hostname", "lb.example.com"}}}}}));
  Json pending = {{"spec", {{"externalIPs", {"192.0.2.10"}}}},
                  {"status", {{"loadBalancer", Json::object()}}}};
  EXPECT_EQ(ingressLoadBalancer(&pending, {}), Json({{"ingress", {{{"ip", "192.0.2.10"}}}}}));
  Json nothing = {{"spec", Json::object()}};
  EXPECT_EQ(ingressLoadBalancer(&nothing, {}), Json::object());
  EXPECT_EQ(ingressLoadBalancer(nullptr, {}), Json::object());
}

TEST(IngressStatus, FixedAddressesWin) {
  Json service = {{"status", {{"loadBalancer", {{"ingress", {{{"ip", "172.30.0.250"}}}}}}}}};
  EXPECT_EQ(
      ingressLoadBalancer(&service, {"10.0.0.5", "cafe.bad", "fd00::1"}),
      Json({{"ingress", {{{"ip", "10.0.0.5"}}, {{"hostname", "cafe.bad"}}, {{"ip", "fd00::1"}}}}}));
}

}  // namespace
}  // namespace podnet::ingress
