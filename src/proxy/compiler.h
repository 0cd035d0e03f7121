// The pure compiler: Services (as ServicePorts) -> their part of the nftables
// program, one IP family at a time. No I/O; unit-tested without root.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/program.h"
#include "proxy/service_port.h"

namespace podnet::proxy {

struct CompilerConfig {
  Family family = Family::v4;
  std::string nodeName;  // endpoints on this node are "local"
  // The pod ranges of this family. Traffic to a ClusterIP from anywhere else
  // (a node, the host) is masqueraded so replies come back through this node.
  std::vector<std::string> clusterCidrs;
};

bool isFamily(const std::string& ip, Family family);
// The addresses or CIDRs of `family` among `ips`.
std::vector<std::string> ofFamily(const std::vector<std::string>& ips, Family family);
// FNV-1a, 64 bits: stable across runs and builds (chain names, elections).
uint64_t fnv1a64(std::string_view text);

// Endpoints traffic may go to: the ready ones or, when none is ready, those
// still serving while they terminate (ProxyTerminatingEndpoints).
std::vector<Endpoint> usableEndpoints(const std::vector<Endpoint>& endpoints);

// The chains, affinity sets and map/set entries of one Service (all its
// ports). A port with no ClusterIP of `config.family` adds nothing.
ServiceProgram compileService(const CompilerConfig& config, const std::vector<ServicePort>& ports);

// Chain and set names, as kube-proxy forms them: a prefix, 8 characters of
// hash (so a long name stays unique when cut) and the readable id.
std::string chainName(std::string_view prefix, const std::string& id);

}  // namespace podnet::proxy
