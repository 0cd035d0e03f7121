#include "core/cron.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace podnet::core {

namespace {

struct Bounds {
  uint64_t min, max;
  const char* const* names;  // lowercase, indexed from `min`; nullptr: numbers only
  size_t nameCount;
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const Bounds kMinutes{0, 59, nullptr, 0};
const Bounds kHours{0, 23, nullptr, 0};
const Bounds kDaysOfMonth{1, 31, nullptr, 0};
const Bounds kMonths{1, 12, kMonthNames, 12};
const Bounds kDaysOfWeek{0, 6, kDayNames, 7};

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// strings.Fields (ASCII whitespace).
std::vector<std::string> fields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && isSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !isSpace(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> split(std::string_view s, char sep, bool dropEmpty) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    std::string_view piece = s.substr(start, at == std::string_view::npos ? s.npos : at - start);
    if (!dropEmpty || !piece.empty()) out.emplace_back(piece);
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// Go's strconv.Quote for the bytes of an error message.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

Error cronError(std::string message) { return badRequest(std::move(message)); }

// strconv.Atoi, then robfig's mustParseInt (no negative numbers).
Result<uint64_t> parseInt(const std::string& expr) {
  std::string_view digits = expr;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  bool valid = !digits.empty();
  for (char c : digits) valid = valid && c >= '0' && c <= '9';
  if (!valid)
    return cronError("failed to parse int from " + expr + ": strconv.Atoi: parsing " + quote(expr) +
                     ": invalid syntax");
  unsigned __int128 value = 0;
  bool overflow = false;
  for (char c : digits) {
    value = value * 10 + unsigned(c - '0');
    if (value > (unsigned __int128)(INT64_MAX) + (negative ? 1 : 0)) {
      overflow = true;
      break;
    }
  }
  if (overflow)
    return cronError("failed to parse int from " + expr + ": strconv.Atoi: parsing " + quote(expr) +
                     ": value out of range");
  if (negative && value != 0)
    return cronError("negative number (-" + std::to_string(uint64_t(value)) +
                     ") not allowed: " + expr);
  return uint64_t(value);
}

Result<uint64_t> parseIntOrName(const std::string& expr, const Bounds& bounds) {
  if (bounds.names) {
    std::string lower = expr;
    for (auto& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < bounds.nameCount; ++i)
      if (lower == bounds.names[i]) return bounds.min + i;
  }
  return parseInt(expr);
}

uint64_t bits(uint64_t min, uint64_t max, uint64_t step) {
  if (step == 1) return ~(~uint64_t(0) << (max + 1)) & (~uint64_t(0) << min);
  uint64_t out = 0;
  for (uint64_t i = min; i <= max; i += step) out |= uint64_t(1) << i;
  return out;
}

Result<uint64_t> parseRange(const std::string& expr, const Bounds& bounds) {
  auto rangeAndStep = split(expr, '/', false);
  auto lowAndHigh = split(rangeAndStep[0], '-', false);
  bool single = lowAndHigh.size() == 1;
  uint64_t start = 0, end = 0, step = 1, extra = 0;
  if (lowAndHigh[0] == "*" || lowAndHigh[0] == "?") {
    start = bounds.min;
    end = bounds.max;
    extra = CronSchedule::kStar;
  } else {
    auto low = parseIntOrName(lowAndHigh[0], bounds);
    if (!low) return low.takeError();
    start = *low;
    if (lowAndHigh.size() == 1) {
      end = start;
    } else if (lowAndHigh.size() == 2) {
      auto high = parseIntOrName(lowAndHigh[1], bounds);
      if (!high) return high.takeError();
      end = *high;
    } else {
      return cronError("too many hyphens: " + expr);
    }
  }
  if (rangeAndStep.size() == 2) {
    auto parsed = parseInt(rangeAndStep[1]);
    if (!parsed) return parsed.takeError();
    step = *parsed;
    if (single) end = bounds.max;  // "N/step" means "N-max/step"
    if (step > 1) extra = 0;
  } else if (rangeAndStep.size() > 2) {
    return cronError("too many slashes: " + expr);
  }
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (start < bounds.min)
    return cronError("beginning of range (" + n(start) + ") below minimum (" + n(bounds.min) +
                     "): " + expr);
  if (end > bounds.max)
    return cronError("end of range (" + n(end) + ") above maximum (" + n(bounds.max) +
                     "): " + expr);
  if (start > end)
    return cronError("beginning of range (" + n(start) + ") beyond end of range (" + n(end) +
                     "): " + expr);
  if (step == 0) return cronError("step of range should be a positive number: " + expr);
  return bits(start, end, step) | extra;
}

Result<uint64_t> parseField(const std::string& field, const Bounds& bounds) {
  uint64_t out = 0;
  for (const auto& expr : split(field, ',', true)) {
    auto range = parseRange(expr, bounds);
    if (!range) return range.takeError();
    out |= *range;
  }
  return out;
}

// time.ParseDuration, to whole seconds (what @every keeps).
Result<int64_t> parseDuration(std::string_view text) {
  std::string original(text);
  auto invalid = [&] { return cronError("time: invalid duration " + quote(original)); };
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return int64_t(0);
  if (text.empty()) return invalid();
  long double total = 0;
  while (!text.empty()) {
    size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i++] - '0');
      digits = true;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        value += (text[i++] - '0') * scale;
        scale /= 10;
        digits = true;
      }
    }
    if (!digits) return invalid();
    size_t unitStart = i;
    while (i < text.size() && text[i] != '.' && (text[i] < '0' || text[i] > '9')) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    if (unit.empty()) return cronError("time: missing unit in duration " + quote(original));
    long double seconds;
    if (unit == "ns")
      seconds = 1e-9L;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
      seconds = 1e-6L;
    else if (unit == "ms")
      seconds = 1e-3L;
    else if (unit == "s")
      seconds = 1;
    else if (unit == "m")
      seconds = 60;
    else if (unit == "h")
      seconds = 3600;
    else
      return cronError("time: unknown unit " + quote(unit) + " in duration " + quote(original));
    total += value * seconds;
    if (total > 9223372036.854775807L) return invalid();  // beyond int64 nanoseconds
    text.remove_prefix(i);
  }
  return int64_t(negative ? -total : total);
}

