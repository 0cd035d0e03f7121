// The cluster the DNS benchmark serves, generated once and written in every
// server's own format, so podnet dns and its peers answer from the same records:
//  - Kubernetes objects (Namespaces, Services, EndpointSlices) as a JSON List,
//    for `podnet dns --objects`;
//  - an RFC 1035 zone file of cluster.local, for knot and nsd;
//  - unbound local-zone/local-data lines;
//  - dnsmasq host-record/srv-host/txt-record lines.
// And the dnsperf query files with the response code each query must get, so a
// run can check that a server answered what the cluster holds.
//
// Records as the Kubernetes DNS specification 1.1.0 and CoreDNS give them: an A
// record per ClusterIP Service, an SRV record per named port (priority 0,
// weight 100, target the Service name), the dns-version TXT record, the SOA
// "ns.dns.cluster.local. hostmaster.cluster.local." with TTL and negative TTL 5.
// PTR records and pod records are not generated: no query mix asks for them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace dnsbench {

inline const std::string kZone = "cluster.local";
inline constexpr int kTtl = 5;
inline constexpr int kEndpointsPerService = 4;

struct NamedPort {
  std::string name;
  int port;
  int targetPort;
};

// Every Service has these two named ports, so two SRV records.
inline const std::vector<NamedPort> kPorts{{"http", 80, 8080}, {"metrics", 9090, 9090}};

inline const std::vector<std::string> kNamespaces{"default", "prod",       "staging",  "dev",
                                                  "batch",   "monitoring", "payments", "search"};

struct Service {
  std::string name;
  std::string ns;
  uint32_t clusterIp;                 // host order
  std::vector<uint32_t> endpointIps;  // host order
  std::string fqdn() const { return name + "." + ns + ".svc." + kZone; }
};

inline std::string ipv4(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

// Services app-0 ... app-(n-1), round-robin over the namespaces. ClusterIPs from
// 10.96.1.0 up (clear of 10.96.0.1, the API, and 10.96.0.10, kube-dns), pod IPs
// from 10.244.0.2 up: both ranges hold 10^6 services.
inline std::vector<Service> generateServices(int count) {
  std::vector<Service> services;
  services.reserve(size_t(count));
  const uint32_t serviceBase = (10u << 24) | (96u << 16) | (1u << 8);
  const uint32_t podBase = (10u << 24) | (244u << 16) | 2u;
  for (int i = 0; i < count; ++i) {
    Service s{"app-" + std::to_string(i),
              kNamespaces[size_t(i) % kNamespaces.size()],
              serviceBase + uint32_t(i),
              {}};
    for (int e = 0; e < kEndpointsPerService; ++e)
      s.endpointIps.push_back(podBase + uint32_t(i * kEndpointsPerService + e));
    services.push_back(std::move(s));
  }
  return services;
}

// `podnet dns --objects FILE`: a v1 List of Namespaces, Services, EndpointSlices.
inline nlohmann::json objectsList(const std::vector<Service>& services) {
  using nlohmann::json;
  json items = json::array();
  for (const auto& ns : kNamespaces)
    items.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  for (const auto& s : services) {
    json ports = json::array(), slicePorts = json::array();
    for (const auto& p : kPorts) {
      ports.push_back(
          {{"name", p.name}, {"port", p.port}, {"targetPort", p.targetPort}, {"protocol", "TCP"}});
      slicePorts.push_back({{"name", p.name}, {"port", p.targetPort}, {"protocol", "TCP"}});
    }
    items.push_back({{"apiVersion", "v1"},
                     {"kind", "Service"},
                     {"metadata", {{"name", s.name}, {"namespace", s.ns}}},
                     {"spec",
                      {{"type", "ClusterIP"},
                       {"clusterIP", ipv4(s.clusterIp)},
                       {"selector", {{"app", s.name}}},
                       {"ports", ports}}}});
    json endpoints = json::array();
    for (size_t e = 0; e < s.endpointIps.size(); ++e)
      endpoints.push_back(
          {{"addresses", {ipv4(s.endpointIps[e])}}, {"conditions", {{"ready", true}}}});
    items.push_back({{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata",
                      {{"name", s.name + "-x1"},
                       {"namespace", s.ns},
                       {"labels", {{"kubernetes.io/service-name", s.name}}}}},
                     {"addressType", "IPv4"},
                     {"endpoints", endpoints},
                     {"ports", slicePorts}});
  }
  return {{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}};
}

// The same objects as multi-document YAML, one JSON (flow-style YAML) document
// per object: `podnet dns --objects` reads a JSON file of at most 3 MiB (the API
// body limit) but YAML of up to 12 MiB, and the 10k-Service cluster with its
// EndpointSlices is about 8.5 MB.
inline std::string objectsYamlDocuments(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list["items"]) out += "---\n" + item.dump() + "\n";
  return out;
}

