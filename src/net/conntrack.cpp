#include "net/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/ip.h"

namespace podnet::net {

namespace {

struct Tuple {
  core::IpAddress src, dst;
  int proto = 0;
  int sport = 0, dport = 0;
};

struct Flow {
  int family = AF_INET;
  Tuple original, reply;
  uint32_t status = 0;
};

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

// libmnl's iteration macros rely on C's implicit void* conversion.
template <typename Body>
void forEachNested(const nlattr* nest, Body body) {
  const char* payload = static_cast<const char*>(mnl_attr_get_payload(nest));
  auto* attr = reinterpret_cast<const nlattr*>(payload);
  int remaining = int(mnl_attr_get_payload_len(nest));
  while (mnl_attr_ok(attr, remaining)) {
    body(attr);
    remaining -= int(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
}

bool parseIp(const nlattr* nest, Tuple& t) {
  forEachNested(nest, [&](const nlattr* attr) {
    int type = mnl_attr_get_type(attr);
    core::IpAddress ip;
    if ((type == CTA_IP_V4_SRC || type == CTA_IP_V4_DST) && mnl_attr_get_payload_len(attr) == 4) {
      std::memcpy(ip.bytes.data(), mnl_attr_get_payload(attr), 4);
    } else if ((type == CTA_IP_V6_SRC || type == CTA_IP_V6_DST) &&
               mnl_attr_get_payload_len(attr) == 16) {
      ip.v6 = true;
      std::memcpy(ip.bytes.data(), mnl_attr_get_payload(attr), 16);
    } else {
      return;
    }
    (type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC ? t.src : t.dst) = ip;
  });
  return true;
}

void parseProto(const nlattr* nest, Tuple& t) {
  forEachNested(nest, [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case CTA_PROTO_NUM:
        t.proto = mnl_attr_get_u8(attr);
        break;
      case CTA_PROTO_SRC_PORT:
        t.sport = ntohs(mnl_attr_get_u16(attr));
        break;
      case CTA_PROTO_DST_PORT:
        t.dport = ntohs(mnl_attr_get_u16(attr));
        break;
      default:
        break;
    }
  });
}

void parseTuple(const nlattr* nest, Tuple& t) {
  forEachNested(nest, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == CTA_TUPLE_IP) parseIp(attr, t);
    if (mnl_attr_get_type(attr) == CTA_TUPLE_PROTO) parseProto(attr, t);
  });
}

int onFlow(const nlmsghdr* header, void* data) {
  auto* flows = static_cast<std::vector<Flow>*>(data);
  auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(header));
  Flow flow;
  flow.family = nfg->nfgen_family;
  const char* start =
      static_cast<const char*>(mnl_nlmsg_get_payload_offset(header, sizeof(nfgenmsg)));
  auto* attr = reinterpret_cast<const nlattr*>(start);
  int remaining = int(static_cast<const char*>(mnl_nlmsg_get_payload_tail(header)) - start);
  while (mnl_attr_ok(attr, remaining)) {
    if (mnl_attr_get_type(attr) == CTA_TUPLE_ORIG) parseTuple(attr, flow.original);
    if (mnl_attr_get_type(attr) == CTA_TUPLE_REPLY) parseTuple(attr, flow.reply);
    if (mnl_attr_get_type(attr) == CTA_STATUS && mnl_attr_get_payload_len(attr) >= 4)
      flow.status = ntohl(mnl_attr_get_u32(attr));
    remaining -= int(MNL_ALIGN(attr->nla_len));
    attr = mnl_attr_next(attr);
  }
  flows->push_back(flow);
  return MNL_CB_OK;
}

