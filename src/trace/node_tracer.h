// The per-node part of `podnet trace`, served by each agent on its node API
// (POST /trace/arm, /trace/run, /trace/collect, reached through the API
// server's nodes/NAME/proxy): it sets the kernel's trace flag on one
// connection's packets only, reads the kernel's trace events, and makes the
// traced request from inside a pod. Nothing outlives a trace: the flag is
// set by a temporary table (`ip podnet-trace-<id>`) that collect, a
// deadline or the next agent start removes.
//
//   arm      {"id", "protocol": "tcp"|"udp", "sourcePort", "ttlSeconds"}
//            a table whose chain (prerouting, priority -150: after conntrack,
//            before the Service and policy chains) marks both directions of
//            the connections with that protocol and original source port
//   run      {"namespace", "pod", "host", "port", "protocol", "http", "path",
//            "sourcePort", "timeoutMs"} -> {"dns": {...}, "connection": {...}}
//            resolves like the pod's resolver (its resolv.conf, search path,
//            ndots) and connects from the pod's network namespace, bound to
//            the pinned source port
//   collect  {"id"} -> {"events": [...], "conntrack": [...], "lostEvents"},
//            each event with its rule's text (the chains named are listed
//            then), and removes the table
#pragma once

#include <memory>

#include "nodeapi/node_api.h"
#include "nodeapi/pods.h"

namespace podnet::trace {

class NodeTracer {
 public:
  explicit NodeTracer(const nodeapi::PodDirectory& pods);
  ~NodeTracer();
  NodeTracer(const NodeTracer&) = delete;
  NodeTracer& operator=(const NodeTracer&) = delete;

  nodeapi::PlainReply handle(const nodeapi::PlainRequest& request);

  // Deletes podnet-trace-* tables a killed agent left (at start).
  static void removeLeftovers();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace podnet::trace