Result<CronSchedule> parseDescriptor(const std::string& spec) {
  CronSchedule s;
  const uint64_t allDom = bits(1, 31, 1) | CronSchedule::kStar;
  const uint64_t allMonths = bits(1, 12, 1) | CronSchedule::kStar;
  const uint64_t allDow = bits(0, 6, 1) | CronSchedule::kStar;
  s.minute = 1;
  s.hour = 1;
  if (spec == "@yearly" || spec == "@annually") {
    s.dayOfMonth = 1 << 1;
    s.month = 1 << 1;
    s.dayOfWeek = allDow;
  } else if (spec == "@monthly") {
    s.dayOfMonth = 1 << 1;
    s.month = allMonths;
    s.dayOfWeek = allDow;
  } else if (spec == "@weekly") {
    s.dayOfMonth = allDom;
    s.month = allMonths;
    s.dayOfWeek = 1;
  } else if (spec == "@daily" || spec == "@midnight") {
    s.dayOfMonth = allDom;
    s.month = allMonths;
    s.dayOfWeek = allDow;
  } else if (spec == "@hourly") {
    s.hour = bits(0, 23, 1) | CronSchedule::kStar;
    s.dayOfMonth = allDom;
    s.month = allMonths;
    s.dayOfWeek = allDow;
  } else if (spec.rfind("@every ", 0) == 0) {
    auto duration = parseDuration(std::string_view(spec).substr(7));
    if (!duration)
      return cronError("failed to parse duration " + spec + ": " + duration.error().message);
    s.every = *duration < 1 ? 1 : *duration;
  } else {
    return cronError("unrecognized descriptor: " + spec);
  }
  return s;
}

// A point in time with the wall clock of one zone (what Go's time.Time in a
// Location is to robfig's Next).
struct Clock {
  const TimeZone& zone;
  int64_t unix;
  int64_t year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0, weekday = 0;

  void set(int64_t t) {
    unix = t;
    int64_t wall = zone.toLocal(t);
    int64_t days = wall / 86400 - (wall % 86400 < 0);
    int64_t rest = wall - days * 86400;
    civilFromDays(days, year, month, day);
    hour = unsigned(rest / 3600);
    minute = unsigned(rest / 60 % 60);
    second = unsigned(rest % 60);
    weekday = unsigned(((days % 7) + 7 + 4) % 7);
  }
  // time.Date in the zone, normalising month and day overflow.
  void date(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
    y += (mo - 1) / 12;
    mo = (mo - 1) % 12 + 1;
    int64_t days = daysFromCivil(y, unsigned(mo), 1) + d - 1;
    set(zone.fromLocal(days * 86400 + h * 3600 + mi * 60 + s));
  }
};

