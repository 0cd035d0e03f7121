// A RulesetWriter that sends everything as nft text through libnftables. The
// agent uses NetlinkWriter (netlink_writer.h); this one is the reference the
// kernel tests compare it with, and what `nft -f` would do.
#pragma once

#include <memory>
#include <string>

#include "net/nftables.h"
#include "proxy/proxier.h"

namespace podnet::proxy {

class NftablesWriter : public RulesetWriter {
 public:
  explicit NftablesWriter(net::Nftables nft) : nft_(std::move(nft)) {}
  core::Status apply(const std::vector<Transaction>& changes) override {
    std::string script;
    for (const auto& tx : changes) script += tx.script();
    return nft_.run(script);
  }
  core::Status replace(const Replacement& replacement) override {
    return nft_.run(replacement.script());
  }

 private:
  net::Nftables nft_;
};

}  // namespace podnet::proxy
