#include "ingress/gateway_routes.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "api/object.h"
#include "http/query.h"
#include "ingress/gateway_model.h"
#include "ingress/gateway_service.h"
#include "ingress/gateway_status.h"
#include "ingress/metrics.h"
#include "pki/certificates.h"

namespace podnet::ingress {

namespace gw = gateway;

std::optional<uint64_t> parseGatewayDuration(std::string_view text) {
  // The specification's grammar: ^([0-9]{1,5}(h|m|s|ms)){1,4}$
  if (text.empty()) return std::nullopt;
  uint64_t total = 0;
  size_t i = 0, parts = 0;
  while (i < text.size()) {
    size_t start = i;
    uint64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
      value = value * 10 + uint64_t(text[i++] - '0');
    if (i == start || i - start > 5 || i == text.size()) return std::nullopt;
    uint64_t unit = 0;
    if (text.compare(i, 2, "ms") == 0) {
      unit = 1;
      i += 2;
    } else if (text[i] == 'h') {
      unit = 3600000;
      ++i;
    } else if (text[i] == 'm') {
      unit = 60000;
      ++i;
    } else if (text[i] == 's') {
      unit = 1000;
      ++i;
    } else {
      return std::nullopt;
    }
    total += value * unit;
    if (++parts > 4) return std::nullopt;
  }
  return total;
}

std::string replacePrefix(std::string_view path, std::string_view prefix,
                          std::string_view replacement) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/") prefix = "";
  std::string_view rest = path.size() >= prefix.size() ? path.substr(prefix.size()) : "";
  std::string out(replacement);
  if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/')
    rest.remove_prefix(1);
  out += rest;
  if (out.empty() || out[0] != '/') out.insert(out.begin(), '/');
  return out;
}

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::shared_ptr<const re2::RE2> compileRegex(const std::string& pattern, std::string& why) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(1 << 20);
  auto regex = std::make_shared<re2::RE2>(pattern, options);
  if (!regex->ok()) {
    why = regex->error();
    return nullptr;
  }
  return regex;
}

const std::shared_ptr<const Annotations>& noAnnotations() {
  static const auto none = std::make_shared<const Annotations>();
  return none;
}

HeaderEdits headerEdits(const gw::HeaderModifier& m) {
  HeaderEdits edits;
  for (const auto& [name, value] : m.set) edits.set.push_back({name, value});
  for (const auto& [name, value] : m.add) edits.add.push_back({name, value});
  edits.remove = m.remove;
  return edits;
}

std::optional<PathReplacement> pathReplacement(const std::optional<gw::PathModifier>& m) {
  if (!m) return std::nullopt;
  if (m->type == "ReplaceFullPath") return PathReplacement{true, m->value};
  if (m->type == "ReplacePrefixMatch") return PathReplacement{false, m->value};
  return std::nullopt;
}

// How specific a listener hostname is (larger first): exact, then longer
// wildcards, then none.
std::pair<int, size_t> hostnameRank(const std::string& hostname) {
  if (hostname.empty()) return {0, 0};
  if (hostname.rfind("*.", 0) == 0) return {1, hostname.size()};
  return {2, hostname.size()};
}

struct Matcher {
  gw::MatchKey key;
  GatewayMatch match;
};

}  // namespace

struct GatewayTableBuilder {
  const RouteInputs& in;
  BackendCatalog& catalog;
  RoutingTable& table;
  CompiledRoutes& out;
  std::vector<gw::GatewayClass> classes;
  std::vector<gw::Gateway> gateways;
  std::vector<gw::HttpRoute> routes;
  std::vector<gw::ReferenceGrant> grants;
  std::map<std::string, std::map<std::string, std::string>> namespaceLabels;
  std::map<std::string, gw::GatewayServiceInfo> services;  // by Gateway key
  // One Route per rule of each HTTPRoute, shared by the listeners it attaches to.
  std::map<std::pair<const gw::HttpRoute*, size_t>, std::shared_ptr<const Route>> rules;

  void diagnose(const std::string& object, const std::string& reason, const std::string& message) {
    Diagnostic d{object, reason, message};
    if (std::find(out.diagnostics.begin(), out.diagnostics.end(), d) == out.diagnostics.end())
      out.diagnostics.push_back(std::move(d));
  }

