// Gateway API end to end on a `podnet up` cluster: the Gateway API CRDs
// installed with kubectl, the GatewayClass `podnet` accepted, Gateways given
// addresses from the LoadBalancer pool and served by the same proxy as
// Ingresses, and the core conformance scenarios (exact and prefix matching,
// match order, header matching, header modifiers, redirects, 70/30/0
// weights, cross-namespace references with and without a ReferenceGrant,
// listener hostname intersection, status conditions), each checked with
// what curl sees from the host and what kubectl shows.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "podnet_harness.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::runCommand;

const std::string kFixtures = std::string(PODNET_SOURCE_DIR) + "/tests/fixtures/gateway-api";

// Backends as the conformance suite's infra-backend-v1..v3 and web-backend.
std::string backend(const std::string& name, const std::string& ns) {
  return R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: )" +
         name + ", namespace: " + ns + R"(}
spec:
  replicas: 1
  selector: {matchLabels: {app: )" +
         name + R"(}}
  template:
    metadata: {labels: {app: )" +
         name + R"(}}
    spec:
      containers: [{name: echo, image: gcr.io/k8s-staging-gateway-api/echo-basic, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: )" +
         name + ", namespace: " + ns + R"(}
spec:
  selector: {app: )" +
         name + R"(}
  ports: [{port: 8080, targetPort: 3000}]
---
)";
}

constexpr const char* kGateways = R"(apiVersion: v1
kind: Namespace
metadata: {name: gateway-conformance-infra}
---
apiVersion: v1
kind: Namespace
metadata: {name: gateway-conformance-web-backend, labels: {gateway-access: "yes"}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: same-namespace, namespace: gateway-conformance-infra}
spec:
  gatewayClassName: podnet
  infrastructure: {labels: {team: edge}}
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: hostnames, namespace: gateway-conformance-infra}
spec:
  gatewayClassName: podnet
  listeners:
  - {name: foo, port: 80, protocol: HTTP, hostname: foo.example.com, allowedRoutes: {namespaces: {from: All}}}
  - {name: wildcard, port: 80, protocol: HTTP, hostname: "*.wildcard.io", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {gateway-access: "yes"}}}}}
)";

