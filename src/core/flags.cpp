#include "core/flags.h"

#include <charconv>

namespace podnet::core {

Flags splitFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (flag == "--help" || flag == "-h") {
      flags.help = true;
      continue;
    }
    if (size_t equals = flag.find('='); equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag.resize(equals);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      flags.missingValue = flag;
      break;
    }
    flags.values.emplace_back(std::move(flag), std::move(value));
  }
  return flags;
}

bool parseWholeNumber(const std::string& text, long& out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace podnet::core
