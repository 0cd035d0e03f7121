// Helpers shared by the store tests: a temporary directory that cleans up
// after itself, and shorthands for opening a store and draining a watch.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace podnet::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/podnet-store-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> openOrDie(const SqliteOptions& options) {
  auto store = openSqlite(options);
  if (!store.ok()) {
    ADD_FAILURE() << "openSqlite: " << store.error().message;
    return nullptr;
  }
  return std::move(store).value();
}

// Reads events until `count` have arrived or `patience` has passed.
inline std::vector<Event> collect(Watch& watch, size_t count,
                                  std::chrono::milliseconds patience = std::chrono::seconds(10)) {
  std::vector<Event> all;
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = watch.next(std::chrono::milliseconds(100));
    if (!batch.ok()) {
      ADD_FAILURE() << "watch failed: " << batch.error().code << " " << batch.error().message;
      break;
    }
    for (auto& event : *batch) all.push_back(std::move(event));
  }
  return all;
}

}  // namespace podnet::store::testing
