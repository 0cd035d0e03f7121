#include "core/timezone.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/files.h"

namespace podnet::core {

int64_t daysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yearOfEra = year - era * 400;
  const int64_t dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

void civilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t dayOfEra = days - era * 146097;
  const int64_t yearOfEra =
      (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  const int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  const int64_t mp = (5 * dayOfYear + 2) / 153;
  day = unsigned(dayOfYear - (153 * mp + 2) / 5 + 1);
  month = unsigned(mp < 10 ? mp + 3 : mp - 9);
  year = yearOfEra + era * 400 + (month <= 2);
}

namespace {

bool isLeap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned daysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeap(year) ? 29 : kDays[month - 1];
}

// A bounds-checked reader of big-endian TZif data.
struct Reader {
  std::string_view data;
  size_t pos = 0;
  bool ok = true;
  bool has(size_t n) const { return ok && data.size() - pos >= n && pos <= data.size(); }
  uint64_t be(size_t n) {
    if (!has(n)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | uint8_t(data[pos + i]);
    pos += n;
    return v;
  }
  void skip(uint64_t n) {
    if (!has(size_t(n)) || n > data.size()) {
      ok = false;
      return;
    }
    pos += size_t(n);
  }
};

}  // namespace

// ------------------------------------------------------------------ POSIX TZ

struct TimeZone::Rule {
  int32_t stdOffset = 0;  // seconds east of UTC
  int32_t dstOffset = 0;
  bool hasDst = false;
  struct Date {
    char kind = 'M';  // 'M' month.week.day, 'J' 1-365 without Feb 29, 'N' 0-365
    int month = 0, week = 0, weekday = 0, day = 0;
    int64_t time = 7200;  // seconds after local midnight
  } start, end;

