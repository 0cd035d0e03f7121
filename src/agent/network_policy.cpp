#include "agent/network_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "api/object.h"
#include "api/resource.h"
#include "client/events.h"
#include "metrics/metrics.h"
#include "net/nflog.h"
#include "policy/denials.h"
#include "policy/enforcer.h"
#include "policy/netlink_writer.h"

namespace podnet::agent {

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kLogRotateBytes = 4 * 1024 * 1024;

template <typename Changed, typename Deleted>
client::EventHandlers handlers(Changed changed, Deleted deleted) {
  return {[changed](const api::Json& o) { changed(o); },
          [changed](const api::Json&, const api::Json& o) { changed(o); },
          [deleted](const api::Json& o) { deleted(o); }};
}

}  // namespace

struct NetworkPolicy::Impl {
  NetworkPolicyConfig config;
  client::Client& client;
  client::SharedInformers& informers;
  std::shared_ptr<policy::Enforcer> enforcer;
  std::optional<net::NflogReader> nflog;
  policy::DenialLog denials;
  policy::EventThrottle throttle;
  client::EventRecorder events;
  std::atomic<bool> stopping{false};
  std::thread syncThread, denialThread;
  metrics::Counter deniedIngress, deniedEgress;  // every denied packet explained

  Impl(NetworkPolicyConfig c, client::Client& cl, client::SharedInformers& i)
      : config(std::move(c)), client(cl), informers(i), events(cl, "podnet-agent") {}

  void log(const std::string& message) {
    std::fprintf(stderr, "podnet agent %s: policy: %s\n", config.nodeName.c_str(), message.c_str());
  }

  fs::path logFile() const { return fs::path(config.dataDir) / "policy" / "denials.log"; }

