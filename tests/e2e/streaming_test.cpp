// kubectl logs, exec, attach, run -it --rm, port-forward and cp on a
// `podnet up` cluster, with the real kubectl: what it prints and its exit
// code, as a user sees them. Terminals come from script(1).
#include <fstream>
#include <random>
#include <thread>

#include "cluster_fixture.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using podnet::testing::eventually;
using podnet::testing::readFile;
using podnet::testing::runCommand;

constexpr const char* kApp = R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
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
)";

std::string sha256Of(const std::string& path) {
  auto [code, out] = runCommand("sha256sum " + path);
  return code == 0 ? out.substr(0, 64) : "";
}

// Runs `command` with a terminal (script(1)), as a user at a prompt would;
// `typed` (no single quotes) is typed at once, before the program started.
std::pair<int, std::string> withTerminal(const std::string& command,
                                         const std::string& typed = "") {
  std::string quoted;
  for (char c : command) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  std::string input = typed.empty() ? "" : "(printf '" + typed + "'; sleep 2) | ";
  return runCommand(input + "script -qec '" + quoted + "' /dev/null");
}

class StreamingE2E : public podnet::testing::ClusterTest {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/script")) GTEST_SKIP() << "no script (bsdutils)";
    ClusterTest::SetUp();
  }
};

