// glibc malloc settings for podnet's long-running components (issue 21).
#pragma once

namespace podnet::core {

// Memory freed after a burst (a relist, 10k Services deleted) should go back
// to the system. glibc raises its mmap threshold to the largest block ever
// freed (up to 32 MiB), after which large buffers (lists, zone arenas,
// transactions) come from the heap and pin it; and each thread may get its
// own arena, each keeping its own freed pages. This fixes the threshold at
// 128 KiB (large blocks are mapped and unmapped), when `maxArenas` > 0 caps
// the arenas (for components whose threads allocate little), and starts a
// thread that gives freed pages back (malloc_trim) every 30 s. Call once, at
// the start of a long-running component.
void tuneHeapForBursts(int maxArenas);

}  // namespace podnet::core
