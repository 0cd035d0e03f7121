// The RulesetWriter of a running proxy: changes and whole-table replacements
// go to the kernel as one libnftnl batch each (net/nft_batch.h), encoded from
// the Transactions' data, with nothing read from the kernel first. The nft
// text of the same (NftablesWriter) is the reference the kernel tests compare
// it with, rule by rule.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/nft_batch.h"
#include "proxy/proxier.h"

namespace podnet::proxy {

// The batch for `changes` (exposed for tests). Fails only on a key, value or
// address the compiler could not have produced.
core::Result<net::NftBatch> encodeTransactions(const std::vector<Transaction>& changes);
core::Result<net::NftBatch> encodeReplacement(const Replacement& replacement);

class NetlinkWriter : public RulesetWriter {
 public:
  // A socket in the calling thread's network namespace.
  static core::Result<NetlinkWriter> open();

  core::Status apply(const std::vector<Transaction>& changes) override;
  core::Status replace(const Replacement& replacement) override;

 private:
  explicit NetlinkWriter(net::NftSocket socket) : socket_(std::move(socket)) {}
  net::NftSocket socket_;
};

}  // namespace podnet::proxy
