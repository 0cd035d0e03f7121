#include "proxy/compiler.h"

#include <cstdint>

namespace podnet::proxy {

namespace {}  // namespace

std::vector<Endpoint> usableEndpoints(const std::vector<Endpoint>& endpoints) {
  std::vector<Endpoint> ready;
  for (const auto& e : endpoints)
    if (e.ready) ready.push_back(e);
  if (!ready.empty()) return ready;
  std::vector<Endpoint> terminating;
  for (const auto& e : endpoints)
    if (e.serving && e.terminating) terminating.push_back(e);
  return terminating;
}

namespace {

std::vector<Endpoint> onNode(const std::vector<Endpoint>& endpoints, const std::string& node) {
  std::vector<Endpoint> out;
  for (const auto& e : endpoints)
    if (e.nodeName == node) out.push_back(e);
  return out;
}

std::string endpointId(const std::string& portId, const Endpoint& e) {
  return portId + "__" + e.ip + "/" + std::to_string(e.port);
}

Rule gotoRule(std::string chain, std::vector<Condition> conditions = {}) {
  Rule r;
  r.conditions = std::move(conditions);
  r.action = Action::gotoChain;
  r.target = std::move(chain);
  return r;
}

Rule actionRule(Action action, std::vector<Condition> conditions = {}) {
  Rule r;
  r.conditions = std::move(conditions);
  r.action = action;
  return r;
}

// Appends to `chain` the rules that send a connection to one of `endpoints`.
// With session affinity each endpoint gets a chain that remembers the
// client, and known clients go straight back to their endpoint.
void appendDispatch(Chain& chain, ServiceProgram& program, const ServicePort& port,
                    const std::vector<Endpoint>& endpoints) {
  if (endpoints.empty()) return;
  if (port.affinityTimeoutSeconds == 0) {
    Rule dnat;
    dnat.action = Action::dnat;
    dnat.protocol = port.protocol;
    for (const auto& e : endpoints) dnat.targets.push_back({e.ip, e.port});
    chain.push_back(std::move(dnat));
    return;
  }
  std::string id = port.id();
  std::vector<std::string> endpointChains;
  for (const auto& e : endpoints) {
    std::string epId = endpointId(id, e);
    std::string epChain = chainName("endpoint-", epId);
    // The timeout is part of the set's name: a changed timeout makes a new set.
    std::string setName =
        chainName("affinity-", epId + "/" + std::to_string(port.affinityTimeoutSeconds));
    endpointChains.push_back(epChain);
    program.affinitySets[setName] = AffinitySet{port.affinityTimeoutSeconds};
    Chain& ep = program.chains[epChain];
    if (ep.empty()) {
      Rule update;
      update.action = Action::updateAffinity;
      update.target = setName;
      ep.push_back(std::move(update));
      Rule dnat;
      dnat.action = Action::dnat;
      dnat.protocol = port.protocol;
      dnat.targets.push_back({e.ip, e.port});
      ep.push_back(std::move(dnat));
    }
    chain.push_back(gotoRule(epChain, {{Match::inAffinity, {setName}}}));
  }
  Rule pick;
  pick.action = Action::randomGoto;
  pick.chains = std::move(endpointChains);
  chain.push_back(std::move(pick));
}

void compilePort(const CompilerConfig& config, const ServicePort& port, ServiceProgram& program) {
  std::vector<std::string> clusterIps = ofFamily(port.clusterIps, config.family);
  if (clusterIps.empty()) return;
  std::vector<Endpoint> all;
  for (const auto& e : port.endpoints)
    if (isFamily(e.ip, config.family)) all.push_back(e);

  const std::string id = port.id();
  const std::string proto = port.protocol;
  const std::string portText = std::to_string(port.port);
  std::vector<Endpoint> anywhere = usableEndpoints(all);
  std::vector<Endpoint> local = usableEndpoints(onNode(all, config.nodeName));
  std::vector<Endpoint> clusterEndpoints = port.internalPolicyLocal ? local : anywhere;
  const std::string rejectVerdict = std::string("goto ") + kRejectChain;

  // The Cluster chain: ClusterIP traffic, and external traffic under the
  // Cluster policy.
  std::string serviceChain = chainName("service-", id);
  Chain& cluster = program.chains[serviceChain];
  for (const auto& ip : clusterIps) {
    std::vector<Condition> offCluster = {{Match::daddrIs, {ip}}};
    if (!config.clusterCidrs.empty())
      offCluster.push_back({Match::saddrNotIn, config.clusterCidrs});
    cluster.push_back(actionRule(Action::markMasquerade, std::move(offCluster)));
    std::string key = ip + " . " + proto + " . " + portText;
    program.maps[kServiceIps][key] = "goto " + serviceChain;
    if (anywhere.empty())
      program.maps[kNoEndpointServices][key] = rejectVerdict;
    else if (clusterEndpoints.empty())
      program.maps[kNoEndpointServices][key] = "drop";  // internalTrafficPolicy Local
  }
  appendDispatch(cluster, program, port, clusterEndpoints);

  std::vector<std::string> externalIps = ofFamily(port.externalIps, config.family);
  std::vector<std::string> lbIps = ofFamily(port.loadBalancerIps, config.family);
  if (port.nodePort || !externalIps.empty() || !lbIps.empty()) {
    std::string externalChain = chainName("external-", id);
    Chain& external = program.chains[externalChain];
    if (!port.externalPolicyLocal) {
      // The endpoint may be on another node: masquerade so the reply comes
      // back through this one.
      external.push_back(actionRule(Action::markMasquerade));
      external.push_back(gotoRule(serviceChain));
    } else {
      // Local: the client's address is kept, so only endpoints here can
      // answer. Pods and the node itself still reach every endpoint.
      std::string localChain = chainName("local-", id);
      if (!config.clusterCidrs.empty())
        external.push_back(gotoRule(serviceChain, {{Match::saddrIn, config.clusterCidrs}}));
      external.push_back(actionRule(Action::markMasquerade, {{Match::saddrLocal, {}}}));
      external.push_back(gotoRule(serviceChain, {{Match::saddrLocal, {}}}));
      external.push_back(gotoRule(localChain));
      Chain& localRules = program.chains[localChain];
      if (local.empty())
        localRules.push_back(actionRule(Action::drop));
      else
        appendDispatch(localRules, program, port, local);
    }
    for (const auto& ip : externalIps) {
      std::string key = ip + " . " + proto + " . " + portText;
      program.maps[kServiceIps][key] = "goto " + externalChain;
      if (anywhere.empty()) program.maps[kNoEndpointServices][key] = rejectVerdict;
    }
    std::string lbTarget = externalChain;
    std::vector<std::string> ranges = ofFamily(port.loadBalancerSourceRanges, config.family);
    if (!lbIps.empty() && !port.loadBalancerSourceRanges.empty()) {
      lbTarget = chainName("firewall-", id);
      Chain& firewall = program.chains[lbTarget];
      if (!ranges.empty()) firewall.push_back(gotoRule(externalChain, {{Match::saddrIn, ranges}}));
      firewall.push_back(actionRule(Action::drop));
    }
    for (const auto& ip : lbIps) {
      std::string key = ip + " . " + proto + " . " + portText;
      program.maps[kServiceIps][key] = "goto " + lbTarget;
      if (anywhere.empty()) program.maps[kNoEndpointServices][key] = rejectVerdict;
    }
    if (port.nodePort) {
      std::string key = proto + " . " + std::to_string(port.nodePort);
      program.maps[kServiceNodePorts][key] = "goto " + externalChain;
      if (anywhere.empty()) program.maps[kNoEndpointNodePorts][key] = rejectVerdict;
    }
  }

  // An endpoint reaching itself through the Service must be masqueraded, or
  // it would answer itself from its own address and drop the reply.
  for (const auto& e : all) program.sets[kHairpin].insert(e.ip + " . " + e.ip);
}

}  // namespace

std::vector<std::string> ofFamily(const std::vector<std::string>& ips, Family family) {
  std::vector<std::string> out;
  for (const auto& ip : ips)
    if (isFamily(ip, family)) out.push_back(ip);
  return out;
}

uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

bool isFamily(const std::string& ip, Family family) {
  bool v6 = ip.find(':') != std::string::npos;
  return v6 == (family == Family::v6);
}

std::string chainName(std::string_view prefix, const std::string& id) {
  // FNV-1a 64, printed as base32.
  uint64_t hash = fnv1a64(id);
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out(prefix);
  for (int i = 0; i < 8; ++i) out += kAlphabet[(hash >> (i * 5)) & 31];
  out += '-';
  // nft identifiers allow letters, digits and "/\_." ; keep the id readable
  // and map anything else (IPv6 colons) to '.'.
  for (char c : id) {
    bool plain =
        std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '.' || c == '-';
    out += plain ? c : '.';
  }
  // NFT_CHAIN_MAXNAMELEN is 256 with the terminating NUL.
  if (out.size() > 255) out.resize(255);
  return out;
}

ServiceProgram compileService(const CompilerConfig& config, const std::vector<ServicePort>& ports) {
  ServiceProgram program;
  for (const auto& port : ports) compilePort(config, port, program);
  return program;
}

}  // namespace podnet::proxy
