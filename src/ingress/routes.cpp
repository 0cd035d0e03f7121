#include "ingress/routes.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "api/object.h"
#include "ingress/backend_catalog.h"
#include "ingress/gateway_routes.h"
#include "ingress/metrics.h"

namespace podnet::ingress {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::optional<std::string> normalizePath(std::string_view path) {
  if (path.empty() || path[0] != '/' || path.size() > 65536) return std::nullopt;
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f || c == '#' || c == '?') return std::nullopt;
    if (c != '%') {
      decoded.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    int hi = hexValue(path[i + 1]), lo = hexValue(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    unsigned char v = static_cast<unsigned char>(hi * 16 + lo);
    if (unreserved(v)) {
      decoded.push_back(static_cast<char>(v));
    } else {
      static const char* digits = "0123456789ABCDEF";
      decoded.push_back('%');
      decoded.push_back(digits[v >> 4]);
      decoded.push_back(digits[v & 15]);
    }
    i += 2;
  }
  // Dot segments and empty segments (duplicate slashes) go; a trailing
  // slash stays ("/foo/" is not "/foo" to an Exact rule).
  std::vector<std::string_view> stack;
  std::string_view rest(decoded);
  rest.remove_prefix(1);
  bool trailing = decoded.size() > 1 && decoded.back() == '/';
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (!stack.empty()) stack.pop_back();
      if (last) trailing = true;
    } else if (segment == ".") {
      if (last) trailing = true;
    } else if (!segment.empty()) {
      stack.push_back(segment);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string out = "/";
  for (size_t i = 0; i < stack.size(); ++i) {
    if (i) out += '/';
    out += stack[i];
  }
  if (trailing && !stack.empty()) out += '/';
  return out;
}

bool prefixMatches(std::string_view rulePath, std::string_view path) {
  while (rulePath.size() > 1 && rulePath.back() == '/') rulePath.remove_suffix(1);
  if (rulePath.empty() || rulePath == "/") return true;
  if (path.size() < rulePath.size() || path.compare(0, rulePath.size(), rulePath) != 0)
    return false;
  return path.size() == rulePath.size() || path[rulePath.size()] == '/';
}

std::string hostName(std::string_view header) {
  std::string host(header);
  if (!host.empty() && host[0] == '[') {  // [v6]:port
    size_t close = host.find(']');
    host = close == std::string::npos ? host : host.substr(0, close + 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  while (!host.empty() && host.back() == '.') host.pop_back();
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return host;
}

// ---- matching -------------------------------------------------------------------

namespace {

// $1-$9 of `target` replaced by the regex's captures in `path`.
std::string rewrite(const std::string& target, const re2::RE2* regex, std::string_view path) {
  std::vector<std::string> captures(10);
  if (regex) {
    int groups = std::min(regex->NumberOfCapturingGroups(), 9);
    std::vector<re2::StringPiece> pieces(size_t(groups) + 1);
    if (regex->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(),
                     re2::RE2::ANCHOR_START, pieces.data(), groups + 1))
      for (int i = 0; i <= groups; ++i) captures[size_t(i)] = std::string(pieces[size_t(i)]);
  }
  std::string out;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '$' && i + 1 < target.size() &&
        std::isdigit(static_cast<unsigned char>(target[i + 1]))) {
      out += captures[size_t(target[i + 1] - '0')];
      ++i;
    } else {
      out += target[i];
    }
  }
  // A rewrite may produce "//x" (an empty capture next to a slash).
  auto normalized = normalizePath(out.empty() || out[0] != '/' ? "/" + out : out);
  return normalized ? *normalized : "/";
}

bool routeMatches(const Route& route, std::string_view path) {
  if (route.regex)
    return route.regex->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(),
                              re2::RE2::ANCHOR_START, nullptr, 0);
  if (route.type == PathType::exact) return path == route.path;
  return prefixMatches(route.path, path);
}

}  // namespace

