#include "policy/policy_main.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "api/defaults.h"
#include "api/object.h"
#include "api/resource.h"
#include "api/validation.h"
#include "client/kubeconfig.h"
#include "client/rest_client.h"
#include "policy/denials.h"
#include "policy/matrix.h"
#include "policy/probe.h"

namespace podnet::policy {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: podnet policy <command> [flags]\n"
    "\n"
    "  explain [-n NS] FROM TO [--port P[/PROTO]]\n"
    "        allowed or denied, in each direction, with the policy and rule that decided;\n"
    "        FROM and TO are pods (NAME, NS/NAME) or IP addresses; the port is a number or\n"
    "        a port name of TO (default: TO's first declared port, else 80/TCP).\n"
    "        Exit code 0 when allowed, 1 when denied.\n"
    "  matrix [-n NS[,NS...]] [--port P/PROTO ...] [--verify [--via-services]] [--full]\n"
    "        every pod to every pod, rows from, columns to ('.' allowed, 'X' denied), one\n"
    "        table per port (default: the ports the pods declare, else 80/TCP); a summary\n"
    "        above 100 pods unless --full. --verify probes the live dataplane from every pod\n"
    "        (1 s per probe, 32 at a time; to pod IPs, or ClusterIPs with --via-services) and\n"
    "        lists where the kernel and the model differ; exit code 0 only when they agree.\n"
    "  log [-f] [-n NS] [POD]\n"
    "        the denied connections the agents recorded (newest last); -f follows.\n"
    "\n"
    "flags:\n"
    "  --kubeconfig FILE   the cluster (default: $KUBECONFIG, else DATA/server/kubeconfig)\n"
    "  --data-dir DIR      a `podnet up` cluster's data (default: data)\n"
    "  --objects FILE      read Namespaces, Pods, Nodes, NetworkPolicies (and Services,\n"
    "                      EndpointSlices) from a file instead of the API server\n"
    "  --file FILE         NetworkPolicies to evaluate as if applied (repeatable)\n"
    "  -o text|json        output format (default text)\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "podnet policy: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

struct Options {
  std::string command;
  std::vector<std::string> positional;
  std::vector<std::string> namespaces;
  std::vector<std::string> ports;
  std::vector<std::string> files;
  std::string kubeconfig, dataDir = "data", objects, output = "text";
  bool follow = false, verify = false, viaServices = false, full = false;
};

std::optional<std::string> parseOptions(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    bool hasValue = false;
    if (size_t eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
      hasValue = true;
    }
    auto take = [&]() -> std::optional<std::string> {
      if (hasValue) return value;
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    auto needs = [&](std::string& into) -> std::optional<std::string> {
      auto v = take();
      if (!v) return flag + " needs a value";
      into = *v;
      return std::nullopt;
    };
    std::string v;
    if (flag == "-h" || flag == "--help") {
      o.command = "help";
      return std::nullopt;
    } else if (flag == "-f" || flag == "--follow") {
      o.follow = true;
    } else if (flag == "--verify") {
      o.verify = true;
    } else if (flag == "--via-services") {
      o.viaServices = true;
    } else if (flag == "--full") {
      o.full = true;
    } else if (flag == "-n" || flag == "--namespace") {
      if (auto e = needs(v)) return e;
      std::stringstream list(v);
      for (std::string ns; std::getline(list, ns, ',');)
        if (!ns.empty()) o.namespaces.push_back(ns);
    } else if (flag == "-A" || flag == "--all-namespaces") {
      o.namespaces.clear();
    } else if (flag == "--port" || flag == "-p") {
      if (auto e = needs(v)) return e;
      o.ports.push_back(v);
    } else if (flag == "--file" || flag == "-F") {
      if (auto e = needs(v)) return e;
      o.files.push_back(v);
    } else if (flag == "--kubeconfig") {
      if (auto e = needs(o.kubeconfig)) return e;
    } else if (flag == "--data-dir") {
      if (auto e = needs(o.dataDir)) return e;
    } else if (flag == "--objects") {
      if (auto e = needs(o.objects)) return e;
    } else if (flag == "-o" || flag == "--output") {
      if (auto e = needs(o.output)) return e;
      if (o.output != "text" && o.output != "json") return "-o must be text or json";
    } else if (flag.size() > 1 && flag[0] == '-') {
      return "unknown flag " + flag;
    } else if (o.command.empty()) {
      o.command = flag;
    } else {
      o.positional.push_back(flag);
    }
  }
  return std::nullopt;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The cluster's objects, as the evaluator needs them.
struct Objects {
  ClusterState state;
  std::map<std::string, std::string> podUids;  // pod key -> uid (its sandbox's netns)
  std::vector<Json> services, slices;
};

void addObject(Objects& out, const Json& obj) {
  auto kindIt = obj.find("kind");
  std::string kind = kindIt != obj.end() && kindIt->is_string() ? kindIt->get<std::string>() : "";
  if (kind == "Pod") out.podUids[api::namespaceOf(obj) + "/" + api::name(obj)] = api::uid(obj);
  if (addToClusterState(out.state, obj)) return;
  if (kind == "Service") {
    out.services.push_back(obj);
  } else if (kind == "EndpointSlice") {
    out.slices.push_back(obj);
  }
}

std::string kubeconfigPath(const Options& o) {
  return client::kubeconfigPathFor(o.kubeconfig, o.dataDir);
}

core::Result<Objects> loadObjects(const Options& o, bool withServices) {
  Objects out;
  if (!o.objects.empty()) {
    std::string text = readFile(o.objects);
    if (text.empty()) return core::badRequest("cannot read " + o.objects);
    auto decoded = api::decodeObjects(text);
    if (!decoded) return core::badRequest(o.objects + ": " + decoded.error().message);
    for (const Json& obj : *decoded) addObject(out, obj);
  } else {
    auto config = client::loadKubeconfig(kubeconfigPath(o));
    if (!config) return config.takeError();
    config->userAgent = "podnet/policy";
    auto rest = client::RestClient::make(*config);
    if (!rest) return rest.takeError();
    std::vector<std::string> kinds = {"Namespace", "Node", "Pod", "NetworkPolicy"};
    if (withServices) {
      kinds.push_back("Service");
      kinds.push_back("EndpointSlice");
    }
    for (const auto& kind : kinds) {
      auto items = client::listAll(**rest, api::resource(kind), {}, 5000);
      if (!items) return items.takeError();
      for (const Json& item : *items) addObject(out, item);
    }
  }
  // Policies not applied yet: defaulted and validated as the API server
  // would, then in place of any policy of the same name.
  for (const auto& file : o.files) {
    std::string text = readFile(file);
    if (text.empty()) return core::badRequest("cannot read " + file);
    auto decoded = api::decodeObjects(text);
    if (!decoded) return core::badRequest(file + ": " + decoded.error().message);
    for (Json obj : *decoded) {
      auto kind = obj.find("kind");
      if (kind == obj.end() || *kind != "NetworkPolicy") continue;
      if (!obj.contains("metadata") || !obj["metadata"].is_object())
        obj["metadata"] = Json::object();
      if (api::namespaceOf(obj).empty())
        obj["metadata"]["namespace"] = o.namespaces.empty() ? "default" : o.namespaces.front();
      const auto& resource = api::resource("NetworkPolicy");
      api::applyDefaults(resource, obj);
      auto causes = api::validate(resource, obj);
      if (!causes.empty())
        return core::invalid("networking.k8s.io", "NetworkPolicy", api::name(obj), causes);
      auto policy = policyFromJson(obj);
      if (!policy) return policy.takeError();
      out.state.setPolicy(std::move(*policy));
    }
  }
  return out;
}

// "80", "80/TCP", "53/udp", "http", "dns/UDP".
struct PortSpec {
  std::optional<Protocol> protocol;
  uint16_t number = 0;
  std::string name;
};

std::optional<PortSpec> parsePort(const std::string& text) {
  PortSpec spec;
  std::string port = text;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    spec.protocol = parseProtocol(text.substr(slash + 1));
    if (!spec.protocol) return std::nullopt;
    port = text.substr(0, slash);
  }
  if (port.empty()) return std::nullopt;
  if (port.find_first_not_of("0123456789") == std::string::npos) {
    if (port.size() > 5) return std::nullopt;
    unsigned long n = std::stoul(port);
    if (n < 1 || n > 65535) return std::nullopt;
    spec.number = static_cast<uint16_t>(n);
  } else {
    spec.name = port;
  }
  return spec;
}

// A pod ("name", "ns/name") or an address.
core::Result<Endpoint> resolveEndpoint(const Objects& objects, const std::string& text,
                                       const std::string& defaultNs) {
  if (auto ip = core::IpAddress::parse(text)) return endpointForIp(objects.state, *ip);
  std::string key = text.find('/') == std::string::npos ? defaultNs + "/" + text : text;
  const Pod* pod = objects.state.findPod(key);
  if (!pod) return core::notFound("", "pods", key);
  if (pod->ips.empty() && !pod->hostNetwork)
    return core::badRequest("pod " + key + " has no IP address yet");
  return endpointForPod(objects.state, *pod);
}

std::string portText(Protocol protocol, uint16_t port) {
  return std::to_string(port) + "/" + protocolName(protocol);
}

Json ruleRefJson(const RuleRef& r) { return {{"policy", r.policy}, {"rule", r.rule}}; }

Json directionJson(const DirectionVerdict& v) {
  Json rules = Json::array();
  for (const auto& c : v.rules)
    rules.push_back({{"policy", c.rule.policy},
                     {"rule", c.rule.rule},
                     {"peerMatches", c.peerMatches},
                     {"portMatches", c.portMatches}});
  Json allowedBy = Json::array();
  for (const auto& r : v.allowedBy) allowedBy.push_back(ruleRefJson(r));
  return {{"allowed", v.allowed},   {"applies", v.applies},
          {"isolated", v.isolated}, {"isolatingPolicies", v.isolatingPolicies},
          {"allowedBy", allowedBy}, {"rules", rules},
          {"reason", v.reason}};
}

void printDirection(const ClusterState& state, const char* title, const DirectionVerdict& v) {
  std::printf("  %s: %s: %s\n", title, v.allowed ? "allowed" : "denied", v.reason.c_str());
  if (v.allowed || !v.isolated) return;
  for (const auto& check : v.rules) {
    const Policy* policy = state.findPolicy(check.rule.policy);
    if (!policy) continue;
    std::string why = !check.peerMatches && !check.portMatches
                          ? "neither the peer nor the port matches"
                      : !check.peerMatches ? "the peer does not match"
                                           : "the port does not match";
    std::printf("    %s %s rule %zu (%s): %s\n", check.rule.policy.c_str(),
                directionName(v.direction), check.rule.rule,
                describeRule(*policy, v.direction, check.rule.rule).c_str(), why.c_str());
  }
}

int explain(const Options& o) {
  if (o.positional.size() != 2) return usageError("explain needs FROM and TO");
  auto objects = loadObjects(o, false);
  if (!objects) {
    std::fprintf(stderr, "podnet policy: %s\n", objects.error().message.c_str());
    return 2;
  }
  std::string ns = o.namespaces.empty() ? "default" : o.namespaces.front();
  auto from = resolveEndpoint(*objects, o.positional[0], ns);
  auto to = resolveEndpoint(*objects, o.positional[1], ns);
  for (auto* r : {&from, &to})
    if (!*r) {
      std::fprintf(stderr, "podnet policy: %s\n", r->error().message.c_str());
      return 2;
    }
  Protocol protocol = Protocol::tcp;
  uint16_t port = 80;
  if (!o.ports.empty()) {
    auto spec = parsePort(o.ports.front());
    if (!spec) return usageError("bad --port " + o.ports.front() + " (80, 80/TCP, 53/UDP, http)");
    if (!spec->name.empty()) {
      if (!to->pod) return usageError("a port name needs a pod as TO");
      bool found = false;
      for (const auto& p : to->pod->namedPorts)
        if (p.name == spec->name && (!spec->protocol || *spec->protocol == p.protocol)) {
          protocol = p.protocol;
          port = p.port;
          found = true;
          break;
        }
      if (!found) {
        std::fprintf(stderr, "podnet policy: %s has no port named %s\n", to->pod->key().c_str(),
                     spec->name.c_str());
        return 2;
      }
    } else {
      port = spec->number;
      protocol = spec->protocol.value_or(Protocol::tcp);
    }
  } else if (to->pod && !to->pod->containerPorts.empty()) {
    protocol = to->pod->containerPorts.front().protocol;
    port = to->pod->containerPorts.front().port;
  }
  Verdict v = evaluate(objects->state, *from, *to, protocol, port);
  if (o.output == "json") {
    Json out = {{"from", from->describe()},
                {"to", to->describe()},
                {"port", port},
                {"protocol", protocolName(protocol)},
                {"allowed", v.allowed},
                {"egress", directionJson(v.egress)},
                {"ingress", directionJson(v.ingress)}};
    if (!v.exemption.empty()) out["exemption"] = v.exemption;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s -> %s on %s: %s\n", from->describe().c_str(), to->describe().c_str(),
                portText(protocol, port).c_str(), v.allowed ? "ALLOWED" : "DENIED");
    if (!v.exemption.empty()) {
      std::printf("  always allowed: %s\n", v.exemption.c_str());
    } else {
      printDirection(objects->state, ("egress of " + from->describe()).c_str(), v.egress);
      printDirection(objects->state, ("ingress of " + to->describe()).c_str(), v.ingress);
    }
  }
  return v.allowed ? 0 : 1;
}