// One resource record, in the generator's neutral form; each writer below
// renders it in its server's syntax.
struct Record {
  std::string owner;  // absolute, without the trailing dot
  std::string type;   // SOA NS A SRV TXT
  std::string data;   // zone-file RDATA, names absolute with trailing dot
};

inline std::string soaData() {
  return "ns.dns." + kZone + ". hostmaster." + kZone + ". 1 7200 1800 86400 " +
         std::to_string(kTtl);
}

inline std::string srvOwner(const Service& s, const NamedPort& p) {
  return "_" + p.name + "._tcp." + s.fqdn();
}

inline std::vector<Record> zoneRecords(const std::vector<Service>& services) {
  std::vector<Record> records{{kZone, "SOA", soaData()},
                              {kZone, "NS", "ns.dns." + kZone + "."},
                              {"ns.dns." + kZone, "A", "10.96.0.10"},
                              {"dns-version." + kZone, "TXT", "\"1.1.0\""}};
  for (const auto& s : services) {
    records.push_back({s.fqdn(), "A", ipv4(s.clusterIp)});
    for (const auto& p : kPorts)
      records.push_back(
          {srvOwner(s, p), "SRV", "0 100 " + std::to_string(p.port) + " " + s.fqdn() + "."});
  }
  return records;
}

// knot and nsd: a master file with absolute names.
inline std::string rfc1035Zone(const std::vector<Record>& records) {
  std::string out = "$ORIGIN " + kZone + ".\n$TTL " + std::to_string(kTtl) + "\n";
  for (const auto& r : records)
    out += r.owner + ". " + std::to_string(kTtl) + " IN " + r.type + " " + r.data + "\n";
  return out;
}

// unbound: a static local zone answers NXDOMAIN/NODATA with the SOA for anything
// not listed, as an authoritative server does.
inline std::string unboundLocalData(const std::vector<Record>& records) {
  std::string out = "  local-zone: \"" + kZone + ".\" static\n";
  for (const auto& r : records) {
    std::string data = r.data;
    if (r.type == "TXT") data = "'1.1.0'";  // quotes inside the quoted local-data string
    out += "  local-data: \"" + r.owner + ". " + std::to_string(kTtl) + " IN " + r.type + " " +
           data + "\"\n";
  }
  return out;
}

// dnsmasq: A records in an --addn-hosts file (dnsmasq hashes those), SRV as
// srv-host lines; `local=/cluster.local/` (in the peer config) makes every other
// name of the zone NXDOMAIN instead of forwarded.
inline std::string dnsmasqHosts(const std::vector<Service>& services) {
  std::string out = "10.96.0.10 ns.dns." + kZone + "\n";
  for (const auto& s : services) out += ipv4(s.clusterIp) + " " + s.fqdn() + "\n";
  return out;
}

