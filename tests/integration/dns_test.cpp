// podnet dns against the real podnet server: the real kubectl creates
// Services, EndpointSlices and Pods, and the real dig sees them within 1 s.
#include <gtest/gtest.h>

#include "podnet_harness.h"
#include "prometheus_text.h"

namespace podnet::testing {
namespace {

// `podnet dns --kubeconfig` as a child process on a free loopback port.
class DnsProcess {
 public:
  DnsProcess(const std::string& kubeconfig, const std::string& logDir)
      : port_(freeLoopbackPort()), metricsPort_(freeLoopbackPort()), log_(logDir + "/dns.log") {
    std::vector<std::string> args = {
        PODNET_BINARY,      "dns",
        "--kubeconfig",     kubeconfig,
        "--listen",         "127.0.0.1:" + std::to_string(port_),
        "--upstream",       "none",
        "--threads",        "2",
        "--metrics-listen", "127.0.0.1:" + std::to_string(metricsPort_)};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~DnsProcess() { stop(); }

  // Serving and synced: the zone apex answers NOERROR instead of SERVFAIL.
  bool waitReady() {
    return eventually(
        [&] {
          return log().find("podnet dns: serving cluster.local on 127.0.0.1:") !=
                     std::string::npos &&
                 dig("cluster.local SOA").find("status: NOERROR") != std::string::npos;
        },
        std::chrono::seconds(20));
  }
  std::string dig(const std::string& args) const {
    return runCommand("dig @127.0.0.1 -p " + std::to_string(port_) + " +tries=1 +time=1 " + args)
        .second;
  }
  // Stops with SIGTERM; returns the exit status.
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  std::string log() const { return readFile(log_); }
  std::string portText() const { return std::to_string(port_); }
  // Its /metrics, parsed by the strict reader.
  PromText metrics() const {
    return parsePromText(
        runCommand("curl -s -m 5 http://127.0.0.1:" + std::to_string(metricsPort_) + "/metrics")
            .second);
  }

 private:
  uint16_t port_, metricsPort_;
  std::string log_;
  pid_t pid_ = -1;
  int status_ = -1;
};

class DnsIntegration : public KubectlSuite<DnsIntegration> {
 protected:
  void SetUp() override {
    KubectlSuite::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dns_ = std::make_unique<DnsProcess>(server_->kubeconfig(), server_->dataDir);
    ASSERT_TRUE(dns_->waitReady()) << dns_->log();
  }
  void TearDown() override {
    if (dns_) EXPECT_EQ(dns_->stop(), 0) << dns_->log();
  }
  static std::pair<int, std::string> kubectl(const std::string& args) {
    return runCommand(kubectlCommand() + args);
  }
  static std::pair<int, std::string> apply(const std::string& yaml) {
    std::string path = server_->dataDir + "/manifest.yaml";
    std::ofstream(path) << yaml;
    return kubectl("apply -f " + path);
  }
  // Polls dig until `expected` appears; returns the time it took, or -1.
  double secondsUntil(const std::string& digArgs, const std::string& expected) {
    auto started = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
      if (dns_->dig(digArgs).find(expected) != std::string::npos)
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  std::unique_ptr<DnsProcess> dns_;
};

TEST_F(DnsIntegration, NewServiceResolvesWithinOneSecond) {
  auto [code, out] = kubectl("create service clusterip web --tcp=80:8080");
  ASSERT_EQ(code, 0) << out;
  auto [ipCode, ip] = kubectl("get service web -o jsonpath={.spec.clusterIP}");
  ASSERT_EQ(ipCode, 0) << ip;
  ASSERT_FALSE(ip.empty());
  double took = secondsUntil("web.default.svc.cluster.local +short", ip + "\n");
  std::printf("[ figure ] new Service resolvable %.0f ms after kubectl create returned\n",
              took * 1000);
  EXPECT_GE(took, 0) << dns_->log();
  EXPECT_LT(took, 1.0);
  // Named port: SRV; the Service IP: PTR; the kubernetes Service exists too.
  EXPECT_NE(dns_->dig("_80-8080._tcp.web.default.svc.cluster.local SRV +short")
                .find(" 80 web.default.svc.cluster.local."),
            std::string::npos);
  EXPECT_EQ(dns_->dig("-x " + ip + " +short"), "web.default.svc.cluster.local.\n");
  EXPECT_NE(dns_->dig("kubernetes.default.svc.cluster.local +short"), "");
  // Deleted: NXDOMAIN within 1 s.
  ASSERT_EQ(kubectl("delete service web").first, 0);
  took = secondsUntil("web.default.svc.cluster.local", "status: NXDOMAIN");
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 1.0);
}

TEST_F(DnsIntegration, HeadlessServiceFollowsEndpointSliceChanges) {
  auto manifest = [](const std::string& second) {
    return "apiVersion: v1\nkind: Service\nmetadata: {name: db}\n"
           "spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}\n---\n"
           "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
           "metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}\n"
           "addressType: IPv4\nports: [{name: pg, port: 5432, protocol: TCP}]\n"
           "endpoints:\n"
           "- {addresses: [10.244.1.10], hostname: db-0, conditions: {ready: true}}\n"
           "- {addresses: [" +
           second + "], hostname: db-1, conditions: {ready: true}}\n";
  };
  auto [code, out] = apply(manifest("10.244.1.11"));
  ASSERT_EQ(code, 0) << out;
  double took = secondsUntil("db-1.db.default.svc.cluster.local +short", "10.244.1.11\n");
  EXPECT_GE(took, 0) << dns_->log();
  EXPECT_LT(took, 1.0);
  std::string all = dns_->dig("db.default.svc.cluster.local +short");
  EXPECT_NE(all.find("10.244.1.10\n"), std::string::npos) << all;
  EXPECT_NE(all.find("10.244.1.11\n"), std::string::npos) << all;
  EXPECT_NE(dns_->dig("_pg._tcp.db.default.svc.cluster.local SRV +short")
                .find("0 50 5432 db-1.db.default.svc.cluster.local."),
            std::string::npos);
  // The pod behind db-1 restarts with a new IP.
  std::tie(code, out) = apply(manifest("10.244.1.12"));
  ASSERT_EQ(code, 0) << out;
  took = secondsUntil("db-1.db.default.svc.cluster.local +short", "10.244.1.12\n");
  std::printf("[ figure ] headless endpoint change visible in %.0f ms\n", took * 1000);
  EXPECT_GE(took, 0);
  EXPECT_LT(took, 1.0);
  EXPECT_EQ(dns_->dig("-x 10.244.1.12 +short"), "db-1.db.default.svc.cluster.local.\n");
  EXPECT_NE(dns_->dig("-x 10.244.1.11").find("status: NXDOMAIN"), std::string::npos);
}

TEST_F(DnsIntegration, ExternalNameNamespacesAndNxdomain) {
  ASSERT_EQ(kubectl("create namespace team").first, 0);
  ASSERT_EQ(kubectl("-n team create service externalname ext --external-name example.org").first,
            0);
  double took = secondsUntil("ext.team.svc.cluster.local", "CNAME\texample.org.");
  EXPECT_GE(took, 0) << dns_->log();
  EXPECT_LT(took, 1.0);
  std::string ns = dns_->dig("team.svc.cluster.local");
  EXPECT_NE(ns.find("status: NOERROR"), std::string::npos) << ns;
  EXPECT_NE(dns_->dig("nope.team.svc.cluster.local").find("status: NXDOMAIN"), std::string::npos);
  EXPECT_NE(dns_->dig("x.nonexistent.svc.cluster.local").find("status: NXDOMAIN"),
            std::string::npos);
  // No upstream configured: other names are refused, never sent anywhere.
  EXPECT_NE(dns_->dig("example.org").find("status: REFUSED"), std::string::npos);
}

TEST_F(DnsIntegration, PodRecordsFollowPodIps) {
  ASSERT_EQ(apply("apiVersion: v1\nkind: Pod\nmetadata: {name: p1}\n"
                  "spec: {hostname: h1, subdomain: sub, containers: [{name: c, image: busybox}]}\n")
                .first,
            0);
  ASSERT_EQ(apply("apiVersion: v1\nkind: Service\nmetadata: {name: sub}\nspec: {clusterIP: None}\n")
                .first,
            0);
  // What the kubelet reports: the pod's IP and Ready.
  auto [code, out] = kubectl(
      "patch pod p1 --subresource=status --type=merge -p "
      "'{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.7.7\",\"podIPs\":[{\"ip\":"
      "\"10.244.7.7\"}],\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}'");
  ASSERT_EQ(code, 0) << out;
  double took = secondsUntil("10-244-7-7.default.pod.cluster.local +short", "10.244.7.7\n");
  EXPECT_GE(took, 0) << dns_->log();
  EXPECT_LT(took, 1.0);
  EXPECT_EQ(dns_->dig("h1.sub.default.svc.cluster.local +short"), "10.244.7.7\n");
  // Verified: another namespace or another IP is NXDOMAIN.
  EXPECT_NE(dns_->dig("10-244-7-7.kube-system.pod.cluster.local").find("status: NXDOMAIN"),
            std::string::npos);
  EXPECT_NE(dns_->dig("10-244-7-8.default.pod.cluster.local").find("status: NXDOMAIN"),
            std::string::npos);
}

TEST_F(DnsIntegration, MetricsCountEachQueryOnceUnderCoreDnsNames) {
  PromText before = dns_->metrics();
  ASSERT_EQ(before.error, "");
  ASSERT_TRUE(before.families.count("coredns_dns_requests_total"));
  EXPECT_EQ(before.families["coredns_dns_request_duration_seconds"].type, "histogram");
  auto delta = [&](const PromText& after, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
    return after.sum(name, labels) - before.sum(name, labels);
  };
  ASSERT_NE(dns_->dig("kubernetes.default.svc.cluster.local A").find("status: NOERROR"),
            std::string::npos);
  PromText udp = dns_->metrics();
  ASSERT_EQ(udp.error, "");
  EXPECT_EQ(delta(udp, "coredns_dns_requests_total", {{"proto", "udp"}, {"type", "A"}}), 1);
  EXPECT_EQ(delta(udp, "coredns_dns_requests_total", {}), 1);
  EXPECT_EQ(delta(udp, "coredns_dns_responses_total", {{"rcode", "NOERROR"}}), 1);
  EXPECT_EQ(delta(udp, "coredns_dns_request_duration_seconds_count", {{"type", "A"}}), 1);
  // CoreDNS's labels, as its dashboards select them.
  EXPECT_TRUE(udp.value("coredns_dns_requests_total", {{"type", "A"},
                                                       {"family", "1"},
                                                       {"server", "dns://:" + dns_->portText()},
                                                       {"zone", "."},
                                                       {"view", ""}})
                  .has_value());
  // Over TCP, an NXDOMAIN and a REFUSED (no upstream): each counted once, by what it was.
  dns_->dig("+tcp nope.default.svc.cluster.local AAAA");
  dns_->dig("example.org");
  PromText more = dns_->metrics();
  ASSERT_EQ(more.error, "");
  EXPECT_EQ(delta(more, "coredns_dns_requests_total", {{"proto", "tcp"}, {"type", "AAAA"}}), 1);
  EXPECT_EQ(delta(more, "coredns_dns_responses_total", {{"rcode", "NXDOMAIN"}}), 1);
  EXPECT_EQ(delta(more, "coredns_dns_responses_total", {{"rcode", "REFUSED"}}), 1);
  EXPECT_EQ(delta(more, "coredns_dns_requests_total", {}), 3);
}

}  // namespace
}  // namespace podnet::testing
