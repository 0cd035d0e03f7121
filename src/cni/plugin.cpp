#include "cni/plugin.h"

#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include "cni/trace.h"

namespace podnet::cni {

namespace {

CniError invalidConfig(std::string msg) { return {kInvalidNetworkConfig, std::move(msg), ""}; }

struct LoadedConfig {
  PluginConfig plugin;
  bool disableCheck = false;
};

Outcome<LoadedConfig> loadConfig(std::string_view text, const PluginOptions& options) {
  auto json = decodeJsonText(text);
  if (!json) return json.error();
  if (!json->is_object())
    return CniError{kDecodeFailure, "network config must be a JSON object", ""};
  LoadedConfig loaded;
  if (json->contains("plugins")) {
    auto list = parseNetworkConfigList(text);
    if (!list) return list.error();
    loaded.plugin = std::move(list->plugins.front());
    loaded.disableCheck = list->disableCheck;
  } else {
    auto plugin = parsePluginConfigJson(*json);
    if (!plugin) return plugin.error();
    loaded.plugin = std::move(*plugin);
  }
  if (loaded.plugin.ipam && !options.dataDirOverride.empty())
    loaded.plugin.ipam->dataDir = options.dataDirOverride;
  return loaded;
}

// The address a runtime asks for: CNI_ARGS IP= (host-local's key; ip= too)
// or the "ips" capability in runtimeConfig.
Outcome<std::optional<core::IpAddress>> requestedAddress(const Invocation& invocation,
                                                         const PluginConfig& config) {
  auto fromArgs = invocation.arg("IP");
  if (!fromArgs) fromArgs = invocation.arg("ip");
  if (fromArgs) {
    auto ip = core::IpAddress::parse(*fromArgs);
    if (!ip) return CniError{kInvalidEnvironment, "CNI_ARGS: invalid IP \"" + *fromArgs + "\"", ""};
    return std::optional<core::IpAddress>(*ip);
  }
  if (config.runtimeConfig.is_object()) {
    auto ips = config.runtimeConfig.find("ips");
    if (ips != config.runtimeConfig.end() && ips->is_array() && !ips->empty()) {
      const Json& first = (*ips)[0];
      if (!first.is_string()) return invalidConfig("runtimeConfig.ips must be strings");
      std::string text = first.get<std::string>();
      auto withPrefix = InterfaceAddress::parse(text);
      auto ip = withPrefix ? std::optional(withPrefix->ip) : core::IpAddress::parse(text);
      if (!ip) return invalidConfig("runtimeConfig.ips: invalid IP \"" + text + "\"");
      return std::optional<core::IpAddress>(*ip);
    }
  }
  return std::optional<core::IpAddress>();
}

PodNetworkSpec podSpec(const Invocation& invocation, const PluginConfig& config,
                       const AllocatedAddress& allocated) {
  PodNetworkSpec spec;
  spec.netns = invocation.netns;
  spec.ifname = invocation.ifname;
  spec.bridge = config.bridge;
  spec.address = allocated.address;
  spec.gateway = allocated.gateway;
  spec.isGateway = config.isGateway;
  spec.mtu = config.mtu;
  spec.hairpin = config.hairpinMode;
  spec.routes = config.ipam->routes;
  if (config.isDefaultGateway) {
    core::Cidr anywhere{core::IpAddress{}, 0};
    anywhere.network.v6 = allocated.address.ip.v6;
    bool present = false;
    for (const auto& route : spec.routes) present = present || route.dst == anywhere;
    // An IPAM default route wins, as in the reference bridge plugin.
    if (!present) spec.routes.push_back(Route{anywhere, allocated.gateway});
  }
  return spec;
}

Response success(const Json& body) { return {0, body.dump()}; }
Response successEmpty() { return {0, ""}; }

// IPAM for one ADD on its own thread, while the backend makes the links: it
// reserves the address and publishes it for whoever waits for it.
class IpamWorker {
 public:
  IpamWorker(HostLocalIpam& ipam, const Invocation& invocation,
             std::optional<core::IpAddress> requested)
      : ipam_(ipam), invocation_(invocation), requested_(requested) {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {  // no thread: IPAM first, then the rest
      run();
    }
  }
  ~IpamWorker() { join(); }
  IpamWorker(const IpamWorker&) = delete;
  IpamWorker& operator=(const IpamWorker&) = delete;

