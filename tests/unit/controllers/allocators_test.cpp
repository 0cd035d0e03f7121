// The bitmap allocators, and the Service allocation hook on a real store:
// SQLite, and etcd with two allocators as two API servers.
#include "controllers/allocators.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "api/resource.h"
#include "controllers/service_allocator.h"
#include "etcd_test_server.h"
#include "store_test_util.h"

namespace podnet::controllers {
namespace {

TEST(BitmapAllocator, AllocatesEveryOffsetOnceThenRunsOut) {
  BitmapAllocator bitmap(130);
  std::set<uint64_t> seen;
  for (int i = 0; i < 130; ++i) {
    auto offset = bitmap.allocateRandom(0, 130);
    ASSERT_TRUE(offset);
    EXPECT_TRUE(seen.insert(*offset).second);
  }
  EXPECT_FALSE(bitmap.allocateRandom(0, 130));
  EXPECT_EQ(bitmap.used(), 130u);
  bitmap.release(77);
  EXPECT_EQ(bitmap.allocateRandom(0, 130), 77u);
}

TEST(BitmapAllocator, SpecificAndLowest) {
  BitmapAllocator bitmap(10);
  EXPECT_TRUE(bitmap.allocate(0));
  EXPECT_FALSE(bitmap.allocate(0));
  EXPECT_FALSE(bitmap.allocate(10));
  EXPECT_EQ(bitmap.allocateLowest(), 1u);
  bitmap.release(0);
  EXPECT_EQ(bitmap.allocateLowest(), 0u);
}

TEST(IpRangeAllocator, DynamicAllocationAvoidsStaticBandAndEdges) {
  auto ips = IpRangeAllocator::create("10.96.0.0/12");
  ASSERT_TRUE(ips.ok());
  EXPECT_EQ(ips->first().toString(), "10.96.0.1");
  EXPECT_EQ(ips->staticBandSize(), 256u);
  auto band = core::Cidr::parse("10.96.0.0/24");
  for (int i = 0; i < 2000; ++i) {
    auto ip = ips->allocateNext();
    ASSERT_TRUE(ip);
    EXPECT_FALSE(band->contains(*ip)) << ip->toString();
  }
  EXPECT_EQ(ips->allocate(*core::IpAddress::parse("10.96.0.10")), AllocateOutcome::Allocated);
  EXPECT_EQ(ips->allocate(*core::IpAddress::parse("10.96.0.10")), AllocateOutcome::Taken);
  EXPECT_EQ(ips->allocate(*core::IpAddress::parse("10.96.0.0")), AllocateOutcome::OutOfRange);
  EXPECT_EQ(ips->allocate(*core::IpAddress::parse("10.111.255.255")), AllocateOutcome::OutOfRange);
  EXPECT_EQ(ips->allocate(*core::IpAddress::parse("10.112.0.1")), AllocateOutcome::OutOfRange);
}

TEST(IpRangeAllocator, SmallRangeUsesEveryHostAddress) {
  auto ips = IpRangeAllocator::create("192.168.5.0/29");
  ASSERT_TRUE(ips.ok());
  std::set<std::string> got;
  while (auto ip = ips->allocateNext()) got.insert(ip->toString());
  EXPECT_EQ(got.size(), 6u);
  EXPECT_FALSE(got.count("192.168.5.0"));
  EXPECT_FALSE(got.count("192.168.5.7"));
}

TEST(PortAllocator, Range) {
  PortAllocator ports(30000, 30002);
  EXPECT_EQ(ports.allocate(30001), AllocateOutcome::Allocated);
  EXPECT_EQ(ports.allocate(30001), AllocateOutcome::Taken);
  EXPECT_EQ(ports.allocate(29999), AllocateOutcome::OutOfRange);
  std::set<int> got;
  while (auto port = ports.allocateNext()) got.insert(*port);
  EXPECT_EQ(got, (std::set<int>{30000, 30002}));
}

TEST(CidrSetAllocator, HandsOutNodeRangesInOrder) {
  auto cidrs = CidrSetAllocator::create("10.244.0.0/16", 24);
  ASSERT_TRUE(cidrs.ok());
  EXPECT_EQ(cidrs->allocate(*core::Cidr::parse("10.244.0.0/24")), AllocateOutcome::Allocated);
  EXPECT_EQ(cidrs->allocateNext()->toString(), "10.244.1.0/24");
  EXPECT_EQ(cidrs->allocate(*core::Cidr::parse("10.244.1.0/24")), AllocateOutcome::Taken);
  EXPECT_EQ(cidrs->allocate(*core::Cidr::parse("10.245.0.0/24")), AllocateOutcome::OutOfRange);
  cidrs->release(*core::Cidr::parse("10.244.0.0/24"));
  EXPECT_EQ(cidrs->allocateNext()->toString(), "10.244.0.0/24");
  for (int i = 2; i < 256; ++i) ASSERT_TRUE(cidrs->allocateNext());
  EXPECT_FALSE(cidrs->allocateNext());
}

// A Service as the registry hands it to admission (uid set).
Json service(const std::string& name, Json spec) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}}},
              {"spec", std::move(spec)}};
}

class ServiceAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::testing::openOrDie({.path = dir_.file("db.sqlite")});
    ASSERT_NE(store_, nullptr);
    auto made = ServiceAllocator::create(Config{}, *store_);
    ASSERT_TRUE(made.ok());
    hook_ = *made;
    ASSERT_TRUE(hook_->rebuild({}).ok());
  }
  const api::ResourceInfo& services_ = api::resource("Service");
  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<ServiceAllocator> hook_;
};

TEST_F(ServiceAllocatorTest, AllocatesRequestedAndRefusesTaken) {
  Json dns = service("kube-dns", {{"clusterIP", "10.96.0.10"}, {"ports", Json::array()}});
  ASSERT_TRUE(hook_->admitCreate(services_, dns).ok());
  EXPECT_EQ(dns["spec"]["clusterIPs"], Json::array({"10.96.0.10"}));
  EXPECT_TRUE(hook_->ipAllocated("10.96.0.10"));

  Json again = service("other", {{"clusterIP", "10.96.0.10"}});
  auto refused = hook_->admitCreate(services_, again);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, 422);
  ASSERT_EQ(refused.error().causes.size(), 1u);
  EXPECT_EQ(refused.error().causes[0].field, "spec.clusterIPs[0]");
  EXPECT_EQ(refused.error().causes[0].message,
            "Invalid value: \"10.96.0.10\": provided IP is already allocated");
  // An abort after the refusal must not free the first Service's address.
  hook_->abortCreate(services_, again);
  EXPECT_TRUE(hook_->ipAllocated("10.96.0.10"));

  Json outside = service("outside", {{"clusterIP", "10.0.0.5"}});
  auto out = hook_->admitCreate(services_, outside);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().causes[0].message,
            "Invalid value: \"10.0.0.5\": provided IP is not in the valid range. The range of "
            "valid IPs is 10.96.0.0/12");
}

TEST_F(ServiceAllocatorTest, HeadlessAndExternalNameGetNoAddress) {
  Json headless = service("h", {{"clusterIP", "None"}});
  ASSERT_TRUE(hook_->admitCreate(services_, headless).ok());
  EXPECT_EQ(headless["spec"]["clusterIPs"], Json::array({"None"}));
  Json external = service("e", {{"type", "ExternalName"}, {"externalName", "example.com"}});
  ASSERT_TRUE(hook_->admitCreate(services_, external).ok());
  EXPECT_FALSE(external["spec"].contains("clusterIP"));
}

TEST_F(ServiceAllocatorTest, AbortAndDeleteRelease) {
  Json svc = service("web", Json::object());
  ASSERT_TRUE(hook_->admitCreate(services_, svc).ok());
  std::string ip = svc["spec"]["clusterIP"];
  EXPECT_TRUE(hook_->ipAllocated(ip));
  hook_->abortCreate(services_, svc);
  EXPECT_FALSE(hook_->ipAllocated(ip));

  Json kept = service("web", Json::object());
  ASSERT_TRUE(hook_->admitCreate(services_, kept).ok());
  hook_->deleted(services_, kept);
  EXPECT_FALSE(hook_->ipAllocated(kept["spec"]["clusterIP"]));
}

TEST_F(ServiceAllocatorTest, NodePortsPerPortHonouredAndReleasedOnTypeChange) {
  Json svc =
      service("np", {{"type", "NodePort"},
                     {"ports", Json::array({{{"name", "a"}, {"port", 80}},
                                            {{"name", "b"}, {"port", 81}, {"nodePort", 30080}}})}});
  ASSERT_TRUE(hook_->admitCreate(services_, svc).ok());
  int first = svc["spec"]["ports"][0]["nodePort"];
  EXPECT_GE(first, 30000);
  EXPECT_LE(first, 32767);
  EXPECT_EQ(svc["spec"]["ports"][1]["nodePort"], 30080);

  Json clash = service("clash", {{"type", "NodePort"},
                                 {"ports", Json::array({{{"port", 80}, {"nodePort", 30080}}})}});
  auto refused = hook_->admitCreate(services_, clash);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().causes[0].field, "spec.ports[0].nodePort");
  EXPECT_EQ(refused.error().causes[0].message,
            "Invalid value: 30080: provided port is already allocated");

  // An update that omits nodePorts keeps them.
  Json same = service(
      "np",
      {{"type", "NodePort"},
       {"clusterIP", svc["spec"]["clusterIP"]},
       {"ports", Json::array({{{"name", "a"}, {"port", 80}}, {{"name", "b"}, {"port", 81}}})}});
  ASSERT_TRUE(hook_->admitUpdate(services_, svc, same).ok());
  EXPECT_EQ(same["spec"]["ports"][0]["nodePort"], first);
  EXPECT_EQ(same["spec"]["ports"][1]["nodePort"], 30080);

  Json toClusterIp = same;
  toClusterIp["spec"]["type"] = "ClusterIP";
  ASSERT_TRUE(hook_->admitUpdate(services_, same, toClusterIp).ok());
  EXPECT_FALSE(toClusterIp["spec"]["ports"][0].contains("nodePort"));
  EXPECT_FALSE(hook_->nodePortAllocated(30080));
  EXPECT_FALSE(hook_->nodePortAllocated(first));
  // An aborted update gives them back.
  hook_->abortUpdate(services_, same, toClusterIp);
  EXPECT_TRUE(hook_->nodePortAllocated(30080));
}

