// The Ingress routing table: the Kubernetes documentation's path-matching
// table, host wildcards, precedence, default backends, classes, canaries,
// rewrite-target, path normalization and the strict annotation grammars.
#include "ingress/routes.h"

#include <gtest/gtest.h>

#include <set>

namespace podnet::ingress {
namespace {

Json path(const std::string& p, const std::string& type, const std::string& service,
          Json port = 80) {
  Json backendPort = port.is_string() ? Json{{"name", port}} : Json{{"number", port}};
  return {{"path", p},
          {"pathType", type},
          {"backend", {{"service", {{"name", service}, {"port", backendPort}}}}}};
}

Json ingress(const std::string& name, Json spec, Json annotations = Json::object(),
             const std::string& created = "2026-01-01T00:00:00Z") {
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata",
           {{"name", name},
            {"namespace", "default"},
            {"creationTimestamp", created},
            {"annotations", std::move(annotations)}}},
          {"spec", std::move(spec)}};
}

Json serviceJson(const std::string& name) {
  return {
      {"metadata", {{"name", name}, {"namespace", "default"}}},
      {"spec",
       {{"ports", {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"protocol", "TCP"}}}}}}};
}

Json slice(const std::string& service, const std::vector<std::string>& ips, bool ready = true) {
  Json endpoints = Json::array();
  for (const auto& ip : ips)
    endpoints.push_back({{"addresses", {ip}}, {"conditions", {{"ready", ready}}}});
  return {{"metadata",
           {{"name", service + "-x"},
            {"namespace", "default"},
            {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}},
          {"endpoints", endpoints}};
}

std::shared_ptr<const Json> ptr(Json object) {
  return std::make_shared<const Json>(std::move(object));
}

using Got = std::pair<std::string, std::string>;  // Service, upstream path

struct Table {
  RouteInputs inputs;
  CompiledRoutes compiled;
  Table() {
    for (const auto& name : {"a", "b", "c", "d", "web", "api", "canary", "fallback"}) {
      inputs.services.push_back(ptr(serviceJson(name)));
      inputs.endpointSlices.push_back(ptr(slice(name, {"10.244.1." + std::to_string(name[0])})));
    }
  }
  void add(Json object) { inputs.ingresses.push_back(ptr(std::move(object))); }
  void compile() { compiled = compileRoutes(inputs); }
  // The Service a request reaches ("" for a 404), and the path it gets.
  std::pair<std::string, std::string> get(const std::string& host, const std::string& rawPath) {
    auto normalized = normalizePath(rawPath);
    if (!normalized) return {"bad path", ""};
    RouteMatch m = compiled.table->match(host, *normalized);
    if (!m.route) return {"", ""};
    return {m.route->backend->service.substr(8), m.upstreamPath};  // without "default/"
  }
  std::string service(const std::string& host, const std::string& rawPath) {
    return get(host, rawPath).first;
  }
};

// A rule: its host ("" for none) and paths.
Json rule(const std::string& host, std::vector<Json> paths) {
  Json r = {{"http", {{"paths", std::move(paths)}}}};
  if (!host.empty()) r["host"] = host;
  return r;
}

// A spec of class podnet with these rules.
Json rules(std::vector<Json> list) {
  Json spec = Json::object();
  spec["ingressClassName"] = "podnet";
  spec["rules"] = std::move(list);
  return spec;
}

// kubernetes.io/docs/concepts/services-networking/ingress/#examples
TEST(IngressRoutes, TheDocumentationsPathTable) {
  struct Case {
    std::vector<Json> paths;
    std::string request;
    bool matches;
  };
  const std::vector<Case> cases = {
      {{path("/", "Prefix", "a")}, "/anything", true},
      {{path("/foo", "Exact", "a")}, "/foo", true},
      {{path("/foo", "Exact", "a")}, "/bar", false},
      {{path("/foo", "Exact", "a")}, "/foo/", false},
      {{path("/foo/", "Exact", "a")}, "/foo", false},
      {{path("/foo", "Prefix", "a")}, "/foo", true},
      {{path("/foo", "Prefix", "a")}, "/foo/", true},
      {{path("/foo/", "Prefix", "a")}, "/foo", true},
      {{path("/foo/", "Prefix", "a")}, "/foo/", true},
      {{path("/aaa/bb", "Prefix", "a")}, "/aaa/bbb", false},
      {{path("/aaa/bbb", "Prefix", "a")}, "/aaa/bbb", true},
      {{path("/aaa/bbb/", "Prefix", "a")}, "/aaa/bbb", true},
      {{path("/aaa/bbb", "Prefix", "a")}, "/aaa/bbb/", true},
      {{path("/aaa/bbb", "Prefix", "a")}, "/aaa/bbb/ccc", true},
      {{path("/aaa/bbb", "Prefix", "a")}, "/aaa/bbbxyz", false},
      {{path("/", "Prefix", "a"), path("/aaa", "Prefix", "b")}, "/aaa/ccc", true},
      {{path("/aaa", "Prefix", "a")}, "/ccc", false},
      {{path("/foo", "Prefix", "a"), path("/foo", "Exact", "b")}, "/foo", true},
      {{path("/foo", "Exact", "a")}, "/FOO", false},
  };
  for (const auto& c : cases) {
    Table t;
    t.add(ingress("i", rules({rule("", c.paths)})));
    t.compile();
    EXPECT_EQ(!t.service("example.com", c.request).empty(), c.matches)
        << c.request << " against " << Json(c.paths).dump();
  }
  // Longest first, Exact before Prefix on a tie; YAML order does not matter.
  Table t;
  t.add(ingress("i", rules({rule("", {path("/", "Prefix", "a"), path("/aaa", "Prefix", "b"),
                                      path("/aaa/bbb", "Prefix", "c"), path("/foo", "Prefix", "a"),
                                      path("/foo", "Exact", "d")})})));
  t.compile();
  EXPECT_EQ(t.service("x", "/ccc"), "a");
  EXPECT_EQ(t.service("x", "/aaa"), "b");
  EXPECT_EQ(t.service("x", "/aaa/ccc"), "b");
  EXPECT_EQ(t.service("x", "/aaa/bbb/ccc"), "c");
  EXPECT_EQ(t.service("x", "/foo"), "d");
  EXPECT_EQ(t.service("x", "/foo/x"), "a");
}

TEST(IngressRoutes, HostsExactThenOneLabelWildcardThenAny) {
  Table t;
  t.add(ingress("i", rules({rule("foo.bar.com", {path("/", "Prefix", "a")}),
                            rule("*.foo.com", {path("/", "Prefix", "b")}),
                            rule("only.example", {path("/x", "Prefix", "c")})})));
  t.compile();
  EXPECT_EQ(t.service("foo.bar.com", "/"), "a");
  EXPECT_EQ(t.service("FOO.BAR.COM:443", "/"), "a") << "case and port do not matter";
  EXPECT_EQ(t.service("foo.bar.com.", "/"), "a") << "nor a trailing dot";
  EXPECT_EQ(t.service("subdomain.bar.com", "/"), "");
  EXPECT_EQ(t.service("bar.foo.com", "/"), "b");
  EXPECT_EQ(t.service("baz.bar.foo.com", "/"), "") << "one label only";
  EXPECT_EQ(t.service("foo.com", "/"), "");
  EXPECT_EQ(t.service("only.example", "/y"), "");
}

TEST(IngressRoutes, DefaultBackendsAnd404) {
  Table t;
  Json site = rules({rule("site.example", {path("/app", "Prefix", "a")})});
  site["defaultBackend"] = {{"service", {{"name", "fallback"}, {"port", {{"number", 80}}}}}};
  t.add(ingress("site", site));
  t.compile();
  EXPECT_EQ(t.service("site.example", "/app/x"), "a");
  EXPECT_EQ(t.service("site.example", "/other"), "fallback") << "its Ingress's default backend";
  EXPECT_EQ(t.service("elsewhere.example", "/"), "") << "no rule, no global default: 404";
  Json catchAll = rules({});
  catchAll.erase("rules");
  catchAll["defaultBackend"] = {{"service", {{"name", "b"}, {"port", {{"name", "http"}}}}}};
  t.add(ingress("catch-all", catchAll, Json::object(), "2026-02-01T00:00:00Z"));
  t.compile();
  EXPECT_EQ(t.service("elsewhere.example", "/"), "b") << "an Ingress with only a defaultBackend";
  EXPECT_EQ(t.service("site.example", "/other"), "fallback");
}

TEST(IngressRoutes, ClassesOursTheLegacyAnnotationAndOthersLeftAlone) {
  Table t;
  Json classless = rules({rule("", {path("/", "Prefix", "a")})});
  classless.erase("ingressClassName");
  Json nginxSpec = classless;
  nginxSpec["ingressClassName"] = "nginx";
  t.add(ingress("nginx-class", nginxSpec));
  Json other = classless;
  other["ingressClassName"] = "traefik";
  t.add(ingress("traefik", other));
  t.add(ingress("legacy", classless, {{"kubernetes.io/ingress.class", "podnet"}}));
  t.add(ingress("classless", classless));
  t.inputs.ingressClasses.push_back(
      ptr({{"metadata", {{"name", "traefik"}}},
           {"spec", {{"controller", "traefik.io/ingress-controller"}}}}));
  t.compile();
  std::set<std::string> served(t.compiled.served.begin(), t.compiled.served.end());
  EXPECT_TRUE(served.count("default/nginx-class"));
  EXPECT_TRUE(served.count("default/legacy"));
  EXPECT_FALSE(served.count("default/traefik"));
  EXPECT_FALSE(served.count("default/classless")) << "no class and no default class of ours";
  // Our class made the default: class-less Ingresses are ours too.
  t.inputs.ingressClasses.push_back(
      ptr({{"metadata",
            {{"name", "podnet"},
             {"annotations", {{"ingressclass.kubernetes.io/is-default-class", "true"}}}}},
           {"spec", {{"controller", "podnet.io/ingress"}}}}));
  t.compile();
  served = {t.compiled.served.begin(), t.compiled.served.end()};
  EXPECT_TRUE(served.count("default/classless"));
}

TEST(IngressRoutes, TheOldestIngressKeepsAPathAndTheOtherIsTold) {
  Table t;
  t.add(ingress("new", rules({rule("", {path("/x", "Prefix", "b")})}), Json::object(),
                "2026-03-01T00:00:00Z"));
  t.add(ingress("old", rules({rule("", {path("/x", "Prefix", "a")})}), Json::object(),
                "2026-01-01T00:00:00Z"));
  t.compile();
  EXPECT_EQ(t.service("h", "/x"), "a");
  ASSERT_FALSE(t.compiled.diagnostics.empty());
  EXPECT_EQ(t.compiled.diagnostics[0].ingress, "default/new");
  EXPECT_EQ(t.compiled.diagnostics[0].reason, "Conflict");
}

TEST(IngressRoutes, TheSeedsRewriteAndRegularExpressions) {
  // Seed 003: path / and /api with rewrite-target: / (ingress-nginx
  // replaces the whole path with the target).
  Table t;
  Json seed = rules({rule("learn.nextgenplayground.org",
                          {path("/", "Prefix", "web"), path("/api", "Prefix", "api")})});
  seed["ingressClassName"] = "nginx";
  t.add(ingress("seed", seed, {{"nginx.ingress.kubernetes.io/rewrite-target", "/"}}));
  t.compile();
  EXPECT_EQ(t.get("learn.nextgenplayground.org", "/api/users"), Got("api", "/"));
  EXPECT_EQ(t.get("learn.nextgenplayground.org", "/page"), Got("web", "/"));
  // The documentation's capture-group example.
  Table r;
  r.add(ingress("rewrite",
                rules({rule("", {path("/something(/|$)(.*)", "ImplementationSpecific", "a")})}),
                {{"nginx.ingress.kubernetes.io/use-regex", "true"},
                 {"nginx.ingress.kubernetes.io/rewrite-target", "/$2"}}));
  r.compile();
  EXPECT_EQ(r.get("h", "/something"), Got("a", "/"));
  EXPECT_EQ(r.get("h", "/something/"), Got("a", "/"));
  EXPECT_EQ(r.get("h", "/something/new"), Got("a", "/new"));
  EXPECT_EQ(r.get("h", "/SOMETHING/new"), Got("a", "/new"))
      << "regex paths are case-insensitive, as nginx's ~*";
  EXPECT_EQ(r.service("h", "/other/something"), "") << "anchored at the start";
}

TEST(IngressRoutes, PathsAreNormalizedBeforeMatching) {
  EXPECT_EQ(normalizePath("/info/../private"), "/private");
  EXPECT_EQ(normalizePath("/info/%2e%2e/private"), "/private");
  EXPECT_EQ(normalizePath("//a///b/"), "/a/b/");
  EXPECT_EQ(normalizePath("/a/./b/."), "/a/b/");
  EXPECT_EQ(normalizePath("/a%2Fb"), "/a%2Fb") << "an escaped slash is not a separator";
  EXPECT_EQ(normalizePath("/%7Euser"), "/~user");
  EXPECT_EQ(normalizePath("/../../etc"), "/etc");
  EXPECT_FALSE(normalizePath("relative"));
  EXPECT_FALSE(normalizePath("/a b"));
  EXPECT_FALSE(normalizePath("/bad%zz"));
  EXPECT_FALSE(normalizePath(std::string("/nul\0x", 6)));
  Table t;
  t.add(ingress(
      "i", rules({rule("", {path("/info", "Prefix", "a"), path("/private", "Prefix", "b")})})));
  t.compile();
  EXPECT_EQ(t.get("h", "/info/../private/x"), Got("b", "/private/x"))
      << "the backend gets what was matched";
}

TEST(IngressRoutes, BackendsAreReadyEndpointsOfTheServicePort) {
  Table t;
  t.inputs.endpointSlices = {ptr(slice("a", {"10.244.1.2", "10.244.2.2"})),
                             ptr(slice("a", {"10.244.3.2"}, false))};
  t.add(
      ingress("i", rules({rule("", {path("/", "Prefix", "a", "http"), path("/x", "Prefix", "a", 81),
                                    path("/y", "Prefix", "missing")})})));
  t.compile();
  auto m = t.compiled.table->match("h", "/");
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.route->backend->endpoints.size(), 2U);
  EXPECT_EQ(m.route->backend->endpoints[0].port, 8080);
  auto x = t.compiled.table->match("h", "/x");
  EXPECT_TRUE(x.route->backend->endpoints.empty());
  std::set<std::string> reasons;
  for (const auto& d : t.compiled.diagnostics) reasons.insert(d.reason);
  EXPECT_TRUE(reasons.count("PortNotFound"));
  EXPECT_TRUE(reasons.count("ServiceNotFound"));
}

