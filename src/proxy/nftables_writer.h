// The RulesetWriter of a running proxy: libnftables in the namespace the
// writer was opened in.
#pragma once

#include <memory>

#include "net/nftables.h"
#include "proxy/proxier.h"

namespace podnet::proxy {

class NftablesWriter : public RulesetWriter {
 public:
  explicit NftablesWriter(net::Nftables nft) : nft_(std::move(nft)) {}
  core::Status apply(std::string_view script) override { return nft_.run(script); }

 private:
  net::Nftables nft_;
};

}  // namespace podnet::proxy
