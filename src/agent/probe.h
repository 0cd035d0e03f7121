// Container probes as kubelet runs them: httpGet (2xx/3xx), tcpSocket (the
// connection opens), exec (exit 0), each within timeoutSeconds. httpGet and
// tcpSocket connect from the node to the pod IP, as kubelet does.
#pragma once

#include <string>
#include <vector>

#include "api/object.h"
#include "runtime/container_process.h"

namespace podnet::agent {

struct ProbeTarget {
  std::string podIp;
  runtime::ProcessSpec
      execTemplate;  // namespaces, files and env for exec probes (argv is replaced)
};

// Blocking; at most timeoutSeconds (default 1). `container` resolves named ports.
bool runProbe(const nlohmann::json& probe, const nlohmann::json& container,
              const ProbeTarget& target);

// A named or numeric port of `container`; 0 when unknown.
int resolvePort(const nlohmann::json& port, const nlohmann::json& container);

}  // namespace podnet::agent
