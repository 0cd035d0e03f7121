// The rtnetlink (NETLINK_ROUTE) layer: links, addresses, routes, neighbours and
// bridge FDB entries, spoken to the kernel through libmnl. This is the only
// code that changes the kernel's network configuration (with nftables).
//
// A Netlink object owns one socket. A netlink socket stays bound to the network
// namespace it was created in, so a Netlink opened inside a namespace (see
// Netlink::openIn) configures that namespace from any thread. One Netlink is not
// thread-safe: give each thread its own.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/ip.h"
#include "core/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace podnet::net {

class NetnsHandle;

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static std::optional<MacAddress> parse(std::string_view text);  // "aa:bb:cc:dd:ee:ff"
  std::string toString() const;
  bool operator==(const MacAddress&) const = default;
};

// What a delete does when the object is already gone, and what an add does when
// it is already there: appliers that converge state want both to succeed.
enum class IfAbsent { fail, succeed };
enum class IfExists { fail, succeed };

// True for the errors the kernel returns for "no such link/address/route/entry"
// (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL) and "already there" (EEXIST).
bool isNotFound(const core::Error& error);
bool isAlreadyExists(const core::Error& error);

struct VethOptions {
  std::string name;
  std::string peerName;
  uint32_t mtu = 0;  // 0: kernel default
  // When >= 0 the peer is created directly in this network namespace, so it
  // never appears (even briefly) in ours and cannot clash with our names.
  int peerNetnsFd = -1;
  // Set in the same request, saving a round trip each: the master (bridge)
  // of our end (0: none), and whether our end starts administratively up. (The
  // peer cannot: the kernel configures it before the pair is linked, and
  // opening a veth without its peer fails with ENOTCONN.)
  int masterIndex = 0;
  bool up = false;
  // The MACs of our end and of the peer (none: the kernel picks random ones).
  std::optional<MacAddress> mac;
  std::optional<MacAddress> peerMac;
};

struct VxlanOptions {
  std::string name;
  uint32_t vni = 1;
  std::optional<core::IpAddress> local;
  uint16_t dstPort = 4789;       // IANA port; the kernel's own default is 8472
  bool learning = false;         // flannel: FDB entries are programmed, never learnt
  std::string underlyingDevice;  // empty: none
  uint32_t mtu = 0;
};

enum class RouteType { unicast, unreachable, blackhole };

inline constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN

struct Route {
  core::Cidr dst;
  std::optional<core::IpAddress> gateway;
  std::string device;   // empty: none (required for unicast without gateway)
  bool onlink = false;  // gateway reachable on `device` without a covering route
  // The source address for connections this route carries (`ip route ... src`).
  std::optional<core::IpAddress> source;
  // Scope link; also implied for a unicast route without gateway, as iproute2 does.
  bool scopeLink = false;
  RouteType type = RouteType::unicast;
  uint32_t table = kMainTable;
  bool operator==(const Route&) const = default;
};

// A permanent IP -> MAC entry (ARP/NDP), as `ip neigh replace ... nud permanent`.
struct Neighbour {
  core::IpAddress ip;
  MacAddress mac;
  std::string device;
  bool operator==(const Neighbour&) const = default;
};

// A bridge/vxlan forwarding entry on the device itself (NTF_SELF), as
// `bridge fdb append MAC dev flannel.1 dst NODE_IP self permanent`.
struct FdbEntry {
  MacAddress mac;
  std::string device;
  std::optional<core::IpAddress> dst;  // remote VTEP for vxlan
  bool operator==(const FdbEntry&) const = default;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  uint32_t mtu = 0;
  bool up = false;      // administratively (IFF_UP)
  int masterIndex = 0;  // 0: no master
  int linkIndex = 0;    // IFLA_LINK: a veth's peer (in its own namespace); 0: none
  std::string kind;     // "bridge", "veth", "vxlan", ... (empty for plain devices)
  MacAddress mac;
};

struct AddressInfo {
  core::IpAddress ip;
  int prefix = 0;
  bool operator==(const AddressInfo&) const = default;
};

class Netlink {
 public:
  // Requests sent together: one sendmsg, then one wait for all their acks
  // (each message is still acked and checked), for callers that configure
  // several objects in a row. Links are named or given by index.
  class Batch {
   public:
    Batch();
    Batch(Batch&&) noexcept;
    ~Batch();
    void setLinkUp(std::string_view name);
    void addAddress(int linkIndex, const core::IpAddress& ip, int prefix);
    // `route.device` is ignored: the route goes out of `linkIndex` (0: none).
    void addRoute(const Route& route, int linkIndex);
    bool empty() const;

   private:
    friend class Netlink;
    struct Entry;
    std::vector<Entry> entries_;
  };

  // A socket in the calling thread's network namespace.
  static core::Result<Netlink> open();
  // A socket in `netns`: the calling thread enters it for the socket's
  // creation only (runInNetnsOnThisThread).
  static core::Result<Netlink> openIn(const NetnsHandle& netns);

