// resource.Quantity as apimachinery/pkg/api/resource/quantity.go parses and
// prints it. The value is kept exactly as mantissa * 10^scale in 128 bits,
// which covers every quantity a resource field holds (upstream falls back to
// arbitrary precision beyond int64; the canonical text is the same).
#include "api/quantity.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace podnet::api {

const char* const kQuantityFormatError =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

namespace {

using Int128 = __int128;
using Uint128 = unsigned __int128;

constexpr const char* kNumericError = "unable to parse numeric part of quantity";
constexpr const char* kSuffixError = "unable to parse quantity's suffix";
constexpr int32_t kNanoScale = -9;
// Magnitudes above this are kept approximately: headroom for scaling by
// 1000 and for comparisons at a common scale without overflow.
const Uint128 kExactLimit = Uint128(1000000000000000000ULL) * 1000000000000000000ULL;  // 1e36

bool isDigit(char c) { return c >= '0' && c <= '9'; }

struct Parts {
  bool positive = true;
  std::string_view num, denom, suffix;
};

// parseQuantityString: sign, digits, an optional fraction, then the suffix.
bool split(std::string_view str, Parts& out) {
  size_t pos = 0, end = str.size();
  if (pos < end && (str[0] == '-' || str[0] == '+')) {
    out.positive = str[0] != '-';
    ++pos;
  }
  while (pos < end && str[pos] == '0') ++pos;
  if (pos >= end) {
    out.num = "0";
    return true;
  }
  size_t start = pos;
  while (pos < end && isDigit(str[pos])) ++pos;
  out.num = str.substr(start, pos - start);
  if (out.num.empty()) out.num = "0";
  if (pos < end && str[pos] == '.') {
    start = ++pos;
    while (pos < end && isDigit(str[pos])) ++pos;
    out.denom = str.substr(start, pos - start);
  }
  size_t suffixStart = pos;
  static constexpr std::string_view kSuffixLetters = "eEinumkKMGTP";
  while (pos < end && kSuffixLetters.find(str[pos]) != std::string_view::npos) ++pos;
  if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
  while (pos < end && isDigit(str[pos])) ++pos;
  if (pos < end) return false;  // something after the exponent digits
  out.suffix = str.substr(suffixStart);
  return true;
}

// quantitySuffixer.interpret: base, exponent and format of a suffix.
bool interpret(std::string_view suffix, int& base, int32_t& exponent, Quantity::Format& format) {
  static const std::pair<std::string_view, int32_t> kDecimal[] = {
      {"", 0},  {"n", -9}, {"u", -6}, {"m", -3}, {"k", 3},
      {"M", 6}, {"G", 9},  {"T", 12}, {"P", 15}, {"E", 18}};
  static const std::pair<std::string_view, int32_t> kBinary[] = {
      {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"Pi", 50}, {"Ei", 60}};
  for (const auto& [text, exp] : kDecimal)
    if (suffix == text) {
      base = 10, exponent = exp, format = Quantity::Format::DecimalSI;
      return true;
    }
  for (const auto& [text, exp] : kBinary)
    if (suffix == text) {
      base = 2, exponent = exp, format = Quantity::Format::BinarySI;
      return true;
    }
  if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    // strconv.ParseInt(suffix[1:], 10, 64), then int32()
    std::string_view digits = suffix.substr(1);
    bool negative = false;
    if (digits[0] == '+' || digits[0] == '-') {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > 18) return false;
    int64_t value = 0;
    for (char c : digits) {
      if (!isDigit(c)) return false;
      value = value * 10 + (c - '0');
    }
    base = 10, exponent = int32_t(negative ? -value : value);
    format = Quantity::Format::DecimalExponent;
    return true;
  }
  return false;
}

// Digits into a magnitude; false when it exceeds the exact range.
bool accumulate(std::string_view digits, Uint128& value) {
  for (char c : digits) {
    value = value * 10 + Uint128(c - '0');
    if (value > kExactLimit) return false;
  }
  return true;
}

std::string toDecimal(Uint128 value) {
  if (value == 0) return "0";
  std::string out;
  while (value > 0) {
    out.insert(out.begin(), char('0' + int(value % 10)));
    value /= 10;
  }
  return out;
}

int digitCount(Uint128 value) {
  int n = 0;
  for (; value > 0; value /= 10) ++n;
  return n;
}

Uint128 magnitude(Int128 v) { return v < 0 ? Uint128(-v) : Uint128(v); }

long double approxOf(const Parts& parts, int base, int32_t exponent) {
  std::string text(parts.num);
  if (!parts.denom.empty()) text += "." + std::string(parts.denom);
  long double value = std::strtold(text.c_str(), nullptr);
  value *= base == 2 ? std::pow(2.0L, exponent) : std::pow(10.0L, exponent);
  return parts.positive ? value : -value;
}

}  // namespace

