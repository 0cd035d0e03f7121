// The per-node tracer against the real kernel (root only): a "node"
// namespace with a DNAT rule and a "pod" namespace behind a veth, both
// throwaway. A traced request from the pod must come back with the
// kernel's events for the node's rules (with their texts), the conntrack
// entry of the translation, and no table left once collected or expired.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "kernel_helpers.h"
#include "net/nftables.h"
#include "trace/node_tracer.h"

namespace podnet::trace {
namespace {

using Json = nlohmann::json;
using testing::ip;
using testing::isRoot;

class NodeTracerKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "needs root (network namespaces, nftables)";
    node_ = &ns_.make("node");
    pod_ = &ns_.make("pod");
    std::string node = ns_.name("node"), pod = ns_.name("pod");
    ASSERT_TRUE(ip("-n " + node + " link add v-pod type veth peer name eth0 netns " + pod));
    ASSERT_TRUE(ip("-n " + node + " addr add 10.250.0.1/24 dev v-pod"));
    ASSERT_TRUE(ip("-n " + node + " link set v-pod up"));
    ASSERT_TRUE(ip("-n " + node + " link set lo up"));
    ASSERT_TRUE(ip("-n " + pod + " addr add 10.250.0.2/24 dev eth0"));
    ASSERT_TRUE(ip("-n " + pod + " link set eth0 up"));
    ASSERT_TRUE(ip("-n " + pod + " route add default via 10.250.0.1"));
    // A "Service" on the node: 10.96.7.7:80 -> the node's own 10.250.0.1:8080.
    auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
    ASSERT_TRUE(nft.ok());
    ASSERT_OK(nft->run(
        "add table ip svc\n"
        "add chain ip svc pre { type nat hook prerouting priority dstnat; policy accept; }\n"
        "add rule ip svc pre ip daddr 10.96.7.7 tcp dport 80 dnat to 10.250.0.1:8080\n"));
    server_ = std::make_unique<testing::EchoServer>(*node_, "10.250.0.1", std::vector<int>{8080});
    ASSERT_TRUE(server_->ok());
    dir_ = std::filesystem::temp_directory_path() / ("pntr-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "resolv.conf") << "nameserver 10.250.0.1\noptions ndots:5\n";
    auto snapshot = std::make_shared<nodeapi::PodDirectory::Snapshot>();
    nodeapi::PodView view;
    view.ns = "default";
    view.name = "client";
    view.podIp = "10.250.0.2";
    view.netnsPath = net::namedNetnsPath(pod);
    view.resolvConfPath = (dir_ / "resolv.conf").string();
    (*snapshot)[{"default", "client"}] = view;
    pods_.publish(snapshot);
    // Made inside the node's namespace: its threads (the reaper) are too.
    auto made = net::runInNetns(*node_, [&]() -> core::Result<bool> {
      tracer_ = std::make_unique<NodeTracer>(pods_);
      return true;
    });
    ASSERT_TRUE(made.ok());
  }
  void TearDown() override {
    if (tracer_)
      (void)net::runInNetns(*node_, [&]() -> core::Result<bool> {
        tracer_.reset();
        return true;
      });
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Json call(const std::string& action, const Json& body, int* status = nullptr) {
    auto reply = net::runInNetns(*node_, [&]() -> core::Result<nodeapi::PlainReply> {
      return tracer_->handle({"POST", "/trace/" + action, "", body.dump()});
    });
    EXPECT_TRUE(reply.ok());
    if (status) *status = reply->status;
    return Json::parse(reply->body, nullptr, false);
  }

  std::string tables() {
    auto listed = net::runInNetns(*node_, []() -> core::Result<std::string> {
      auto nft = net::Nftables::open();
      if (!nft) return nft.takeError();
      return nft->query("list tables");
    });
    return listed.ok() ? *listed : "<error>";
  }

  testing::Namespaces ns_{"pntr"};
  const net::NetnsHandle* node_ = nullptr;
  const net::NetnsHandle* pod_ = nullptr;
  std::unique_ptr<testing::EchoServer> server_;
  std::filesystem::path dir_;
  nodeapi::PodDirectory pods_;
  std::unique_ptr<NodeTracer> tracer_;
};

TEST_F(NodeTracerKernel, ArmRunCollectSeesTheRulesAndTheTranslation) {
  std::string before = tables();
  int status = 0;
  Json armed = call("arm", {{"id", "t1"}, {"protocol", "tcp"}, {"sourcePort", 24681}}, &status);
  ASSERT_EQ(status, 200) << armed.dump();
  EXPECT_NE(tables().find("podnet-trace-t1"), std::string::npos);
  Json run = call("run",
                  {{"namespace", "default"},
                   {"pod", "client"},
                   {"host", "10.96.7.7"},
                   {"port", 80},
                   {"sourcePort", 24681},
                   {"timeoutMs", 2000}},
                  &status);
  ASSERT_EQ(status, 200) << run.dump();
  EXPECT_TRUE(run["dns"].value("literal", false));
  EXPECT_TRUE(run["connection"].value("ok", false)) << run.dump();
  Json collected = call("collect", {{"id", "t1"}}, &status);
  ASSERT_EQ(status, 200) << collected.dump();
  bool sawDnat = false, sawSyn = false;
  for (const Json& e : collected["events"]) {
    if (e.value("rule", "") == "ip daddr 10.96.7.7 tcp dport 80 dnat to 10.250.0.1:8080")
      sawDnat = true;
    if (e.contains("packet") && e["packet"].value("sport", 0) == 24681 &&
        e["packet"].value("tcpFlags", 0) == 2)
      sawSyn = true;
    EXPECT_EQ(e.value("table", "").rfind("podnet-trace-", 0), std::string::npos)
        << "the tracer's own table is not part of the journey";
  }
  EXPECT_TRUE(sawDnat) << collected.dump(2);
  EXPECT_TRUE(sawSyn) << collected.dump(2);
  ASSERT_EQ(collected["conntrack"].size(), 1u) << collected.dump(2);
  EXPECT_EQ(collected["conntrack"][0]["original"]["dst"], "10.96.7.7");
  EXPECT_EQ(collected["conntrack"][0]["reply"]["src"], "10.250.0.1");
  EXPECT_EQ(collected["conntrack"][0]["reply"]["sport"], 8080);
  EXPECT_EQ(tables(), before);
  // Collected once: a second collect knows nothing of it.
  call("collect", {{"id", "t1"}}, &status);
  EXPECT_EQ(status, 404);
}

TEST_F(NodeTracerKernel, AnAbandonedTraceExpiresAndLeftoversGo) {
  std::string before = tables();
  int status = 0;
  call("arm", {{"id", "t2"}, {"protocol", "udp"}, {"sourcePort", 24682}, {"ttlSeconds", 1}},
       &status);
  ASSERT_EQ(status, 200);
  ASSERT_NE(tables(), before);
  for (int i = 0; i < 40 && tables() != before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(tables(), before) << "the expired trace's table is still there";
  // A killed agent's table: removed at the next start.
  auto nft = net::runInNetns(*node_, [] { return net::Nftables::open(); });
  ASSERT_OK(nft->run("add table ip podnet-trace-dead\n"));
  (void)net::runInNetns(*node_, []() -> core::Result<bool> {
    NodeTracer::removeLeftovers();
    return true;
  });
  EXPECT_EQ(tables(), before);
}

TEST_F(NodeTracerKernel, BadRequestsGetClearErrors) {
  int status = 0;
  Json reply = call("arm", {{"id", "../x"}, {"sourcePort", 1}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(reply.value("error", "").find("id"), std::string::npos);
  call("arm", {{"id", "ok"}, {"protocol", "icmp"}, {"sourcePort", 1}}, &status);
  EXPECT_EQ(status, 400);
  call("run",
       {{"namespace", "default"}, {"pod", "ghost"}, {"host", "x"}, {"port", 1}, {"sourcePort", 1}},
       &status);
  EXPECT_EQ(status, 404);
  auto raw = net::runInNetns(*node_, [&]() -> core::Result<nodeapi::PlainReply> {
    return tracer_->handle({"POST", "/trace/arm", "", "not json"});
  });
  EXPECT_EQ(raw->status, 400);
  raw = net::runInNetns(*node_, [&]() -> core::Result<nodeapi::PlainReply> {
    return tracer_->handle({"POST", "/trace/arm", "", R"({"id": 5, "sourcePort": "x"})"});
  });
  EXPECT_EQ(raw->status, 400);
}

}  // namespace
}  // namespace podnet::trace
