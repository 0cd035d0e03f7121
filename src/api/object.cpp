#include "api/object.h"

#include <cctype>
#include <ctime>
#include <random>

namespace podnet::api {

const Json* member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string stringAt(const Json& obj, std::string_view key) {
  const Json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

std::string kindOf(const Json& obj) { return stringAt(obj, "kind"); }

std::string getString(const Json& obj, const Json::json_pointer& path) {
  if (!obj.is_object() || !obj.contains(path)) return {};
  const Json& v = obj.at(path);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

std::string name(const Json& obj) { return getString(obj, "/metadata/name"_json_pointer); }
std::string namespaceOf(const Json& obj) {
  return getString(obj, "/metadata/namespace"_json_pointer);
}
std::string uid(const Json& obj) { return getString(obj, "/metadata/uid"_json_pointer); }
std::string resourceVersion(const Json& obj) {
  return getString(obj, "/metadata/resourceVersion"_json_pointer);
}

std::map<std::string, std::string> stringMap(const Json& value) {
  std::map<std::string, std::string> out;
  if (!value.is_object()) return out;
  for (const auto& [k, v] : value.items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

std::map<std::string, std::string> labels(const Json& obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return {};
  const auto& meta = obj["metadata"];
  return meta.contains("labels") ? stringMap(meta["labels"]) : std::map<std::string, std::string>{};
}

bool isBeingDeleted(const Json& obj) {
  return !getString(obj, "/metadata/deletionTimestamp"_json_pointer).empty();
}

std::string newUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  char buf[40];
  snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", uint32_t(a >> 32),
           uint32_t((a >> 16) & 0xffff), uint32_t(a & 0xfff),
           uint32_t(0x8000 | ((b >> 48) & 0x3fff)), (unsigned long long)(b & 0xffffffffffffULL));
  return buf;
}

std::string nowRfc3339() { return formatRfc3339(std::time(nullptr)); }

std::string formatRfc3339(long long seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

long long parseRfc3339(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  long long seconds = static_cast<long long>(timegm(&tm));
  if (*rest == '.')  // fractional seconds: dropped
    for (++rest; *rest >= '0' && *rest <= '9';) ++rest;
  // A numeric offset ("+02:00", "-08:00"): local time minus the offset is
  // UTC. "Z" and nothing are UTC.
  if ((rest[0] == '+' || rest[0] == '-') && std::isdigit((unsigned char)rest[1]) &&
      std::isdigit((unsigned char)rest[2]) && rest[3] == ':' &&
      std::isdigit((unsigned char)rest[4]) && std::isdigit((unsigned char)rest[5])) {
    long long offset = ((rest[1] - '0') * 10 + (rest[2] - '0')) * 3600 +
                       ((rest[4] - '0') * 10 + (rest[5] - '0')) * 60;
    seconds += rest[0] == '+' ? -offset : offset;
  }
  return seconds;
}

}  // namespace podnet::api
