// The policy program into the kernel: a whole table (at start, and after a
// failure) or a Delta of set elements, each one libnftnl netlink batch
// (net/nft_batch.h), one atomic transaction, nothing read back first.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"
#include "net/nft_batch.h"
#include "policy/program.h"

namespace podnet::policy {

struct WriterConfig {
  std::string table = kPolicyTable;
  uint16_t nflogGroup = kDefaultNflogGroup;
  // Denied new connections logged per second by the kernel, at most (the
  // agent keeps a record of them; a flood must not flood it).
  uint32_t logRatePerSecond = 100;
  uint32_t logBurst = 50;
};

// Where programs go: the kernel in the agent, a recorder in tests.
class ProgramWriter {
 public:
  virtual ~ProgramWriter() = default;
  // Replaces the table with `program` (chains, sets and their elements).
  virtual core::Status replace(const Program& program) = 0;
  // Adds and removes the elements of `delta`.
  virtual core::Status apply(const Delta& delta) = 0;
  // Removes the table (the agent stops enforcing).
  virtual core::Status remove() = 0;
};

// The batches (exposed for tests).
net::NftBatch encodeProgram(const WriterConfig& config, const Program& program);
net::NftBatch encodeDelta(const WriterConfig& config, const Delta& delta);

class NetlinkWriter : public ProgramWriter {
 public:
  // A socket in the calling thread's network namespace.
  static core::Result<NetlinkWriter> open(WriterConfig config = {});
  core::Status replace(const Program& program) override;
  core::Status apply(const Delta& delta) override;
  core::Status remove() override;

 private:
  NetlinkWriter(WriterConfig config, net::NftSocket socket)
      : config_(std::move(config)), socket_(std::move(socket)) {}
  WriterConfig config_;
  net::NftSocket socket_;
};

}  // namespace podnet::policy
