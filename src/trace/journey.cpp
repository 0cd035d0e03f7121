#include "trace/journey.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "api/object.h"
#include "core/ip.h"
#include "proxy/compiler.h"
#include "proxy/service_port.h"

namespace podnet::trace {

namespace {

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The array at `key`, by reference (value() would copy).
const Json& arrayAt(const Json& j, const char* key) {
  static const Json empty = Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

const Json& objectAt(const Json& j, const char* key) {
  static const Json empty = Json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

std::string ms(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, value < 10 ? "%.1f ms" : "%.0f ms", value);
  return buffer;
}

struct PodInfo {
  std::string ns, name, node, ip;
  bool hostNetwork = false;
  std::string key() const { return ns + "/" + name; }
};

class Index {
 public:
  explicit Index(const ClusterObjects& cluster) : cluster_(cluster) {
    for (const Json& pod : cluster.pods) {
      PodInfo info;
      info.ns = api::namespaceOf(pod);
      info.name = api::name(pod);
      const Json& spec = objectAt(pod, "spec");
      info.node = str(spec, "nodeName");
      info.hostNetwork = spec.value("hostNetwork", false);
      const Json& status = objectAt(pod, "status");
      info.ip = str(status, "podIP");
      if (!info.ip.empty() && !info.hostNetwork) podsByIp_[info.ip] = info;
    }
    for (const Json& node : cluster.nodes) {
      const Json& status = objectAt(node, "status");
      if (status.contains("addresses") && status["addresses"].is_array())
        for (const Json& a : status["addresses"])
          if (a.is_object() && str(a, "type") == "InternalIP")
            nodeByIp_[str(a, "address")] = api::name(node);
    }
    for (const Json& slice : cluster.slices) {
      std::string key = proxy::serviceKeyOfSlice(slice);
      if (!key.empty()) slices_[key].push_back(std::make_shared<const Json>(slice));
    }
  }
  const PodInfo* podByIp(const std::string& ip) const {
    auto it = podsByIp_.find(ip);
    return it == podsByIp_.end() ? nullptr : &it->second;
  }
  std::string nodeByIp(const std::string& ip) const {
    auto it = nodeByIp_.find(ip);
    return it == nodeByIp_.end() ? "" : it->second;
  }
  std::string nodeIp(const std::string& node) const {
    for (const auto& [ip, name] : nodeByIp_)
      if (name == node) return ip;
    return "";
  }
  const std::vector<std::shared_ptr<const Json>>& slicesOf(const std::string& key) const {
    static const std::vector<std::shared_ptr<const Json>> none;
    auto it = slices_.find(key);
    return it == slices_.end() ? none : it->second;
  }
  // "default/web-1 (10.244.1.5, node-2)" or the address.
  std::string describe(const std::string& ip) const {
    if (const PodInfo* pod = podByIp(ip))
      return "pod " + pod->key() + " (" + ip + ", " + pod->node + ")";
    std::string node = nodeByIp(ip);
    if (!node.empty()) return "node " + node + " (" + ip + ")";
    return ip;
  }

 private:
  const ClusterObjects& cluster_;
  std::map<std::string, PodInfo> podsByIp_;
  std::map<std::string, std::string> nodeByIp_;
  std::map<std::string, std::vector<std::shared_ptr<const Json>>> slices_;
};

Json step(int n, const char* title) {
  return {{"step", n}, {"title", title}, {"ok", true}, {"lines", Json::array()}};
}

void line(Json& s, const std::string& text) { s["lines"].push_back(text); }

// ---- the kernel's events --------------------------------------------------------

struct Pass {
  std::string node;
  std::vector<const Json*> events;
  int retransmits = 0;  // the first packet sent again: no answer came
};

bool isFirstPacket(const Json& packet, const TracedRequest& request) {
  if (packet.value("sport", 0) != request.sourcePort) return false;
  if (request.target.protocol == "udp") return packet.value("protocol", 0) == 17;
  int flags = packet.value("tcpFlags", 0);
  return packet.value("protocol", 0) == 6 && (flags & 0x02) && !(flags & 0x10);  // SYN, no ACK
}

// The passes (one per node) of the connection's first packet, in the order
// the nodes saw it: the client's node first.
std::vector<Pass> firstPacketPasses(const std::vector<NodeCapture>& captures,
                                    const TracedRequest& request) {
  std::vector<Pass> out;
  for (const NodeCapture& capture : captures) {
    // Each base chain's first event carries the packet; the events after it
    // with the same id are that packet's. (An id is per skb and hook pass,
    // and the kernel reuses it: a later packet can show up under it.)
    std::map<uint64_t, bool> wanted;
    std::set<std::string> chainsSeen;  // base chains the first packet entered
    std::vector<std::vector<const Json*>> transmissions;
    Pass pass;
    pass.node = capture.node;
    for (const Json& e : arrayAt(capture.collected, "events")) {
      uint64_t id = e.value("id", uint64_t(0));
      if (e.contains("packet")) {
        bool first = isFirstPacket(e["packet"], request);
        // The same base chain again: a retransmission. Conntrack keeps only
        // the last one's translation (a dropped first packet's never became
        // an entry), so the last one is the one told.
        std::string chain = str(e, "table") + " " + str(e, "chain");
        if (first && !chainsSeen.insert(chain).second) {
          transmissions.push_back(std::move(pass.events));
          pass.events.clear();
          wanted.clear();
          chainsSeen = {chain};
        }
        wanted[id] = first;
      }
      if (wanted[id]) pass.events.push_back(&e);
    }
    if (!pass.events.empty()) transmissions.push_back(std::move(pass.events));
    if (transmissions.empty()) continue;
    // A retransmission crosses the NAT rules again only when the earlier
    // one never became a conntrack entry (dropped on this node). The last
    // one that did is the translation conntrack holds; without NAT rules,
    // the first tells it all.
    pass.retransmits = int(transmissions.size()) - 1;
    pass.events = transmissions.front();
    for (auto& t : transmissions)
      for (const Json* e : t)
        if (str(*e, "rule").find("dnat to") != std::string::npos) pass.events = t;
    out.push_back(std::move(pass));
  }
  std::stable_sort(out.begin(), out.end(), [&](const Pass& a, const Pass& b) {
    return (a.node == request.clientNode) > (b.node == request.clientNode);
  });
  return out;
}

// Worth a line: a rule that matched, or a base chain's policy that dropped.
bool notable(const Json& e) {
  std::string type = str(e, "type");
  if (type == "return") return false;
  if (type == "policy") return str(e, "verdict") != "accept";
  return e.contains("rule");
}

std::string eventText(const Json& e) {
  std::string where = str(e, "table") + " " + str(e, "chain");
  std::string type = str(e, "type");
  std::string verdict = str(e, "verdict");
  std::string target = str(e, "target");
  if (type == "policy") return where + ": policy " + verdict;
  std::string text = where + ": " + (e.contains("rule") ? str(e, "rule") : "(end of chain)");
  if (verdict != "continue") text += "  -> " + verdict + (target.empty() ? "" : " " + target);
  return text;
}

bool isPolicyTable(const Json& e) { return str(e, "table") == "podnet-policy"; }

const Json* conntrackOf(const std::vector<NodeCapture>& captures, const std::string& node,
                        const TracedRequest& request) {
  for (const NodeCapture& capture : captures) {
    if (capture.node != node) continue;
    for (const Json& entry : arrayAt(capture.collected, "conntrack")) {
      const Json& original = objectAt(entry, "original");
      if (original.value("sport", 0) != request.sourcePort) continue;
      if (!request.clientIp.empty() && str(original, "src") != request.clientIp) continue;
      return &entry;
    }
  }
  return nullptr;
}

// ---- step 2: the Service ----------------------------------------------------------

struct ServiceMatch {
  proxy::ServicePort port;
  std::string kind;  // ClusterIP, NodePort, LoadBalancer, externalIP
  bool external = false;
};

std::optional<ServiceMatch> findServicePort(const ClusterObjects& cluster, const Index& index,
                                            const std::string& ip, uint16_t portNumber,
                                            const std::string& protocol) {
  bool nodeAddress = !index.nodeByIp(ip).empty();
  for (const Json& service : cluster.services) {
    std::string key = api::namespaceOf(service) + "/" + api::name(service);
    for (auto& port : proxy::servicePortsOf(service, index.slicesOf(key))) {
      if (port.protocol != protocol) continue;
      auto has = [&](const std::vector<std::string>& ips) {
        return std::find(ips.begin(), ips.end(), ip) != ips.end();
      };
      if (port.port == portNumber && has(port.clusterIps)) return ServiceMatch{port, "ClusterIP"};
      if (port.port == portNumber && has(port.loadBalancerIps))
        return ServiceMatch{port, "LoadBalancer", true};
      if (port.port == portNumber && has(port.externalIps))
        return ServiceMatch{port, "externalIP", true};
      if (port.nodePort == portNumber && nodeAddress) return ServiceMatch{port, "NodePort", true};
    }
  }
  return std::nullopt;
}

const Json* findService(const ClusterObjects& cluster, const std::string& ns,
                        const std::string& name) {
  for (const Json& service : cluster.services)
    if (api::namespaceOf(service) == ns && api::name(service) == name) return &service;
  return nullptr;
}

// The Service a cluster DNS name names ("web.default.svc.cluster.local").
const Json* serviceOfName(const ClusterObjects& cluster, const std::string& name) {
  size_t svc = name.find(".svc.");
  if (svc == std::string::npos) return nullptr;
  std::string head = name.substr(0, svc);
  size_t dot = head.rfind('.');
  if (dot == std::string::npos) return nullptr;
  std::string serviceName = head.substr(0, dot), ns = head.substr(dot + 1);
  if (size_t inner = serviceName.rfind('.'); inner != std::string::npos)
    serviceName = serviceName.substr(inner + 1);  // a pod's hostname.subdomain form
  return findService(cluster, ns, serviceName);
}

}  // namespace

Json buildReport(const ClusterObjects& cluster, const TracedRequest& request,
                 const std::vector<NodeCapture>& captures) {
  Index index(cluster);
  Json report = {{"request",
                  {{"from", request.clientPod.empty() ? "the host"
                                                      : request.clientNs + "/" + request.clientPod},
                   {"fromIp", request.clientIp},
                   {"node", request.clientNode},
                   {"target", request.target.text},
                   {"protocol", request.target.protocol},
                   {"sourcePort", request.sourcePort}}},
                 {"steps", Json::array()},
                 {"ok", true},
                 {"failedStep", nullptr}};
  auto finish = [&](Json s) {
    bool ok = s.value("ok", true);
    report["steps"].push_back(std::move(s));
    if (!ok) {
      report["ok"] = false;
      report["failedStep"] = report["steps"].back()["step"];
    }
    return !ok;
  };
  const Json& dns = objectAt(request.run, "dns");
  const Json& connection = objectAt(request.run, "connection");

  // 1. Name resolution.
  Json s1 = step(1, "Name resolution");
  std::string address;
  const Json* namedService = nullptr;
  if (dns.value("literal", false) || request.target.host.empty()) {
    address = request.target.host;
    s1["summary"] = address + " is an IP: no DNS";
  } else {
    for (const Json& q : arrayAt(dns, "queries")) {
      std::string answer;
      for (const Json& a : arrayAt(q, "answers"))
        answer += (answer.empty() ? "" : ", ") + a.get<std::string>();
      if (answer.empty()) answer = str(q, "rcode");
      std::string aliases;
      for (const Json& a : q.value("aliases", Json::array()))
        aliases += " (alias for " + a.get<std::string>() + ")";
      line(s1, str(q, "name") + " A? -> " + answer + aliases + "  [" + str(q, "rcode") + ", " +
                   ms(q.value("ms", 0.0)) + "]");
    }
    address = str(dns, "answer");
    if (address.empty()) {
      s1["ok"] = false;
      std::string tried;
      for (const Json& q : arrayAt(dns, "queries"))
        tried += (tried.empty() ? "" : ", ") + str(q, "name");
      s1["summary"] = dns.contains("error") ? str(dns, "error")
                                            : "no such name: " + request.target.host +
                                                  " did not resolve (NXDOMAIN); tried " + tried;
      for (const Json& q : arrayAt(dns, "queries"))
        for (const Json& alias : arrayAt(q, "aliases")) {
          std::string via;
          if (const Json* service = serviceOfName(cluster, str(q, "name")))
            via = " (ExternalName Service " + api::namespaceOf(*service) + "/" +
                  api::name(*service) + ")";
          s1["summary"] = str(q, "name") + " is an alias" + via + " for " +
                          alias.get<std::string>() +
                          ", which has no address the pod's resolver could get";
        }
    } else {
      s1["summary"] = request.target.host + " -> " + address + " (answered for " +
                      str(dns, "answeredName") + " by " + str(dns, "nameserver") + ")";
      namedService = serviceOfName(cluster, str(dns, "answeredName"));
    }
    s1["nameserver"] = str(dns, "nameserver");
    s1["search"] = dns.value("search", Json::array());
    s1["queries"] = arrayAt(dns, "queries");
  }
  s1["address"] = address;
  if (finish(std::move(s1))) return report;

  // 2. The Service.
  Json s2 = step(2, "The Service");
  auto passes = firstPacketPasses(captures, request);
  auto match =
      findServicePort(cluster, index, address, request.target.port, request.target.protocol);
  if (match) {
    const proxy::ServicePort& port = match->port;
    std::string receivingNode = request.clientNode;
    if (receivingNode.empty() && !passes.empty()) receivingNode = passes.front().node;
    bool local = match->external ? port.externalPolicyLocal : port.internalPolicyLocal;
    s2["service"] = port.ns + "/" + port.name;
    s2["kind"] = match->kind;
    s2["port"] = port.port;
    std::string frontend = match->kind == "NodePort"
                               ? "NodePort " + std::to_string(port.nodePort) + " on " + address
                               : match->kind + " " + address + ":" + std::to_string(port.port);
    line(s2, "Service " + port.ns + "/" + port.name + " port " +
                 (port.portName.empty() ? "" : port.portName + " ") + std::to_string(port.port) +
                 "/" + port.protocol + " (" + frontend + ")");
    if (local)
      line(s2, std::string(match->external ? "externalTrafficPolicy" : "internalTrafficPolicy") +
                   ": Local: only endpoints on " + receivingNode + " are used");
    std::set<std::string> sliceNames;
    for (const auto& slice : index.slicesOf(port.ns + "/" + port.name))
      sliceNames.insert(api::name(*slice));
    std::string names;
    for (const auto& n : sliceNames) names += (names.empty() ? "" : ", ") + n;
    line(s2, "EndpointSlices: " + (names.empty() ? std::string("none") : names));
    if (port.endpoints.empty()) {
      std::string selector;
      if (const Json* service = findService(cluster, port.ns, port.name)) {
        const Json& spec = objectAt(*service, "spec");
        for (const auto& [key, value] : objectAt(spec, "selector").items())
          selector += (selector.empty() ? "" : ",") + key + "=" +
                      (value.is_string() ? value.get<std::string>() : value.dump());
      }
      line(s2, selector.empty() ? "no endpoints: the Service has no selector, and nobody wrote "
                                  "its EndpointSlices"
                                : "no endpoints: no running pod in " + port.ns +
                                      " matches the selector " + selector);
    }
    std::vector<proxy::Endpoint> usable = proxy::usableEndpoints(port.endpoints);
    Json endpoints = Json::array();
    size_t eligible = 0;
    for (const auto& e : port.endpoints) {
      bool isUsable = std::find(usable.begin(), usable.end(), e) != usable.end();
      std::string why;
      if (!isUsable)
        why = !e.ready && !e.terminating    ? "not ready"
              : e.terminating && !e.serving ? "terminating, no longer serving"
                                            : "terminating (ready endpoints exist)";
      else if (local && e.nodeName != receivingNode)
        why = "on " + e.nodeName + ", not " + receivingNode + " (traffic policy Local)";
      bool ok = why.empty();
      if (ok) ++eligible;
      std::string state = e.terminating ? "terminating, serving" : e.ready ? "ready" : "not ready";
      line(s2, "  " + e.ip + ":" + std::to_string(e.port) + "  " + index.describe(e.ip) + "  " +
                   (ok ? "eligible (" + state + ")" : "not eligible: " + why));
      endpoints.push_back({{"ip", e.ip},
                           {"port", e.port},
                           {"node", e.nodeName},
                           {"ready", e.ready},
                           {"serving", e.serving},
                           {"terminating", e.terminating},
                           {"eligible", ok},
                           {"reason", why}});
    }
    s2["endpoints"] = endpoints;
    if (eligible == 0) {
      s2["ok"] = false;
      s2["summary"] = "Service " + port.ns + "/" + port.name +
                      " has no ready endpoints: the node " +
                      (usable.empty() ? "rejects the connection at once (connection refused)"
                                      : "drops the connection (no local endpoint)");
      for (const Pass& pass : passes)
        for (const Json* e : pass.events)
          if (str(*e, "verdict") == "drop" || str(*e, "rule").find("reject") != std::string::npos)
            line(s2, "kernel (" + pass.node + "): " + eventText(*e));
    } else {
      s2["summary"] = match->kind + " of Service " + port.ns + "/" + port.name + ": " +
                      std::to_string(eligible) + " of " + std::to_string(port.endpoints.size()) +
                      " endpoints eligible";
    }
  } else {
    const PodInfo* pod = index.podByIp(address);
    const Json* headless = namedService;
    if (headless && str(headless->value("spec", Json::object()), "clusterIP") == "None") {
      s2["service"] = api::namespaceOf(*headless) + "/" + api::name(*headless);
      s2["kind"] = "headless";
      s2["summary"] = "headless Service " + s2["service"].get<std::string>() +
                      ": no virtual IP; the name resolved straight to " + index.describe(address);
    } else if (const Json* aliasService = [&]() -> const Json* {
                 for (const Json& q : arrayAt(dns, "queries"))
                   if (!q.value("aliases", Json::array()).empty())
                     if (const Json* s = serviceOfName(cluster, str(q, "name"))) return s;
                 return nullptr;
               }();
               aliasService &&
               str(aliasService->value("spec", Json::object()), "type") == "ExternalName") {
      s2["service"] = api::namespaceOf(*aliasService) + "/" + api::name(*aliasService);
      s2["kind"] = "ExternalName";
      s2["summary"] = "ExternalName Service " + s2["service"].get<std::string>() +
                      ": a DNS alias for " +
                      str(aliasService->value("spec", Json::object()), "externalName") +
                      "; no proxying, the client connects to " + address;
    } else if (pod) {
      s2["summary"] = address + " is the IP of pod " + pod->key() + " on " + pod->node +
                      ": no Service, straight to the pod";
    } else if (!index.nodeByIp(address).empty()) {
      s2["summary"] = address + " is node " + index.nodeByIp(address) +
                      "'s address, and no Service has port " + std::to_string(request.target.port) +
                      " there";
    } else {
      s2["summary"] = address + " is neither a Service's nor a pod's address";
    }
  }
  if (finish(std::move(s2))) return report;

  // 3. The node's rules.
  Json s3 = step(3, "The node's rules");
  const Json* entry = nullptr;
  std::string natNode = request.clientNode;
  if (!passes.empty()) {
    const Pass& first = passes.front();
    natNode = first.node;
    line(s3, "on " + first.node + " (nftrace of the first packet):");
    for (const Json* e : first.events)
      if (!isPolicyTable(*e) && notable(*e)) line(s3, "  " + eventText(*e));
    entry = conntrackOf(captures, first.node, request);
  } else {
    line(s3, "no trace event: the packet never reached a node's netfilter hooks");
  }
  std::string endpointIp = address;
  int endpointPort = request.target.port;
  if (!entry && !passes.empty()) {
    // No conntrack entry (the packet was dropped before it was confirmed):
    // the DNAT rule the trace shows says where it was going.
    for (const Json* e : passes.front().events) {
      std::string rule = str(*e, "rule");
      size_t at = rule.find("dnat to ");
      if (at == std::string::npos) continue;
      std::string to = rule.substr(at + 8);
      to.resize(std::min(to.size(), to.find(' ')));
      size_t colon = to.rfind(':');
      if (colon == std::string::npos) continue;
      endpointIp = to.substr(0, colon);
      endpointPort = std::atoi(to.c_str() + colon + 1);
      line(s3, "DNAT " + address + ":" + std::to_string(request.target.port) + " -> " + to + " (" +
                   index.describe(endpointIp) + "), by the rule above");
      s3["dnat"] = {{"from", address + ":" + std::to_string(request.target.port)}, {"to", to}};
    }
  }
  if (entry) {
    const Json& original = (*entry)["original"];
    const Json& reply = (*entry)["reply"];
    endpointIp = str(reply, "src");
    endpointPort = reply.value("sport", 0);
    if (endpointIp != str(original, "dst") || endpointPort != original.value("dport", 0)) {
      line(s3, "DNAT " + str(original, "dst") + ":" + std::to_string(original.value("dport", 0)) +
                   " -> " + endpointIp + ":" + std::to_string(endpointPort) + " (" +
                   index.describe(endpointIp) + ")");
      s3["dnat"] = {
          {"from", str(original, "dst") + ":" + std::to_string(original.value("dport", 0))},
          {"to", endpointIp + ":" + std::to_string(endpointPort)}};
    } else {
      line(s3, "no DNAT: the destination stays " + endpointIp + ":" + std::to_string(endpointPort));
    }
    if (str(reply, "dst") != str(original, "src")) {
      line(s3, "masquerade: the source " + str(original, "src") + " becomes " + str(reply, "dst") +
                   " so the answer comes back through " + natNode);
      s3["masquerade"] = str(reply, "dst");
    }
  }
  // The hop: where the packet left the node.
  if (!passes.empty()) {
    std::string oif;
    for (const Json* e : passes.front().events)
      if (e->contains("oif")) oif = str(*e, "oif");
    const PodInfo* endpointPod = index.podByIp(endpointIp);
    std::string endpointNode = endpointPod ? endpointPod->node : index.nodeByIp(endpointIp);
    if (!oif.empty()) {
      std::string hop = "out through " + oif;
      if (!endpointNode.empty() && endpointNode != natNode)
        hop += " to " + endpointNode + " (" + index.nodeIp(endpointNode) + ")" +
               (oif.find("podnet.") == 0 ? " over VXLAN" : " (routed, host-gw)");
      else if (!endpointNode.empty())
        hop += " to a pod on this node";
      line(s3, hop);
      s3["outputInterface"] = oif;
    }
    for (size_t i = 1; i < passes.size(); ++i) {
      line(s3, "on " + passes[i].node + ":");
      for (const Json* e : passes[i].events)
        if (!isPolicyTable(*e) && notable(*e)) line(s3, "  " + eventText(*e));
    }
  }
  for (const Pass& pass : passes)
    for (const Json* e : pass.events)
      if (!isPolicyTable(*e) &&
          (str(*e, "verdict") == "drop" || str(*e, "rule").find("reject") != std::string::npos)) {
        s3["ok"] = false;
        s3["summary"] = "dropped on " + pass.node + " by " + eventText(*e);
      }
  for (const Pass& pass : passes)
    if (pass.retransmits > 0)
      line(s3, "the first packet was sent " + std::to_string(pass.retransmits + 1) + " times on " +
                   pass.node + ": nothing answered it");
  for (const NodeCapture& c : captures)
    if (c.collected.value("lostEvents", false))
      line(s3, "(trace incomplete: the kernel dropped events on " + c.node + ")");
  if (!s3.contains("summary"))
    s3["summary"] =
        s3.contains("dnat") ? "DNAT to " + s3["dnat"]["to"].get<std::string>() : "no translation";
  s3["endpoint"] = endpointIp + ":" + std::to_string(endpointPort);
  if (finish(std::move(s3))) return report;

  // 4. Policy.
  Json s4 = step(4, "NetworkPolicy");
  auto protocol = policy::parseProtocol(request.target.protocol);
  // The source the destination sees: the client, or the masquerade address.
  std::string seenSource = request.clientIp;
  if (entry) seenSource = str((*entry)["reply"], "dst");
  std::optional<core::IpAddress> from = core::IpAddress::parse(seenSource);
  auto to = core::IpAddress::parse(endpointIp);
  bool kernelDropped = false;
  for (const Pass& pass : passes)
    for (const Json* e : pass.events)
      if (isPolicyTable(*e) && notable(*e)) {
        line(s4, "kernel (" + pass.node + "): " + eventText(*e));
        if (str(*e, "verdict") == "drop") kernelDropped = true;
      } else if (isPolicyTable(*e) && str(*e, "type") == "policy") {
        line(s4, "kernel (" + pass.node + "): " + str(*e, "table") + " " + str(*e, "chain") +
                     ": no policy chain for these addresses (chain policy " + str(*e, "verdict") +
                     ")");
      }
  if (from && to && protocol) {
    policy::Endpoint source = policy::endpointForIp(cluster.policies, *from);
    policy::Endpoint destination = policy::endpointForIp(cluster.policies, *to);
    policy::Verdict verdict =
        policy::evaluate(cluster.policies, source, destination, *protocol, uint16_t(endpointPort));
    auto describe = [&](const policy::DirectionVerdict& v, const std::string& who) {
      std::string text = std::string(policy::directionName(v.direction)) + " of " + who + ": " +
                         (v.allowed ? "allowed" : "denied") + ": " + v.reason;
      line(s4, text);
      for (const auto& rule : v.allowedBy)
        if (const policy::Policy* p = cluster.policies.findPolicy(rule.policy))
          line(s4, "  allowed by " + rule.policy + " rule " + std::to_string(rule.rule) + ": " +
                       policy::describeRule(*p, v.direction, rule.rule));
    };
    if (!verdict.exemption.empty()) line(s4, "allowed before any policy: " + verdict.exemption);
    describe(verdict.egress, source.describe());
    describe(verdict.ingress, destination.describe());
    s4["allowed"] = verdict.allowed;
    if (!verdict.allowed) {
      const policy::DirectionVerdict& denied =
          verdict.egress.allowed ? verdict.ingress : verdict.egress;
      std::string policies;
      for (const auto& p : denied.isolatingPolicies) policies += (policies.empty() ? "" : ", ") + p;
      s4["ok"] = false;
      s4["summary"] = std::string("denied: the ") + policy::directionName(denied.direction) +
                      " policies of " +
                      (denied.direction == policy::Direction::egress ? source.describe()
                                                                     : destination.describe()) +
                      " (" + policies + ") allow no rule for it";
      s4["deniedBy"] = denied.isolatingPolicies;
    } else {
      s4["summary"] = "allowed on both ends";
    }
  } else {
    s4["summary"] = "no verdict: the addresses are not IPv4 pods or nodes";
  }
  if (kernelDropped && s4.value("ok", true)) {
    s4["ok"] = false;
    s4["summary"] = "the kernel's policy chains dropped the packet";
  }
  if (finish(std::move(s4))) return report;

  // 5. The answer.
  Json s5 = step(5, "The answer");
  if (connection.value("ok", false)) {
    std::string who = index.describe(endpointIp);
    if (connection.contains("statusLine"))
      s5["summary"] = who + " answered " + str(connection, "statusLine") + " in " +
                      ms(connection.value("ms", 0.0));
    else if (connection.value("noAnswer", false))
      s5["summary"] = "datagram sent to " + who +
                      "; no answer within 1 s (normal for many UDP "
                      "servers)";
    else
      s5["summary"] = "connected to " + who + " in " + ms(connection.value("ms", 0.0));
    if (connection.contains("bodyStart") && !str(connection, "bodyStart").empty())
      line(s5, "body: " + str(connection, "bodyStart"));
    if (entry) {
      const Json& original = (*entry)["original"];
      const Json& reply = (*entry)["reply"];
      if (str(reply, "src") != str(original, "dst"))
        line(s5, "reply: conntrack turns the source " + str(reply, "src") + ":" +
                     std::to_string(reply.value("sport", 0)) + " back into " +
                     str(original, "dst") + ":" + std::to_string(original.value("dport", 0)));
    }
    if (const PodInfo* pod = index.podByIp(endpointIp))
      s5["pod"] = {
          {"namespace", pod->ns}, {"name", pod->name}, {"node", pod->node}, {"ip", pod->ip}};
    if (connection.contains("status")) s5["status"] = connection["status"];
  } else {
    s5["ok"] = false;
    std::string failure = str(connection, "failure");
    std::string last;
    for (const Pass& pass : passes)
      for (const Json* e : pass.events)
        if (notable(*e)) last = pass.node + ": " + eventText(*e);
    s5["summary"] =
        failure == "refused" ? "connection refused by " + index.describe(endpointIp) +
                                   " (nothing listens on port " + std::to_string(endpointPort) + ")"
        : failure == "timeout"
            ? str(connection, "error") + (last.empty() ? "" : "; the last rule crossed: " + last)
            : str(connection, "error");
  }
  s5["ms"] = connection.value("ms", 0.0);
  finish(std::move(s5));
  return report;
}

std::string renderText(const Json& report) {
  const Json& request = report["request"];
  std::string out = "trace " + str(request, "from") +
                    (str(request, "fromIp").empty()
                         ? ""
                         : " (" + str(request, "fromIp") + ", " + str(request, "node") + ")") +
                    " -> " + str(request, "target") + " (" + str(request, "protocol") +
                    ", source port " + std::to_string(request.value("sourcePort", 0)) + ")\n\n";
  for (const Json& s : report["steps"]) {
    out += std::to_string(s.value("step", 0)) + ". " + str(s, "title") + ": " +
           (s.value("ok", true) ? "" : "FAILED: ") + str(s, "summary") + "\n";
    for (const Json& l : arrayAt(s, "lines")) out += "     " + l.get<std::string>() + "\n";
  }
  if (!report.value("ok", true))
    out += "\nthe request failed at step " + std::to_string(report.value("failedStep", 0)) + "\n";
  return out;
}

}  // namespace podnet::trace
