// The `kubernetes` Service's endpoints, published next to the controllers
// that must leave them alone.
#include "apiserver/apiserver_endpoints.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "controllers/controllers.h"
#include "registry/registry.h"

namespace podnet::apiserver {
namespace {

TEST(ApiServerEndpoints, PublishedAndKeptAcrossRestartsAndControllers) {
  auto dir = std::filesystem::temp_directory_path() /
             ("podnet-apiserver-endpoints-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto store = store::openSqlite({(dir / "state.db").string()});
    ASSERT_TRUE(store.ok()) << store.error().message;
    registry::Registry registry(**store);
    auto controllers = controllers::start(registry, {});
    ASSERT_TRUE(controllers.ok()) << controllers.error().message;
    ASSERT_TRUE(publishApiServerEndpoints(registry, "192.168.77.1", 6443).ok());
    // A restart on another port replaces what the last run published.
    auto again = publishApiServerEndpoints(registry, "192.168.77.1", 16443);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_FALSE(publishApiServerEndpoints(registry, "not-an-ip", 1).ok());

    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // controllers run
    auto endpoints = registry.get(api::resource("Endpoints"), "default", "kubernetes");
    ASSERT_TRUE(endpoints.ok());
    EXPECT_EQ((*endpoints)["subsets"][0]["addresses"][0]["ip"], "192.168.77.1");
    EXPECT_EQ((*endpoints)["subsets"][0]["ports"][0]["port"], 16443);
    auto slices = registry.list(api::resource("EndpointSlice"), "default",
                                {.labelSelector = "kubernetes.io/service-name=kubernetes"});
    ASSERT_TRUE(slices.ok());
    ASSERT_EQ((*slices)["items"].size(), 1u) << (*slices).dump();
    EXPECT_EQ((*slices)["items"][0]["endpoints"][0]["addresses"][0], "192.168.77.1");
    EXPECT_EQ((*slices)["items"][0]["ports"][0]["port"], 16443);
  }
  std::filesystem::remove_all(dir);
}

// Several servers: each in the endpoints while its lease is fresh; one that
// stops leaves at once, one that dies once its lease expires.
TEST(ApiServerEndpoints, EveryLiveServerIsAnEndpoint) {
  auto dir = std::filesystem::temp_directory_path() /
             ("podnet-apiserver-endpoints-many-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto store = store::openSqlite({(dir / "state.db").string()});
    ASSERT_TRUE(store.ok()) << store.error().message;
    registry::Registry registry(**store);
    auto controllers = controllers::start(registry, {});
    ASSERT_TRUE(controllers.ok()) << controllers.error().message;
    auto addresses = [&] {
      std::vector<std::string> out;
      auto endpoints = registry.get(api::resource("Endpoints"), "default", "kubernetes");
      if (endpoints.ok())
        for (const auto& address : (*endpoints)["subsets"][0]["addresses"])
          out.push_back(address["ip"]);
      return out;
    };
    using namespace std::chrono_literals;
    ApiServerEndpointReconciler a(registry, "192.168.77.1", 6443, 1s, 2s);
    ApiServerEndpointReconciler b(registry, "192.168.77.2", 6443, 1s, 2s);
    ApiServerEndpointReconciler c(registry, "192.168.77.3", 6443, 1s, 2s);
    ASSERT_TRUE(a.reconcile().ok());
    ASSERT_TRUE(b.reconcile().ok());
    ASSERT_TRUE(c.reconcile().ok());
    EXPECT_EQ(addresses(),
              (std::vector<std::string>{"192.168.77.1", "192.168.77.2", "192.168.77.3"}));
    b.stop();
    EXPECT_EQ(addresses(), (std::vector<std::string>{"192.168.77.1", "192.168.77.3"}));
    // c dies (never renews again): gone once its lease is older than 2 s.
    std::this_thread::sleep_for(3100ms);
    ASSERT_TRUE(a.reconcile().ok());
    EXPECT_EQ(addresses(), (std::vector<std::string>{"192.168.77.1"}));
    auto lease = registry.get(api::resource("Lease"), "kube-system", "apiserver-192-168-77-1");
    ASSERT_TRUE(lease.ok());
    EXPECT_EQ((*lease)["spec"]["holderIdentity"], "192.168.77.1:6443");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace podnet::apiserver
