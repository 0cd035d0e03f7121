#include "dns/dns_main.h"

#include <malloc.h>
#include <signal.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "api/codec.h"
#include "api/object.h"
#include "api/resource.h"
#include "client/informer.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "client/transforms.h"
#include "core/flags.h"
#include "core/heap.h"
#include "dns/forwarder.h"
#include "dns/responder.h"
#include "dns/server.h"
#include "metrics/exposition_server.h"

namespace podnet::dns {

namespace {

std::atomic<bool> stopRequested{false};
void onSignal(int) { stopRequested = true; }

constexpr const char* kUsage =
    "usage: podnet dns (--kubeconfig FILE | --objects FILE) [flags]\n"
    "  --kubeconfig FILE      watch Services, EndpointSlices, Pods, Namespaces of this cluster\n"
    "  --objects FILE         serve a fixed JSON/YAML List of those objects (no API server)\n"
    "  --listen ADDR:PORT     UDP and TCP, default 0.0.0.0:53 (port 0: any free port)\n"
    "  --zone NAME            cluster domain, default cluster.local\n"
    "  --ttl SECONDS          record TTL and negative TTL, 0-3600, default 5\n"
    "  --upstream IP[:PORT]   resolver for other names, repeatable; default: the\n"
    "                         nameservers of /etc/resolv.conf; 'none' disables forwarding\n"
    "  --threads N            UDP threads (one SO_REUSEPORT socket each), default: one per\n"
    "                         CPU this process may run on\n"
    "  --cpu-affinity on|off  UDP thread k of N serves the packets received on CPUs c with\n"
    "                         c % N == k and runs on them; off: the kernel's hash; default on\n"
    "  --service-cidr CIDR    reverse zone answered here, default 10.96.0.0/12 (repeatable)\n"
    "  --cluster-cidr CIDR    reverse zone answered here, default 10.244.0.0/16 (repeatable)\n"
    "  --tcp-idle-timeout S   default 10\n"
    "  --metrics-listen ADDR:PORT\n"
    "                         /metrics (CoreDNS's metric names) and /healthz over HTTP,\n"
    "                         default :9153 as CoreDNS ('' for none; a port in use is a\n"
    "                         warning, not a failure)\n";

// Rebuilds the snapshot from the informer caches whenever they change:
// handlers only mark the state dirty; one thread coalesces a burst of
// events into one compile and one pointer swap.
class InformerSource {
 public:
  InformerSource(client::Client& api, const ZoneConfig& config, SnapshotSlot& slot)
      : informers_(api, client::InformerOptions{.pollInterval = std::chrono::milliseconds(100)}),
        config_(config),
        slot_(slot) {
    // Only what names and answers need is cached (issue 21): DNS reads,
    // never writes back.
    const std::pair<const char*, void (*)(api::Json&)> kinds[] = {
        {"Service", client::keepServiceRouting},
        {"EndpointSlice", client::keepEndpointSliceRouting},
        {"Pod", client::keepPodAddressing},
        {"Namespace", client::keepMetadataOnly}};
    for (const auto& [kind, transform] : kinds) {
      auto& informer = informers_.forResource(api::resource(kind), transform, true);
      informer.addHandlers({[this](const api::Json&) { markDirty(); },
                            [this](const api::Json&, const api::Json&) { markDirty(); },
                            [this](const api::Json&) { markDirty(); }});
      informerList_.push_back(&informer);
    }
  }
  ~InformerSource() { stop(); }

  void start() {
    informers_.start();
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    informers_.stop();
  }

