// A `podnet up` cluster per test, with the real kubectl pointed at it: what
// every end-to-end suite needs (start, stop, kubectl, apply, wait for pods).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "podnet_harness.h"

namespace podnet::testing {

class ClusterTest : public ::testing::Test {
 protected:
  // Extra flags of `podnet up` (for example "--nodes 2 --manifests ''").
  virtual std::string upFlags() const { return "--nodes 2 --manifests ''"; }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!std::filesystem::exists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
    if (!std::filesystem::exists("/usr/sbin/nft")) GTEST_SKIP() << "no nft (scripts/setup.sh)";
    dataDir_ =
        std::filesystem::temp_directory_path() / ("podnet-e2e-" + std::to_string(::getpid()));
    auto [code, output] = runCommand(std::string(PODNET_BINARY) + " up " + upFlags() +
                                     " --data-dir " + dataDir_.string());
    ASSERT_EQ(code, 0) << output;
    up_ = true;
    std::filesystem::create_directories(work());
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(work(), ignored);
    if (!up_) return;
    auto [code, output] =
        runCommand(std::string(PODNET_BINARY) + " down --data-dir " + dataDir_.string());
    EXPECT_EQ(code, 0) << output;
  }

  // Scratch files of the test, removed afterwards.
  std::filesystem::path work() const { return dataDir_.string() + "-files"; }
  std::string kubeconfig() const { return (dataDir_ / "server" / "kubeconfig").string(); }
  std::string kubectlCommand(const std::string& args) const {
    return "KUBECONFIG=" + kubeconfig() + " /usr/bin/kubectl " + args;
  }
  std::pair<int, std::string> kubectl(const std::string& args) const {
    return runCommand(kubectlCommand(args));
  }
  // `kubectl get OBJECT -o jsonpath=PATH`, or "<error ...>" so a failed
  // get never equals an expected value.
  std::string jsonpath(const std::string& object, const std::string& path) const {
    auto [code, out] = kubectl("get " + object + " -o jsonpath='" + path + "'");
    return code == 0 ? out : "<error " + out + ">";
  }
  // Polls `check` until it holds; a cluster's changes take longer than one
  // server's, so 30 s by default.
  bool eventually(const std::function<bool()>& check,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return testing::eventually(check, timeout);
  }
  std::pair<int, std::string> apply(const std::string& name, const std::string& yaml) const {
    std::filesystem::path file = work() / name;
    std::ofstream(file) << yaml;
    return kubectl("apply -f " + file.string());
  }
  // Waits until `count` pods matching `selector` are Ready.
  bool readyPods(const std::string& selector, size_t count,
                 std::chrono::milliseconds timeout = std::chrono::seconds(40)) const {
    return eventually(
        [&] {
          auto [code, out] = kubectl("get pods -l " + selector + " -o json");
          nlohmann::json list = nlohmann::json::parse(out, nullptr, false);
          if (!list.is_object()) return false;
          size_t ready = 0;
          for (const nlohmann::json& pod : list["items"])
            for (const nlohmann::json& c :
                 pod["status"].value("conditions", nlohmann::json::array()))
              if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ++ready;
          return ready == count;
        },
        timeout);
  }
  // The first pod matching `selector`.
  std::string podName(const std::string& selector) const {
    return kubectl("get pods -l " + selector + " -o jsonpath={.items[0].metadata.name}").second;
  }

  std::filesystem::path dataDir_;
  bool up_ = false;
};

}  // namespace podnet::testing