  // Local midnight (as days since the epoch) of `date` in `year`.
  static int64_t dayOf(const Date& date, int64_t year) {
    if (date.kind == 'J') {
      int64_t d = date.day;
      if (isLeap(year) && d >= 60) ++d;
      return daysFromCivil(year, 1, 1) + d - 1;
    }
    if (date.kind == 'N') return daysFromCivil(year, 1, 1) + date.day;
    int64_t first = daysFromCivil(year, unsigned(date.month), 1);
    int weekdayOfFirst = int(((first % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
    int64_t day = 1 + (date.weekday - weekdayOfFirst + 7) % 7 + int64_t(date.week - 1) * 7;
    while (day > daysInMonth(year, unsigned(date.month))) day -= 7;
    return first + day - 1;
  }
  // The Unix times DST starts and ends in `year`.
  std::pair<int64_t, int64_t> changes(int64_t year) const {
    int64_t on = dayOf(start, year) * 86400 + start.time - stdOffset;
    int64_t off = dayOf(end, year) * 86400 + end.time - dstOffset;
    return {on, off};
  }
};

namespace {

bool parseName(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    size_t close = s.find('>');
    if (close == std::string_view::npos) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  size_t n = 0;
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

bool parseNumber(std::string_view& s, int64_t& out, int64_t max) {
  size_t n = 0;
  out = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 6) out = out * 10 + (s[n++] - '0');
  if (n == 0 || out > max) return false;
  s.remove_prefix(n);
  return true;
}

// [+-]hh[:mm[:ss]] in seconds (hours up to 167, as RFC 8536 allows).
bool parseHms(std::string_view& s, int64_t& out) {
  int64_t sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  int64_t h = 0, m = 0, sec = 0;
  if (!parseNumber(s, h, 167)) return false;
  if (!s.empty() && s[0] == ':') {
    s.remove_prefix(1);
    if (!parseNumber(s, m, 59)) return false;
    if (!s.empty() && s[0] == ':') {
      s.remove_prefix(1);
      if (!parseNumber(s, sec, 59)) return false;
    }
  }
  out = sign * (h * 3600 + m * 60 + sec);
  return true;
}

template <typename Date>
bool parseDate(std::string_view& s, Date& date) {
  int64_t a = 0, b = 0, c = 0;
  if (!s.empty() && s[0] == 'M') {
    s.remove_prefix(1);
    if (!parseNumber(s, a, 12) || a < 1 || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!parseNumber(s, b, 5) || b < 1 || s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
    if (!parseNumber(s, c, 6)) return false;
    date.kind = 'M';
    date.month = int(a);
    date.week = int(b);
    date.weekday = int(c);
  } else if (!s.empty() && s[0] == 'J') {
    s.remove_prefix(1);
    if (!parseNumber(s, a, 365) || a < 1) return false;
    date.kind = 'J';
    date.day = int(a);
  } else {
    if (!parseNumber(s, a, 365)) return false;
    date.kind = 'N';
    date.day = int(a);
  }
  date.time = 7200;
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    if (!parseHms(s, date.time)) return false;
  }
  return true;
}

}  // namespace

// ------------------------------------------------------------------ TimeZone

std::shared_ptr<const TimeZone> TimeZone::fixed(std::string name, int32_t offset) {
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = std::move(name);
  zone->firstOffset_ = offset;
  return zone;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::parse(std::string name, std::string_view tzif) {
  auto bad = [&] { return badRequest("malformed time zone information for " + name); };
  Reader r{tzif};
  if (tzif.substr(0, 4) != "TZif") return bad();
  r.skip(4);
  char version = tzif.size() > 4 ? tzif[4] : 0;
  r.skip(16);
  auto readCounts = [&r](uint64_t counts[6]) {
    for (int i = 0; i < 6; ++i) counts[i] = r.be(4);
  };
  uint64_t counts[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  readCounts(counts);
  size_t timeSize = 4;
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one follows its own header.
    r.skip(counts[3] * 5 + counts[4] * 6 + counts[5] + counts[2] * 8 + counts[1] + counts[0]);
    if (!r.ok || r.data.substr(r.pos, 4) != "TZif") return bad();
    r.skip(20);
    readCounts(counts);
    timeSize = 8;
  }
  uint64_t timecnt = counts[3], typecnt = counts[4];
  if (!r.ok || typecnt == 0 || typecnt > 256 || timecnt > 100000) return bad();
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = std::move(name);
  for (uint64_t i = 0; i < timecnt; ++i) {
    uint64_t raw = r.be(timeSize);
    int64_t t = timeSize == 4 ? int64_t(int32_t(uint32_t(raw))) : int64_t(raw);
    zone->transitions_.push_back(t);
  }
  for (uint64_t i = 0; i < timecnt; ++i) {
    uint64_t index = r.be(1);
    if (index >= typecnt) return bad();
    zone->typeIndex_.push_back(uint8_t(index));
  }
  for (uint64_t i = 0; i < typecnt; ++i) {
    zone->offsets_.push_back(int32_t(uint32_t(r.be(4))));
    zone->isDst_.push_back(r.be(1) != 0);
    r.be(1);  // abbreviation index
  }
  r.skip(counts[5] + counts[2] * (timeSize + 4) + counts[1] + counts[0]);
  if (!r.ok) return bad();
  if (!std::is_sorted(zone->transitions_.begin(), zone->transitions_.end())) return bad();
  // Before the first transition: the first standard-time type (Go's lookupFirstZone).
  zone->firstOffset_ = zone->offsets_[0];
  if (!zone->typeIndex_.empty() && zone->isDst_[zone->typeIndex_[0]]) {
    for (uint64_t i = 0; i < typecnt; ++i)
      if (!zone->isDst_[i]) {
        zone->firstOffset_ = zone->offsets_[i];
        break;
      }
  }
  // The footer (v2+): "\n<POSIX TZ>\n", for times after the last transition.
  if (version >= '2' && r.pos < tzif.size() && tzif[r.pos] == '\n') {
    std::string_view footer = tzif.substr(r.pos + 1);
    footer = footer.substr(0, footer.find('\n'));
    std::string_view s = footer;
    auto rule = std::make_shared<Rule>();
    int64_t stdWest = 0, dstWest = 0;
    bool ok = !s.empty() && parseName(s) && parseHms(s, stdWest);
    if (ok && !s.empty()) {
      rule->hasDst = parseName(s);
      dstWest = stdWest - 3600;
      if (rule->hasDst && !s.empty() && s[0] != ',') ok = parseHms(s, dstWest);
      if (ok && rule->hasDst) {
        // Without dates the zone follows the US rules of 2007 (as POSIX says).
        rule->start = {'M', 3, 2, 0, 0, 7200};
        rule->end = {'M', 11, 1, 0, 0, 7200};
        if (!s.empty()) {
          ok = s[0] == ',' && (s.remove_prefix(1), parseDate(s, rule->start)) && !s.empty() &&
               s[0] == ',' && (s.remove_prefix(1), parseDate(s, rule->end)) && s.empty();
        }
      }
      ok = ok && rule->hasDst;
    }
    if (ok) {
      rule->stdOffset = int32_t(-stdWest);
      rule->dstOffset = int32_t(-dstWest);
      zone->rule_ = std::move(rule);
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::load(const std::string& name) {
  if (name.empty() || name == "UTC") return fixed("UTC", 0);
  auto unknown = [&] { return badRequest("unknown time zone " + name); };
  // Names as Go accepts them: no absolute paths, no "..", no backslashes.
  if (name[0] == '/' || name.find("..") != std::string::npos ||
      name.find('\\') != std::string::npos || name.find('\0') != std::string::npos ||
      name.size() > 255)
    return unknown();
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  const char* env = std::getenv("ZONEINFO");
  std::vector<std::string> dirs;
  if (env && *env) dirs.push_back(env);
  dirs.push_back("/usr/share/zoneinfo");
  dirs.push_back("/usr/share/lib/zoneinfo");
  dirs.push_back("/usr/lib/locale/TZ");
  for (const auto& dir : dirs) {
    std::filesystem::path path = std::filesystem::path(dir) / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    if (std::filesystem::file_size(path, ec) > 1 << 20) continue;
    std::string data = readFile(path.string());
    auto zone = parse(name, data);
    if (!zone) return unknown();
    cache.emplace(name, *zone);
    return zone;
  }
  return unknown();
}

TimeZone::Period TimeZone::lookupRule(int64_t unix) const {
  const Rule& rule = *rule_;
  int64_t year;
  unsigned month, day;
  int64_t localDays = (unix + rule.stdOffset) / 86400 - ((unix + rule.stdOffset) % 86400 < 0);
  civilFromDays(localDays, year, month, day);
  // The changes of three years around `unix`, in time order, each with the
  // offset that starts there.
  std::vector<std::pair<int64_t, int32_t>> changes;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    auto [on, off] = rule.changes(y);
    changes.push_back({on, rule.dstOffset});
    changes.push_back({off, rule.stdOffset});
  }
  std::sort(changes.begin(), changes.end());
  Period period;
  period.offset = rule.stdOffset;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (changes[i].first <= unix) {
      period.offset = changes[i].second;
      period.start = changes[i].first;
      period.end = i + 1 < changes.size() ? changes[i + 1].first : INT64_MAX;
    }
  }
  if (!transitions_.empty()) period.start = std::max(period.start, transitions_.back());
  return period;
}

TimeZone::Period TimeZone::lookup(int64_t unix) const {
  Period period;
  if (transitions_.empty() || unix < transitions_.front()) {
    if (transitions_.empty() && rule_) return lookupRule(unix);
    period.offset = firstOffset_;
    if (!transitions_.empty()) period.end = transitions_.front();
    return period;
  }
  size_t i = size_t(std::upper_bound(transitions_.begin(), transitions_.end(), unix) -
                    transitions_.begin()) -
             1;
  if (i + 1 == transitions_.size() && rule_) return lookupRule(unix);
  period.offset = offsets_[typeIndex_[i]];
  period.start = transitions_[i];
  if (i + 1 < transitions_.size()) period.end = transitions_[i + 1];
  return period;
}

int64_t TimeZone::fromLocal(int64_t wall) const {
  // As Go's Date: the offset of the zone at `wall` read as UTC, corrected
  // once when that guess falls outside the period it came from.
  Period guess = lookup(wall);
  if (guess.offset == 0) return wall;
  int64_t utc = wall - guess.offset;
  if (utc < guess.start || utc >= guess.end) return wall - lookup(utc).offset;
  return utc;
}

}  // namespace podnet::core
