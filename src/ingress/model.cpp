#include "ingress/model.h"

#include <algorithm>
#include <cctype>

#include "api/object.h"

namespace podnet::ingress {

namespace {

using api::member;
using api::stringAt;

core::Error bad(const std::string& path, const std::string& message) {
  return core::badRequest(path + ": " + message);
}

core::Result<Backend> backendFromJson(const Json& item, const std::string& path) {
  if (!item.is_object()) return bad(path, "must be an object");
  Backend backend;
  if (const Json* service = member(item, "service")) {
    backend.service = stringAt(*service, "name");
    if (backend.service.empty()) return bad(path + ".service.name", "Required value");
    const Json* port = member(*service, "port");
    if (!port) return bad(path + ".service.port", "Required value");
    if (const Json* number = member(*port, "number"); number && number->is_number_integer()) {
      int64_t n = number->is_number_unsigned()
                      ? int64_t(std::min<uint64_t>(number->get<uint64_t>(), 1U << 20))
                      : number->get<int64_t>();
      if (n < 1 || n > 65535) return bad(path + ".service.port.number", "must be 1-65535");
      backend.portNumber = static_cast<uint16_t>(n);
    } else {
      backend.portName = stringAt(*port, "name");
      if (backend.portName.empty()) return bad(path + ".service.port", "needs a number or a name");
    }
    return backend;
  }
  if (const Json* resource = member(item, "resource")) {
    backend.resourceKind = stringAt(*resource, "kind");
    if (backend.resourceKind.empty()) backend.resourceKind = "resource";
    return backend;
  }
  return bad(path, "needs a service or a resource");
}

// Characters of a URL path (RFC 3986 pchar and "/"), percent escapes
// included; nothing that could be whitespace, a quote or a brace.
bool isPathChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~/!&'()*+,;=:@%").find(c) != std::string_view::npos;
}

bool isPath(const std::string& text, bool captures) {
  if (text.empty() || text[0] != '/' || text.size() > 1024) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (captures && c == '$') {
      if (i + 1 >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 1])))
        return false;
      ++i;
      continue;
    }
    if (!isPathChar(c)) return false;
    if (c == '%' &&
        (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
         !std::isxdigit(static_cast<unsigned char>(text[i + 2]))))
      return false;
  }
  return true;
}

