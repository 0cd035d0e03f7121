#include "trace/target.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "core/ip.h"

namespace podnet::trace {

namespace {

bool parsePort(std::string_view text, uint16_t& out) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return false;
  out = static_cast<uint16_t>(value);
  return true;
}

bool validHost(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  if (isIpLiteral(host)) return true;
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
      return false;
  return host.find("..") == std::string::npos && host.front() != '.';
}

}  // namespace

bool isIpLiteral(const std::string& host) { return core::IpAddress::parse(host).has_value(); }

core::Result<Target> parseTarget(std::string_view text, bool udp) {
  Target target;
  target.text = std::string(text);
  target.protocol = udp ? "udp" : "tcp";
  std::string_view rest = text;
  std::string scheme;
  if (size_t colon = rest.find("://"); colon != std::string_view::npos) {
    scheme = std::string(rest.substr(0, colon));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
    rest.remove_prefix(colon + 3);
    if (scheme == "https")
      return core::badRequest(
          "https:// is not traced (the answer would be hidden in TLS): "
          "trace HOST:443 for the connection, or an http:// URL");
    if (scheme != "http") return core::badRequest("unsupported scheme " + scheme + "://");
    if (udp) return core::badRequest("--udp needs HOST:PORT, not a URL");
    target.http = true;
    target.port = 80;
    if (size_t slash = rest.find_first_of("/?"); slash != std::string_view::npos) {
      target.path = std::string(rest.substr(slash));
      if (target.path.front() == '?') target.path = "/" + target.path;
      rest = rest.substr(0, slash);
    }
    for (char c : target.path)
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
        return core::badRequest("the URL's path has a space or control character");
  }
  std::string host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return core::badRequest("unclosed [ in " + target.text);
    host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return core::badRequest("expected :PORT after ]");
      port = rest.substr(1);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    if (rest.find(':') != colon) {
      host = std::string(rest);  // a bare IPv6 address
    } else {
      host = std::string(rest.substr(0, colon));
      port = rest.substr(colon + 1);
    }
  } else {
    host = std::string(rest);
  }
  if (!port.empty() && !parsePort(port, target.port))
    return core::badRequest("invalid port \"" + std::string(port) + "\" in " + target.text);
  if (target.port == 0)
    return core::badRequest("no port in " + target.text + " (HOST:PORT, or an http:// URL)");
  if (!validHost(host)) return core::badRequest("invalid host \"" + host + "\"");
  target.host = host;
  return target;
}

ResolvConf parseResolvConf(std::string_view text) {
  ResolvConf conf;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key.empty() || key[0] == '#' || key[0] == ';') continue;
    std::vector<std::string> values;
    for (std::string v; words >> v;) values.push_back(v);
    if (key == "nameserver" && !values.empty()) {
      conf.nameservers.push_back(values[0]);
    } else if (key == "search" || key == "domain") {
      conf.search = values;  // the last one wins, as in glibc
    } else if (key == "options") {
      for (const std::string& option : values)
        if (option.rfind("ndots:", 0) == 0) {
          int n = 0;
          auto value = std::string_view(option).substr(6);
          if (std::from_chars(value.data(), value.data() + value.size(), n).ec == std::errc())
            conf.ndots = std::clamp(n, 0, 15);
        }
    }
  }
  return conf;
}

std::vector<std::string> queryNames(const std::string& name, const ResolvConf& conf) {
  if (name.empty()) return {};
  if (name.back() == '.') return {name.substr(0, name.size() - 1)};
  int dots = static_cast<int>(std::count(name.begin(), name.end(), '.'));
  std::vector<std::string> out;
  if (dots >= conf.ndots) out.push_back(name);
  for (const std::string& domain : conf.search) out.push_back(name + "." + domain);
  if (dots < conf.ndots) out.push_back(name);
  return out;
}

}  // namespace podnet::trace
