// Informer transforms (InformerOptions::transform) for the components that
// only read what they watch: the service proxy, the pod runtime's service
// links and cluster DNS keep the fields that route traffic and answer
// names, not the whole object. client-go's informers are used the same way
// (kube-proxy drops managedFields; issue 21 measured 37 KB per Service in
// an agent holding whole objects).
//
// Each keeps metadata.name, namespace, uid, resourceVersion, labels and
// deletionTimestamp (informer keys, relist, selectors), and never the
// bookkeeping of writers: managedFields, annotations, ownerReferences,
// creationTimestamp, generation. Only for informers whose objects are never
// written back.
#pragma once

#include "api/object.h"

namespace podnet::client {

using Json = api::Json;

// The metadata every reader needs, nothing else of it.
void keepReaderMetadata(Json& object);

// Service: metadata as above, spec whole (it is what routes), and of the
// status only loadBalancer (the ingress addresses the proxy programs).
void keepServiceRouting(Json& service);

// EndpointSlice: metadata as above, addressType, ports, and per endpoint
// its addresses, conditions, nodeName, hostname and zone/hints (what
// proxies and DNS use), not targetRef or deprecatedTopology.
void keepEndpointSliceRouting(Json& slice);

// Pod, for DNS: metadata as above, spec.hostname, spec.subdomain,
// status.phase, podIP, podIPs and the Ready condition.
void keepPodAddressing(Json& pod);

// Namespace, Node and other objects read for their name and labels only.
void keepMetadataOnly(Json& object);

}  // namespace podnet::client
