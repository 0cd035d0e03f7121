#include "net/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "net/netns.h"

namespace podnet::net {

namespace {

// Big enough for any request we build and for one batch of dump answers.
constexpr size_t kRequestBufferSize = 4096;
constexpr size_t kReceiveBufferSize = 65536;  // > MNL_SOCKET_DUMP_SIZE

// Kernel errno -> the Kubernetes-style error the rest of podnet speaks, with
// the operation, the object and the kernel's extended ack text when it sent one.
core::Error kernelError(std::string_view what, int err, const std::string& detail = {}) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  if (!detail.empty()) message += " (" + detail + ")";
  core::Error error{500, "InternalError", std::move(message)};
  switch (err) {
    case EEXIST:
    case ENOTEMPTY:
      error.code = 409;
      error.reason = "AlreadyExists";
      break;
    case ENOENT:
    case ENODEV:
    case ESRCH:
    case EADDRNOTAVAIL:
      error.code = 404;
      error.reason = "NotFound";
      break;
    case EPERM:
    case EACCES:
      error.code = 403;
      error.reason = "Forbidden";
      break;
    case EINVAL:
    case ERANGE:
    case EOPNOTSUPP:
    case ENETUNREACH:
      error.code = 400;
      error.reason = "BadRequest";
      break;
    default:
      break;
  }
  return error;
}

uint8_t familyOf(const core::IpAddress& ip) { return ip.v6 ? AF_INET6 : AF_INET; }
size_t byteLength(const core::IpAddress& ip) { return ip.v6 ? 16 : 4; }

core::IpAddress addressFrom(const void* data, size_t length) {
  core::IpAddress ip;
  ip.v6 = length == 16;
  std::memcpy(ip.bytes.data(), data, ip.v6 ? 16 : 4);
  return ip;
}

// libmnl's iteration macros do not compile as C++ (void* conversions), so
// walk attributes through its callback API instead.
template <typename Visit>
void forEachAttribute(const nlmsghdr* header, unsigned offset, Visit&& visit) {
  using Callable = std::remove_reference_t<Visit>;
  mnl_attr_parse(
      header, offset,
      [](const nlattr* attribute, void* data) {
        (*static_cast<Callable*>(data))(attribute);
        return static_cast<int>(MNL_CB_OK);
      },
      &visit);
}

template <typename Visit>
void forEachNested(const nlattr* nest, Visit&& visit) {
  using Callable = std::remove_reference_t<Visit>;
  mnl_attr_parse_nested(
      nest,
      [](const nlattr* attribute, void* data) {
        (*static_cast<Callable*>(data))(attribute);
        return static_cast<int>(MNL_CB_OK);
      },
      &visit);
}

}  // namespace

// One request message in a stack-like buffer.
class Netlink::Request {
 public:
  Request(uint16_t type, uint16_t flags) {
    header_ = mnl_nlmsg_put_header(buffer_);
    header_->nlmsg_type = type;
    header_->nlmsg_flags = NLM_F_REQUEST | flags;
  }
  nlmsghdr* header() { return header_; }
  template <typename T>
  T* extraHeader() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(header_, sizeof(T)));
  }
  void putString(uint16_t type, std::string_view value) {
    std::string copy(value);
    mnl_attr_put_strz(header_, type, copy.c_str());
  }
  void putU8(uint16_t type, uint8_t value) { mnl_attr_put_u8(header_, type, value); }
  void putU16(uint16_t type, uint16_t value) { mnl_attr_put_u16(header_, type, value); }
  void putU32(uint16_t type, uint32_t value) { mnl_attr_put_u32(header_, type, value); }
  void putIp(uint16_t type, const core::IpAddress& ip) {
    mnl_attr_put(header_, type, byteLength(ip), ip.bytes.data());
  }
  void putMac(uint16_t type, const MacAddress& mac) {
    mnl_attr_put(header_, type, mac.bytes.size(), mac.bytes.data());
  }
  // NLA_F_NESTED set explicitly: some handlers (IFLA_PROTINFO) tell nested
  // from legacy flat payloads by it.
  nlattr* beginNest(uint16_t type) { return mnl_attr_nest_start(header_, type | NLA_F_NESTED); }
  void endNest(nlattr* nest) { mnl_attr_nest_end(header_, nest); }

 private:
  alignas(nlmsghdr) char buffer_[kRequestBufferSize];
  nlmsghdr* header_;
};

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  MacAddress mac;
  if (text.size() != 17) return std::nullopt;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':') return std::nullopt;
    unsigned value = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = text[i * 3 + j];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        return std::nullopt;
    }
    mac.bytes[i] = static_cast<uint8_t>(value);
  }
  return mac;
}

std::string MacAddress::toString() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

bool isNotFound(const core::Error& error) { return error.reason == "NotFound"; }
bool isAlreadyExists(const core::Error& error) { return error.reason == "AlreadyExists"; }

// ---- socket ----

Netlink::Netlink(mnl_socket* socket) : socket_(socket), portId_(mnl_socket_get_portid(socket)) {}

Netlink::Netlink(Netlink&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)),
      portId_(other.portId_),
      sequence_(other.sequence_) {}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    if (socket_) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    portId_ = other.portId_;
    sequence_ = other.sequence_;
  }
  return *this;
}

Netlink::~Netlink() {
  if (socket_) mnl_socket_close(socket_);
}

