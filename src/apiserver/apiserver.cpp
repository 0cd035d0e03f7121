#include "apiserver/apiserver.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "api/bootstrap_token.h"
#include "api/resource.h"
#include "apiextensions/crd_admission.h"
#include "apiserver/apiserver_endpoints.h"
#include "apiserver/handler.h"
#include "apiserver/http_server.h"
#include "apiserver/pki.h"
#include "apiserver/service_account_tokens.h"
#include "controllers/leader_election.h"
#include "controllers/runtime.h"
#include "core/base64.h"
#include "core/files.h"
#include "core/heap.h"
#include "core/ip.h"
#include "encryption/encrypting_store.h"
#include "pki/certificates.h"
#include "registry/registry.h"
#include "store/etcd_store.h"
#include "store/metered_store.h"
#include "store/store.h"

namespace podnet::apiserver {

namespace {

void logLine(const std::string& text) { std::fprintf(stderr, "podnet server: %s\n", text.c_str()); }

// The first address of the service range: the kubernetes Service's clusterIP,
// which in-cluster clients reach the API server at.
std::string firstServiceIp(const std::string& cidr) {
  // Only IPv4 service ranges are handled here; others fall back to the default.
  unsigned a, b, c, d, prefix;
  if (std::sscanf(cidr.c_str(), "%u.%u.%u.%u/%u", &a, &b, &c, &d, &prefix) != 5 || a > 255 ||
      b > 255 || c > 255 || d > 255 || prefix > 32)
    return "10.96.0.1";
  uint32_t base = (a << 24) | (b << 16) | (c << 8) | d;
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  uint32_t first = (base & mask) + 1;
  return std::to_string(first >> 24) + "." + std::to_string((first >> 16) & 255) + "." +
         std::to_string((first >> 8) & 255) + "." + std::to_string(first & 255);
}

}  // namespace

core::Result<HostPort> parseHostPort(const std::string& text) {
  HostPort out;
  std::string portText;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return core::badRequest("invalid listen address \"" + text + "\"");
    out.host = text.substr(1, close - 1);
    portText = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return core::badRequest("listen address needs a port: " + text);
    out.host = text.substr(0, colon);
    portText = text.substr(colon + 1);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  unsigned port = 0;
  auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc() || end != portText.data() + portText.size() || port > 65535)
    return core::badRequest("invalid port in listen address \"" + text + "\"");
  out.port = uint16_t(port);
  return out;
}

// kube-public/cluster-info as kubeadm publishes it: a kubeconfig with the
// server and its CA, readable without credentials, which a joining node
// checks against the CA hash it was given.
core::Status publishClusterInfo(registry::Registry& registry, const std::string& serverUrl,
                                const std::string& caPem) {
  std::string kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n" +
                           std::string("    certificate-authority-data: ") +
                           core::encodeBase64(caPem) + "\n    server: " + serverUrl +
                           "\ncontexts: []\ncurrent-context: \"\"\nusers: []\n";
  Json info = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "cluster-info"}, {"namespace", "kube-public"}}},
               {"data", {{"kubeconfig", kubeconfig}}}};
  const auto& configMaps = api::resource("ConfigMap");
  auto current = registry.get(configMaps, "kube-public", "cluster-info");
  if (current) {
    // Several servers: the first one's address stays; only a new CA replaces it.
    const Json& data = (*current)["data"];
    std::string stored =
        data.is_object() && data.contains("kubeconfig") && data["kubeconfig"].is_string()
            ? data["kubeconfig"].get<std::string>()
            : "";
    if (stored.find(core::encodeBase64(caPem)) != std::string::npos) return core::Ok{};
    auto updated = registry.guaranteedUpdate(configMaps, "kube-public", "cluster-info",
                                             [&](Json& obj) -> core::Status {
                                               obj["data"] = info["data"];
                                               return core::Ok{};
                                             });
    if (!updated) return updated.takeError();
    return core::Ok{};
  }
  auto created = registry.create(configMaps, "kube-public", info);
  if (!created && created.error().reason != "AlreadyExists") return created.takeError();
  return core::Ok{};
}

