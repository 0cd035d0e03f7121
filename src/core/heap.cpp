#include "core/heap.h"

#include <malloc.h>

#include <chrono>
#include <thread>

namespace podnet::core {

void tuneHeapForBursts(int maxArenas) {
  // Setting either threshold also turns off glibc's dynamic adjustment of both.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  if (maxArenas > 0) ::mallopt(M_ARENA_MAX, maxArenas);
  // Freed pages go back every 30 s: after a burst (Services deleted in bulk,
  // a relist) the arenas would keep them. For the process's life.
  std::thread([] {
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(30));
      ::malloc_trim(0);
    }
  }).detach();
}

}  // namespace podnet::core
