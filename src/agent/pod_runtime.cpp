#include "agent/pod_runtime.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "agent/pod_plan.h"
#include "agent/pod_volumes.h"
#include "agent/probe.h"
#include "api/object.h"
#include "api/resource.h"
#include "cni/netlink_backend.h"
#include "cni/plugin.h"
#include "core/files.h"
#include "metrics/metrics.h"
#include "net/netns.h"
#include "runtime/container_log.h"
#include "runtime/container_process.h"
#include "runtime/container_shim.h"

namespace podnet::agent {

using runtime::ProcessSpec;
using runtime::processStartTime;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using api::stringAt;

namespace {

std::string readFile(const fs::path& path) { return core::readFile(path.string()); }

// Pod state is private; resolv.conf and hosts are bind mounted into the
// pod, where any user of the container reads them.
void writeFileAtomically(const fs::path& path, const std::string& content, int mode = 0600) {
  core::writeFileAtomically(path.string(), content, mode);
}

bool isZombie(pid_t pid) {
  std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

// One container of a sandbox, as the agent tracks it. Persisted, so a
// restarted agent adopts the processes its predecessor started.
struct ContainerRuntime {
  std::string name;
  // The shim (runtime/container_shim.h), which lives as long as the
  // program: the process the agent waits for.
  pid_t pid = 0;
  unsigned long long procStart = 0;
  bool child = false;  // started by this agent process (waitpid works)
  // The program itself: what stops are signalled to.
  pid_t containerPid = 0;
  unsigned long long containerStart = 0;
  int instance = -1;  // the restart count it started with: names its log
  int restartCount = 0;
  std::string startedAt;
  Json lastState = Json::object();
  Json terminated;  // when the process has ended and was not restarted yet
  std::string waitingReason, waitingMessage;
  // The environment it was started with (not persisted: it may hold Secrets).
  std::vector<std::string> env;
  Clock::time_point notBefore{};
  std::chrono::milliseconds backoff{0};
  Clock::time_point runningSince{};
  bool done = false;  // ended and restartPolicy says never again
  // Probes (not persisted: a restarted agent probes again from scratch).
  struct ProbeState {
    int successes = 0, failures = 0;
    Clock::time_point next{};
    std::shared_ptr<std::atomic<int>> pending;  // -1 running, 0 failed, 1 succeeded
  };
  bool ready = false;  // readiness: true without a readiness probe
  ProbeState readiness, liveness;

  Json toJson() const {
    return {{"name", name},
            {"pid", pid},
            {"procStart", procStart},
            {"containerPid", containerPid},
            {"containerStart", containerStart},
            {"instance", instance},
            {"restartCount", restartCount},
            {"startedAt", startedAt},
            {"lastState", lastState},
            {"terminated", terminated},
            {"done", done}};
  }
  static ContainerRuntime fromJson(const Json& json) {
    ContainerRuntime c;
    c.name = json.value("name", "");
    c.pid = json.value("pid", 0);
    c.procStart = json.value("procStart", 0ULL);
    c.containerPid = json.value("containerPid", 0);
    c.containerStart = json.value("containerStart", 0ULL);
    c.instance = json.value("instance", -1);
    c.restartCount = json.value("restartCount", 0);
    c.startedAt = json.value("startedAt", "");
    if (json.contains("lastState") && json["lastState"].is_object())
      c.lastState = json["lastState"];
    if (json.contains("terminated")) c.terminated = json["terminated"];
    c.done = json.value("done", false);
    return c;
  }
};

struct Sandbox {
  std::string uid, ns, name;
  std::string netns;         // name under /run/netns ("" for hostNetwork)
  bool hostNetwork = false;  // in the node's network namespace, with its address
  std::string podIp;
  std::string dir;  // dataDir/pods/<uid>
  std::map<std::string, ContainerRuntime> containers;
  // Graceful stop in progress.
  bool stopping = false;
  Clock::time_point killAt{};
  Json lastStatus;  // the status last written, to write only changes
  // Volumes: each one's host path once all are ready (persisted, so exec
  // after an agent restart sees the same mounts).
  bool volumesReady = false;
  std::map<std::string, std::string> volumePaths;
  std::vector<std::string> serviceLinks;  // fixed at the first start, as kubelet's
  // Pod start latency: from the sandbox's making to every container running.
  Clock::time_point made = Clock::now();
  bool startRecorded = false;  // also for pods adopted from a previous agent
  std::string volumeError;     // the last FailedMount reported
  Clock::time_point volumesRetryAt{}, volumesRefreshAt{};
  std::chrono::milliseconds volumeRetryDelay{0};
  struct Token {
    std::string value;
    Clock::time_point renewAt{};
  };
  std::map<std::string, Token> tokens;  // by audience + expiration

  Json toJson() const {
    Json list = Json::array();
    for (const auto& [_, c] : containers) list.push_back(c.toJson());
    return {{"uid", uid},
            {"volumesReady", volumesReady},
            {"volumePaths", volumePaths},
            {"serviceLinks", serviceLinks},
            {"namespace", ns},
            {"name", name},
            {"netns", netns},
            {"podIP", podIp},
            {"containers", list},
            {"hostNetwork", hostNetwork}};
  }

  // Where the pod's processes join its network: its own namespace, or the
  // agent's (the node's) for a hostNetwork pod.
  std::string netnsPath() const {
    return hostNetwork ? "/proc/self/ns/net" : net::namedNetnsPath(netns);
  }
};

}  // namespace

struct PodRuntime::Impl {
  PodRuntimeConfig config;
  client::Client* client = nullptr;
  client::Informer* services = nullptr;
  // The node's capacity, for downward API limits without a value (read once).
  int64_t nodeCpus = std::max(1u, std::thread::hardware_concurrency());
  int64_t nodeMemoryBytes = [] {
    std::string meminfo = core::readFile("/proc/meminfo");
    size_t at = meminfo.find("MemTotal:");
    return at == std::string::npos ? int64_t{0} : std::atoll(meminfo.c_str() + at + 9) * 1024;
  }();
  // ConfigMaps and Secrets of file volumes, shared by the pods that read
  // them for a few seconds (kubelet's TTL cache): a hundred pods starting in
  // a namespace read its kube-root-ca.crt once, not a hundred times.
  struct Cached {
    core::Result<Json> object = core::Error{404, "NotFound", ""};
    Clock::time_point fetched{};
  };
  std::map<std::string, Cached> objectCache;
  std::mutex objectCacheMutex;  // pods start on several threads
  std::string nodeIp;
  std::string cniConfig;
  std::map<std::string, Sandbox> sandboxes;  // by pod uid
  std::map<pid_t, int> exitedChildren;       // pid -> wait status
  nodeapi::PodDirectory podDirectory;

