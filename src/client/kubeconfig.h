// Loading a kubeconfig (the file `podnet server` writes, or kubectl's):
// the current context's cluster (server URL, CA) and user (bearer token).
#pragma once

#include <string>
#include <string_view>

#include "client/rest_client.h"
#include "core/result.h"

namespace podnet::client {

// A cluster extension of podnet's kubeconfigs naming the cluster's other API
// servers: {name: podnet.io/alternate-servers, extension: {servers: [URL]}}.
// They become RestConfig::alternates.
inline constexpr const char* kAlternateServersExtension = "podnet.io/alternate-servers";

// Reads and parses the kubeconfig at `path`; relative certificate-authority
// and tokenFile paths are relative to its directory. `context` overrides
// current-context when not empty.
core::Result<RestConfig> loadKubeconfig(const std::string& path, std::string_view context = {});

// Parses kubeconfig YAML; `baseDir` resolves relative file references.
// Errors (400) name the missing piece: no current-context, unknown context,
// cluster or user, no server, no CA, no token (client certificates and exec
// plugins are not supported).
core::Result<RestConfig> parseKubeconfig(std::string_view yaml, const std::string& baseDir,
                                         std::string_view context = {});

// A kubeconfig with one cluster and context named podnet and one user
// (`user`) with a bearer token, as `podnet server` and `podnet join` write them.
std::string kubeconfigYaml(const std::string& serverUrl, const std::string& caCertPem,
                           const std::string& token, const std::string& user = "podnet-admin");

// The kubeconfig a podnet command uses: --kubeconfig when given, else
// $KUBECONFIG, else the one `podnet up` wrote in DATA_DIR/server/.
std::string kubeconfigPathFor(const std::string& flag, const std::string& dataDir);

// "https://host[:port]" (IPv6 in brackets) into config.host and .port.
core::Status parseServerUrl(std::string_view url, RestConfig& config);

}  // namespace podnet::client