constexpr const char* kRoutes = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: exact-and-prefix, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [paths.example.com]
  rules:
  - matches: [{path: {type: Exact, value: /one}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /match}}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /match/prefix}}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
  - matches: [{path: {type: Exact, value: /match/prefix/one}}]
    backendRefs: [{name: infra-backend-v3, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /match/prefix}, headers: [{name: version, value: three}]}]
    backendRefs: [{name: infra-backend-v3, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: headers, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [headers.example.com]
  rules:
  - matches: [{headers: [{name: version, value: one}]}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
  - matches: [{headers: [{name: version, value: two}]}, {headers: [{name: color, value: orange}]}]
    backendRefs: [{name: infra-backend-v2, port: 8080}]
  - matches: [{path: {type: PathPrefix, value: /modify}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Header-Set, value: set-overwrites-values}]
        add: [{name: X-Header-Add, value: add-appends-values}]
        remove: [X-Header-Remove]
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        add: [{name: X-Header-Response, value: added}]
    backendRefs: [{name: infra-backend-v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: redirects, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [redirect.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /hostname-redirect}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org}}]
  - matches: [{path: {type: PathPrefix, value: /status-code-301}}]
    filters: [{type: RequestRedirect, requestRedirect: {statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /prefix}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: weights, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [weights.example.com]
  rules:
  - backendRefs:
    - {name: infra-backend-v1, port: 8080, weight: 70}
    - {name: infra-backend-v2, port: 8080, weight: 30}
    - {name: infra-backend-v3, port: 8080, weight: 0}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross-namespace, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{name: same-namespace}]
  hostnames: [cross.example.com]
  rules:
  - backendRefs: [{name: web-backend, namespace: gateway-conformance-web-backend, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: from-web, namespace: gateway-conformance-web-backend}
spec:
  parentRefs: [{name: hostnames, namespace: gateway-conformance-infra}]
  hostnames: ["*.wildcard.io", foo.example.com, bar.example.com]
  rules:
  - backendRefs: [{name: web-backend, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-hostname-match, namespace: gateway-conformance-web-backend}
spec:
  parentRefs: [{name: hostnames, namespace: gateway-conformance-infra}]
  hostnames: [very.specific.com]
  rules:
  - backendRefs: [{name: web-backend, port: 8080}]
)";

constexpr const char* kGrant = R"(apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: infra-routes, namespace: gateway-conformance-web-backend}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateway-conformance-infra}]
  to: [{group: "", kind: Service}]
)";

class GatewayE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !fs::exists("/usr/bin/kubectl") || !fs::exists("/usr/bin/curl") ||
        !fs::exists("/usr/sbin/nft"))
      return;
    dataDir_ = fs::temp_directory_path() / ("podnet-gateway-e2e-" + std::to_string(::getpid()));
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " up --nodes 2 --manifests '' --data-dir " +
                   dataDir_.string());
    upOutput_ = output;
    up_ = code == 0;
    fs::create_directories(work());
  }
  static void TearDownTestSuite() {
    fs::remove_all(work());
    if (!up_) return;
    runCommand(std::string(PODNET_BINARY) + " down --data-dir " + dataDir_.string());
    up_ = false;
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/usr/bin/kubectl") || !fs::exists("/usr/bin/curl"))
      GTEST_SKIP() << "no kubectl or curl";
    if (!fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "no nft (scripts/setup.sh installs it)";
    ASSERT_TRUE(up_) << upOutput_;
    if (!installed_) install();
  }

  static fs::path work() { return dataDir_.string() + "-files"; }
  static std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand("KUBECONFIG=" + (dataDir_ / "server" / "kubeconfig").string() +
                      " /usr/bin/kubectl " + args);
  }
  static std::pair<int, std::string> apply(const std::string& name, const std::string& yaml) {
    fs::path file = work() / name;
    std::ofstream(file) << yaml;
    return kubectl("apply -f " + file.string());
  }
  static Json getJson(const std::string& args) {
    auto [code, out] = kubectl("get " + args + " -o json");
    return Json::parse(out, nullptr, false);
  }
  // A condition of a status's conditions as "True/Reason".
  static std::string condition(const Json& conditions, const std::string& type) {
    if (conditions.is_array())
      for (const Json& c : conditions)
        if (c.value("type", "") == type) return c.value("status", "") + "/" + c.value("reason", "");
    return "<none>";
  }
  // The address the Gateway's status gives, once it has one.
  static std::string address(const std::string& gateway) {
    std::string found;
    eventually(
        [&] {
          Json gw = getJson("gateway -n gateway-conformance-infra " + gateway);
          if (!gw.is_object() || !gw.contains("status")) return false;
          for (const Json& a : gw["status"].value("addresses", Json::array()))
            found = a.value("value", "");
          return !found.empty();
        },
        std::chrono::seconds(30));
    return found;
  }

  void install() {
    installed_ = true;
    auto [crds, crdsOut] =
        kubectl("apply --server-side -f " + kFixtures + "/standard-install.yaml");
    ASSERT_EQ(crds, 0) << crdsOut;
    // The controller sees the CRDs and creates its GatewayClass, accepted.
    ASSERT_TRUE(eventually(
        [] {
          Json c = getJson("gatewayclass podnet");
          return c.is_object() && condition(c["status"].value("conditions", Json::array()),
                                            "Accepted") == "True/Accepted";
        },
        std::chrono::seconds(30)))
        << kubectl("get gatewayclass -o yaml").second;
    auto [gws, gwsOut] = apply("gateways.yaml", kGateways);
    ASSERT_EQ(gws, 0) << gwsOut;
    std::string backends = backend("infra-backend-v1", "gateway-conformance-infra") +
                           backend("infra-backend-v2", "gateway-conformance-infra") +
                           backend("infra-backend-v3", "gateway-conformance-infra") +
                           backend("web-backend", "gateway-conformance-web-backend");
    auto [b, bOut] = apply("backends.yaml", backends);
    ASSERT_EQ(b, 0) << bOut;
    auto [r, rOut] = apply("routes.yaml", kRoutes);
    ASSERT_EQ(r, 0) << rOut;
    sameNamespace_ = address("same-namespace");
    hostnames_ = address("hostnames");
    ASSERT_FALSE(sameNamespace_.empty()) << kubectl("get gateway -A -o yaml").second;
    ASSERT_FALSE(hostnames_.empty());
    // Every backend ready (a route answers 503 until its Service has endpoints).
    ASSERT_TRUE(eventually(
        [] {
          Json pods = getJson("pods -A");
          int ready = 0;
          for (const Json& pod : pods.value("items", Json::array()))
            if (pod["metadata"].value("namespace", "").rfind("gateway-conformance", 0) == 0)
              for (const Json& c : pod["status"].value("conditions", Json::array()))
                if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
          return ready == 4;
        },
        std::chrono::seconds(60)));
  }

  // curl from the host to a Gateway's address on port 80.
  static std::string curl(const std::string& address, const std::string& host,
                          const std::string& path, const std::string& extra = "") {
    auto [code, out] = runCommand("curl -s -m 5 --resolve " + host + ":80:" + address + " " +
                                  extra + " 'http://" + host + path + "'");
    return out;
  }
  // Which backend answered (the echo servers' pod name, without its suffix), or the status.
  static std::string backendOf(const std::string& address, const std::string& host,
                               const std::string& path, const std::string& extra = "") {
    std::string out = curl(address, host, path, extra + " -w '\\n%{http_code}'");
    size_t newline = out.rfind('\n');
    std::string status = newline == std::string::npos ? out : out.substr(newline + 1);
    if (status != "200") return status;
    Json body = Json::parse(out.substr(0, newline), nullptr, false);
    std::string name = body.is_object() ? body.value("name", "") : out;
    for (const char* b :
         {"infra-backend-v1", "infra-backend-v2", "infra-backend-v3", "web-backend"})
      if (name.rfind(b, 0) == 0) return b;
    return name;
  }
  // Waits until `path` on `host` reaches `want` (routes are served within
  // moments of being applied, not in the same instant).
  static bool reaches(const std::string& address, const std::string& host, const std::string& path,
                      const std::string& want, const std::string& extra = "") {
    return eventually([&] { return backendOf(address, host, path, extra) == want; },
                      std::chrono::seconds(20));
  }

  void ExactPrefixAndTheirOrder();
  void HeaderMatchingAndModifiers();
  void Redirects();
  void WeightsSplit70To30To0Over500Requests();
  void CrossNamespaceBackendsNeedAReferenceGrant();
  void ListenerHostnamesIntersectWithRoutes();
  void KubectlShowsTheStatus();

  static inline fs::path dataDir_;
  static inline bool up_ = false, installed_ = false;
  static inline std::string upOutput_, sameNamespace_, hostnames_;
};