core::Result<Netlink> Netlink::open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!socket) return kernelError("netlink socket", errno);
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(socket);
    return kernelError("netlink bind", err);
  }
  // Extended acks carry the kernel's own explanation ("Unknown device type");
  // capped acks keep error answers small. Both are best effort.
  int on = 1;
  mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, sizeof on);
  return Netlink(socket);
}

core::Result<Netlink> Netlink::openIn(const NetnsHandle& netns) {
  // A socket belongs to the namespace of the thread that creates it; this
  // thread goes there only for the socket() and bind() calls.
  return runInNetnsOnThisThread(netns.fd(), [] { return Netlink::open(); });
}

namespace {

struct AckState {
  int error = 0;
  std::string detail;
};

// NLMSG_ERROR handler: error 0 is the ack; otherwise keep errno and the
// extended ack message (NLMSGERR_ATTR_MSG) if present.
int onErrorMessage(const nlmsghdr* header, void* data) {
  auto* state = static_cast<AckState*>(data);
  if (header->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    state->error = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* error = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(header));
  if (error->error == 0) return MNL_CB_STOP;
  state->error = -error->error;
  if (header->nlmsg_flags & NLM_F_ACK_TLVS) {
    size_t offset = sizeof(nlmsgerr);
    if (!(header->nlmsg_flags & NLM_F_CAPPED)) offset += error->msg.nlmsg_len - sizeof(nlmsghdr);
    forEachAttribute(header, offset, [&](const nlattr* attribute) {
      if (mnl_attr_get_type(attribute) == NLMSGERR_ATTR_MSG)
        state->detail = mnl_attr_get_str(attribute);
    });
  }
  return MNL_CB_ERROR;
}

struct DumpContext {
  AckState ack;
  int (*callback)(const nlmsghdr*, void*);
  void* data;
};

int onDataMessage(const nlmsghdr* header, void* data) {
  auto* context = static_cast<DumpContext*>(data);
  if (!context->callback) return MNL_CB_OK;
  return context->callback(header, context->data);
}

int onErrorInDump(const nlmsghdr* header, void* data) {
  return onErrorMessage(header, &static_cast<DumpContext*>(data)->ack);
}

}  // namespace

core::Status Netlink::runDump(Request& request, std::string_view what,
                              int (*callback)(const nlmsghdr*, void*), void* data) {
  if (!socket_) return core::internal("netlink socket is closed");
  nlmsghdr* header = request.header();
  header->nlmsg_seq = ++sequence_;
  if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0) return kernelError(what, errno);
  DumpContext context{{}, callback, data};
  mnl_cb_t controls[NLMSG_MIN_TYPE] = {};
  // With a control array, libmnl uses no defaults at all: DONE must be ours too.
  controls[NLMSG_ERROR] = onErrorInDump;
  controls[NLMSG_DONE] = [](const nlmsghdr*, void*) { return static_cast<int>(MNL_CB_STOP); };
  std::vector<char> buffer(kReceiveBufferSize);
  while (true) {
    ssize_t received = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (received < 0) return kernelError(what, errno);
    int status = mnl_cb_run2(buffer.data(), static_cast<size_t>(received), header->nlmsg_seq,
                             portId_, onDataMessage, &context, controls, NLMSG_MIN_TYPE);
    if (status == MNL_CB_STOP) return core::Ok{};
    if (status < 0) {
      int err = context.ack.error ? context.ack.error : errno;
      return kernelError(what, err, context.ack.detail);
    }
  }
}

core::Status Netlink::execute(Request& request, std::string_view what) {
  request.header()->nlmsg_flags |= NLM_F_ACK;
  return runDump(request, what, nullptr, nullptr);
}

template <typename OnMessage>
core::Status Netlink::dump(Request& request, std::string_view what, OnMessage&& onMessage) {
  request.header()->nlmsg_flags |= NLM_F_DUMP;
  using Callable = std::remove_reference_t<OnMessage>;
  return runDump(
      request, what,
      [](const nlmsghdr* header, void* data) {
        (*static_cast<Callable*>(data))(header);
        return static_cast<int>(MNL_CB_OK);
      },
      &onMessage);
}

// ---- links ----

namespace {

struct LinkAttributes {
  const nlattr* table[IFLA_MAX + 1] = {};
};

int collectLinkAttribute(const nlattr* attribute, void* data) {
  auto* attributes = static_cast<LinkAttributes*>(data);
  uint16_t type = mnl_attr_get_type(attribute);
  if (type <= IFLA_MAX) attributes->table[type] = attribute;
  return MNL_CB_OK;
}

LinkInfo parseLink(const nlmsghdr* header) {
  const auto* message = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(header));
  LinkAttributes attributes;
  mnl_attr_parse(header, sizeof(ifinfomsg), collectLinkAttribute, &attributes);
  LinkInfo link;
  link.index = message->ifi_index;
  link.up = (message->ifi_flags & IFF_UP) != 0;
  if (auto* a = attributes.table[IFLA_IFNAME]) link.name = mnl_attr_get_str(a);
  if (auto* a = attributes.table[IFLA_MTU]) link.mtu = mnl_attr_get_u32(a);
  if (auto* a = attributes.table[IFLA_MASTER])
    link.masterIndex = static_cast<int>(mnl_attr_get_u32(a));
  if (auto* a = attributes.table[IFLA_LINK]) link.linkIndex = static_cast<int>(mnl_attr_get_u32(a));
  if (auto* a = attributes.table[IFLA_ADDRESS]; a && mnl_attr_get_payload_len(a) == 6)
    std::memcpy(link.mac.bytes.data(), mnl_attr_get_payload(a), 6);
  if (auto* info = attributes.table[IFLA_LINKINFO]) {
    forEachNested(info, [&](const nlattr* nested) {
      if (mnl_attr_get_type(nested) == IFLA_INFO_KIND) link.kind = mnl_attr_get_str(nested);
    });
  }
  return link;
}

}  // namespace