 private:
  void markDirty() {
    {
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
    changed_.notify_all();
  }

  void run() {
    // SERVFAIL for cluster names until every informer has listed once.
    while (!informers_.waitForSync(std::chrono::milliseconds(200))) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    while (true) {
      {
        std::unique_lock lock(mutex_);
        if (slot_.generation() != 0) changed_.wait(lock, [this] { return dirty_ || stopping_; });
        if (stopping_) return;
        dirty_ = false;
      }
      // Events come in bursts (a Service, then its EndpointSlice): wait a
      // little so one compile covers the burst.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      {
        std::lock_guard lock(mutex_);
        dirty_ = false;
      }
      // Timed with the reads: the caches are kept encoded (decoded here).
      auto started = std::chrono::steady_clock::now();
      auto each = [](const client::Informer* informer) {
        return [informer](const ObjectSource::Visit& visit) { informer->forEach(visit); };
      };
      ObjectSource source{each(informerList_[0]), each(informerList_[1]), each(informerList_[2]),
                          each(informerList_[3])};
      auto zone = compileZone(config_, source);
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - started);
      size_t names = zone->nameCount();
      size_t services = informerList_[0]->size();
      bool first = slot_.generation() == 0;
      slot_.publish(std::move(zone));
      ::malloc_trim(0);  // give the last snapshot's and the compiler's memory back
      if (first || took.count() > 100)
        std::fprintf(stderr, "podnet dns: zone of %zu names from %zu services built in %lld ms\n",
                     names, services, static_cast<long long>(took.count()));
    }
  }

