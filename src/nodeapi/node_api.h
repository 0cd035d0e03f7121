// The node API: kubelet's HTTPS port (10250) for the pods of this node.
//   GET /containerLogs/{ns}/{pod}/{container}   (follow, previous, timestamps,
//       tailLines, sinceSeconds, sinceTime, limitBytes)
//   /exec/{ns}/{pod}[/{uid}]/{container}?command=...&input=1&output=1&error=1&tty=1
//   /attach/{ns}/{pod}[/{uid}]/{container}?input=1&output=1&error=1&tty=1
//   /portForward/{ns}/{pod}[/{uid}]
// exec and attach speak the channel.k8s.io WebSocket protocol (v5 down to
// v1); port-forward speaks SPDY/3.1, over WebSocket
// (SPDY/3.1+portforward.k8s.io) or over a raw upgraded connection. The API
// server proxies kubectl's requests here; only clients with a certificate
// from the client CA get in (401 without one, 403 for a name not allowed).
// Boost.Beast stays inside the .cpp files.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "nodeapi/pods.h"

namespace podnet::nodeapi {

// A request the node API hands to a component of the agent (`podnet
// trace`'s per-node part): the path below the handler's prefix, the raw
// query and body.
struct PlainRequest {
  std::string method;
  std::string path;   // "/trace/arm" for prefix "trace"
  std::string query;  // without '?'
  std::string body;
};
struct PlainReply {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};
// Runs on a thread of its own (it may block, up to its own deadline), never
// on the node API's I/O threads.
using PlainHandler = std::function<PlainReply(const PlainRequest&)>;

struct NodeApiOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 10250;  // 0 picks a free port (see port())
  std::string certPem, keyPem;
  std::string clientCaPem;
  // Common names or organizations allowed in; empty: any certificate the CA
  // signed. kube-apiserver's is "kube-apiserver-kubelet-client" in
  // "system:masters".
  std::vector<std::string> allowedClients = {"kube-apiserver-kubelet-client", "system:masters"};
  // Streaming sessions (logs -f, exec, attach, port-forward) at once; more
  // get 429, so a flood of stuck clients never starves the node.
  size_t maxSessions = 256;
  // A session with no traffic either way for this long is closed
  // (kubelet's streamingConnectionIdleTimeout is 4 h).
  std::chrono::seconds idleTimeout{4 * 3600};
  int threads = 2;
  // By the first path segment ("trace" serves /trace/...).
  std::map<std::string, PlainHandler> handlers;
};

class NodeApiServer {
 public:
  NodeApiServer(const PodDirectory& pods, NodeApiOptions options);
  ~NodeApiServer();
  NodeApiServer(const NodeApiServer&) = delete;
  NodeApiServer& operator=(const NodeApiServer&) = delete;

  core::Status start();
  uint16_t port() const;
  // Stops accepting, ends every session and joins the threads. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::nodeapi