void GatewayE2E::ExactPrefixAndTheirOrder() {
  const std::string& a = sameNamespace_;
  ASSERT_TRUE(reaches(a, "paths.example.com", "/one", "infra-backend-v1"));
  EXPECT_EQ(backendOf(a, "paths.example.com", "/one/two"), "404");  // Exact only
  EXPECT_EQ(backendOf(a, "paths.example.com", "/two"), "404");
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match"), "infra-backend-v1");
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match/"), "infra-backend-v1");
  EXPECT_EQ(backendOf(a, "paths.example.com", "/matches"), "404");  // element by element
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match/prefix"), "infra-backend-v2");
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match/prefix/two"), "infra-backend-v2");
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match/prefix/one"), "infra-backend-v3");  // Exact
  // Same prefix, a header match ranks higher.
  EXPECT_EQ(backendOf(a, "paths.example.com", "/match/prefix/two", "-H 'version: three'"),
            "infra-backend-v3");
  EXPECT_EQ(backendOf(a, "other.example.com", "/one"), "404");
  // What the backend received: the path unchanged.
  Json echoed = Json::parse(curl(a, "paths.example.com", "/match/x?a=b"), nullptr, false);
  ASSERT_TRUE(echoed.is_object());
  EXPECT_EQ(echoed["path"], "/match/x");
  EXPECT_EQ(echoed["query"], "a=b");
}

