#include "cni/trace.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>

namespace podnet::cni {

namespace {

double nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

}  // namespace

void traceMark(const char* phase) {
  static const bool enabled = [] {
    const char* value = std::getenv("PODNET_CNI_TRACE");
    return value && *value && *value != '0';
  }();
  if (!enabled) return;
  static const double start = nowMs();
  std::fprintf(stderr, "podnet-cni trace: %7.3f ms %s\n", nowMs() - start, phase);
}

}  // namespace podnet::cni
