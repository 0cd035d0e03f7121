#include <cstdio>

#include "cluster/cluster.h"

namespace podnet::cluster {
int runUp(const std::vector<std::string>&) {
  std::fputs("podnet up: not built yet\n", stderr);
  return 1;
}
int runDown(const std::vector<std::string>&) {
  std::fputs("podnet down: not built yet\n", stderr);
  return 1;
}
int runExec(const std::vector<std::string>&) {
  std::fputs("podnet exec: not built yet\n", stderr);
  return 1;
}
}  // namespace podnet::cluster
