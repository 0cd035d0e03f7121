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

// The changes of one transaction to one table, as data, in the order the
// kernel must see them: every object exists before something refers to it
// and is unreferenced before it goes. script() renders them as nft text; the
// netlink writer (netlink_writer.h) encodes the same data as a batch.
struct Transaction {
  Family family = Family::v4;
  std::string table;
  std::vector<std::pair<std::string, AffinitySet>> newSets;
  std::vector<std::string> newChains;
  std::vector<std::string> flushedChains;  // changed chains, and chains about to go
  // Rules appended, in order, each one rule of the kernel (see kernelRules).
  std::vector<std::pair<std::string, Rule>> rules;
  // Map and set elements: set -> key -> (before, after); nullopt is absent,
  // "" a set element, else a map value. Only the first `before` of a key in a
  // transaction counts: it is what the kernel has.
  std::map<std::string,
           std::map<std::string, std::pair<std::optional<std::string>, std::optional<std::string>>>>
      elements;
  std::vector<std::string> deletedChains;  // chains no Service uses any more
  std::vector<std::string> deletedSets;    // then the affinity sets their rules used

  bool empty() const;
  // The nft text of the transaction ("" when empty).
  std::string script() const;
  // The elements to delete (changed values first go) and to add, per set.
  std::map<std::string, std::vector<std::string>> elementsToDelete() const;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> elementsToAdd() const;
  void noteElement(const std::string& set, const std::string& key,
                   std::optional<std::string> before, std::optional<std::string> after);
};

// The rules the kernel holds for one rule of the program: a random choice
// among n becomes a cascade of n rules, the i-th taken with probability
// 1/(n-i) (uniform overall, as iptables' statistic match), each with one
// target. Every other rule is itself.
//
// Not `numgen random mod n map { ... }`: every such rule makes an anonymous
// set, and the kernel names those by scanning all sets of the table, so 10k
// Services took 11 s of kernel time to load.
std::vector<Rule> kernelRules(const Rule& rule);

// One kernel rule (see kernelRules) as nft text, without "add rule ...".
std::string ruleText(Family family, const Rule& rule);

class ProgramState {
 public:
  // `keepRules`: also keep every chain's rules, so chain() can answer (the
  // packet tracer of the tests). Without it a chain is kept as its name and
  // a 64-bit hash of its rules, which is all update() needs to tell what
  // changed: the agent's proxy holds a few hundred bytes per Service, not
  // its rules (issue 21).
  explicit ProgramState(TableConfig config, bool keepRules = false);

  // Records that Service `key` ("ns/name") now compiles to `program` (an
  // empty program removes it) and adds the commands for the difference to
  // `tx` (none when null). Returns false when nothing changed. A fresh
  // state fed every Service yields the whole table: that is a full sync.
  bool update(const std::string& key, const ServiceProgram& program, Transaction* tx);
  // An empty transaction for this table.
  Transaction newTransaction() const;

  const TableConfig& config() const { return config_; }
  size_t serviceCount() const { return services_.size(); }
  // Lookups for tracing a packet through the program; chain() needs
  // keepRules.
  const Chain* chain(const std::string& name) const;
  std::optional<std::string> lookup(const std::string& map, const std::string& key) const;
  bool contains(const std::string& set, const std::string& key) const;

 private:
  // Compares owners (Service keys, held by services_) by value.
  struct OwnerLess {
    bool operator()(const std::string* a, const std::string* b) const { return *a < *b; }
  };
  // A shared map's entries: key -> owner -> value. When two Services claim
  // one key (e.g. the same externalIP and port) the first owner's value wins.
  using MapEntries = std::map<std::string, std::map<const std::string*, std::string, OwnerLess>>;
  using SetEntries = std::map<std::string, std::set<const std::string*, OwnerLess>>;
  // What one Service contributed, sized to what it is.
  struct Recorded {
    std::vector<std::pair<std::string, uint64_t>> chains;  // name, hash of its rules; by name
    std::vector<std::pair<std::string, AffinitySet>> affinitySets;  // by name
    // Its entries in the shared maps and sets: the table's index in
    // tableNames_, and the key as stored there (kept while any Service holds
    // it).
    std::vector<std::pair<uint16_t, const std::string*>> mapKeys;
    std::vector<std::pair<uint16_t, const std::string*>> setElements;
  };
  uint16_t tableIndex(const std::string& name);

  TableConfig config_;
  bool keepRules_;
  std::map<std::string, Recorded> services_;
  std::vector<std::string> tableNames_;  // shared maps and sets, indexed by Recorded
  std::vector<MapEntries> maps_;         // by tableIndex (unused slots stay empty)
  std::vector<SetEntries> sets_;
  std::map<std::string, Chain> rules_;  // chain -> rules, with keepRules only
};

// Tables replaced wholesale in one transaction (at start, when the number of
// tables changes, after a failed transaction): each emptied, given its base
// program (renderBase) and filled with its contents; tables of an earlier
// layout are deleted.
struct Replacement {
  struct Table {
    TableConfig config;
    Transaction contents;
  };
  std::vector<std::pair<Family, std::string>> staleTables;
  std::vector<Table> tables;
  // The nft text of it all.
  std::string script() const;
};

// `add set` of an affinity set, as nft text.
std::string affinitySetDecl(const std::string& prefix, Family family, const std::string& name,
                            const AffinitySet& set);

// The nft text of the base program: table, shared maps and sets, and the
// chains hooked into the kernel (documented in src/proxy/README.md).
std::string renderBase(const TableConfig& config);

}  // namespace podnet::proxy
