// Nodes joining a cluster over the network, as kubeadm join does it:
//   podnet token create|list|delete   bootstrap tokens (an admin's kubeconfig)
//   podnet join --server URL --token T --ca-cert-hash sha256:H --node-name N
// `join` reads kube-public/cluster-info without trusting the server yet,
// checks the CA in it against the hash, asks the now verified server for the
// node's own credentials with the bootstrap token, writes them to
// DATA_DIR/kubeconfig (0600) and runs the agent with them.
#pragma once

#include <string>
#include <vector>

namespace podnet::join {

// Each takes the arguments after the subcommand and returns the exit code.
int runJoin(const std::vector<std::string>& args);
int runToken(const std::vector<std::string>& args);

}  // namespace podnet::join
