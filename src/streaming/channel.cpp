#include "streaming/channel.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace podnet::streaming {

namespace {

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The extent of the JSON value starting at `text[0]` when it is an object:
// braces are counted outside strings. nlohmann then checks the slice; this
// only has to find where one object ends and the next begins.
std::optional<size_t> objectLength(std::string_view text) {
  if (text.empty() || text[0] != '{') return std::nullopt;
  size_t depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::nullopt;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

core::Result<uint16_t> dimension(const nlohmann::json& object, std::string_view key) {
  // Go's decoder also takes keys that differ in case (kubectl sends these
  // exact ones); when both forms appear, the exact one wins here.
  const nlohmann::json* found = nullptr;
  for (const auto& [name, value] : object.items()) {
    if (name == key) {
      found = &value;
      break;
    }
    if (!found && equalsIgnoreCase(name, key)) found = &value;
  }
  if (!found) return core::badRequest("resize message without " + std::string(key));
  if (!found->is_number_unsigned() || found->get<uint64_t>() > 65535)
    return core::badRequest("resize message: " + std::string(key) +
                            " is not an integer in 0..65535");
  return static_cast<uint16_t>(found->get<uint64_t>());
}

// The length of the UTF-8 sequence at `text[0]` if it is valid as Go's
// utf8.DecodeRuneInString sees it (no overlong forms, surrogates or code
// points past U+10FFFF), else 0.
size_t validUtf8Length(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  auto within = [&](size_t i, uint8_t low, uint8_t high) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  uint8_t lead = byte(0);
  if (lead >= 0xc2 && lead <= 0xdf) return within(1, 0x80, 0xbf) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    uint8_t low = lead == 0xe0 ? 0xa0 : 0x80;
    uint8_t high = lead == 0xed ? 0x9f : 0xbf;
    return within(1, low, high) && within(2, 0x80, 0xbf) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    uint8_t low = lead == 0xf0 ? 0x90 : 0x80;
    uint8_t high = lead == 0xf4 ? 0x8f : 0xbf;
    return within(1, low, high) && within(2, 0x80, 0xbf) && within(3, 0x80, 0xbf) ? 4 : 0;
  }
  return 0;
}

}  // namespace

core::Result<ChannelMessage> decodeChannelMessage(std::string_view message, bool v5) {
  if (message.empty()) return core::badRequest("empty channel message");
  auto channel = static_cast<uint8_t>(message[0]);
  if (v5 && channel == kCloseChannel) {
    if (message.size() != 2)
      return core::badRequest("close message of " + std::to_string(message.size()) +
                              " bytes, not 2");
    return ChannelMessage{static_cast<uint8_t>(message[1]), {}, true};
  }
  return ChannelMessage{channel, message.substr(1), false};
}

std::string encodeChannelMessage(Channel channel, std::string_view payload) {
  std::string message;
  message.reserve(payload.size() + 1);
  message.push_back(static_cast<char>(channel));
  message.append(payload);
  return message;
}

std::string encodeCloseMessage(Channel channel) {
  return {static_cast<char>(kCloseChannel), static_cast<char>(channel)};
}

core::Result<TerminalSize> decodeResize(std::string_view payload) {
  std::optional<TerminalSize> last;
  for (;;) {
    while (!payload.empty() && isJsonSpace(payload.front())) payload.remove_prefix(1);
    if (payload.empty()) break;
    auto length = objectLength(payload);
    if (!length) return core::badRequest("resize message is not a JSON object");
    auto object = nlohmann::json::parse(payload.substr(0, *length), nullptr, false);
    payload.remove_prefix(*length);
    if (object.is_discarded() || !object.is_object())
      return core::badRequest("resize message is not a JSON object");
    auto width = dimension(object, "Width");
    if (!width) return width.takeError();
    auto height = dimension(object, "Height");
    if (!height) return height.takeError();
    last = TerminalSize{*width, *height};
  }
  if (!last) return core::badRequest("empty resize message");
  return *last;
}

void appendGoJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          // Go escapes <, > and & too (HTML safety), and other controls as \u00XX.
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t length = validUtf8Length(text.substr(i));
    if (length == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    std::string_view sequence = text.substr(i, length);
    if (sequence == "\xe2\x80\xa8")
      out += "\\u2028";
    else if (sequence == "\xe2\x80\xa9")
      out += "\\u2029";
    else
      out.append(sequence);
    i += length;
  }
  out.push_back('"');
}

std::string exitStatusJson(int exitCode, const std::vector<std::string>& command) {
  if (exitCode == 0) return R"({"metadata":{},"status":"Success"})";
  // containerd's CodeExitError text, with Go's %v of a []string for the command.
  std::string error = "error executing command [";
  for (size_t i = 0; i < command.size(); ++i) {
    if (i) error.push_back(' ');
    error += command[i];
  }
  error += "], exit code " + std::to_string(exitCode);
  std::string json = R"({"metadata":{},"status":"Failure","message":)";
  appendGoJsonString(json, "command terminated with non-zero exit code: " + error);
  json += R"(,"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":")";
  json += std::to_string(exitCode);
  json += R"("}]}})";
  return json;
}

std::string failureStatusJson(const std::string& error) {
  std::string json = R"({"metadata":{},"status":"Failure","message":)";
  appendGoJsonString(json, "Internal error occurred: " + error);
  json += R"(,"reason":"InternalError","details":{"causes":[{)";
  // The cause's message is omitempty in Go.
  if (!error.empty()) {
    json += R"("message":)";
    appendGoJsonString(json, error);
  }
  json += R"(}]},"code":500})";
  return json;
}

}  // namespace podnet::streaming