  const api::ResourceInfo& pods() { return api::resource("Pod"); }

  void log(const std::string& message) {
    std::fprintf(stderr, "podnet agent %s: %s\n", config.nodeName.c_str(), message.c_str());
  }

  // ---- sandboxes -----------------------------------------------------------

  fs::path podsDir() const { return fs::path(config.dataDir) / "pods"; }

  void saveSandbox(const Sandbox& sandbox) {
    writeFileAtomically(fs::path(sandbox.dir) / "sandbox.json", sandbox.toJson().dump(2));
  }

  // Adopts what a previous agent left: sandboxes whose netns still exists.
  void loadSandboxes() {
    std::error_code error;
    if (!fs::exists(podsDir(), error)) return;
    for (const auto& entry : fs::directory_iterator(podsDir(), error)) {
      Json state = Json::parse(readFile(entry.path() / "sandbox.json"), nullptr, false);
      if (!state.is_object()) continue;
      Sandbox sandbox;
      sandbox.uid = state.value("uid", "");
      sandbox.ns = state.value("namespace", "");
      sandbox.name = state.value("name", "");
      sandbox.netns = state.value("netns", "");
      sandbox.podIp = state.value("podIP", "");
      sandbox.hostNetwork = state.value("hostNetwork", false);
      sandbox.dir = entry.path().string();
      sandbox.volumesReady = state.value("volumesReady", false);
      if (state.contains("volumePaths") && state["volumePaths"].is_object())
        sandbox.volumePaths = state["volumePaths"].get<std::map<std::string, std::string>>();
      if (state.contains("serviceLinks") && state["serviceLinks"].is_array())
        sandbox.serviceLinks = state["serviceLinks"].get<std::vector<std::string>>();
      if (sandbox.uid.empty()) continue;
      if (state.contains("containers") && state["containers"].is_array())
        for (const Json& item : state["containers"]) {
          ContainerRuntime c = ContainerRuntime::fromJson(item);
          // A pid is ours only if the process that has it started when ours did.
          if (c.pid > 0 && (processStartTime(c.pid) != c.procStart || isZombie(c.pid))) {
            c.terminated = endedWhileAway(sandbox, c);
            c.pid = 0;
          }
          // Running before the restart: it stays Ready (readiness probes, if
          // any, re-evaluate it) so an agent restart does not flap endpoints.
          c.ready = c.pid > 0;
          sandbox.containers[c.name] = c;
        }
      log("adopted pod " + sandbox.ns + "/" + sandbox.name + " (" + sandbox.podIp + ")");
      sandbox.startRecorded = true;  // started by an earlier agent: not a latency of ours
      sandboxes[sandbox.uid] = std::move(sandbox);
    }
  }

  std::map<std::string, std::string> cniEnvironment(const std::string& command,
                                                    const Sandbox& sandbox) {
    return {{"CNI_COMMAND", command},
            {"CNI_CONTAINERID", sandbox.uid},
            {"CNI_NETNS", net::namedNetnsPath(sandbox.netns)},
            {"CNI_IFNAME", "eth0"},
            {"CNI_PATH", "/usr/lib/cni"},
            {"CNI_ARGS", "K8S_POD_NAMESPACE=" + sandbox.ns + ";K8S_POD_NAME=" + sandbox.name +
                             ";K8S_POD_UID=" + sandbox.uid}};
  }

  core::Status createSandbox(const Json& pod, Sandbox& sandbox) {
    std::error_code error;
    fs::create_directories(sandbox.dir, error);
    if (error) return core::internal("create " + sandbox.dir + ": " + error.message());
    if (sandbox.hostNetwork) {
      // The node's network: its address, its resolver unless the pod asks
      // for cluster DNS (ClusterFirstWithHostNet), its /etc/hosts.
      sandbox.podIp = nodeIp;
      writeFileAtomically(
          fs::path(sandbox.dir) / "resolv.conf",
          resolvConf(pod, config.clusterDns, config.clusterDomain, readFile("/etc/resolv.conf")),
          0644);
      writeFileAtomically(fs::path(sandbox.dir) / "hosts", readFile("/etc/hosts"), 0644);
      saveSandbox(sandbox);
      log("pod " + sandbox.ns + "/" + sandbox.name + " runs in the node's network (" +
          sandbox.podIp + ")");
      return core::Ok{};
    }
    auto handle = net::createNamedNetns(sandbox.netns);
    if (!handle && handle.error().reason != "AlreadyExists") return handle.takeError();
    cni::NetlinkBackend backend;
    cni::PluginOptions options;
    options.dataDirOverride = (fs::path(config.dataDir) / "ipam").string();
    auto response = cni::runPlugin(cniEnvironment("ADD", sandbox), cniConfig, backend, options);
    if (response.exitCode != 0) {
      net::deleteNamedNetns(sandbox.netns);
      return core::internal("CNI ADD: " + response.stdoutJson);
    }
    Json result = Json::parse(response.stdoutJson, nullptr, false);
    std::string address;
    if (result.is_object() && result.contains("ips") && result["ips"].is_array() &&
        !result["ips"].empty())
      address = result["ips"][0].value("address", "");
    sandbox.podIp = address.substr(0, address.find('/'));
    std::string hostResolv = readFile("/etc/resolv.conf");
    writeFileAtomically(fs::path(sandbox.dir) / "resolv.conf",
                        resolvConf(pod, config.clusterDns, config.clusterDomain, hostResolv), 0644);
    writeFileAtomically(fs::path(sandbox.dir) / "hosts",
                        hostsFile(pod, sandbox.podIp, config.clusterDomain), 0644);
    saveSandbox(sandbox);
    log("pod " + sandbox.ns + "/" + sandbox.name + " got " + sandbox.podIp);
    return core::Ok{};
  }

  void destroySandbox(Sandbox& sandbox) {
    for (auto& [_, c] : sandbox.containers) killContainer(c, SIGKILL);
    if (sandbox.hostNetwork) {
      std::error_code error;
      fs::remove_all(sandbox.dir, error);
      return;
    }
    cni::NetlinkBackend backend;
    cni::PluginOptions options;
    options.dataDirOverride = (fs::path(config.dataDir) / "ipam").string();
    auto response = cni::runPlugin(cniEnvironment("DEL", sandbox), cniConfig, backend, options);
    if (response.exitCode != 0) log("CNI DEL " + sandbox.name + ": " + response.stdoutJson);
    net::deleteNamedNetns(sandbox.netns);
    std::error_code error;
    fs::remove_all(sandbox.dir, error);
  }