  void parse() {
    auto keyOf = [](const Json& o) { return api::namespaceOf(o) + "/" + api::name(o); };
    for (const auto& o : in.gatewayClasses)
      if (auto c = gw::parseGatewayClass(*o)) classes.push_back(std::move(*c));
    for (const auto& o : in.gateways) {
      auto g = gw::parseGateway(*o);
      if (g)
        gateways.push_back(std::move(*g));
      else
        diagnose(keyOf(*o), "Invalid", g.error().message);
    }
    for (const auto& o : in.httpRoutes) {
      auto r = gw::parseHttpRoute(*o);
      if (r)
        routes.push_back(std::move(*r));
      else
        diagnose(keyOf(*o), "Invalid", r.error().message);
    }
    for (const auto& o : in.referenceGrants)
      if (auto g = gw::parseReferenceGrant(*o)) grants.push_back(std::move(*g));
    for (const auto& o : in.namespaces) namespaceLabels[api::name(*o)] = api::labels(*o);
    for (const auto& [key, svc] : catalog.services())
      if (auto info = gw::readGatewayService(*svc)) services[info->gateway] = std::move(*info);
  }

  bool tlsSecretValid(const std::string& ns, const std::string& name) const {
    std::string why;
    auto pair = catalog.tlsPair(ns, name, why);
    return pair && pki::validKeyPair(pair->certPem, pair->keyPem);
  }

  // The target of a backendRef, or null for one that must answer 500.
  std::shared_ptr<const BackendTarget> backendFor(const gw::HttpRoute& route,
                                                  const gw::BackendRef& ref) {
    std::string ns = ref.ns.empty() ? route.ns : ref.ns;
    if (!ref.group.empty() || ref.kind != "Service" || !ref.port) return nullptr;
    if (!gw::referenceAllowed(grants, gw::kGroup, "HTTPRoute", route.ns, "", "Service", ns,
                              ref.name))
      return nullptr;
    auto resolved = catalog.resolve(ns, ref.name, *ref.port, "");
    if (resolved.reason == "ServiceNotFound") return nullptr;
    if (!resolved.reason.empty())
      diagnose(route.ns + "/" + route.name, resolved.reason, resolved.target->problem);
    return resolved.target;
  }

  std::shared_ptr<const Route> ruleRoute(const gw::HttpRoute& route, size_t index) {
    auto key = std::make_pair(&route, index);
    if (auto it = rules.find(key); it != rules.end()) return it->second;
    const gw::Rule& rule = route.rules[index];
    auto action = std::make_shared<GatewayRule>();
    for (const auto& ref : rule.backendRefs) {
      if (ref.weight <= 0) continue;
      action->backends.push_back({backendFor(route, ref), uint32_t(ref.weight)});
      action->totalWeight += uint64_t(ref.weight);
    }
    bool unsupported = false;
    for (const auto& filter : rule.filters) {
      if (filter.type == "RequestHeaderModifier") {
        action->requestHeaders = headerEdits(filter.headers);
      } else if (filter.type == "ResponseHeaderModifier") {
        action->responseHeaders = headerEdits(filter.headers);
      } else if (filter.type == "RequestRedirect") {
        action->redirect = Redirect{filter.scheme, filter.hostname, filter.port,
                                    pathReplacement(filter.path), filter.statusCode};
      } else if (filter.type == "URLRewrite") {
        action->rewrite = UrlRewrite{filter.hostname, pathReplacement(filter.path)};
      } else if (filter.type == "RequestMirror") {
        if (filter.mirror)
          if (auto target = backendFor(route, *filter.mirror)) action->mirrors.push_back(target);
      } else {
        unsupported = true;
        diagnose(route.ns + "/" + route.name, "UnsupportedFilter",
                 "filter " + filter.type + " is not supported: the rule answers 500");
      }
    }
    if (unsupported) {
      action->backends.clear();
      action->totalWeight = 0;
      action->redirect.reset();
    }
    if (auto t = parseGatewayDuration(rule.requestTimeout)) action->requestTimeoutMs = *t;
    if (auto t = parseGatewayDuration(rule.backendRequestTimeout)) action->backendTimeoutMs = *t;
    auto made = std::make_shared<Route>();
    made->ingress = route.ns + "/" + route.name;
    made->annotations = noAnnotations();
    made->gateway = action;
    const gw::PathMatch& firstPath = rule.matches.front().path;
    made->path = firstPath.value;
    std::string service = rule.backendRefs.empty() ? std::string() : rule.backendRefs.front().name;
    made->metricLabels = routeMetricLabels(route.ns, route.name, "", firstPath.value, service);
    made->labels = labelsKey(made->metricLabels);
    rules.emplace(key, made);
    return made;
  }