TEST_F(StreamingE2E, LogsTailSinceTimestampsFollowPreviousAndSelectors) {
  // Writes a numbered line every 100 ms, then fails: it restarts (Always),
  // so the previous instance's log exists too.
  ASSERT_EQ(apply("counter.yaml", R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: counter}
spec:
  selector: {matchLabels: {app: counter}}
  template:
    metadata: {labels: {app: counter}}
    spec:
      containers:
      - name: count
        image: busybox
        command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i"; echo "err $i" >&2; sleep 0.1; done; exit 1']
      - name: quiet
        image: busybox
        command: [sh, -c, 'echo quiet-start; sleep 3600']
)")
                .first,
            0);
  ASSERT_TRUE(eventually(
      [&] {
        return kubectl("logs deploy/counter -c count").second.find("line 3") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << kubectl("describe pods -l app=counter").second;
  std::string pod = podName("app=counter");

  // -f follows while it writes and ends (exit 0) when the container stops.
  auto [followCode, followed] = kubectl("logs -f " + pod + " -c count");
  EXPECT_EQ(followCode, 0) << followed;
  EXPECT_NE(followed.find("line 10\n"), std::string::npos) << followed;
  EXPECT_NE(followed.find("err 10\n"), std::string::npos) << followed;

  // The restarted instance; -p shows the one before, complete.
  ASSERT_TRUE(eventually(
      [&] {
        auto [code, out] =
            kubectl("get pod " + pod + " -o jsonpath={.status.containerStatuses[0].restartCount}");
        return code == 0 && !out.empty() && out != "0";
      },
      std::chrono::seconds(30)));
  auto [previousCode, previous] = kubectl("logs -p " + pod + " -c count");
  EXPECT_EQ(previousCode, 0) << previous;
  EXPECT_NE(previous.find("line 1\n"), std::string::npos) << previous;
  EXPECT_NE(previous.find("line 10\n"), std::string::npos) << previous;

  auto [tailCode, tail] = kubectl("logs -p " + pod + " -c count --tail=2");
  EXPECT_EQ(tail, "line 10\nerr 10\n");
  auto [stampCode, stamped] = kubectl("logs -p " + pod + " -c count --tail=1 --timestamps");
  // RFC 3339 with nine fraction digits, then the line.
  EXPECT_EQ(stamped.size(), std::string("2026-12-07T01:02:03.123456789Z err 10\n").size())
      << stamped;
  EXPECT_EQ(stamped.substr(30), " err 10\n") << stamped;
  EXPECT_EQ(kubectl("logs -p " + pod + " -c count --limit-bytes=9").second, "line 1\ner");
  EXPECT_EQ(kubectl("logs " + pod + " -c quiet --since=1h").second, "quiet-start\n");

  // The pod has two containers: kubectl picks the first and says so; the
  // API refuses a request that names none, listing them.
  auto [defaulted, defaultedOut] = kubectl("logs " + pod + " --tail=1");
  EXPECT_NE(defaultedOut.find("Defaulted container \"count\" out of: count, quiet"),
            std::string::npos)
      << defaultedOut;
  auto [rawCode, raw] = kubectl("get --raw /api/v1/namespaces/default/pods/" + pod + "/log");
  EXPECT_NE(rawCode, 0);
  EXPECT_NE(raw.find("a container name must be specified for pod " + pod +
                     ", choose one of: [count quiet]"),
            std::string::npos)
      << raw;
  auto [badCode, bad] = kubectl("logs " + pod + " -c nope");
  EXPECT_NE(badCode, 0);
  EXPECT_NE(bad.find("container nope is not valid for pod " + pod), std::string::npos) << bad;
  auto [allCode, all] = kubectl("logs " + pod + " --all-containers --prefix");
  EXPECT_NE(all.find("[pod/" + pod + "/quiet] quiet-start"), std::string::npos) << all;
  auto [selectorCode, selected] = kubectl("logs -l app=counter -c quiet");
  EXPECT_EQ(selected, "quiet-start\n");
  auto [missingCode, missing] = kubectl("logs nosuchpod");
  EXPECT_NE(missingCode, 0);
  EXPECT_NE(missing.find("pods \"nosuchpod\" not found"), std::string::npos) << missing;
}

TEST_F(StreamingE2E, ExecExitCodesStreamsStdinTerminalAndErrors) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  std::string pod = podName("app=app");

  auto [exitCode, exitOut] = kubectl("exec " + pod + " -- sh -c 'echo out; echo err >&2; exit 3'");
  EXPECT_EQ(exitCode, 3) << exitOut;
  EXPECT_NE(exitOut.find("out\n"), std::string::npos);
  EXPECT_NE(exitOut.find("err\n"), std::string::npos);
  EXPECT_NE(exitOut.find("command terminated with exit code 3"), std::string::npos) << exitOut;
  // stdout and stderr are separate streams.
  EXPECT_EQ(runCommand("(" + kubectlCommand("exec " + pod + " -- sh -c 'echo out; echo err >&2'") +
                       " 2>/dev/null)")
                .second,
            "out\n");

  // The pod's namespaces: its hostname, its resolv.conf, its IP.
  EXPECT_EQ(kubectl("exec " + pod + " -- hostname").second, pod + "\n");
  std::string resolvConf = kubectl("exec " + pod + " -- cat /etc/resolv.conf").second;
  EXPECT_NE(resolvConf.find("search default.svc.cluster.local"), std::string::npos) << resolvConf;
  std::string podIp = kubectl("get pod " + pod + " -o jsonpath={.status.podIP}").second;
  EXPECT_NE(kubectl("exec " + pod + " -- ip -4 addr show eth0").second.find(podIp + "/"),
            std::string::npos);

  // stdin piped through -i, 4 MiB of it, intact.
  fs::path input = work() / "input";
  {
    std::ofstream out(input, std::ios::binary);
    std::mt19937 random(7);
    for (int i = 0; i < 1024 * 1024; ++i) {
      uint32_t word = random();
      out.write(reinterpret_cast<const char*>(&word), 4);
    }
  }
  auto [catCode, catOut] =
      runCommand(kubectlCommand("exec -i " + pod + " -- sha256sum < " + input.string()));
  EXPECT_EQ(catCode, 0) << catOut;
  EXPECT_EQ(catOut.substr(0, 64), sha256Of(input.string()));

  // -it: a real terminal with the client's size.
  auto [ttyCode, ttyOut] =
      withTerminal("stty cols 123 rows 45; " +
                   kubectlCommand("exec -it " + pod + " -- sh -c 'stty size; tty; exit 4'"));
  EXPECT_EQ(ttyCode, 4) << ttyOut;
  EXPECT_NE(ttyOut.find("45 123"), std::string::npos) << ttyOut;
  EXPECT_NE(ttyOut.find("/dev/pts/"), std::string::npos) << ttyOut;
  auto [typedCode, typedOut] = withTerminal(
      kubectlCommand("exec -it " + pod + " -- sh -c 'read l; echo got:$l; exit 6'"), "abc\\n");
  EXPECT_EQ(typedCode, 6) << typedOut;
  EXPECT_NE(typedOut.find("got:abc"), std::string::npos) << typedOut;

  auto [missingCode, missing] = kubectl("exec " + pod + " -- nosuchcommand");
  EXPECT_EQ(missingCode, 1);
  EXPECT_NE(missing.find("exec: \"nosuchcommand\": executable file not found in $PATH"),
            std::string::npos)
      << missing;
  auto [badContainer, badOut] = kubectl("exec " + pod + " -c nope -- true");
  EXPECT_NE(badContainer, 0);
  EXPECT_NE(badOut.find("container nope is not valid for pod " + pod), std::string::npos) << badOut;
}

TEST_F(StreamingE2E, SeedRunItRmAttachAndExitCodes) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  ASSERT_TRUE(readyPods("k8s-app=kube-dns -n kube-system", 1));
  // Seed 003, verbatim.
  auto [seedCode, seedOut] = withTerminal(
      kubectlCommand("run curl --image=curlimages/curl -it --rm -- curl http://app-service"));
  EXPECT_EQ(seedCode, 0) << seedOut;
  std::string pod = podName("app=app");
  EXPECT_NE(seedOut.find(pod), std::string::npos) << seedOut;  // the app's answer names its pod
  EXPECT_EQ(seedOut.find("couldn't attach"), std::string::npos) << seedOut;
  EXPECT_NE(seedOut.find("pod \"curl\" deleted"), std::string::npos) << seedOut;
  EXPECT_TRUE(eventually([&] { return kubectl("get pod curl").first != 0; }));

  // An interactive shell: typed lines reach it, its exit code is kubectl's.
  auto [shellCode, shellOut] =
      withTerminal("(sleep 2; echo 'echo hello-$((6*7))'; sleep 1; echo 'exit 7') | " +
                   kubectlCommand("run shell --image=busybox -it --rm --restart=Never -- sh"));
  EXPECT_EQ(shellCode, 7) << shellOut;
  EXPECT_NE(shellOut.find("hello-42"), std::string::npos) << shellOut;

  // attach -i to a container whose stdin is open: a line in, its answer out.
  ASSERT_EQ(apply("reader.yaml", R"(apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: reader
    image: busybox
    stdin: true
    command: [sh, -c, 'read line; echo "got $line"']
)")
                .first,
            0);
  ASSERT_TRUE(eventually(
      [&] { return kubectl("get pod reader -o jsonpath={.status.phase}").second == "Running"; }));
  auto [attachCode, attached] =
      runCommand("echo hello | timeout 20 env " + kubectlCommand("attach -i reader"));
  EXPECT_EQ(attachCode, 0) << attached;
  EXPECT_NE(attached.find("got hello"), std::string::npos) << attached;
  EXPECT_TRUE(eventually(
      [&] { return kubectl("get pod reader -o jsonpath={.status.phase}").second == "Succeeded"; }));
  EXPECT_EQ(kubectl("logs reader").second, "got hello\n");
}

