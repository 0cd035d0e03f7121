#include "net/nftrace.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "net/nflog.h"

namespace podnet::net {

namespace {

constexpr uint16_t kTraceType = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE;

uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

std::string attrString(const uint8_t* value, size_t size) {
  size_t n = 0;
  while (n < size && value[n] != 0) ++n;
  return std::string(reinterpret_cast<const char*>(value), n);
}

// Calls body(type, value, size) for each attribute in [data, data + size);
// false when an attribute's length is out of bounds.
template <typename Body>
bool forEachAttribute(const uint8_t* data, size_t size, Body body) {
  size_t offset = 0;
  while (offset + sizeof(nlattr) <= size) {
    nlattr attr;
    std::memcpy(&attr, data + offset, sizeof attr);
    if (attr.nla_len < sizeof(nlattr) || offset + attr.nla_len > size) return false;
    body(uint16_t(attr.nla_type & NLA_TYPE_MASK), data + offset + sizeof(nlattr),
         size_t(attr.nla_len - sizeof(nlattr)));
    offset += NLA_ALIGN(attr.nla_len);
  }
  return true;
}

}  // namespace

std::string verdictName(int32_t verdict) {
  switch (verdict) {
    case NF_ACCEPT:
      return "accept";
    case NF_DROP:
      return "drop";
    case NF_STOLEN:
      return "stolen";
    case NF_QUEUE:
      return "queue";
    case NFT_JUMP:
      return "jump";
    case NFT_GOTO:
      return "goto";
    case NFT_RETURN:
      return "return";
    case NFT_CONTINUE:
      return "continue";
    case NFT_BREAK:
      return "break";
    default:
      return std::to_string(verdict);
  }
}

std::optional<NftTraceEvent> parseNftTraceMessage(const uint8_t* data, size_t length) {
  if (length < sizeof(nlmsghdr) + sizeof(nfgenmsg)) return std::nullopt;
  nlmsghdr header;
  std::memcpy(&header, data, sizeof header);
  if (header.nlmsg_type != kTraceType || header.nlmsg_len > length ||
      header.nlmsg_len < sizeof(nlmsghdr) + sizeof(nfgenmsg))
    return std::nullopt;
  nfgenmsg generic;
  std::memcpy(&generic, data + sizeof(nlmsghdr), sizeof generic);
  NftTraceEvent event;
  event.family = generic.nfgen_family;
  bool haveType = false, haveId = false;
  const uint8_t* network = nullptr;
  size_t networkSize = 0;
  const uint8_t* transport = nullptr;
  size_t transportSize = 0;
  size_t start = sizeof(nlmsghdr) + sizeof(nfgenmsg);
  bool wellFormed = forEachAttribute(
      data + start, header.nlmsg_len - start,
      [&](uint16_t type, const uint8_t* value, size_t size) {
        switch (type) {
          case NFTA_TRACE_TABLE:
            event.table = attrString(value, size);
            break;
          case NFTA_TRACE_CHAIN:
            event.chain = attrString(value, size);
            break;
          case NFTA_TRACE_RULE_HANDLE:
            if (size >= 8) event.ruleHandle = be64(value);
            break;
          case NFTA_TRACE_TYPE:
            if (size >= 4) {
              uint32_t t = be32(value);
              haveType =
                  t == NFT_TRACETYPE_RULE || t == NFT_TRACETYPE_RETURN || t == NFT_TRACETYPE_POLICY;
              event.type = t == NFT_TRACETYPE_POLICY   ? TraceType::policy
                           : t == NFT_TRACETYPE_RETURN ? TraceType::chainEnd
                                                       : TraceType::rule;
            }
            break;
          case NFTA_TRACE_ID:
            if (size >= 4) {
              event.id = be32(value);
              haveId = true;
            }
            break;
          case NFTA_TRACE_VERDICT:
            forEachAttribute(value, size, [&](uint16_t inner, const uint8_t* v, size_t n) {
              if (inner == NFTA_VERDICT_CODE && n >= 4) event.verdict = int32_t(be32(v));
              if (inner == NFTA_VERDICT_CHAIN) event.jumpTarget = attrString(v, n);
            });
            break;
          case NFTA_TRACE_POLICY:
            if (size >= 4) event.verdict = int32_t(be32(value));
            break;
          case NFTA_TRACE_IIF:
            if (size >= 4) event.inputInterface = be32(value);
            break;
          case NFTA_TRACE_OIF:
            if (size >= 4) event.outputInterface = be32(value);
            break;
          case NFTA_TRACE_MARK:
            if (size >= 4) event.mark = be32(value);
            break;
          case NFTA_TRACE_NETWORK_HEADER:
            network = value;
            networkSize = size;
            break;
          case NFTA_TRACE_TRANSPORT_HEADER:
            transport = value;
            transportSize = size;
            break;
          default:
            break;
        }
      });
  if (!wellFormed || !haveType || !haveId || event.table.empty()) return std::nullopt;
  if (network) {
    LoggedPacket packet;
    if (parsePacketHeaders(network, networkSize, packet)) {
      event.hasPacket = true;
      event.source = packet.source;
      event.destination = packet.destination;
      event.protocol = packet.protocol;
      bool ports = packet.protocol == 6 || packet.protocol == 17 || packet.protocol == 132;
      if (ports && transport && transportSize >= 4) {
        event.sourcePort = uint16_t(transport[0] << 8 | transport[1]);
        event.destinationPort = uint16_t(transport[2] << 8 | transport[3]);
      }
      if (packet.protocol == 6 && transport && transportSize >= 14) event.tcpFlags = transport[13];
    }
  }
  return event;
}

NftTraceReader::NftTraceReader(NftTraceReader&& o) noexcept
    : socket_(std::exchange(o.socket_, nullptr)), lost_(o.lost_) {}
NftTraceReader& NftTraceReader::operator=(NftTraceReader&& o) noexcept {
  std::swap(socket_, o.socket_);
  std::swap(lost_, o.lost_);
  return *this;
}
NftTraceReader::~NftTraceReader() {
  if (socket_) mnl_socket_close(socket_);
}

core::Result<NftTraceReader> NftTraceReader::open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!s) return core::internal(std::string("nftrace: netlink socket: ") + strerror(errno));
  NftTraceReader reader(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
    return core::internal(std::string("nftrace: bind: ") + strerror(errno));
  int group = NFNLGRP_NFTRACE;
  if (mnl_socket_setsockopt(s, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0)
    return core::internal(std::string("nftrace: join the trace group: ") + strerror(errno));
  // A connection's packets make a few hundred events at most; room for many
  // more, so none is lost while the reader waits.
  int bytes = 4 << 20;
  int fd = mnl_socket_get_fd(s);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  return reader;
}

core::Result<std::vector<NftTraceEvent>> NftTraceReader::read(std::chrono::milliseconds timeout) {
  std::vector<NftTraceEvent> out;
  int fd = mnl_socket_get_fd(socket_);
  pollfd pfd{fd, POLLIN, 0};
  int ready = poll(&pfd, 1, int(timeout.count()));
  if (ready < 0 && errno != EINTR)
    return core::internal(std::string("nftrace: poll: ") + strerror(errno));
  if (ready <= 0) return out;
  std::vector<uint8_t> buffer(64 * 1024);
  while (true) {
    ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        lost_ = true;
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return core::internal(std::string("nftrace: receive: ") + strerror(errno));
    }
    size_t offset = 0;
    while (offset + sizeof(nlmsghdr) <= size_t(n)) {
      nlmsghdr h;
      std::memcpy(&h, buffer.data() + offset, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || offset + h.nlmsg_len > size_t(n)) break;
      if (auto event = parseNftTraceMessage(buffer.data() + offset, h.nlmsg_len))
        out.push_back(std::move(*event));
      offset += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
  return out;
}

}  // namespace podnet::net
