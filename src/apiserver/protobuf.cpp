#include "apiserver/protobuf.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>

namespace podnet::apiserver {

namespace {

using api::Json;
using api::schema::Field;
using api::schema::Message;
using api::schema::Shape;
using api::schema::Type;

enum WireType : int {
  kVarint = 0,
  kFixed64 = 1,
  kLength = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

constexpr uint64_t kMaxFieldNumber = (uint64_t(1) << 29) - 1;

const char* wireTypeName(int wire) {
  switch (wire) {
    case kVarint:
      return "varint";
    case kFixed64:
      return "fixed64";
    case kLength:
      return "length-delimited";
    case kStartGroup:
      return "start-group";
    case kEndGroup:
      return "end-group";
    case kFixed32:
      return "fixed32";
  }
  return "invalid";
}

// Singular pointer fields (*int32, *int64, *bool, *string, *IntOrString) whose zero
// value means something, unlike the non-pointer fields gogo-protobuf writes
// even when empty (see protobuf.h), as "<message>.<json name>" from
// k8s.io/api types.go. ScaleSpec.replicas is not a pointer, but a Scale
// body of 0 replicas means 0.
constexpr std::string_view kZeroMeaningful[] = {
    "DeploymentSpec.replicas",
    "DeploymentSpec.revisionHistoryLimit",
    "DeploymentSpec.progressDeadlineSeconds",
    "ReplicaSetSpec.replicas",
    "StatefulSetSpec.replicas",
    "StatefulSetSpec.revisionHistoryLimit",
    "ScaleSpec.replicas",
    "RollingUpdateDeployment.maxUnavailable",
    "RollingUpdateDeployment.maxSurge",
    "PodSpec.terminationGracePeriodSeconds",
    "PodSpec.activeDeadlineSeconds",
    "PodSpec.automountServiceAccountToken",
    "PodSpec.shareProcessNamespace",
    "PodSpec.priority",
    "PodSpec.enableServiceLinks",
    "PodSpec.setHostnameAsFQDN",
    "PodSpec.hostUsers",
    "PodSecurityContext.runAsUser",
    "PodSecurityContext.runAsGroup",
    "PodSecurityContext.runAsNonRoot",
    "PodSecurityContext.fsGroup",
    "SecurityContext.runAsUser",
    "SecurityContext.runAsGroup",
    "SecurityContext.runAsNonRoot",
    "SecurityContext.privileged",
    "SecurityContext.allowPrivilegeEscalation",
    "SecurityContext.readOnlyRootFilesystem",
    "Probe.terminationGracePeriodSeconds",
    "Toleration.tolerationSeconds",
    "TopologySpreadConstraint.minDomains",
    "ConfigMapVolumeSource.defaultMode",
    "ConfigMapVolumeSource.optional",
    "SecretVolumeSource.defaultMode",
    "SecretVolumeSource.optional",
    "ProjectedVolumeSource.defaultMode",
    "DownwardAPIVolumeSource.defaultMode",
    "DownwardAPIVolumeFile.mode",
    "KeyToPath.mode",
    "ConfigMapProjection.optional",
    "SecretProjection.optional",
    "ConfigMapKeySelector.optional",
    "SecretKeySelector.optional",
    "ConfigMapEnvSource.optional",
    "SecretEnvSource.optional",
    "ServiceAccountTokenProjection.expirationSeconds",
    "ClientIPConfig.timeoutSeconds",
    "ServiceSpec.allocateLoadBalancerNodePorts",
    "ConfigMap.immutable",
    "Secret.immutable",
    "ObjectMeta.deletionGracePeriodSeconds",
    "OwnerReference.controller",
    "OwnerReference.blockOwnerDeletion",
    "DeleteOptions.gracePeriodSeconds",
    "DeleteOptions.orphanDependents",
    "EndpointConditions.ready",
    "EndpointConditions.serving",
    "EndpointConditions.terminating",
    "EndpointPort.port",
    "NetworkPolicyPort.port",
    "NetworkPolicyPort.endPort",
    "JobSpec.parallelism",
    "JobSpec.completions",
    "JobSpec.activeDeadlineSeconds",
    "JobSpec.backoffLimit",
    "JobSpec.ttlSecondsAfterFinished",
    "JobSpec.suspend",
    "JobSpec.manualSelector",
    // storageClassName: "" asks for no class, unlike a missing one.
    "PersistentVolumeClaimSpec.storageClassName",
    "PersistentVolumeClaimSpec.volumeMode",
    "PersistentVolumeClaimSpec.volumeAttributesClassName",
    "PersistentVolumeSpec.volumeMode",
    "PersistentVolumeSpec.volumeAttributesClassName",
    "StorageClass.reclaimPolicy",
    "StorageClass.allowVolumeExpansion",
    "StorageClass.volumeBindingMode",
};

bool zeroIsMeaningful(const Message& message, std::string_view json) {
  std::string_view name = message.name;
  if (size_t dot = name.rfind('.'); dot != std::string_view::npos) name.remove_prefix(dot + 1);
  for (std::string_view entry : kZeroMeaningful)
    if (entry.size() == name.size() + 1 + json.size() && entry.starts_with(name) &&
        entry[name.size()] == '.' && entry.ends_with(json))
      return true;
  return false;
}

// Reads the wire primitives; every read checks the bytes are there.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return position_ >= bytes_.size(); }
  size_t position() const { return position_; }

