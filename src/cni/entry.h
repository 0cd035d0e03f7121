// The podnet-cni executable's body: CNI_* environment and stdin in, result or
// error JSON on stdout, logs on stderr.
#pragma once

namespace podnet::cni {

// Returns the process exit code. Never throws.
int runCniMain();

}  // namespace podnet::cni
