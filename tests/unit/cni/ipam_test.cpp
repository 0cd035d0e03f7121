#include "cni/ipam.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "temp_dir.h"

namespace podnet::cni {
namespace {

namespace fs = std::filesystem;

IpamConfig ipamConfig(const std::string& dataDir, const std::string& subnet,
                      const std::string& extra = "") {
  auto config = parsePluginConfig(R"({"cniVersion":"1.1.0","name":"n","ipam":{"type":"podnet-ipam",
    "dataDir":")" + dataDir + R"(","subnet":")" +
                                  subnet + "\"" + extra + "}}");
  EXPECT_TRUE(config.ok()) << config.error().msg;
  return *config->ipam;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string allocateAddress(HostLocalIpam& ipam, const std::string& id,
                            const std::string& ifname = "eth0") {
  auto allocated = ipam.allocate(id, ifname);
  if (!allocated) return "error " + std::to_string(allocated.error().code);
  return allocated->address.toString();
}

TEST(CniIpam, AllocatesInOrderWithHostLocalLayout) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.244.0.0/24"), "podnet");
  EXPECT_EQ(ipam.directory(), dir.path() + "/podnet");
  auto first = ipam.allocate("c1", "eth0");
  ASSERT_TRUE(first.ok()) << first.error().msg;
  EXPECT_EQ(first->address.toString(), "10.244.0.2/24");  // .1 is the gateway
  EXPECT_EQ(first->gateway.toString(), "10.244.0.1");
  EXPECT_EQ(allocateAddress(ipam, "c2"), "10.244.0.3/24");
  EXPECT_EQ(readFile(ipam.directory() + "/10.244.0.2"), "c1\r\neth0");
  EXPECT_EQ(readFile(ipam.directory() + "/last_reserved_ip.0"), "10.244.0.3");
  EXPECT_TRUE(fs::exists(ipam.directory() + "/lock"));
  auto all = ipam.list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1], (Allocation{*core::IpAddress::parse("10.244.0.3"), "c2", "eth0"}));
  // No temporaries left behind.
  for (const auto& entry : fs::directory_iterator(ipam.directory()))
    EXPECT_NE(entry.path().filename().string().rfind(".tmp.", 0), 0u) << entry.path();
}

TEST(CniIpam, AnAllocationIsVisibleToOthersAtOnceAndTheHintFollowsIt) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.244.0.0/24"), "podnet");
  EXPECT_EQ(allocateAddress(ipam, "c1"), "10.244.0.2/24");
  EXPECT_EQ(readFile(ipam.directory() + "/10.244.0.2"), "c1\r\neth0");
  HostLocalIpam other(ipamConfig(dir.path(), "10.244.0.0/24"), "podnet");
  EXPECT_EQ(allocateAddress(other, "c2"), "10.244.0.3/24");
  EXPECT_EQ(allocateAddress(ipam, "c3"), "10.244.0.4/24");
  EXPECT_EQ(readFile(ipam.directory() + "/last_reserved_ip.0"), "10.244.0.4");
  // The hint is overwritten in place: a shorter address leaves no stale tail.
  HostLocalIpam requested(ipamConfig(dir.path(), "10.244.0.0/24"), "podnet");
  auto nine = requested.allocate("c9", "eth0", *core::IpAddress::parse("10.244.0.9"));
  ASSERT_TRUE(nine.ok()) << nine.error().msg;
  auto ten = requested.allocate("c10", "eth0", *core::IpAddress::parse("10.244.0.10"));
  ASSERT_TRUE(ten.ok()) << ten.error().msg;
  auto five = requested.allocate("c5", "eth0", *core::IpAddress::parse("10.244.0.5"));
  ASSERT_TRUE(five.ok()) << five.error().msg;
  EXPECT_EQ(readFile(ipam.directory() + "/last_reserved_ip.0"), "10.244.0.5");
}

TEST(CniIpam, RoundRobinDoesNotReuseAReleasedAddressAtOnce) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/29"), "n");  // .2-.6 usable
  EXPECT_EQ(allocateAddress(ipam, "a"), "10.0.0.2/29");
  EXPECT_EQ(allocateAddress(ipam, "b"), "10.0.0.3/29");
  ASSERT_EQ(*ipam.release("a", "eth0"), 1);
  EXPECT_EQ(allocateAddress(ipam, "c"), "10.0.0.4/29");
  EXPECT_EQ(allocateAddress(ipam, "d"), "10.0.0.5/29");
  EXPECT_EQ(allocateAddress(ipam, "e"), "10.0.0.6/29");
  EXPECT_EQ(allocateAddress(ipam, "f"), "10.0.0.2/29");  // wrapped around, skipping .1
}