inline std::string dnsmasqRecords(const std::vector<Service>& services) {
  std::string out = "txt-record=dns-version." + kZone + ",\"1.1.0\"\n";
  for (const auto& s : services) {
    for (const auto& p : kPorts)
      out +=
          "srv-host=" + srvOwner(s, p) + "," + s.fqdn() + "," + std::to_string(p.port) + ",0,100\n";
  }
  return out;
}

// ---- Query mixes ------------------------------------------------------------

struct Query {
  std::string name;  // absolute, without the trailing dot
  std::string type;  // A AAAA SRV
  bool exists;       // the name exists in the zone (NOERROR, maybe NODATA) or not (NXDOMAIN)
};

struct QueryMix {
  std::string label;
  std::string description;
  std::vector<Query> queries;
  double noerrorFraction() const {
    if (queries.empty()) return 0;
    size_t n = 0;
    for (const auto& q : queries) n += q.exists;
    return double(n) / double(queries.size());
  }
  // dnsperf reads the file in order and starts over at its end: the share of
  // NOERROR answers the first `sent` queries of a run must get.
  double noerrorFractionOfFirst(size_t sent) const {
    if (queries.empty() || sent == 0) return 0;
    size_t passes = sent / queries.size(), rest = sent % queries.size(), n = 0;
    for (size_t i = 0; i < rest; ++i) n += queries[i].exists;
    double existing = double(passes) * noerrorFraction() * double(queries.size()) + double(n);
    return existing / double(sent);
  }
  std::string dnsperfInput() const {
    std::string out;
    for (const auto& q : queries) out += q.name + " " + q.type + "\n";
    return out;
  }
};

// (1) A queries for random existing Services by their full name.
inline QueryMix fqdnMix(const std::vector<Service>& services, size_t count, uint32_t seed) {
  QueryMix mix{"a_fqdn", "A <svc>.<ns>.svc.cluster.local for random existing Services", {}};
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> pick(0, services.size() - 1);
  for (size_t i = 0; i < count; ++i)
    mix.queries.push_back({services[pick(random)].fqdn(), "A", true});
  return mix;
}

// The search list kubelet writes into a pod's resolv.conf, with ndots:5.
inline std::vector<std::string> searchList(const std::string& ns) {
  return {ns + ".svc." + kZone, "svc." + kZone, kZone};
}

// What glibc's resolver sends for getaddrinfo(name) with ndots:5 and the pod's
// search list: a name with fewer than 5 dots is tried with each search suffix in
// turn, A and AAAA in parallel, until one is not NXDOMAIN; then the name itself.
// `inZone` says which candidate names exist. The final query for the name as
// given is left out when it is outside the cluster zone (a real server would
// forward it; this benchmark forwards nothing).
template <typename Exists>
std::vector<Query> resolverQueries(const std::string& name, const std::string& ns,
                                   const Exists& inZone) {
  std::vector<Query> out;
  auto tryName = [&](const std::string& candidate) {
    bool exists = inZone(candidate);
    out.push_back({candidate, "A", exists});
    out.push_back({candidate, "AAAA", exists});
    return exists;
  };
  size_t dots = size_t(std::count(name.begin(), name.end(), '.'));
  if (dots < 5)
    for (const auto& suffix : searchList(ns))
      if (tryName(name + "." + suffix)) return out;
  const std::string zoneSuffix = "." + kZone;
  bool inClusterZone =
      name.size() > zoneSuffix.size() &&
      name.compare(name.size() - zoneSuffix.size(), zoneSuffix.size(), zoneSuffix) == 0;
  if (inClusterZone) tryName(name);
  return out;
}

// External names pods typically look up.
inline const std::vector<std::string> kExternalNames{"example.com",
                                                     "api.github.com",
                                                     "registry-1.docker.io",
                                                     "s3.amazonaws.com",
                                                     "www.googleapis.com",
                                                     "sts.amazonaws.com",
                                                     "pypi.org",
                                                     "login.microsoftonline.com",
                                                     "hooks.slack.com",
                                                     "api.stripe.com",
                                                     "sentry.io",
                                                     "oauth2.googleapis.com"};

