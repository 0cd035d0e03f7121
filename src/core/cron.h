// Cron schedules as a CronJob's spec.schedule is read upstream (robfig/cron
// v3 ParseStandard): five fields (minute hour day-of-month month
// day-of-week) with lists, ranges, steps, `*`/`?` and month/day names, or a
// descriptor (@yearly/@annually, @monthly, @weekly, @daily/@midnight,
// @hourly, @every DURATION). Parsing and next-time evaluation are pure;
// parse errors carry robfig's messages, which kube-apiserver returns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/timezone.h"

namespace podnet::core {

struct CronSchedule {
  static constexpr uint64_t kStar = uint64_t(1) << 63;  // the field was `*` or `?`
  uint64_t minute = 0;                                  // bits 0-59
  uint64_t hour = 0;                                    // bits 0-23
  uint64_t dayOfMonth = 0;                              // bits 1-31
  uint64_t month = 0;                                   // bits 1-12
  uint64_t dayOfWeek = 0;                               // bits 0-6 (Sunday = 0)
  int64_t every = 0;     // @every: seconds between runs (then the fields are unused)
  std::string timeZone;  // from a TZ= or CRON_TZ= prefix, if any

  // The first scheduled time strictly after `after` (Unix seconds), in
  // `zone`; -1 when there is none within five years.
  int64_t next(int64_t after, const TimeZone& zone) const;
};

// Parses a schedule; the error message is robfig's (e.g. "expected exactly
// 5 fields, found 4: [* * * *]").
Result<CronSchedule> parseCron(std::string_view spec);

}  // namespace podnet::core
