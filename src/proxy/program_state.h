// The program the proxy has in one nftables table (one IP family), kept in
// memory: what each Service contributed, and who owns each shared map and
// set entry. Updating a Service yields the nft commands for exactly what
// changed, so a sync never lists the kernel's ruleset and an unchanged
// Service costs nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/program.h"

namespace podnet::proxy {

struct TableConfig {
  Family family = Family::v4;
  std::string table = "podnet-proxy";
  uint32_t masqueradeMark = 0x4000;
};

// The commands of one transaction, kept in phases so that every object
// exists before something refers to it and is unreferenced before it goes.
class Transaction {
 public:
  bool empty() const;
  std::string script() const;

 private:
  friend class ProgramState;
  // Records that `key` of map or set `set` goes from `before` to `after`
  // (nullopt: absent; "" a set element; else a map value). Only the first
  // `before` of a key in a transaction counts: it is what the kernel has.
  void noteElement(const std::string& set, const std::string& key,
                   std::optional<std::string> before, std::optional<std::string> after);

  std::string createObjects_;  // new chains and affinity sets
  std::string fillChains_;     // rules of new and changed chains; flushes of removed ones
  std::map<std::string,
           std::map<std::string, std::pair<std::optional<std::string>, std::optional<std::string>>>>
      elements_;
  std::string removeChains_;  // chains no Service uses any more
  std::string removeSets_;    // then the affinity sets their rules used
  std::string prefix_;        // "ip podnet-proxy"
};

class ProgramState {
 public:
  explicit ProgramState(TableConfig config);

  // Records that Service `key` ("ns/name") now compiles to `program` (an
  // empty program removes it) and adds the commands for the difference to
  // `tx`. Returns false when nothing changed.
  bool update(const std::string& key, ServiceProgram program, Transaction& tx);
  // The base chains and everything recorded, as one script that replaces the
  // table atomically (used at start and after a failed transaction).
  std::string renderFull() const;
  // An empty transaction for this table.
  Transaction newTransaction() const;

  const TableConfig& config() const { return config_; }
  size_t serviceCount() const { return services_.size(); }
  // Lookups for tracing a packet through the program.
  const Chain* chain(const std::string& name) const;
  std::optional<std::string> lookup(const std::string& map, const std::string& key) const;
  bool contains(const std::string& set, const std::string& key) const;

 private:
  std::string prefix() const;
  void renderChain(std::string& out, const std::string& name, const Chain& chain) const;
  // One rule of the program can be several nft rules (a random choice).
  std::vector<std::string> renderRule(const Rule& rule) const;
  std::string affinitySetDecl(const std::string& name, const AffinitySet& set) const;

  TableConfig config_;
  std::map<std::string, ServiceProgram> services_;
  std::unordered_map<std::string, std::string> chainOwner_;  // chain -> Service key
  // Shared entries: map -> key -> owner -> value. When two Services claim one
  // key (e.g. the same externalIP and port) the first owner's value wins.
  std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> mapEntries_;
  std::map<std::string, std::map<std::string, std::set<std::string>>> setEntries_;
};

// The nft text of the base program: table, shared maps and sets, and the
// chains hooked into the kernel (documented in src/proxy/README.md).
std::string renderBase(const TableConfig& config);

}  // namespace podnet::proxy