// ---- matrix -------------------------------------------------------------------

// For --via-services: a ClusterIP and port that lead to (pod address, port,
// protocol), from the EndpointSlices.
std::map<std::tuple<std::string, uint16_t, Protocol>, std::pair<core::IpAddress, uint16_t>>
serviceRoutes(const Objects& objects) {
  std::map<std::string, const Json*> services;
  for (const Json& s : objects.services) services[api::namespaceOf(s) + "/" + api::name(s)] = &s;
  std::map<std::tuple<std::string, uint16_t, Protocol>, std::pair<core::IpAddress, uint16_t>> out;
  for (const Json& slice : objects.slices) {
    auto labels = api::labels(slice);
    auto owner = labels.find("kubernetes.io/service-name");
    if (owner == labels.end()) continue;
    auto svc = services.find(api::namespaceOf(slice) + "/" + owner->second);
    if (svc == services.end()) continue;
    const Json& spec = (*svc->second)["spec"];
    auto clusterIp = core::IpAddress::parse(spec.value("clusterIP", ""));
    if (!clusterIp || !slice.contains("ports") || !slice.contains("endpoints")) continue;
    for (const Json& sp : slice["ports"]) {
      if (!sp.is_object() || !sp.contains("port") || !sp["port"].is_number_integer()) continue;
      auto proto = parseProtocol(sp.value("protocol", "TCP"));
      if (!proto) continue;
      uint16_t target = sp["port"].get<uint16_t>();
      std::string name = sp.value("name", "");
      for (const Json& servicePort : spec.value("ports", Json::array())) {
        if (servicePort.value("name", "") != name) continue;
        uint16_t front = servicePort.value("port", 0);
        for (const Json& ep : slice["endpoints"])
          for (const Json& address : ep.value("addresses", Json::array()))
            if (address.is_string())
              out.emplace(std::make_tuple(address.get<std::string>(), target, *proto),
                          std::make_pair(*clusterIp, front));
      }
    }
  }
  return out;
}

