// Time zones of the IANA tz database as Go's time package reads them: the
// TZif files in /usr/share/zoneinfo (or $ZONEINFO), with the POSIX TZ rule of
// their footer for times after the last transition. Used to validate a
// CronJob's spec.timeZone and to evaluate its schedule in that zone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::core {

class TimeZone {
 public:
  struct Period {
    int32_t offset = 0;         // seconds east of UTC
    int64_t start = INT64_MIN;  // [start, end) in Unix seconds
    int64_t end = INT64_MAX;
  };

  // A fixed zone (UTC when offset 0).
  static std::shared_ptr<const TimeZone> fixed(std::string name, int32_t offset);
  // Parses TZif bytes (versions 1-4). Errors name what is malformed.
  static Result<std::shared_ptr<const TimeZone>> parse(std::string name, std::string_view tzif);
  // time.LoadLocation: "UTC" and "" are UTC; otherwise the zone file of that
  // name, cached. Error messages as Go's ("unknown time zone NAME").
  static Result<std::shared_ptr<const TimeZone>> load(const std::string& name);

  const std::string& name() const { return name_; }
  // The offset in force at `unix` and the period it holds for.
  Period lookup(int64_t unix) const;
  // Local wall-clock seconds (as if UTC) -> Unix seconds, as Go's time.Date
  // resolves gaps and overlaps at DST changes.
  int64_t fromLocal(int64_t wall) const;
  int64_t toLocal(int64_t unix) const { return unix + lookup(unix).offset; }

 private:
  struct Rule;  // a POSIX TZ footer rule (std/dst offsets and change dates)
  Period lookupRule(int64_t unix) const;

  std::string name_;
  std::vector<int64_t> transitions_;
  std::vector<uint8_t> typeIndex_;
  std::vector<int32_t> offsets_;  // per ttinfo
  std::vector<bool> isDst_;
  int32_t firstOffset_ = 0;  // before the first transition
  std::shared_ptr<const Rule> rule_;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);
void civilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace podnet::core