core::Result<LinkInfo> Netlink::link(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return core::badRequest("invalid link name \"" + std::string(name) + "\"");
  Request request(RTM_GETLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  request.putString(IFLA_IFNAME, name);
  request.putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::optional<LinkInfo> found;
  auto onLink = [&](const nlmsghdr* header) {
    if (header->nlmsg_type == RTM_NEWLINK) found = parseLink(header);
  };
  // A get (not a dump) answers with the link message and no ack; request an
  // ack anyway so the answer ends in a known way whatever the kernel does.
  request.header()->nlmsg_flags |= NLM_F_ACK;
  using Callable = decltype(onLink);
  core::Status status = runDump(
      request, "RTM_GETLINK " + std::string(name),
      [](const nlmsghdr* header, void* data) {
        (*static_cast<Callable*>(data))(header);
        return static_cast<int>(MNL_CB_OK);
      },
      &onLink);
  if (!status) return status.takeError();
  if (!found) return kernelError("RTM_GETLINK " + std::string(name), ENODEV);
  return *found;
}

core::Result<int> Netlink::linkIndex(std::string_view name) {
  auto found = link(name);
  if (!found) return found.takeError();
  return found->index;
}

core::Result<MacAddress> Netlink::linkMac(std::string_view name) {
  auto found = link(name);
  if (!found) return found.takeError();
  return found->mac;
}

core::Result<std::vector<LinkInfo>> Netlink::listLinks() {
  Request request(RTM_GETLINK, 0);
  request.extraHeader<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  std::vector<LinkInfo> links;
  core::Status status = dump(request, "RTM_GETLINK dump", [&](const nlmsghdr* header) {
    if (header->nlmsg_type == RTM_NEWLINK) links.push_back(parseLink(header));
  });
  if (!status) return status.takeError();
  return links;
}

core::Status Netlink::createBridge(std::string_view name, uint32_t mtu,
                                   std::optional<MacAddress> mac) {
  Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.extraHeader<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.putString(IFLA_IFNAME, name);
  if (mtu) request.putU32(IFLA_MTU, mtu);
  if (mac) request.putMac(IFLA_ADDRESS, *mac);
  nlattr* linkInfo = request.beginNest(IFLA_LINKINFO);
  request.putString(IFLA_INFO_KIND, "bridge");
  request.endNest(linkInfo);
  return execute(request, "RTM_NEWLINK " + std::string(name));
}

core::Result<std::optional<LinkInfo>> Netlink::createVeth(const VethOptions& options) {
  Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO | NLM_F_ACK);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  // Flags given at creation are applied by the kernel once the link is
  // registered (rtnl_configure_link), as `ip link set up` would.
  if (options.up) message->ifi_change = message->ifi_flags = IFF_UP;
  request.putString(IFLA_IFNAME, options.name);
  if (options.mtu) request.putU32(IFLA_MTU, options.mtu);
  if (options.mac) request.putMac(IFLA_ADDRESS, *options.mac);
  // One queue each way, stated: otherwise the kernel makes one per CPU and
  // then cuts the real count to one on the registered device, which waits
  // for an RCU grace period (synchronize_net) for each end.
  request.putU32(IFLA_NUM_TX_QUEUES, 1);
  request.putU32(IFLA_NUM_RX_QUEUES, 1);
  if (options.masterIndex > 0) request.putU32(IFLA_MASTER, uint32_t(options.masterIndex));
  nlattr* linkInfo = request.beginNest(IFLA_LINKINFO);
  request.putString(IFLA_INFO_KIND, "veth");
  nlattr* infoData = request.beginNest(IFLA_INFO_DATA);
  // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's attributes.
  nlattr* peer = request.beginNest(VETH_INFO_PEER);
  request.extraHeader<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.putString(IFLA_IFNAME, options.peerName);
  if (options.mtu) request.putU32(IFLA_MTU, options.mtu);
  if (options.peerMac) request.putMac(IFLA_ADDRESS, *options.peerMac);
  request.putU32(IFLA_NUM_TX_QUEUES, 1);
  request.putU32(IFLA_NUM_RX_QUEUES, 1);
  if (options.peerNetnsFd >= 0)
    request.putU32(IFLA_NET_NS_FD, static_cast<uint32_t>(options.peerNetnsFd));
  request.endNest(peer);
  request.endNest(infoData);
  request.endNest(linkInfo);
  std::optional<LinkInfo> created;
  auto onLink = [&](const nlmsghdr* header) {
    if (header->nlmsg_type == RTM_NEWLINK) created = parseLink(header);
  };
  using Callable = decltype(onLink);
  core::Status status = runDump(
      request, "RTM_NEWLINK " + options.name,
      [](const nlmsghdr* header, void* data) {
        (*static_cast<Callable*>(data))(header);
        return static_cast<int>(MNL_CB_OK);
      },
      &onLink);
  if (!status) return status.takeError();
  return created;
}