TEST(IngressRoutes, CanariesJoinTheirMainRoute) {
  Table t;
  t.add(ingress("main", rules({rule("shop", {path("/", "Prefix", "web")})})));
  t.add(ingress("canary", rules({rule("shop", {path("/", "Prefix", "canary")})}),
                {{"nginx.ingress.kubernetes.io/canary", "true"},
                 {"nginx.ingress.kubernetes.io/canary-weight", "30"},
                 {"nginx.ingress.kubernetes.io/canary-by-header", "X-Canary"}},
                "2026-05-01T00:00:00Z"));
  t.compile();
  auto m = t.compiled.table->match("shop", "/");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->backend->service, "default/web");
  ASSERT_EQ(m.route->canaries.size(), 1U);
  EXPECT_EQ(m.route->canaries[0]->annotations->canaryWeight, 30U);
  EXPECT_EQ(m.route->canaries[0]->annotations->canaryByHeader, "X-Canary");
}

TEST(IngressAnnotations, StrictGrammarsRefuseWhatCouldBeInjected) {
  auto a = parseAnnotations({
      {"nginx.ingress.kubernetes.io/rewrite-target", "/ok/$1"},
      {"nginx.ingress.kubernetes.io/proxy-body-size", "8m"},
      {"nginx.ingress.kubernetes.io/whitelist-source-range", "10.0.0.0/8, 192.168.1.1"},
      {"nginx.ingress.kubernetes.io/backend-protocol", "grpc"},
      {"nginx.ingress.kubernetes.io/affinity", "cookie"},
      {"nginx.ingress.kubernetes.io/proxy-read-timeout", "120"},
      {"nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers x"},
      {"other.example/annotation", "ignored"},
  });
  EXPECT_EQ(a.rewriteTarget, "/ok/$1");
  EXPECT_EQ(a.proxyBodySize, 8U * 1024 * 1024);
  EXPECT_EQ(a.allowSourceRange.size(), 2U);
  EXPECT_EQ(a.backendProtocol, BackendProtocol::grpc);
  EXPECT_EQ(a.affinityCookie, "INGRESSCOOKIE");
  EXPECT_EQ(a.readTimeout, 120U);
  EXPECT_EQ(a.unsupported, std::vector<std::string>{"configuration-snippet"});
  EXPECT_TRUE(a.invalid.empty());
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"rewrite-target", "/x; proxy_pass http://evil"},
           {"rewrite-target", "/a\n}"},
           {"rewrite-target", "/${x}"},
           {"rewrite-target", "relative"},
           {"app-root", "/x$1"},
           {"proxy-body-size", "1m; lua"},
           {"proxy-body-size", "-1"},
           {"whitelist-source-range", "10.0.0.0/8 || true"},
           {"backend-protocol", "FCGI"},
           {"session-cookie-name", "a b"},
           {"canary-weight", "ten"},
           {"proxy-connect-timeout", "5s; x"},
           {"use-regex", "yes"}}) {
    auto refused = parseAnnotations({{std::string(kAnnotationPrefix) + name, value}});
    ASSERT_EQ(refused.invalid.size(), 1U) << name << "=" << value;
    EXPECT_EQ(refused.invalid[0].first, name);
  }
  EXPECT_EQ(parseSize("0"), 0U);
  EXPECT_EQ(parseSize("512k"), 512U * 1024);
  EXPECT_FALSE(parseSize("1.5m"));
}

}  // namespace
}  // namespace podnet::ingress