// (2) The query stream that pods with ndots:5 produce: lookups by a client in a
// random namespace of, per 100 lookups, 50 short names of a Service in the same
// namespace (`curl http://app-7`), 10 `<svc>.<ns>` names of another namespace,
// 10 full Service names without the trailing dot (4 dots, so they still walk the
// search list first), 30 external names (3 NXDOMAIN suffixes, A and AAAA each).
inline QueryMix searchPathMix(const std::vector<Service>& services, size_t minQueries,
                              uint32_t seed) {
  QueryMix mix{"search_path",
               "ndots:5 resolver traffic: 50% same-namespace short names, 10% <svc>.<ns>, "
               "10% full names without trailing dot, 30% external names (their 3 search-path "
               "NXDOMAINs; the final out-of-zone query is left out); A+AAAA for each",
               {}};
  std::set<std::string> names;
  for (const auto& s : services) names.insert(s.fqdn());
  auto inZone = [&](const std::string& n) { return names.count(n) > 0; };
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> pickService(0, services.size() - 1);
  std::uniform_int_distribution<size_t> pickExternal(0, kExternalNames.size() - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  while (mix.queries.size() < minQueries) {
    const Service& target = services[pickService(random)];
    int kind = percent(random);
    std::string clientNs = target.ns, name;
    if (kind < 50) {
      name = target.name;
    } else if (kind < 60) {
      name = target.name + "." + target.ns;
      clientNs = kNamespaces[(std::find(kNamespaces.begin(), kNamespaces.end(), target.ns) -
                              kNamespaces.begin() + 1) %
                             kNamespaces.size()];
    } else if (kind < 70) {
      name = target.fqdn();
    } else {
      name = kExternalNames[pickExternal(random)];
    }
    for (auto& q : resolverQueries(name, clientNs, inZone)) mix.queries.push_back(std::move(q));
  }
  return mix;
}

// Self-check of the generator, run at bench start: the counts add up, names are
// unique, every query that must exist is in the zone, the rest are not.
inline std::string selfCheck(const std::vector<Service>& services,
                             const std::vector<Record>& records,
                             const std::vector<QueryMix>& mixes) {
  std::set<std::string> owners, ips;
  for (const auto& r : records) owners.insert(r.owner);
  for (const auto& s : services) ips.insert(ipv4(s.clusterIp));
  size_t expectedRecords = 4 + services.size() * (1 + kPorts.size());
  if (records.size() != expectedRecords)
    return "zone has " + std::to_string(records.size()) + " records, expected " +
           std::to_string(expectedRecords);
  if (owners.size() != records.size() - 1)  // the apex owns SOA and NS
    return "duplicate owner names in the zone";
  if (ips.size() != services.size()) return "duplicate ClusterIPs";
  for (const auto& mix : mixes) {
    if (mix.queries.empty()) return mix.label + ": no queries";
    for (const auto& q : mix.queries)
      if (q.exists != (owners.count(q.name) > 0))
        return mix.label + ": " + q.name + " marked " + (q.exists ? "existing" : "missing") +
               " but the zone says otherwise";
  }
  // The resolver walk for a short name in its own namespace is exactly A+AAAA of
  // the full name; for an external name, 3 misses of A+AAAA.
  auto inZone = [&](const std::string& n) { return owners.count(n) > 0; };
  auto walk = resolverQueries(services[0].name, services[0].ns, inZone);
  if (walk.size() != 2 || walk[0].name != services[0].fqdn() || !walk[0].exists)
    return "search-path walk of a short name is wrong";
  walk = resolverQueries("example.com", "default", inZone);
  if (walk.size() != 6 || walk[0].name != "example.com.default.svc." + kZone || walk[0].exists ||
      walk[4].name != "example.com." + kZone)
    return "search-path walk of an external name is wrong";
  return "";
}

}  // namespace dnsbench
