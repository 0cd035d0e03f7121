#include "controllers/leader_election.h"

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "api/object.h"
#include "api/resource.h"

namespace podnet::controllers {

using api::Json;

namespace {

using Clock = std::chrono::steady_clock;

// RFC 3339 with microseconds, as MicroTime is written.
std::string microTimeNow() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros));
  return text;
}

}  // namespace

struct LeaderElector::Impl {
  Impl(client::Client& c, LeaderElectionConfig cfg, std::function<void()> started,
       std::function<void()> stopped)
      : client(c),
        config(std::move(cfg)),
        startedLeading(std::move(started)),
        stoppedLeading(std::move(stopped)) {}
  client::Client& client;
  LeaderElectionConfig config;
  std::function<void()> startedLeading, stoppedLeading;
  std::atomic<bool> isLeader{false};
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;
  // What we last saw of the lease, and when (our clock).
  std::string observedRecord;
  Clock::time_point observedAt{};
  Clock::time_point lastRenewed{};

  const api::ResourceInfo& lease() const { return api::resource("Lease"); }

  // One attempt; true when we hold the lease afterwards.
  bool tryAcquireOrRenew() {
    std::string now = microTimeNow();
    int durationSeconds = int(std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(config.leaseDuration).count()));
    auto current = client.get(lease(), config.ns, config.name);
    if (!current) {
      if (current.error().code != 404) return false;
      Json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                    {"kind", "Lease"},
                    {"metadata", {{"name", config.name}, {"namespace", config.ns}}},
                    {"spec",
                     {{"holderIdentity", config.identity},
                      {"leaseDurationSeconds", durationSeconds},
                      {"acquireTime", now},
                      {"renewTime", now},
                      {"leaseTransitions", 0}}}};
      auto created = client.create(lease(), config.ns, std::move(fresh));
      if (!created) return false;
      observe(*created);
      return true;
    }
    Json& record = *current;
    observe(record);
    const Json& spec =
        record.contains("spec") && record["spec"].is_object() ? record["spec"] : Json::object();
    std::string holder = spec.value("holderIdentity", "");
    bool mine = holder == config.identity;
    bool expired = holder.empty() || Clock::now() >= observedAt + config.leaseDuration;
    if (!mine && !expired) return false;
    Json next = record;
    Json& nextSpec = next["spec"];
    if (!nextSpec.is_object()) nextSpec = Json::object();
    if (!mine) {
      nextSpec["acquireTime"] = now;
      nextSpec["leaseTransitions"] = spec.value("leaseTransitions", 0) + (holder.empty() ? 0 : 1);
    }
    nextSpec["holderIdentity"] = config.identity;
    nextSpec["leaseDurationSeconds"] = durationSeconds;
    nextSpec["renewTime"] = now;
    // resourceVersion stays: the update is a compare-and-swap.
    auto updated = client.update(lease(), config.ns, std::move(next));
    if (!updated) return false;
    observe(*updated);
    return true;
  }

  void observe(const Json& record) {
    std::string text = record.contains("spec") ? record["spec"].dump() : "";
    if (text != observedRecord) {
      observedRecord = text;
      observedAt = Clock::now();
    }
  }

  // The leader steps aside: the holder cleared, so another takes over now.
  void release() {
    auto current = client.get(lease(), config.ns, config.name);
    if (!current || !(*current).contains("spec")) return;
    if ((*current)["spec"].value("holderIdentity", "") != config.identity) return;
    (*current)["spec"]["holderIdentity"] = "";
    (*current)["spec"]["renewTime"] = microTimeNow();
    (void)client.update(lease(), config.ns, std::move(*current));
  }

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      bool held = tryAcquireOrRenew();
      if (held) {
        lastRenewed = Clock::now();
        if (!isLeader.exchange(true) && startedLeading) startedLeading();
      } else if (isLeader && Clock::now() - lastRenewed >= config.renewDeadline) {
        isLeader = false;
        if (stoppedLeading) stoppedLeading();
      }
      lock.lock();
      wake.wait_for(lock, config.retryPeriod, [&] { return stopping; });
    }
    lock.unlock();
    if (isLeader.exchange(false)) {
      if (stoppedLeading) stoppedLeading();
      release();
    }
  }
};

LeaderElector::LeaderElector(client::Client& client, LeaderElectionConfig config,
                             std::function<void()> startedLeading,
                             std::function<void()> stoppedLeading)
    : impl_(std::make_unique<Impl>(client, std::move(config), std::move(startedLeading),
                                   std::move(stoppedLeading))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

LeaderElector::~LeaderElector() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool LeaderElector::leading() const { return impl_->isLeader.load(); }

}  // namespace podnet::controllers