  // One JSON line per new record; the file is private to its owner (it
  // names pods and addresses) and rotated at 4 MiB, one old file kept.
  void append(const policy::Denial& denial) {
    std::error_code error;
    fs::create_directories(logFile().parent_path(), error);
    fs::permissions(logFile().parent_path(), fs::perms::owner_all, error);
    if (fs::file_size(logFile(), error) > kLogRotateBytes && !error)
      fs::rename(logFile(), logFile().string() + ".1", error);
    int fd = ::open(logFile().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    std::string line = denial.toJson().dump() + "\n";
    (void)::write(fd, line.data(), line.size());
    ::close(fd);
  }

  // A Warning Event on the pod that was refused (the source, when the
  // destination is not a pod), once a minute per source at most.
  void recordEvent(const policy::Denial& d) {
    std::string podKey = !d.destination.empty() ? d.destination : d.source;
    if (podKey.empty()) return;
    if (!throttle.allow(podKey + "|" + d.sourceIp.toString(), std::chrono::steady_clock::now()))
      return;
    auto pod = informers.forResource(api::resource("Pod")).getByKey(podKey);
    if (!pod) return;
    std::string from =
        d.source.empty() ? d.sourceIp.toString() : d.source + " (" + d.sourceIp.toString() + ")";
    std::string to = d.destination.empty()
                         ? d.destinationIp.toString()
                         : d.destination + " (" + d.destinationIp.toString() + ")";
    std::string message = "NetworkPolicy denied a connection from " + from + " to " + to + " on " +
                          std::to_string(d.destinationPort) + "/" + d.protocolText() + " (" +
                          policy::directionName(d.direction) + ")";
    if (!d.policies.empty()) {
      message += ": isolated by ";
      for (size_t i = 0; i < d.policies.size(); ++i) message += (i ? ", " : "") + d.policies[i];
    }
    events.warning(*pod, "PolicyDenied", message);
  }

  void readDenials() {
    while (!stopping) {
      auto packets = nflog->read(std::chrono::milliseconds(200));
      if (!packets) {
        log("nflog: " + packets.error().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      for (const auto& packet : *packets) {
        auto denial = enforcer->withState([&](const policy::ClusterState& state) {
          return policy::explainDenial(state, packet, config.nodeName);
        });
        if (denial)
          (denial->direction == policy::Direction::ingress ? deniedIngress : deniedEgress).inc();
        if (!denial || !denials.add(*denial)) continue;
        append(*denial);
        recordEvent(*denial);
      }
    }
  }

  core::Status start() {
    policy::WriterConfig writerConfig;
    writerConfig.nflogGroup = config.nflogGroup;
    auto writer = policy::NetlinkWriter::open(writerConfig);
    if (!writer) return writer.takeError();
    policy::EnforcerConfig ec;
    ec.nodeName = config.nodeName;
    ec.onSyncError = [this](const core::Error& e) {
      log("sync failed, retrying in full: " + e.message);
    };
    ec.onBadPolicy = [this](const std::string& key, const core::Error& e) {
      log("NetworkPolicy " + key + " cannot be read (" + e.message +
          "): it isolates the pods it selects and allows nothing");
    };
    enforcer = std::make_shared<policy::Enforcer>(
        ec, std::make_shared<policy::NetlinkWriter>(std::move(*writer)));
    auto reader = net::NflogReader::open(config.nflogGroup);
    if (reader)
      nflog = std::move(*reader);
    else
      log("no denial log: " + reader.error().message);

    auto e = enforcer;
    informers.forResource(api::resource("Namespace"))
        .addHandlers(handlers([e](const api::Json& o) { e->namespaceChanged(o); },
                              [e](const api::Json& o) { e->namespaceDeleted(o); }));
    informers.forResource(api::resource("Pod"))
        .addHandlers(handlers([e](const api::Json& o) { e->podChanged(o); },
                              [e](const api::Json& o) { e->podDeleted(o); }));
    informers.forResource(api::resource("NetworkPolicy"))
        .addHandlers(handlers([e](const api::Json& o) { e->policyChanged(o); },
                              [e](const api::Json& o) { e->policyDeleted(o); }));
    informers.forResource(api::resource("Node"))
        .addHandlers(handlers([e](const api::Json& o) { e->nodeChanged(o); },
                              [e](const api::Json& o) { e->nodeDeleted(o); }));
    syncThread = std::thread([this] {
      // The first transaction replaces the table: wait until it can be
      // complete, so a restart never opens a hole in an isolated pod.
      while (!stopping && !informers.waitForSync(std::chrono::milliseconds(200))) {
      }
      if (stopping) return;
      log("informers synced; enforcing NetworkPolicies");
      enforcer->markReady();
      enforcer->run(stopping);
    });
    if (nflog) denialThread = std::thread([this] { readDenials(); });
    return core::Ok{};
  }

  void stop() {
    stopping = true;
    if (enforcer) enforcer->wake();
    if (syncThread.joinable()) syncThread.join();
    if (denialThread.joinable()) denialThread.join();
  }
};

NetworkPolicy::NetworkPolicy(NetworkPolicyConfig config, client::Client& client,
                             client::SharedInformers& informers)
    : impl_(std::make_unique<Impl>(std::move(config), client, informers)) {}

NetworkPolicy::~NetworkPolicy() { impl_->stop(); }

core::Status NetworkPolicy::start() { return impl_->start(); }
void NetworkPolicy::stop() { impl_->stop(); }

void NetworkPolicy::writeMetrics(metrics::Writer& out) const {
  if (impl_->enforcer) impl_->enforcer->writeMetrics(out);
  out.family("podnet_policy_denied_connections_total",
             "Connections NetworkPolicies refused on this node, by the direction that refused.",
             metrics::Type::counter);
  out.sample("podnet_policy_denied_connections_total", {{"direction", "ingress"}},
             impl_->deniedIngress.value());
  out.sample("podnet_policy_denied_connections_total", {{"direction", "egress"}},
             impl_->deniedEgress.value());
}

}  // namespace podnet::agent
