// Command-line flags as podnet's commands take them: "--name value" or
// "--name=value", every flag with a value, "--help"/"-h" alone.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace podnet::core {

struct Flags {
  std::vector<std::pair<std::string, std::string>> values;  // (flag, value), in order
  bool help = false;
  std::string missingValue;  // a flag given last without its value
};

Flags splitFlags(const std::vector<std::string>& args);

// A whole decimal number (no sign, space or suffix): out, and true.
bool parseWholeNumber(const std::string& text, long& out);

}  // namespace podnet::core
