#include "cni/types.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

extern char** environ;  // NOLINT: POSIX

namespace podnet::cni {

Json CniError::toJson(std::string_view cniVersion) const {
  Json out = {{"cniVersion", std::string(cniVersion)}, {"code", code}, {"msg", msg}};
  if (!details.empty()) out["details"] = details;
  return out;
}

namespace {

CniError envError(std::string msg) { return {kInvalidEnvironment, std::move(msg), ""}; }
CniError configError(std::string msg) { return {kInvalidNetworkConfig, std::move(msg), ""}; }

std::vector<std::string> splitString(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    size_t end = text.find(separator, begin);
    parts.emplace_back(text.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  return parts;
}

}  // namespace

// ---- versions ----

const std::vector<std::string>& supportedVersions() {
  static const std::vector<std::string> versions = {"0.4.0", "1.0.0", "1.1.0"};
  return versions;
}

bool isSupportedVersion(std::string_view version) {
  const auto& all = supportedVersions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

int compareVersions(std::string_view a, std::string_view b) {
  auto partsA = splitString(a, '.');
  auto partsB = splitString(b, '.');
  size_t count = std::max(partsA.size(), partsB.size());
  for (size_t i = 0; i < count; ++i) {
    auto number = [](const std::vector<std::string>& parts, size_t i) {
      long value = 0;
      if (i < parts.size())
        std::from_chars(parts[i].data(), parts[i].data() + parts[i].size(), value);
      return value;
    };
    long x = number(partsA, i), y = number(partsB, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

Json versionInfo() {
  return {{"cniVersion", kLatestVersion}, {"supportedVersions", supportedVersions()}};
}

std::optional<std::string> negotiateVersion(const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  for (const auto& candidate : candidates)
    if (isSupportedVersion(candidate) && (!best || compareVersions(candidate, *best) > 0))
      best = candidate;
  return best;
}

// ---- invocation ----

std::string_view commandName(Command command) {
  switch (command) {
    case Command::kAdd:
      return "ADD";
    case Command::kDel:
      return "DEL";
    case Command::kCheck:
      return "CHECK";
    case Command::kVersion:
      return "VERSION";
    case Command::kStatus:
      return "STATUS";
    case Command::kGc:
      return "GC";
  }
  return "?";
}

std::optional<std::string> Invocation::arg(std::string_view key) const {
  std::optional<std::string> found;
  for (const auto& [k, v] : args)
    if (k == key) found = v;
  return found;
}

bool isValidContainerId(std::string_view id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool isValidNetworkName(std::string_view name) { return isValidContainerId(name); }

bool isValidInterfaceName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0';
  });
}

Outcome<Invocation> parseInvocation(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* key) -> std::string {
    auto it = env.find(key);
    return it == env.end() ? std::string() : it->second;
  };
  Invocation inv;
  std::string command = get("CNI_COMMAND");
  if (command.empty()) return envError("required env variable CNI_COMMAND missing");
  static const std::map<std::string, Command, std::less<>> commands = {
      {"ADD", Command::kAdd},         {"DEL", Command::kDel},       {"CHECK", Command::kCheck},
      {"VERSION", Command::kVersion}, {"STATUS", Command::kStatus}, {"GC", Command::kGc}};
  auto found = commands.find(command);
  if (found == commands.end()) return envError("unknown CNI_COMMAND: " + command);
  inv.command = found->second;

  // What each command needs, as the spec and skel define it.
  bool perAttachment = inv.command == Command::kAdd || inv.command == Command::kCheck ||
                       inv.command == Command::kDel;
  bool needsNetns = inv.command == Command::kAdd || inv.command == Command::kCheck;
  inv.containerId = get("CNI_CONTAINERID");
  inv.netns = get("CNI_NETNS");
  inv.ifname = get("CNI_IFNAME");
  std::string path = get("CNI_PATH");
  std::string args = get("CNI_ARGS");
  if (perAttachment) {
    if (inv.containerId.empty()) return envError("required env variable CNI_CONTAINERID missing");
    if (!isValidContainerId(inv.containerId))
      return envError("invalid CNI_CONTAINERID \"" + inv.containerId +
                      "\": must start with an alphanumeric character and contain only "
                      "[A-Za-z0-9_.-]");
    if (needsNetns && inv.netns.empty()) return envError("required env variable CNI_NETNS missing");
    if (inv.ifname.empty()) return envError("required env variable CNI_IFNAME missing");
    if (!isValidInterfaceName(inv.ifname))
      return envError("invalid CNI_IFNAME \"" + inv.ifname + "\"");
  }
  if (inv.command == Command::kGc && path.empty())
    return envError("required env variable CNI_PATH missing");
  if (!path.empty())
    for (auto& dir : splitString(path, ':'))
      if (!dir.empty()) inv.path.push_back(std::move(dir));
  if (!args.empty()) {
    for (auto& pair : splitString(args, ';')) {
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0)
        return envError("invalid CNI_ARGS pair \"" + pair + "\": expected KEY=VALUE");
      inv.args.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
  }
  return inv;
}

Outcome<Invocation> invocationFromProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos || text.substr(0, 4) != "CNI_") continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return parseInvocation(env);
}

// ---- addresses ----

std::optional<InterfaceAddress> InterfaceAddress::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = core::IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  std::string_view prefixText = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] =
      std::from_chars(prefixText.data(), prefixText.data() + prefixText.size(), prefix);
  if (ec != std::errc() || end != prefixText.data() + prefixText.size() || prefixText.empty() ||
      prefix < 0 || prefix > static_cast<int>(ip->bitLength()))
    return std::nullopt;
  return InterfaceAddress{*ip, prefix};
}