core::Status Netlink::createVxlan(const VxlanOptions& options) {
  std::optional<int> underlyingIndex;
  if (!options.underlyingDevice.empty()) {
    auto index = linkIndex(options.underlyingDevice);
    if (!index) return index.takeError();
    underlyingIndex = *index;
  }
  Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  request.extraHeader<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.putString(IFLA_IFNAME, options.name);
  if (options.mtu) request.putU32(IFLA_MTU, options.mtu);
  nlattr* linkInfo = request.beginNest(IFLA_LINKINFO);
  request.putString(IFLA_INFO_KIND, "vxlan");
  nlattr* infoData = request.beginNest(IFLA_INFO_DATA);
  request.putU32(IFLA_VXLAN_ID, options.vni);
  if (options.local)
    request.putIp(options.local->v6 ? IFLA_VXLAN_LOCAL6 : IFLA_VXLAN_LOCAL, *options.local);
  request.putU16(IFLA_VXLAN_PORT, htons(options.dstPort));  // the kernel wants network order
  request.putU8(IFLA_VXLAN_LEARNING, options.learning ? 1 : 0);
  if (underlyingIndex) request.putU32(IFLA_VXLAN_LINK, static_cast<uint32_t>(*underlyingIndex));
  request.endNest(infoData);
  request.endNest(linkInfo);
  return execute(request, "RTM_NEWLINK " + options.name);
}

