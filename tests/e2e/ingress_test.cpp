// Ingress end to end on a `podnet up` cluster: seed 003's Ingress (class
// nginx, rewrite-target, TLS from a kubernetes.io/tls Secret) applied as
// written and served by the built-in controller at its LoadBalancer
// address from the host, with the status and Events kubectl shows; other
// classes left alone; the legacy class annotation and the default class;
// changes served without a failed request while the backends scale.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "podnet_harness.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::runCommand;

constexpr const char* kAddress = "172.30.0.250";  // podnet up's ingress LoadBalancer
constexpr const char* kHost = "learn.nextgenplayground.org";

constexpr const char* kBackends = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: app, image: nextgen-app:1.0, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: app-service}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 3000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: nextgen-api:1.0, ports: [{containerPort: 3000}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api-service}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 3000}]
)";

// Seed 003's Ingress, as written there.
constexpr const char* kSeedIngress = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-ingress
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /
spec:
  ingressClassName: nginx
  rules:
  - host: learn.nextgenplayground.org
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: app-service
            port:
              number: 80
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api-service
            port:
              number: 80
  tls:
  - hosts:
    - learn.nextgenplayground.org
    secretName: tls-secret
)";

constexpr const char* kOtherIngresses = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: elsewhere}
spec:
  ingressClassName: other
  rules: [{host: other.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app-service, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: legacy
  annotations: {kubernetes.io/ingress.class: nginx}
spec:
  rules: [{host: legacy.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: api-service, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: classless}
spec:
  rules: [{host: default.example, http: {paths: [{path: /hostname, pathType: Exact, backend: {service: {name: app-service, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken}
spec:
  ingressClassName: podnet
  rules: [{host: broken.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: missing, port: {number: 80}}}}]}}]
)";

// Sends raw bytes to ADDRESS:80 and returns everything answered until the
// proxy closes (or 2 s of silence); `closed` says whether it closed.
std::string rawExchange(const std::string& bytes, bool* closed = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(80);
  ::inet_pton(AF_INET, kAddress, &address.sin_addr);
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  bool ended = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buffer[4096];
    for (;;) {
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        answer.append(buffer, size_t(n));
        continue;
      }
      ended = n == 0;
      break;
    }
  }
  ::close(fd);
  if (closed) *closed = ended;
  return answer;
}

int statusOf(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

constexpr const char* kRoutingManifests = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: a, image: nextgen-app:1.0, ports: [{containerPort: 3000}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
spec:
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: b, image: nextgen-app:1.0, ports: [{containerPort: 3000}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c}
spec:
  selector: {matchLabels: {app: c}}
  template:
    metadata: {labels: {app: c}}
    spec: {containers: [{name: c, image: nextgen-app:1.0, ports: [{containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {app: a}, ports: [{name: http, port: 80, targetPort: 3000}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {selector: {app: b}, ports: [{name: http, port: 8080, targetPort: 3000}]}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: {selector: {app: c}, ports: [{port: 80, targetPort: 3000}]}
---
# The documentation's path table.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: table}
spec:
  rules:
  - host: table.example
    http:
      paths:
      - {path: /foo, pathType: Exact, backend: {service: {name: a, port: {number: 80}}}}
      - {path: /foo, pathType: Prefix, backend: {service: {name: b, port: {name: http}}}}
      - {path: /aaa/bbb, pathType: Prefix, backend: {service: {name: c, port: {number: 80}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}
  - host: "*.wild.example"
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 8080}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rewrite
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  rules:
  - host: rw.example
    http:
      paths: [{path: /something(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: a, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: approot
  annotations: {nginx.ingress.kubernetes.io/app-root: /app1}
spec:
  rules: [{host: root.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: force
  annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}
spec:
  rules: [{host: force.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: deny
  annotations: {nginx.ingress.kubernetes.io/whitelist-source-range: "10.0.0.0/8, 192.168.0.0/16"}
spec:
  rules: [{host: deny.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: allow
  annotations: {nginx.ingress.kubernetes.io/allowlist-source-range: 172.30.0.0/24}
spec:
  rules: [{host: allow.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: main}
spec:
  rules: [{host: canary.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: main-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-weight: "30"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
spec:
  rules: [{host: canary.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 8080}}}}]}}]
)";

constexpr const char* kDefaultBackend = R"(apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback}
spec:
  defaultBackend: {service: {name: c, port: {number: 80}}}
)";

class IngressE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
    if (!fs::exists("/usr/bin/curl")) GTEST_SKIP() << "no curl";
    if (!fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "no nft (scripts/setup.sh installs it)";
    dataDir_ = fs::temp_directory_path() / ("podnet-ingress-e2e-" + std::to_string(::getpid()));
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " up --nodes 2 --manifests '' --data-dir " +
                   dataDir_.string());
    ASSERT_EQ(code, 0) << output;
    up_ = true;
    fs::create_directories(work());
  }
  void TearDown() override {
    fs::remove_all(work());
    if (!up_) return;
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " down --data-dir " + dataDir_.string());
    EXPECT_EQ(code, 0) << output;
  }
  fs::path work() const { return dataDir_.string() + "-files"; }
  std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand("KUBECONFIG=" + (dataDir_ / "server" / "kubeconfig").string() +
                      " /usr/bin/kubectl " + args);
  }
  std::pair<int, std::string> apply(const std::string& name, const std::string& yaml) {
    fs::path file = work() / name;
    std::ofstream(file) << yaml;
    return kubectl("apply -f " + file.string());
  }
  // curl from the host to the ingress address, for `host`.
  std::string get(const std::string& scheme, const std::string& host, const std::string& path,
                  const std::string& extra = "") {
    std::string port = scheme == "https" ? "443" : "80";
    auto [code, out] =
        runCommand("curl -s -m 5 --cacert " + (work() / "tls.crt").string() + " --resolve " + host +
                   ":" + port + ":" + kAddress + " " + extra + " " + scheme + "://" + host + path);
    return out;
  }
  bool readyPods(const std::string& selector, size_t count) {
    return eventually(
        [&] {
          auto [code, out] = kubectl("get pods -l " + selector + " -o json");
          Json list = Json::parse(out, nullptr, false);
          if (!list.is_object()) return false;
          size_t ready = 0;
          for (const Json& pod : list["items"])
            for (const Json& c : pod["status"].value("conditions", Json::array()))
              if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
          return ready == count;
        },
        std::chrono::seconds(40));
  }

  fs::path dataDir_;
  bool up_ = false;
};

TEST_F(IngressE2E, TheSeedsIngressIsServedAsWrittenAndChangesFailNoRequest) {
  // The controller and its classes come with the cluster.
  auto [classes, classesOut] = kubectl("get ingressclass -o json");
  ASSERT_EQ(classes, 0) << classesOut;
  Json classList = Json::parse(classesOut);
  std::map<std::string, std::string> controllers;
  for (const Json& c : classList["items"])
    controllers[c["metadata"]["name"]] = c["spec"]["controller"];
  EXPECT_EQ(controllers["podnet"], "podnet.io/ingress");
  EXPECT_EQ(controllers["nginx"], "podnet.io/ingress");
  ASSERT_TRUE(eventually([&] {
    return kubectl(
               "get svc -n kube-system podnet-ingress -o "
               "jsonpath={.status.loadBalancer.ingress[0].ip}")
               .second == kAddress;
  })) << kubectl("get svc -A").second;

  // The seed's steps: backends, the TLS Secret, the Ingress.
  auto [applied, appliedOut] = apply("backends.yaml", kBackends);
  ASSERT_EQ(applied, 0) << appliedOut;
  auto [made, madeOut] = runCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + std::string(kHost) +
      " -addext subjectAltName=DNS:" + kHost + " -keyout " + (work() / "tls.key").string() +
      " -out " + (work() / "tls.crt").string() + " 2>&1");
  ASSERT_EQ(made, 0) << madeOut;
  auto [secret, secretOut] =
      kubectl("create secret tls tls-secret --cert=" + (work() / "tls.crt").string() +
              " --key=" + (work() / "tls.key").string());
  ASSERT_EQ(secret, 0) << secretOut;
  auto [ingress, ingressOut] = apply("seed-ingress.yaml", kSeedIngress);
  ASSERT_EQ(ingress, 0) << ingressOut;
  ASSERT_TRUE(readyPods("app=app", 2));
  ASSERT_TRUE(readyPods("app=api", 1));

  // Served over TLS with the Secret's certificate (curl verifies it), each
  // path to its Service, rewritten to "/" (the test image answers its pod name there).
  ASSERT_TRUE(eventually([&] { return get("https", kHost, "/api").rfind("api-", 0) == 0; }))
      << get("https", kHost, "/api", "-v 2>&1");
  EXPECT_EQ(get("https", kHost, "/").rfind("app-", 0), 0u);
  EXPECT_EQ(get("https", kHost, "/api/v1/users").rfind("api-", 0), 0u);
  EXPECT_EQ(get("https", kHost, "/apiary").rfind("app-", 0), 0u);
  // Plain HTTP to a TLS host is redirected, as ingress-nginx does.
  std::string redirect = get("http", kHost, "/api?x=1", "-i");
  EXPECT_NE(redirect.find("308 Permanent Redirect"), std::string::npos) << redirect;
  EXPECT_NE(redirect.find("Location: https://learn.nextgenplayground.org/api?x=1"),
            std::string::npos);

  // What kubectl shows: the address, the rules, the Sync event.
  EXPECT_TRUE(eventually([&] {
    return kubectl("get ingress app-ingress -o jsonpath={.status.loadBalancer.ingress[0].ip}")
               .second == kAddress;
  }));
  auto [described, describeOut] = kubectl("describe ingress app-ingress");
  EXPECT_NE(describeOut.find("Address:          172.30.0.250"), std::string::npos) << describeOut;
  EXPECT_NE(describeOut.find("tls-secret terminates learn.nextgenplayground.org"),
            std::string::npos);
  EXPECT_NE(describeOut.find("Scheduled for sync"), std::string::npos) << describeOut;

  // Other classes are left alone; the legacy annotation and the default class are ours.
  auto [others, othersOut] = apply("others.yaml", kOtherIngresses);
  ASSERT_EQ(others, 0) << othersOut;
  EXPECT_TRUE(eventually([&] { return get("http", "legacy.example", "/").rfind("api-", 0) == 0; }));
  EXPECT_TRUE(eventually(
      [&] { return get("http", "default.example", "/hostname").rfind("app-", 0) == 0; }));
  EXPECT_NE(get("http", "other.example", "/", "-i").find("404 Not Found"), std::string::npos);
  EXPECT_EQ(kubectl("get ingress elsewhere -o jsonpath={.status.loadBalancer.ingress}").second, "");
  // What cannot be served says why.
  EXPECT_TRUE(eventually([&] {
    auto [code, out] = kubectl("describe ingress broken");
    return out.find("ServiceNotFound") != std::string::npos;
  })) << kubectl("describe ingress broken").second;
  EXPECT_NE(get("http", "broken.example", "/", "-i").find("503"), std::string::npos);

  // Scaling the backends up and down while a client keeps requesting over
  // one keep-alive connection: not one request fails.
  std::string urls;
  for (int i = 0; i < 50; ++i) urls += std::string(" -o /dev/null https://") + kHost + "/api";
  std::string statusFile = (work() / "statuses").string();
  std::atomic<bool> scaled{false};
  std::thread client([&] {
    while (!scaled)
      runCommand("curl -s -m 60 --cacert " + (work() / "tls.crt").string() + " --resolve " + kHost +
                 ":443:" + kAddress + " -w '%{http_code}\\n'" + urls + " >> " + statusFile);
  });
  kubectl("scale deployment api --replicas=3");
  EXPECT_TRUE(readyPods("app=api", 3));
  kubectl("scale deployment api --replicas=1");
  EXPECT_TRUE(readyPods("app=api", 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  scaled = true;
  client.join();
  std::ifstream in(statusFile);
  std::map<std::string, int> counts;
  int total = 0;
  for (std::string line; std::getline(in, line); ++total) ++counts[line];
  EXPECT_GE(total, 100);
  EXPECT_EQ(counts["200"], total) << "statuses: " << [&] {
    std::string all;
    for (const auto& [s, n] : counts) all += s + " x" + std::to_string(n) + " ";
    return all;
  }();
}

// The reflection the test image answers with: which Deployment's pod, and what it got.
std::pair<std::string, std::string> podAndPath(const std::string& body) {
  Json seen = Json::parse(body, nullptr, false);
  if (!seen.is_object()) return {"?" + body.substr(0, 80), ""};
  std::string pod = seen.value("name", "");
  return {pod.substr(0, pod.find('-')), seen.value("target", "")};
}

TEST_F(IngressE2E, RoutingAnnotationsAndBadInputAsIngressNginxUsersExpect) {
  auto [applied, appliedOut] = apply("routing.yaml", kRoutingManifests);
  ASSERT_EQ(applied, 0) << appliedOut;
  for (const char* app : {"app=a", "app=b", "app=c"}) ASSERT_TRUE(readyPods(app, 1)) << app;
  auto route = [&](const std::string& host, const std::string& path) {
    return podAndPath(get("http", host, path)).first;
  };
  ASSERT_TRUE(eventually([&] { return route("table.example", "/foo") == "a"; }))
      << get("http", "table.example", "/foo", "-i");

  // kubernetes.io/docs/concepts/services-networking/ingress/#examples
  EXPECT_EQ(route("table.example", "/foo"), "a");   // Exact wins the tie
  EXPECT_EQ(route("table.example", "/foo/"), "b");  // Prefix
  EXPECT_EQ(route("table.example", "/foo/bar"), "b");
  EXPECT_EQ(route("table.example", "/foobar"), "a");  // not a path element of /foo
  EXPECT_EQ(route("table.example", "/aaa/bbb"), "c");
  EXPECT_EQ(route("table.example", "/aaa/bbb/ccc"), "c");
  EXPECT_EQ(route("table.example", "/aaa/bbbxyz"), "a");
  EXPECT_EQ(podAndPath(get("http", "table.example", "/aaa//bbb/./x/../ccc")).second,
            "/aaa/bbb/ccc");
  // One-label wildcards.
  EXPECT_EQ(route("x.wild.example", "/r"), "b");
  EXPECT_EQ(statusOf(get("http", "a.b.wild.example", "/", "-i")), 404);
  EXPECT_EQ(statusOf(get("http", "wild.example", "/", "-i")), 404);
  // Nothing matches: 404, until an Ingress with only a defaultBackend exists.
  EXPECT_EQ(statusOf(get("http", "unknown.example", "/", "-i")), 404);
  ASSERT_EQ(apply("fallback.yaml", kDefaultBackend).first, 0);
  EXPECT_TRUE(eventually([&] { return route("unknown.example", "/x") == "c"; }));

  // rewrite-target with capture groups (ingress-nginx's documented example).
  EXPECT_EQ(podAndPath(get("http", "rw.example", "/something/new?q=1")).second, "/new?q=1");
  EXPECT_EQ(get("http", "rw.example", "/something").rfind("a-", 0), 0u);  // "/": the pod's name
  // Redirects: app-root (302), force-ssl-redirect without TLS (308).
  std::string root = get("http", "root.example", "/", "-i");
  EXPECT_EQ(statusOf(root), 302) << root;
  EXPECT_NE(root.find("Location: http://root.example/app1"), std::string::npos) << root;
  std::string forced = get("http", "force.example", "/x", "-i");
  EXPECT_EQ(statusOf(forced), 308) << forced;
  EXPECT_NE(forced.find("Location: https://force.example/x"), std::string::npos) << forced;
  // Source ranges: the client's address (kept: the controller's Service has
  // externalTrafficPolicy Local) is the host's, in 172.30.0.0/24.
  EXPECT_EQ(statusOf(get("http", "deny.example", "/", "-i")), 403);
  EXPECT_EQ(statusOf(get("http", "allow.example", "/", "-i")), 200);

  // Canary: by header always, by weight 30 of 100.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(podAndPath(get("http", "canary.example", "/r", "-H 'X-Canary: always'")).first, "b");
  EXPECT_EQ(podAndPath(get("http", "canary.example", "/r", "-H 'X-Canary: never'")).first, "a");
  std::string urls;
  for (int i = 0; i < 200; ++i) urls += " http://canary.example/r";
  auto [code, bodies] =
      runCommand("curl -s -m 60 --resolve canary.example:80:" + std::string(kAddress) + urls);
  int toCanary = 0, total = 0;
  std::istringstream lines(bodies);
  for (std::string line; std::getline(lines, line);) {
    std::string pod = podAndPath(line).first;
    total += pod == "a" || pod == "b";
    toCanary += pod == "b";
  }
  EXPECT_EQ(total, 200);
  EXPECT_GT(toCanary, 25) << toCanary << " of 200 to the canary";  // expected 60
  EXPECT_LT(toCanary, 100) << toCanary << " of 200 to the canary";

  // Request smuggling and header abuse, sent raw: 400 and the connection closed.
  const std::string host = "Host: table.example\r\n";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"CL and TE", "POST / HTTP/1.1\r\n" + host +
                        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"two lengths",
       "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
      {"bad length", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1x\r\n\r\na"},
      {"signed length", "POST / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\na"},
      {"coding after chunked",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n"},
      {"space before colon", "GET / HTTP/1.1\r\n" + host + "X-A : b\r\n\r\n"},
      {"bare CR", "GET / HTTP/1.1\r\n" + host + "X-A: b\rc\r\n\r\n"},
      {"NUL", std::string("GET / HTTP/1.1\r\n") + host + std::string("X-A: b\0c\r\n\r\n", 14)},
      {"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: b\r\n c\r\n\r\n"},
      {"no Host", "GET / HTTP/1.1\r\n\r\n"},
      {"two Hosts", "GET / HTTP/1.1\r\n" + host + "Host: other.example\r\n\r\n"},
      {"bad chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n"},
  };
  for (const auto& [what, bytes] : refused) {
    bool closed = false;
    std::string answer = rawExchange(bytes, &closed);
    EXPECT_EQ(statusOf(answer), 400) << what << ": " << answer.substr(0, 200);
    EXPECT_TRUE(closed) << what << ": the connection stays open";
  }
  EXPECT_EQ(
      statusOf(rawExchange("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n" + host + "\r\n")),
      414);
  EXPECT_EQ(statusOf(rawExchange("GET / HTTP/1.1\r\n" + host + "X-Big: " + std::string(70000, 'b') +
                                 "\r\n\r\n")),
            431);
  // The proxy kept serving everyone else.
  EXPECT_EQ(route("table.example", "/foo"), "a");
}

}  // namespace