int matrix(const Options& o) {
  auto objects = loadObjects(o, o.verify && o.viaServices);
  if (!objects) {
    std::fprintf(stderr, "podnet policy: %s\n", objects.error().message.c_str());
    return 2;
  }
  std::set<std::string> wanted(o.namespaces.begin(), o.namespaces.end());
  std::vector<const Pod*> pods;
  for (const auto& [key, pod] : objects->state.pods())
    if (!pod.hostNetwork && !pod.ips.empty() && (wanted.empty() || wanted.count(pod.ns)))
      pods.push_back(&pod);
  std::vector<PortProtocol> ports;
  for (const auto& text : o.ports) {
    auto spec = parsePort(text);
    if (!spec || !spec->name.empty()) return usageError("bad --port " + text + " (80/TCP, 53/UDP)");
    ports.push_back({spec->protocol.value_or(Protocol::tcp), spec->number});
  }
  if (ports.empty()) ports = declaredPorts(pods, 4);
  if (ports.empty()) ports.push_back({Protocol::tcp, 80});

  bool table = o.full || pods.size() <= 100;
  auto started = std::chrono::steady_clock::now();
  std::vector<Reachability> results;
  for (const auto& port : ports)
    results.push_back(Reachability::compute(objects->state, pods, port));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // Live probes: one per (from, to, port), in the source pod's namespace.
  std::vector<std::vector<ProbeTask>> probes(ports.size());
  size_t differences = 0, unprobed = 0;
  if (o.verify) {
    auto routes = serviceRoutes(*objects);
    for (size_t p = 0; p < ports.size(); ++p) {
      for (size_t i = 0; i < pods.size(); ++i)
        for (size_t j = 0; j < pods.size(); ++j) {
          ProbeTask t;
          auto uid = objects->podUids.find(pods[i]->key());
          std::string id = uid == objects->podUids.end() ? "" : uid->second;
          t.netnsPath = "/run/netns/podnet-" + id.substr(0, std::min<size_t>(18, id.size()));
          t.target = pods[j]->ips.front();
          t.port = ports[p].port;
          t.protocol = ports[p].protocol;
          if (o.viaServices) {
            auto route =
                routes.find({pods[j]->ips.front().toString(), ports[p].port, ports[p].protocol});
            if (route == routes.end()) {
              t.netnsPath.clear();  // no Service leads there: not probed
            } else {
              t.target = route->second.first;
              t.port = route->second.second;
            }
          }
          probes[p].push_back(t);
        }
      std::vector<ProbeTask> runnable;
      std::vector<size_t> index;
      for (size_t k = 0; k < probes[p].size(); ++k)
        if (!probes[p][k].netnsPath.empty()) {
          runnable.push_back(probes[p][k]);
          index.push_back(k);
        } else {
          probes[p][k].outcome = ProbeOutcome::error;
          probes[p][k].detail = "no Service leads to this pod and port";
        }
      runProbes(runnable, 32, std::chrono::milliseconds(1000));
      for (size_t k = 0; k < index.size(); ++k) probes[p][index[k]] = runnable[k];
    }
  }
  auto probeCell = [&](size_t p, size_t i, size_t j) -> char {
    const ProbeTask& t = probes[p][i * pods.size() + j];
    if (t.outcome == ProbeOutcome::error) return '?';
    return t.reached() ? '.' : 'X';
  };
  for (size_t p = 0; p < ports.size() && o.verify; ++p)
    for (size_t i = 0; i < pods.size(); ++i)
      for (size_t j = 0; j < pods.size(); ++j) {
        char cell = probeCell(p, i, j);
        if (cell == '?')
          ++unprobed;
        else if ((cell == '.') != results[p].allowed(i, j))
          ++differences;
      }

  if (o.output == "json") {
    Json out = Json::array();
    for (size_t p = 0; p < ports.size(); ++p) {
      const Reachability& r = results[p];
      Json entry = {{"port", ports[p].port},
                    {"protocol", protocolName(ports[p].protocol)},
                    {"pods", pods.size()},
                    {"classes", r.classes()},
                    {"allowedPairs", r.allowedPairs()},
                    {"isolatedForIngress", r.isolatedForIngress()},
                    {"isolatedForEgress", r.isolatedForEgress()}};
      if (table) {
        Json names = Json::array();
        for (const Pod* pod : pods) names.push_back(pod->key());
        Json rows = Json::array();
        for (size_t i = 0; i < pods.size(); ++i) {
          std::string row;
          for (size_t j = 0; j < pods.size(); ++j) row += r.allowed(i, j) ? '.' : 'X';
          rows.push_back(row);
        }
        entry["order"] = names;
        entry["expected"] = rows;
        if (o.verify) {
          Json observed = Json::array();
          for (size_t i = 0; i < pods.size(); ++i) {
            std::string row;
            for (size_t j = 0; j < pods.size(); ++j) row += probeCell(p, i, j);
            observed.push_back(row);
          }
          entry["observed"] = observed;
        }
      }
      out.push_back(entry);
    }
    Json doc = {{"ports", out}, {"computeSeconds", seconds}};
    if (o.verify) doc["verify"] = {{"differences", differences}, {"unprobed", unprobed}};
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    size_t width = 1;
    for (const Pod* pod : pods) width = std::max(width, pod->key().size());
    for (size_t p = 0; p < ports.size(); ++p) {
      const Reachability& r = results[p];
      uint64_t total = uint64_t(pods.size()) * (pods.size() ? pods.size() - 1 : 0);
      std::printf(
          "%s: %zu pods (%zu kinds), %llu of %llu pairs allowed; isolated: %zu for "
          "ingress, %zu for egress\n",
          portText(ports[p].protocol, ports[p].port).c_str(), pods.size(), r.classes(),
          static_cast<unsigned long long>(r.allowedPairs()), static_cast<unsigned long long>(total),
          r.isolatedForIngress(), r.isolatedForEgress());
      if (!table) continue;
      auto printTable = [&](const char* title, auto cell) {
        std::printf("%s (rows from, columns to; . allowed, X denied%s)\n", title,
                    o.verify ? ", ? not probed" : "");
        std::printf("%-*s", int(width), "-");
        for (const Pod* pod : pods) std::printf(" %s", pod->key().c_str());
        std::printf("\n");
        for (size_t i = 0; i < pods.size(); ++i) {
          std::printf("%-*s", int(width), pods[i]->key().c_str());
          for (size_t j = 0; j < pods.size(); ++j)
            std::printf(" %*c", int(pods[j]->key().size()), cell(i, j));
          std::printf("\n");
        }
      };
      printTable("expected", [&](size_t i, size_t j) { return r.allowed(i, j) ? '.' : 'X'; });
      if (o.verify) {
        printTable(o.viaServices ? "observed (through ClusterIPs)" : "observed",
                   [&](size_t i, size_t j) { return probeCell(p, i, j); });
        for (size_t i = 0; i < pods.size(); ++i)
          for (size_t j = 0; j < pods.size(); ++j) {
            char cell = probeCell(p, i, j);
            if (cell != '?' && (cell == '.') != r.allowed(i, j))
              std::printf("  differs: %s -> %s: the model says %s, the dataplane %s\n",
                          pods[i]->key().c_str(), pods[j]->key().c_str(),
                          r.allowed(i, j) ? "allowed" : "denied",
                          cell == '.' ? "connected" : "dropped");
          }
      }
      std::printf("\n");
    }
    if (o.verify)
      std::printf("verify: %zu differences, %zu probes not made\n", differences, unprobed);
  }
  return o.verify && differences ? 1 : 0;
}

