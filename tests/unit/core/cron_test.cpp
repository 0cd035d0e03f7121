#include "core/cron.h"

#include <gtest/gtest.h>

#include "core/timezone.h"

namespace podnet::core {
namespace {

// Unix seconds of a UTC wall time.
int64_t utc(int64_t y, unsigned mo, unsigned d, unsigned h = 0, unsigned mi = 0) {
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

std::string errorOf(std::string_view spec) {
  auto parsed = parseCron(spec);
  return parsed.ok() ? "<ok>" : parsed.error().message;
}

const TimeZone& utcZone() {
  static auto zone = TimeZone::fixed("UTC", 0);
  return *zone;
}

TEST(CivilDays, RoundTrip) {
  EXPECT_EQ(daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(daysFromCivil(2000, 3, 1), 11017);
  for (int64_t days : {-719468LL, -1LL, 0LL, 59LL, 11016LL, 20000LL, 2932896LL}) {
    int64_t y;
    unsigned m, d;
    civilFromDays(days, y, m, d);
    EXPECT_EQ(daysFromCivil(y, m, d), days);
  }
}

TEST(CronParse, ErrorsAsRobfig) {
  EXPECT_EQ(errorOf(""), "empty spec string");
  EXPECT_EQ(errorOf("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
  EXPECT_EQ(errorOf("* * * * * *"), "expected exactly 5 fields, found 6: [* * * * * *]");
  EXPECT_EQ(errorOf("60 * * * *"), "end of range (60) above maximum (59): 60");
  EXPECT_EQ(errorOf("* 24 * * *"), "end of range (24) above maximum (23): 24");
  EXPECT_EQ(errorOf("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
  EXPECT_EQ(errorOf("* * * 13 *"), "end of range (13) above maximum (12): 13");
  EXPECT_EQ(errorOf("* * * * 7"), "end of range (7) above maximum (6): 7");
  EXPECT_EQ(errorOf("5-2 * * * *"), "beginning of range (5) beyond end of range (2): 5-2");
  EXPECT_EQ(errorOf("*/0 * * * *"), "step of range should be a positive number: */0");
  EXPECT_EQ(errorOf("1-2-3 * * * *"), "too many hyphens: 1-2-3");
  EXPECT_EQ(errorOf("*/2/3 * * * *"), "too many slashes: */2/3");
  EXPECT_EQ(errorOf("x * * * *"),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax");
  EXPECT_EQ(errorOf("@fortnightly"), "unrecognized descriptor: @fortnightly");
  EXPECT_EQ(errorOf("@every 5x"),
            "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\"");
}

TEST(CronParse, FieldsNamesStepsAndDescriptors) {
  auto s = parseCron("0,30 9-17/4 * jan-MAR mon-fri");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->minute, (1ULL << 0) | (1ULL << 30));
  EXPECT_EQ(s->hour, (1ULL << 9) | (1ULL << 13) | (1ULL << 17));
  EXPECT_EQ(s->month, (1ULL << 1) | (1ULL << 2) | (1ULL << 3));
  EXPECT_EQ(s->dayOfWeek, 0b0111110ULL);
  EXPECT_TRUE(s->dayOfMonth & CronSchedule::kStar);
  auto every = parseCron("@every 1h30m");
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(every->every, 5400);
  for (const char* d : {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly",
                        "@annually", "*/5 * * * ?", "5/15 * * * *"})
    EXPECT_TRUE(parseCron(d).ok()) << d;
}

TEST(CronNext, InUtc) {
  auto every = *parseCron("* * * * *");
  EXPECT_EQ(every.next(utc(2026, 5, 1, 10, 0) + 7, utcZone()), utc(2026, 5, 1, 10, 1));
  EXPECT_EQ(every.next(utc(2026, 5, 1, 10, 1), utcZone()), utc(2026, 5, 1, 10, 2));
  auto hourly = *parseCron("@hourly");
  EXPECT_EQ(hourly.next(utc(2026, 12, 31, 23, 30), utcZone()), utc(2027, 1, 1, 0, 0));
  auto leap = *parseCron("0 0 29 2 *");
  EXPECT_EQ(leap.next(utc(2026, 3, 1), utcZone()), utc(2028, 2, 29));
  // Day-of-month and day-of-week both restricted: either matches.
  auto either = *parseCron("0 12 13 * 5");  // the 13th, or any Friday
  EXPECT_EQ(either.next(utc(2026, 2, 1), utcZone()), utc(2026, 2, 6, 12));   // Friday 6th
  EXPECT_EQ(parseCron("0 0 30 2 *")->next(utc(2026, 1, 1), utcZone()), -1);  // never
}

TEST(TimeZones, LoadAndOffsets) {
  auto missing = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "unknown time zone Mars/Olympus_Mons");
  EXPECT_FALSE(TimeZone::load("../etc/passwd").ok());
  auto ny = TimeZone::load("America/New_York");
  if (!ny.ok()) GTEST_SKIP() << "no tz database on this machine";
  EXPECT_EQ((*ny)->lookup(utc(2026, 1, 15)).offset, -5 * 3600);
  EXPECT_EQ((*ny)->lookup(utc(2026, 7, 15)).offset, -4 * 3600);
  // Beyond the file's transitions the POSIX footer rule applies.
  EXPECT_EQ((*ny)->lookup(utc(2080, 7, 15)).offset, -4 * 3600);
  EXPECT_EQ((*ny)->lookup(utc(2080, 1, 15)).offset, -5 * 3600);
}

TEST(CronNext, InATimeZoneAcrossDst) {
  auto ny = TimeZone::load("America/New_York");
  if (!ny.ok()) GTEST_SKIP() << "no tz database on this machine";
  auto nineAm = *parseCron("0 9 * * *");
  // 09:00 EST is 14:00 UTC; after the March change 09:00 EDT is 13:00 UTC.
  EXPECT_EQ(nineAm.next(utc(2026, 3, 6, 15), **ny), utc(2026, 3, 7, 14));
  EXPECT_EQ(nineAm.next(utc(2026, 3, 7, 15), **ny), utc(2026, 3, 8, 13));
  // 02:30 does not exist on 2026-03-08 in New York: robfig's hours move in
  // absolute time, so that day has no run and the next is 02:30 EDT on the 9th.
  auto twoThirty = *parseCron("30 2 * * *");
  EXPECT_EQ(twoThirty.next(utc(2026, 3, 8, 5), **ny), utc(2026, 3, 9, 6, 30));
}

}  // namespace
}  // namespace podnet::core
