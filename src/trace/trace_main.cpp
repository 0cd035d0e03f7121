#include "trace/trace_main.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <random>

#include "api/object.h"
#include "api/resource.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "trace/journey.h"
#include "trace/probe.h"
#include "trace/target.h"

namespace podnet::trace {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: podnet trace [-n NS] POD [--] URL|HOST:PORT [--udp] [-o text|json]\n"
    "       podnet trace --from-host [--] URL|IP:PORT [--udp] [-o text|json]\n"
    "\n"
    "Makes one real request from inside POD (an http:// URL: one GET; HOST:PORT: a TCP\n"
    "connect, or a UDP datagram with --udp) and shows its journey as the kernel saw it:\n"
    "  1. name resolution (each search-path query the pod's resolver sends)\n"
    "  2. the Service: its port, EndpointSlices and which endpoints were eligible\n"
    "  3. the node's nftables rules the first packet crossed (nftrace), DNAT, masquerade\n"
    "  4. the NetworkPolicy verdicts on both ends\n"
    "  5. the answer: which pod, status and time, and the reverse translation\n"
    "A failed request stops at the step that failed and says why.\n"
    "\n"
    "flags:\n"
    "  -n, --namespace NS   the pod's namespace (default: default)\n"
    "  --from-host          the request comes from this machine (a NodePort or\n"
    "                       LoadBalancer address of a `podnet up` cluster)\n"
    "  --udp                a UDP datagram instead of a TCP connection\n"
    "  -o, --output F       text (default) or json\n"
    "  --timeout MS         how long the request may take (default 3000)\n"
    "  --kubeconfig FILE    the cluster (default: $KUBECONFIG, else DATA/server/kubeconfig)\n"
    "  --data-dir DIR       the `podnet up` data directory (default: data)\n";

struct Options {
  std::string ns = "default", pod, target, output = "text", kubeconfig, dataDir = "data";
  bool fromHost = false, udp = false;
  int timeoutMs = 3000;
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "podnet trace: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

std::optional<std::string> parseOptions(const std::vector<std::string>& args, Options& o,
                                        bool& help) {
  std::vector<std::string> positional;
  bool rest = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (rest || flag.empty() || flag[0] != '-') {
      positional.push_back(flag);
      continue;
    }
    if (flag == "--") {
      rest = true;
      continue;
    }
    bool hasValue = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
      hasValue = true;
    }
    auto needs = [&](std::string& into) -> std::optional<std::string> {
      if (hasValue) {
        into = value;
        return std::nullopt;
      }
      if (i + 1 >= args.size()) return flag + " needs a value";
      into = args[++i];
      return std::nullopt;
    };
    if (flag == "-h" || flag == "--help") {
      help = true;
      return std::nullopt;
    } else if (flag == "-n" || flag == "--namespace") {
      if (auto e = needs(o.ns)) return e;
    } else if (flag == "--from-host") {
      o.fromHost = true;
    } else if (flag == "--udp") {
      o.udp = true;
    } else if (flag == "-o" || flag == "--output") {
      if (auto e = needs(o.output)) return e;
      if (o.output != "text" && o.output != "json") return "-o must be text or json";
    } else if (flag == "--timeout") {
      std::string v;
      if (auto e = needs(v)) return e;
      o.timeoutMs = std::atoi(v.c_str());
      if (o.timeoutMs < 100 || o.timeoutMs > 30000) return "--timeout must be 100-30000 (ms)";
    } else if (flag == "--kubeconfig") {
      if (auto e = needs(o.kubeconfig)) return e;
    } else if (flag == "--data-dir") {
      if (auto e = needs(o.dataDir)) return e;
    } else {
      return "unknown flag " + flag;
    }
  }
  size_t wanted = o.fromHost ? 1 : 2;
  if (positional.size() != wanted)
    return o.fromHost ? "--from-host needs one target" : "needs POD and a target";
  if (!o.fromHost) o.pod = positional[0];
  o.target = positional.back();
  if (size_t slash = o.pod.find('/'); slash != std::string::npos) {
    o.ns = o.pod.substr(0, slash);
    o.pod = o.pod.substr(slash + 1);
  }
  return std::nullopt;
}