core::Status Netlink::changeLink(std::string_view name, std::string_view what, unsigned change,
                                 unsigned flags, int attribute, uint32_t value) {
  auto index = linkIndex(name);
  if (!index) return index.takeError();
  Request request(RTM_NEWLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  message->ifi_index = *index;
  message->ifi_change = change;
  message->ifi_flags = flags;
  if (attribute >= 0) request.putU32(static_cast<uint16_t>(attribute), value);
  return execute(request, std::string(what) + " " + std::string(name));
}

core::Status Netlink::setLinkUp(std::string_view name, bool up) {
  return changeLink(name, "RTM_NEWLINK", IFF_UP, up ? IFF_UP : 0, -1, 0);
}

core::Status Netlink::setLinkUp(int index, bool up) {
  Request request(RTM_NEWLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  message->ifi_index = index;
  message->ifi_change = IFF_UP;
  message->ifi_flags = up ? IFF_UP : 0;
  return execute(request, "RTM_NEWLINK ifindex " + std::to_string(index));
}

core::Status Netlink::setMaster(std::string_view name, std::string_view master) {
  uint32_t masterIndex = 0;
  if (!master.empty()) {
    auto index = linkIndex(master);
    if (!index) return index.takeError();
    masterIndex = static_cast<uint32_t>(*index);
  }
  return changeLink(name, "RTM_NEWLINK", 0, 0, IFLA_MASTER, masterIndex);
}

core::Status Netlink::setMtu(std::string_view name, uint32_t mtu) {
  return changeLink(name, "RTM_NEWLINK", 0, 0, IFLA_MTU, mtu);
}

core::Status Netlink::moveToNetns(std::string_view name, int netnsFd) {
  return changeLink(name, "RTM_NEWLINK", 0, 0, IFLA_NET_NS_FD, static_cast<uint32_t>(netnsFd));
}

core::Status Netlink::renameLink(std::string_view name, std::string_view newName) {
  auto index = linkIndex(name);
  if (!index) return index.takeError();
  Request request(RTM_NEWLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  message->ifi_index = *index;
  request.putString(IFLA_IFNAME, newName);
  return execute(request, "RTM_NEWLINK " + std::string(name) + " -> " + std::string(newName));
}

core::Status Netlink::setHairpin(std::string_view bridgePort, bool on) {
  auto index = linkIndex(bridgePort);
  if (!index) return index.takeError();
  return setHairpin(*index, on);
}

core::Status Netlink::setHairpin(int bridgePortIndex, bool on) {
  // AF_BRIDGE RTM_SETLINK goes to the bridge driver; IFLA_BRPORT_MODE is the
  // port's hairpin flag (`bridge link set dev X hairpin on`).
  Request request(RTM_SETLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_BRIDGE;
  message->ifi_index = bridgePortIndex;
  nlattr* protinfo = request.beginNest(IFLA_PROTINFO);
  request.putU8(IFLA_BRPORT_MODE, on ? 1 : 0);
  request.endNest(protinfo);
  return execute(request, "RTM_SETLINK " + std::to_string(bridgePortIndex) + " hairpin");
}

core::Result<bool> Netlink::hairpin(std::string_view bridgePort) {
  auto index = linkIndex(bridgePort);
  if (!index) return index.takeError();
  Request request(RTM_GETLINK, 0);
  request.extraHeader<ifinfomsg>()->ifi_family = AF_BRIDGE;
  std::optional<bool> mode;
  const std::string what = "RTM_GETLINK " + std::string(bridgePort) + " bridge port";
  core::Status status = dump(request, what, [&](const nlmsghdr* header) {
    const auto* message = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(header));
    if (header->nlmsg_type != RTM_NEWLINK || message->ifi_index != *index) return;
    LinkAttributes attributes;
    mnl_attr_parse(header, sizeof(ifinfomsg), collectLinkAttribute, &attributes);
    if (auto* protinfo = attributes.table[IFLA_PROTINFO]) {
      forEachNested(protinfo, [&](const nlattr* nested) {
        if (mnl_attr_get_type(nested) == IFLA_BRPORT_MODE) mode = mnl_attr_get_u8(nested) != 0;
      });
    }
  });
  if (!status) return status.takeError();
  if (!mode) return kernelError(what, ENOENT, "not a bridge port");
  return *mode;
}

core::Status Netlink::deleteLink(std::string_view name, IfAbsent ifAbsent) {
  auto index = linkIndex(name);
  if (!index) {
    if (ifAbsent == IfAbsent::succeed && isNotFound(index.error())) return core::Ok{};
    return index.takeError();
  }
  Request request(RTM_DELLINK, 0);
  auto* message = request.extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  message->ifi_index = *index;
  core::Status status = execute(request, "RTM_DELLINK " + std::string(name));
  // Gone between the lookup and the delete (e.g. its veth peer was deleted).
  if (!status && ifAbsent == IfAbsent::succeed && isNotFound(status.error())) return core::Ok{};
  return status;
}

// ---- addresses ----

void Netlink::fillAddress(Request& request, int linkIndex, const core::IpAddress& ip, int prefix) {
  auto* message = request.extraHeader<ifaddrmsg>();
  message->ifa_family = familyOf(ip);
  message->ifa_prefixlen = static_cast<uint8_t>(prefix);
  message->ifa_index = static_cast<uint32_t>(linkIndex);
  message->ifa_scope = RT_SCOPE_UNIVERSE;
  request.putIp(IFA_LOCAL, ip);
  request.putIp(IFA_ADDRESS, ip);
  if (ip.v6) request.putU32(IFA_FLAGS, IFA_F_NODAD);
}

core::Status Netlink::addAddress(std::string_view device, const core::IpAddress& ip, int prefix,
                                 IfExists ifExists) {
  auto index = linkIndex(device);
  if (!index) return index.takeError();
  Request request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  fillAddress(request, *index, ip, prefix);
  const std::string what =
      "RTM_NEWADDR " + ip.toString() + "/" + std::to_string(prefix) + " dev " + std::string(device);
  core::Status status = execute(request, what);
  if (!status && ifExists == IfExists::succeed && isAlreadyExists(status.error()))
    return core::Ok{};
  return status;
}

core::Status Netlink::addAddress(int linkIndex, const core::IpAddress& ip, int prefix,
                                 IfExists ifExists) {
  Request request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  fillAddress(request, linkIndex, ip, prefix);
  const std::string what = "RTM_NEWADDR " + ip.toString() + "/" + std::to_string(prefix) +
                           " ifindex " + std::to_string(linkIndex);
  core::Status status = execute(request, what);
  if (!status && ifExists == IfExists::succeed && isAlreadyExists(status.error()))
    return core::Ok{};
  return status;
}

core::Status Netlink::deleteAddress(std::string_view device, const core::IpAddress& ip, int prefix,
                                    IfAbsent ifAbsent) {
  auto index = linkIndex(device);
  if (!index) {
    if (ifAbsent == IfAbsent::succeed && isNotFound(index.error())) return core::Ok{};
    return index.takeError();
  }
  Request request(RTM_DELADDR, 0);
  auto* message = request.extraHeader<ifaddrmsg>();
  message->ifa_family = familyOf(ip);
  message->ifa_prefixlen = static_cast<uint8_t>(prefix);
  message->ifa_index = static_cast<uint32_t>(*index);
  request.putIp(IFA_LOCAL, ip);
  request.putIp(IFA_ADDRESS, ip);
  const std::string what =
      "RTM_DELADDR " + ip.toString() + "/" + std::to_string(prefix) + " dev " + std::string(device);
  core::Status status = execute(request, what);
  if (!status && ifAbsent == IfAbsent::succeed && isNotFound(status.error())) return core::Ok{};
  return status;
}

core::Result<std::vector<AddressInfo>> Netlink::listAddresses(std::string_view device) {
  auto index = linkIndex(device);
  if (!index) return index.takeError();
  Request request(RTM_GETADDR, 0);
  request.extraHeader<ifaddrmsg>()->ifa_family = AF_UNSPEC;
  std::vector<AddressInfo> addresses;
  core::Status status =
      dump(request, "RTM_GETADDR " + std::string(device), [&](const nlmsghdr* header) {
        if (header->nlmsg_type != RTM_NEWADDR) return;
        const auto* message = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(header));
        if (static_cast<int>(message->ifa_index) != *index) return;
        const nlattr* local = nullptr;
        const nlattr* address = nullptr;
        forEachAttribute(header, sizeof(ifaddrmsg), [&](const nlattr* attribute) {
          if (mnl_attr_get_type(attribute) == IFA_LOCAL) local = attribute;
          if (mnl_attr_get_type(attribute) == IFA_ADDRESS) address = attribute;
        });
        // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's
        // on point-to-point links); IPv6 sends only IFA_ADDRESS.
        const nlattr* chosen = local ? local : address;
        if (!chosen) return;
        size_t length = mnl_attr_get_payload_len(chosen);
        if (length != 4 && length != 16) return;
        addresses.push_back({addressFrom(mnl_attr_get_payload(chosen), length),
                             static_cast<int>(message->ifa_prefixlen)});
      });
  if (!status) return status.takeError();
  return addresses;
}

// ---- routes ----

namespace {

uint8_t kernelRouteType(RouteType type) {
  switch (type) {
    case RouteType::unreachable:
      return RTN_UNREACHABLE;
    case RouteType::blackhole:
      return RTN_BLACKHOLE;
    case RouteType::unicast:
      break;
  }
  return RTN_UNICAST;
}

std::string describe(const Route& route) {
  std::string text;
  if (route.type == RouteType::unreachable) text = "unreachable ";
  if (route.type == RouteType::blackhole) text = "blackhole ";
  text += route.dst.toString();
  if (route.gateway) text += " via " + route.gateway->toString();
  if (!route.device.empty()) text += " dev " + route.device;
  if (route.table != kMainTable) text += " table " + std::to_string(route.table);
  return text;
}

}  // namespace

core::Status Netlink::writeRoute(const Route& route, uint16_t type, uint16_t flags,
                                 std::string_view what) {
  std::optional<int> deviceIndex;
  if (!route.device.empty()) {
    auto index = linkIndex(route.device);
    if (!index) return index.takeError();
    deviceIndex = *index;
  }
  Request request(type, flags);
  fillRoute(request, route, deviceIndex, type == RTM_DELROUTE);
  return execute(request, std::string(what) + " " + describe(route));
}

void Netlink::fillRoute(Request& request, const Route& route, std::optional<int> deviceIndex,
                        bool deleting) {
  auto* message = request.extraHeader<rtmsg>();
  message->rtm_family = route.dst.network.v6 ? AF_INET6 : AF_INET;
  message->rtm_dst_len = static_cast<uint8_t>(route.dst.prefix);
  message->rtm_table =
      route.table < 256 ? static_cast<uint8_t>(route.table) : uint8_t{RT_TABLE_UNSPEC};
  message->rtm_protocol = deleting ? 0 : RTPROT_BOOT;
  if (deleting) {
    // The kernel matches a delete on the fields given: NOWHERE and type 0
    // (unless asked) match any scope and type.
    message->rtm_scope = RT_SCOPE_NOWHERE;
    message->rtm_type = route.type == RouteType::unicast ? uint8_t{0} : kernelRouteType(route.type);
  } else {
    message->rtm_type = kernelRouteType(route.type);
    const bool linkLocal = route.scopeLink || (route.type == RouteType::unicast && !route.gateway);
    message->rtm_scope = linkLocal ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  }
  if (route.onlink) message->rtm_flags |= RTNH_F_ONLINK;
  request.putIp(RTA_DST, route.dst.network);
  if (route.table >= 256) request.putU32(RTA_TABLE, route.table);
  if (route.gateway) request.putIp(RTA_GATEWAY, *route.gateway);
  if (route.source && !deleting) request.putIp(RTA_PREFSRC, *route.source);
  if (deviceIndex) request.putU32(RTA_OIF, static_cast<uint32_t>(*deviceIndex));
}

core::Status Netlink::addRoute(const Route& route) {
  return writeRoute(route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "RTM_NEWROUTE");
}

core::Status Netlink::replaceRoute(const Route& route) {
  return writeRoute(route, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, "RTM_NEWROUTE");
}

core::Status Netlink::deleteRoute(const Route& route, IfAbsent ifAbsent) {
  core::Status status = writeRoute(route, RTM_DELROUTE, 0, "RTM_DELROUTE");
  if (!status && ifAbsent == IfAbsent::succeed && isNotFound(status.error())) return core::Ok{};
  return status;
}

core::Result<std::vector<Route>> Netlink::listRoutes(bool v6, uint32_t table) {
  auto links = listLinks();
  if (!links) return links.takeError();
  std::map<int, std::string> names;
  for (const auto& link : *links) names[link.index] = link.name;

  Request request(RTM_GETROUTE, 0);
  request.extraHeader<rtmsg>()->rtm_family = v6 ? AF_INET6 : AF_INET;
  std::vector<Route> routes;
  core::Status status = dump(request, "RTM_GETROUTE dump", [&](const nlmsghdr* header) {
    if (header->nlmsg_type != RTM_NEWROUTE) return;
    const auto* message = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(header));
    Route route;
    route.table = message->rtm_table;
    route.dst.network.v6 = message->rtm_family == AF_INET6;
    route.dst.prefix = message->rtm_dst_len;
    route.onlink = (message->rtm_flags & RTNH_F_ONLINK) != 0;
    route.scopeLink = message->rtm_scope == RT_SCOPE_LINK;
    if (message->rtm_type == RTN_UNREACHABLE)
      route.type = RouteType::unreachable;
    else if (message->rtm_type == RTN_BLACKHOLE)
      route.type = RouteType::blackhole;
    else if (message->rtm_type != RTN_UNICAST)
      return;  // local, broadcast, ...
    forEachAttribute(header, sizeof(rtmsg), [&](const nlattr* attribute) {
      size_t length = mnl_attr_get_payload_len(attribute);
      switch (mnl_attr_get_type(attribute)) {
        case RTA_TABLE:
          route.table = mnl_attr_get_u32(attribute);
          break;
        case RTA_DST:
          if (length == 4 || length == 16)
            route.dst.network = addressFrom(mnl_attr_get_payload(attribute), length);
          break;
        case RTA_GATEWAY:
          if (length == 4 || length == 16)
            route.gateway = addressFrom(mnl_attr_get_payload(attribute), length);
          break;
        case RTA_PREFSRC:
          if (length == 4 || length == 16)
            route.source = addressFrom(mnl_attr_get_payload(attribute), length);
          break;
        case RTA_OIF: {
          auto name = names.find(static_cast<int>(mnl_attr_get_u32(attribute)));
          if (name != names.end()) route.device = name->second;
          break;
        }
        default:
          break;
      }
    });
    if (route.table == table) routes.push_back(std::move(route));
  });
  if (!status) return status.takeError();
  return routes;
}

// ---- neighbours and FDB ----

core::Status Netlink::writeNeighbour(uint8_t family, const std::optional<core::IpAddress>& ip,
                                     const MacAddress& mac, std::string_view device, bool fdb,
                                     uint16_t type, uint16_t flags, std::string_view what) {
  auto index = linkIndex(device);
  if (!index) return index.takeError();
  Request request(type, flags);
  auto* message = request.extraHeader<ndmsg>();
  message->ndm_family = family;
  message->ndm_ifindex = *index;
  message->ndm_state = NUD_PERMANENT;
  if (fdb) message->ndm_flags = NTF_SELF;
  if (fdb) {
    request.putMac(NDA_LLADDR, mac);
    if (ip) request.putIp(NDA_DST, *ip);
  } else {
    request.putIp(NDA_DST, *ip);
    if (type != RTM_DELNEIGH) request.putMac(NDA_LLADDR, mac);
  }
  std::string text = std::string(what) + " ";
  text += fdb ? mac.toString() + (ip ? " dst " + ip->toString() : std::string())
              : ip->toString() + " lladdr " + mac.toString();
  text += " dev " + std::string(device);
  return execute(request, text);
}

core::Status Netlink::addNeighbour(const Neighbour& neighbour) {
  return writeNeighbour(familyOf(neighbour.ip), neighbour.ip, neighbour.mac, neighbour.device,
                        false, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, "RTM_NEWNEIGH");
}

core::Status Netlink::replaceNeighbour(const Neighbour& neighbour) {
  return writeNeighbour(familyOf(neighbour.ip), neighbour.ip, neighbour.mac, neighbour.device,
                        false, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, "RTM_NEWNEIGH");
}

core::Status Netlink::deleteNeighbour(const Neighbour& neighbour, IfAbsent ifAbsent) {
  core::Status status = writeNeighbour(familyOf(neighbour.ip), neighbour.ip, neighbour.mac,
                                       neighbour.device, false, RTM_DELNEIGH, 0, "RTM_DELNEIGH");
  if (!status && ifAbsent == IfAbsent::succeed && isNotFound(status.error())) return core::Ok{};
  return status;
}

core::Status Netlink::addFdb(const FdbEntry& entry) {
  return writeNeighbour(AF_BRIDGE, entry.dst, entry.mac, entry.device, true, RTM_NEWNEIGH,
                        NLM_F_CREATE | NLM_F_EXCL, "RTM_NEWNEIGH fdb");
}

core::Status Netlink::replaceFdb(const FdbEntry& entry) {
  return writeNeighbour(AF_BRIDGE, entry.dst, entry.mac, entry.device, true, RTM_NEWNEIGH,
                        NLM_F_CREATE | NLM_F_REPLACE, "RTM_NEWNEIGH fdb");
}

core::Status Netlink::deleteFdb(const FdbEntry& entry, IfAbsent ifAbsent) {
  core::Status status = writeNeighbour(AF_BRIDGE, entry.dst, entry.mac, entry.device, true,
                                       RTM_DELNEIGH, 0, "RTM_DELNEIGH fdb");
  if (!status && ifAbsent == IfAbsent::succeed && isNotFound(status.error())) return core::Ok{};
  return status;
}

namespace {

struct NeighbourMessage {
  int ifindex = 0;
  uint16_t state = 0;
  uint8_t flags = 0;
  std::optional<core::IpAddress> dst;
  std::optional<MacAddress> mac;
};

NeighbourMessage parseNeighbour(const nlmsghdr* header) {
  const auto* message = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(header));
  NeighbourMessage parsed;
  parsed.ifindex = message->ndm_ifindex;
  parsed.state = message->ndm_state;
  parsed.flags = message->ndm_flags;
  forEachAttribute(header, sizeof(ndmsg), [&](const nlattr* attribute) {
    size_t length = mnl_attr_get_payload_len(attribute);
    if (mnl_attr_get_type(attribute) == NDA_DST && (length == 4 || length == 16))
      parsed.dst = addressFrom(mnl_attr_get_payload(attribute), length);
    if (mnl_attr_get_type(attribute) == NDA_LLADDR && length == 6) {
      MacAddress mac;
      std::memcpy(mac.bytes.data(), mnl_attr_get_payload(attribute), 6);
      parsed.mac = mac;
    }
  });
  return parsed;
}

}  // namespace

