// Socket addresses as listen options and logs write them ("ADDR:PORT",
// "[ADDR]:PORT", ":PORT"), shared by every server (DNS, the ingress proxy).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace podnet::core {

struct IpAddress;

// Parses "ADDR:PORT" / "[ADDR]:PORT" / ":PORT" (":PORT" is 0.0.0.0).
bool parseListenAddress(const std::string& text, sockaddr_storage& out, socklen_t& length);
void setPort(sockaddr_storage& address, uint16_t port);
uint16_t portOf(const sockaddr_storage& address);
// `ip`:`port` as a sockaddr_in or sockaddr_in6 (for connect); its length.
socklen_t socketAddress(const IpAddress& ip, uint16_t port, sockaddr_storage& out);
// "10.0.0.1:80" / "[fd00::1]:80".
std::string addressText(const sockaddr_storage& address);
// The address alone, an IPv4-mapped IPv6 address written as IPv4
// ("::ffff:10.0.0.1" -> "10.0.0.1"), as X-Forwarded-For and logs want it.
std::string hostText(const sockaddr_storage& address);

// A TCP port on 127.0.0.1 that is free now (bound to port 0 and released):
// for a process about to be started on it (etcd members, test servers).
// 0 when none could be had.
uint16_t freeLoopbackPort();

}  // namespace podnet::core