// ---- log ------------------------------------------------------------------------

struct LogFile {
  fs::path path;
  uintmax_t offset = 0;
};

// The denial logs of every node of a `podnet up` cluster, rotated ones first.
std::vector<fs::path> logFiles(const fs::path& dataDir) {
  std::vector<fs::path> out;
  std::error_code error;
  for (const auto& node : fs::directory_iterator(dataDir / "nodes", error)) {
    fs::path dir = node.path() / "policy";
    for (const char* name : {"denials.log.1", "denials.log"})
      if (fs::exists(dir / name, error)) out.push_back(dir / name);
  }
  return out;
}

bool matches(const Denial& d, const Options& o) {
  auto inNs = [&](const std::string& podKey) {
    if (o.namespaces.empty()) return true;
    for (const auto& ns : o.namespaces)
      if (podKey.rfind(ns + "/", 0) == 0) return true;
    return false;
  };
  if (!inNs(d.source) && !inNs(d.destination)) return false;
  if (o.positional.empty()) return true;
  for (const auto& pod : o.positional) {
    std::string key = pod.find('/') != std::string::npos
                          ? pod
                          : (o.namespaces.empty() ? "default" : o.namespaces.front()) + "/" + pod;
    if (d.source == key || d.destination == key) return true;
  }
  return false;
}

