#include "cli/cli.h"

#include <cstdio>
#include <cstring>

namespace podnet::cli {

int run(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: podnet server --data-dir DIR [--listen ADDR:PORT]\n");
    return argc < 2 ? 2 : 0;
  }
  std::fprintf(stderr, "podnet: unknown command %s\n", argv[1]);
  return 2;
}

}  // namespace podnet::cli