  std::optional<GatewayMatch> matchFor(const gw::HttpRoute& route, size_t ruleIndex,
                                       size_t matchIndex) {
    const gw::RouteMatch& m = route.rules[ruleIndex].matches[matchIndex];
    GatewayMatch g;
    g.route = ruleRoute(route, ruleIndex);
    g.method = m.method;
    std::string why;
    std::string where = route.ns + "/" + route.name;
    if (m.path.type == gw::PathMatchType::RegularExpression) {
      g.pathRegex = compileRegex(m.path.value, why);
      if (!g.pathRegex) {
        diagnose(where, "InvalidPath", "path " + m.path.value + ": " + why);
        return std::nullopt;
      }
    } else {
      g.path = m.path.value.empty() ? "/" : m.path.value;
    }
    auto values = [&](const std::vector<gw::ValueMatch>& in, bool header,
                      std::vector<ValueMatcher>& to) {
      std::set<std::string> seen;  // only the first of equal names counts
      for (const auto& v : in) {
        std::string name = header ? lower(v.name) : v.name;
        if (!seen.insert(name).second) continue;
        ValueMatcher matcher{name, v.value, nullptr};
        if (v.type == gw::ValueMatchType::RegularExpression) {
          matcher.regex = compileRegex(v.value, why);
          if (!matcher.regex) {
            diagnose(where, "InvalidMatch", v.name + " " + v.value + ": " + why);
            return false;
          }
        }
        to.push_back(std::move(matcher));
      }
      return true;
    };
    if (!values(m.headers, true, g.headers) || !values(m.queryParams, false, g.query))
      return std::nullopt;
    return g;
  }

  static void index(RoutingTable::GatewayMatches& into, std::vector<Matcher>& matchers) {
    std::stable_sort(matchers.begin(), matchers.end(),
                     [](const Matcher& a, const Matcher& b) { return gw::precedes(a.key, b.key); });
    const auto& rules = [](const Matcher& m) -> const gw::RouteMatch& {
      return m.key.route->rules[m.key.rule].matches[m.key.match];
    };
    for (auto& m : matchers) {
      const gw::RouteMatch& spec = rules(m);
      ++into.size;
      if (spec.path.type == gw::PathMatchType::Exact) {
        into.exact[m.match.path].push_back(std::move(m.match));
      } else if (spec.path.type == gw::PathMatchType::PathPrefix) {
        std::string key = m.match.path;
        while (key.size() > 1 && key.back() == '/') key.pop_back();
        into.prefix[key].push_back(std::move(m.match));
      } else {
        into.regex.push_back(std::move(m.match));
      }
    }
  }

