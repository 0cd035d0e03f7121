// The query path: parse a packet, look its name up in the current zone
// snapshot and write the response; or say it goes upstream. No sockets and
// no allocation here, so it is unit-tested on byte buffers and fuzzed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dns/wire.h"
#include "dns/zone.h"

namespace podnet::dns {

struct Outcome {
  enum Kind { reply, drop, forward } kind = drop;
  size_t length = 0;  // of the reply written to `out`
};

// The largest response over TCP (and the buffer every caller provides).
inline constexpr size_t kMaxMessage = 65535;

// Answers one query. `zone` null means not synced yet: cluster names get
// SERVFAIL. Names outside every authority are `forward` when `canForward`,
// else REFUSED. `out` must hold kMaxMessage bytes (or at least `limit`).
// `query` receives the parsed query (used to finish a forwarded answer).
Outcome answerQuery(const Authority& authority, const Zone* zone, bool canForward,
                    const uint8_t* packet, size_t size, bool overTcp, Query& query, uint8_t* out,
                    size_t cap);

// answerQuery for a query parseQuery has already read (`status` is what it
// returned): lets a batch be parsed and its zone lookups prefetched first.
Outcome answerParsed(const Authority& authority, const Zone* zone, bool canForward,
                     ParseStatus status, const uint8_t* packet, size_t size, bool overTcp,
                     Query& query, uint8_t* out, size_t cap);

// Writes an upstream answer for the client: `normalized` is a full response
// with ID 0, the lowercase question and no OPT record (as the forwarder and
// its cache keep it). Patches the client's ID, RD and question case, adds
// an OPT when the client sent one, and truncates (TC) past the client's
// limit. Returns the length, 0 when `normalized` does not match.
size_t finishForwarded(const Query& query, const uint8_t* packet, std::string_view normalized,
                       bool overTcp, uint8_t* out, size_t cap);

// SERVFAIL for a parsed query (an upstream failure).
size_t writeServfail(const Query& query, const uint8_t* packet, uint8_t* out, size_t cap);

// Publishes zone snapshots to the query threads: the control thread swaps
// an atomic shared_ptr and bumps a generation; each query thread keeps its
// own reference and reloads it only when the generation moved, so the
// query path takes no lock and touches no shared reference count.
class SnapshotSlot {
 public:
  void publish(std::shared_ptr<const Zone> zone);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const Zone> load() const { return std::atomic_load(&zone_); }

  class Reader {
   public:
    explicit Reader(const SnapshotSlot& slot) : slot_(slot) {}
    const Zone* current() {
      uint64_t now = slot_.generation();
      if (now != seen_) {
        zone_ = slot_.load();
        seen_ = now;
      }
      return zone_.get();
    }

   private:
    const SnapshotSlot& slot_;
    uint64_t seen_ = 0;
    std::shared_ptr<const Zone> zone_;
  };

 private:
  std::shared_ptr<const Zone> zone_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace podnet::dns
