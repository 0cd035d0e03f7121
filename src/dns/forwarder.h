// Names outside the cluster go to upstream resolvers: over UDP, again over
// TCP when the answer is truncated, the next upstream on a timeout, SERVFAIL
// when all fail. Answers are cached for their TTL (negative answers for the
// SOA's negative TTL, RFC 2308) with the TTLs counted down when served.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "dns/wire.h"

namespace podnet::dns {

struct Upstream {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "10.0.0.1:53"

  // "1.2.3.4", "1.2.3.4:5353", "::1", "[::1]:5353".
  static std::optional<Upstream> parse(std::string_view text);
};

// The nameservers of a resolv.conf text ("nameserver X" lines), port 53.
std::vector<Upstream> upstreamsFromResolvConf(std::string_view text);

using Clock = std::chrono::steady_clock;

// How long an upstream answer may be cached: the smallest answer TTL
// (at most 3600 s); for NXDOMAIN/NODATA the SOA's min(TTL, MINIMUM) (at most
// 1800 s); nullopt for what must not be cached (SERVFAIL, no SOA, TTL 0).
std::optional<uint32_t> cacheTtl(const uint8_t* msg, size_t size);

// The cache key of a question: lowercase wire name, qtype, qclass.
std::string cacheKey(std::string_view lowerName, uint16_t qtype, uint16_t qclass);

class ResponseCache {
 public:
  explicit ResponseCache(size_t maxEntries = 20000);
  // A normalized response with every TTL reduced by its age; false on a
  // miss or when expired.
  bool lookup(std::string_view key, Clock::time_point now, std::string& out) const;
  void insert(const std::string& key, std::string normalized, Clock::time_point now);
  size_t size() const;

 private:
  struct Entry {
    std::string bytes;
    std::vector<uint16_t> ttlOffsets;
    Clock::time_point stored, expires;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  static constexpr size_t kShards = 16;
  Shard& shardFor(std::string_view key) const;
  size_t maxPerShard_;
  mutable Shard shards_[kShards];
};

// Strips the OPT record and sets the ID to 0: the form answers are cached in.
// nullopt when the message is malformed.
std::optional<std::string> normalizeResponse(const uint8_t* msg, size_t size);

struct ForwarderOptions {
  std::chrono::milliseconds attemptTimeout{1000};
  int attempts = 3;  // in total, rotating through the upstreams
};

class Forwarder {
 public:
  // Called once with the normalized answer, or nullptr when every attempt
  // failed. Runs on the forwarder's threads.
  using Callback = std::function<void(const std::string* normalized)>;

  Forwarder(std::vector<Upstream> upstreams, ForwarderOptions options = {});
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  core::Status start();
  void stop();
  bool enabled() const { return !upstreams_.empty(); }
  const std::vector<Upstream>& upstreams() const { return upstreams_; }

  // The cached answer for a query, if fresh.
  bool cached(const Query& query, std::string& out) const;
  void resolve(const Query& query, Callback callback);
  ResponseCache& cache() { return cache_; }
  size_t cacheSize() const { return cache_.size(); }

 private:
  struct Request {
    std::string key;        // cache key
    std::string wireQuery;  // what we send upstream (ID patched per attempt)
    // Everyone waiting for this question: identical questions in flight
    // share one upstream query.
    std::vector<Callback> callbacks;
    int attempt = 0;
    size_t upstream = 0;
    Clock::time_point deadline;
    void finish(const std::string* answer) {
      for (auto& callback : callbacks) callback(answer);
    }
  };
  void run();
  void send(std::unique_ptr<Request> request);
  void onDatagram(const uint8_t* data, size_t size, const sockaddr_storage& from);
  void complete(Request& request, const uint8_t* data, size_t size);
  void retryOverTcp(std::unique_ptr<Request> request);

  std::vector<Upstream> upstreams_;
  ForwarderOptions options_;
  ResponseCache cache_;
  int socket_ = -1;
  int wakeFd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex queueMutex_;
  std::vector<std::unique_ptr<Request>> queue_;
  std::map<uint16_t, std::unique_ptr<Request>> pending_;  // by upstream query ID
  std::unordered_map<std::string, Request*> inflight_;    // by cache key, in pending_
  std::mutex tcpMutex_;
  std::condition_variable tcpDone_;
  int activeTcp_ = 0;
};

}  // namespace podnet::dns