RouteMatch RoutingTable::matchIn(const HostRoutes& host, std::string_view path) {
  RouteMatch m;
  for (const auto& route : host.routes)
    if (routeMatches(*route, path)) {
      m.route = route.get();
      break;
    }
  if (!m.route && host.fallback) m.route = host.fallback.get();
  if (!m.route) return m;
  const auto& rt = m.route->annotations ? m.route->annotations->rewriteTarget : std::nullopt;
  m.upstreamPath = rt ? rewrite(*rt, m.route->regex.get(), path) : std::string(path);
  return m;
}

RouteMatch RoutingTable::match(std::string_view host, std::string_view path) const {
  std::string name = hostName(host);
  if (auto it = exact_.find(name); it != exact_.end()) {
    RouteMatch m = matchIn(it->second, path);
    if (m.route) return m;
  } else if (size_t dot = name.find('.'); dot != std::string::npos) {
    if (auto w = wildcard_.find(name.substr(dot + 1)); w != wildcard_.end()) {
      RouteMatch m = matchIn(w->second, path);
      if (m.route) return m;
    }
  }
  RouteMatch m = matchIn(anyHost_, path);
  if (m.route) return m;
  if (defaultBackend_) {
    m.route = defaultBackend_.get();
    m.upstreamPath = std::string(path);
  }
  return m;
}

const Certificate* RoutingTable::certificateFor(std::string_view serverName) const {
  std::string name = hostName(serverName);
  if (auto it = certificates_.find(name); it != certificates_.end()) return &it->second;
  if (size_t dot = name.find('.'); dot != std::string::npos)
    if (auto it = wildcardCertificates_.find(name.substr(dot + 1));
        it != wildcardCertificates_.end())
      return &it->second;
  return nullptr;
}

std::vector<const Certificate*> RoutingTable::certificates() const {
  std::vector<const Certificate*> all;
  for (const auto& [host, c] : certificates_) all.push_back(&c);
  for (const auto& [host, c] : wildcardCertificates_) all.push_back(&c);
  for (const auto& [bind, port] : gatewayPorts_)
    for (const auto& listener : port.listeners)
      if (listener.certificate) all.push_back(listener.certificate.get());
  return all;
}

size_t RoutingTable::routeCount() const {
  size_t n = anyHost_.routes.size();
  for (const auto& [h, r] : exact_) n += r.routes.size();
  for (const auto& [h, r] : wildcard_) n += r.routes.size();
  for (const auto& [bind, port] : gatewayPorts_)
    for (const auto& listener : port.listeners) {
      n += listener.anyHost.size;
      for (const auto& [h, m] : listener.exactHosts) n += m.size;
      for (const auto& [h, m] : listener.wildcardHosts) n += m.size;
    }
  return n;
}

// ---- compiling --------------------------------------------------------------------

struct RoutingTableBuilder {
  const RouteInputs& in;
  CompiledRoutes out;
  std::shared_ptr<RoutingTable> table = std::make_shared<RoutingTable>();
  BackendCatalog& catalog;
  // (host, path, type) -> the route that owns it.
  std::map<std::tuple<std::string, std::string, int>, std::shared_ptr<Route>> owners;
  std::map<std::string, RoutingTable::HostRoutes*> hostsByName;

  RoutingTableBuilder(const RouteInputs& inputs, BackendCatalog& backends)
      : in(inputs), catalog(backends) {}

  void diagnose(const std::string& ingress, const std::string& reason, const std::string& message) {
    Diagnostic d{ingress, reason, message};
    if (std::find(out.diagnostics.begin(), out.diagnostics.end(), d) == out.diagnostics.end())
      out.diagnostics.push_back(std::move(d));
  }

