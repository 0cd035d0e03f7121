#include "net/nftables.h"

#include <nftables/libnftables.h>

namespace podnet::net {

struct Nftables::Impl {
  nft_ctx* ctx = nullptr;
  ~Impl() {
    if (ctx) nft_ctx_free(ctx);
  }
};

Nftables::Nftables(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Nftables::Nftables(Nftables&&) noexcept = default;
Nftables& Nftables::operator=(Nftables&&) noexcept = default;
Nftables::~Nftables() = default;

core::Result<Nftables> Nftables::open() {
  auto impl = std::make_unique<Impl>();
  impl->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!impl->ctx) return core::internal("nftables: cannot create a libnftables context");
  // Capture nft's output and errors instead of letting it print to ours.
  if (nft_ctx_buffer_output(impl->ctx) != 0 || nft_ctx_buffer_error(impl->ctx) != 0)
    return core::internal("nftables: cannot buffer libnftables output");
  // Numeric output keeps query() results stable for tests.
  nft_ctx_output_set_flags(impl->ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO);
  return Nftables(std::move(impl));
}

core::Result<std::string> Nftables::query(std::string_view script) {
  // libnftables wants a NUL-terminated buffer.
  std::string buffer(script);
  int rc = nft_run_cmd_from_buffer(impl_->ctx, buffer.c_str());
  std::string output = nft_ctx_get_output_buffer(impl_->ctx);
  std::string errors = nft_ctx_get_error_buffer(impl_->ctx);
  if (rc != 0) {
    if (errors.empty()) errors = "nft failed without a message";
    while (!errors.empty() && errors.back() == '\n') errors.pop_back();
    return core::internal("nftables: " + errors);
  }
  return output;
}

void Nftables::showHandles() {
  nft_ctx_output_set_flags(
      impl_->ctx, NFT_CTX_OUTPUT_NUMERIC_PROTO | NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_TERSE);
}

core::Status Nftables::run(std::string_view script) {
  auto result = query(script);
  if (!result) return result.takeError();
  return core::Ok{};
}

}  // namespace podnet::net
