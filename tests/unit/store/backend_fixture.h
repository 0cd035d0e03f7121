// The fixture of the tests every Store backend must pass: SQLite in a
// temporary directory, or a fresh one-member etcd (skipped when etcd-server
// is not installed). A fresh etcd starts at revision 1, SQLite at 0, so
// tests count revisions from the store's first: rev(n).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "etcd_test_server.h"
#include "store_test_util.h"

namespace podnet::store::testing {

enum class Backend { sqlite, etcd };

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::etcd) {
      if (!EtcdCluster::available()) GTEST_SKIP() << "no /usr/bin/etcd (etcd-server)";
      etcd_ = std::make_unique<EtcdCluster>();
    }
    reopen();
    ASSERT_NE(store_, nullptr);
    base_ = store_->revision();
  }
  void reopen() {
    store_.reset();
    store_ = etcd_ ? etcd_->open() : openOrDie({.path = dir_.file("db.sqlite")});
  }
  // The n-th revision of this test's store.
  int64_t rev(int64_t n) const { return base_ + n; }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::unique_ptr<Store> store_;
  int64_t base_ = 0;
};

// What gtest prints for the parameter ("sqlite", "etcd").
inline void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::sqlite ? "sqlite" : "etcd");
}

inline const auto kBackends = ::testing::Values(Backend::sqlite, Backend::etcd);
inline std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "Sqlite" : "Etcd";
}

}  // namespace podnet::store::testing
