#include <cstdio>

#include "testserver/testserver.h"

namespace podnet::testserver {
int runMain(const std::vector<std::string>&) {
  std::fputs("podnet testserver: not built yet\n", stderr);
  return 1;
}
}  // namespace podnet::testserver