  client::SharedInformers informers_;
  std::vector<client::Informer*> informerList_;
  const ZoneConfig& config_;
  SnapshotSlot& slot_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool dirty_ = true;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

core::Result<ClusterObjects> parseObjects(std::string_view text) {
  auto decoded = api::decodeObjects(text);
  if (!decoded) return decoded.takeError();
  ClusterObjects objects;
  for (auto& obj : *decoded) {
    std::string kind = api::kindOf(obj);
    auto ptr = std::make_shared<const api::Json>(std::move(obj));
    if (kind == "Service")
      objects.services.push_back(ptr);
    else if (kind == "EndpointSlice")
      objects.endpointSlices.push_back(ptr);
    else if (kind == "Pod")
      objects.pods.push_back(ptr);
    else if (kind == "Namespace")
      objects.namespaces.push_back(ptr);
  }
  return objects;
}

core::Result<ClusterObjects> loadObjectsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::badRequest("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto objects = parseObjects(buffer.str());
  if (!objects) return core::badRequest(path + ": " + objects.error().message);
  return objects;
}

int runDnsMain(const std::vector<std::string>& args) {
  // No arena cap: the compile thread's arena then holds only what a build
  // frees, so it can be given back whole.
  core::tuneHeapForBursts(0);
  ZoneConfig config;
  ServerOptions serverOptions;
  std::string kubeconfig, objectsFile;
  std::string metricsListen = ":9153";
  std::vector<std::string> upstreamTexts;
  std::vector<std::string> cidrTexts;
  core::Flags flags = core::splitFlags(args);
  if (flags.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.missingValue.empty()) {
    std::fprintf(stderr, "podnet dns: %s needs a value\n%s", flags.missingValue.c_str(), kUsage);
    return 2;
  }
  for (const auto& [flag, value] : flags.values) {
    long number = 0;
    if (flag == "--kubeconfig") {
      kubeconfig = value;
    } else if (flag == "--objects") {
      objectsFile = value;
    } else if (flag == "--listen") {
      serverOptions.listen = value;
    } else if (flag == "--zone" && textToWire(value) && !value.empty() && value != ".") {
      config.zone = value;
    } else if (flag == "--ttl" && core::parseWholeNumber(value, number) && number >= 0 &&
               number <= 3600) {
      config.ttl = uint32_t(number);
    } else if (flag == "--upstream") {
      upstreamTexts.push_back(value);
    } else if (flag == "--threads" && core::parseWholeNumber(value, number) && number > 0 &&
               number <= 256) {
      serverOptions.udpThreads = int(number);
    } else if (flag == "--cpu-affinity" && (value == "on" || value == "off")) {
      serverOptions.cpuAffinity = value == "on";
    } else if (flag == "--metrics-listen") {
      metricsListen = value;
    } else if (flag == "--tcp-idle-timeout" && core::parseWholeNumber(value, number) &&
               number > 0) {
      serverOptions.tcpIdleTimeout = std::chrono::seconds(number);
    } else if (flag == "--service-cidr" || flag == "--cluster-cidr") {
      cidrTexts.push_back(value);
    } else {
      std::fprintf(stderr, "podnet dns: unknown or invalid flag %s %s\n%s", flag.c_str(),
                   value.c_str(), kUsage);
      return 2;
    }
  }
  if (kubeconfig.empty() == objectsFile.empty()) {
    std::fprintf(stderr, "podnet dns: give exactly one of --kubeconfig and --objects\n%s", kUsage);
    return 2;
  }
  if (cidrTexts.empty()) cidrTexts = {"10.96.0.0/12", "10.244.0.0/16"};
  for (const auto& text : cidrTexts) {
    auto cidr = core::Cidr::parse(text);
    if (!cidr) {
      std::fprintf(stderr, "podnet dns: invalid CIDR %s\n", text.c_str());
      return 2;
    }
    config.reverseCidrs.push_back(*cidr);
  }
  std::vector<Upstream> upstreams;
  if (upstreamTexts.empty()) {
    std::ifstream resolv("/etc/resolv.conf");
    std::stringstream text;
    text << resolv.rdbuf();
    upstreams = upstreamsFromResolvConf(text.str());
  }
  for (const auto& text : upstreamTexts) {
    if (text == "none") continue;
    auto upstream = Upstream::parse(text);
    if (!upstream) {
      std::fprintf(stderr, "podnet dns: invalid --upstream %s (want IP[:PORT])\n", text.c_str());
      return 2;
    }
    upstreams.push_back(*upstream);
  }

  Authority authority(config);
  SnapshotSlot slot;
  std::shared_ptr<client::Client> apiClient;
  std::unique_ptr<InformerSource> source;
  if (!objectsFile.empty()) {
    auto objects = loadObjectsFile(objectsFile);
    if (!objects) {
      std::fprintf(stderr, "podnet dns: %s\n", objects.error().message.c_str());
      return 1;
    }
    slot.publish(compileZone(config, *objects));
    *objects = {};
    ::malloc_trim(0);
  } else {
    auto rest = client::loadKubeconfig(kubeconfig);
    if (!rest) {
      std::fprintf(stderr, "podnet dns: %s\n", rest.error().message.c_str());
      return 1;
    }
    rest->userAgent = "podnet/dns";
    auto made = client::RestClient::make(*rest);
    if (!made) {
      std::fprintf(stderr, "podnet dns: %s\n", made.error().message.c_str());
      return 1;
    }
    apiClient = std::shared_ptr<client::Client>(std::move(*made));
    source = std::make_unique<InformerSource>(*apiClient, config, slot);
  }

  struct sigaction action {};
  action.sa_handler = onSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Forwarder forwarder(upstreams);
  if (auto started = forwarder.start(); !started) {
    std::fprintf(stderr, "podnet dns: %s\n", started.error().message.c_str());
    return 1;
  }
  Server server(serverOptions, authority, slot, &forwarder);
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "podnet dns: %s\n", started.error().message.c_str());
    forwarder.stop();
    return 1;
  }
  if (source) source->start();
  metrics::Registry registry;
  registry.collect([&server](metrics::Writer& out) { server.writeMetrics(out); });
  metrics::ExpositionServer exposition(registry);
  if (!metricsListen.empty()) {
    if (auto listening = exposition.start(metricsListen); !listening)
      std::fprintf(stderr, "podnet dns: no metrics: %s\n", listening.error().message.c_str());
    else
      std::fprintf(stderr, "podnet dns: metrics on %s (/metrics)\n", metricsListen.c_str());
  }
  std::string upstreamList;
  for (const auto& upstream : upstreams) upstreamList += " " + upstream.text;
  std::fprintf(stderr, "podnet dns: upstreams:%s\n",
               upstreamList.empty() ? " none (other names get REFUSED)" : upstreamList.c_str());
  std::printf("podnet dns: serving %s on %s\n", config.zone.c_str(), server.boundAddress().c_str());
  std::fflush(stdout);
  while (!stopRequested.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  exposition.stop();
  // Upstream callbacks write to the server's sockets: stop them first.
  forwarder.stop();
  server.stop();
  if (source) source->stop();
  std::fprintf(stderr, "podnet dns: stopped\n");
  return 0;
}

}  // namespace podnet::dns
