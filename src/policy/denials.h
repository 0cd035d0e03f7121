// Denied connections, as the agent records them: the kernel logs the first
// packet of each denied connection to nflog (netlink_writer.h); the agent
// names its pods and the policies that isolate them (with the evaluator)
// and keeps a bounded, rate-limited record, which `podnet policy log`
// prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "net/nflog.h"
#include "policy/evaluator.h"
#include "policy/program.h"

namespace podnet::policy {

struct Denial {
  std::chrono::system_clock::time_point time;  // of the first packet
  std::string node;
  Direction direction = Direction::ingress;  // whose policies dropped it
  std::string source, destination;           // pods ("ns/name"), or "" for an address
  core::IpAddress sourceIp, destinationIp;
  uint16_t sourcePort = 0, destinationPort = 0;
  uint8_t protocol = 0;               // IP protocol number
  std::vector<std::string> policies;  // the policies that isolate the judged pod
  uint32_t count = 1;                 // repeats of the flow folded into this record

  Json toJson() const;
  static std::optional<Denial> fromJson(const Json& json);
  // "2026-12-06T10:00:00Z node-1 ingress default/web-1 (10.244.1.5):40112 -> default/api-0
  //  (10.244.2.7):3000/TCP denied by default/allow-web-to-api"
  std::string describe() const;
  std::string protocolText() const;  // "TCP", or the number
};

// Names the pods of a logged packet and the policies that isolate the side
// that dropped it ("podnet-policy ingress" / "egress" prefixes).
std::optional<Denial> explainDenial(const ClusterState& state, const net::LoggedPacket& packet,
                                    const std::string& node);

// Bounded and rate-limited: repeats of a flow (same addresses, destination
// port, protocol, direction) within `fold` are counted into one record; at
// most `perSecond` new records a second (the rest are counted as dropped);
// the oldest go past `capacity`.
class DenialLog {
 public:
  struct Options {
    size_t capacity = 10000;
    std::chrono::milliseconds fold{10000};
    uint32_t perSecond = 50;
  };
  DenialLog();
  explicit DenialLog(Options options);
  // True when a new record was made; false when folded into a recent one or
  // over the rate.
  bool add(const Denial& denial);
  std::vector<Denial> snapshot() const;
  uint64_t dropped() const;

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::deque<Denial> records_;
  std::map<std::string, std::pair<std::chrono::system_clock::time_point, size_t>> recent_;
  uint64_t dropped_ = 0;
  uint64_t base_ = 0;  // index of records_.front() among all records ever made
  std::chrono::system_clock::time_point second_{};
  uint32_t inSecond_ = 0;
};

// At most one event per key (destination pod and source) per window.
class EventThrottle {
 public:
  explicit EventThrottle(std::chrono::seconds window = std::chrono::seconds(60))
      : window_(window) {}
  bool allow(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  std::chrono::seconds window_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
};

}  // namespace podnet::policy
