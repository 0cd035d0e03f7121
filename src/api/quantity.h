// resource.Quantity (k8s.io/apimachinery/pkg/api/resource): the "1Gi",
// "500m", "1e3" of resource requests, PersistentVolume capacities and
// StorageClass sizes. Parsed as ParseQuantity does and printed as
// Quantity.String() does, so a table cell or a validation message reads as on
// a real cluster ("1536Mi" for "1.5Gi", "1G" for "1000M").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/codec.h"

namespace podnet::api {

class Quantity {
 public:
  enum class Format { DecimalExponent, BinarySI, DecimalSI };

  // nullopt with the reason in `error` (upstream's ErrFormatWrong,
  // ErrNumeric or ErrSuffix text) when the text is not a quantity.
  static std::optional<Quantity> parse(std::string_view text, std::string* error = nullptr);
  // A JSON value as the decoder reads a Quantity: a string, or a number
  // (written back by the JSON encoder in its shortest form).
  static std::optional<Quantity> fromJson(const Json& value, std::string* error = nullptr);

  // The canonical text (Quantity.String()): "0", "1Gi", "500m", "1e3".
  std::string toString() const;
  // -1, 0 or 1 (Quantity.Sign()).
  int sign() const;
  // -1, 0 or 1 as this is less than, equal to or greater than `other`
  // (Quantity.Cmp: by value, whatever the format).
  int compare(const Quantity& other) const;
  // The value rounded away from zero to a whole number, saturating at the
  // int64 range (Quantity.Value()).
  int64_t value() const;
  Format format() const { return format_; }

 private:
  // The value is mantissa_ * 10^scale_, rounded up to nano (10^-9) as
  // ParseQuantity does. Values beyond 128 bits (far outside any real
  // resource) keep their text and compare approximately.
  __int128 mantissa_ = 0;
  int32_t scale_ = 0;
  Format format_ = Format::DecimalSI;
  // The input text when ParseQuantity keeps it as the canonical form.
  std::string cached_;
  bool approximate_ = false;
  long double approx_ = 0;  // the value, for approximate comparisons
};

// ErrFormatWrong of apimachinery: the message of a quantity that does not parse.
extern const char* const kQuantityFormatError;

}  // namespace podnet::api
