#include "core/socket_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace podnet::core {
namespace {

TEST(ListenAddress, Parses) {
  sockaddr_storage address;
  socklen_t length;
  EXPECT_TRUE(parseListenAddress(":53", address, length));
  EXPECT_EQ(addressText(address), "0.0.0.0:53");
  EXPECT_TRUE(parseListenAddress("127.0.0.1:0", address, length));
  EXPECT_EQ(length, sizeof(sockaddr_in));
  EXPECT_TRUE(parseListenAddress("[::1]:5353", address, length));
  EXPECT_EQ(addressText(address), "[::1]:5353");
  EXPECT_EQ(portOf(address), 5353);
  EXPECT_FALSE(parseListenAddress("127.0.0.1", address, length));
  EXPECT_FALSE(parseListenAddress("127.0.0.1:70000", address, length));
  EXPECT_FALSE(parseListenAddress("::1:80", address, length));
  EXPECT_FALSE(parseListenAddress("example.org:80", address, length));
}

TEST(HostText, WritesMappedAddressesAsIpv4) {
  sockaddr_storage address{};
  auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
  v6.sin6_family = AF_INET6;
  ASSERT_EQ(::inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr), 1);
  EXPECT_EQ(hostText(address), "10.1.2.3");
  ASSERT_EQ(::inet_pton(AF_INET6, "fd00::5", &v6.sin6_addr), 1);
  EXPECT_EQ(hostText(address), "fd00::5");
}

}  // namespace
}  // namespace podnet::core