core::Result<std::vector<Neighbour>> Netlink::listNeighbours(std::string_view device) {
  auto index = linkIndex(device);
  if (!index) return index.takeError();
  std::vector<Neighbour> neighbours;
  for (uint8_t family : {AF_INET, AF_INET6}) {
    Request request(RTM_GETNEIGH, 0);
    request.extraHeader<ndmsg>()->ndm_family = family;
    core::Status status =
        dump(request, "RTM_GETNEIGH " + std::string(device), [&](const nlmsghdr* header) {
          if (header->nlmsg_type != RTM_NEWNEIGH) return;
          NeighbourMessage parsed = parseNeighbour(header);
          if (parsed.ifindex != *index || !(parsed.state & NUD_PERMANENT)) return;
          if (!parsed.dst || !parsed.mac) return;
          neighbours.push_back({*parsed.dst, *parsed.mac, std::string(device)});
        });
    if (!status) return status.takeError();
  }
  return neighbours;
}

core::Result<std::vector<FdbEntry>> Netlink::listFdb(std::string_view device) {
  auto index = linkIndex(device);
  if (!index) return index.takeError();
  Request request(RTM_GETNEIGH, 0);
  request.extraHeader<ndmsg>()->ndm_family = AF_BRIDGE;
  std::vector<FdbEntry> entries;
  core::Status status =
      dump(request, "RTM_GETNEIGH fdb " + std::string(device), [&](const nlmsghdr* header) {
        if (header->nlmsg_type != RTM_NEWNEIGH) return;
        NeighbourMessage parsed = parseNeighbour(header);
        if (parsed.ifindex != *index || !(parsed.flags & NTF_SELF) || !parsed.mac) return;
        entries.push_back({*parsed.mac, std::string(device), parsed.dst});
      });
  if (!status) return status.takeError();
  return entries;
}