TEST_F(StreamingE2E, PortForwardTransfersManyConnectionsAndReportsRefused) {
  // A file server in a pod (busybox httpd, which the host provides).
  fs::path www = work() / "www";
  fs::create_directories(www);
  ASSERT_EQ(runCommand("head -c 100M /dev/urandom > " + (www / "big").string()).first, 0);
  std::ofstream(www / "small") << "small-file\n";
  ASSERT_EQ(apply("files.yaml", std::string(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: files}
spec:
  selector: {matchLabels: {app: files}}
  template:
    metadata: {labels: {app: files}}
    spec:
      containers:
      - name: httpd
        image: busybox
        command: [busybox, httpd, -f, -p, "8000", -h, ")") +
                                    www.string() + R"("]
        ports: [{containerPort: 8000}]
        readinessProbe: {tcpSocket: {port: 8000}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: files}
spec:
  selector: {app: files}
  ports: [{port: 80, targetPort: 8000}]
)")
                .first,
            0);
  ASSERT_TRUE(readyPods("app=files", 1));
  std::string pod = podName("app=files");

  for (const std::string& mode :
       std::vector<std::string>{"", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false "}) {
    SCOPED_TRACE(mode.empty() ? "WebSocket" : "SPDY");
    for (const std::string& target :
         std::vector<std::string>{"pod/" + pod, "svc/files", "deploy/files"}) {
      SCOPED_TRACE(target);
      uint16_t local = podnet::testing::freeLoopbackPort();
      std::string port = target == "svc/files" ? "80" : "8000";
      fs::path log = work() / "forward.log";
      std::string command =
          mode +
          kubectlCommand("port-forward " + target + " " + std::to_string(local) + ":" + port) +
          " > " + log.string() + " 2>&1 & echo $!";
      auto [started, pidText] = runCommand(command);
      pid_t forwarder = std::atoi(pidText.c_str());
      ASSERT_GT(forwarder, 0);
      std::string url = "http://127.0.0.1:" + std::to_string(local);
      EXPECT_TRUE(
          eventually([&] { return readFile(log).find("Forwarding from") != std::string::npos; }));
      // 20 connections at once.
      auto [parallelCode, parallel] =
          runCommand("seq 20 | xargs -P 20 -I{} curl -s -m 20 " + url + "/small | sort | uniq -c");
      EXPECT_NE(parallel.find("20 small-file"), std::string::npos) << parallel << readFile(log);
      if (target == "pod/" + pod) {
        auto [bigCode, bigSum] = runCommand("curl -s -m 120 " + url + "/big | sha256sum");
        EXPECT_EQ(bigSum.substr(0, 64), sha256Of((www / "big").string())) << readFile(log);
      }
      ::kill(forwarder, SIGTERM);
      runCommand("timeout 5 tail --pid=" + std::to_string(forwarder) + " -f /dev/null");
    }
  }

  // Several ports in one kubectl port-forward.
  {
    // Two ports each found free (first + 1 may be anyone's: etcd members and
    // servers of tests running alongside take free loopback ports too).
    uint16_t first = podnet::testing::freeLoopbackPort();
    uint16_t second = podnet::testing::freeLoopbackPort();
    while (second == first) second = podnet::testing::freeLoopbackPort();
    fs::path log = work() / "two.log";
    auto [started, pidText] =
        runCommand(kubectlCommand("port-forward pod/" + pod + " " + std::to_string(first) +
                                  ":8000 " + std::to_string(second) + ":8000") +
                   " > " + log.string() + " 2>&1 & echo $!");
    EXPECT_TRUE(eventually([&] {
      std::string text = readFile(log);
      return text.find(std::to_string(second) + " -> 8000") != std::string::npos;
    })) << readFile(log);
    for (uint16_t port : {first, second})
      EXPECT_EQ(
          runCommand("curl -s -m 10 http://127.0.0.1:" + std::to_string(port) + "/small").second,
          "small-file\n")
          << "port " << port << ": " << readFile(log);
    runCommand("kill " + std::to_string(std::atoi(pidText.c_str())) + " 2>/dev/null");
  }

  // A port nothing listens on: the error reaches kubectl, which gives up.
  uint16_t local = podnet::testing::freeLoopbackPort();
  fs::path log = work() / "refused.log";
  auto [started, pidText] =
      runCommand(kubectlCommand("port-forward pod/" + pod + " " + std::to_string(local) + ":9999") +
                 " > " + log.string() + " 2>&1 & echo $!");
  EXPECT_TRUE(
      eventually([&] { return readFile(log).find("Forwarding from") != std::string::npos; }));
  runCommand("curl -s -m 5 http://127.0.0.1:" + std::to_string(local) + "/");
  EXPECT_TRUE(eventually([&] {
    return readFile(log).find("lost connection to pod") != std::string::npos;
  })) << readFile(log);
  EXPECT_NE(readFile(log).find("connect: connection refused"), std::string::npos) << readFile(log);
  runCommand("kill " + std::to_string(std::atoi(pidText.c_str())) + " 2>/dev/null");
}