TEST(CniIpam, ExhaustionIsAClearError) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/29"), "n");
  for (const char* id : {"a", "b", "c", "d", "e"})
    ASSERT_EQ(allocateAddress(ipam, id).rfind("10.", 0), 0u);
  auto full = ipam.allocate("f", "eth0");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, kRangeExhausted);
  EXPECT_NE(full.error().msg.find("no IP addresses available"), std::string::npos);
  ASSERT_EQ(*ipam.release("c", "eth0"), 1);
  EXPECT_EQ(allocateAddress(ipam, "f"), "10.0.0.4/29");
}

TEST(CniIpam, GatewayInsideTheRangeIsSkipped) {
  TempDir dir;
  HostLocalIpam ipam(
      ipamConfig(dir.path(), "10.0.0.0/24",
                 R"(,"rangeStart":"10.0.0.10","rangeEnd":"10.0.0.12","gateway":"10.0.0.11")"),
      "n");
  EXPECT_EQ(allocateAddress(ipam, "a"), "10.0.0.10/24");
  EXPECT_EQ(allocateAddress(ipam, "b"), "10.0.0.12/24");
  EXPECT_EQ(ipam.allocate("c", "eth0").error().code, kRangeExhausted);
}

TEST(CniIpam, RequestedAddress) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  auto requested = ipam.allocate("a", "eth0", core::IpAddress::parse("10.0.0.77"));
  ASSERT_TRUE(requested.ok()) << requested.error().msg;
  EXPECT_EQ(requested->address.toString(), "10.0.0.77/24");
  for (const char* ip :
       {"10.0.0.77", "10.0.0.1", "10.0.0.0", "10.0.0.255", "10.0.1.5", "fd00::5"}) {
    auto refused = ipam.allocate("b", "eth0", core::IpAddress::parse(ip));
    ASSERT_FALSE(refused.ok()) << ip;
    EXPECT_EQ(refused.error().code, kRequestedIpUnavailable) << ip;
  }
}

TEST(CniIpam, DuplicateAttachmentIsRefused) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  ASSERT_TRUE(ipam.allocate("a", "eth0").ok());
  EXPECT_EQ(ipam.allocate("a", "eth0").error().code, kDuplicateAllocation);
  EXPECT_TRUE(ipam.allocate("a", "net1").ok());  // another interface of the same pod
}

TEST(CniIpam, ReleaseIsIdempotentAndScopedToTheInterface) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  EXPECT_EQ(*ipam.release("nobody", "eth0"), 0);  // before the directory exists
  ASSERT_TRUE(ipam.allocate("a", "eth0").ok());
  ASSERT_TRUE(ipam.allocate("a", "net1").ok());
  EXPECT_EQ(*ipam.release("a", "eth0"), 1);
  EXPECT_EQ(*ipam.release("a", "eth0"), 0);
  auto rest = ipam.find("a", "net1");
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].ifname, "net1");
  EXPECT_TRUE(ipam.find("a", "eth0")->empty());
}

TEST(CniIpam, ReadsFilesOfOldHostLocalVersions) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  fs::create_directories(ipam.directory());
  std::ofstream(ipam.directory() + "/10.0.0.9") << "legacy\n";
  auto found = ipam.find("legacy", "eth0");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].ifname, "");
  EXPECT_EQ(*ipam.release("legacy", "eth0"), 1);
}

TEST(CniIpam, StateSurvivesARestart) {
  TempDir dir;
  IpamConfig config = ipamConfig(dir.path(), "10.0.0.0/24");
  {
    HostLocalIpam before(config, "n");
    EXPECT_EQ(allocateAddress(before, "a"), "10.0.0.2/24");
    EXPECT_EQ(allocateAddress(before, "b"), "10.0.0.3/24");
    ASSERT_EQ(*before.release("a", "eth0"), 1);
  }
  HostLocalIpam after(config, "n");  // a new plugin process
  EXPECT_EQ(after.find("b", "eth0")->size(), 1u);
  EXPECT_EQ(allocateAddress(after, "c"), "10.0.0.4/24");  // round-robin continues
  EXPECT_EQ(after.allocate("b", "eth0").error().code, kDuplicateAllocation);
}

TEST(CniIpam, GarbageCollectKeepsOnlyValidAttachments) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_TRUE(ipam.allocate(id, "eth0").ok());
  ASSERT_TRUE(ipam.allocate("b", "net1").ok());
  auto collected = ipam.garbageCollect({{"b", "eth0"}, {"d", "eth0"}, {"zz", "eth0"}});
  ASSERT_TRUE(collected.ok()) << collected.error().msg;
  EXPECT_EQ(*collected, 3);
  auto left = ipam.list();
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].containerId, "b");
  EXPECT_EQ((*left)[1].containerId, "d");
  EXPECT_EQ(*ipam.garbageCollect({}), 2);
  EXPECT_TRUE(ipam.list()->empty());
}

