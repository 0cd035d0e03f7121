// Fuzzes the nflog message parser the agent reads denied packets with, and
// the naming of a parsed packet against a small cluster.
#include <cstdint>

#include "net/nflog.h"
#include "policy/denials.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto packet = podnet::net::parseNflogMessage(data, size);
  podnet::net::LoggedPacket headers;
  (void)podnet::net::parsePacketHeaders(data, size, headers);
  if (!packet) return 0;
  podnet::policy::ClusterState state;
  podnet::policy::Pod pod;
  pod.ns = "default";
  pod.name = "a";
  pod.nodeName = "node-1";
  pod.ips = {packet->destination};
  state.setPod(pod);
  auto denial = podnet::policy::explainDenial(state, *packet, "node-1");
  if (denial) {
    auto json = denial->toJson();
    auto back = podnet::policy::Denial::fromJson(json);
    (void)back;
    (void)denial->describe();
  }
  return 0;
}
