// Fuzzes the cron schedule parser (a CronJob's spec.schedule, user input)
// and next-time evaluation: parse must never crash; a parsed schedule's next
// time must be strictly later and on a minute boundary (or -1), in UTC and
// in a zone with DST changes. The input also feeds the TZif parser.
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "core/cron.h"
#include "core/timezone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)podnet::core::TimeZone::parse("fuzz", text);
  auto schedule = podnet::core::parseCron(text);
  if (!schedule) return 0;
  static const auto utc = podnet::core::TimeZone::fixed("UTC", 0);
  static const auto zone = [] {
    auto loaded = podnet::core::TimeZone::load("America/New_York");
    return loaded ? *loaded : podnet::core::TimeZone::fixed("UTC", 0);
  }();
  for (const auto* z : {utc.get(), zone.get()}) {
    int64_t after = 1'790'000'000;
    for (int i = 0; i < 3; ++i) {
      int64_t next = schedule->next(after, *z);
      if (next == -1) break;
      if (next <= after || (schedule->every == 0 && z == utc.get() && next % 60 != 0)) {
        std::fprintf(stderr, "bad next time %lld after %lld\n", (long long)next, (long long)after);
        __builtin_trap();
      }
      after = next;
    }
  }
  return 0;
}
