// `podnet policy`: what the NetworkPolicies of a cluster allow, and why.
//   explain FROM TO [--port P[/PROTO]]   one connection, both directions, the rules
//   matrix [--port P/PROTO ...] [--verify]  every pod to every pod, probed live on request
//   log [-f] [POD]                         the denied connections the agents recorded
// The objects come from the API server (or an --objects file); --file adds
// policies that are not applied yet ("what if").
#pragma once

#include <string>
#include <vector>

namespace podnet::policy {

int runPolicyMain(const std::vector<std::string>& args);

}  // namespace podnet::policy