TEST_F(StreamingE2E, CpDirectoryBothWays) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  std::string pod = podName("app=app");
  fs::path source = work() / "tree";
  fs::create_directories(source / "sub" / "deeper");
  std::ofstream(source / "a.txt") << "alpha\n";
  std::ofstream(source / "sub" / "b.txt") << "beta\n";
  ASSERT_EQ(runCommand("head -c 5M /dev/urandom > " + (source / "sub" / "deeper" / "blob").string())
                .first,
            0);
  // Containers see the host's files here: copy to a path that does not exist yet.
  fs::path inPod = work() / "in-pod";
  auto [toCode, toOut] = kubectl("cp " + source.string() + " " + pod + ":" + inPod.string());
  EXPECT_EQ(toCode, 0) << toOut;
  EXPECT_EQ(readFile(inPod / "sub" / "b.txt"), "beta\n");
  fs::path back = work() / "back";
  auto [fromCode, fromOut] = kubectl("cp " + pod + ":" + inPod.string() + " " + back.string());
  EXPECT_EQ(fromCode, 0) << fromOut;
  EXPECT_EQ(readFile(back / "a.txt"), "alpha\n");
  EXPECT_EQ(sha256Of((back / "sub" / "deeper" / "blob").string()),
            sha256Of((source / "sub" / "deeper" / "blob").string()));
}