void putTuple(nlmsghdr* header, const Tuple& t) {
  nlattr* tuple = mnl_attr_nest_start(header, CTA_TUPLE_ORIG);
  nlattr* ip = mnl_attr_nest_start(header, CTA_TUPLE_IP);
  if (t.src.v6) {
    mnl_attr_put(header, CTA_IP_V6_SRC, 16, t.src.bytes.data());
    mnl_attr_put(header, CTA_IP_V6_DST, 16, t.dst.bytes.data());
  } else {
    mnl_attr_put(header, CTA_IP_V4_SRC, 4, t.src.bytes.data());
    mnl_attr_put(header, CTA_IP_V4_DST, 4, t.dst.bytes.data());
  }
  mnl_attr_nest_end(header, ip);
  nlattr* proto = mnl_attr_nest_start(header, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(header, CTA_PROTO_NUM, uint8_t(t.proto));
  mnl_attr_put_u16(header, CTA_PROTO_SRC_PORT, htons(uint16_t(t.sport)));
  mnl_attr_put_u16(header, CTA_PROTO_DST_PORT, htons(uint16_t(t.dport)));
  mnl_attr_nest_end(header, proto);
  mnl_attr_nest_end(header, tuple);
}

// Sends one request and reads until its ack (or the end of a dump).
core::Status request(mnl_socket* socket, nlmsghdr* header, std::vector<Flow>* flows) {
  unsigned portId = mnl_socket_get_portid(socket);
  uint32_t seq = header->nlmsg_seq;
  if (mnl_socket_sendto(socket, header, header->nlmsg_len) < 0)
    return core::internal(std::string("conntrack: send: ") + std::strerror(errno));
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE * 4);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (n < 0) return core::internal(std::string("conntrack: receive: ") + std::strerror(errno));
    int rc = mnl_cb_run(buffer.data(), size_t(n), seq, portId, flows ? onFlow : nullptr, flows);
    if (rc == MNL_CB_STOP) return core::Ok{};
    if (rc < 0) {
      // An entry that expired between dump and delete is not an error.
      if (errno == ENOENT) return core::Ok{};
      return core::internal(std::string("conntrack: ") + std::strerror(errno));
    }
  }
}

nlmsghdr* startMessage(char* buffer, uint16_t type, uint16_t flags, uint8_t family, uint32_t seq) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
  header->nlmsg_flags = NLM_F_REQUEST | flags;
  header->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return header;
}

bool matches(const Flow& flow, const UdpFlowFilter& filter) {
  // The reply comes from the endpoint; the original went to the frontend.
  if (flow.reply.src.toString() != filter.endpointIp) return false;
  if (flow.original.dport != filter.frontendPort) return false;
  if (!filter.frontendIp.empty() && flow.original.dst.toString() != filter.frontendIp) return false;
  return flow.original.dst != flow.reply.src;  // translated, so it is a Service flow
}

// A ctnetlink socket of the calling thread's namespace, and every entry
// (IPv4 and IPv6) read through it.
struct Dump {
  std::unique_ptr<mnl_socket, SocketCloser> socket;
  std::vector<Flow> flows;
  uint32_t seq = 1;
};

core::Result<Dump> dumpFlows() {
  Dump dump;
  dump.socket.reset(mnl_socket_open(NETLINK_NETFILTER));
  if (!dump.socket)
    return core::internal(std::string("conntrack: socket: ") + std::strerror(errno));
  if (mnl_socket_bind(dump.socket.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return core::internal(std::string("conntrack: bind: ") + std::strerror(errno));
  for (uint8_t family : {uint8_t(AF_INET), uint8_t(AF_INET6)}) {
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* header = startMessage(buffer, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, dump.seq++);
    core::Status dumped = request(dump.socket.get(), header, &dump.flows);
    if (!dumped) return dumped.takeError();
  }
  return dump;
}

}  // namespace

core::Result<int> deleteUdpFlows(const std::vector<UdpFlowFilter>& filters) {
  if (filters.empty()) return 0;
  auto dump = dumpFlows();
  if (!dump) return dump.takeError();
  std::vector<Flow>& flows = dump->flows;
  uint32_t& seq = dump->seq;
  mnl_socket* socket = dump->socket.get();
  int deleted = 0;
  for (const Flow& flow : flows) {
    if (flow.original.proto != IPPROTO_UDP) continue;
    bool wanted = false;
    for (const auto& f : filters) wanted = wanted || matches(flow, f);
    if (!wanted) continue;
    char buffer[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* header =
        startMessage(buffer, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, uint8_t(flow.family), seq++);
    putTuple(header, flow.original);
    if (request(socket, header, nullptr)) ++deleted;
  }
  return deleted;
}

core::Result<std::vector<ConntrackEntry>> findConntrackEntries(uint8_t protocol,
                                                               uint16_t sourcePort) {
  auto dump = dumpFlows();
  if (!dump) return dump.takeError();
  const std::vector<Flow>& flows = dump->flows;
  std::vector<ConntrackEntry> out;
  auto convert = [](const Tuple& t) {
    return ConntrackTuple{t.src, t.dst, uint8_t(t.proto), uint16_t(t.sport), uint16_t(t.dport)};
  };
  for (const Flow& flow : flows)
    if (flow.original.proto == protocol && flow.original.sport == sourcePort)
      out.push_back({convert(flow.original), convert(flow.reply), flow.status});
  return out;
}

}  // namespace podnet::net