  void build() {
    parse();
    gw::StatusInputs si;
    si.classes = classes;
    si.gateways = gateways;
    si.routes = routes;
    si.grants = grants;
    si.now = in.now;
    si.serviceExists = [this](const std::string& ns, const std::string& name) {
      return catalog.service(ns, name) != nullptr;
    };
    si.tlsSecretValid = [this](const std::string& ns, const std::string& name) {
      return tlsSecretValid(ns, name);
    };
    si.namespaceLabels = [this](const std::string& ns) {
      auto it = namespaceLabels.find(ns);
      return it == namespaceLabels.end() ? std::map<std::string, std::string>{} : it->second;
    };
    for (const auto& [gwKey, info] : services) si.addresses[gwKey] = info.addresses;
    gw::StatusOutputs status = gw::computeStatus(si);

    // Which listeners are served: those whose status says Programmed, on
    // the port the Gateway's Service maps their port to.
    std::map<std::string, const gw::Gateway*> byKey;
    for (const auto& g : si.gateways) byKey[g.ns + "/" + g.name] = &g;
    struct ListenerKey {
      std::string gateway, listener;
      bool operator<(const ListenerKey& o) const {
        return std::tie(gateway, listener) < std::tie(o.gateway, o.listener);
      }
    };
    std::map<ListenerKey, std::map<std::string, std::vector<Matcher>>> attached;  // by hostname
    std::set<ListenerKey> programmed;
    for (const auto& [gwKey, json] : status.gatewayStatus)
      for (const Json& l : json.value("listeners", Json::array()))
        for (const Json& c : l.value("conditions", Json::array()))
          if (c.value("type", "") == "Programmed" && c.value("status", "") == "True")
            programmed.insert({gwKey, l.value("name", "")});
    // The attachments point into si.routes: map them back to ours.
    for (const auto& a : status.attachments) {
      ListenerKey lk{a.gateway, a.listener};
      if (!programmed.count(lk)) continue;
      auto& byHost = attached[lk];
      for (size_t r = 0; r < a.route->rules.size(); ++r)
        for (size_t m = 0; m < a.route->rules[r].matches.size(); ++m) {
          auto match = matchFor(*a.route, r, m);
          if (!match) continue;
          for (const auto& host : a.hostnames)
            byHost[host].push_back({gw::MatchKey{a.route, r, m}, *match});
        }
    }
    for (const auto& lk : programmed) {
      auto g = byKey.find(lk.gateway);
      auto svc = services.find(lk.gateway);
      if (g == byKey.end() || svc == services.end()) continue;
      const gw::Listener* listener = nullptr;
      for (const auto& l : g->second->listeners)
        if (l.name == lk.listener) listener = &l;
      if (!listener) continue;
      auto bind = svc->second.bindPorts.find(listener->port);
      if (bind == svc->second.bindPorts.end()) continue;
      auto& port = table.gatewayPorts_[bind->second];
      port.listenerPort = listener->port;
      port.tls = listener->protocol == "HTTPS";
      RoutingTable::GatewayListener served;
      served.hostname = lower(listener->hostname);
      if (port.tls && !listener->certificateRefs.empty()) {
        const auto& ref = listener->certificateRefs.front();
        std::string ns = ref.ns.empty() ? g->second->ns : ref.ns;
        std::string why;
        if (auto pair = catalog.tlsPair(ns, ref.name, why))
          served.certificate = std::make_shared<const Certificate>(
              Certificate{ns + "/" + ref.name, pair->certPem, pair->keyPem});
      }
      for (auto& [host, matchers] : attached[lk]) {
        std::string h = lower(host);
        if (h.empty()) {
          index(served.anyHost, matchers);
        } else if (h.rfind("*.", 0) == 0) {
          served.wildcardHosts.emplace_back(h.substr(1), RoutingTable::GatewayMatches{});
          index(served.wildcardHosts.back().second, matchers);
        } else {
          index(served.exactHosts[h], matchers);
        }
      }
      std::stable_sort(
          served.wildcardHosts.begin(), served.wildcardHosts.end(),
          [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
      port.listeners.push_back(std::move(served));
    }
    for (auto& [bind, port] : table.gatewayPorts_)
      std::stable_sort(port.listeners.begin(), port.listeners.end(),
                       [](const auto& a, const auto& b) {
                         return hostnameRank(a.hostname) > hostnameRank(b.hostname);
                       });
    out.gatewayClassStatus = std::move(status.classStatus);
    out.gatewayStatus = std::move(status.gatewayStatus);
    out.httpRouteParents = std::move(status.routeParents);
  }
};

void compileGateways(const RouteInputs& inputs, BackendCatalog& catalog, RoutingTable& table,
                     CompiledRoutes& out) {
  if (inputs.gatewayClasses.empty() && inputs.gateways.empty() && inputs.httpRoutes.empty()) return;
  GatewayTableBuilder builder{inputs, catalog, table, out, {}, {}, {}, {}, {}, {}, {}};
  builder.build();
}

// ---- matching ----------------------------------------------------------------------

namespace {

bool valueMatches(const ValueMatcher& m, std::string_view value) {
  if (m.regex) return re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *m.regex);
  return value == m.value;
}

bool conditionsHold(const GatewayMatch& g, const RequestView& r) {
  if (!g.method.empty() && g.method != r.method) return false;
  for (const auto& h : g.headers) {
    // Several fields of one name are one value, comma-separated (RFC 9110).
    std::string joined;
    bool found = false;
    if (r.headers)
      for (const auto& field : *r.headers)
        if (http::equalsIgnoreCase(field.name, h.name)) {
          if (found) joined += ",";
          joined += field.value;
          found = true;
        }
    if (!found || !valueMatches(h, joined)) return false;
  }
  if (!g.query.empty()) {
    // Decoded (%XX, '+' as a space), the first of repeated names.
    auto parameters = http::queryParameters(r.query);
    for (const auto& q : g.query) {
      auto it = std::find_if(parameters.begin(), parameters.end(),
                             [&](const auto& p) { return p.first == q.name; });
      if (it == parameters.end() || !valueMatches(q, it->second)) return false;
    }
  }
  return true;
}

}  // namespace

const GatewayMatch* RoutingTable::matchGatewayIn(const GatewayMatches& m, const RequestView& r) {
  if (!m.exact.empty())
    if (auto it = m.exact.find(std::string(r.path)); it != m.exact.end())
      for (const auto& g : it->second)
        if (conditionsHold(g, r)) return &g;
  if (!m.prefix.empty()) {
    std::string candidate(r.path);
    while (candidate.size() > 1 && candidate.back() == '/') candidate.pop_back();
    while (true) {
      if (auto it = m.prefix.find(candidate); it != m.prefix.end())
        for (const auto& g : it->second)
          if (conditionsHold(g, r)) return &g;
      if (candidate == "/") break;
      size_t slash = candidate.rfind('/');
      candidate.resize(slash == 0 ? 1 : slash);
    }
  }
  for (const auto& g : m.regex)
    if (re2::RE2::FullMatch(re2::StringPiece(r.path.data(), r.path.size()), *g.pathRegex) &&
        conditionsHold(g, r))
      return &g;
  return nullptr;
}

const RoutingTable::GatewayListener* RoutingTable::gatewayListenerFor(uint16_t bindPort,
                                                                      std::string_view host) const {
  auto port = gatewayPorts_.find(bindPort);
  if (port == gatewayPorts_.end()) return nullptr;
  std::string name = hostName(host);
  for (const auto& listener : port->second.listeners)
    if (gw::hostnameMatches(listener.hostname, name)) return &listener;
  return nullptr;
}

RouteMatch RoutingTable::matchGateway(uint16_t bindPort, const RequestView& request) const {
  RouteMatch result;
  const GatewayListener* listener = gatewayListenerFor(bindPort, request.host);
  if (!listener) return result;
  result.listenerPort = gatewayPorts_.at(bindPort).listenerPort;
  std::string name = hostName(request.host);
  const GatewayMatch* found = nullptr;
  if (auto it = listener->exactHosts.find(name); it != listener->exactHosts.end())
    found = matchGatewayIn(it->second, request);
  for (size_t i = 0; !found && i < listener->wildcardHosts.size(); ++i) {
    const auto& [suffix, matches] = listener->wildcardHosts[i];
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      found = matchGatewayIn(matches, request);
  }
  if (!found) found = matchGatewayIn(listener->anyHost, request);
  if (!found) return result;
  result.route = found->route.get();
  if (!found->pathRegex) result.matchedPrefix = found->path;
  result.upstreamPath = std::string(request.path);
  return result;
}

const Certificate* RoutingTable::gatewayCertificateFor(uint16_t bindPort,
                                                       std::string_view serverName) const {
  const GatewayListener* listener = gatewayListenerFor(bindPort, serverName);
  if (!listener) {
    // No listener takes the name (or no SNI): the port's first certificate.
    auto port = gatewayPorts_.find(bindPort);
    if (port == gatewayPorts_.end()) return nullptr;
    for (const auto& l : port->second.listeners)
      if (l.certificate) return l.certificate.get();
    return nullptr;
  }
  return listener->certificate.get();
}

std::vector<RoutingTable::GatewayPortInfo> RoutingTable::gatewayPorts() const {
  std::vector<GatewayPortInfo> ports;
  for (const auto& [bind, port] : gatewayPorts_)
    ports.push_back({bind, port.listenerPort, port.tls});
  std::sort(ports.begin(), ports.end(),
            [](const auto& a, const auto& b) { return a.bindPort < b.bindPort; });
  return ports;
}

}  // namespace podnet::ingress