// kubectl's fallback (and every kubectl before 1.30): exec, attach and cp
// over SPDY/3.1 instead of WebSocket.
TEST_F(StreamingE2E, ExecAttachAndCpOverSpdy) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  std::string pod = podName("app=app");
  const std::string spdy = "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false ";
  auto [exitCode, exitOut] =
      runCommand(spdy + kubectlCommand("exec " + pod + " -- sh -c 'echo out; exit 3'"));
  EXPECT_EQ(exitCode, 3) << exitOut;
  EXPECT_NE(exitOut.find("out\n"), std::string::npos) << exitOut;
  EXPECT_NE(exitOut.find("command terminated with exit code 3"), std::string::npos) << exitOut;
  auto [catCode, catOut] = runCommand("head -c 2000000 /dev/zero | " + spdy +
                                      kubectlCommand("exec -i " + pod + " -- wc -c"));
  EXPECT_EQ(catOut, "2000000\n");
  auto [ttyCode, ttyOut] = withTerminal(
      spdy + kubectlCommand("exec -it " + pod + " -- sh -c 'sleep 0.3; stty size; exit 5'"));
  EXPECT_EQ(ttyCode, 5) << ttyOut;
  // Typed before the program started: kept for it (this once sent the
  // agent's SPDY reader into endless recursion).
  auto [typedCode, typedOut] = withTerminal(
      spdy + kubectlCommand("exec -it " + pod + " -- sh -c 'read l; echo got:$l; exit 6'"),
      "abc\\n");
  EXPECT_EQ(typedCode, 6) << typedOut;
  EXPECT_NE(typedOut.find("got:abc"), std::string::npos) << typedOut;
  fs::path source = work() / "spdy-tree";
  fs::create_directories(source / "sub");
  std::ofstream(source / "sub" / "f.txt") << "over spdy\n";
  fs::path inPod = work() / "spdy-in-pod";
  auto [cpCode, cpOut] =
      runCommand(spdy + kubectlCommand("cp " + source.string() + " " + pod + ":" + inPod.string()));
  EXPECT_EQ(cpCode, 0) << cpOut;
  EXPECT_EQ(readFile(inPod / "sub" / "f.txt"), "over spdy\n");
  auto [runCode, runOut] = withTerminal(
      spdy + kubectlCommand(
                 "run once --image=busybox -it --rm --restart=Never -- sh -c 'echo ran; exit 2'"));
  EXPECT_EQ(runCode, 2) << runOut;
  EXPECT_NE(runOut.find("ran"), std::string::npos) << runOut;
}

TEST_F(StreamingE2E, NodeApiLetsInOnlyTheApiServersCertificate) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  std::string pod = podName("app=app");
  std::string nodeIp = kubectl("get pod " + pod + " -o jsonpath={.status.hostIP}").second;
  std::string url = "https://" + nodeIp + ":10250/containerLogs/default/" + pod + "/app";
  fs::path pki = dataDir_ / "server" / "pki";
  auto status = [&](const std::string& flags) {
    return runCommand("curl -s -o /dev/null -w '%{http_code}' -m 5 --cacert " +
                      (pki / "ca.crt").string() + " " + flags + " " + url)
        .second;
  };
  // The server verifies the node's certificate with the cluster CA (curl too).
  EXPECT_EQ(status("--cert " + (pki / "kubelet-client.crt").string() + " --key " +
                   (pki / "kubelet-client.key").string()),
            "200");
  EXPECT_EQ(status(""), "401");
  // Signed by another CA.
  fs::path other = work() / "other";
  fs::create_directories(other);
  ASSERT_EQ(
      runCommand("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                 "-subj /CN=kube-apiserver-kubelet-client -keyout " +
                 (other / "k").string() + " -out " + (other / "c").string())
          .first,
      0);
  EXPECT_EQ(status("--cert " + (other / "c").string() + " --key " + (other / "k").string()), "401");
  // The cluster's CA, but another name: not allowed to read pods' logs.
  fs::path ext = other / "ext";
  std::ofstream(ext) << "extendedKeyUsage=clientAuth\n";
  ASSERT_EQ(runCommand("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                       "-subj /CN=jane/O=developers -keyout " +
                       (other / "jk").string() + " -out " + (other / "jane.csr").string() +
                       " && openssl x509 -req -in " + (other / "jane.csr").string() + " -CA " +
                       (pki / "ca.crt").string() + " -CAkey " + (pki / "ca.key").string() +
                       " -CAcreateserial -days 1 -extfile " + ext.string() + " -out " +
                       (other / "jane.crt").string())
                .first,
            0);
  EXPECT_EQ(status("--cert " + (other / "jane.crt").string() + " --key " + (other / "jk").string()),
            "403");
}