  // ---- volumes -------------------------------------------------------------

  // kubelet's FailedMount event, once per distinct message, so
  // `kubectl describe pod` says why the pod stays ContainerCreating.
  void reportFailedMount(const Json& pod, Sandbox& sandbox, const std::string& message) {
    if (message == sandbox.volumeError) return;
    sandbox.volumeError = message;
    log("pod " + sandbox.ns + "/" + sandbox.name + ": " + message);
    std::string now = api::nowRfc3339();
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "%llx",
                  static_cast<unsigned long long>(
                      std::chrono::system_clock::now().time_since_epoch().count()));
    Json event = {{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", {{"name", sandbox.name + "." + suffix}, {"namespace", sandbox.ns}}},
                  {"involvedObject",
                   {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"namespace", sandbox.ns},
                    {"name", sandbox.name},
                    {"uid", sandbox.uid}}},
                  {"reason", "FailedMount"},
                  {"message", message},
                  {"type", "Warning"},
                  {"source", {{"component", "kubelet"}, {"host", config.nodeName}}},
                  {"reportingComponent", "kubelet"},
                  {"reportingInstance", config.nodeName},
                  {"firstTimestamp", now},
                  {"lastTimestamp", now},
                  {"count", 1}};
    auto created = client->create(api::resource("Event"), sandbox.ns, event);
    if (!created) log("event for " + sandbox.name + ": " + created.error().message);
  }

  // A ConfigMap or Secret of namespace `ns`, read through a 5 s cache (the
  // volumes' files and the containers' environment).
  ObjectLookup objectLookup(const std::string& ns) {
    return [this, ns](const std::string& kind, const std::string& name) -> core::Result<Json> {
      std::string key = kind + "/" + ns + "/" + name;
      auto now = Clock::now();
      {
        std::lock_guard<std::mutex> lock(objectCacheMutex);
        auto cached = objectCache.find(key);
        if (cached != objectCache.end() && now - cached->second.fetched < std::chrono::seconds(5))
          return cached->second.object;
      }
      auto object = client->get(api::resource(kind), ns, name);
      if (object || object.error().code == 404) {
        std::lock_guard<std::mutex> lock(objectCacheMutex);
        if (objectCache.size() > 10000) objectCache.clear();
        objectCache[key] = {object, now};
      }
      return object;
    };
  }

  VolumeLookup volumeLookup(const Json& pod, Sandbox& sandbox) {
    VolumeLookup lookup;
    lookup.object = objectLookup(sandbox.ns);
    std::string account = stringAt(pod["spec"], "serviceAccountName");
    if (account.empty()) account = "default";
    lookup.token = [this, &sandbox, account](const std::string& audience,
                                             int64_t expiration) -> core::Result<std::string> {
      std::string key = audience + "/" + std::to_string(expiration);
      auto cached = sandbox.tokens.find(key);
      if (cached != sandbox.tokens.end() && Clock::now() < cached->second.renewAt)
        return cached->second.value;
      Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                      {"kind", "TokenRequest"},
                      {"metadata", {{"name", account}, {"namespace", sandbox.ns}}},
                      {"spec",
                       {{"audiences", audience.empty() ? Json::array() : Json::array({audience})},
                        {"expirationSeconds", expiration},
                        {"boundObjectRef",
                         {{"apiVersion", "v1"},
                          {"kind", "Pod"},
                          {"name", sandbox.name},
                          {"uid", sandbox.uid}}}}}};
      client::WriteOptions options;
      options.subresource = "token";
      auto answer = client->create(api::resource("ServiceAccount"), sandbox.ns, request, options);
      if (!answer) return answer.takeError();
      std::string token = stringAt((*answer).value("status", Json::object()), "token");
      if (token.empty()) return core::internal("the TokenRequest answer has no token");
      // kubelet renews a token once 80% of its lifetime has passed.
      sandbox.tokens[key] = {token, Clock::now() + std::chrono::seconds(expiration * 8 / 10)};
      return token;
    };
    lookup.nodeCpus = nodeCpus;
    lookup.nodeMemoryBytes = nodeMemoryBytes;
    return lookup;
  }

  // The host path of a claim: the directory of the PersistentVolume it is
  // bound to (made here when the provisioner has not made it yet).
  core::Result<std::string> claimPath(const std::string& ns, const Json& source) {
    std::string claimName = stringAt(source, "claimName");
    auto claim = client->get(api::resource("PersistentVolumeClaim"), ns, claimName);
    if (!claim) {
      if (claim.error().code == 404)
        return core::Error{404, "NotFound",
                           "persistentvolumeclaim \"" + claimName + "\" not found"};
      return claim.takeError();
    }
    std::string volumeName = stringAt((*claim)["spec"], "volumeName");
    std::string phase = stringAt((*claim).value("status", Json::object()), "phase");
    if (volumeName.empty() || phase != "Bound")
      return core::badRequest("persistentvolumeclaim \"" + claimName + "\" is not bound");
    auto volume = client->get(api::resource("PersistentVolume"), "", volumeName);
    if (!volume) return volume.takeError();
    const Json& spec = (*volume)["spec"];
    std::string path;
    for (const char* type : {"local", "hostPath"})
      if (spec.contains(type) && spec[type].is_object()) path = stringAt(spec[type], "path");
    if (path.empty())
      return core::badRequest("persistentvolume \"" + volumeName +
                              "\" has no local or hostPath directory podnet can mount");
    std::error_code error;
    if (!fs::exists(path, error)) {
      fs::create_directories(path, error);
      ::chmod(path.c_str(), 0755);  // not the agent's private umask
    }
    if (error) return core::internal("create " + path + ": " + error.message());
    return path;
  }

  // The Services whose variables every container gets: the namespace's
  // (unless enableServiceLinks is false) and default/kubernetes.
  core::Result<std::vector<std::string>> serviceLinks(const Json& pod, const std::string& ns) {
    // As kubelet, no container starts before the Services are known.
    if (!services->hasSynced()) return core::badRequest("waiting for the Services to be listed");
    std::vector<Json> list;
    if (pod["spec"].value("enableServiceLinks", true))
      for (const auto& service : services->list(ns)) list.push_back(*service);
    if (ns != "default")
      if (auto master = services->get("default", "kubernetes")) list.push_back(*master);
    return serviceLinkEnvironment(list);
  }