std::optional<Quantity> Quantity::parse(std::string_view str, std::string* error) {
  auto fail = [error](const char* message) -> std::optional<Quantity> {
    if (error) *error = message;
    return std::nullopt;
  };
  if (str.empty()) return fail(kQuantityFormatError);
  Quantity q;
  if (str == "0") {
    q.cached_ = "0";
    return q;
  }
  Parts parts;
  if (!split(str, parts)) return fail(kQuantityFormatError);
  int base = 10;
  int32_t exponent = 0;
  if (!interpret(parts.suffix, base, exponent, q.format_)) return fail(kSuffixError);
  // Upstream reads the number with inf.Dec, which takes at most one '.'.
  if (parts.num.size() + parts.denom.size() > 4096) return fail(kNumericError);

  // ParseQuantity keeps the input as the canonical text when its int64
  // fast path takes it and the text is already in canonical shape.
  {
    std::string shifted = std::string(parts.num) + std::string(parts.denom);
    int32_t precision = -1, scale = 0;
    if (q.format_ == Format::BinarySI) {
      if (exponent >= 0 && parts.denom.empty())
        precision = 15 - int32_t(parts.num.size()) - int32_t(float(exponent) * 3 / 10) - 1;
    } else {
      scale = exponent;
      precision = 18 - int32_t(parts.num.size() + parts.denom.size());
    }
    if (precision >= 0) {
      scale -= int32_t(parts.denom.size());
      Uint128 value = 0;
      bool fits = shifted.size() <= 19 && accumulate(shifted, value) && value <= Uint128(INT64_MAX);
      Uint128 factor = q.format_ == Format::BinarySI ? Uint128(1) << exponent : 1;
      if (scale >= kNanoScale && fits && value * factor <= Uint128(INT64_MAX)) {
        bool canonical = q.format_ == Format::BinarySI
                             ? exponent % 10 == 0 && (uint64_t(value) & 0x07) != 0
                             : scale % 3 == 0 &&
                                   !(shifted.size() >= 3 &&
                                     shifted.compare(shifted.size() - 3, 3, "000") == 0) &&
                                   shifted[0] != '0';
        if (canonical) q.cached_ = std::string(str);
      }
    }
  }

  // The exact value: digits * base^exponent, as mantissa * 10^scale.
  Uint128 digits = 0;
  std::string all = std::string(parts.num) + std::string(parts.denom);
  size_t first = all.find_first_not_of('0');
  bool exact =
      first == std::string::npos || accumulate(std::string_view(all).substr(first), digits);
  int64_t wideScale = -int64_t(parts.denom.size()) + (base == 10 ? exponent : 0);
  // Far below nano everything rounds to one nano; far above Exa nothing is exact.
  if (wideScale > 1000000) exact = false;
  int32_t scale = int32_t(std::max<int64_t>(wideScale, kNanoScale - 100));
  if (wideScale < kNanoScale - 100 && digits != 0) digits = 1;
  if (base == 2 && exact && digits != 0) {
    for (int32_t i = 0; i < exponent && exact; ++i) {
      digits <<= 1;
      exact = digits <= kExactLimit;
    }
  }
  // Round up (away from zero) to nano, as ParseQuantity does.
  if (exact && scale < kNanoScale) {
    int32_t drop = kNanoScale - scale;
    if (drop > 40) {
      digits = digits == 0 ? 0 : 1;
    } else {
      bool remainder = false;
      for (int32_t i = 0; i < drop; ++i) {
        remainder = remainder || digits % 10 != 0;
        digits /= 10;
      }
      if (remainder) ++digits;
    }
    scale = kNanoScale;
  }
  if (!exact) {
    q.approximate_ = true;
    q.approx_ = approxOf(parts, base, exponent);
    if (q.cached_.empty()) q.cached_ = std::string(str);
    return q;
  }
  if (q.format_ == Format::BinarySI) {
    // maxAllowed caps binary quantities at 2^63-1; below one they print as
    // decimal.
    Uint128 cap = Uint128(INT64_MAX);
    bool aboveCap = scale >= 0 ? (digitCount(digits) + scale > 19 ||
                                  [&] {
                                    Uint128 v = digits;
                                    for (int32_t i = 0; i < scale; ++i) v *= 10;
                                    return v > cap;
                                  }())
                               : false;
    if (aboveCap) {
      digits = cap;
      scale = 0;
      q.cached_.clear();
    }
    bool belowOne = digits != 0 && scale < 0 && digitCount(digits) <= -scale;
    if (belowOne) q.format_ = Format::DecimalSI;
  }
  q.mantissa_ = parts.positive ? Int128(digits) : -Int128(digits);
  q.scale_ = scale;
  return q;
}