// An HTTP token (RFC 9110): header and cookie names.
bool isToken(const std::string& text) {
  if (text.empty() || text.size() > 256) return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::optional<bool> parseBool(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

std::optional<uint64_t> parseUnsigned(const std::string& text, uint64_t max) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

std::optional<uint64_t> parseSize(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'k':
    case 'K':
      unit = 1024;
      break;
    case 'm':
    case 'M':
      unit = 1024 * 1024;
      break;
    case 'g':
    case 'G':
      unit = 1024ULL * 1024 * 1024;
      break;
    default:
      break;
  }
  if (unit != 1) digits.pop_back();
  auto n = parseUnsigned(digits, (uint64_t(1) << 40));
  if (!n) return std::nullopt;
  return *n * unit;
}

Annotations parseAnnotations(const std::map<std::string, std::string>& all) {
  Annotations a;
  const std::string prefix = kAnnotationPrefix;
  for (const auto& [key, raw] : all) {
    if (key.rfind(prefix, 0) != 0) continue;
    std::string name = key.substr(prefix.size());
    std::string value = trim(raw);
    auto refuse = [&](const std::string& why) { a.invalid.emplace_back(name, why); };
    auto flag = [&](bool& out) {
      if (auto b = parseBool(value))
        out = *b;
      else
        refuse("must be true or false");
    };
    auto seconds = [&](std::optional<uint32_t>& out) {
      if (auto n = parseUnsigned(value, 86400))
        out = static_cast<uint32_t>(*n);
      else
        refuse("must be a number of seconds (0-86400)");
    };
    if (name == "rewrite-target") {
      if (isPath(value, true))
        a.rewriteTarget = value;
      else
        refuse("must be a path starting with / (letters, digits, -._~!&'()*+,;=:@%, $1-$9)");
    } else if (name == "use-regex") {
      flag(a.useRegex);
    } else if (name == "ssl-redirect") {
      bool b = true;
      flag(b);
      a.sslRedirect = b;
    } else if (name == "force-ssl-redirect") {
      flag(a.forceSslRedirect);
    } else if (name == "app-root") {
      if (isPath(value, false))
        a.appRoot = value;
      else
        refuse("must be a path starting with /");
    } else if (name == "proxy-body-size") {
      if (auto size = parseSize(value))
        a.proxyBodySize = *size;
      else
        refuse("must be a size: a number with an optional k, m or g");
    } else if (name == "allowlist-source-range" || name == "whitelist-source-range") {
      std::vector<core::Cidr> ranges;
      bool ok = true;
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        std::string item = trim(
            value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (!item.empty()) {
          auto cidr = core::Cidr::parse(item);
          if (!cidr) {
            if (auto ip = core::IpAddress::parse(item))
              cidr = core::Cidr{*ip, int(ip->bitLength())};
          }
          if (!cidr) {
            ok = false;
            break;
          }
          ranges.push_back(*cidr);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (ok)
        a.allowSourceRange.insert(a.allowSourceRange.end(), ranges.begin(), ranges.end());
      else
        refuse("must be a comma-separated list of CIDRs");
    } else if (name == "backend-protocol") {
      std::string upper = value;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper == "HTTP" || upper == "AUTO_HTTP")
        a.backendProtocol = BackendProtocol::http;
      else if (upper == "HTTPS")
        a.backendProtocol = BackendProtocol::https;
      else if (upper == "GRPC")
        a.backendProtocol = BackendProtocol::grpc;
      else if (upper == "GRPCS")
        a.backendProtocol = BackendProtocol::grpcs;
      else
        refuse("must be HTTP, HTTPS, GRPC or GRPCS");
    } else if (name == "affinity") {
      if (value == "cookie") {
        if (!a.affinityCookie) a.affinityCookie = "INGRESSCOOKIE";
      } else {
        refuse("must be cookie");
      }
    } else if (name == "session-cookie-name") {
      if (isToken(value))
        a.affinityCookie = value;
      else
        refuse("must be a cookie name (an HTTP token)");
    } else if (name == "affinity-mode") {
      if (value != "balanced" && value != "persistent") refuse("must be balanced or persistent");
    } else if (name == "canary") {
      flag(a.canary);
    } else if (name == "canary-by-header") {
      if (isToken(value))
        a.canaryByHeader = value;
      else
        refuse("must be a header name");
    } else if (name == "canary-by-header-value") {
      bool visible = !value.empty() && value.size() <= 256;
      for (char c : value) visible &= c > 0x20 && c < 0x7f;
      if (visible)
        a.canaryByHeaderValue = value;
      else
        refuse("must be visible ASCII without spaces");
    } else if (name == "canary-by-cookie") {
      if (isToken(value))
        a.canaryByCookie = value;
      else
        refuse("must be a cookie name");
    } else if (name == "canary-weight") {
      if (auto n = parseUnsigned(value, 1000000))
        a.canaryWeight = static_cast<uint32_t>(*n);
      else
        refuse("must be a whole number");
    } else if (name == "canary-weight-total") {
      if (auto n = parseUnsigned(value, 1000000); n && *n > 0)
        a.canaryWeightTotal = static_cast<uint32_t>(*n);
      else
        refuse("must be a positive whole number");
    } else if (name == "proxy-connect-timeout") {
      seconds(a.connectTimeout);
    } else if (name == "proxy-read-timeout") {
      seconds(a.readTimeout);
    } else if (name == "proxy-send-timeout") {
      seconds(a.sendTimeout);
    } else if (name == "enable-cors") {
      flag(a.enableCors);
    } else {
      a.unsupported.push_back(name);
    }
  }
  if (a.canaryWeight && *a.canaryWeight > a.canaryWeightTotal) {
    a.invalid.emplace_back("canary-weight", "is more than canary-weight-total");
    a.canaryWeight = a.canaryWeightTotal;
  }
  return a;
}

core::Result<Ingress> ingressFromJson(const Json& object) {
  if (!object.is_object()) return core::badRequest("an Ingress must be an object");
  Ingress ingress;
  ingress.name = api::name(object);
  ingress.ns = api::namespaceOf(object);
  if (ingress.ns.empty()) ingress.ns = "default";
  if (ingress.name.empty()) return bad("metadata.name", "Required value");
  ingress.created =
      api::parseRfc3339(api::getString(object, Json::json_pointer("/metadata/creationTimestamp")));
  auto annotations = object.contains("metadata") && object["metadata"].is_object() &&
                             object["metadata"].contains("annotations")
                         ? api::stringMap(object["metadata"]["annotations"])
                         : std::map<std::string, std::string>();
  static const Json kEmpty = Json::object();
  const Json* spec = member(object, "spec");
  if (!spec) spec = &kEmpty;
  if (auto legacy = annotations.find(kLegacyClassAnnotation); legacy != annotations.end())
    ingress.className = legacy->second;  // the annotation, when present, wins
  else
    ingress.className = stringAt(*spec, "ingressClassName");
  if (const Json* backend = member(*spec, "defaultBackend")) {
    auto parsed = backendFromJson(*backend, "spec.defaultBackend");
    if (!parsed) return parsed.takeError();
    ingress.defaultBackend = std::move(*parsed);
  }
  if (const Json* rules = member(*spec, "rules")) {
    if (!rules->is_array()) return bad("spec.rules", "must be a list");
    for (size_t i = 0; i < rules->size(); ++i) {
      std::string path = "spec.rules[" + std::to_string(i) + "]";
      const Json& item = (*rules)[i];
      if (!item.is_object()) return bad(path, "must be an object");
      IngressRule rule;
      rule.host = stringAt(item, "host");
      for (char& c : rule.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const Json* http = member(item, "http");
      const Json* paths = http ? member(*http, "paths") : nullptr;
      if (paths && paths->is_array()) {
        for (size_t j = 0; j < paths->size(); ++j) {
          std::string p = path + ".http.paths[" + std::to_string(j) + "]";
          const Json& entry = (*paths)[j];
          IngressPath ip;
          ip.path = stringAt(entry, "path");
          if (ip.path.empty()) ip.path = "/";
          std::string type = stringAt(entry, "pathType");
          if (type == "Exact")
            ip.type = PathType::exact;
          else if (type == "Prefix")
            ip.type = PathType::prefix;
          else if (type == "ImplementationSpecific")
            ip.type = PathType::implementationSpecific;
          else
            return bad(p + ".pathType", "must be Exact, Prefix or ImplementationSpecific");
          const Json* backend = member(entry, "backend");
          if (!backend) return bad(p + ".backend", "Required value");
          auto parsed = backendFromJson(*backend, p + ".backend");
          if (!parsed) return parsed.takeError();
          ip.backend = std::move(*parsed);
          rule.paths.push_back(std::move(ip));
        }
      }
      ingress.rules.push_back(std::move(rule));
    }
  }
  if (const Json* tls = member(*spec, "tls"); tls && tls->is_array()) {
    for (const Json& item : *tls) {
      if (!item.is_object()) continue;
      IngressTls entry;
      entry.secretName = stringAt(item, "secretName");
      if (const Json* hosts = member(item, "hosts"); hosts && hosts->is_array())
        for (const Json& h : *hosts)
          if (h.is_string()) {
            std::string host = h.get<std::string>();
            for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            entry.hosts.push_back(host);
          }
      ingress.tls.push_back(std::move(entry));
    }
  }
  ingress.annotations = parseAnnotations(annotations);
  return ingress;
}

IngressClass ingressClassFromJson(const Json& object) {
  IngressClass c;
  c.name = api::name(object);
  if (const Json* spec = member(object, "spec")) c.controller = stringAt(*spec, "controller");
  if (object.contains("metadata") && object["metadata"].is_object() &&
      object["metadata"].contains("annotations")) {
    auto annotations = api::stringMap(object["metadata"]["annotations"]);
    auto it = annotations.find(kDefaultClassAnnotation);
    c.isDefault = it != annotations.end() && it->second == "true";
  }
  return c;
}

}  // namespace podnet::ingress