// What `podnet join` needs: on a cluster's first start a bootstrap token
// (valid 24 h, as kubeadm's default), later a pointer to `podnet token
// create`; and the CA hash either way.
void logJoinCommand(registry::Registry& registry, const std::string& serverUrl,
                    const std::string& caPem) {
  std::string hash = pki::caCertHash(caPem);
  const auto& secrets = api::resource("Secret");
  client::ListOptions options;
  options.fieldSelector = std::string("type=") + api::kBootstrapTokenType;
  auto existing = registry.list(secrets, "kube-system", options);
  bool haveTokens = existing && !(*existing)["items"].empty();
  std::string token = "$(podnet token create)";
  if (!haveTokens) {
    auto made = api::bootstrapTokenFromRandom(pki::randomHex(11));
    auto created = registry.create(
        secrets, "kube-system",
        api::bootstrapTokenSecret(made, static_cast<int64_t>(std::time(nullptr)) + 24 * 3600,
                                  "made by podnet server on the cluster's first start"));
    if (created) token = made.text();
  }
  logLine("nodes join with: podnet join --server " + serverUrl + " --token " + token +
          " --ca-cert-hash " + hash + " --node-name NAME");
}

int runServer(const ServerOptions& options) {
  // Request threads allocate heavily: no arena cap.
  core::tuneHeapForBursts(0);
  auto listen = parseHostPort(options.listen);
  if (!listen) {
    logLine(listen.error().message);
    return 2;
  }
  if (options.dataDir.empty()) {
    logLine("--data-dir is required");
    return 2;
  }
  // State and credentials are the owner's alone whatever umask we were
  // started with (SQLite's files, the PKI, kubeconfig); a data dir left
  // looser by an older podnet or by hand is tightened, and said so once.
  ::umask(077);
  auto privacy = core::makePrivateDataDir(options.dataDir);
  if (!privacy) {
    logLine(privacy.error().message);
    return 1;
  }
  if (!privacy->empty()) logLine(*privacy);

  // The encryption configuration is read before anything else: a wrong one
  // stops the start before the store is touched.
  std::vector<encryption::PrefixRule> encryptionRules;
  if (!options.encryptionProviderConfig.empty()) {
    std::vector<encryption::StoredResource> builtins;
    for (const api::ResourceInfo& info : api::builtinResources())
      builtins.push_back({info.group, info.plural, info.storagePrefix});
    auto rules = encryption::loadRules(options.encryptionProviderConfig, builtins);
    if (!rules) {
      logLine(rules.error().message);
      return 1;
    }
    encryptionRules = std::move(*rules);
  }

  // Every thread started from here on inherits the blocked signals, so only
  // sigwait below sees SIGTERM/SIGINT and shutdown runs in one place.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string serviceIp = firstServiceIp(options.controllers.serviceCidr);
  auto pki = loadOrCreatePki(options.dataDir, serviceIp, {listen->host});
  if (!pki) {
    logLine(pki.error().message);
    return 1;
  }

  auto tokens = TokenIssuer::loadOrCreate(options.dataDir);
  if (!tokens) {
    logLine(tokens.error().message);
    return 1;
  }

  core::Result<std::unique_ptr<store::Store>> store = core::internal("no store");
  if (options.etcdServers.empty()) {
    store::SqliteOptions storeOptions;
    storeOptions.path = (std::filesystem::path(options.dataDir) / "state.db").string();
    storeOptions.historyRevisions = options.historyRevisions;
    store = store::openSqlite(storeOptions);
  } else {
    store::EtcdOptions etcd;
    etcd.endpoints = options.etcdServers;
    etcd.prefix = options.etcdPrefix;
    for (auto [file, into] : {std::pair{&options.etcdCaFile, &etcd.caPem},
                              {&options.etcdCertFile, &etcd.certPem},
                              {&options.etcdKeyFile, &etcd.keyPem}}) {
      if (file->empty()) continue;
      std::ifstream in(*file);
      std::stringstream text;
      text << in.rdbuf();
      if (!in || text.str().empty()) {
        logLine("cannot read " + *file);
        return 1;
      }
      *into = text.str();
    }
    // etcd may be starting with us or electing a leader: keep trying for a
    // minute, as kube-apiserver does, saying why; SIGTERM still stops us.
    auto giveUp = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (bool told = false;; told = true) {
      store = store::openEtcd(etcd);
      if (store || std::chrono::steady_clock::now() > giveUp) break;
      if (!told) logLine("waiting for etcd: " + store.error().message);
      timespec pause{1, 0};
      if (sigtimedwait(&signals, nullptr, &pause) > 0) return 0;
    }
  }
  if (!store) {
    logLine("cannot open the store: " + store.error().message);
    return 1;
  }
  // Every value must open with the keys given, before anything is written:
  // a wrong or missing key stops the start here and changes nothing.
  auto checkStarted = std::chrono::steady_clock::now();
  auto readable = encryption::verifyReadable(**store, encryptionRules);
  auto checkMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - checkStarted)
                     .count();
  if (!readable) {
    logLine("refusing to start: " + readable.error().message +
            (options.encryptionProviderConfig.empty()
                 ? std::string(" (no --encryption-provider-config was given)")
                 : " (--encryption-provider-config " + options.encryptionProviderConfig + ")"));
    return 1;
  } else if (!encryptionRules.empty()) {
    logLine("encryption at rest: " + encryption::describeRules(encryptionRules) + "; " +
            std::to_string(readable->values) + " stored values read in " + std::to_string(checkMs) +
            " ms" +
            (readable->stale ? "; " + std::to_string(readable->stale) +
                                   " stored objects are under older keys or not encrypted "
                                   "until rewritten"
                             : std::string()));
    *store = std::make_unique<encryption::EncryptingStore>(std::move(*store),
                                                           std::move(encryptionRules));
  }
  // Every store operation timed for /metrics; SQLite's size is its files'.
  std::function<int64_t()> storeSize;
  if (options.etcdServers.empty())
    storeSize = [db = std::filesystem::path(options.dataDir) / "state.db"] {
      int64_t total = 0;
      for (const char* suffix : {"", "-wal"}) {
        std::error_code error;
        auto bytes = std::filesystem::file_size(db.string() + suffix, error);
        if (!error) total += int64_t(bytes);
      }
      return total;
    };
  auto metered = std::make_unique<store::MeteredStore>(std::move(*store), std::move(storeSize));
  store::MeteredStore& meteredRef = *metered;
  *store = std::move(metered);
  auto registry = std::make_unique<registry::Registry>(**store);
  // CRDs first: the controllers' informers and the first request must see
  // the custom resources already stored.
  auto crds = std::make_shared<apiextensions::CrdAdmission>();
  registry->addAdmissionHook(crds);
  if (auto loaded = crds->loadStored(*registry); !loaded) {
    logLine("cannot load the CustomResourceDefinitions: " + loaded.error().message);
    return 1;
  }
  controllers::Config controllerConfig = options.controllers;
  controllerConfig.rootCaPem = pki->caCertPem;
  // With SQLite this server is the only one (the database is locked to it);
  // on etcd the servers elect one to run the controllers and the scheduler.
  core::Result<std::unique_ptr<controllers::Manager>> controllers =
      std::unique_ptr<controllers::Manager>();
  std::unique_ptr<controllers::LeaderElector> elector;
  std::mutex controllersMutex;
  if (options.etcdServers.empty()) {
    controllers = controllers::start(*registry, controllerConfig);
  } else if (auto installed = controllers::installAdmission(*registry, controllerConfig);
             !installed) {
    controllers = installed.takeError();
  } else {
    controllers::LeaderElectionConfig election;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    election.identity = std::string(host) + "_" + options.listen;
    registry::Registry& registryForElection = *registry;
    elector = std::make_unique<controllers::LeaderElector>(
        registryForElection, election,
        [&, identity = election.identity] {
          logLine("leading (" + identity + "): starting the controllers and the scheduler");
          auto started = controllers::startControllers(registryForElection, controllerConfig);
          std::lock_guard lock(controllersMutex);
          if (started)
            controllers = std::move(*started);
          else
            logLine("cannot start the controllers: " + started.error().message);
        },
        [&] {
          logLine("no longer leading: stopping the controllers");
          std::lock_guard lock(controllersMutex);
          if (controllers) controllers->reset();
        });
  }
  {
    std::lock_guard lock(controllersMutex);
    if (!controllers) {
      logLine("cannot start the controllers: " + controllers.error().message);
      return 1;
    }
  }

  bool wildcard = listen->host == "0.0.0.0" || listen->host == "::";
  std::string clientHost = wildcard ? "127.0.0.1" : listen->host;
  if (clientHost.find(':') != std::string::npos) clientHost = "[" + clientHost + "]";

  HandlerOptions handlerOptions;
  handlerOptions.adminToken = pki->adminToken;
  handlerOptions.serviceAccountTokens = *tokens;
  handlerOptions.serverAddress = clientHost + ":" + std::to_string(listen->port);
  registry::Registry& registryRef = *registry;
  Handler handler(
      registryRef,
      [&registryRef](const api::ResourceInfo& resource, std::string_view ns, std::string_view name,
                     const std::function<core::Status(Json&)>& mutate,
                     const client::WriteOptions& writeOptions) {
        return registryRef.guaranteedUpdate(resource, ns, name, mutate, writeOptions);
      },
      handlerOptions);
  HttpServerOptions httpOptions;
  httpOptions.host = listen->host;
  httpOptions.port = listen->port;
  httpOptions.certPem = pki->serverCertPem;
  httpOptions.keyPem = pki->serverKeyPem;
  httpOptions.kubeletClientCertPem = pki->kubeletClientCertPem;
  httpOptions.kubeletClientKeyPem = pki->kubeletClientKeyPem;
  httpOptions.kubeletCaPem = pki->caCertPem;
  httpOptions.threads = options.threads;
  // /readyz answers only once the kubeconfig is written, so whoever waits
  // for readiness (make up, tests) can use it at once.
  handler.setReady(false);
  handler.metricsRegistry().collect([&meteredRef](metrics::Writer& out) {
    meteredRef.writeMetrics(out);
    controllers::writeControllerMetrics(out);
  });
  HttpServer server(handler, httpOptions);
  if (auto ok = server.start(); !ok) {
    logLine(ok.error().message);
    return 1;
  }
  // Pods (and kubectl get endpoints kubernetes) find the API server here.
  // Endpoints may not be loopback addresses (pods could not reach them), so
  // a server on loopback, or on every address, publishes none.
  auto endpointIp = core::IpAddress::parse(listen->host);
  bool loopback =
      endpointIp && (endpointIp->v6 ? listen->host == "::1" : endpointIp->bytes[0] == 127);
  std::unique_ptr<ApiServerEndpointReconciler> endpoints;
  if (endpointIp && !wildcard && !loopback) {
    endpoints =
        std::make_unique<ApiServerEndpointReconciler>(*registry, listen->host, server.port());
    if (auto ok = endpoints->reconcile(); !ok)
      logLine("cannot publish the kubernetes endpoints: " + ok.error().message);
    endpoints->start();
  }
  std::string serverUrl = "https://" + clientHost + ":" + std::to_string(server.port());
  std::string kubeconfigPath = (std::filesystem::path(options.dataDir) / "kubeconfig").string();
  if (auto ok = writeFileAtomically(
          kubeconfigPath, kubeconfigYaml(serverUrl, pki->caCertPem, pki->adminToken), 0600);
      !ok) {
    logLine(ok.error().message);
    return 1;
  }
  if (auto ok = publishClusterInfo(*registry, serverUrl, pki->caCertPem); !ok)
    logLine("cannot publish kube-public/cluster-info: " + ok.error().message);
  handler.setReady(true);
  logLine("serving on " + serverUrl + " (kubeconfig: " + kubeconfigPath + ")");
  logJoinCommand(*registry, serverUrl, pki->caCertPem);

  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  logLine(std::string("received ") + (received == SIGTERM ? "SIGTERM" : "SIGINT") +
          ", shutting down");
  server.stop();
  endpoints.reset();  // the other servers stay in the kubernetes endpoints
  elector.reset();    // hands the lease to another server at once
  {
    std::lock_guard lock(controllersMutex);
    if (controllers) controllers->reset();
  }
  registry.reset();
  store->reset();
  logLine("stopped");
  return 0;
}

}  // namespace podnet::apiserver
