// networking.k8s.io/v1 (NetworkPolicy, Ingress, IngressClass) and
// discovery.k8s.io/v1 (EndpointSlice) types, from k8s.io/api types.go and
// generated.proto (v1.32).
#include "api/schema_tables.h"

namespace podnet::api::schema::detail {

// The tables keep one field per line, as the upstream types list them.
// clang-format off

namespace {

#define NET_MESSAGE(member, name) Message member{"io.k8s.api.networking.v1." name, {}}
#define DISCOVERY_MESSAGE(member, name) Message member{"io.k8s.api.discovery.v1." name, {}}

struct NetworkingTypes {
  NET_MESSAGE(networkPolicy, "NetworkPolicy");
  NET_MESSAGE(networkPolicySpec, "NetworkPolicySpec");
  NET_MESSAGE(ingressRule, "NetworkPolicyIngressRule");
  NET_MESSAGE(egressRule, "NetworkPolicyEgressRule");
  NET_MESSAGE(networkPolicyPort, "NetworkPolicyPort");
  NET_MESSAGE(networkPolicyPeer, "NetworkPolicyPeer");
  NET_MESSAGE(ipBlock, "IPBlock");
  NET_MESSAGE(ingress, "Ingress");
  NET_MESSAGE(ingressSpec, "IngressSpec");
  NET_MESSAGE(ingressBackend, "IngressBackend");
  NET_MESSAGE(ingressServiceBackend, "IngressServiceBackend");
  NET_MESSAGE(serviceBackendPort, "ServiceBackendPort");
  NET_MESSAGE(ingressTLS, "IngressTLS");
  NET_MESSAGE(ingressRuleSpec, "IngressRule");
  NET_MESSAGE(ingressRuleValue, "IngressRuleValue");
  NET_MESSAGE(httpIngressRuleValue, "HTTPIngressRuleValue");
  NET_MESSAGE(httpIngressPath, "HTTPIngressPath");
  NET_MESSAGE(ingressStatus, "IngressStatus");
  NET_MESSAGE(ingressLoadBalancerStatus, "IngressLoadBalancerStatus");
  NET_MESSAGE(ingressLoadBalancerIngress, "IngressLoadBalancerIngress");
  NET_MESSAGE(ingressPortStatus, "IngressPortStatus");
  NET_MESSAGE(ingressClass, "IngressClass");
  NET_MESSAGE(ingressClassSpec, "IngressClassSpec");
  NET_MESSAGE(ingressClassParameters, "IngressClassParametersReference");
  DISCOVERY_MESSAGE(endpointSlice, "EndpointSlice");
  DISCOVERY_MESSAGE(endpoint, "Endpoint");
  DISCOVERY_MESSAGE(endpointConditions, "EndpointConditions");
  DISCOVERY_MESSAGE(endpointHints, "EndpointHints");
  DISCOVERY_MESSAGE(forZone, "ForZone");
  DISCOVERY_MESSAGE(endpointPort, "EndpointPort");
  NetworkingTypes();
};

#undef NET_MESSAGE
#undef DISCOVERY_MESSAGE

NetworkingTypes::NetworkingTypes() {
  const MetaTypes& m = meta();
  const CoreShared& core = coreShared();

  networkPolicy.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, networkPolicySpec),
  };
  networkPolicySpec.fields = {
      F("podSelector", 1, m.labelSelector),
      F("ingress", 2, ingressRule).list().atomic(),
      F("egress", 3, egressRule).list().atomic(),
      F("policyTypes", 4).list().atomic(),
  };
  ingressRule.fields = {
      F("ports", 1, networkPolicyPort).list().atomic(),
      F("from", 2, networkPolicyPeer).list().atomic(),
  };
  egressRule.fields = {
      F("ports", 1, networkPolicyPort).list().atomic(),
      F("to", 2, networkPolicyPeer).list().atomic(),
  };
  networkPolicyPort.fields = {
      F("protocol", 1),
      F("port", 2, Type::IntOrString),
      F("endPort", 3, Type::Int32),
  };
  networkPolicyPeer.fields = {
      F("podSelector", 1, m.labelSelector),
      F("namespaceSelector", 2, m.labelSelector),
      F("ipBlock", 3, ipBlock),
  };
  ipBlock.fields = {F("cidr", 1), F("except", 2).list().atomic()};