  // Makes every volume of the pod; the first failure in kubelet's words.
  core::Status prepareVolumes(const Json& pod, Sandbox& sandbox) {
    auto links = serviceLinks(pod, sandbox.ns);
    if (!links) return links.takeError();
    std::map<std::string, std::string> paths;
    VolumeLookup lookup = volumeLookup(pod, sandbox);
    const Json& volumes = pod["spec"].value("volumes", Json::array());
    for (const Json& volume : volumes) {
      std::string name = stringAt(volume, "name");
      std::string type = volumeType(volume);
      std::string dir = (fs::path(sandbox.dir) / "volumes" / name).string();
      auto failed = [&](const std::string& why) {
        return core::badRequest("MountVolume.SetUp failed for volume \"" + name + "\" : " + why);
      };
      std::error_code error;
      if (type == "emptyDir") {
        fs::create_directories(dir, error);
        if (error) return failed(error.message());
        ::chmod(dir.c_str(), 0777);
        paths[name] = dir;
      } else if (type == "hostPath") {
        std::string path = stringAt(volume["hostPath"], "path");
        core::Status ready = prepareHostPath(path, stringAt(volume["hostPath"], "type"));
        if (!ready) return failed(ready.error().message);
        paths[name] = path;
      } else if (type == "persistentVolumeClaim") {
        auto path = claimPath(sandbox.ns, volume["persistentVolumeClaim"]);
        if (!path) return failed(path.error().message);
        paths[name] = *path;
      } else if (!type.empty()) {
        auto files = volumeFiles(volume, pod, lookup);
        if (!files) return failed(files.error().message);
        auto written = writeVolumeFiles(dir, *files);
        if (!written) return failed(written.error().message);
        paths[name] = dir;
      } else {
        return failed(
            "podnet provides emptyDir, hostPath, persistentVolumeClaim, configMap, "
            "secret, downwardAPI and projected volumes only");
      }
    }
    std::error_code ignored;
    fs::create_directories(fs::path(sandbox.dir) / "mnt", ignored);
    sandbox.volumePaths = std::move(paths);
    sandbox.serviceLinks = std::move(*links);
    sandbox.volumesReady = true;
    sandbox.volumeError.clear();
    return core::Ok{};
  }

  // kubelet's periodic remount: ConfigMap, Secret and downward API changes
  // and renewed tokens reach the running pod's files (not subPath mounts,
  // as upstream).
  void refreshVolumes(const Json& pod, Sandbox& sandbox) {
    auto now = Clock::now();
    if (now < sandbox.volumesRefreshAt) return;
    sandbox.volumesRefreshAt = now + std::chrono::seconds(15);
    VolumeLookup lookup = volumeLookup(pod, sandbox);
    for (const Json& volume : pod["spec"].value("volumes", Json::array())) {
      std::string type = volumeType(volume);
      if (type != "configMap" && type != "secret" && type != "downwardAPI" && type != "projected")
        continue;
      auto files = volumeFiles(volume, pod, lookup);
      if (!files) continue;  // kept as it was, as kubelet keeps the last good content
      auto written = writeVolumeFiles(
          (fs::path(sandbox.dir) / "volumes" / stringAt(volume, "name")).string(), *files);
      (void)written;
    }
  }

  // The process of a container as every path starts it (the container
  // itself, an exec, an exec probe): argv aside.
  PodFacts factsOf(const Json& pod, const Sandbox& sandbox) const {
    return {sandbox.name,        sandbox.ns, sandbox.podIp,
            config.nodeName,     nodeIp,     stringAt(pod["spec"], "serviceAccountName"),
            sandbox.serviceLinks};
  }

  // The environment with what it reads from ConfigMaps and Secrets; a
  // missing one is kubelet's CreateContainerConfigError.
  core::Result<std::vector<std::string>> resolveEnvironment(const Json& pod, const Json& spec,
                                                            const Sandbox& sandbox) {
    return containerEnvironment(pod, spec, factsOf(pod, sandbox), objectLookup(sandbox.ns));
  }

  // The environment the container started with (exec sessions and exec
  // probes run with it, as under a runtime), resolved once when this agent
  // did not start it; kept in memory only (it may hold Secrets).
  const std::vector<std::string>& environmentOf(const Json& pod, const Json& spec,
                                                const Sandbox& sandbox, ContainerRuntime& c) {
    if (c.env.empty()) {
      auto env = resolveEnvironment(pod, spec, sandbox);
      c.env = env ? std::move(*env) : containerEnvironment(pod, spec, factsOf(pod, sandbox));
    }
    return c.env;
  }

  ProcessSpec containerProcess(const Json& pod, const Json& spec, const Sandbox& sandbox,
                               std::vector<std::string> env) {
    ProcessSpec process;
    process.env = std::move(env);
    process.workingDir = stringAt(spec, "workingDir");
    process.netnsPath = sandbox.netnsPath();
    process.resolvConfPath = (fs::path(sandbox.dir) / "resolv.conf").string();
    process.hostsPath = (fs::path(sandbox.dir) / "hosts").string();
    process.hostname = podHostname(pod);
    process.scratchDir = (fs::path(sandbox.dir) / "mnt").string();
    auto mounts = containerMounts(pod, spec, sandbox.volumePaths, process.env);
    if (mounts) process.mounts = std::move(*mounts);
    return process;
  }

  // ---- containers ----------------------------------------------------------

  bool alive(const ContainerRuntime& c) const { return c.pid > 0; }

  std::string logDir(const Sandbox& sandbox, const std::string& container) const {
    return (fs::path(sandbox.dir) / "logs" / container).string();
  }
  std::string exitPath(const Sandbox& sandbox, const ContainerRuntime& c) const {
    return (fs::path(logDir(sandbox, c.name)) / (std::to_string(c.instance) + ".exit")).string();
  }
  // Short (a unix socket path has at most 107 bytes): the container's index.
  std::string attachSocket(const Sandbox& sandbox, const Json& pod, const std::string& name) {
    size_t index = 0;
    for (const Json& spec : pod["spec"]["containers"]) {
      if (stringAt(spec, "name") == name) break;
      ++index;
    }
    return (fs::path(sandbox.dir) / ("attach-" + std::to_string(index))).string();
  }

