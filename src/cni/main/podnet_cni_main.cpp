// The dedicated `podnet-cni` executable: only the CNI plugin, so a runtime's
// fork+exec pays for none of podnet's other components (TLS, YAML, SQLite)
// and their start-up. `podnet cni` and a podnet link named podnet-cni run the
// same code (cni::runCniMain).
#include "cni/entry.h"

int main() { return podnet::cni::runCniMain(); }
