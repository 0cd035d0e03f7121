// Leader election on a Lease in a real Registry: one leader of several
// candidates, a hand-over when the leader stops, a takeover when it stops
// renewing (killed), and the lease as kubectl shows it.
#include "controllers/leader_election.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "api/object.h"
#include "api/resource.h"
#include "registry/registry.h"
#include "store/store.h"

namespace podnet::controllers {
namespace {

using api::Json;
using namespace std::chrono_literals;

class LeaderElectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("podnet-election-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::openSqlite({(dir_ / "state.db").string()});
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    registry_ = std::make_unique<registry::Registry>(*store_);
    Json ns = {
        {"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "kube-system"}}}};
    auto created = registry_->create(api::resource("Namespace"), "", ns);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  LeaderElectionConfig config(const std::string& identity) {
    LeaderElectionConfig c;
    c.identity = identity;
    c.leaseDuration = 1000ms;
    c.renewDeadline = 700ms;
    c.retryPeriod = 100ms;
    return c;
  }
  static bool eventually(const std::function<bool()>& check, std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      if (check()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return check();
  }
  std::string holder() {
    auto lease = registry_->get(api::resource("Lease"), "kube-system", "podnet-controller-manager");
    return lease.ok() ? (*lease)["spec"].value("holderIdentity", "") : "<none>";
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<registry::Registry> registry_;
};

TEST_F(LeaderElectionTest, OneLeaderThenAHandOverWhenItStops) {
  std::atomic<int> startedA{0}, startedB{0}, stoppedA{0};
  auto slow = [&](const std::string& identity) {
    LeaderElectionConfig c = config(identity);
    c.leaseDuration = 2000ms;  // far apart from a hand-over's retry periods
    c.renewDeadline = 1500ms;
    return c;
  };
  auto a = std::make_unique<LeaderElector>(
      *registry_, slow("a"), [&] { ++startedA; }, [&] { ++stoppedA; });
  ASSERT_TRUE(eventually([&] { return a->leading(); }, 2s));
  LeaderElector b(
      *registry_, slow("b"), [&] { ++startedB; }, [] {});
  std::this_thread::sleep_for(2500ms);  // longer than the lease: a keeps renewing it
  EXPECT_TRUE(a->leading());
  EXPECT_FALSE(b.leading());
  EXPECT_EQ(holder(), "a");
  auto stoppedAt = std::chrono::steady_clock::now();
  a.reset();  // a stops and hands the lease back
  EXPECT_EQ(stoppedA, 1);
  ASSERT_TRUE(eventually([&] { return b.leading(); }, 2s));
  // Handed back, not expired: the next candidate took over within a retry
  // period or two, not a lease duration.
  EXPECT_LT(std::chrono::steady_clock::now() - stoppedAt, 1500ms);
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(startedA, 1);
  EXPECT_EQ(startedB, 1);
}

// A leader that stops renewing without a word (its process killed): the
// record stops changing, and after a lease duration another takes it.
TEST_F(LeaderElectionTest, ASilentLeaderIsReplacedAfterTheLeaseDuration) {
  Json stale = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "podnet-controller-manager"}, {"namespace", "kube-system"}}},
                {"spec",
                 {{"holderIdentity", "dead-server"},
                  {"leaseDurationSeconds", 1},
                  {"renewTime", "2026-12-07T12:00:00.000000Z"},
                  {"leaseTransitions", 3}}}};
  ASSERT_TRUE(registry_->create(api::resource("Lease"), "kube-system", stale).ok());
  auto start = std::chrono::steady_clock::now();
  LeaderElector b(
      *registry_, config("b"), [] {}, [] {});
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(b.leading()) << "took a lease that was not expired by its own clock";
  ASSERT_TRUE(eventually([&] { return b.leading(); }, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1000ms);
  auto lease = registry_->get(api::resource("Lease"), "kube-system", "podnet-controller-manager");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 4);
}

}  // namespace
}  // namespace podnet::controllers
