// Fuzzes the channel.k8s.io framing with what kubectl (or anything that
// reaches the exec WebSocket) may send: channel messages as v4 and v5, resize
// payloads, and the Status JSON writer with arbitrary command and error text,
// whose output must always be JSON that reads back as the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "streaming/channel.h"

namespace streaming = podnet::streaming;

namespace {

// The payload must lie inside the message it was decoded from.
void checkWithin(std::string_view message, const streaming::ChannelMessage& decoded) {
  if (decoded.payload.empty()) return;
  if (decoded.payload.data() < message.data() ||
      decoded.payload.data() + decoded.payload.size() > message.data() + message.size())
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool v5 : {true, false}) {
    auto decoded = streaming::decodeChannelMessage(input, v5);
    if (!decoded) {
      if (!input.empty() && !(v5 && static_cast<uint8_t>(input[0]) == 255)) std::abort();
      continue;
    }
    checkWithin(input, *decoded);
    if (decoded->close && (!v5 || input.size() != 2)) std::abort();
    if (!decoded->close && decoded->payload.size() + 1 != input.size()) std::abort();
    if (decoded->channel == static_cast<uint8_t>(streaming::Channel::resize) && !decoded->close)
      (void)streaming::decodeResize(decoded->payload);
  }
  auto resize = streaming::decodeResize(input);
  if (!resize && resize.error().message.empty()) std::abort();

  std::string quoted;
  streaming::appendGoJsonString(quoted, input);
  auto back = nlohmann::json::parse(quoted, nullptr, false);
  if (!back.is_string()) std::abort();
  // Without invalid UTF-8 (which becomes U+FFFD) the text comes back as it was.
  if (quoted.find("\\ufffd") == std::string::npos && back.get<std::string>() != input) std::abort();
  for (const auto& status :
       {streaming::exitStatusJson(static_cast<int>(size % 256), {"sh", "-c", std::string(input)}),
        streaming::failureStatusJson(std::string(input))}) {
    auto json = nlohmann::json::parse(status, nullptr, false);
    if (!json.is_object() || !json.contains("status")) std::abort();
  }
  return 0;
}
