// A work queue of object keys, as client-go's rate-limited workqueue: a key
// queued many times before a worker takes it is processed once (a burst of
// changes coalesces), a key is never processed by two workers at once (one
// added while in process runs again afterwards), and failures retry with
// per-key exponential backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "metrics/metrics.h"

namespace podnet::controllers {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(std::chrono::milliseconds baseDelay = std::chrono::milliseconds(10),
                     std::chrono::milliseconds maxDelay = std::chrono::seconds(10));

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // Adds after this key's next backoff delay (doubling per failure).
  void addRateLimited(const std::string& key);
  // Resets the key's backoff (call after a successful sync).
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Blocks until a key is ready; nullopt once shut down.
  std::optional<std::string> get();
  // The worker is done with `key` (re-queues it if it was added meanwhile).
  void done(const std::string& key);
  void shutDown();
  bool shuttingDown() const;
  // Keys ready now (not counting delayed ones).
  size_t length() const;
  // client-go's workqueue_adds_total and workqueue_retries_total.
  uint64_t adds() const { return adds_.value(); }
  uint64_t retries() const { return retries_.value(); }

 private:
  void addLocked(const std::string& key);
  void promoteDueLocked(Clock::time_point now);

  std::chrono::milliseconds baseDelay_;
  std::chrono::milliseconds maxDelay_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued, waiting for a worker
  std::set<std::string> processing_;  // held by a worker
  std::multimap<Clock::time_point, std::string> delayed_;
  std::unordered_map<std::string, int> failures_;
  bool shutDown_ = false;
  metrics::Counter adds_, retries_;
};

}  // namespace podnet::controllers
