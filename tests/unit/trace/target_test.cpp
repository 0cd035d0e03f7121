#include "trace/target.h"

#include <gtest/gtest.h>

namespace podnet::trace {
namespace {

TEST(TraceTarget, UrlsAndHostPorts) {
  auto url = parseTarget("http://my-service/", false);
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_EQ(url->host, "my-service");
  EXPECT_EQ(url->port, 80);
  EXPECT_TRUE(url->http);
  EXPECT_EQ(url->path, "/");
  auto withPort = parseTarget("HTTP://web.shop.svc.cluster.local:8080/a/b?c=d", false);
  ASSERT_TRUE(withPort.ok());
  EXPECT_EQ(withPort->port, 8080);
  EXPECT_EQ(withPort->path, "/a/b?c=d");
  auto query = parseTarget("http://web?x=1", false);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->host, "web");
  EXPECT_EQ(query->path, "/?x=1");
  auto tcp = parseTarget("10.96.0.10:53", true);
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->protocol, "udp");
  EXPECT_FALSE(tcp->http);
  auto v6 = parseTarget("[fd00::1]:443", false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "fd00::1");
  EXPECT_EQ(v6->port, 443);
}

TEST(TraceTarget, RefusesWhatCannotBeTracedWithAReason) {
  EXPECT_NE(parseTarget("https://web/", false).error().message.find("https"), std::string::npos);
  EXPECT_NE(parseTarget("web", false).error().message.find("no port"), std::string::npos);
  EXPECT_FALSE(parseTarget("web:0", false).ok());
  EXPECT_FALSE(parseTarget("web:65536", false).ok());
  EXPECT_FALSE(parseTarget("web:http", false).ok());
  EXPECT_FALSE(parseTarget("http://web/", true).ok());  // --udp with a URL
  EXPECT_FALSE(parseTarget("we b:80", false).ok());
  EXPECT_FALSE(parseTarget("http://web/a b", false).ok());
  EXPECT_FALSE(parseTarget("[fd00::1:80", false).ok());
  EXPECT_FALSE(parseTarget(":80", false).ok());
  EXPECT_FALSE(parseTarget("ftp://web/", false).ok());
}

TEST(TraceTarget, ResolvConfAsKubeletWritesIt) {
  ResolvConf conf = parseResolvConf(
      "# written by podnet\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n"
      "nameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5 timeout:2\n");
  EXPECT_EQ(conf.nameservers, (std::vector<std::string>{"10.96.0.10", "10.96.0.11"}));
  EXPECT_EQ(conf.search.size(), 3u);
  EXPECT_EQ(conf.ndots, 5);
  EXPECT_EQ(parseResolvConf("options ndots:99\n").ndots, 15);  // glibc's cap
  EXPECT_EQ(parseResolvConf("").ndots, 1);
}

TEST(TraceTarget, QueryOrderFollowsNdots) {
  ResolvConf conf;
  conf.search = {"default.svc.cluster.local", "svc.cluster.local", "cluster.local"};
  conf.ndots = 5;
  EXPECT_EQ(queryNames("web", conf),
            (std::vector<std::string>{"web.default.svc.cluster.local", "web.svc.cluster.local",
                                      "web.cluster.local", "web"}));
  // Four dots are still fewer than five: the search path first.
  auto fqdn = queryNames("web.default.svc.cluster.local", conf);
  ASSERT_EQ(fqdn.size(), 4u);
  EXPECT_EQ(fqdn.back(), "web.default.svc.cluster.local");
  EXPECT_EQ(queryNames("web.default.svc.cluster.local.", conf),
            (std::vector<std::string>{"web.default.svc.cluster.local"}));
  conf.ndots = 1;
  EXPECT_EQ(queryNames("example.com", conf).front(), "example.com");
}

}  // namespace
}  // namespace podnet::trace