  Netlink(Netlink&& other) noexcept;
  Netlink& operator=(Netlink&& other) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  // Sends `batch` and waits for every ack; the first failure (in batch order)
  // is returned, naming its request. The kernel applies each message on its
  // own: those before a failed one stay applied.
  core::Status execute(Batch& batch);

  // Links.
  core::Result<int> linkIndex(std::string_view name);
  // With a MAC the bridge keeps it; without, it takes its lowest port's.
  core::Status createBridge(std::string_view name, uint32_t mtu = 0,
                            std::optional<MacAddress> mac = std::nullopt);
  // Returns our end as the kernel announced it on creation (NLM_F_ECHO, kernels
  // from 6.3): its index, MAC and, in `linkIndex`, the peer's index in its
  // namespace; nullopt when the kernel sends no echo.
  core::Result<std::optional<LinkInfo>> createVeth(const VethOptions& options);
  core::Status createVxlan(const VxlanOptions& options);
  core::Status setLinkUp(std::string_view name, bool up = true);
  core::Status setLinkUp(int index, bool up = true);
  core::Status setMaster(std::string_view name, std::string_view master);  // empty: detach
  core::Status setMtu(std::string_view name, uint32_t mtu);
  core::Status setHairpin(std::string_view bridgePort, bool on);
  core::Status setHairpin(int bridgePortIndex, bool on);
  core::Result<bool> hairpin(std::string_view bridgePort);
  core::Status deleteLink(std::string_view name, IfAbsent ifAbsent = IfAbsent::fail);
  core::Status moveToNetns(std::string_view name, int netnsFd);
  core::Status renameLink(std::string_view name, std::string_view newName);
  core::Result<MacAddress> linkMac(std::string_view name);
  core::Result<LinkInfo> link(std::string_view name);
  core::Result<std::vector<LinkInfo>> listLinks();  // for tests and checks

  // Addresses (IPv6 ones are added with IFA_F_NODAD: usable at once).
  core::Status addAddress(std::string_view device, const core::IpAddress& ip, int prefix,
                          IfExists ifExists = IfExists::fail);
  core::Status addAddress(int linkIndex, const core::IpAddress& ip, int prefix,
                          IfExists ifExists = IfExists::fail);
  core::Status deleteAddress(std::string_view device, const core::IpAddress& ip, int prefix,
                             IfAbsent ifAbsent = IfAbsent::fail);
  core::Result<std::vector<AddressInfo>> listAddresses(std::string_view device);

  // Routes. Delete matches dst, table and (when set) type, gateway and device.
  core::Status addRoute(const Route& route);
  core::Status replaceRoute(const Route& route);
  core::Status deleteRoute(const Route& route, IfAbsent ifAbsent = IfAbsent::fail);
  // Routes of `table` (kernel-generated and local ones included), for checks.
  core::Result<std::vector<Route>> listRoutes(bool v6 = false, uint32_t table = kMainTable);

  // Permanent neighbours.
  core::Status addNeighbour(const Neighbour& neighbour);
  core::Status replaceNeighbour(const Neighbour& neighbour);
  core::Status deleteNeighbour(const Neighbour& neighbour, IfAbsent ifAbsent = IfAbsent::fail);
  core::Result<std::vector<Neighbour>> listNeighbours(std::string_view device);  // permanent only

  // Bridge/vxlan FDB entries (NTF_SELF, permanent).
  core::Status addFdb(const FdbEntry& entry);
  core::Status replaceFdb(const FdbEntry& entry);
  core::Status deleteFdb(const FdbEntry& entry, IfAbsent ifAbsent = IfAbsent::fail);
  core::Result<std::vector<FdbEntry>> listFdb(std::string_view device);  // NTF_SELF only

 private:
  explicit Netlink(mnl_socket* socket);
  class Request;
  // Sends `message` with NLM_F_ACK and waits for the kernel's answer; `what`
  // names the operation in the error ("RTM_NEWLINK veth0").
  core::Status execute(Request& request, std::string_view what);
  // Sends a dump request and hands each answer to `onMessage`.
  template <typename OnMessage>
  core::Status dump(Request& request, std::string_view what, OnMessage&& onMessage);
  core::Status runDump(Request& request, std::string_view what,
                       int (*callback)(const nlmsghdr*, void*), void* context);
  core::Status changeLink(std::string_view name, std::string_view what, unsigned change,
                          unsigned flags, int attribute, uint32_t value);
  core::Status writeRoute(const Route& route, uint16_t type, uint16_t flags, std::string_view what);
  // Fills a route message; `deviceIndex` is RTA_OIF when set.
  static void fillRoute(Request& request, const Route& route, std::optional<int> deviceIndex,
                        bool deleting);
  static void fillAddress(Request& request, int linkIndex, const core::IpAddress& ip, int prefix);
  core::Status writeNeighbour(uint8_t family, const std::optional<core::IpAddress>& ip,
                              const MacAddress& mac, std::string_view device, bool fdb,
                              uint16_t type, uint16_t flags, std::string_view what);

  mnl_socket* socket_ = nullptr;
  uint32_t portId_ = 0;
  uint32_t sequence_ = 0;
};

}  // namespace podnet::net