TEST_F(ServiceAllocatorTest, ToExternalNameReleasesAddressAndRebuildRestores) {
  Json svc = service("x", {{"clusterIP", "10.96.0.20"}});
  ASSERT_TRUE(hook_->admitCreate(services_, svc).ok());
  Json external = svc;
  external["spec"] = {
      {"type", "ExternalName"}, {"externalName", "example.com"}, {"clusterIP", "10.96.0.20"}};
  ASSERT_TRUE(hook_->admitUpdate(services_, svc, external).ok());
  EXPECT_FALSE(external["spec"].contains("clusterIP"));
  EXPECT_FALSE(hook_->ipAllocated("10.96.0.20"));

  auto fresh = ServiceAllocator::create(Config{}, *store_);
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE((*fresh)->rebuild({svc}).ok());
  EXPECT_TRUE((*fresh)->ipAllocated("10.96.0.20"));
}

// Two API servers, each with its own allocator and its own connection to
// one etcd: no value is ever handed out twice, whichever server asks.
class SharedStoreAllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!store::testing::EtcdCluster::available()) GTEST_SKIP() << "no etcd-server";
    etcd_ = std::make_unique<store::testing::EtcdCluster>();
    for (int i = 0; i < 2; ++i) {
      stores_.push_back(etcd_->open());
      ASSERT_NE(stores_.back(), nullptr);
      Config config;
      config.serviceCidr = "10.96.0.0/28";  // 14 addresses
      config.nodePortMin = 30000;
      config.nodePortMax = 30009;
      auto made = ServiceAllocator::create(config, *stores_.back());
      ASSERT_TRUE(made.ok());
      ASSERT_TRUE((*made)->rebuild({}).ok());
      servers_.push_back(*made);
    }
  }
  const api::ResourceInfo& services_ = api::resource("Service");
  std::unique_ptr<store::testing::EtcdCluster> etcd_;
  std::vector<std::unique_ptr<store::Store>> stores_;
  std::vector<std::shared_ptr<ServiceAllocator>> servers_;
};

TEST_F(SharedStoreAllocatorTest, ConcurrentServersHandOutEveryValueOnce) {
  std::mutex mutex;
  std::vector<std::string> ips;
  std::vector<int> ports;
  std::vector<std::thread> threads;
  for (int server = 0; server < 2; ++server) {
    threads.emplace_back([&, server] {
      for (int i = 0; i < 7; ++i) {
        Json spec = Json::object();
        if (i < 5) spec = {{"type", "NodePort"}, {"ports", Json::array({{{"port", 80}}})}};
        Json svc = service("s" + std::to_string(server) + "-" + std::to_string(i), spec);
        auto admitted = servers_[server]->admitCreate(services_, svc);
        std::lock_guard lock(mutex);
        ASSERT_TRUE(admitted.ok()) << admitted.error().message;
        ips.push_back(svc["spec"]["clusterIP"]);
        if (i < 5) ports.push_back(svc["spec"]["ports"][0]["nodePort"]);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // 14 Services took the 14 addresses, 10 NodePort ones the 10 ports.
  EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), 14u);
  EXPECT_EQ(ips.size(), 14u);
  EXPECT_EQ(std::set<int>(ports.begin(), ports.end()).size(), 10u);

  for (auto& server : servers_) {
    Json more = service("more", Json::object());
    auto full = server->admitCreate(services_, more);
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().message,
              "Internal error occurred: failed to allocate a serviceIP: range is full");
  }
}

TEST_F(SharedStoreAllocatorTest, ValueHeldOnOneServerIsRefusedOnTheOtherUntilDeleted) {
  Json dns = service("kube-dns", {{"clusterIP", "10.96.0.10"}});
  ASSERT_TRUE(servers_[0]->admitCreate(services_, dns).ok());
  servers_[0]->stored(services_, dns);

  // Asked at once, before the other server's claim watch could tell it.
  Json clash = service("clash", {{"clusterIP", "10.96.0.10"}});
  auto refused = servers_[1]->admitCreate(services_, clash);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().causes[0].message,
            "Invalid value: \"10.96.0.10\": provided IP is already allocated");
  servers_[1]->abortCreate(services_, clash);
  EXPECT_TRUE(servers_[0]->ipAllocated("10.96.0.10"));

  servers_[0]->deleted(services_, dns);
  Json again = service("clash", {{"clusterIP", "10.96.0.10"}});
  EXPECT_TRUE(servers_[1]->admitCreate(services_, again).ok());
  // The first server learns it through the claim watch.
  for (int i = 0; i < 50 && !servers_[0]->ipAllocated("10.96.0.10"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(servers_[0]->ipAllocated("10.96.0.10"));
}

}  // namespace
}  // namespace podnet::controllers
