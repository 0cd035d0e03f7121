#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/ip.h"

namespace podnet::core {
namespace {

TEST(IpTest, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("10.96.0.10");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->toString(), "10.96.0.10");
  EXPECT_EQ(v4->v4(), 0x0a60000au);
  auto v6 = IpAddress::parse("fd00::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->toString(), "fd00::1");
  EXPECT_FALSE(IpAddress::parse("10.96.0.256"));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("None"));
}

TEST(CidrTest, ContainsOffsetsAndSubnets) {
  auto services = Cidr::parse("10.96.0.0/12");
  ASSERT_TRUE(services);
  EXPECT_EQ(services->size(), 1u << 20);
  EXPECT_EQ(services->at(1).toString(), "10.96.0.1");
  EXPECT_EQ(services->at(256).toString(), "10.96.1.0");
  EXPECT_TRUE(services->contains(*IpAddress::parse("10.111.255.255")));
  EXPECT_FALSE(services->contains(*IpAddress::parse("10.112.0.0")));
  EXPECT_EQ(services->offsetOf(*IpAddress::parse("10.96.1.2")), 258u);

  auto pods = Cidr::parse("10.244.0.0/16");
  ASSERT_TRUE(pods);
  EXPECT_EQ(pods->subnet(24, 3)->toString(), "10.244.3.0/24");
  EXPECT_FALSE(pods->subnet(24, 256));
  EXPECT_TRUE(pods->contains(*Cidr::parse("10.244.3.0/24")));

  EXPECT_EQ(Cidr::parse("10.1.2.3/8")->toString(), "10.0.0.0/8");
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0"));
  EXPECT_EQ(Cidr::parse("fd00::/64")->at(5).toString(), "fd00::5");
}

TEST(ErrorTest, StatusHasWhatKubectlPrints) {
  Error e = invalid("", "Service", "bad",
                    {{"FieldValueInvalid", "Invalid value: 0: must be between 1 and 65535, inclusive",
                      "spec.ports[0].port"}});
  nlohmann::json status = e.toStatus();
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["code"], 422);
  EXPECT_EQ(status["reason"], "Invalid");
  EXPECT_EQ(status["details"]["kind"], "Service");
  EXPECT_EQ(status["details"]["causes"][0]["field"], "spec.ports[0].port");
  EXPECT_EQ(status["message"],
            "Service \"bad\" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 "
            "and 65535, inclusive");
  EXPECT_EQ(notFound("apps", "deployments", "web").message,
            "deployments.apps \"web\" not found");
}

}  // namespace
}  // namespace podnet::core