  // How a container ended while no agent watched: the shim wrote it down,
  // else (a shim killed with it) kubelet's ContainerStatusUnknown.
  Json endedWhileAway(const Sandbox& sandbox, const ContainerRuntime& c) {
    if (auto record = runtime::readExitRecord(exitPath(sandbox, c)))
      return {{"exitCode", record->exitCode},
              {"reason", record->reason},
              {"startedAt", c.startedAt},
              {"finishedAt", record->finishedAt.empty() ? api::nowRfc3339() : record->finishedAt},
              {"containerID", "podnet://" + std::to_string(c.containerPid)}};
    return {{"exitCode", 137},
            {"reason", "ContainerStatusUnknown"},
            {"message", "the container ended while the agent was down"},
            {"startedAt", c.startedAt},
            {"finishedAt", api::nowRfc3339()}};
  }

  void killContainer(ContainerRuntime& c, int signal) {
    if (c.pid <= 0 || c.containerPid <= 0) return;
    if (processStartTime(c.containerPid) != c.containerStart) return;
    // The program leads its own session: signal the whole group.
    ::kill(-c.containerPid, signal);
    ::kill(c.containerPid, signal);
  }

  // Only the containers' pids: exec probes wait for their own processes.
  void reapChildren() {
    for (auto& [_, sandbox] : sandboxes)
      for (auto& [__, c] : sandbox.containers) {
        if (c.pid <= 0 || !c.child) continue;
        int status = 0;
        if (::waitpid(c.pid, &status, WNOHANG) == c.pid) exitedChildren[c.pid] = status;
      }
  }

  // Whether the container's process has ended; fills `terminated`.
  bool checkExited(const Sandbox& sandbox, ContainerRuntime& c) {
    if (c.pid <= 0) return false;
    std::optional<int> exitCode;
    std::string reason;
    if (c.child) {
      auto it = exitedChildren.find(c.pid);
      if (it == exitedChildren.end()) return false;
      int status = it->second;
      exitedChildren.erase(it);
      if (WIFEXITED(status)) {
        exitCode = WEXITSTATUS(status);
        reason = *exitCode == 0 ? "Completed" : "Error";
      } else {
        exitCode = 128 + WTERMSIG(status);
        reason = "Error";
      }
    } else {
      if (processStartTime(c.pid) == c.procStart && !isZombie(c.pid)) return false;
      c.terminated = endedWhileAway(sandbox, c);
      c.pid = 0;
      return true;
    }
    std::string finishedAt = api::nowRfc3339();
    // The shim's record has the program's own code (the shim's exit status
    // says the same unless the shim itself failed).
    if (auto record = runtime::readExitRecord(exitPath(sandbox, c))) {
      exitCode = record->exitCode;
      reason = record->reason;
      if (!record->finishedAt.empty()) finishedAt = record->finishedAt;
    }
    c.terminated = {{"exitCode", *exitCode},
                    {"reason", reason},
                    {"startedAt", c.startedAt},
                    {"finishedAt", finishedAt},
                    {"containerID", "podnet://" + std::to_string(c.containerPid)}};
    c.pid = 0;
    return true;
  }

  void startContainer(const Json& pod, const Json& spec, Sandbox& sandbox, ContainerRuntime& c) {
    auto env = resolveEnvironment(pod, spec, sandbox);
    if (!env) {
      // kubelet: the container waits, not counted as a restart, and is
      // tried again (the Secret or ConfigMap may yet be created).
      c.waitingReason = "CreateContainerConfigError";
      c.waitingMessage = env.error().message;
      c.notBefore = Clock::now() + std::chrono::seconds(2);
      return;
    }
    c.env = std::move(*env);
    ProcessSpec process = containerProcess(pod, spec, sandbox, c.env);
    process.argv = containerArgv(spec, config.selfBinary,
                                 sandbox.hostNetwork ? podHostname(pod) : std::string());
    runtime::ShimSpec shim;
    shim.process = process;
    std::string logs = logDir(sandbox, c.name);
    std::error_code error;
    fs::create_directories(logs, error);
    // This instance and the one before it keep their logs (kubectl logs -p).
    c.instance = c.restartCount;
    runtime::pruneInstanceLogs(logs, c.instance - 1);
    shim.logPath = runtime::instanceLogPath(logs, c.instance);
    shim.exitPath = exitPath(sandbox, c);
    fs::remove(shim.exitPath, error);
    shim.attachSocket = attachSocket(sandbox, pod, c.name);
    shim.stdinOpen = spec.value("stdin", false);
    shim.stdinOnce = spec.value("stdinOnce", false);
    shim.tty = spec.value("tty", false);
    auto started =
        runtime::startShim(config.selfBinary, shim,
                           (fs::path(logs) / (std::to_string(c.instance) + ".json")).string());
    if (!started) {
      // Kubernetes: the attempt counts as a restart and the container waits
      // in back-off with the runtime's message.
      c.lastState = {{"terminated",
                      {{"exitCode", 128},
                       {"reason", "StartError"},
                       {"message", started.error().message},
                       {"startedAt", api::nowRfc3339()},
                       {"finishedAt", api::nowRfc3339()}}}};
      c.waitingReason = c.restartCount == 0 ? "RunContainerError" : "CrashLoopBackOff";
      c.waitingMessage = started.error().message;
      ++c.restartCount;
      scheduleRestart(c);
      return;
    }
    c.pid = started->shimPid;
    c.child = true;
    c.procStart = processStartTime(c.pid);
    c.containerPid = started->containerPid;
    c.containerStart = processStartTime(c.containerPid);
    c.startedAt = api::nowRfc3339();
    c.runningSince = Clock::now();
    c.ready = !spec.contains("readinessProbe");
    auto firstProbe = [&](const char* key) {
      int delay = spec.contains(key) ? spec[key].value("initialDelaySeconds", 0) : 0;
      return Clock::now() + std::chrono::seconds(delay);
    };
    c.readiness = {};
    c.liveness = {};
    c.readiness.next = firstProbe("readinessProbe");
    c.liveness.next = firstProbe("livenessProbe");
    c.terminated = Json();
    c.waitingReason.clear();
    c.waitingMessage.clear();
  }

  void scheduleRestart(ContainerRuntime& c) {
    if (c.backoff.count() == 0)
      c.backoff = config.backoffInitial;
    else
      c.backoff = std::min(c.backoff * 2, config.backoffMax);
    c.notBefore = Clock::now() + c.backoff;
  }

  // ---- status --------------------------------------------------------------

