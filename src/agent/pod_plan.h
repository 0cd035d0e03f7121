// What a pod's spec means on a node, as pure functions: the program each
// container runs (the image mapping), its environment, and the pod's
// resolv.conf and hosts files as kubelet writes them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/object.h"
#include "core/result.h"

namespace podnet::agent {

using Json = nlohmann::json;

// The image's name without registry, tag or digest: "docker.io/library/nginx:1.25" -> "nginx",
// "curlimages/curl:8.5.0" -> "curlimages/curl".
std::string imageName(const std::string& image);

// The argv a container runs (see src/agent/README.md, "Images"):
// - `command` given: command + args, run from the host;
// - curlimages/curl: curl + args; busybox: args (or sh), run from the host;
// - any other image: `selfBinary testserver --tcp P... --udp P...` on its
//   declared containerPorts (8080 when it declares none).
// `reportedName`: the name the test server answers /hostname with when it
// is not the pod's (a hostNetwork pod answers with its node's, as agnhost).
std::vector<std::string> containerArgv(const Json& container, const std::string& selfBinary,
                                       const std::string& reportedName = "");

struct PodFacts {
  std::string name;
  std::string ns;
  std::string podIp;
  std::string nodeName;
  std::string hostIp;
  std::string serviceAccount;
  std::vector<std::string> serviceLinks;  // serviceLinkEnvironment's
};

// kubelet's service environment variables (pkg/kubelet/envvars) of `services`:
// for each one with a cluster IP, NAME_SERVICE_HOST, NAME_SERVICE_PORT[_PORTNAME]
// and the Docker link variables NAME_PORT, NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR].
// kubelet passes the pod namespace's Services (unless enableServiceLinks is
// false) and always default/kubernetes (KUBERNETES_SERVICE_HOST, ...).
std::vector<std::string> serviceLinkEnvironment(const std::vector<Json>& services);

// KEY=VALUE: PATH, HOSTNAME, the service links, the container's env (value,
// and valueFrom fieldRef metadata.name/namespace/uid, spec.nodeName,
// status.podIP/hostIP), and POD_NAME/POD_NAMESPACE/POD_IP for the test server
// unless the pod sets them.
std::vector<std::string> containerEnvironment(const Json& pod, const Json& container,
                                              const PodFacts& facts);

// A ConfigMap or Secret ("ConfigMap", "Secret") of the pod's namespace; a
// 404 error when it does not exist.
using ObjectLookup =
    std::function<core::Result<Json>(const std::string& kind, const std::string& name)>;

// The same, with what comes from ConfigMaps and Secrets, as kubelet makes
// it: envFrom (configMapRef, secretRef, with prefix; keys that are not
// valid variable names skipped) before env, whose valueFrom configMapKeyRef
// and secretKeyRef read one key. A missing object or key that is not
// optional is kubelet's CreateContainerConfigError message
// (`secret "db" not found`, `couldn't find key password in Secret ns/db`).
core::Result<std::vector<std::string>> containerEnvironment(const Json& pod, const Json& container,
                                                            const PodFacts& facts,
                                                            const ObjectLookup& lookup);

// kubelet's ClusterFirst resolv.conf: search <ns>.svc.<zone> svc.<zone> <zone>,
// the cluster DNS server, options ndots:5. dnsPolicy Default: the host's file.
// dnsConfig nameservers/searches/options are appended as kubelet does.
std::string resolvConf(const Json& pod, const std::string& clusterDns,
                       const std::string& clusterDomain, const std::string& hostResolvConf);

// kubelet's managed /etc/hosts: localhost entries, then "<podIP>\t<hostname>"
// (with the FQDN first when hostname+subdomain are set), then hostAliases.
std::string hostsFile(const Json& pod, const std::string& podIp, const std::string& clusterDomain);

// The hostname the pod sees: spec.hostname or metadata.name, at most 63 chars.
std::string podHostname(const Json& pod);

}  // namespace podnet::agent