std::optional<Quantity> Quantity::fromJson(const Json& value, std::string* error) {
  if (value.is_string()) return parse(value.get_ref<const std::string&>(), error);
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_number_float())
    return parse(value.dump(), error);
  if (error) *error = kQuantityFormatError;
  return std::nullopt;
}

int Quantity::sign() const {
  if (approximate_) return approx_ < 0 ? -1 : approx_ > 0 ? 1 : 0;
  return mantissa_ < 0 ? -1 : mantissa_ > 0 ? 1 : 0;
}

int Quantity::compare(const Quantity& other) const {
  if (approximate_ || other.approximate_) {
    long double a = approximate_ ? approx_ : (long double)mantissa_ * std::pow(10.0L, scale_);
    long double b = other.approximate_
                        ? other.approx_
                        : (long double)other.mantissa_ * std::pow(10.0L, other.scale_);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  int sa = sign(), sb = other.sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  Uint128 a = magnitude(mantissa_), b = magnitude(other.mantissa_);
  // Orders of magnitude first, so scaling below never overflows.
  int64_t ea = int64_t(digitCount(a)) + scale_, eb = int64_t(digitCount(b)) + other.scale_;
  int byMagnitude = 0;
  if (ea != eb) {
    byMagnitude = ea < eb ? -1 : 1;
  } else {
    int32_t common = std::min(scale_, other.scale_);
    for (int32_t i = common; i < scale_; ++i) a *= 10;
    for (int32_t i = common; i < other.scale_; ++i) b *= 10;
    byMagnitude = a < b ? -1 : a > b ? 1 : 0;
  }
  return sa > 0 ? byMagnitude : -byMagnitude;
}

int64_t Quantity::value() const {
  if (approximate_) {
    long double v = approx_ < 0 ? std::floor(approx_) : std::ceil(approx_);
    if (v >= (long double)INT64_MAX) return INT64_MAX;
    if (v <= (long double)INT64_MIN) return INT64_MIN;
    return int64_t(v);
  }
  Uint128 amount = magnitude(mantissa_);
  bool remainder = false;
  for (int32_t i = scale_; i < 0 && amount > 0; ++i) {
    remainder = remainder || amount % 10 != 0;
    amount /= 10;
  }
  if (remainder) ++amount;
  for (int32_t i = 0; i < scale_ && amount <= Uint128(INT64_MAX); ++i) amount *= 10;
  if (amount > Uint128(INT64_MAX)) return mantissa_ < 0 ? INT64_MIN : INT64_MAX;
  return mantissa_ < 0 ? -int64_t(amount) : int64_t(amount);
}

std::string Quantity::toString() const {
  if (!cached_.empty()) return cached_;
  if (mantissa_ == 0) return "0";
  Format format = format_;
  Uint128 amount = magnitude(mantissa_);
  int32_t scale = scale_;
  if (format == Format::BinarySI) {
    // Small or fractional binary quantities print as decimal (CanonicalizeBytes).
    bool small = [&] {
      Uint128 whole = amount;
      for (int32_t i = scale; i < 0; ++i) whole /= 10;
      for (int32_t i = 0; i < scale && whole < 1024; ++i) whole *= 10;
      return whole < 1024;
    }();
    bool fractional = false;
    if (scale < 0) {
      Uint128 v = amount;
      for (int32_t i = scale; i < 0 && !fractional; ++i) {
        fractional = v % 10 != 0;
        v /= 10;
      }
    }
    if (small || fractional) format = Format::DecimalSI;
  }
  std::string sign = mantissa_ < 0 ? "-" : "";
  if (format == Format::BinarySI) {
    Uint128 whole = amount;
    for (int32_t i = scale; i < 0; ++i) whole /= 10;
    for (int32_t i = 0; i < scale; ++i) whole *= 10;  // capped at 2^63-1 by parse
    static const char* kSuffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int exponent = 0;
    while (exponent < 6 && whole % 1024 == 0) {
      whole /= 1024;
      ++exponent;
    }
    return sign + toDecimal(whole) + kSuffixes[exponent];
  }
  // AsCanonicalBytes: factors of ten into the exponent, then down to a
  // multiple of three.
  while (amount % 10 == 0) {
    amount /= 10;
    ++scale;
  }
  while (scale % 3 != 0) {
    amount *= 10;
    --scale;
  }
  std::string number = sign + toDecimal(amount);
  if (format == Format::DecimalExponent)
    return scale == 0 ? number : number + "e" + std::to_string(scale);
  static const std::pair<int32_t, const char*> kSuffixes[] = {
      {-9, "n"}, {-6, "u"}, {-3, "m"}, {0, ""},   {3, "k"},
      {6, "M"},  {9, "G"},  {12, "T"}, {15, "P"}, {18, "E"}};
  for (const auto& [exp, text] : kSuffixes)
    if (exp == scale) return number + text;
  return number + "e" + std::to_string(scale);  // beyond Exa: no SI suffix left
}

}  // namespace podnet::api