void GatewayE2E::HeaderMatchingAndModifiers() {
  const std::string& a = sameNamespace_;
  ASSERT_TRUE(reaches(a, "headers.example.com", "/x", "infra-backend-v1", "-H 'version: one'"));
  EXPECT_EQ(backendOf(a, "headers.example.com", "/x", "-H 'Version: two'"), "infra-backend-v2");
  EXPECT_EQ(backendOf(a, "headers.example.com", "/x", "-H 'color: orange'"), "infra-backend-v2");
  EXPECT_EQ(backendOf(a, "headers.example.com", "/x", "-H 'version: three'"), "404");
  EXPECT_EQ(backendOf(a, "headers.example.com", "/x"), "404");

  std::string out = curl(a, "headers.example.com", "/modify",
                         "-i -H 'X-Header-Set: original' -H 'X-Header-Add: first' "
                         "-H 'X-Header-Remove: gone'");
  size_t split = out.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos) << out;
  EXPECT_NE(out.substr(0, split).find("X-Header-Response: added"), std::string::npos) << out;
  Json echoed = Json::parse(out.substr(split + 4), nullptr, false);
  ASSERT_TRUE(echoed.is_object()) << out;
  EXPECT_EQ(echoed["headers"]["x-header-set"], "set-overwrites-values");
  EXPECT_EQ(echoed["headers"]["x-header-add"], "first,add-appends-values");
  EXPECT_FALSE(echoed["headers"].contains("x-header-remove"));
}

void GatewayE2E::Redirects() {
  const std::string& a = sameNamespace_;
  std::string form = "-o /dev/null -w '%{http_code} %{redirect_url}'";
  ASSERT_TRUE(eventually(
      [&] {
        return curl(a, "redirect.example.com", "/hostname-redirect", form) ==
               "302 http://example.org/hostname-redirect";
      },
      std::chrono::seconds(20)))
      << curl(a, "redirect.example.com", "/hostname-redirect", form);
  EXPECT_EQ(curl(a, "redirect.example.com", "/status-code-301", form),
            "301 http://redirect.example.com/status-code-301");
  EXPECT_EQ(curl(a, "redirect.example.com", "/prefix/a/b?q=1", form),
            "302 https://redirect.example.com/replacement/a/b?q=1");
}

void GatewayE2E::WeightsSplit70To30To0Over500Requests() {
  const std::string& a = sameNamespace_;
  ASSERT_TRUE(eventually(
      [&] {
        std::string b = backendOf(a, "weights.example.com", "/");
        return b == "infra-backend-v1" || b == "infra-backend-v2";
      },
      std::chrono::seconds(20)));
  // One curl, 500 requests on kept-alive connections: "/" answers the pod's name.
  std::string urls;
  for (int i = 0; i < 500; ++i) urls += " http://weights.example.com/";
  auto [code, out] = runCommand("curl -s -m 60 --resolve weights.example.com:80:" + a + urls);
  std::map<std::string, int> counts;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    for (const char* b : {"infra-backend-v1", "infra-backend-v2", "infra-backend-v3"})
      if (line.rfind(b, 0) == 0) ++counts[b];
  EXPECT_EQ(counts["infra-backend-v1"] + counts["infra-backend-v2"], 500) << out.substr(0, 300);
  EXPECT_NEAR(counts["infra-backend-v1"], 350, 25);  // 5% of 500
  EXPECT_NEAR(counts["infra-backend-v2"], 150, 25);
  EXPECT_EQ(counts["infra-backend-v3"], 0);
}

