// client::RestClient: client::Client over HTTPS, as the node agent and other
// out-of-process components talk to `podnet server` (or a kube-apiserver).
//
// TLS is verified against the configured CA, including the server's host
// name or IP. Requests reuse HTTP/1.1 keep-alive connections from a small
// pool (each concurrent caller takes its own), carry a bearer token, and
// time out. A watch gets a connection of its own, read by a thread that
// queues the events for Watcher::next.
//
// Beast/Asio stay in rest_client.cpp: the header is included widely.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"

namespace podnet::client {

// One API server's address.
struct ServerAddress {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  uint16_t port = 443;
};

// Where the API server is and how to authenticate to it.
struct RestConfig {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  uint16_t port = 443;
  // Other API servers of the same cluster (same CA and credentials). A
  // connection the current server refuses or does not answer is made to the
  // next one, which then stays current, as k3s agents' load balancer does;
  // requests already sent are not sent again elsewhere.
  std::vector<ServerAddress> alternates;
  std::string caPem;  // the CA bundle the serving certificate must chain to
  // Accepts any serving certificate: only for `podnet join`'s first request
  // (kube-public/cluster-info), whose answer it then checks against the CA
  // hash it was given.
  bool insecureSkipTlsVerify = false;
  std::string token;  // bearer token; empty = anonymous
  std::string defaultNamespace = "default";
  std::string userAgent = "podnet";  // "podnet/<component>"
  std::chrono::milliseconds requestTimeout{30000};
  // How long establishing a connection (TCP + TLS) may take.
  std::chrono::milliseconds connectTimeout{10000};
  // Idle keep-alive connections kept for reuse; more callers than this at
  // once still get a connection each, the extras are closed afterwards.
  size_t maxIdleConnections = 4;
  // Sent as timeoutSeconds on every watch (0 = the server's default, 30 min
  // on podnet): the server ends the stream then and the informer rewatches.
  std::chrono::seconds watchTimeout{0};
};

// The configuration a pod gets in a cluster (KUBERNETES_SERVICE_HOST/PORT,
// the service account's ca.crt and token), given explicitly.
RestConfig inClusterConfig(std::string host, uint16_t port, std::string caPem, std::string token);

// "/api/v1/namespaces/NS/pods/NAME/status", "/apis/apps/v1/deployments", ...
// `ns` is ignored for cluster-scoped resources; empty `name` is the collection.
std::string resourcePath(const ResourceInfo& resource, std::string_view ns,
                         std::string_view name = {}, std::string_view subresource = {});
// "?labelSelector=...&limit=..." for list, or the watch query
// (watch=true, resourceVersion, allowWatchBookmarks); "" when empty.
std::string listQuery(const ListOptions& options, bool watch);
// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string queryEscape(std::string_view value);
// The v1 DeleteOptions body of a DELETE.
Json deleteOptionsBody(const DeleteOptions& options);
// An error reply: the metav1.Status in `body` when there is one, otherwise
// an error with `httpCode` and the body as message.
core::Error errorFromResponse(int httpCode, std::string_view body);

class RestClient : public Client {
 public:
  // Fails (400) when the CA PEM holds no usable certificate or host is empty;
  // does not connect yet.
  static core::Result<std::unique_ptr<RestClient>> make(RestConfig config);
  ~RestClient() override;
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  const RestConfig& config() const;

  core::Result<Json> create(const ResourceInfo& resource, std::string_view ns, Json obj,
                            const WriteOptions& options = {}) override;
  core::Result<Json> get(const ResourceInfo& resource, std::string_view ns,
                         std::string_view name) override;
  // With options.subresource == "binding" (pods), POSTs a v1 Binding to
  // obj.spec.nodeName and returns the bound pod.
  core::Result<Json> update(const ResourceInfo& resource, std::string_view ns, Json obj,
                            const WriteOptions& options = {}) override;
  core::Result<Json> remove(const ResourceInfo& resource, std::string_view ns,
                            std::string_view name, const DeleteOptions& options = {}) override;
  core::Result<Json> list(const ResourceInfo& resource, std::string_view ns,
                          const ListOptions& options = {}) override;
  // The watcher's next() reports a 410 error when the server says the
  // resourceVersion expired, and 504 "watch ended" when the server closes
  // the stream (its watch timeout): either way, the informer watches again.
  core::Result<std::unique_ptr<Watcher>> watch(const ResourceInfo& resource, std::string_view ns,
                                               const ListOptions& options) override;

  // One request: method, path with query, JSON body ("" = none). Returns the
  // decoded JSON reply of a 2xx, or the decoded error.
  core::Result<Json> request(std::string_view method, const std::string& target,
                             const std::string& body = {});

 private:
  struct Impl;
  explicit RestClient(std::unique_ptr<Impl> impl);
  core::Result<Json> bind(const ResourceInfo& resource, std::string_view ns, const Json& pod,
                          const WriteOptions& options);
  std::string namespaceFor(const ResourceInfo& resource, std::string_view ns,
                           const Json& obj) const;

  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::client
