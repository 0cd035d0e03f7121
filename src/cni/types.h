// CNI 1.1.0 types and codecs: the invocation (environment), the network
// configuration, the ADD result and the error object, plus version
// negotiation. Pure: no I/O, so everything here is unit-tested and fuzzed.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/ip.h"

namespace podnet::cni {

using Json = nlohmann::json;

// Error codes of the spec (1-99 reserved) and ours (100+).
enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidNetworkConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  kNotAvailableLimitedConnectivity = 51,
  // podnet-specific
  kRangeExhausted = 100,          // "no IP addresses available in range set"
  kRequestedIpUnavailable = 101,  // CNI_ARGS ip=... taken or outside the ranges
  kDuplicateAllocation = 102,     // (containerID, ifname) already holds an IP
  kBackendFailure = 103,          // the network backend failed to set up the pod
};

struct CniError {
  int code = kIoFailure;
  std::string msg;
  std::string details;

  // {"cniVersion","code","msg","details"}; details is omitted when empty.
  Json toJson(std::string_view cniVersion) const;
};

// A value or a CniError (core::Result carries Kubernetes errors; CNI errors
// have their own code space and wire format).
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : state_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  Outcome(CniError error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const CniError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, CniError> state_;
};

struct Done {};
using CniStatus = Outcome<Done>;

// ---- versions ----

inline constexpr const char* kLatestVersion = "1.1.0";
const std::vector<std::string>& supportedVersions();  // 0.4.0, 1.0.0, 1.1.0
bool isSupportedVersion(std::string_view version);
// -1/0/1 comparing dotted numeric versions; unparsable parts compare as 0.
int compareVersions(std::string_view a, std::string_view b);
// {"cniVersion":"1.1.0","supportedVersions":[...]}
Json versionInfo();

// ---- invocation (environment) ----

enum class Command { kAdd, kDel, kCheck, kVersion, kStatus, kGc };
std::string_view commandName(Command command);

struct Invocation {
  Command command = Command::kVersion;
  std::string containerId;
  std::string netns;
  std::string ifname;
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, in order
  std::vector<std::string> path;                          // CNI_PATH split on ':'

  // The last value of CNI_ARGS key `key`, if present.
  std::optional<std::string> arg(std::string_view key) const;
};

// Parses and validates the CNI_* variables for the command. Every problem is
// code 4 (invalid environment variables).
Outcome<Invocation> parseInvocation(const std::map<std::string, std::string>& env);
// The same, from the process environment (environ).
Outcome<Invocation> invocationFromProcessEnvironment();

// First character alphanumeric, then [A-Za-z0-9_.-].
bool isValidContainerId(std::string_view id);
// Network name rules of the spec; also safe as a directory name.
bool isValidNetworkName(std::string_view name);
// Linux interface name: 1-15 bytes, no '/', ':' or whitespace, not "." or "..".
bool isValidInterfaceName(std::string_view name);

// ---- network configuration ----

// An address with its prefix length ("10.244.0.5/24"); unlike core::Cidr the
// host bits are kept.
struct InterfaceAddress {
  core::IpAddress ip;
  int prefix = 0;
  static std::optional<InterfaceAddress> parse(std::string_view text);
  std::string toString() const;
  bool operator==(const InterfaceAddress&) const = default;
};

struct Route {
  core::Cidr dst;
  std::optional<core::IpAddress> gw;
  bool operator==(const Route&) const = default;
};

// One range of a range set, canonicalized: start/end/gateway always filled.
struct IpRange {
  core::Cidr subnet;
  core::IpAddress rangeStart;
  core::IpAddress rangeEnd;
  core::IpAddress gateway;
};

struct IpamConfig {
  std::string type;             // "podnet-ipam" or "host-local" (both built in)
  std::vector<IpRange> ranges;  // one range set: one IP is allocated from it
  std::vector<Route> routes;
  std::string dataDir = "/var/lib/cni/networks";
};

struct Attachment {
  std::string containerId;
  std::string ifname;
  bool operator==(const Attachment&) const = default;
};

// The configuration one plugin invocation receives on stdin, already
// flattened by the runtime (cniVersion and name injected), plus our keys.
struct PluginConfig {
  std::string cniVersion;
  std::string name;
  std::string type;
  std::string bridge = "podnet0";
  bool isGateway = false;
  bool isDefaultGateway = false;
  bool hairpinMode = false;
  int mtu = 0;  // 0: leave the kernel's default
  std::optional<IpamConfig> ipam;
  Json dns;                                              // passed through to the result when set
  Json runtimeConfig;                                    // object or null
  Json prevResult;                                       // object or null
  std::optional<std::vector<Attachment>> gcAttachments;  // "cni.dev/attachments"
  Json raw;                                              // the whole object, for chaining
};

// A conflist ({cniVersion, cniVersions, name, disableCheck, plugins}).
struct NetworkConfigList {
  std::string cniVersion;  // negotiated: the highest supported of cniVersions/cniVersion
  std::string name;
  bool disableCheck = false;
  std::vector<PluginConfig> plugins;
};

// Malformed JSON is code 6; wrong types, missing keys or bad values code 7;
// an unsupported version code 1; a feature we do not implement code 2.
Outcome<PluginConfig> parsePluginConfig(std::string_view text);
// The same for an already decoded object (a conflist entry, flattened).
Outcome<PluginConfig> parsePluginConfigJson(const Json& object);
Outcome<NetworkConfigList> parseNetworkConfigList(std::string_view text);
// Best effort: the "cniVersion" of a document, for error replies.
std::string peekCniVersion(std::string_view text);
// JSON text -> document, refusing bodies over 3 MiB and nesting deeper than
// 512 (as the API server's decoder does) so hostile input cannot exhaust the
// stack; errors are kDecodeFailure with nlohmann's message in `details`. Local
// to cni so podnet-cni links no YAML or API code.
Outcome<Json> decodeJsonText(std::string_view text);
// The highest version in `candidates` that we support, if any.
std::optional<std::string> negotiateVersion(const std::vector<std::string>& candidates);

// ---- result ----

struct ResultInterface {
  std::string name;
  std::string mac;
  int mtu = 0;          // 1.1.0; 0 = omitted
  std::string sandbox;  // empty on host interfaces
};

struct ResultIp {
  InterfaceAddress address;
  std::optional<core::IpAddress> gateway;
  std::optional<int> interfaceIndex;
};

struct AddResult {
  std::string cniVersion;
  std::vector<ResultInterface> interfaces;
  std::vector<ResultIp> ips;
  std::vector<Route> routes;
  Json dns;  // null = omitted

  // Encodes in the shape of cniVersion (0.4.0 adds "version" to ips; mtu is
  // only emitted from 1.1.0).
  Json toJson() const;
  // Decodes a result (e.g. prevResult); tolerant of unknown keys.
  static Outcome<AddResult> fromJson(const Json& json);
};

}  // namespace podnet::cni