  std::shared_ptr<const BackendTarget> backendFor(const Ingress& ingress, const Backend& b) {
    if (!b.isService()) {
      auto target = std::make_shared<BackendTarget>();
      target->service = ingress.ns + "/" + b.service;
      target->problem = b.resourceKind + " backends are not served";
      diagnose(ingress.key(), "UnsupportedBackend", target->problem);
      return target;
    }
    auto resolved = catalog.resolve(ingress.ns, b.service, uint16_t(b.portNumber), b.portName);
    if (!resolved.reason.empty())
      diagnose(ingress.key(), resolved.reason, resolved.target->problem);
    return resolved.target;
  }

  RoutingTable::HostRoutes& hostRoutes(const std::string& host) {
    if (host.empty()) return table->anyHost_;
    if (host.rfind("*.", 0) == 0) return table->wildcard_[host.substr(2)];
    return table->exact_[host];
  }

  void addCertificates(const Ingress& ingress) {
    for (const auto& tls : ingress.tls) {
      if (tls.secretName.empty()) continue;
      std::string why;
      auto pair = catalog.tlsPair(ingress.ns, tls.secretName, why);
      if (!pair) {
        diagnose(ingress.key(),
                 why.find("not found") != std::string::npos ? "SecretNotFound" : "InvalidSecret",
                 why);
        continue;
      }
      std::string key = ingress.ns + "/" + tls.secretName;
      for (const auto& host : tls.hosts) {
        auto& map = host.rfind("*.", 0) == 0 ? table->wildcardCertificates_ : table->certificates_;
        std::string name = host.rfind("*.", 0) == 0 ? host.substr(2) : host;
        map.emplace(name, Certificate{key, pair->certPem, pair->keyPem});  // the oldest keeps it
      }
    }
  }

  bool tlsFor(const Ingress& ingress, const std::string& host) {
    for (const auto& tls : ingress.tls)
      for (const auto& h : tls.hosts)
        if (h == host) return true;
    return false;
  }

  static void setLabels(Route& route, const Ingress& ingress, const std::string& host,
                        const std::string& path, const Backend& backend) {
    route.metricLabels = routeMetricLabels(ingress.ns, ingress.name, host, path, backend.service);
    route.labels = labelsKey(route.metricLabels);
  }

  std::shared_ptr<Route> makeRoute(const Ingress& ingress,
                                   const std::shared_ptr<const Annotations>& annotations,
                                   const std::string& host, const IngressPath& p) {
    auto route = std::make_shared<Route>();
    route->ingress = ingress.key();
    route->host = host;
    route->path = p.path;
    route->type = p.type;
    route->annotations = annotations;
    route->tls = tlsFor(ingress, host);
    route->backend = backendFor(ingress, p.backend);
    setLabels(*route, ingress, host, p.path, p.backend);
    bool regex = p.type == PathType::implementationSpecific &&
                 (annotations->useRegex || annotations->rewriteTarget);
    if (regex) {
      re2::RE2::Options options;
      options.set_case_sensitive(false);
      options.set_log_errors(false);
      options.set_max_mem(1 << 20);
      auto compiled = std::make_shared<re2::RE2>(p.path, options);
      if (!compiled->ok()) {
        diagnose(ingress.key(), "InvalidPath",
                 "path " + p.path + " is not a regular expression: " + compiled->error());
        return nullptr;
      }
      route->regex = std::move(compiled);
    }
    return route;
  }