TEST(CniIpam, MultipleRangesAndIpv6) {
  TempDir dir;
  auto config =
      parsePluginConfig(R"({"cniVersion":"1.1.0","name":"n","ipam":{"type":"podnet-ipam",
    "dataDir":")" + dir.path() +
                        R"(","ranges":[[{"subnet":"10.0.0.0/30"},{"subnet":"10.0.1.0/30"}]]}})");
  ASSERT_TRUE(config.ok()) << config.error().msg;
  HostLocalIpam ipam(*config->ipam, "n");
  EXPECT_EQ(allocateAddress(ipam, "a"), "10.0.0.2/30");  // only .2 besides the gateway
  auto second = ipam.allocate("b", "eth0");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->address.toString(), "10.0.1.2/30");
  EXPECT_EQ(second->gateway.toString(), "10.0.1.1");
  EXPECT_EQ(ipam.allocate("c", "eth0").error().code, kRangeExhausted);

  TempDir dir6;
  HostLocalIpam ipam6(ipamConfig(dir6.path(), "fd00:10:244::/64"), "n6");
  EXPECT_EQ(allocateAddress(ipam6, "a"), "fd00:10:244::2/64");
  EXPECT_TRUE(fs::exists(ipam6.directory() + "/fd00:10:244::2"));
}

TEST(CniIpam, ConcurrentThreadsGetDistinctAddresses) {
  TempDir dir;
  IpamConfig config = ipamConfig(dir.path(), "10.0.0.0/24");
  constexpr int kThreads = 8, kEach = 12;
  std::vector<std::vector<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      HostLocalIpam ipam(config, "n");  // each thread like a separate plugin run
      for (int i = 0; i < kEach; ++i)
        results[t].push_back(
            allocateAddress(ipam, "t" + std::to_string(t) + "-" + std::to_string(i)));
    });
  for (auto& thread : threads) thread.join();
  std::set<std::string> unique;
  for (const auto& list : results)
    for (const auto& address : list) {
      EXPECT_EQ(address.rfind("10.0.0.", 0), 0u) << address;
      unique.insert(address);
    }
  EXPECT_EQ(unique.size(), size_t{kThreads * kEach});
  EXPECT_EQ(HostLocalIpam(config, "n").list()->size(), size_t{kThreads * kEach});
}

TEST(CniIpam, ConcurrentProcessesGetDistinctAddresses) {
  TempDir dir;
  IpamConfig config = ipamConfig(dir.path(), "10.0.0.0/24");
  constexpr int kProcesses = 4, kEach = 15;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      HostLocalIpam ipam(config, "n");
      int failures = 0;
      for (int i = 0; i < kEach; ++i)
        if (!ipam.allocate("p" + std::to_string(p) + "-" + std::to_string(i), "eth0").ok())
          ++failures;
      ::_exit(failures);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto all = HostLocalIpam(config, "n").list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), size_t{kProcesses * kEach});
  std::set<std::string> owners;
  for (const auto& allocation : *all) owners.insert(allocation.containerId);
  EXPECT_EQ(owners.size(), size_t{kProcesses * kEach});
}

TEST(CniIpam, EdgeSubnets) {
  TempDir dir;
  HostLocalIpam everything(ipamConfig(dir.path(), "::/0"), "all6");
  EXPECT_EQ(allocateAddress(everything, "a"), "::2/0");
  HostLocalIpam gatewayNotFirst(ipamConfig(dir.path(), "10.0.0.0/30", R"(,"gateway":"10.0.0.2")"),
                                "gw");
  EXPECT_EQ(allocateAddress(gatewayNotFirst, "a"), "10.0.0.1/30");
  EXPECT_EQ(gatewayNotFirst.allocate("b", "eth0").error().code, kRangeExhausted);
}

TEST(CniIpam, CorruptRoundRobinPointerIsIgnored) {
  TempDir dir;
  HostLocalIpam ipam(ipamConfig(dir.path(), "10.0.0.0/24"), "n");
  fs::create_directories(ipam.directory());
  std::ofstream(ipam.directory() + "/last_reserved_ip.0") << "garbage";
  EXPECT_EQ(allocateAddress(ipam, "a"), "10.0.0.2/24");
  std::ofstream(ipam.directory() + "/last_reserved_ip.0", std::ios::trunc) << "192.168.9.9";
  EXPECT_EQ(allocateAddress(ipam, "b"), "10.0.0.3/24");  // outside the range: start over
}

TEST(CniIpam, UnwritableDirectoryIsAnIoError) {
  HostLocalIpam ipam(ipamConfig("/proc/podnet-cni-no-such-dir", "10.0.0.0/24"), "n");
  auto allocated = ipam.allocate("a", "eth0");
  ASSERT_FALSE(allocated.ok());
  EXPECT_EQ(allocated.error().code, kIoFailure);
}

}  // namespace
}  // namespace podnet::cni
