// nftables through libnftables: one context (and so one netlink socket, bound
// to the network namespace of the thread that made it) that runs scripts in
// the nft language, each as one atomic transaction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace podnet::net {

class Nftables {
 public:
  // A context in the calling thread's network namespace.
  static core::Result<Nftables> open();
  Nftables(Nftables&&) noexcept;
  Nftables& operator=(Nftables&&) noexcept;
  ~Nftables();

  // Runs `script` (e.g. "add table ip t\nadd chain ip t c\n") as one
  // transaction: all of it takes effect or none. The error carries nft's own
  // message, which names the failing line.
  core::Status run(std::string_view script);
  // Like run() but returns what nft printed (e.g. for "list table ip t").
  // For tests and debugging only: the proxy never lists kernel state.
  core::Result<std::string> query(std::string_view script);
  // Listings from now on carry each object's handle ("# handle N") and leave
  // out set elements (nft -a -t).
  void showHandles();

 private:
  struct Impl;
  explicit Nftables(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace podnet::net