// ---- batches ----

struct Netlink::Batch::Entry {
  std::unique_ptr<Request> request;
  std::string what;
};

Netlink::Batch::Batch() = default;
Netlink::Batch::Batch(Batch&&) noexcept = default;
Netlink::Batch::~Batch() = default;
bool Netlink::Batch::empty() const { return entries_.empty(); }

void Netlink::Batch::setLinkUp(std::string_view name) {
  // RTM_NEWLINK without an index finds the link by IFLA_IFNAME.
  auto request = std::make_unique<Request>(RTM_NEWLINK, 0);
  auto* message = request->extraHeader<ifinfomsg>();
  message->ifi_family = AF_UNSPEC;
  message->ifi_change = message->ifi_flags = IFF_UP;
  request->putString(IFLA_IFNAME, name);
  entries_.push_back({std::move(request), "RTM_NEWLINK " + std::string(name) + " up"});
}

void Netlink::Batch::addAddress(int linkIndex, const core::IpAddress& ip, int prefix) {
  auto request = std::make_unique<Request>(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  fillAddress(*request, linkIndex, ip, prefix);
  entries_.push_back({std::move(request), "RTM_NEWADDR " + ip.toString() + "/" +
                                              std::to_string(prefix) + " ifindex " +
                                              std::to_string(linkIndex)});
}

void Netlink::Batch::addRoute(const Route& route, int linkIndex) {
  auto request = std::make_unique<Request>(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  fillRoute(*request, route, linkIndex > 0 ? std::optional<int>(linkIndex) : std::nullopt, false);
  Route described = route;
  described.device = linkIndex > 0 ? "ifindex " + std::to_string(linkIndex) : "";
  entries_.push_back({std::move(request), "RTM_NEWROUTE " + describe(described)});
}

namespace {

// Acks of a batch by sequence number: 0 for success, else errno and the
// kernel's extended ack text.
struct BatchAcks {
  uint32_t firstSequence = 0;
  size_t received = 0;
  std::vector<std::optional<AckState>> bySequence;
};

int onBatchAck(const nlmsghdr* header, void* data) {
  auto* acks = static_cast<BatchAcks*>(data);
  AckState state;
  (void)onErrorMessage(header, &state);
  if (header->nlmsg_seq < acks->firstSequence) return MNL_CB_OK;  // not ours
  size_t slot = header->nlmsg_seq - acks->firstSequence;
  if (slot >= acks->bySequence.size() || acks->bySequence[slot]) return MNL_CB_OK;
  acks->bySequence[slot] = std::move(state);
  ++acks->received;
  return MNL_CB_OK;
}

}  // namespace

core::Status Netlink::execute(Batch& batch) {
  if (!socket_) return core::internal("netlink socket is closed");
  if (batch.entries_.empty()) return core::Ok{};
  BatchAcks acks;
  acks.firstSequence = sequence_ + 1;
  acks.bySequence.resize(batch.entries_.size());
  std::vector<char> message;
  for (auto& entry : batch.entries_) {
    nlmsghdr* header = entry.request->header();
    header->nlmsg_seq = ++sequence_;
    header->nlmsg_flags |= NLM_F_ACK;
    const auto* bytes = reinterpret_cast<const char*>(header);
    message.insert(message.end(), bytes, bytes + header->nlmsg_len);
    message.resize(MNL_ALIGN(message.size()), 0);
  }
  if (mnl_socket_sendto(socket_, message.data(), message.size()) < 0)
    return kernelError(batch.entries_.front().what, errno);
  mnl_cb_t controls[NLMSG_MIN_TYPE] = {};
  controls[NLMSG_ERROR] = onBatchAck;
  std::vector<char> buffer(kReceiveBufferSize);
  while (acks.received < batch.entries_.size()) {
    ssize_t received = mnl_socket_recvfrom(socket_, buffer.data(), buffer.size());
    if (received < 0) return kernelError(batch.entries_.front().what, errno);
    // Sequence 0: accept every sequence number; onBatchAck sorts them out.
    int status = mnl_cb_run2(buffer.data(), static_cast<size_t>(received), 0, portId_, nullptr,
                             &acks, controls, NLMSG_MIN_TYPE);
    if (status < 0) return kernelError(batch.entries_.front().what, errno);
  }
  for (size_t i = 0; i < batch.entries_.size(); ++i)
    if (acks.bySequence[i]->error)
      return kernelError(batch.entries_[i].what, acks.bySequence[i]->error,
                         acks.bySequence[i]->detail);
  return core::Ok{};
}

}  // namespace podnet::net
