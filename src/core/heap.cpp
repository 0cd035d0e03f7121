#include "core/heap.h"

#include <malloc.h>

namespace podnet::core {

void tuneHeapForBursts(int maxArenas) {
  // Setting either threshold also turns off glibc's dynamic adjustment of both.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  if (maxArenas > 0) ::mallopt(M_ARENA_MAX, maxArenas);
}

}  // namespace podnet::core
