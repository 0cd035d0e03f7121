#include "join/join.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "agent/agent_main.h"
#include "api/bootstrap_token.h"
#include "api/object.h"
#include "api/resource.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "core/base64.h"
#include "core/files.h"
#include "pki/certificates.h"

namespace podnet::join {

namespace {

using api::Json;

int fail(const char* command, const std::string& message, int code = 1) {
  std::fprintf(stderr, "podnet %s: %s\n", command, message.c_str());
  return code;
}

// "--flag value" or "--flag=value" at args[i]; advances i past the value.
bool takeFlag(const std::vector<std::string>& args, size_t& i, const std::string& flag,
              std::string& value) {
  const std::string& arg = args[i];
  if (arg == flag && i + 1 < args.size()) {
    value = args[++i];
    return true;
  }
  if (arg.rfind(flag + "=", 0) == 0) {
    value = arg.substr(flag.size() + 1);
    return true;
  }
  return false;
}

std::string serverUrl(const client::RestConfig& config) {
  bool v6 = config.host.find(':') != std::string::npos;
  return "https://" + (v6 ? "[" + config.host + "]" : config.host) + ":" +
         std::to_string(config.port);
}

// "24h", "90m", "3600s", "0" (never): seconds, or -1.
long long parseDuration(const std::string& text) {
  if (text == "0") return 0;
  if (text.size() < 2) return -1;
  long long unit = text.back() == 'h' ? 3600 : text.back() == 'm' ? 60 : text.back() == 's' ? 1 : 0;
  if (unit == 0) return -1;
  std::string number = text.substr(0, text.size() - 1);
  if (number.empty() || number.size() > 9 ||
      number.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(number) * unit;
}

// ---------------------------------------------------------------- token

constexpr const char* kTokenUsage =
    "usage: podnet token create [--ttl 24h] [--description TEXT] [--print-join-command]\n"
    "       podnet token list\n"
    "       podnet token delete TOKEN_ID|TOKEN...\n"
    "  --kubeconfig FILE   an admin's kubeconfig (default $KUBECONFIG or DATA_DIR/...)\n"
    "  --data-dir DIR      the `podnet up` data dir (default data)\n";

std::string dataField(const Json& secret, const char* key) {
  const Json& data = secret.value("data", Json::object());
  if (!data.is_object() || !data.contains(key) || !data[key].is_string()) return {};
  return core::decodeBase64(data[key].get<std::string>()).value_or("");
}

std::string ttlText(long long seconds) {
  if (seconds <= 0) return "<invalid>";
  if (seconds >= 48 * 3600) return std::to_string(seconds / 86400) + "d";
  if (seconds >= 3600) return std::to_string(seconds / 3600) + "h";
  if (seconds >= 60) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

}  // namespace

int runToken(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help") {
    std::fputs(kTokenUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string verb = args[0], kubeconfigFlag, dataDir = "data", ttl = "24h", description;
  bool printJoin = false;
  std::vector<std::string> operands;
  for (size_t i = 1; i < args.size(); ++i) {
    if (takeFlag(args, i, "--kubeconfig", kubeconfigFlag) ||
        takeFlag(args, i, "--data-dir", dataDir) || takeFlag(args, i, "--ttl", ttl) ||
        takeFlag(args, i, "--description", description))
      continue;
    if (args[i] == "--print-join-command") {
      printJoin = true;
    } else if (!args[i].empty() && args[i][0] != '-') {
      operands.push_back(args[i]);
    } else {
      return fail("token", "unknown flag " + args[i] + "\n" + kTokenUsage, 2);
    }
  }
  auto config = client::loadKubeconfig(client::kubeconfigPathFor(kubeconfigFlag, dataDir));
  if (!config) return fail("token", config.error().message);
  config->userAgent = "podnet/token";
  auto made = client::RestClient::make(*config);
  if (!made) return fail("token", made.error().message);
  client::RestClient& api = **made;
  const auto& secrets = api::resource("Secret");
  long long now = static_cast<long long>(std::time(nullptr));

  if (verb == "create") {
    if (!operands.empty()) return fail("token", "create takes no arguments", 2);
    long long seconds = parseDuration(ttl);
    if (seconds < 0) return fail("token", "invalid --ttl " + ttl + " (e.g. 24h, 90m, 0)", 2);
    std::string random = pki::randomHex(11);
    if (random.empty()) return fail("token", "no random source");
    auto token = api::bootstrapTokenFromRandom(random);
    auto created =
        api.create(secrets, "kube-system",
                   api::bootstrapTokenSecret(token, seconds == 0 ? 0 : now + seconds, description));
    if (!created) return fail("token", created.error().message);
    if (!printJoin) {
      std::printf("%s\n", token.text().c_str());
      return 0;
    }
    std::printf("podnet join --server %s --token %s --ca-cert-hash %s --node-name NAME\n",
                serverUrl(*config).c_str(), token.text().c_str(),
                pki::caCertHash(config->caPem).c_str());
    return 0;
  }
  if (verb == "list") {
    client::ListOptions options;
    options.fieldSelector = std::string("type=") + api::kBootstrapTokenType;
    auto list = api.list(secrets, "kube-system", options);
    if (!list) return fail("token", list.error().message);
    std::printf("%-24s %-8s %-21s %-24s %-30s %s\n", "TOKEN", "TTL", "EXPIRES", "USAGES",
                "DESCRIPTION", "EXTRA GROUPS");
    for (const Json& secret : (*list)["items"]) {
      std::string id = dataField(secret, "token-id"), key = dataField(secret, "token-secret");
      if (id.empty()) continue;
      std::string expires = dataField(secret, "expiration");
      std::string ttlShown = "<forever>";
      if (!expires.empty()) ttlShown = ttlText(api::parseRfc3339(expires) - now);
      std::string usages;
      for (const char* usage : {"authentication", "signing"})
        if (dataField(secret, ("usage-bootstrap-" + std::string(usage)).c_str()) == "true")
          usages += (usages.empty() ? "" : ",") + std::string(usage);
      std::string shownDescription = dataField(secret, "description");
      std::printf("%-24s %-8s %-21s %-24s %-30s %s\n", (id + "." + key).c_str(), ttlShown.c_str(),
                  expires.empty() ? "<never>" : expires.c_str(), usages.c_str(),
                  shownDescription.empty() ? "<none>" : shownDescription.c_str(),
                  dataField(secret, "auth-extra-groups").c_str());
    }
    return 0;
  }
  if (verb == "delete") {
    if (operands.empty()) return fail("token", "delete needs a token or its id", 2);
    int code = 0;
    for (const std::string& operand : operands) {
      std::string id = operand.substr(0, operand.find('.'));
      auto removed = api.remove(secrets, "kube-system", api::kBootstrapTokenPrefix + id);
      if (!removed) {
        std::fprintf(stderr, "podnet token: %s: %s\n", id.c_str(), removed.error().message.c_str());
        code = 1;
        continue;
      }
      std::printf("bootstrap token \"%s\" deleted\n", id.c_str());
    }
    return code;
  }
  return fail("token", "unknown verb " + verb + "\n" + kTokenUsage, 2);
}

namespace {

constexpr const char* kJoinUsage =
    "usage: podnet join [--server] https://ADDR:6443 --token TOKEN --ca-cert-hash sha256:HASH\n"
    "                   --node-name NAME [--node-ip IP] [--data-dir DIR] [agent flags...]\n"
    "  the token and hash come from `podnet token create --print-join-command`;\n"
    "  DIR (default /var/lib/podnet/NAME) keeps the node's credentials and pods;\n"
    "  other flags go to the agent (podnet agent --help)\n";

// The CA in kube-public/cluster-info, read before the server is trusted.
core::Result<std::string> discoverCa(const client::RestConfig& server) {
  client::RestConfig insecure = server;
  insecure.insecureSkipTlsVerify = true;
  insecure.token.clear();
  insecure.userAgent = "podnet/join";
  auto made = client::RestClient::make(insecure);
  if (!made) return made.takeError();
  auto info = (*made)->get(api::resource("ConfigMap"), "kube-public", "cluster-info");
  if (!info) return info.takeError();
  // The answer is not trusted yet: any shape is an error, never a crash.
  if (!info->is_object() || !(*info)["data"].is_object() ||
      !(*info)["data"]["kubeconfig"].is_string())
    return core::badRequest("kube-public/cluster-info holds no kubeconfig");
  auto kubeconfig = api::decodeYaml((*info)["data"].value("kubeconfig", ""));
  if (!kubeconfig || !kubeconfig->is_object() || !(*kubeconfig)["clusters"].is_array() ||
      (*kubeconfig)["clusters"].empty() || !(*kubeconfig)["clusters"][0].is_object() ||
      !(*kubeconfig)["clusters"][0]["cluster"].is_object())
    return core::badRequest("kube-public/cluster-info holds no kubeconfig with a cluster");
  const Json& cluster = (*kubeconfig)["clusters"][0]["cluster"];
  auto data = cluster.find("certificate-authority-data");
  if (data == cluster.end() || !data->is_string())
    return core::badRequest("kube-public/cluster-info names no certificate authority");
  auto pem = core::decodeBase64(data->get<std::string>());
  if (!pem || pem->empty())
    return core::badRequest("kube-public/cluster-info names no certificate authority");
  // Exactly one certificate: the hash pins the first, and every other one
  // in the bundle would be trusted too.
  size_t count = 0;
  for (size_t at = pem->find("-----BEGIN"); at != std::string::npos;
       at = pem->find("-----BEGIN", at + 1))
    ++count;
  if (count != 1)
    return core::badRequest("kube-public/cluster-info holds " + std::to_string(count) +
                            " PEM blocks, not the one CA certificate");
  return *pem;
}

std::string lower(std::string text) {
  for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

int runJoin(const std::vector<std::string>& args) {
  std::string server, token, caHash, nodeName, dataDir;
  std::vector<std::string> agentArgs;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help") {
      std::fputs(kJoinUsage, stdout);
      return 0;
    }
    if (takeFlag(args, i, "--server", server) || takeFlag(args, i, "--token", token) ||
        takeFlag(args, i, "--ca-cert-hash", caHash) ||
        takeFlag(args, i, "--discovery-token-ca-cert-hash", caHash) ||
        takeFlag(args, i, "--data-dir", dataDir))
      continue;
    if (takeFlag(args, i, "--node-name", nodeName)) continue;
    // kubeadm's form: `join ADDR:PORT --token ...`.
    if (server.empty() && i == 0 && !args[i].empty() && args[i][0] != '-') {
      server = args[i].rfind("https://", 0) == 0 ? args[i] : "https://" + args[i];
      continue;
    }
    agentArgs.push_back(args[i]);
  }
  if (server.empty() || token.empty() || caHash.empty() || nodeName.empty())
    return fail("join",
                std::string("--server, --token, --ca-cert-hash and --node-name are required\n") +
                    kJoinUsage,
                2);
  auto bootstrap = api::parseBootstrapToken(token);
  if (!bootstrap)
    return fail("join", "--token must look like abcdef.0123456789abcdef ([a-z0-9]{6}.[a-z0-9]{16})",
                2);
  if (lower(caHash).rfind("sha256:", 0) != 0)
    return fail("join",
                "--ca-cert-hash must be sha256:<hex> (podnet token create --print-join-command)",
                2);
  client::RestConfig config;
  if (auto ok = client::parseServerUrl(server, config); !ok)
    return fail("join", ok.error().message, 2);
  if (dataDir.empty()) dataDir = "/var/lib/podnet/" + nodeName;

  // 1. The cluster's CA, checked against the hash: nothing else is trusted yet.
  auto ca = discoverCa(config);
  if (!ca)
    return fail("join", "cannot read the cluster's CA from " + server + ": " + ca.error().message);
  std::string actual = pki::caCertHash(*ca);
  if (actual.empty() || lower(actual) != lower(caHash))
    return fail("join", "refusing to join: the server's CA has hash " + actual +
                            ", not the --ca-cert-hash given (" + caHash + ")");

  // 2. The node's own credentials, from the now verified server.
  config.caPem = *ca;
  config.token = bootstrap->text();
  config.userAgent = "podnet/join";
  auto made = client::RestClient::make(config);
  if (!made) return fail("join", made.error().message);
  Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                  {"kind", "TokenRequest"},
                  {"metadata", {{"name", nodeName}}},
                  {"spec", Json::object()}};
  auto answer = (*made)->request("POST", "/api/v1/nodes/" + nodeName + "/token", request.dump());
  if (!answer) {
    if (answer.error().code == 401)
      return fail("join", "the server refused the bootstrap token (wrong, expired or deleted): " +
                              answer.error().message);
    return fail("join", "cannot get the node's credentials: " + answer.error().message);
  }
  std::string nodeToken;
  if (answer->is_object() && (*answer)["status"].is_object() &&
      (*answer)["status"]["token"].is_string())
    nodeToken = (*answer)["status"]["token"].get<std::string>();
  if (nodeToken.empty()) return fail("join", "the server sent no credentials");

  // 3. Kept where only root reads them, then the agent runs with them.
  if (auto made = core::makePrivateDirectories(dataDir); !made)
    return fail("join", made.error().message);
  std::string kubeconfig = (std::filesystem::path(dataDir) / "kubeconfig").string();
  std::string yaml =
      client::kubeconfigYaml(serverUrl(config), *ca, nodeToken, "system:node:" + nodeName);
  if (auto ok = core::writeFileAtomically(kubeconfig, yaml, 0600); !ok)
    return fail("join", ok.error().message);
  std::fprintf(stderr, "podnet join: %s verified (%s); credentials of node %s in %s\n",
               server.c_str(), actual.c_str(), nodeName.c_str(), kubeconfig.c_str());
  std::vector<std::string> agent = {"--kubeconfig", kubeconfig,   "--node-name",
                                    nodeName,       "--data-dir", dataDir};
  agent.insert(agent.end(), agentArgs.begin(), agentArgs.end());
  return agent::runAgentMain(agent);
}

}  // namespace podnet::join
