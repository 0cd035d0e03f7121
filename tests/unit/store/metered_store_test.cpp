// The metered store: the resource type a key is under, as the label of
// etcd_request_duration_seconds.
#include "store/metered_store.h"

#include <gtest/gtest.h>

namespace podnet::store {
namespace {

TEST(MeteredStore, KeyTypes) {
  EXPECT_EQ(keyType("/registry/pods/default/web"), "pods");
  EXPECT_EQ(keyType("/registry/services/specs/default/web"), "services");
  EXPECT_EQ(keyType("/registry/configmaps/"), "configmaps");
  EXPECT_EQ(keyType("/registry/gateway.networking.k8s.io/httproutes/ns/r"),
            "gateway.networking.k8s.io/httproutes");
  EXPECT_EQ(keyType("/other"), "other");
  EXPECT_EQ(keyType(""), "");
}

}  // namespace
}  // namespace podnet::store