  void addIngress(const Ingress& ingress, bool canaryPass) {
    auto annotations = std::make_shared<const Annotations>(ingress.annotations);
    if (!canaryPass) {
      for (const auto& name : ingress.annotations.unsupported)
        diagnose(ingress.key(), "UnsupportedAnnotation",
                 std::string(kAnnotationPrefix) + name + " is not supported by podnet: ignored");
      for (const auto& [name, why] : ingress.annotations.invalid)
        diagnose(ingress.key(), "InvalidAnnotation",
                 std::string(kAnnotationPrefix) + name + " " + why + ": ignored");
      addCertificates(ingress);
    }
    for (const auto& rule : ingress.rules)
      for (const auto& p : rule.paths) {
        auto route = makeRoute(ingress, annotations, rule.host, p);
        if (!route) continue;
        auto key = std::make_tuple(rule.host, p.path, int(p.type));
        auto owner = owners.find(key);
        if (canaryPass) {
          if (owner == owners.end()) {
            diagnose(ingress.key(), "CanaryWithoutMain",
                     "canary path " + rule.host + p.path + " has no main Ingress: not served");
            continue;
          }
          owner->second->canaries.push_back(route);
          continue;
        }
        if (owner != owners.end()) {
          diagnose(ingress.key(), "Conflict",
                   "host " + (rule.host.empty() ? std::string("*") : rule.host) + " path " +
                       p.path + " is served by " + owner->second->ingress + " (older)");
          continue;
        }
        owners.emplace(key, route);
        hostRoutes(rule.host).routes.push_back(route);
      }
    if (canaryPass || !ingress.defaultBackend) return;
    auto fallback = std::make_shared<Route>();
    fallback->ingress = ingress.key();
    fallback->path = "/";
    fallback->annotations = annotations;
    fallback->backend = backendFor(ingress, *ingress.defaultBackend);
    setLabels(*fallback, ingress, "", "", *ingress.defaultBackend);
    if (ingress.rules.empty()) {
      if (!table->defaultBackend_) table->defaultBackend_ = fallback;
      return;
    }
    for (const auto& rule : ingress.rules) {
      auto& host = hostRoutes(rule.host);
      if (!host.fallback) host.fallback = fallback;
    }
  }

  static void sortRoutes(RoutingTable::HostRoutes& host) {
    std::stable_sort(
        host.routes.begin(), host.routes.end(),
        [](const std::shared_ptr<const Route>& a, const std::shared_ptr<const Route>& b) {
          if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
          return (a->type == PathType::exact) > (b->type == PathType::exact);
        });
  }

  void build() {
    // The classes served: ours by controller, and the configured names.
    std::set<std::string> classes(in.classes.begin(), in.classes.end());
    bool defaultIsOurs = false;
    for (const auto& c : in.ingressClasses) {
      IngressClass ic = ingressClassFromJson(*c);
      bool ours = ic.controller == kController;
      if (ours) classes.insert(ic.name);
      if (!ours) classes.erase(ic.name);  // another controller's class
      if (ic.isDefault) defaultIsOurs = ours;
    }
    std::vector<Ingress> ingresses;
    for (const auto& objectPtr : in.ingresses) {
      const Json& object = *objectPtr;
      auto parsed = ingressFromJson(object);
      if (!parsed) {
        std::string key = api::namespaceOf(object) + "/" + api::name(object);
        diagnose(key, "Invalid", parsed.error().message);
        continue;
      }
      bool served =
          parsed->className.empty() ? defaultIsOurs : classes.count(parsed->className) > 0;
      if (!served) continue;
      ingresses.push_back(std::move(*parsed));
    }
    // The oldest first: it keeps a host, path or certificate both claim.
    std::sort(ingresses.begin(), ingresses.end(), [](const Ingress& a, const Ingress& b) {
      return std::tie(a.created, a.ns, a.name) < std::tie(b.created, b.ns, b.name);
    });
    for (const auto& ingress : ingresses) {
      out.served.push_back(ingress.key());
      if (!ingress.annotations.canary) addIngress(ingress, false);
    }
    for (const auto& ingress : ingresses)
      if (ingress.annotations.canary) addIngress(ingress, true);
    sortRoutes(table->anyHost_);
    for (auto& [name, host] : table->exact_) sortRoutes(host);
    for (auto& [name, host] : table->wildcard_) sortRoutes(host);
    out.table = table;
  }
};

CompiledRoutes compileRoutes(const RouteInputs& inputs) {
  BackendCatalog catalog(inputs);
  RoutingTableBuilder builder(inputs, catalog);
  builder.build();
  compileGateways(inputs, catalog, *builder.table, builder.out);
  builder.out.table = builder.table;
  return std::move(builder.out);
}

}  // namespace podnet::ingress