  Json containerStatus(const Json& spec, const ContainerRuntime& c) {
    Json status = {{"name", c.name},
                   {"image", stringAt(spec, "image")},
                   {"imageID", ""},
                   {"restartCount", c.restartCount},
                   {"ready", alive(c) && c.ready},
                   {"started", alive(c)}};
    if (alive(c)) {
      status["containerID"] = "podnet://" + std::to_string(c.containerPid);
      status["state"] = {{"running", {{"startedAt", c.startedAt}}}};
    } else if (!c.terminated.is_null() && (c.done || c.waitingReason.empty())) {
      status["state"] = {{"terminated", c.terminated}};
    } else {
      Json waiting = {{"reason", c.waitingReason.empty() ? "ContainerCreating" : c.waitingReason}};
      if (!c.waitingMessage.empty()) waiting["message"] = c.waitingMessage;
      status["state"] = {{"waiting", waiting}};
    }
    if (!c.lastState.empty())
      status["lastState"] = c.lastState;
    else
      status["lastState"] = Json::object();
    return status;
  }

  Json podStatus(const Json& pod, const Sandbox& sandbox) {
    const Json& previous = pod.value("status", Json::object());
    Json statuses = Json::array();
    bool allReady = true, anyRunning = false, allDone = true, anyFailed = false;
    for (const Json& spec : pod["spec"]["containers"]) {
      std::string name = stringAt(spec, "name");
      auto it = sandbox.containers.find(name);
      ContainerRuntime empty;
      empty.name = name;
      const ContainerRuntime& c = it == sandbox.containers.end() ? empty : it->second;
      statuses.push_back(containerStatus(spec, c));
      allReady = allReady && alive(c) && c.ready;
      anyRunning = anyRunning || alive(c);
      allDone = allDone && c.done;
      if (c.done && c.terminated.is_object() && c.terminated.value("exitCode", 0) != 0)
        anyFailed = true;
    }
    std::string phase = "Pending";
    if (allDone)
      phase = anyFailed ? "Failed" : "Succeeded";
    else if (anyRunning || std::any_of(sandbox.containers.begin(), sandbox.containers.end(),
                                       [](const auto& e) { return !e.second.startedAt.empty(); }))
      phase = "Running";
    if (allDone) allReady = false;
    std::string now = api::nowRfc3339();
    auto condition = [&](const std::string& type, bool value) {
      std::string status = value ? "True" : "False";
      std::string since = now;
      if (previous.contains("conditions") && previous["conditions"].is_array())
        for (const Json& old : previous["conditions"])
          if (old.value("type", "") == type && old.value("status", "") == status)
            since = old.value("lastTransitionTime", now);
      Json out = {{"type", type},
                  {"status", status},
                  {"lastProbeTime", nullptr},
                  {"lastTransitionTime", since}};
      if (!value && (type == "Ready" || type == "ContainersReady")) {
        out["reason"] = "ContainersNotReady";
        out["message"] = "containers with unready status";
      }
      return out;
    };
    Json status = {
        {"phase", phase},
        {"hostIP", nodeIp},
        {"hostIPs", Json::array({{{"ip", nodeIp}}})},
        {"podIP", sandbox.podIp},
        {"podIPs", Json::array({{{"ip", sandbox.podIp}}})},
        {"qosClass", "BestEffort"},
        {"conditions",
         Json::array({condition("PodReadyToStartContainers", true), condition("Initialized", true),
                      condition("Ready", allReady), condition("ContainersReady", allReady),
                      condition("PodScheduled", true)})},
        {"containerStatuses", statuses}};
    status["startTime"] = previous.value("startTime", now);
    return status;
  }

  void writeStatus(const Json& pod, Sandbox& sandbox) {
    Json status = podStatus(pod, sandbox);
    if (status == pod.value("status", Json()) || status == sandbox.lastStatus) return;
    Json updated = pod;
    updated["status"] = status;
    client::WriteOptions options;
    options.subresource = "status";
    auto result = client->update(pods(), sandbox.ns, updated, options);
    if (result)
      sandbox.lastStatus = status;
    else if (result.error().code != 409 && result.error().code != 404)
      log("status of " + sandbox.ns + "/" + sandbox.name + ": " + result.error().message);
  }

  // ---- the pod sync ----------------------------------------------------------

  // A new pod's sandbox (netns, CNI, resolv.conf, hosts); nullopt when it
  // could not be made (retried with the next sync).
  std::optional<Sandbox> newSandbox(const Json& pod) {
    std::string uid = api::uid(pod);
    Sandbox sandbox;
    sandbox.uid = uid;
    sandbox.ns = api::namespaceOf(pod);
    sandbox.name = api::name(pod);
    sandbox.hostNetwork = pod["spec"].is_object() && pod["spec"].value("hostNetwork", false);
    if (!sandbox.hostNetwork) sandbox.netns = "podnet-" + uid.substr(0, 18);
    sandbox.dir = (podsDir() / uid).string();
    core::Status created = createSandbox(pod, sandbox);
    if (!created) {
      log("sandbox for " + sandbox.ns + "/" + sandbox.name + ": " + created.error().message);
      return std::nullopt;
    }
    return sandbox;
  }

