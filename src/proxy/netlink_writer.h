// The RulesetWriter of a running proxy. Incremental changes go to the kernel
// as one libnftnl batch (net/nft_batch.h) encoded from the Transactions'
// data, with nothing read from the kernel first; whole-table replacements
// (start, after a failure) go through libnftables as nft text.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/nft_batch.h"
#include "net/nftables.h"
#include "proxy/proxier.h"

namespace podnet::proxy {

// The batch for `changes` (exposed for tests). Fails only on a key, value or
// address the compiler could not have produced.
core::Result<net::NftBatch> encodeTransactions(const std::vector<Transaction>& changes);

class NetlinkWriter : public RulesetWriter {
 public:
  // Both sockets in the calling thread's network namespace.
  static core::Result<NetlinkWriter> open();

  core::Status apply(const std::vector<Transaction>& changes) override;
  core::Status replace(std::string_view script) override { return nft_.run(script); }

 private:
  NetlinkWriter(net::NftSocket socket, net::Nftables nft)
      : socket_(std::move(socket)), nft_(std::move(nft)) {}
  net::NftSocket socket_;
  net::Nftables nft_;
};

}  // namespace podnet::proxy
