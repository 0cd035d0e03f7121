#include "client/kubeconfig.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/codec.h"
#include "core/base64.h"

namespace podnet::client {
namespace {

core::Error configError(std::string message) {
  return core::badRequest("kubeconfig: " + std::move(message));
}

std::string stringField(const Json& object, const char* field) {
  if (!object.is_object()) return {};
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// The entry named `name` of a list like clusters: [{name, cluster: {...}}],
// returning its `inner` object; nullptr when absent.
const Json* namedEntry(const Json& config, const char* list, const char* inner,
                       const std::string& name) {
  auto it = config.find(list);
  if (it == config.end() || !it->is_array()) return nullptr;
  for (const Json& entry : *it) {
    if (stringField(entry, "name") != name) continue;
    auto body = entry.find(inner);
    if (body == entry.end() || !body->is_object()) return nullptr;
    return &*body;
  }
  return nullptr;
}

core::Result<std::string> readWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return configError("cannot read " + what + " " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string resolvePath(const std::string& path, const std::string& baseDir) {
  if (path.empty() || path.front() == '/' || baseDir.empty()) return path;
  return (std::filesystem::path(baseDir) / path).string();
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

}  // namespace

core::Status parseServerUrl(std::string_view url, RestConfig& config) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme)
    return configError("server URL \"" + std::string(url) +
                       "\" is not https:// (plain HTTP is not supported)");
  std::string_view rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash).find_first_not_of('/') != std::string_view::npos)
      return configError("server URL \"" + std::string(url) + "\" has a path (not supported)");
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return configError("server URL \"" + std::string(url) + "\" has an unclosed [");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return configError("server URL \"" + std::string(url) + "\" is malformed");
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return configError("server URL \"" + std::string(url) + "\" has no host");
  uint16_t portNumber = 443;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return configError("server URL \"" + std::string(url) + "\" has an invalid port");
    portNumber = uint16_t(value);
  }
  config.host = std::string(host);
  config.port = portNumber;
  return core::Ok{};
}

core::Result<RestConfig> parseKubeconfig(std::string_view yaml, const std::string& baseDir,
                                         std::string_view context) {
  auto parsed = api::decodeYaml(yaml);
  if (!parsed) return configError("not valid YAML: " + parsed.error().message);
  const Json& config = *parsed;
  if (!config.is_object()) return configError("not a mapping");

  std::string contextName =
      context.empty() ? stringField(config, "current-context") : std::string(context);
  if (contextName.empty()) return configError("no current-context set");
  const Json* contextBody = namedEntry(config, "contexts", "context", contextName);
  if (!contextBody) return configError("context \"" + contextName + "\" not found");

  std::string clusterName = stringField(*contextBody, "cluster");
  if (clusterName.empty()) return configError("context \"" + contextName + "\" names no cluster");
  const Json* cluster = namedEntry(config, "clusters", "cluster", clusterName);
  if (!cluster) return configError("cluster \"" + clusterName + "\" not found");

  RestConfig result;
  std::string server = stringField(*cluster, "server");
  if (server.empty()) return configError("cluster \"" + clusterName + "\" has no server");
  if (auto ok = parseServerUrl(server, result); !ok) return ok.error();

  // podnet's extension for clusters with several API servers: the others,
  // tried when the server does not answer (kubectl ignores extensions).
  if (auto extensions = cluster->find("extensions");
      extensions != cluster->end() && extensions->is_array()) {
    for (const Json& entry : *extensions) {
      if (!entry.is_object() || stringField(entry, "name") != kAlternateServersExtension) continue;
      auto body = entry.find("extension");
      if (body == entry.end() || !body->is_object()) continue;
      auto servers = body->find("servers");
      if (servers == body->end() || !servers->is_array()) continue;
      for (const Json& url : *servers) {
        if (!url.is_string()) continue;
        RestConfig alternate;
        if (auto ok = parseServerUrl(url.get<std::string>(), alternate); !ok) return ok.error();
        result.alternates.push_back({alternate.host, alternate.port});
      }
    }
  }

  if (std::string data = stringField(*cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = core::decodeBase64(data);
    if (!pem)
      return configError("cluster \"" + clusterName +
                         "\": certificate-authority-data is not valid base64");
    result.caPem = std::move(*pem);
  } else if (std::string file = stringField(*cluster, "certificate-authority"); !file.empty()) {
    auto pem = readWholeFile(resolvePath(file, baseDir), "certificate-authority");
    if (!pem) return pem.error();
    result.caPem = std::move(*pem);
  } else {
    // Without a CA the server cannot be verified, and skipping verification
    // (insecure-skip-tls-verify) is deliberately not offered.
    return configError("cluster \"" + clusterName +
                       "\" has neither certificate-authority-data nor certificate-authority");
  }

  std::string userName = stringField(*contextBody, "user");
  if (userName.empty()) return configError("context \"" + contextName + "\" names no user");
  const Json* user = namedEntry(config, "users", "user", userName);
  if (!user) return configError("user \"" + userName + "\" not found");
  if (std::string token = stringField(*user, "token"); !token.empty()) {
    result.token = std::move(token);
  } else if (std::string file = stringField(*user, "tokenFile"); !file.empty()) {
    auto token = readWholeFile(resolvePath(file, baseDir), "tokenFile");
    if (!token) return token.error();
    result.token = trimmed(std::move(*token));
    if (result.token.empty()) return configError("tokenFile " + file + " is empty");
  } else {
    return configError("user \"" + userName +
                       "\" has no token or tokenFile (client certificates and exec plugins "
                       "are not supported)");
  }

  if (std::string ns = stringField(*contextBody, "namespace"); !ns.empty())
    result.defaultNamespace = std::move(ns);
  return result;
}

core::Result<RestConfig> loadKubeconfig(const std::string& path, std::string_view context) {
  auto text = readWholeFile(path, "file");
  if (!text) return text.error();
  return parseKubeconfig(*text, std::filesystem::path(path).parent_path().string(), context);
}

std::string kubeconfigYaml(const std::string& serverUrl, const std::string& caCertPem,
                           const std::string& token, const std::string& user) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: podnet\n  cluster:\n"
         "    certificate-authority-data: " +
         core::encodeBase64(caCertPem) + "\n    server: " + serverUrl +
         "\nusers:\n- name: " + user + "\n  user:\n    token: " + token +
         "\ncontexts:\n- name: podnet\n  context:\n    cluster: podnet\n    user: " + user +
         "\n    namespace: default\ncurrent-context: podnet\n";
}

std::string kubeconfigPathFor(const std::string& flag, const std::string& dataDir) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) return env;
  // With several API servers `podnet up` writes one naming them all.
  std::string shared = dataDir + "/kubeconfig";
  if (::access(shared.c_str(), R_OK) == 0) return shared;
  return dataDir + "/server/kubeconfig";
}

}  // namespace podnet::client
