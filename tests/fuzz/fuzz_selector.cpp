// Fuzzes the label selector parser: parse must never crash, and the canonical
// string of a parsed selector must parse back to the same canonical string.
// The input also feeds the field selector parser for a few kinds.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "api/resource.h"
#include "api/selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto selector = podnet::api::LabelSelector::parse(text);
  if (selector) {
    std::string canonical = selector->toString();
    auto again = podnet::api::LabelSelector::parse(canonical);
    if (!again || again->toString() != canonical) {
      std::fprintf(stderr, "canonical form does not round trip: %s\n", canonical.c_str());
      __builtin_trap();
    }
    (void)selector->matches({{"app", "web"}, {"tier", ""}});
  }
  for (const char* kind : {"Pod", "Event", "Service"}) {
    auto fields = podnet::api::FieldSelector::parse(podnet::api::resource(kind), text);
    if (fields) (void)fields->matches(podnet::api::Json::object());
  }
  return 0;
}