  Outcome<AllocatedAddress> reserved() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return reserved_.has_value(); });
    return *reserved_;
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    auto allocated = ipam_.allocate(invocation_.containerId, invocation_.ifname, requested_);
    traceMark("address reserved");
    {
      std::lock_guard lock(mutex_);
      reserved_.emplace(std::move(allocated));
    }
    changed_.notify_all();
  }

  HostLocalIpam& ipam_;
  const Invocation& invocation_;
  std::optional<core::IpAddress> requested_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Outcome<AllocatedAddress>> reserved_;
  std::thread thread_;
};

Response commandAdd(const Invocation& invocation, const PluginConfig& config, HostLocalIpam& ipam,
                    NetworkBackend& backend) {
  auto requested = requestedAddress(invocation, config);
  if (!requested) return errorResponse(requested.error(), config.cniVersion);
  traceMark("config parsed");
  // IPAM (~0.3 ms) runs on a thread while the backend does the kernel work.
  // With one range the gateway and prefix are known up front, so a backend
  // that accepts it starts before the address is chosen.
  IpamWorker worker(ipam, invocation, *requested);
  PodNetworkSpec spec;
  if (backend.acceptsLateAddress() && config.ipam->ranges.size() == 1) {
    const IpRange& range = config.ipam->ranges.front();
    spec = podSpec(
        invocation, config,
        AllocatedAddress{InterfaceAddress{range.gateway, range.subnet.prefix}, range.gateway});
    spec.address.ip = core::IpAddress{};  // not chosen yet
    spec.address.ip.v6 = range.gateway.v6;
    spec.awaitAddress = [&worker]() -> Outcome<InterfaceAddress> {
      auto reserved = worker.reserved();
      if (!reserved) return reserved.error();
      return reserved->address;
    };
  } else {
    auto reserved = worker.reserved();
    if (!reserved) return errorResponse(reserved.error(), config.cniVersion);
    spec = podSpec(invocation, config, *reserved);
  }
  auto links = backend.setUpPod(spec);
  traceMark("pod set up");
  worker.join();
  auto allocated = worker.reserved();
  // An IPAM error wins: it is why the backend stopped, or (ADD twice) the
  // more precise of two.
  if (!allocated) {
    if (links) (void)backend.tearDownPod(invocation.netns, invocation.ifname);
    return errorResponse(allocated.error(), config.cniVersion);
  }
  if (!links) {
    // Give the address back now: the runtime's DEL would too, but an ADD that
    // failed must not hold an address until then.
    (void)ipam.release(invocation.containerId, invocation.ifname);
    CniError error = links.error();
    if (error.code == 0) error.code = kBackendFailure;
    return errorResponse(error, config.cniVersion);
  }
  spec.address = allocated->address;
  AddResult result;
  result.cniVersion = config.cniVersion;
  result.interfaces = {
      {links->bridge.name, links->bridge.mac, links->bridge.mtu, ""},
      {links->hostVeth.name, links->hostVeth.mac, links->hostVeth.mtu, ""},
      {links->pod.name.empty() ? invocation.ifname : links->pod.name, links->pod.mac,
       links->pod.mtu, invocation.netns},
  };
  result.ips.push_back(ResultIp{allocated->address, allocated->gateway, 2});
  result.routes = spec.routes;
  result.dns = config.dns;
  return success(result.toJson());
}

Response commandDel(const Invocation& invocation, const PluginConfig& config, HostLocalIpam& ipam,
                    NetworkBackend& backend) {
  // The interface first: its address must not be handed out while it is
  // still configured. A failure leaves the address for the runtime's retry.
  auto torn = backend.tearDownPod(invocation.netns, invocation.ifname);
  if (!torn) return errorResponse(torn.error(), config.cniVersion);
  auto released = ipam.release(invocation.containerId, invocation.ifname);
  if (!released) return errorResponse(released.error(), config.cniVersion);
  return successEmpty();
}