  // New pods start side by side, as kubelet's per-pod workers: each one's
  // sandbox, volumes (a TokenRequest) and first containers (a shim each)
  // touch only that pod, and most of the time is waiting (CNI, the API, exec).
  void startNewPods(const std::vector<const Json*>& fresh) {
    std::vector<std::optional<Sandbox>> made(fresh.size());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next++) < fresh.size();) {
        try {
          made[i] = newSandbox(*fresh[i]);
          if (made[i]) syncSandbox(*fresh[i], *made[i]);
        } catch (const std::exception& error) {
          log("pod " + api::name(*fresh[i]) + ": " + error.what());
        }
      }
    };
    std::vector<std::thread> workers;
    try {
      for (size_t i = 1; i < std::min<size_t>(kStartWorkers, fresh.size()); ++i)
        workers.emplace_back(work);
    } catch (const std::system_error&) {
      // Fewer workers; this thread still does the rest.
    }
    work();
    for (std::thread& worker : workers) worker.join();
    for (size_t i = 0; i < fresh.size(); ++i)
      if (made[i]) sandboxes.emplace(api::uid(*fresh[i]), std::move(*made[i]));
  }
  static constexpr size_t kStartWorkers = 4;

  void syncPod(const Json& pod) {
    std::string uid = api::uid(pod);
    auto it = sandboxes.find(uid);
    bool deleting = api::isBeingDeleted(pod);
    if (it == sandboxes.end()) {
      if (deleting) {
        finishDeletion(pod);
        return;
      }
      auto sandbox = newSandbox(pod);
      if (!sandbox) return;
      it = sandboxes.emplace(uid, std::move(*sandbox)).first;
    }
    syncSandbox(pod, it->second);
  }

  // One pass over a pod that has its sandbox: exits, deletion, volumes,
  // (re)starts, probes, status.
  void syncSandbox(const Json& pod, Sandbox& sandbox) {
    bool deleting = api::isBeingDeleted(pod);
    std::string uid = sandbox.uid;
    bool changed = false;
    for (auto& [_, c] : sandbox.containers) changed |= checkExited(sandbox, c);

    if (deleting) {
      stopSandbox(pod, sandbox);
      return;
    }

    auto now = Clock::now();
    if (!sandbox.volumesReady) {
      // Containers wait in ContainerCreating until every volume is there.
      if (now < sandbox.volumesRetryAt || !services->hasSynced()) return;
      core::Status ready = prepareVolumes(pod, sandbox);
      if (!ready) {
        // Soon at first (a namespace's kube-root-ca.crt may be a moment
        // behind its first pod), then every 2 s.
        sandbox.volumeRetryDelay =
            std::min(std::chrono::milliseconds(2000),
                     std::max(std::chrono::milliseconds(100), sandbox.volumeRetryDelay * 2));
        sandbox.volumesRetryAt = now + sandbox.volumeRetryDelay;
        reportFailedMount(pod, sandbox, ready.error().message);
        writeStatus(pod, sandbox);
        return;
      }
      saveSandbox(sandbox);
    } else {
      refreshVolumes(pod, sandbox);
    }

    std::string policy = stringAt(pod["spec"], "restartPolicy");
    if (policy.empty()) policy = "Always";
    for (const Json& spec : pod["spec"]["containers"]) {
      std::string name = stringAt(spec, "name");
      ContainerRuntime& c = sandbox.containers[name];
      c.name = name;
      if (alive(c)) {
        changed |= runProbes(pod, spec, sandbox, c);
        continue;
      }
      if (c.done) continue;
      if (c.terminated.is_object() && c.waitingReason.empty()) {
        // Just ended: decide on a restart.
        int exitCode = c.terminated.value("exitCode", 0);
        bool restart = policy == "Always" || (policy == "OnFailure" && exitCode != 0);
        c.lastState = {{"terminated", c.terminated}};
        if (!restart) {
          c.done = true;
          changed = true;
          continue;
        }
        if (now - c.runningSince > std::chrono::seconds(10)) c.backoff = {};
        scheduleRestart(c);
        ++c.restartCount;
        c.waitingReason = "CrashLoopBackOff";
        c.waitingMessage = "back-off " + std::to_string(c.backoff.count() / 1000) +
                           "s restarting failed container=" + name + " pod=" + sandbox.name + "_" +
                           sandbox.ns + "(" + uid + ")";
        changed = true;
        continue;
      }
      if (now < c.notBefore) continue;
      startContainer(pod, spec, sandbox, c);
      changed = true;
    }
    if (changed) saveSandbox(sandbox);
    writeStatus(pod, sandbox);
  }

  // Collects finished probes and starts due ones (each on its own thread, so
  // a slow probe never holds the sync loop). Returns whether readiness changed
  // or liveness killed the container.
  bool runProbes(const Json& pod, const Json& spec, Sandbox& sandbox, ContainerRuntime& c) {
    bool changed = false;
    auto now = Clock::now();
    for (const char* key : {"readinessProbe", "livenessProbe"}) {
      if (!spec.contains(key) || !spec[key].is_object()) continue;
      const Json& probe = spec[key];
      bool isReadiness = std::string(key) == "readinessProbe";
      ContainerRuntime::ProbeState& state = isReadiness ? c.readiness : c.liveness;
      if (state.pending && *state.pending >= 0) {
        bool ok = *state.pending == 1;
        state.pending.reset();
        state.successes = ok ? state.successes + 1 : 0;
        state.failures = ok ? 0 : state.failures + 1;
        int successThreshold = std::max(1, probe.value("successThreshold", 1));
        int failureThreshold = std::max(1, probe.value("failureThreshold", 3));
        if (isReadiness) {
          bool before = c.ready;
          if (state.successes >= successThreshold) c.ready = true;
          if (state.failures >= failureThreshold) c.ready = false;
          changed |= before != c.ready;
        } else if (state.failures >= failureThreshold) {
          log("liveness probe of " + sandbox.name + "/" + c.name + " failed: killing it");
          killContainer(c, SIGKILL);
          state = {};
          changed = true;
        }
      }
      if (!state.pending && now >= state.next) {
        state.next = now + std::chrono::seconds(std::max(1, probe.value("periodSeconds", 10)));
        auto result = std::make_shared<std::atomic<int>>(-1);
        state.pending = result;
        ProbeTarget target;
        target.podIp = sandbox.podIp;
        target.execTemplate =
            containerProcess(pod, spec, sandbox, environmentOf(pod, spec, sandbox, c));
        try {
          std::thread([probe, spec, target, result] {
            *result = runProbe(probe, spec, target) ? 1 : 0;
          }).detach();
        } catch (const std::system_error&) {
          state.pending.reset();
        }
      }
    }
    return changed;
  }

  void stopSandbox(const Json& pod, Sandbox& sandbox) {
    auto now = Clock::now();
    if (!sandbox.stopping) {
      sandbox.stopping = true;
      int64_t grace = 30;
      if (pod.contains("metadata") && pod["metadata"].contains("deletionGracePeriodSeconds") &&
          pod["metadata"]["deletionGracePeriodSeconds"].is_number_integer())
        grace = pod["metadata"]["deletionGracePeriodSeconds"].get<int64_t>();
      sandbox.killAt = now + std::chrono::seconds(grace);
      for (auto& [_, c] : sandbox.containers) killContainer(c, SIGTERM);
    }
    bool anyAlive = false;
    for (auto& [_, c] : sandbox.containers) anyAlive |= alive(c);
    if (anyAlive && now >= sandbox.killAt)
      for (auto& [_, c] : sandbox.containers) killContainer(c, SIGKILL);
    if (anyAlive) return;
    destroySandbox(sandbox);
    std::string uid = sandbox.uid;
    sandboxes.erase(uid);
    finishDeletion(pod);
  }

  // Everything of the pod is gone from the node: the API object may go.
  void finishDeletion(const Json& pod) {
    client::DeleteOptions options;
    options.gracePeriodSeconds = 0;
    options.preconditionUid = api::uid(pod);
    auto removed = client->remove(pods(), api::namespaceOf(pod), api::name(pod), options);
    if (!removed && removed.error().code != 404 && removed.error().code != 409)
      log("delete " + api::name(pod) + ": " + removed.error().message);
  }

  void syncPods() {
    client::ListOptions options;
    options.fieldSelector = "spec.nodeName=" + config.nodeName;
    auto list = client->list(pods(), "", options);
    if (!list) {
      log("list pods: " + list.error().message);
      return;
    }
    reapChildren();
    std::vector<const Json*> fresh;
    for (const Json& pod : (*list)["items"])
      if (!sandboxes.count(api::uid(pod)) && !api::isBeingDeleted(pod)) fresh.push_back(&pod);
    if (fresh.size() > 1) startNewPods(fresh);
    std::set<std::string> seen;
    for (const Json& pod : (*list)["items"]) {
      seen.insert(api::uid(pod));
      try {
        syncPod(pod);
      } catch (const std::exception& error) {
        log("pod " + api::name(pod) + ": " + error.what());
      }
    }
    // Sandboxes whose pod is gone from the API (deleted with grace 0 elsewhere).
    for (auto it = sandboxes.begin(); it != sandboxes.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      log("pod " + it->second.ns + "/" + it->second.name + " is gone: removing its sandbox");
      destroySandbox(it->second);
      it = sandboxes.erase(it);
    }
    publishPods((*list)["items"]);
    recordMetrics();
  }

  // kubelet's pod metrics, from what this sync left.
  metrics::Histogram podStartDuration{{0.5, 1,   2,   3,    4,    5,    6,   8,   10,
                                       20,  30,  45,  60,   120,  180,  240, 300, 360,
                                       480, 600, 900, 1200, 1800, 2700, 3600}};
  metrics::Gauge runningPods, runningContainers, waitingContainers, exitedContainers, restarts;

  void recordMetrics() {
    size_t pods = 0, running = 0, waiting = 0, exited = 0, restarted = 0;
    for (auto& [uid, sandbox] : sandboxes) {
      bool anyRunning = false, allRunning = !sandbox.containers.empty();
      for (const auto& [name, c] : sandbox.containers) {
        if (alive(c))
          ++running;
        else if (c.done)
          ++exited;
        else
          ++waiting;
        anyRunning = anyRunning || alive(c);
        allRunning = allRunning && alive(c);
        restarted += size_t(std::max(0, c.restartCount));
      }
      if (anyRunning) ++pods;
      if (allRunning && !sandbox.startRecorded) {
        sandbox.startRecorded = true;
        podStartDuration.observe(
            std::chrono::duration<double>(Clock::now() - sandbox.made).count());
      }
    }
    runningPods.set(double(pods));
    runningContainers.set(double(running));
    waitingContainers.set(double(waiting));
    exitedContainers.set(double(exited));
    restarts.set(double(restarted));
  }

  void writeMetrics(metrics::Writer& out) const {
    out.family("kubelet_pod_start_duration_seconds",
               "Duration in seconds from the agent seeing a pod to every container running.",
               metrics::Type::histogram);
    out.histogram("kubelet_pod_start_duration_seconds", {}, podStartDuration.bounds(),
                  podStartDuration.snapshot());
    out.family("kubelet_running_pods", "Number of pods that have a running container.",
               metrics::Type::gauge);
    out.sample("kubelet_running_pods", {}, runningPods.value());
    out.family("kubelet_running_containers", "Number of containers currently running.",
               metrics::Type::gauge);
    out.sample("kubelet_running_containers", {{"container_state", "running"}},
               runningContainers.value());
    out.sample("kubelet_running_containers", {{"container_state", "created"}},
               waitingContainers.value());
    out.sample("kubelet_running_containers", {{"container_state", "exited"}},
               exitedContainers.value());
    out.family("podnet_container_restarts",
               "Restarts of the containers of this node's pods (the sum of their restartCount).",
               metrics::Type::gauge);
    out.sample("podnet_container_restarts", {}, restarts.value());
  }

  // What the node API serves from: this node's pods as the sync left them.
  void publishPods(const Json& items) {
    auto snapshot = std::make_shared<nodeapi::PodDirectory::Snapshot>();
    for (const Json& pod : items) {
      auto it = sandboxes.find(api::uid(pod));
      if (it == sandboxes.end()) continue;
      Sandbox& sandbox = it->second;
      nodeapi::PodView view;
      view.ns = sandbox.ns;
      view.name = sandbox.name;
      view.uid = sandbox.uid;
      view.podIp = sandbox.podIp;
      view.netnsPath = sandbox.netnsPath();
      view.resolvConfPath = (fs::path(sandbox.dir) / "resolv.conf").string();
      for (const Json& spec : pod["spec"]["containers"]) {
        nodeapi::ContainerView container;
        container.name = stringAt(spec, "name");
        container.logDir = logDir(sandbox, container.name);
        auto c = sandbox.containers.find(container.name);
        if (c != sandbox.containers.end()) {
          container.instance = c->second.instance;
          container.running = alive(c->second);
          container.waitingReason = c->second.waitingReason;
        }
        if (!container.running && container.waitingReason.empty())
          container.waitingReason = "ContainerCreating";
        container.attachSocket = attachSocket(sandbox, pod, container.name);
        container.stdinOpen = spec.value("stdin", false);
        container.tty = spec.value("tty", false);
        // Exec runs in a running container, with the environment it has.
        container.execTemplate = containerProcess(
            pod, spec, sandbox,
            container.running ? environmentOf(pod, spec, sandbox, c->second)
                              : containerEnvironment(pod, spec, factsOf(pod, sandbox)));
        view.containers.push_back(std::move(container));
      }
      (*snapshot)[{view.ns, view.name}] = std::move(view);
    }
    podDirectory.publish(std::move(snapshot));
  }
};

PodRuntime::PodRuntime(PodRuntimeConfig config, client::Client& client,
                       client::SharedInformers& informers)
    : impl_(std::make_unique<Impl>()) {
  impl_->services = &informers.forResource(api::resource("Service"));
  impl_->nodeIp = config.nodeIp;
  impl_->cniConfig = config.cniConfig;
  impl_->config = std::move(config);
  impl_->client = &client;
}
PodRuntime::~PodRuntime() = default;

void PodRuntime::adopt() { impl_->loadSandboxes(); }
void PodRuntime::sync() { impl_->syncPods(); }
void PodRuntime::writeMetrics(metrics::Writer& out) const { impl_->writeMetrics(out); }
const nodeapi::PodDirectory& PodRuntime::directory() const { return impl_->podDirectory; }

}  // namespace podnet::agent