bool dayMatches(const CronSchedule& s, const Clock& t) {
  bool dom = (uint64_t(1) << t.day) & s.dayOfMonth;
  bool dow = (uint64_t(1) << t.weekday) & s.dayOfWeek;
  if ((s.dayOfMonth & CronSchedule::kStar) || (s.dayOfWeek & CronSchedule::kStar))
    return dom && dow;
  return dom || dow;
}

}  // namespace

Result<CronSchedule> parseCron(std::string_view input) {
  std::string spec(input);
  if (spec.empty()) return cronError("empty spec string");
  std::string timeZone;
  if (spec.rfind("TZ=", 0) == 0 || spec.rfind("CRON_TZ=", 0) == 0) {
    size_t eq = spec.find('=');
    size_t space = spec.find(' ');
    std::string name = spec.substr(eq + 1, space == std::string::npos ? spec.npos : space - eq - 1);
    if (auto zone = TimeZone::load(name); !zone)
      return cronError("provided bad location " + name + ": " + zone.error().message);
    timeZone = name;
    spec = space == std::string::npos ? "" : spec.substr(space);
    size_t start = 0;
    while (start < spec.size() && isSpace(spec[start])) ++start;
    spec.erase(0, start);
  }
  if (!spec.empty() && spec[0] == '@') {
    auto parsed = parseDescriptor(spec);
    if (parsed) parsed->timeZone = timeZone;
    return parsed;
  }
  auto parts = fields(spec);
  if (parts.size() != 5) {
    std::string list;
    for (const auto& part : parts) list += (list.empty() ? "" : " ") + part;
    return cronError("expected exactly 5 fields, found " + std::to_string(parts.size()) + ": [" +
                     list + "]");
  }
  CronSchedule s;
  s.timeZone = timeZone;
  const Bounds* bounds[] = {&kMinutes, &kHours, &kDaysOfMonth, &kMonths, &kDaysOfWeek};
  uint64_t* targets[] = {&s.minute, &s.hour, &s.dayOfMonth, &s.month, &s.dayOfWeek};
  for (size_t i = 0; i < 5; ++i) {
    auto field = parseField(parts[i], *bounds[i]);
    if (!field) return field.takeError();
    *targets[i] = *field;
  }
  return s;
}

int64_t CronSchedule::next(int64_t after, const TimeZone& zone) const {
  if (every > 0) return after + every;
  Clock t{zone, 0};
  t.set(after + 1);
  bool added = false;
  int64_t yearLimit = t.year + 5;
  // As robfig's SpecSchedule.Next: months and days move on the wall clock,
  // hours and minutes in absolute time; a wrap starts over.
  while (true) {
    if (t.year > yearLimit) return -1;
    bool wrapped = false;
    while (!((uint64_t(1) << t.month) & month)) {
      if (!added) {
        added = true;
        t.date(t.year, t.month, 1, 0, 0, 0);
      }
      t.date(t.year, t.month + 1, t.day, t.hour, t.minute, t.second);
      if (t.month == 1) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;
    while (!dayMatches(*this, t)) {
      if (!added) {
        added = true;
        t.date(t.year, t.month, t.day, 0, 0, 0);
      }
      t.date(t.year, t.month, t.day + 1, t.hour, t.minute, t.second);
      // DST may move midnight: back to 0h.
      if (t.hour != 0) t.set(t.hour > 12 ? t.unix + (24 - t.hour) * 3600 : t.unix - t.hour * 3600);
      if (t.day == 1) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;
    while (!((uint64_t(1) << t.hour) & hour)) {
      if (!added) {
        added = true;
        t.date(t.year, t.month, t.day, t.hour, 0, 0);
      }
      t.set(t.unix + 3600);
      if (t.hour == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;
    while (!((uint64_t(1) << t.minute) & minute)) {
      if (!added) {
        added = true;
        t.set(t.unix - ((t.unix % 60) + 60) % 60);
      }
      t.set(t.unix + 60);
      if (t.minute == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;
    while (t.second != 0) {  // the standard parser runs at second 0
      if (!added) added = true;
      t.set(t.unix + 1);
      if (t.second == 0) {
        wrapped = true;
        break;
      }
    }
    if (wrapped) continue;
    return t.unix;
  }
}

}  // namespace podnet::core
