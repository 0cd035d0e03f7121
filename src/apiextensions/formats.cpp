#include "apiextensions/formats.h"

#include <arpa/inet.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "api/validation.h"

namespace podnet::apiextensions {

std::string goNumber(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e21) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
    return buffer;
  }
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  // Shortest form that reads back the same, as Go's 'g' with precision -1.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[40];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, value);
    if (std::strtod(shorter, nullptr) == value) return shorter;
  }
  return buffer;
}

namespace {

void goSyntax(const api::Json& value, std::string& out, int depth) {
  if (depth > 64) {
    out += "...";
    return;
  }
  switch (value.type()) {
    case api::Json::value_t::null:
      out += "interface {}(nil)";
      break;
    case api::Json::value_t::string:
      out += goQuote(value.get_ref<const std::string&>());
      break;
    case api::Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      break;
    case api::Json::value_t::number_integer:
    case api::Json::value_t::number_unsigned:
      out += value.dump();
      break;
    case api::Json::value_t::number_float:
      out += goNumber(value.get<double>());
      break;
    case api::Json::value_t::array: {
      out += "[]interface {}{";
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ", ";
        first = false;
        goSyntax(item, out, depth + 1);
      }
      out += "}";
      break;
    }
    default: {
      // Go prints map keys sorted; nlohmann's object is a sorted map too.
      out += "map[string]interface {}{";
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += goQuote(it.key());
        out += ":";
        goSyntax(it.value(), out, depth + 1);
      }
      out += "}";
    }
  }
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool isAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool digitsAt(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return false;
  for (size_t i = 0; i < count; ++i)
    if (!isDigit(text[at + i])) return false;
  return true;
}

int numberAt(std::string_view text, size_t at, size_t count) {
  int n = 0;
  for (size_t i = 0; i < count; ++i) n = n * 10 + (text[at + i] - '0');
  return n;
}

bool isDate(std::string_view text) {
  if (text.size() != 10 || !digitsAt(text, 0, 4) || text[4] != '-' || !digitsAt(text, 5, 2) ||
      text[7] != '-' || !digitsAt(text, 8, 2))
    return false;
  int month = numberAt(text, 5, 2), day = numberAt(text, 8, 2);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// RFC 3339 date-time, as strfmt.ParseDateTime accepts (also a space or a
// lowercase t between date and time, and a missing zone).
bool isDateTime(std::string_view text) {
  if (text.size() < 19 || !isDate(text.substr(0, 10))) return false;
  char separator = text[10];
  if (separator != 'T' && separator != 't' && separator != ' ') return false;
  if (!digitsAt(text, 11, 2) || text[13] != ':' || !digitsAt(text, 14, 2) || text[16] != ':' ||
      !digitsAt(text, 17, 2))
    return false;
  if (numberAt(text, 11, 2) > 23 || numberAt(text, 14, 2) > 59 || numberAt(text, 17, 2) > 60)
    return false;
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    size_t start = ++at;
    while (at < text.size() && isDigit(text[at])) ++at;
    if (at == start) return false;
  }
  if (at == text.size()) return true;
  if (text[at] == 'Z' || text[at] == 'z') return at + 1 == text.size();
  if (text[at] != '+' && text[at] != '-') return false;
  return text.size() == at + 6 && digitsAt(text, at + 1, 2) && text[at + 3] == ':' &&
         digitsAt(text, at + 4, 2);
}

// Go durations ("1h30m", "300ms", "-1.5h") and strfmt's "3 days" forms.
bool isDuration(std::string_view text) {
  static const std::map<std::string_view, int> kUnits = {
      {"ns", 1},     {"us", 1},      {"µs", 1},     {"ms", 1},      {"s", 1},    {"sec", 1},
      {"m", 1},      {"min", 1},     {"h", 1},      {"hr", 1},      {"d", 1},    {"w", 1},
      {"second", 1}, {"seconds", 1}, {"minute", 1}, {"minutes", 1}, {"hour", 1}, {"hours", 1},
      {"day", 1},    {"days", 1},    {"week", 1},   {"weeks", 1}};
  size_t at = 0;
  if (at < text.size() && (text[at] == '-' || text[at] == '+')) ++at;
  if (at == text.size()) return false;
  if (text.substr(at) == "0") return true;
  while (at < text.size()) {
    size_t start = at;
    while (at < text.size() && (isDigit(text[at]) || text[at] == '.')) ++at;
    if (at == start) return false;
    while (at < text.size() && text[at] == ' ') ++at;
    size_t unitStart = at;
    while (at < text.size() && !isDigit(text[at]) && text[at] != ' ' && text[at] != '.') ++at;
    if (!kUnits.count(text.substr(unitStart, at - unitStart))) return false;
    while (at < text.size() && text[at] == ' ') ++at;
  }
  return true;
}

