#include "net/nflog.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace podnet::net {

namespace {

constexpr uint16_t kPacketType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
constexpr uint16_t kConfigType = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

uint64_t be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

}  // namespace

bool parsePacketHeaders(const uint8_t* data, size_t length, LoggedPacket& out) {
  if (length < 1) return false;
  size_t transport = 0;
  uint8_t version = data[0] >> 4;
  if (version == 4) {
    if (length < 20) return false;
    size_t ihl = size_t(data[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > length) return false;
    out.protocol = data[9];
    out.source = core::IpAddress{};
    out.destination = core::IpAddress{};
    std::memcpy(out.source.bytes.data(), data + 12, 4);
    std::memcpy(out.destination.bytes.data(), data + 16, 4);
    // A later fragment has no ports.
    uint16_t fragment = be16(data + 6) & 0x1fff;
    transport = fragment == 0 ? ihl : 0;
  } else if (version == 6) {
    if (length < 40) return false;
    out.protocol = data[6];  // extension headers are not followed
    out.source = core::IpAddress{};
    out.destination = core::IpAddress{};
    out.source.v6 = out.destination.v6 = true;
    std::memcpy(out.source.bytes.data(), data + 8, 16);
    std::memcpy(out.destination.bytes.data(), data + 24, 16);
    transport = 40;
  } else {
    return false;
  }
  out.sourcePort = out.destinationPort = 0;
  bool ports = out.protocol == 6 || out.protocol == 17 || out.protocol == 132;
  if (ports && transport && transport + 4 <= length) {
    out.sourcePort = be16(data + transport);
    out.destinationPort = be16(data + transport + 2);
  }
  return true;
}

std::optional<LoggedPacket> parseNflogMessage(const uint8_t* data, size_t length) {
  if (length < sizeof(nlmsghdr) + sizeof(nfgenmsg)) return std::nullopt;
  nlmsghdr header;
  std::memcpy(&header, data, sizeof header);
  if (header.nlmsg_type != kPacketType || header.nlmsg_len > length ||
      header.nlmsg_len < sizeof(nlmsghdr) + sizeof(nfgenmsg))
    return std::nullopt;
  LoggedPacket packet;
  bool havePayload = false;
  size_t offset = sizeof(nlmsghdr) + sizeof(nfgenmsg);
  size_t end = header.nlmsg_len;
  while (offset + sizeof(nlattr) <= end) {
    nlattr attr;
    std::memcpy(&attr, data + offset, sizeof attr);
    if (attr.nla_len < sizeof(nlattr) || offset + attr.nla_len > end) return std::nullopt;
    const uint8_t* value = data + offset + sizeof(nlattr);
    size_t size = attr.nla_len - sizeof(nlattr);
    switch (attr.nla_type & NLA_TYPE_MASK) {
      case NFULA_PREFIX: {
        size_t n = 0;
        while (n < size && value[n] != 0) ++n;
        packet.prefix.assign(reinterpret_cast<const char*>(value), n);
        break;
      }
      case NFULA_TIMESTAMP:
        if (size >= 16) {
          uint64_t sec = be64(value), usec = be64(value + 8);
          if (sec < (uint64_t(1) << 40) && usec < 1000000)
            packet.time = std::chrono::system_clock::time_point(std::chrono::seconds(sec) +
                                                                std::chrono::microseconds(usec));
        }
        break;
      case NFULA_PAYLOAD:
        havePayload = parsePacketHeaders(value, size, packet);
        break;
      default:
        break;
    }
    offset += NLA_ALIGN(attr.nla_len);
  }
  if (!havePayload) return std::nullopt;
  if (packet.time == std::chrono::system_clock::time_point{})
    packet.time = std::chrono::system_clock::now();
  return packet;
}

NflogReader::NflogReader(NflogReader&& o) noexcept : socket_(std::exchange(o.socket_, nullptr)) {}
NflogReader& NflogReader::operator=(NflogReader&& o) noexcept {
  std::swap(socket_, o.socket_);
  return *this;
}
NflogReader::~NflogReader() {
  if (socket_) mnl_socket_close(socket_);
}

core::Result<NflogReader> NflogReader::open(uint16_t group, uint32_t copyBytes) {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (!s) return core::internal(std::string("nflog: netlink socket: ") + strerror(errno));
  NflogReader reader(s);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
    return core::internal(std::string("nflog: bind: ") + strerror(errno));
  // A denial flood must not block anything: a full socket drops, quietly.
  int one = 1;
  (void)setsockopt(mnl_socket_get_fd(s), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  auto configure = [&](auto build) -> core::Status {
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* h = mnl_nlmsg_put_header(buffer);
    h->nlmsg_type = kConfigType;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = 1;
    auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(nfgenmsg)));
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(group);
    build(h);
    if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
      return core::internal(std::string("nflog: configure: ") + strerror(errno));
    pollfd pfd{mnl_socket_get_fd(s), POLLIN, 0};
    if (poll(&pfd, 1, 1000) <= 0) return core::internal("nflog: configure: no answer");
    ssize_t n = mnl_socket_recvfrom(s, buffer, sizeof buffer);
    if (n < 0) return core::internal(std::string("nflog: configure: ") + strerror(errno));
    if (mnl_cb_run(buffer, size_t(n), 1, mnl_socket_get_portid(s), nullptr, nullptr) < 0)
      return core::internal("nflog: group " + std::to_string(group) + ": " + strerror(errno));
    return core::Ok{};
  };
  core::Status bound = configure([](nlmsghdr* h) {
    nfulnl_msg_config_cmd cmd{NFULNL_CFG_CMD_BIND};
    mnl_attr_put(h, NFULA_CFG_CMD, sizeof cmd, &cmd);
  });
  if (!bound) return bound.takeError();
  core::Status moded = configure([copyBytes](nlmsghdr* h) {
    nfulnl_msg_config_mode mode{};
    mode.copy_range = htonl(copyBytes);
    mode.copy_mode = NFULNL_COPY_PACKET;
    mnl_attr_put(h, NFULA_CFG_MODE, sizeof mode, &mode);
    // One packet a message, sent at once (the default batches for a second).
    mnl_attr_put_u32(h, NFULA_CFG_QTHRESH, htonl(1));
    mnl_attr_put_u32(h, NFULA_CFG_TIMEOUT, htonl(1));
  });
  if (!moded) return moded.takeError();
  return reader;
}

core::Result<std::vector<LoggedPacket>> NflogReader::read(std::chrono::milliseconds timeout) {
  std::vector<LoggedPacket> out;
  int fd = mnl_socket_get_fd(socket_);
  pollfd pfd{fd, POLLIN, 0};
  int ready = poll(&pfd, 1, int(timeout.count()));
  if (ready < 0 && errno != EINTR)
    return core::internal(std::string("nflog: poll: ") + strerror(errno));
  if (ready <= 0) return out;
  std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE);
  while (true) {
    ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
      return core::internal(std::string("nflog: receive: ") + strerror(errno));
    }
    size_t offset = 0;
    while (offset + sizeof(nlmsghdr) <= size_t(n)) {
      nlmsghdr h;
      std::memcpy(&h, buffer.data() + offset, sizeof h);
      if (h.nlmsg_len < sizeof(nlmsghdr) || offset + h.nlmsg_len > size_t(n)) break;
      if (auto packet = parseNflogMessage(buffer.data() + offset, h.nlmsg_len))
        out.push_back(std::move(*packet));
      offset += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
  return out;
}

}  // namespace podnet::net