void printDenial(const Denial& d, const Options& o) {
  if (o.output == "json")
    std::printf("%s\n", d.toJson().dump().c_str());
  else
    std::printf("%s\n", d.describe().c_str());
}

int log(const Options& o) {
  fs::path dataDir = o.dataDir;
  if (!fs::exists(dataDir / "nodes")) {
    std::fprintf(stderr,
                 "podnet policy: no nodes in %s (the denial logs are in each node's data "
                 "directory: pass --data-dir of a `podnet up` cluster)\n",
                 dataDir.c_str());
    return 2;
  }
  std::vector<Denial> all;
  std::map<fs::path, uintmax_t> offsets;
  auto readNew = [&](const fs::path& file, std::vector<Denial>& into) {
    std::ifstream in(file);
    uintmax_t& offset = offsets[file];
    std::error_code error;
    uintmax_t size = fs::file_size(file, error);
    if (error) return;
    if (size < offset) offset = 0;  // rotated
    in.seekg(static_cast<std::streamoff>(offset));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // a line still being written
      offset += line.size() + 1;
      auto json = Json::parse(line, nullptr, false);
      auto d = Denial::fromJson(json);
      if (d && matches(*d, o)) into.push_back(std::move(*d));
    }
  };
  for (const auto& file : logFiles(dataDir)) readNew(file, all);
  std::stable_sort(all.begin(), all.end(),
                   [](const Denial& a, const Denial& b) { return a.time < b.time; });
  for (const auto& d : all) printDenial(d, o);
  std::fflush(stdout);
  while (o.follow) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::vector<Denial> fresh;
    for (const auto& file : logFiles(dataDir)) readNew(file, fresh);
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const Denial& a, const Denial& b) { return a.time < b.time; });
    for (const auto& d : fresh) printDenial(d, o);
    if (!fresh.empty()) std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int runPolicyMain(const std::vector<std::string>& args) {
  Options o;
  if (auto error = parseOptions(args, o)) return usageError(*error);
  if (o.command.empty() || o.command == "help") {
    std::fputs(kUsage, o.command.empty() ? stderr : stdout);
    return o.command.empty() ? 2 : 0;
  }
  if (o.command == "explain") return explain(o);
  if (o.command == "matrix") return matrix(o);
  if (o.command == "log") return log(o);
  return usageError("unknown command " + o.command);
}

}  // namespace podnet::policy