bool isHostname(std::string_view text) {
  if (text.empty() || text.size() > 255) return false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    std::string_view label = text.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!isAlnum(c) && c != '-' && static_cast<unsigned char>(c) < 0x80) return false;
    start = dot + 1;
  }
  return true;
}

bool isIPv4(std::string_view text) {
  std::string copy(text);
  in_addr address{};
  return inet_pton(AF_INET, copy.c_str(), &address) == 1;
}

bool isIPv6(std::string_view text) {
  std::string copy(text);
  in6_addr address{};
  return text.find(':') != std::string_view::npos &&
         inet_pton(AF_INET6, copy.c_str(), &address) == 1;
}

bool isCidr(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 1 >= text.size()) return false;
  std::string_view prefix = text.substr(slash + 1);
  if (prefix.size() > 3) return false;
  for (char c : prefix)
    if (!isDigit(c)) return false;
  int bits = std::stoi(std::string(prefix));
  std::string_view address = text.substr(0, slash);
  if (isIPv4(address)) return bits <= 32;
  if (isIPv6(address)) return bits <= 128;
  return false;
}

bool isMac(std::string_view text) {
  // 6, 8 or 20 octets separated by ':' or '-', or dotted groups of 4 hex digits.
  for (char separator : {':', '-'}) {
    size_t groups = (text.size() + 1) / 3;
    if ((groups == 6 || groups == 8 || groups == 20) && text.size() == groups * 3 - 1) {
      bool ok = true;
      for (size_t i = 0; i < text.size() && ok; ++i)
        ok = (i % 3 == 2) ? text[i] == separator : isHex(text[i]);
      if (ok) return true;
    }
  }
  size_t groups = (text.size() + 1) / 5;
  if ((groups == 3 || groups == 4 || groups == 10) && text.size() == groups * 5 - 1) {
    for (size_t i = 0; i < text.size(); ++i)
      if ((i % 5 == 4) ? text[i] != '.' : !isHex(text[i])) return false;
    return true;
  }
  return false;
}

bool isUuid(std::string_view text, char version) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !isHex(text[i])) return false;
  }
  if (version == 0) return true;
  if (text[14] != version) return false;
  char variant = text[19];
  return version == '3' || std::string_view("89abAB").find(variant) != std::string_view::npos;
}

bool isBase64(std::string_view text) {
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;
    if (!isAlnum(c) && c != '+' && c != '/') return false;
  }
  return text.size() % 4 == 0 && padding <= 2;
}

bool isEmail(std::string_view text) {
  size_t at = text.rfind('@');
  return at != std::string_view::npos && at > 0 && at + 1 < text.size() &&
         text.find(' ') == std::string_view::npos;
}

bool isUri(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = text[i];
    if (!isAlnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return text.find(' ') == std::string_view::npos;
}

bool isHexColor(std::string_view text) {
  if ((text.size() != 4 && text.size() != 7) || text[0] != '#') return false;
  for (size_t i = 1; i < text.size(); ++i)
    if (!isHex(text[i])) return false;
  return true;
}

}  // namespace

std::string goValue(const api::Json& value) {
  std::string out;
  goSyntax(value, out, 0);
  return out;
}

bool stringHasFormat(std::string_view text, std::string_view format) {
  if (format == "date") return isDate(text);
  if (format == "date-time" || format == "datetime") return isDateTime(text);
  if (format == "duration") return isDuration(text);
  if (format == "hostname") return isHostname(text);
  if (format == "ipv4") return isIPv4(text);
  if (format == "ipv6") return isIPv6(text);
  if (format == "cidr") return isCidr(text);
  if (format == "mac") return isMac(text);
  if (format == "uuid") return isUuid(text, 0);
  if (format == "uuid3") return isUuid(text, '3');
  if (format == "uuid4") return isUuid(text, '4');
  if (format == "uuid5") return isUuid(text, '5');
  if (format == "byte") return isBase64(text);
  if (format == "email") return isEmail(text);
  if (format == "uri") return isUri(text);
  if (format == "hexcolor") return isHexColor(text);
  return true;  // password, int-or-string and formats upstream does not check
}

}  // namespace podnet::apiextensions