  ingress.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, ingressSpec),
      F("status", 3, ingressStatus),
  };
  ingressSpec.fields = {
      F("ingressClassName", 4),
      F("defaultBackend", 1, ingressBackend),
      F("tls", 2, ingressTLS).list().atomic(),
      F("rules", 3, ingressRuleSpec).list().atomic(),
  };
  ingressBackend.fields = {
      F("service", 4, ingressServiceBackend),
      F("resource", 3, *core.typedLocalObjectReference),
  };
  ingressServiceBackend.fields = {F("name", 1), F("port", 2, serviceBackendPort)};
  serviceBackendPort.fields = {F("name", 1), F("number", 2, Type::Int32)};
  ingressTLS.fields = {F("hosts", 1).list().atomic(), F("secretName", 2)};
  ingressRuleSpec.fields = {F("host", 1), inlined(2, ingressRuleValue)};
  ingressRuleValue.fields = {F("http", 1, httpIngressRuleValue)};
  httpIngressRuleValue.fields = {F("paths", 1, httpIngressPath).list().atomic()};
  httpIngressPath.fields = {
      F("path", 1),
      F("pathType", 3),
      F("backend", 2, ingressBackend),
  };
  ingressStatus.fields = {F("loadBalancer", 1, ingressLoadBalancerStatus)};
  ingressLoadBalancerStatus.fields = {
      F("ingress", 1, ingressLoadBalancerIngress).list().atomic(),
  };
  ingressLoadBalancerIngress.fields = {
      F("ip", 1),
      F("hostname", 2),
      F("ports", 4, ingressPortStatus).list().atomic(),
  };
  ingressPortStatus.fields = {F("port", 1, Type::Int32), F("protocol", 2), F("error", 3)};

  ingressClass.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("spec", 2, ingressClassSpec),
  };
  ingressClassSpec.fields = {
      F("controller", 1),
      F("parameters", 2, ingressClassParameters),
  };
  ingressClassParameters.fields = {
      F("apiGroup", 1),
      F("kind", 2),
      F("name", 3),
      F("scope", 4),
      F("namespace", 5),
  };

  endpointSlice.fields = {
      typeMetaKind(),
      typeMetaApiVersion(),
      F("metadata", 1, m.objectMeta),
      F("addressType", 4),
      F("endpoints", 2, endpoint).list().atomic(),
      F("ports", 3, endpointPort).list().atomic(),
  };
  endpoint.fields = {
      F("addresses", 1).list().set(),
      F("conditions", 2, endpointConditions),
      F("hostname", 3),
      F("targetRef", 4, *core.objectReference),
      F("deprecatedTopology", 5).map(),
      F("nodeName", 6),
      F("zone", 7),
      F("hints", 8, endpointHints),
  };
  endpointConditions.fields = {
      F("ready", 1, Type::Bool),
      F("serving", 2, Type::Bool),
      F("terminating", 3, Type::Bool),
  };
  endpointHints.fields = {F("forZones", 1, forZone).list().atomic()};
  forZone.fields = {F("name", 1)};
  endpointPort.fields = {
      F("name", 1),
      F("protocol", 2),
      F("port", 3, Type::Int32),
      F("appProtocol", 4),
  };
}

const NetworkingTypes& networking() {
  static const NetworkingTypes types;  // thread-safe lazy initialisation (C++11 statics)
  return types;
}

}  // namespace

void networkingKinds(std::vector<KindSchema>& out) {
  const NetworkingTypes& n = networking();
  out.push_back({"discovery.k8s.io", "v1", "EndpointSlice", &n.endpointSlice, true});
  out.push_back({"networking.k8s.io", "v1", "NetworkPolicy", &n.networkPolicy, true});
  out.push_back({"networking.k8s.io", "v1", "Ingress", &n.ingress, true});
  out.push_back({"networking.k8s.io", "v1", "IngressClass", &n.ingressClass, true});
}

// clang-format on

}  // namespace podnet::api::schema::detail
