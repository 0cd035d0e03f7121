// The channel.k8s.io framing of exec and attach over WebSocket
// (v5.channel.k8s.io, which kubectl >= 1.30 offers alone; v4 without the
// close message): every binary message starts with its channel byte. Also the
// resize messages and the Status JSON that ends a session, which the SPDY path
// (v4.channel.k8s.io streams) shares byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace podnet::streaming {

enum class Channel : uint8_t {
  stdinData = 0,
  stdoutData = 1,
  stderrData = 2,
  status = 3,  // the Status JSON at the end of the session
  resize = 4,  // TerminalSize JSON, client to server
};

// v5: the message [255, ch] half-closes channel ch (kubectl sends [255, 0] at
// stdin EOF, and the process's stdin must then be closed).
constexpr uint8_t kCloseChannel = 255;

struct ChannelMessage {
  uint8_t channel = 0;       // with close: the channel being closed
  std::string_view payload;  // into the decoded message
  bool close = false;
};

// Splits a binary message. An empty message, and in v5 a close without a
// channel or with bytes after it, are errors (400). In v4, 255 is an ordinary
// channel number. Channels this does not know are returned as they are: the
// caller decides (kubelet ignores them).
core::Result<ChannelMessage> decodeChannelMessage(std::string_view message, bool v5 = true);

// The channel byte, then the payload.
std::string encodeChannelMessage(Channel channel, std::string_view payload);
// [255, ch]: half-closes `channel` (v5 only).
std::string encodeCloseMessage(Channel channel);

struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
};

// A resize payload: {"Width":W,"Height":H}, usually with a newline. kubelet
// reads the resize stream as a sequence of JSON objects, so several in one
// payload are accepted and the last wins. As with Go's decoder, keys match
// case-insensitively and unknown keys are ignored. Errors: not JSON, not an
// object, a missing field, or a value that is not an integer in 0..65535.
core::Result<TerminalSize> decodeResize(std::string_view payload);

// The Status JSON written on channel 3 (WebSocket) or on the error stream
// (SPDY v4) when the command has ended, exactly as kubelet marshals it
// (encoding/json field order, HTML characters escaped as \u003c etc.):
//   0 -> {"metadata":{},"status":"Success"}
//   N -> {"metadata":{},"status":"Failure","message":"command terminated with
//         non-zero exit code: error executing command [sh -c exit 3], exit code 3",
//         "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode",
//         "message":"3"}]}}
// kubectl then prints "command terminated with exit code N" and exits N; it
// accepts only 0..255 (a signal death is reported as 128 + the signal, as a
// shell does). The message's tail is what containerd says.
std::string exitStatusJson(int exitCode, const std::vector<std::string>& command);

// The Status for a command that could not be run at all (no such executable,
// no such container, ...), as kubelet's apierrors.NewInternalError(err):
// {"metadata":{},"status":"Failure","message":"Internal error occurred: <error>",
//  "reason":"InternalError","details":{"causes":[{"message":"<error>"}]},"code":500}
// kubelet's `error` reads "error executing command in container: " and the
// runtime's text; kubectl prints "error: " and the message, and exits 1.
std::string failureStatusJson(const std::string& error);

// Writes `text` as a JSON string the way Go's encoding/json does (so the bytes
// match kubelet's): <, >, & and U+2028/U+2029 as \u escapes, invalid UTF-8 as
// U+FFFD.
void appendGoJsonString(std::string& out, std::string_view text);

}  // namespace podnet::streaming