// Malformed requests, upgrades and frames straight to the node API get an
// error in the protocol they came in, and the agent keeps serving.
TEST_F(StreamingE2E, NodeApiRefusesBadInputAndStaysUp) {
  ASSERT_EQ(apply("app.yaml", kApp).first, 0);
  ASSERT_TRUE(readyPods("app=app", 1));
  std::string pod = podName("app=app");
  std::string nodeIp = kubectl("get pod " + pod + " -o jsonpath={.status.hostIP}").second;
  fs::path pki = dataDir_ / "server" / "pki";
  // Sends `bytes` (printf format: octal escapes, which sh's printf knows) over TLS with the API
  // server's client certificate; returns what came back, made visible by cat -v (0x88 is "M-^H",
  // 0x03 "^C").
  // `after`, if any, goes 0.5 s later: a WebSocket client waits for the 101.
  auto exchange = [&](const std::string& bytes, const std::string& after = "") {
    auto [code, out] = runCommand("(printf '" + bytes + "'; sleep 0.5; printf '" + after +
                                  "'; sleep 1) | timeout 5 openssl s_client -quiet -connect " +
                                  nodeIp + ":10250 -cert " + (pki / "kubelet-client.crt").string() +
                                  " -key " + (pki / "kubelet-client.key").string() + " -CAfile " +
                                  (pki / "ca.crt").string() + " 2>/dev/null | cat -v");
    return out;
  };
  std::string head = "Host: x\\r\\n";
  auto hasText = [](const std::string& dump, const std::string& text) {
    return dump.find(text) != std::string::npos;
  };
  EXPECT_TRUE(hasText(exchange("GARBAGE\\r\\n\\r\\n"), "400")) << "malformed request line";
  EXPECT_TRUE(hasText(exchange("GET /nothing/here HTTP/1.1\\r\\n" + head + "\\r\\n"), "404"));
  EXPECT_TRUE(hasText(
      exchange("GET /exec/default/" + pod + "/app?command=true HTTP/1.1\\r\\n" + head + "\\r\\n"),
      "Upgrade request required"));
  std::string websocket =
      "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: "
      "dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n";
  // No channel protocol offered.
  EXPECT_TRUE(hasText(exchange("GET /exec/default/" + pod + "/app?command=true HTTP/1.1\\r\\n" +
                               head + websocket + "\\r\\n"),
                      "no supported stream protocol"));
  // An unknown channel (ignored), then [255] with no channel: a protocol
  // error close (1002 = 0x03ea) after the 101.
  std::string frames = "\\202\\202\\000\\000\\000\\000\\007x\\202\\201\\000\\000\\000\\000\\377";
  std::string closed =
      exchange("GET /exec/default/" + pod + "/app?command=sleep&command=5&output=1 HTTP/1.1\\r\\n" +
                   head + websocket + "Sec-WebSocket-Protocol: v5.channel.k8s.io\\r\\n\\r\\n",
               frames);
  EXPECT_TRUE(hasText(closed, "101")) << closed;
  EXPECT_NE(closed.find("M-^H"), std::string::npos) << closed;
  EXPECT_NE(closed.find("^CM-j"), std::string::npos) << closed;
  // SPDY with a header block that is not zlib: GOAWAY (80 03 00 07), then the end.
  std::string goaway = exchange(
      "POST /portForward/default/" + pod + " HTTP/1.1\\r\\n" + head +
      "Connection: Upgrade\\r\\nUpgrade: SPDY/3.1\\r\\nX-Stream-Protocol-Version: "
      "portforward.k8s.io\\r\\n\\r\\n\\200\\003\\000\\001\\000\\000\\000\\016\\000\\000\\000"
      "\\001\\000\\000\\000\\000garbage!");
  EXPECT_TRUE(hasText(goaway, "101")) << goaway;
  EXPECT_NE(goaway.find("M-^@^C^@^G"), std::string::npos) << goaway;
  // Still serving, through the API server.
  auto [code, out] = kubectl("exec " + pod + " -- echo still-here");
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "still-here\n");
}

}  // namespace