  // At most 10 bytes; the 10th may only carry the top bit of a uint64.
  bool varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (position_ >= bytes_.size()) return false;
      auto byte = static_cast<uint8_t>(bytes_[position_++]);
      if (shift == 63 && byte > 1) return false;
      value |= uint64_t(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool fixed(size_t size, uint64_t& value) {
    if (bytes_.size() - position_ < size) return false;
    value = 0;
    for (size_t i = 0; i < size; ++i)
      value |= uint64_t(static_cast<uint8_t>(bytes_[position_ + i])) << (8 * i);
    position_ += size;
    return true;
  }

  bool lengthDelimited(std::string_view& value) {
    uint64_t length = 0;
    if (!varint(length)) return false;
    if (length > bytes_.size() - position_) return false;
    value = bytes_.substr(position_, size_t(length));
    position_ += size_t(length);
    return true;
  }

 private:
  std::string_view bytes_;
  size_t position_ = 0;
};

bool validUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint32_t codepoint;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
      codepoint = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      codepoint = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      codepoint = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= size_t(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      codepoint = (codepoint << 6) | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF.
    if ((extra == 2 && codepoint < 0x800) || (extra == 3 && codepoint < 0x10000) ||
        (codepoint >= 0xd800 && codepoint <= 0xdfff) || codepoint > 0x10ffff)
      return false;
    i += extra + 1;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t chunk = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                     uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[chunk >> 18];
    out += kAlphabet[(chunk >> 12) & 63];
    out += kAlphabet[(chunk >> 6) & 63];
    out += kAlphabet[chunk & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t chunk = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) chunk |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[chunk >> 18];
    out += kAlphabet[(chunk >> 12) & 63];
    out += rest == 2 ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Go's time.Time range as RFC 3339 prints it: years 0001 to 9999.
constexpr int64_t kMinUnixSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z

// RFC 3339 in UTC ("2006-01-02T15:04:05Z"), with `fractionDigits` digits of
// `nanos` when asked (MicroTime: 6). Seconds must be in range.
std::string rfc3339(int64_t seconds, int64_t nanos, int fractionDigits) {
  int64_t days = seconds / 86400;
  int64_t secondOfDay = seconds % 86400;
  if (secondOfDay < 0) {
    secondOfDay += 86400;
    days -= 1;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t dayOfEra = z - era * 146097;
  int64_t yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  int64_t year = yearOfEra + era * 400;
  int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  int64_t monthIndex = (5 * dayOfYear + 2) / 153;
  int64_t day = dayOfYear - (153 * monthIndex + 2) / 5 + 1;
  int64_t month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  if (month <= 2) ++year;
  char text[48];
  int length = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", int(year),
                             int(month), int(day), int(secondOfDay / 3600),
                             int(secondOfDay / 60 % 60), int(secondOfDay % 60));
  std::string out(text, size_t(length));
  if (fractionDigits > 0) {
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09lld", static_cast<long long>(nanos));
    out.append(fraction, size_t(1 + fractionDigits));
  }
  out += 'Z';
  return out;
}

// Go's time.Duration.String: "1h0m0s", "1m30s", "1.5s", "100ms", "1.5µs", "0s".
std::string goDuration(int64_t nanoseconds) {
  if (nanoseconds == 0) return "0s";
  bool negative = nanoseconds < 0;
  uint64_t u = negative ? uint64_t(0) - uint64_t(nanoseconds) : uint64_t(nanoseconds);
  // Fraction of u at `digits` decimal places, trailing zeros dropped; u keeps the rest.
  auto fraction = [](uint64_t& value, int digits) {
    std::string out;
    bool printing = false;
    for (int i = 0; i < digits; ++i) {
      uint64_t digit = value % 10;
      printing = printing || digit != 0;
      if (printing) out.insert(out.begin(), char('0' + digit));
      value /= 10;
    }
    return printing ? "." + out : std::string();
  };
  std::string out;
  if (u < 1000000000) {
    const char* unit;
    int digits;
    if (u < 1000) {
      unit = "ns";
      digits = 0;
    } else if (u < 1000000) {
      unit = "\xc2\xb5s";  // µs, as Go prints it
      digits = 3;
    } else {
      unit = "ms";
      digits = 6;
    }
    std::string frac = fraction(u, digits);
    out = std::to_string(u) + frac + unit;
  } else {
    std::string frac = fraction(u, 9);
    out = std::to_string(u % 60) + frac + "s";
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return negative ? "-" + out : out;
}

int expectedWireType(Type type) {
  switch (type) {
    case Type::Bool:
    case Type::Int32:
    case Type::Int64:
      return kVarint;
    case Type::Double:
      return kFixed64;
    default:
      return kLength;
  }
}

const char* typeName(Type type) {
  switch (type) {
    case Type::String:
      return "string";
    case Type::Bool:
      return "bool";
    case Type::Int32:
      return "int32";
    case Type::Int64:
      return "int64";
    case Type::Double:
      return "double";
    case Type::Bytes:
      return "bytes";
    case Type::IntOrString:
      return "IntOrString";
    case Type::Quantity:
      return "Quantity";
    case Type::Time:
      return "Time";
    case Type::MicroTime:
      return "MicroTime";
    case Type::Duration:
      return "Duration";
    case Type::Message:
      return "message";
    case Type::Any:
      return "raw JSON";
  }
  return "value";
}

// The JSON a map entry without a value gets, as Go's zero value marshals.
Json zeroValue(const Field& field) {
  switch (field.type) {
    case Type::String:
    case Type::Bytes:
      return "";
    case Type::Bool:
      return false;
    case Type::Int32:
    case Type::Int64:
    case Type::IntOrString:
      return 0;
    case Type::Double:
      return 0.0;
    case Type::Quantity:
      return "0";
    case Type::Duration:
      return "0s";
    case Type::Message:
      return Json::object();
    case Type::Time:
    case Type::MicroTime:
    case Type::Any:
      return nullptr;
  }
  return nullptr;
}

const Field* fieldNumbered(const Message& message, uint64_t number) {
  for (const Field& field : message.fields)
    if (field.proto > 0 && uint64_t(field.proto) == number) return &field;
  return nullptr;
}

// One pass over a message's bytes; any failure leaves an error naming the
// JSON path being decoded and the byte offset in the current message.
class Decoder {
 public:
  std::vector<std::string> unknownFields;

  core::Error takeError() { return std::move(*error_); }

  bool message(std::string_view bytes, const Message& type, int depth, Json& out) {
    if (depth > kMaxProtobufDepth)
      return fail("messages nested deeper than " + std::to_string(kMaxProtobufDepth));
    out = Json::object();
    WireReader reader(bytes);
    while (!reader.done()) {
      size_t start = reader.position();
      uint64_t tag = 0;
      if (!reader.varint(tag)) return failAt(start, "truncated field tag");
      uint64_t number = tag >> 3;
      int wire = int(tag & 7);
      if (number == 0 || number > kMaxFieldNumber)
        return failAt(start, "invalid field number " + std::to_string(number));
      const Field* field = fieldNumbered(type, number);
      if (field == nullptr) {
        if (!skip(reader, wire, start)) return false;
        unknownFields.push_back((path_.empty() ? std::string() : path_ + ": ") + "field " +
                                std::to_string(number) + " of " + std::string(type.name));
        continue;
      }
      size_t pathLength = path_.size();
      if (!field->inlined) {  // an embedded struct's fields sit in this object's JSON
        if (!path_.empty()) path_ += '.';
        path_ += field->json;
      }
      bool ok = this->field(reader, wire, type, *field, depth, start, out);
      path_.resize(pathLength);
      if (!ok) return false;
    }
    return true;
  }

 private:
  bool fail(std::string what) {
    std::string where = path_.empty() ? std::string() : path_ + ": ";
    error_ = core::badRequest("invalid protobuf body: " + where + what);
    return false;
  }
  bool failAt(size_t offset, const std::string& what) {
    return fail(what + " at byte " + std::to_string(offset) + " of the message");
  }

  bool skip(WireReader& reader, int wire, size_t start) {
    uint64_t ignored = 0;
    std::string_view ignoredBytes;
    switch (wire) {
      case kVarint:
        if (reader.varint(ignored)) return true;
        return failAt(start, "truncated or overlong varint");
      case kFixed64:
        if (reader.fixed(8, ignored)) return true;
        return failAt(start, "truncated fixed64");
      case kFixed32:
        if (reader.fixed(4, ignored)) return true;
        return failAt(start, "truncated fixed32");
      case kLength:
        if (reader.lengthDelimited(ignoredBytes)) return true;
        return failAt(start, "length past the end of the message");
      default:
        return failAt(start, std::string("unsupported wire type ") + wireTypeName(wire));
    }
  }

  bool field(WireReader& reader, int wire, const Message& parent, const Field& field, int depth,
             size_t start, Json& out) {
    if (field.inlined) return embedded(reader, wire, field, depth, start, out);
    std::string name(field.json);
    if (field.shape == Shape::Map) return mapEntry(reader, wire, field, depth, start, out[name]);

    if (field.shape == Shape::List) {
      Json& list = out[name];
      if (!list.is_array()) list = Json::array();
      int expected = expectedWireType(field.type);
      // Packed repeated scalars: one length-delimited run of values.
      if (wire == kLength && expected != kLength) {
        std::string_view packed;
        if (!reader.lengthDelimited(packed))
          return failAt(start, "length past the end of the message");
        WireReader values(packed);
        while (!values.done()) {
          Json element;
          bool zero = false;
          if (!value(values, expected, field, depth, values.position(), element, zero))
            return false;
          list.push_back(std::move(element));
        }
        return true;
      }
      size_t pathLength = path_.size();
      path_ += "[" + std::to_string(list.size()) + "]";
      Json element;
      bool zero = false;
      bool ok = value(reader, wire, field, depth, start, element, zero);
      path_.resize(pathLength);
      if (!ok) return false;
      list.push_back(std::move(element));
      return true;
    }

    Json single;
    bool zero = false;
    if (!value(reader, wire, field, depth, start, single, zero)) return false;
    if (zero && !zeroIsMeaningful(parent, field.json))
      out.erase(name);
    else
      out[name] = std::move(single);
    return true;
  }

  // A Go embedded struct (`json:",inline"`): a sub-message on the wire whose
  // fields join the enclosing object in JSON.
  bool embedded(WireReader& reader, int wire, const Field& field, int depth, size_t start,
                Json& out) {
    if (wire != kLength || field.message == nullptr)
      return failAt(start,
                    std::string("wire type ") + wireTypeName(wire) + " for an embedded message");
    std::string_view bytes;
    if (!reader.lengthDelimited(bytes)) return failAt(start, "length past the end of the message");
    Json members;
    if (!message(bytes, *field.message, depth + 1, members)) return false;
    for (auto& [key, value] : members.items()) out[key] = std::move(value);
    return true;
  }

  // map<string, T> entries are messages {key=1, value=2}.
  bool mapEntry(WireReader& reader, int wire, const Field& field, int depth, size_t start,
                Json& map) {
    if (!map.is_object()) map = Json::object();
    if (wire != kLength)
      return failAt(start, std::string("map entry with wire type ") + wireTypeName(wire));
    std::string_view entry;
    if (!reader.lengthDelimited(entry)) return failAt(start, "length past the end of the message");
    WireReader entryReader(entry);
    std::string key;
    std::optional<Json> entryValue;
    while (!entryReader.done()) {
      size_t entryStart = entryReader.position();
      uint64_t tag = 0;
      if (!entryReader.varint(tag)) return failAt(entryStart, "truncated map entry tag");
      uint64_t number = tag >> 3;
      int entryWire = int(tag & 7);
      if (number == 1) {
        std::string_view keyBytes;
        if (entryWire != kLength) return failAt(entryStart, "map key is not a string");
        if (!entryReader.lengthDelimited(keyBytes))
          return failAt(entryStart, "map key length past the end of the entry");
        if (!validUtf8(keyBytes)) return failAt(entryStart, "map key is not valid UTF-8");
        key.assign(keyBytes);
      } else if (number == 2) {
        Json decoded;
        bool zero = false;
        size_t pathLength = path_.size();
        path_ += "[" + key + "]";
        bool ok = value(entryReader, entryWire, field, depth, entryStart, decoded, zero);
        path_.resize(pathLength);
        if (!ok) return false;
        entryValue = std::move(decoded);
      } else if (number == 0 || number > kMaxFieldNumber) {
        return failAt(entryStart, "invalid field number " + std::to_string(number));
      } else if (!skip(entryReader, entryWire, entryStart)) {
        return false;
      }
    }
    map[key] = entryValue ? std::move(*entryValue) : zeroValue(field);
    return true;
  }

  // One value of `field.type` (an element, for lists and maps). `zero` tells
  // whether it is the type's zero value (see zeroIsMeaningful).
  bool value(WireReader& reader, int wire, const Field& field, int depth, size_t start, Json& out,
             bool& zero) {
    int expected = expectedWireType(field.type);
    if (wire != expected)
      return failAt(start, std::string("wire type ") + wireTypeName(wire) + " for a " +
                               typeName(field.type) + " field (expected " + wireTypeName(expected) +
                               ")");
    if (expected == kVarint) {
      uint64_t raw = 0;
      if (!reader.varint(raw)) return failAt(start, "truncated or overlong varint");
      zero = raw == 0;
      if (field.type == Type::Bool)
        out = raw != 0;
      else if (field.type == Type::Int32)
        out = int32_t(uint32_t(raw));  // proto int32: the low 32 bits
      else
        out = int64_t(raw);
      if (field.type == Type::Int32) zero = int32_t(uint32_t(raw)) == 0;
      return true;
    }
    if (expected == kFixed64) {
      uint64_t raw = 0;
      if (!reader.fixed(8, raw)) return failAt(start, "truncated fixed64");
      double number;
      std::memcpy(&number, &raw, sizeof number);
      if (!std::isfinite(number)) return failAt(start, "a double that is not a finite number");
      zero = number == 0;
      out = number;
      return true;
    }
    std::string_view bytes;
    if (!reader.lengthDelimited(bytes)) return failAt(start, "length past the end of the message");
    switch (field.type) {
      case Type::String:
        if (!validUtf8(bytes)) return failAt(start, "a string that is not valid UTF-8");
        zero = bytes.empty();
        out = std::string(bytes);
        return true;
      case Type::Bytes:
        zero = bytes.empty();
        out = base64(bytes);
        return true;
      case Type::IntOrString:
        return intOrString(bytes, start, out, zero);
      case Type::Quantity:
        return quantity(bytes, start, out, zero);
      case Type::Time:
      case Type::MicroTime:
        return time(bytes, field.type == Type::MicroTime, start, out, zero);
      case Type::Duration:
        return duration(bytes, start, out, zero);
      case Type::Any:
        return rawJson(bytes, start, out, zero);
      case Type::Message:
        if (field.message == nullptr)
          return failAt(start, "the type table has no message for this field");
        zero = false;  // Go marshals empty structs as {}
        return message(bytes, *field.message, depth + 1, out);
      default:
        return failAt(start, "unexpected field type");
    }
  }

  // Reads the fields of a small fixed message (IntOrString, Quantity, Time,
  // Duration): `onField` gets each field's number, wire type and reader.
  template <typename OnField>
  bool smallMessage(std::string_view bytes, size_t start, const char* what, OnField onField) {
    WireReader reader(bytes);
    while (!reader.done()) {
      uint64_t tag = 0;
      if (!reader.varint(tag)) return failAt(start, std::string("truncated ") + what);
      uint64_t number = tag >> 3;
      int wire = int(tag & 7);
      if (number == 0 || number > kMaxFieldNumber)
        return failAt(start, std::string("invalid field number in ") + what);
      int handled = onField(number, wire, reader);
      if (handled < 0) return failAt(start, std::string("malformed ") + what);
      if (handled == 0 && !skip(reader, wire, start)) return false;
    }
    return true;
  }

  // Reads a varint field of a small message: 1 read, -1 malformed.
  static int varintField(int wire, WireReader& reader, uint64_t& value) {
    if (wire != kVarint) return -1;
    return reader.varint(value) ? 1 : -1;
  }
  static int stringField(int wire, WireReader& reader, std::string_view& value) {
    if (wire != kLength) return -1;
    return reader.lengthDelimited(value) && validUtf8(value) ? 1 : -1;
  }

  // IntOrString {type=1 (0 int, 1 string), intVal=2, strVal=3}.
  bool intOrString(std::string_view bytes, size_t start, Json& out, bool& zero) {
    uint64_t kind = 0, intVal = 0;
    std::string_view strVal;
    bool ok = smallMessage(bytes, start, "IntOrString", [&](uint64_t n, int wire, WireReader& r) {
      if (n == 1) return varintField(wire, r, kind);
      if (n == 2) return varintField(wire, r, intVal);
      if (n == 3) return stringField(wire, r, strVal);
      return 0;
    });
    if (!ok) return false;
    if (kind == 0) {
      out = int32_t(uint32_t(intVal));
      zero = int32_t(uint32_t(intVal)) == 0;
      return true;
    }
    if (kind == 1) {
      out = std::string(strVal);
      zero = false;
      return true;
    }
    return failAt(start, "IntOrString of type " + std::to_string(kind) + " (expected 0 or 1)");
  }

  // resource.Quantity {string=1}.
  bool quantity(std::string_view bytes, size_t start, Json& out, bool& zero) {
    std::string_view text;
    bool ok = smallMessage(bytes, start, "Quantity", [&](uint64_t n, int wire, WireReader& r) {
      return n == 1 ? stringField(wire, r, text) : 0;
    });
    if (!ok) return false;
    zero = text.empty();
    out = std::string(text);
    return true;
  }

  // metav1.Time and MicroTime {seconds=1, nanos=2}. Go writes the zero time
  // as an empty message and reads one back as the zero time (JSON null).
  // Time keeps seconds only, as upstream's Time.Unmarshal does.
  bool time(std::string_view bytes, bool micro, size_t start, Json& out, bool& zero) {
    uint64_t seconds = 0, nanos = 0;
    bool ok = smallMessage(bytes, start, "Time", [&](uint64_t n, int wire, WireReader& r) {
      if (n == 1) return varintField(wire, r, seconds);
      if (n == 2) return varintField(wire, r, nanos);
      return 0;
    });
    if (!ok) return false;
    if (bytes.empty()) {
      zero = true;
      out = nullptr;
      return true;
    }
    auto unixSeconds = int64_t(seconds);
    auto nanoseconds = int64_t(int32_t(uint32_t(nanos)));
    if (unixSeconds < kMinUnixSeconds || unixSeconds > kMaxUnixSeconds)
      return failAt(start, "a time outside the years 0001 to 9999");
    if (nanoseconds < 0 || nanoseconds >= 1000000000)
      return failAt(start, "a time whose nanoseconds are not within [0, 1e9)");
    zero = false;
    out = rfc3339(unixSeconds, nanoseconds, micro ? 6 : 0);
    return true;
  }

  // metav1.Duration {duration=1 (int64 nanoseconds)}.
  bool duration(std::string_view bytes, size_t start, Json& out, bool& zero) {
    uint64_t nanoseconds = 0;
    bool ok = smallMessage(bytes, start, "Duration", [&](uint64_t n, int wire, WireReader& r) {
      return n == 1 ? varintField(wire, r, nanoseconds) : 0;
    });
    if (!ok) return false;
    zero = nanoseconds == 0;
    out = goDuration(int64_t(nanoseconds));
    return true;
  }

  // Free-form JSON: a RawExtension or FieldsV1 message {raw=1 bytes holding
  // JSON}, or (tolerated) the JSON bytes themselves.
  bool rawJson(std::string_view bytes, size_t start, Json& out, bool& zero) {
    zero = bytes.empty();
    if (bytes.empty()) {
      out = nullptr;
      return true;
    }
    std::optional<std::string_view> raw;
    WireReader reader(bytes);
    bool envelope = true;
    while (envelope && !reader.done()) {
      uint64_t tag = 0;
      std::string_view value;
      if (!reader.varint(tag) || tag != ((1 << 3) | kLength) || !reader.lengthDelimited(value))
        envelope = false;
      else
        raw = value;
    }
    if (envelope && raw) {
      if (raw->empty()) {
        zero = true;
        out = nullptr;
        return true;
      }
      if (auto decoded = api::decodeJson(*raw)) {
        out = std::move(*decoded);
        return true;
      }
    }
    auto decoded = api::decodeJson(bytes);
    if (!decoded) return failAt(start, "raw JSON that does not parse: " + decoded.error().message);
    out = std::move(*decoded);
    return true;
  }

  std::string path_;
  std::optional<core::Error> error_;
};

// runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}.
struct Envelope {
  std::string_view apiVersion, kind, raw, contentEncoding, contentType;
};

core::Result<Envelope> readEnvelope(std::string_view bytes) {
  Envelope envelope;
  auto malformed = [](const std::string& what) {
    return core::badRequest("invalid protobuf body: the runtime.Unknown envelope has " + what);
  };
  auto readString = [](WireReader& reader, int wire, std::string_view& value) {
    return wire == kLength && reader.lengthDelimited(value);
  };
  WireReader reader(bytes);
  while (!reader.done()) {
    uint64_t tag = 0;
    if (!reader.varint(tag)) return malformed("a truncated field tag");
    uint64_t number = tag >> 3;
    int wire = int(tag & 7);
    std::string_view value;
    if (number == 1) {
      std::string_view typeMeta;
      if (!readString(reader, wire, typeMeta)) return malformed("a malformed typeMeta");
      WireReader typeReader(typeMeta);
      while (!typeReader.done()) {
        uint64_t typeTag = 0;
        std::string_view text;
        if (!typeReader.varint(typeTag) || !readString(typeReader, int(typeTag & 7), text))
          return malformed("a malformed typeMeta");
        if ((typeTag >> 3) == 1) envelope.apiVersion = text;
        if ((typeTag >> 3) == 2) envelope.kind = text;
      }
    } else if (number >= 2 && number <= 4) {
      if (!readString(reader, wire, value)) return malformed("a field past the end of the body");
      if (number == 2) envelope.raw = value;
      if (number == 3) envelope.contentEncoding = value;
      if (number == 4) envelope.contentType = value;
    } else {
      // Fields a newer envelope may add: skipped, as upstream's decoder does.
      uint64_t ignored = 0;
      bool skipped = (wire == kVarint && reader.varint(ignored)) ||
                     (wire == kFixed64 && reader.fixed(8, ignored)) ||
                     (wire == kFixed32 && reader.fixed(4, ignored)) ||
                     (wire == kLength && reader.lengthDelimited(value));
      if (number == 0 || !skipped) return malformed("a malformed field");
    }
  }
  if (!validUtf8(envelope.apiVersion) || !validUtf8(envelope.kind))
    return malformed("a typeMeta that is not valid UTF-8");
  return envelope;
}

}  // namespace

core::Result<DecodedProtobuf> decodeProtobufMessage(std::string_view bytes,
                                                    const api::schema::Message& message) {
  Decoder decoder;
  DecodedProtobuf decoded;
  if (!decoder.message(bytes, message, 0, decoded.object)) return decoder.takeError();
  decoded.unknownFields = std::move(decoder.unknownFields);
  return decoded;
}

core::Result<DecodedProtobuf> decodeProtobufBody(std::string_view body, const KindLookup& lookup) {
  if (body.size() < kProtobufMagic.size() ||
      body.substr(0, kProtobufMagic.size()) != kProtobufMagic)
    return core::badRequest(
        "invalid protobuf body: it does not start with the Kubernetes magic \"k8s\\x00\"");
  auto envelope = readEnvelope(body.substr(kProtobufMagic.size()));
  if (!envelope) return envelope.takeError();
  if (envelope->kind.empty() || envelope->apiVersion.empty())
    return core::badRequest("invalid protobuf body: the envelope names no apiVersion and kind");
  if (!envelope->contentEncoding.empty())
    return core::unsupportedMediaType("application/vnd.kubernetes.protobuf with contentEncoding " +
                                      std::string(envelope->contentEncoding));

  DecodedProtobuf decoded;
  std::string contentType = std::string(envelope->contentType);
  if (contentType == "application/json") {
    // An envelope may carry its object as JSON.
    auto json = api::decodeJson(envelope->raw);
    if (!json) return json.takeError();
    if (!json->is_object()) return core::badRequest("the request body must be a JSON object");
    decoded.object = std::move(*json);
  } else if (contentType.empty() || contentType == "application/vnd.kubernetes.protobuf") {
    const api::schema::Message* message =
        lookup ? lookup(envelope->apiVersion, envelope->kind) : nullptr;
    if (message == nullptr) {
      core::Error error = core::unsupportedMediaType("application/vnd.kubernetes.protobuf");
      error.message = "podnet cannot decode " + std::string(envelope->apiVersion) + " " +
                      std::string(envelope->kind) +
                      " from protobuf; send it as application/json instead";
      return error;
    }
    auto object = decodeProtobufMessage(envelope->raw, *message);
    if (!object) return object.takeError();
    decoded = std::move(*object);
  } else {
    return core::unsupportedMediaType("application/vnd.kubernetes.protobuf holding " + contentType);
  }
  decoded.object["apiVersion"] = std::string(envelope->apiVersion);
  decoded.object["kind"] = std::string(envelope->kind);
  return decoded;
}

}  // namespace podnet::apiserver