std::string InterfaceAddress::toString() const {
  return ip.toString() + "/" + std::to_string(prefix);
}

// ---- configuration ----

namespace {

// Reads an optional string member; a wrong type is an invalid config.
std::optional<CniError> readString(const Json& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return configError(std::string("\"") + key + "\" must be a string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<CniError> readBool(const Json& object, const char* key, bool& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return configError(std::string("\"") + key + "\" must be a boolean");
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<CniError> readIp(const Json& object, const char* key,
                               std::optional<core::IpAddress>& out) {
  std::string text;
  if (auto error = readString(object, key, text)) return error;
  if (text.empty()) return std::nullopt;
  out = core::IpAddress::parse(text);
  if (!out) return configError(std::string("\"") + key + "\": invalid IP address \"" + text + "\"");
  return std::nullopt;
}

Outcome<std::vector<Route>> parseRoutes(const Json& list, std::string_view where) {
  std::vector<Route> routes;
  if (list.is_null()) return routes;
  if (!list.is_array()) return configError(std::string(where) + " must be a list");
  for (const auto& item : list) {
    if (!item.is_object()) return configError(std::string(where) + " entries must be objects");
    std::string dst;
    if (auto error = readString(item, "dst", dst)) return *error;
    auto cidr = core::Cidr::parse(dst);
    if (!cidr) return configError(std::string(where) + ": invalid route dst \"" + dst + "\"");
    Route route{*cidr, std::nullopt};
    if (auto error = readIp(item, "gw", route.gw)) return *error;
    if (route.gw && route.gw->v6 != cidr->network.v6)
      return configError(std::string(where) + ": route gw family differs from dst");
    routes.push_back(route);
  }
  return routes;
}

// Fills in host-local's defaults: start = network+1, end = the last address
// (v4: before broadcast), gateway = network+1; and checks they fit.
Outcome<IpRange> parseRange(const Json& object) {
  if (!object.is_object()) return configError("ipam range must be an object");
  std::string subnetText;
  if (auto error = readString(object, "subnet", subnetText)) return *error;
  if (subnetText.empty()) return configError("ipam range: \"subnet\" is required");
  auto subnet = core::Cidr::parse(subnetText);
  if (!subnet) return configError("ipam range: invalid subnet \"" + subnetText + "\"");
  // The network and (v4) broadcast addresses are never allocated, so a
  // subnet needs room for at least one address besides them.
  uint64_t size = subnet->size();
  bool v4 = !subnet->network.v6;
  if (size < (v4 ? 4u : 2u))
    return configError("ipam range: subnet " + subnetText + " is too small to allocate from");
  std::optional<core::IpAddress> start, end, gateway;
  if (auto error = readIp(object, "rangeStart", start)) return *error;
  if (auto error = readIp(object, "rangeEnd", end)) return *error;
  if (auto error = readIp(object, "gateway", gateway)) return *error;
  IpRange range;
  range.subnet = *subnet;
  uint64_t lastUsable = v4 ? size - 2 : size - 1;
  range.rangeStart = start ? *start : subnet->at(1);
  range.rangeEnd = end ? *end : subnet->at(lastUsable);
  range.gateway = gateway ? *gateway : subnet->at(1);
  for (auto [name, ip] :
       {std::pair{"rangeStart", range.rangeStart}, std::pair{"rangeEnd", range.rangeEnd},
        std::pair{"gateway", range.gateway}}) {
    if (!subnet->contains(ip))
      return configError(std::string("ipam range: ") + name + " " + ip.toString() +
                         " is outside subnet " + subnet->toString());
  }
  uint64_t startOffset = subnet->offsetOf(range.rangeStart);
  uint64_t endOffset = subnet->offsetOf(range.rangeEnd);
  if (startOffset == 0) range.rangeStart = subnet->at(1);  // never the network address
  if (v4 && endOffset == size - 1) range.rangeEnd = subnet->at(size - 2);  // nor broadcast
  if (subnet->offsetOf(range.rangeStart) > subnet->offsetOf(range.rangeEnd))
    return configError("ipam range: rangeStart is after rangeEnd");
  return range;
}

Outcome<IpamConfig> parseIpam(const Json& object) {
  if (!object.is_object()) return configError("\"ipam\" must be an object");
  IpamConfig ipam;
  if (auto error = readString(object, "type", ipam.type)) return *error;
  if (ipam.type.empty()) return configError("ipam: \"type\" is required");
  if (ipam.type != "podnet-ipam" && ipam.type != "host-local")
    return CniError{kUnsupportedField,
                    "ipam type \"" + ipam.type +
                        "\" is not supported: podnet has built-in podnet-ipam/host-local only",
                    ""};
  if (auto error = readString(object, "dataDir", ipam.dataDir)) return *error;
  if (ipam.dataDir.empty()) ipam.dataDir = "/var/lib/cni/networks";
  auto ranges = object.find("ranges");
  if (ranges != object.end() && !ranges->is_null()) {
    if (!ranges->is_array() || ranges->empty())
      return configError("ipam: \"ranges\" must be a non-empty list of range sets");
    if (ranges->size() > 1)
      return CniError{kUnsupportedField, "ipam: only one range set is supported", ""};
    const Json& set = (*ranges)[0];
    if (!set.is_array() || set.empty())
      return configError("ipam: a range set must be a non-empty list of ranges");
    for (const auto& item : set) {
      auto range = parseRange(item);
      if (!range) return range.error();
      ipam.ranges.push_back(*range);
    }
  } else if (object.contains("subnet")) {
    // The older single-range form: subnet, rangeStart, rangeEnd, gateway at top level.
    auto range = parseRange(object);
    if (!range) return range.error();
    ipam.ranges.push_back(*range);
  } else {
    return configError("ipam: \"subnet\" or \"ranges\" is required");
  }
  for (size_t i = 0; i < ipam.ranges.size(); ++i)
    for (size_t j = i + 1; j < ipam.ranges.size(); ++j) {
      const auto& a = ipam.ranges[i];
      const auto& b = ipam.ranges[j];
      if (a.subnet.network.v6 != b.subnet.network.v6)
        return configError("ipam: a range set must hold one address family");
      // Same family, so the byte order of the addresses is their numeric order.
      if (!(a.rangeEnd < b.rangeStart || b.rangeEnd < a.rangeStart))
        return configError("ipam: ranges overlap");
    }
  auto routes = parseRoutes(object.contains("routes") ? object["routes"] : Json(), "ipam.routes");
  if (!routes) return routes.error();
  ipam.routes = std::move(*routes);
  return ipam;
}

Outcome<Json> decode(std::string_view text) {
  auto json = decodeJsonText(text);
  if (!json) return json.error();
  if (!json->is_object())
    return CniError{kDecodeFailure, "network config must be a JSON object", ""};
  return std::move(*json);
}

constexpr size_t kMaxConfigBytes = 3 * 1024 * 1024;
constexpr int kMaxDepth = 512;

// Nesting depth counted outside strings, before nlohmann recurses into it.
bool nestedTooDeeply(std::string_view text) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Outcome<Json> decodeJsonText(std::string_view text) {
  const char* what = "error decoding network config";
  if (text.size() > kMaxConfigBytes) return CniError{kDecodeFailure, what, "config too large"};
  if (nestedTooDeeply(text))
    return CniError{kDecodeFailure, what,
                    "error decoding JSON: exceeded max depth of " + std::to_string(kMaxDepth)};
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {  // parse errors, and numbers out of range (1e400)
    return CniError{kDecodeFailure, what, std::string("error decoding JSON: ") + e.what()};
  }
}

std::string peekCniVersion(std::string_view text) {
  auto json = decodeJsonText(text);
  if (json && json->is_object()) {
    auto it = json->find("cniVersion");
    if (it != json->end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

Outcome<PluginConfig> parsePluginConfigJson(const Json& object) {
  if (!object.is_object()) return configError("plugin config must be an object");
  PluginConfig config;
  config.raw = object;
  if (auto error = readString(object, "cniVersion", config.cniVersion)) return *error;
  if (config.cniVersion.empty()) return configError("\"cniVersion\" is required");
  if (!isSupportedVersion(config.cniVersion))
    return CniError{kIncompatibleVersion, "incompatible CNI versions",
                    "config is \"" + config.cniVersion + "\", plugin supports 0.4.0, 1.0.0, 1.1.0"};
  if (auto error = readString(object, "name", config.name)) return *error;
  if (!isValidNetworkName(config.name))
    return configError(
        "\"name\" must be non-empty, start alphanumeric and hold only [A-Za-z0-9_.-]");
  if (auto error = readString(object, "type", config.type)) return *error;
  if (auto error = readString(object, "bridge", config.bridge)) return *error;
  if (config.bridge.empty()) config.bridge = "podnet0";
  if (!isValidInterfaceName(config.bridge)) return configError("invalid \"bridge\" name");
  if (auto error = readBool(object, "isGateway", config.isGateway)) return *error;
  if (auto error = readBool(object, "isDefaultGateway", config.isDefaultGateway)) return *error;
  if (auto error = readBool(object, "hairpinMode", config.hairpinMode)) return *error;
  // As the reference bridge: a default gateway implies the bridge is the gateway.
  if (config.isDefaultGateway) config.isGateway = true;
  bool promiscMode = false;
  if (auto error = readBool(object, "promiscMode", promiscMode)) return *error;
  if (promiscMode && config.hairpinMode)
    return configError("cannot set hairpin mode and promiscuous mode at the same time");
  if (auto mtu = object.find("mtu"); mtu != object.end() && !mtu->is_null()) {
    if (!mtu->is_number_integer() || mtu->get<int64_t>() < 0 || mtu->get<int64_t>() > 65535)
      return configError("\"mtu\" must be an integer between 0 and 65535");
    config.mtu = static_cast<int>(mtu->get<int64_t>());
    if (config.mtu != 0 && config.mtu < 68) return configError("\"mtu\" must be at least 68");
  }
  if (auto ipam = object.find("ipam"); ipam != object.end() && !ipam->is_null()) {
    auto parsed = parseIpam(*ipam);
    if (!parsed) return parsed.error();
    config.ipam = std::move(*parsed);
  }
  for (const char* key : {"dns", "runtimeConfig", "prevResult"}) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) continue;
    if (!it->is_object()) return configError(std::string("\"") + key + "\" must be an object");
    (key == std::string_view("dns")             ? config.dns
     : key == std::string_view("runtimeConfig") ? config.runtimeConfig
                                                : config.prevResult) = *it;
  }
  if (auto it = object.find("cni.dev/attachments"); it != object.end() && !it->is_null()) {
    if (!it->is_array()) return configError("\"cni.dev/attachments\" must be a list");
    std::vector<Attachment> attachments;
    for (const auto& item : *it) {
      if (!item.is_object()) return configError("\"cni.dev/attachments\" entries must be objects");
      Attachment attachment;
      if (auto error = readString(item, "containerID", attachment.containerId)) return *error;
      if (auto error = readString(item, "ifname", attachment.ifname)) return *error;
      if (attachment.containerId.empty() || attachment.ifname.empty())
        return configError("\"cni.dev/attachments\" entries need containerID and ifname");
      attachments.push_back(std::move(attachment));
    }
    config.gcAttachments = std::move(attachments);
  }
  return config;
}

Outcome<PluginConfig> parsePluginConfig(std::string_view text) {
  auto json = decode(text);
  if (!json) return json.error();
  return parsePluginConfigJson(*json);
}

Outcome<NetworkConfigList> parseNetworkConfigList(std::string_view text) {
  auto json = decode(text);
  if (!json) return json.error();
  const Json& object = *json;
  NetworkConfigList list;
  if (auto error = readString(object, "name", list.name)) return *error;
  if (!isValidNetworkName(list.name)) return configError("conflist: invalid \"name\"");
  if (auto error = readBool(object, "disableCheck", list.disableCheck)) return *error;
  std::vector<std::string> candidates;
  std::string single;
  if (auto error = readString(object, "cniVersion", single)) return *error;
  if (auto it = object.find("cniVersions"); it != object.end() && !it->is_null()) {
    if (!it->is_array()) return configError("\"cniVersions\" must be a list of strings");
    for (const auto& version : *it) {
      if (!version.is_string()) return configError("\"cniVersions\" must be a list of strings");
      candidates.push_back(version.get<std::string>());
    }
  }
  // 1.1.0: the runtime uses the highest of cniVersions it supports; cniVersion
  // is the fallback for runtimes (and configs) that predate the list.
  if (!candidates.empty()) {
    auto best = negotiateVersion(candidates);
    if (!best) return CniError{kIncompatibleVersion, "no supported version in \"cniVersions\"", ""};
    list.cniVersion = *best;
  } else {
    if (single.empty()) return configError("conflist: \"cniVersion\" is required");
    if (!isSupportedVersion(single))
      return CniError{kIncompatibleVersion, "incompatible CNI versions",
                      "config is \"" + single + "\""};
    list.cniVersion = single;
  }
  auto plugins = object.find("plugins");
  if (plugins == object.end() || !plugins->is_array() || plugins->empty())
    return configError("conflist: \"plugins\" must be a non-empty list");
  for (const auto& plugin : *plugins) {
    if (!plugin.is_object()) return configError("conflist: plugins must be objects");
    // Flatten as a runtime does before invoking the plugin.
    Json flattened = plugin;
    flattened["cniVersion"] = list.cniVersion;
    flattened["name"] = list.name;
    flattened.erase("capabilities");
    auto parsed = parsePluginConfigJson(flattened);
    if (!parsed) return parsed.error();
    if (parsed->type.empty()) return configError("conflist: every plugin needs a \"type\"");
    list.plugins.push_back(std::move(*parsed));
  }
  return list;
}

// ---- result ----

namespace {
Json routeToJson(const Route& route) {
  Json out = {{"dst", route.dst.toString()}};
  if (route.gw) out["gw"] = route.gw->toString();
  return out;
}
}  // namespace

Json AddResult::toJson() const {
  bool v040 = compareVersions(cniVersion, "1.0.0") < 0;
  bool v110 = compareVersions(cniVersion, "1.1.0") >= 0;
  Json out = {{"cniVersion", cniVersion}};
  if (!interfaces.empty()) {
    Json list = Json::array();
    for (const auto& iface : interfaces) {
      Json item = {{"name", iface.name}};
      if (!iface.mac.empty()) item["mac"] = iface.mac;
      if (v110 && iface.mtu > 0) item["mtu"] = iface.mtu;
      if (!iface.sandbox.empty()) item["sandbox"] = iface.sandbox;
      list.push_back(std::move(item));
    }
    out["interfaces"] = std::move(list);
  }
  Json ipList = Json::array();
  for (const auto& ip : ips) {
    Json item = {{"address", ip.address.toString()}};
    if (v040) item["version"] = ip.address.ip.v6 ? "6" : "4";
    if (ip.gateway) item["gateway"] = ip.gateway->toString();
    if (ip.interfaceIndex) item["interface"] = *ip.interfaceIndex;
    ipList.push_back(std::move(item));
  }
  out["ips"] = std::move(ipList);
  if (!routes.empty()) {
    Json list = Json::array();
    for (const auto& route : routes) list.push_back(routeToJson(route));
    out["routes"] = std::move(list);
  }
  if (dns.is_object() && !dns.empty()) out["dns"] = dns;
  return out;
}

Outcome<AddResult> AddResult::fromJson(const Json& json) {
  if (!json.is_object()) return configError("result must be an object");
  AddResult result;
  if (auto error = readString(json, "cniVersion", result.cniVersion)) return *error;
  if (auto it = json.find("interfaces"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) return configError("result: \"interfaces\" must be a list");
    for (const auto& item : *it) {
      if (!item.is_object()) return configError("result: interfaces must be objects");
      ResultInterface iface;
      if (auto error = readString(item, "name", iface.name)) return *error;
      if (auto error = readString(item, "mac", iface.mac)) return *error;
      if (auto error = readString(item, "sandbox", iface.sandbox)) return *error;
      if (auto mtu = item.find("mtu"); mtu != item.end() && mtu->is_number_integer())
        iface.mtu = static_cast<int>(std::clamp<int64_t>(mtu->get<int64_t>(), 0, 65535));
      result.interfaces.push_back(std::move(iface));
    }
  }
  if (auto it = json.find("ips"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) return configError("result: \"ips\" must be a list");
    for (const auto& item : *it) {
      if (!item.is_object()) return configError("result: ips must be objects");
      std::string address;
      if (auto error = readString(item, "address", address)) return *error;
      auto parsed = InterfaceAddress::parse(address);
      if (!parsed) return configError("result: invalid ip address \"" + address + "\"");
      ResultIp ip{*parsed, std::nullopt, std::nullopt};
      if (auto error = readIp(item, "gateway", ip.gateway)) return *error;
      if (auto index = item.find("interface"); index != item.end() && !index->is_null()) {
        if (!index->is_number_integer() || index->get<int64_t>() < 0 ||
            index->get<int64_t>() > 1024)
          return configError("result: \"interface\" must be a small non-negative integer");
        ip.interfaceIndex = static_cast<int>(index->get<int64_t>());
      }
      result.ips.push_back(ip);
    }
  }
  auto routes = parseRoutes(json.contains("routes") ? json["routes"] : Json(), "result.routes");
  if (!routes) return routes.error();
  result.routes = std::move(*routes);
  if (auto it = json.find("dns"); it != json.end() && it->is_object()) result.dns = *it;
  return result;
}

}  // namespace podnet::cni
