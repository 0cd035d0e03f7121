// The REST API over client::Client, independent of the transport: takes a
// parsed HTTP request, returns a response or a watch stream. The HTTPS
// server (http_server.h) feeds it; unit tests call it directly.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/codec.h"
#include "apiserver/route.h"
#include "client/client.h"
#include "core/result.h"
#include "metrics/metrics.h"

namespace podnet::apiserver {

using api::Json;

class TokenIssuer;  // service_account_tokens.h

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as on the request line
  std::string contentType;
  std::string accept;
  std::string authorization;
  std::string body;
  // Names the field manager of writes without ?fieldManager= (its product).
  std::string userAgent;
};

// A running watch: produces the newline-delimited JSON events of a
// ?watch=true response, one batch at a time, until the client's
// timeoutSeconds runs out or the underlying watch fails.
class WatchStream {
 public:
  WatchStream(std::unique_ptr<client::Watcher> watcher,
              std::chrono::steady_clock::time_point deadline);
  // A stream whose only event is an ERROR carrying `error` (e.g. 410 Expired
  // for a resourceVersion too old to resume from, as upstream sends it).
  explicit WatchStream(core::Error error);
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;
  // Watches being served now (apiserver_longrunning_requests).
  static int64_t open() { return openStreams().load(std::memory_order_relaxed); }

  // Waits up to `wait` and appends the events that arrived to `out`, one
  // line each. Returns false when the stream is over; the last lines (an
  // ERROR event) may still have been appended.
  bool next(std::chrono::milliseconds wait, std::string& out);

  // Rewrites each event's object before it is sent (a one-row Table when
  // the client asked for Tables, see tables.h).
  using EventTransform = std::function<Json(const std::string& type, const Json& object)>;
  void setEventTransform(EventTransform transform) { transform_ = std::move(transform); }

 private:
  static std::atomic<int64_t>& openStreams();
  std::unique_ptr<client::Watcher> watcher_;
  std::chrono::steady_clock::time_point deadline_;
  std::optional<core::Error> pendingError_;
  bool finished_ = false;
  EventTransform transform_;
};

// pods/log, exec, attach and portforward: the transport sends the request
// to the pod's node API (kubelet's port) and relays both ways.
struct NodeProxy {
  std::string host;  // the node's InternalIP
  uint16_t port = 10250;
  std::string method;
  std::string target;  // path and query on the node API
  // A request body to pass on (nodes/NAME/proxy), with its type.
  std::string body;
  std::string contentType;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  // Further response headers (name, value), e.g. Warning, ETag.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a watch: the transport sends a 200 with chunked encoding and
  // streams the events until the stream ends or the client goes away.
  std::unique_ptr<WatchStream> watch;
  std::optional<NodeProxy> nodeProxy;
};

// Registry::guaranteedUpdate, passed in so the handler depends only on the
// client interface (and unit tests can supply their own).
using GuaranteedUpdate = std::function<core::Result<Json>(
    const api::ResourceInfo& resource, std::string_view ns, std::string_view name,
    const std::function<core::Status(Json&)>& mutate, const client::WriteOptions& options)>;

struct HandlerOptions {
  // The bearer token every request except the health checks must carry;
  // empty turns authentication off (unit tests).
  std::string adminToken;
  // Issues the tokens of serviceaccounts/NAME/token and accepts them as
  // bearer tokens; null: neither.
  std::shared_ptr<const TokenIssuer> serviceAccountTokens;
  // host:port as clients reach the server (APIVersions lists it).
  std::string serverAddress = "127.0.0.1:6443";
  // How long a watch without timeoutSeconds runs (kube-apiserver picks
  // 30-60 minutes); clients re-watch from the last resourceVersion.
  std::chrono::seconds defaultWatchTimeout{1800};
};

class Handler {
 public:
  Handler(client::Client& client, GuaranteedUpdate guaranteedUpdate, HandlerOptions options);

  // Never throws: every failure is a metav1.Status response.
  HttpResponse handle(const HttpRequest& request);

  void setReady(bool ready) { ready_ = ready; }
  // What /metrics serves (to the admin and ServiceAccounts): the handler's
  // own request metrics, and whatever the server adds (store, controllers).
  metrics::Registry& metricsRegistry() { return *metrics_; }

 private:
  HttpResponse handleRouted(const HttpRequest& request, Route& route);
  void recordRequest(const HttpRequest& request, const Route& route, const HttpResponse& response,
                     std::chrono::steady_clock::time_point started);
  HttpResponse dispatch(const HttpRequest& request, const Route& route);
  HttpResponse handleResource(const HttpRequest& request, const Route& route);
  HttpResponse getCollection(const HttpRequest& request, const Route& route);
  HttpResponse getObject(const HttpRequest& request, const Route& route);
  HttpResponse createObject(const HttpRequest& request, const Route& route);
  HttpResponse bindPod(const HttpRequest& request, const Route& route);
  HttpResponse createNodeToken(const HttpRequest& request, const Route& route);
  HttpResponse createToken(const HttpRequest& request, const Route& route);
  HttpResponse streamPod(const HttpRequest& request, const Route& route);
  HttpResponse proxyNode(const HttpRequest& request, const Route& route);
  core::Result<NodeProxy> locateNodeApi(const std::string& nodeName);
  HttpResponse updateObject(const HttpRequest& request, const Route& route);
  HttpResponse patchObject(const HttpRequest& request, const Route& route);
  HttpResponse deleteObject(const HttpRequest& request, const Route& route);
  HttpResponse deleteCollection(const HttpRequest& request, const Route& route);

  client::Client& client_;
  GuaranteedUpdate guaranteedUpdate_;
  HandlerOptions options_;
  std::atomic<bool> ready_{true};
  // kube-apiserver's request metrics, by its labels.
  std::unique_ptr<metrics::Registry> metrics_ = std::make_unique<metrics::Registry>();
  metrics::Family<metrics::Counter>* requestsTotal_ = nullptr;
  metrics::Family<metrics::Histogram>* requestDuration_ = nullptr;
};

// Helpers shared with tests.

// The string form of a metav1.LabelSelector ("app=web,tier in (a,b)"), as
// a Scale's status.selector carries it.
std::string selectorString(const Json& selector);
// The autoscaling/v1 Scale view of a Deployment or ReplicaSet, or of a
// custom resource with a scale subresource (its CRD's paths).
Json toScale(const api::ResourceInfo& resource, const Json& obj);
// Sets the replicas a Scale write asks for where `resource` keeps them.
void setScaleReplicas(const api::ResourceInfo& resource, Json& obj, int64_t replicas);

}  // namespace podnet::apiserver
