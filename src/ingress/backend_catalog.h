// The Services, EndpointSlices and Secrets one routing compile reads,
// indexed once, and the backend targets resolved from them: one per Service
// port, shared by every Ingress path and HTTPRoute rule that sends to it.
// Part of the routing compiler (pure).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ingress/routes.h"

namespace podnet::ingress {

class BackendCatalog {
 public:
  explicit BackendCatalog(const RouteInputs& inputs);

  struct Resolved {
    std::shared_ptr<const BackendTarget> target;  // always set; `problem` says what is wrong
    std::string reason;  // "" or ServiceNotFound, PortNotFound (an Event reason)
  };
  // Service `ns`/`name`'s TCP port `portNumber` (or, when 0, the port named
  // `portName`), with its ready endpoints from the EndpointSlices.
  Resolved resolve(const std::string& ns, const std::string& name, uint16_t portNumber,
                   const std::string& portName);

  const Json* service(const std::string& ns, const std::string& name) const;

  // A Secret's tls.crt and tls.key (decoded, both non-empty), or why not.
  struct TlsPair {
    std::string certPem, keyPem;
  };
  std::optional<TlsPair> tlsPair(const std::string& ns, const std::string& name,
                                 std::string& why) const;

  const std::map<std::string, const Json*>& services() const { return services_; }

 private:
  void resolveEndpoints(const Json& service, uint16_t portNumber, const std::string& portName,
                        BackendTarget& target, std::string& reason);

  std::map<std::string, const Json*> services_;
  std::map<std::string, std::vector<const Json*>> slicesByService_;
  std::map<std::string, const Json*> secrets_;
  std::map<std::tuple<std::string, std::string, std::string>, Resolved> resolved_;
};

}  // namespace podnet::ingress
