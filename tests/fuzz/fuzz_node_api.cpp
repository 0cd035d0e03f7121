// Fuzzes what the node API reads from outside before any session starts:
// the query string (%-escapes, repeated keys), sinceTime (RFC 3339), and the
// readers of its own files and sockets that a broken writer could feed (CRI
// log lines, attach frames). Each must return or refuse, never crash, and
// what it returns must hold together (a payload inside its input, a time
// that prints and parses back to itself).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/query.h"
#include "runtime/container_log.h"
#include "runtime/container_shim.h"

namespace runtime = podnet::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& [key, value] : podnet::http::queryParameters(input))
    if (key.size() > input.size() || value.size() > input.size()) std::abort();
  if (auto decoded = podnet::http::urlDecode(input, true); decoded && decoded->size() > size)
    std::abort();
  std::string encoded = podnet::http::urlEncode(input);
  if (podnet::http::urlDecode(encoded, false) != std::string(input)) std::abort();

  if (auto time = runtime::parseRfc3339(input)) {
    std::string printed = runtime::rfc3339Nano(*time);
    if (runtime::parseRfc3339(printed) != time) std::abort();
  }
  if (auto entry = runtime::parseLogLine(input)) {
    if (entry->content.size() > size) std::abort();
    std::string line;
    runtime::appendLogLine(line, entry->time, entry->stream, entry->partial, entry->content);
    line.pop_back();
    auto again = runtime::parseLogLine(line);
    if (!again || again->content != entry->content || again->partial != entry->partial)
      std::abort();
  }
  size_t offset = 0;
  while (offset < input.size()) {
    runtime::AttachStream stream;
    std::string_view payload;
    long consumed = runtime::parseAttachFrame(input.substr(offset), stream, payload, 4096);
    if (consumed <= 0) break;
    if (payload.data() < input.data() || payload.data() + payload.size() > input.data() + size)
      std::abort();
    offset += static_cast<size_t>(consumed);
  }
  return 0;
}