void GatewayE2E::CrossNamespaceBackendsNeedAReferenceGrant() {
  const std::string& a = sameNamespace_;
  ASSERT_TRUE(reaches(a, "cross.example.com", "/", "500"));
  Json route = getJson("httproute -n gateway-conformance-infra cross-namespace");
  ASSERT_TRUE(route.is_object());
  EXPECT_EQ(condition(route["status"]["parents"][0]["conditions"], "ResolvedRefs"),
            "False/RefNotPermitted");
  EXPECT_EQ(condition(route["status"]["parents"][0]["conditions"], "Accepted"), "True/Accepted");
  auto [code, out] = apply("grant.yaml", kGrant);
  ASSERT_EQ(code, 0) << out;
  EXPECT_TRUE(reaches(a, "cross.example.com", "/", "web-backend"));
  EXPECT_TRUE(eventually(
      [] {
        Json r = getJson("httproute -n gateway-conformance-infra cross-namespace");
        return r.is_object() && condition(r["status"]["parents"][0]["conditions"],
                                          "ResolvedRefs") == "True/ResolvedRefs";
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(kubectl("delete -f " + (work() / "grant.yaml").string()).first, 0);
  EXPECT_TRUE(reaches(a, "cross.example.com", "/", "500"));
}

void GatewayE2E::ListenerHostnamesIntersectWithRoutes() {
  const std::string& h = hostnames_;
  ASSERT_NE(h, sameNamespace_);  // a Gateway each, each its own address
  ASSERT_TRUE(reaches(h, "foo.example.com", "/", "web-backend"));
  EXPECT_EQ(backendOf(h, "a.wildcard.io", "/"), "web-backend");
  EXPECT_EQ(backendOf(h, "a.b.wildcard.io", "/"), "web-backend");  // any number of labels
  EXPECT_EQ(backendOf(h, "bar.example.com", "/"), "404");          // no listener takes it
  EXPECT_EQ(backendOf(h, "very.specific.com", "/"), "404");
  // Another Gateway's address does not serve these routes.
  EXPECT_EQ(backendOf(sameNamespace_, "foo.example.com", "/"), "404");
  Json route = getJson("httproute -n gateway-conformance-web-backend no-hostname-match");
  ASSERT_TRUE(route.is_object());
  EXPECT_EQ(condition(route["status"]["parents"][0]["conditions"], "Accepted"),
            "False/NoMatchingListenerHostname");
  // Listener "foo" allows all namespaces, "wildcard" those labelled: both attach from-web.
  Json gw = getJson("gateway -n gateway-conformance-infra hostnames");
  ASSERT_TRUE(gw.is_object());
  std::map<std::string, int> attached;
  for (const Json& l : gw["status"]["listeners"]) attached[l["name"]] = l["attachedRoutes"];
  EXPECT_EQ(attached["foo"], 1);
  EXPECT_EQ(attached["wildcard"], 1);
}

void GatewayE2E::KubectlShowsTheStatus() {
  auto [code, out] = kubectl("get gateway,httproute -A");
  ASSERT_EQ(code, 0) << out;
  // The CRDs' printer columns: the class, the address, PROGRAMMED True.
  std::istringstream lines(out);
  bool gatewayRow = false;
  for (std::string line; std::getline(lines, line);)
    if (line.find("same-namespace") != std::string::npos &&
        line.find("podnet") != std::string::npos &&
        line.find(sameNamespace_) != std::string::npos && line.find("True") != std::string::npos)
      gatewayRow = true;
  EXPECT_TRUE(gatewayRow) << out;
  EXPECT_NE(out.find("[\"paths.example.com\"]"), std::string::npos) << out;
  auto [d, describe] = kubectl("describe gateway -n gateway-conformance-infra same-namespace");
  ASSERT_EQ(d, 0) << describe;
  for (const char* want : {"Programmed", "Accepted", "Attached Routes:  5", "IPAddress"})
    EXPECT_NE(describe.find(want), std::string::npos) << want << "\n" << describe;
  Json gw = getJson("gateway -n gateway-conformance-infra same-namespace");
  const Json& conditions = gw["status"]["conditions"];
  EXPECT_EQ(condition(conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(condition(conditions, "Programmed"), "True/Programmed");
  EXPECT_EQ(condition(gw["status"]["listeners"][0]["conditions"], "ResolvedRefs"),
            "True/ResolvedRefs");
  // Its Service, in kube-system, has the pool's address.
  auto [s, services] = kubectl("get svc -n kube-system -l podnet.io/gateway-service=true");
  EXPECT_NE(services.find(sameNamespace_), std::string::npos) << services;
  // With spec.infrastructure's labels.
  auto [l, labelled] = kubectl("get svc -n kube-system -l team=edge -o name");
  EXPECT_EQ(std::count(labelled.begin(), labelled.end(), '\n'), 1) << labelled;
  // A Gateway deleted: its Service goes too.
  EXPECT_EQ(kubectl("delete gateway -n gateway-conformance-infra hostnames").first, 0);
  EXPECT_TRUE(eventually(
      [&] {
        auto [c, svc] = kubectl("get svc -n kube-system -l podnet.io/gateway-service=true");
        return svc.find(hostnames_) == std::string::npos;
      },
      std::chrono::seconds(20)));
}

// One cluster for all (each test binary process brings up its own).
TEST_F(GatewayE2E, RoutingMatchesFiltersAndWeights) {
  ExactPrefixAndTheirOrder();
  HeaderMatchingAndModifiers();
  Redirects();
  WeightsSplit70To30To0Over500Requests();
}

TEST_F(GatewayE2E, ReferencesHostnamesAndStatus) {
  CrossNamespaceBackendsNeedAReferenceGrant();
  ListenerHostnamesIntersectWithRoutes();
  KubectlShowsTheStatus();
}

}  // namespace