std::string kubeconfigPath(const Options& o) {
  return client::kubeconfigPathFor(o.kubeconfig, o.dataDir);
}

core::Result<Json> nodeCall(client::RestClient& rest, const std::string& node,
                            const std::string& action, const Json& body) {
  return rest.request(
      "POST", "/api/v1/nodes/" + client::queryEscape(node) + "/proxy/trace/" + action, body.dump());
}

int fail(const std::string& message) {
  std::fprintf(stderr, "podnet trace: %s\n", message.c_str());
  return 1;
}

}  // namespace

int runTraceMain(const std::vector<std::string>& args) {
  Options o;
  bool help = false;
  if (auto error = parseOptions(args, o, help)) return usageError(*error);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto target = parseTarget(o.target, o.udp);
  if (!target) return usageError(target.error().message);
  if (o.fromHost && !isIpLiteral(target->host))
    return usageError("--from-host needs an IP address (a node's or a LoadBalancer's)");
  auto config = client::loadKubeconfig(kubeconfigPath(o));
  if (!config) return fail(config.error().message);
  config->userAgent = "podnet/trace";
  config->requestTimeout = std::chrono::milliseconds(o.timeoutMs + 10000);
  auto made = client::RestClient::make(*config);
  if (!made) return fail(made.error().message);
  client::RestClient& rest = **made;

  auto t0 = std::chrono::steady_clock::now();
  auto mark = [&](const char* what) {
    if (std::getenv("PODNET_TRACE_TIMING"))
      std::fprintf(
          stderr, "%8.1f ms %s\n",
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
          what);
  };
  TracedRequest request;
  request.target = *target;
  if (!o.fromHost) {
    auto pod = rest.get(api::resource("Pod"), o.ns, o.pod);
    if (!pod) return fail(pod.error().message);
    request.clientNs = o.ns;
    request.clientPod = o.pod;
    request.clientNode = api::getString(*pod, Json::json_pointer("/spec/nodeName"));
    request.clientIp = api::getString(*pod, Json::json_pointer("/status/podIP"));
    if (request.clientNode.empty())
      return fail("pod " + o.ns + "/" + o.pod + " is not scheduled yet");
    if (request.clientIp.empty()) return fail("pod " + o.ns + "/" + o.pod + " has no IP yet");
    if ((*pod)["spec"].value("hostNetwork", false))
      return fail("pod " + o.ns + "/" + o.pod + " uses the node's network: trace from another pod");
  }
  // The nodes first (they are armed at once), the rest while they are.
  auto nodeList = client::listAll(rest, api::resource("Node"), {}, 5000);
  if (!nodeList) return fail(nodeList.error().message);
  ClusterObjects cluster;
  for (Json& node : *nodeList) {
    policy::addToClusterState(cluster.policies, node);
    cluster.nodes.push_back(std::move(node));
  }
  // Filled while the nodes are armed; read after the futures are joined.
  std::vector<Json> listedObjects;
  auto objects = std::async(std::launch::async, [&]() -> core::Status {
    for (const char* kind : {"Service", "EndpointSlice", "Pod", "Namespace", "NetworkPolicy"}) {
      auto items = client::listAll(rest, api::resource(kind), {}, 5000);
      if (!items) return items.takeError();
      for (Json& item : *items) listedObjects.push_back(std::move(item));
    }
    return core::Ok{};
  });
  // The connection's identity: a source port picked below the ephemeral
  // range (and the NodePorts), so nothing else on the node uses it now.
  std::random_device random;
  request.sourcePort = uint16_t(20000 + random() % 10000);
  char id[9];
  std::snprintf(id, sizeof id, "%08x", unsigned(random()));

  // An interrupt waits for the nodes' tables to be removed.
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&blocked, sig);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);

  // Every node at once: a trace costs the slowest node, not their sum.
  std::vector<std::string> armed;
  std::string armError;
  {
    std::vector<std::future<core::Result<Json>>> replies;
    for (const Json& node : cluster.nodes)
      replies.push_back(std::async(std::launch::async, [&, name = api::name(node)] {
        return nodeCall(rest, name, "arm",
                        {{"id", id},
                         {"protocol", target->protocol},
                         {"sourcePort", request.sourcePort},
                         {"ttlSeconds", o.timeoutMs / 1000 + 10}});
      }));
    for (size_t i = 0; i < replies.size(); ++i) {
      auto reply = replies[i].get();
      std::string name = api::name(cluster.nodes[i]);
      if (reply)
        armed.push_back(name);
      else
        armError += "\n  " + name + ": " + reply.error().message;
    }
  }
  mark("armed");
  Json run;
  if (o.fromHost) {
    Probe probe;
    probe.address = target->host;
    probe.port = target->port;
    probe.protocol = target->protocol;
    probe.http = target->http;
    probe.host = target->host;
    probe.path = target->path;
    probe.sourcePort = request.sourcePort;
    probe.timeout = std::chrono::milliseconds(o.timeoutMs);
    run = {{"dns", {{"name", target->host}, {"literal", true}}},
           {"connection", connectAndRequest(probe)}};
  } else {
    auto reply = nodeCall(rest, request.clientNode, "run",
                          {{"namespace", o.ns},
                           {"pod", o.pod},
                           {"host", target->host},
                           {"port", target->port},
                           {"protocol", target->protocol},
                           {"http", target->http},
                           {"path", target->path},
                           {"sourcePort", request.sourcePort},
                           {"timeoutMs", o.timeoutMs}});
    if (reply)
      run = *reply;
    else
      run = {{"error", reply.error().message}};
  }
  request.run = run;
  mark("request made");
  std::vector<NodeCapture> captures;
  {
    std::vector<std::future<core::Result<Json>>> replies;
    for (const std::string& node : armed)
      replies.push_back(std::async(std::launch::async, [&, node] {
        return nodeCall(rest, node, "collect", {{"id", id}});
      }));
    for (size_t i = 0; i < replies.size(); ++i)
      if (auto reply = replies[i].get()) captures.push_back({armed[i], *reply});
  }
  core::Status listed = objects.get();
  mark("collected");
  for (Json& item : listedObjects) {
    policy::addToClusterState(cluster.policies, item);
    std::string kind = item.value("kind", "");
    if (kind == "Service")
      cluster.services.push_back(std::move(item));
    else if (kind == "EndpointSlice")
      cluster.slices.push_back(std::move(item));
    else if (kind == "Pod")
      cluster.pods.push_back(std::move(item));
  }
  sigset_t pending;
  sigpending(&pending);
  bool interrupted = sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
                     sigismember(&pending, SIGHUP);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (interrupted) return 130;
  if (run.contains("error"))
    return fail("the request could not be made: " + run["error"].get<std::string>());
  if (armed.empty()) return fail("no node could trace:" + armError);
  if (!listed) return fail(listed.error().message);

  Json report = buildReport(cluster, request, captures);
  if (!armError.empty()) report["warnings"] = Json::array({"not traced on:" + armError});
  // The raw material, for whoever wants more than the story.
  Json nodes = Json::object();
  for (const NodeCapture& capture : captures) nodes[capture.node] = capture.collected;
  report["nodes"] = nodes;
  report["run"] = run;
  if (o.output == "json")
    std::printf("%s\n", report.dump(2).c_str());
  else
    std::fputs(renderText(report).c_str(), stdout);
  return report.value("ok", false) ? 0 : 1;
}

}  // namespace podnet::trace
