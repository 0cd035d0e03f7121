#include "core/base64.h"

#include <cctype>
#include <cstdint>

namespace podnet::core {

std::string encodeBase64(std::string_view data) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t bits = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 |
                    uint32_t(uint8_t(data[i + 2]));
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(bits >> shift) & 63]);
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t bits = uint32_t(uint8_t(data[i])) << 16;
    if (rest == 2) bits |= uint32_t(uint8_t(data[i + 1])) << 8;
    out.push_back(alphabet[(bits >> 18) & 63]);
    out.push_back(alphabet[(bits >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(bits >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> decodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t bits = 0;
  int bitCount = 0;
  bool padding = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = value(c);
    if (v < 0 || padding) return std::nullopt;  // garbage, or data after '='
    bits = (bits << 6) | uint32_t(v);
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out.push_back(char((bits >> bitCount) & 0xff));
    }
  }
  if (bitCount >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

}  // namespace podnet::core