Response commandCheck(const Invocation& invocation, const PluginConfig& config, HostLocalIpam& ipam,
                      NetworkBackend& backend) {
  if (config.prevResult.is_null())
    return errorResponse(invalidConfig("CHECK requires prevResult"), config.cniVersion);
  auto previous = AddResult::fromJson(config.prevResult);
  if (!previous) return errorResponse(previous.error(), config.cniVersion);
  auto held = ipam.find(invocation.containerId, invocation.ifname);
  if (!held) return errorResponse(held.error(), config.cniVersion);
  if (held->empty())
    return errorResponse(
        {kUnknownContainer,
         "no IP address allocated for " + invocation.containerId + "/" + invocation.ifname, ""},
        config.cniVersion);
  const Allocation& allocation = held->front();
  const ResultIp* match = nullptr;
  for (const auto& ip : previous->ips)
    if (ip.address.ip == allocation.address) match = &ip;
  if (!match)
    return errorResponse(invalidConfig("prevResult does not hold the allocated address " +
                                       allocation.address.toString()),
                         config.cniVersion);
  AllocatedAddress allocated{match->address, match->gateway.value_or(core::IpAddress{})};
  for (const auto& range : config.ipam->ranges)
    if (range.subnet.contains(allocation.address))
      allocated = {InterfaceAddress{allocation.address, range.subnet.prefix}, range.gateway};
  auto checked = backend.checkPod(podSpec(invocation, config, allocated));
  if (!checked) return errorResponse(checked.error(), config.cniVersion);
  return successEmpty();
}

}  // namespace

Response errorResponse(const CniError& error, std::string_view cniVersion) {
  std::string version = isSupportedVersion(cniVersion) ? std::string(cniVersion) : kLatestVersion;
  return {1, error.toJson(version).dump()};
}

Response runPlugin(const Invocation& invocation, std::string_view stdinConfig,
                   NetworkBackend& backend, const PluginOptions& options) {
  if (invocation.command == Command::kVersion) return success(versionInfo());

  auto loaded = loadConfig(stdinConfig, options);
  if (!loaded) return errorResponse(loaded.error(), peekCniVersion(stdinConfig));
  const PluginConfig& config = loaded->plugin;
  const std::string& version = config.cniVersion;
  bool v110 = compareVersions(version, "1.1.0") >= 0;
  if ((invocation.command == Command::kStatus || invocation.command == Command::kGc) && !v110)
    return errorResponse({kIncompatibleVersion,
                          "config version " + version + " does not allow " +
                              std::string(commandName(invocation.command)),
                          ""},
                         version);
  if (!config.ipam) return errorResponse(invalidConfig("\"ipam\" is required"), version);
  HostLocalIpam ipam(*config.ipam, config.name);

  switch (invocation.command) {
    case Command::kAdd:
      return commandAdd(invocation, config, ipam, backend);
    case Command::kDel:
      return commandDel(invocation, config, ipam, backend);
    case Command::kCheck:
      if (loaded->disableCheck) return successEmpty();
      return commandCheck(invocation, config, ipam, backend);
    case Command::kStatus: {
      if (!backend.ready())
        return errorResponse({kNotAvailable, "network backend is not ready", ""}, version);
      // The state directory must be usable for ADD to succeed.
      auto state = ipam.list();
      if (!state)
        return errorResponse({kNotAvailable, "IPAM state unavailable", state.error().msg}, version);
      return successEmpty();
    }
    case Command::kGc: {
      if (!config.gcAttachments)
        return errorResponse(invalidConfig("GC requires \"cni.dev/attachments\""), version);
      auto collected = ipam.garbageCollect(*config.gcAttachments);
      if (!collected) return errorResponse(collected.error(), version);
      return successEmpty();
    }
    case Command::kVersion:
      break;
  }
  return success(versionInfo());
}

Response runPlugin(const std::map<std::string, std::string>& environment,
                   std::string_view stdinConfig, NetworkBackend& backend,
                   const PluginOptions& options) {
  auto invocation = parseInvocation(environment);
  if (!invocation) return errorResponse(invocation.error(), peekCniVersion(stdinConfig));
  return runPlugin(*invocation, stdinConfig, backend, options);
}

}  // namespace podnet::cni
