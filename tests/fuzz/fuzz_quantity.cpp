// Fuzzes resource.Quantity (PersistentVolumeClaim requests, PersistentVolume
// capacities: user input): parse must never crash; a parsed quantity's
// canonical text must parse again to the same value and print the same, and
// comparing it with itself must say equal.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "api/quantity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto q = podnet::api::Quantity::parse(text);
  if (!q) return 0;
  std::string canonical = q->toString();
  auto again = podnet::api::Quantity::parse(canonical);
  if (!again || again->toString() != canonical || again->compare(*q) != 0 || q->compare(*q) != 0) {
    std::fprintf(stderr, "quantity %.*s printed as %s\n", int(size), text.data(),
                 canonical.c_str());
    __builtin_trap();
  }
  (void)q->value();
  (void)q->sign();
  return 0;
}
