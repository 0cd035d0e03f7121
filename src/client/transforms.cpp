#include "client/transforms.h"

#include <initializer_list>
#include <string_view>

namespace podnet::client {

namespace {

// Erases every member of `object` not named in `keep`.
void keepOnly(Json& object, std::initializer_list<std::string_view> keep) {
  if (!object.is_object()) return;
  for (auto it = object.begin(); it != object.end();) {
    bool wanted = false;
    for (std::string_view name : keep) wanted = wanted || it.key() == name;
    it = wanted ? std::next(it) : object.erase(it);
  }
}

}  // namespace

void keepReaderMetadata(Json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end()) return;
  keepOnly(*metadata,
           {"name", "namespace", "uid", "resourceVersion", "labels", "deletionTimestamp"});
}

void keepMetadataOnly(Json& object) {
  keepOnly(object, {"apiVersion", "kind", "metadata"});
  keepReaderMetadata(object);
}

void keepServiceRouting(Json& service) {
  keepOnly(service, {"apiVersion", "kind", "metadata", "spec", "status"});
  keepReaderMetadata(service);
  if (auto status = service.find("status"); status != service.end()) {
    keepOnly(*status, {"loadBalancer"});
    if (status->empty()) service.erase(status);
  }
}

void keepEndpointSliceRouting(Json& slice) {
  keepOnly(slice, {"apiVersion", "kind", "metadata", "addressType", "ports", "endpoints"});
  keepReaderMetadata(slice);
  if (auto endpoints = slice.find("endpoints"); endpoints != slice.end() && endpoints->is_array())
    for (Json& endpoint : *endpoints)
      keepOnly(endpoint, {"addresses", "conditions", "nodeName", "hostname", "zone", "hints"});
}

void keepPodAddressing(Json& pod) {
  keepOnly(pod, {"apiVersion", "kind", "metadata", "spec", "status"});
  keepReaderMetadata(pod);
  if (auto spec = pod.find("spec"); spec != pod.end()) keepOnly(*spec, {"hostname", "subdomain"});
  if (auto status = pod.find("status"); status != pod.end()) {
    keepOnly(*status, {"phase", "podIP", "podIPs", "conditions"});
    // Of the conditions, Ready alone (a hostname record waits for it).
    if (auto conditions = status->find("conditions");
        conditions != status->end() && conditions->is_array()) {
      Json ready = Json::array();
      for (Json& condition : *conditions)
        if (condition.is_object() && condition.value("type", "") == "Ready") {
          keepOnly(condition, {"type", "status"});
          ready.push_back(std::move(condition));
        }
      *conditions = std::move(ready);
    }
  }
}

}  // namespace podnet::client
