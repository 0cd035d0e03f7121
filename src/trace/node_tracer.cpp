#include "trace/node_tracer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/ip.h"
#include "net/conntrack.h"
#include "net/netns.h"
#include "net/nft_batch.h"
#include "net/nftables.h"
#include "net/nftrace.h"
#include "trace/probe.h"
#include "trace/rule_text.h"
#include "trace/target.h"

namespace podnet::trace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kTablePrefix = "podnet-trace-";
constexpr size_t kMaxEvents = 20000;

nodeapi::PlainReply jsonReply(int status, const Json& body) {
  return {status, "application/json", body.dump()};
}

nodeapi::PlainReply errorReply(int status, const std::string& message) {
  return jsonReply(status, {{"error", message}});
}

std::string interfaceName(uint32_t index) {
  if (index == 0) return "";
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(index, name) == nullptr) return std::to_string(index);
  return name;
}

// A name nft reads unquoted (its scanner's `string`: a letter, '_' or '.'
// first, then letters, digits and / - _ .); `list chain` takes no quotes.
bool nftIdentifier(const std::string& name) {
  if (name.empty() ||
      !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_' || name[0] == '.'))
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

bool validId(const std::string& id) {
  if (id.empty() || id.size() > 16) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  return true;
}

// ---- one armed trace ---------------------------------------------------------

struct Armed {
  std::string id, table;
  RuleTexts rules;
  std::mutex mutex;
  std::vector<net::NftTraceEvent> events;
  bool lost = false;
  std::atomic<bool> stop{false};
  Clock::time_point deadline;
  std::thread reader;
  uint8_t protocol = 6;
  uint16_t sourcePort = 0;
};

// Through netlink batches (net/nft_batch.h): libnftables would first read
// every chain of the node's tables first (docs/decisions.md, podnet trace).
core::Status deleteTable(const std::string& table) {
  auto socket = net::NftSocket::open();
  if (!socket) return socket.takeError();
  net::NftBatch batch;
  batch.addTable(net::NftFamily::ip, table);  // the pair removes it, there or not
  batch.deleteTable(net::NftFamily::ip, table);
  return socket->commit(batch);
}

// table ip podnet-trace-<id>, chain flag-connection (prerouting, priority
// -150: after conntrack, before the Service and policy chains):
//   meta l4proto P ct original proto-src S meta nftrace set 1
core::Status addTraceTable(const std::string& table, uint8_t protocol, uint16_t sourcePort) {
  auto socket = net::NftSocket::open();
  if (!socket) return socket.takeError();
  net::NftBatch batch;
  batch.addTable(net::NftFamily::ip, table);
  batch.addBaseChain(net::NftFamily::ip, table, "flag-connection", net::NftHook::prerouting, -150,
                     "filter");
  net::NftRule rule;
  rule.meta(NFT_META_L4PROTO)
      .equal({protocol})
      .ct(NFT_CT_PROTO_SRC, 1, 0 /* IP_CT_DIR_ORIGINAL */)
      .equal({uint8_t(sourcePort >> 8), uint8_t(sourcePort)})
      .immediate({1}, 1)
      .metaSet(NFT_META_NFTRACE);
  batch.addRule(net::NftFamily::ip, table, "flag-connection", rule);
  return socket->commit(batch);
}

Json eventJson(const net::NftTraceEvent& e, const RuleTexts& rules) {
  Json out = {{"id", e.id},
              {"family", familyName(e.family)},
              {"table", e.table},
              {"chain", e.chain},
              {"type", e.type == net::TraceType::rule       ? "rule"
                       : e.type == net::TraceType::chainEnd ? "return"
                                                            : "policy"},
              {"verdict", net::verdictName(e.verdict)}};
  if (e.ruleHandle != 0) {
    out["handle"] = e.ruleHandle;
    std::string text = rules.find(familyName(e.family), e.table, e.chain, e.ruleHandle);
    out["rule"] = text.empty() ? "(rule handle " + std::to_string(e.ruleHandle) +
                                     ": the ruleset changed during the trace)"
                               : text;
  }
  if (!e.jumpTarget.empty()) out["target"] = e.jumpTarget;
  if (e.inputInterface) out["iif"] = interfaceName(e.inputInterface);
  if (e.outputInterface) out["oif"] = interfaceName(e.outputInterface);
  if (e.hasPacket) {
    Json packet = {
        {"src", e.source.toString()}, {"dst", e.destination.toString()}, {"protocol", e.protocol}};
    if (e.sourcePort || e.destinationPort) {
      packet["sport"] = e.sourcePort;
      packet["dport"] = e.destinationPort;
    }
    if (e.protocol == 6) packet["tcpFlags"] = e.tcpFlags;
    out["packet"] = packet;
  }
  return out;
}

}  // namespace

struct NodeTracer::Impl {
  const nodeapi::PodDirectory& pods;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Armed>> armed;
  std::thread reaper;
  std::condition_variable wake;
  bool stopping = false;

  explicit Impl(const nodeapi::PodDirectory& p) : pods(p) {}

  // Ends a trace: its reader stops, its table goes.
  static void disarm(Armed& trace) {
    trace.stop = true;
    if (trace.reader.joinable()) trace.reader.join();
    (void)deleteTable(trace.table);
  }

  nodeapi::PlainReply arm(const Json& body) {
    std::string id = body.value("id", "");
    std::string protocol = body.value("protocol", "tcp");
    int sourcePort = body.value("sourcePort", 0);
    int ttl = std::clamp(body.value("ttlSeconds", 10), 1, 60);
    if (!validId(id)) return errorReply(400, "id must be 1-16 letters or digits");
    if (protocol != "tcp" && protocol != "udp")
      return errorReply(400, "protocol must be tcp or udp");
    if (sourcePort < 1 || sourcePort > 65535) return errorReply(400, "sourcePort must be 1-65535");
    auto trace = std::make_shared<Armed>();
    trace->id = id;
    trace->table = kTablePrefix + id;
    trace->protocol = protocol == "udp" ? 17 : 6;
    trace->sourcePort = uint16_t(sourcePort);
    trace->deadline = Clock::now() + std::chrono::seconds(ttl);
    {
      std::lock_guard lock(mutex);
      if (armed.count(id)) return errorReply(409, "trace " + id + " is already armed");
    }
    // Listen first: events sent before the socket joined are lost.
    auto reader = net::NftTraceReader::open();
    if (!reader) return errorReply(500, reader.error().message);
    if (auto added = addTraceTable(trace->table, trace->protocol, trace->sourcePort); !added)
      return errorReply(500, added.error().message);
    trace->reader = std::thread([trace, reader = std::move(*reader)]() mutable {
      // The kernel queues events as the packets pass, so once stopped one
      // last read without waiting takes all the traced packets left.
      bool last = false;
      while (!last) {
        last = trace->stop || Clock::now() >= trace->deadline;
        auto events = reader.read(std::chrono::milliseconds(last ? 0 : 10));
        if (!events) break;
        std::lock_guard lock(trace->mutex);
        for (auto& e : *events)
          if (trace->events.size() < kMaxEvents) trace->events.push_back(std::move(e));
        trace->lost = trace->lost || reader.lostEvents();
      }
    });
    {
      std::lock_guard lock(mutex);
      armed[id] = trace;
    }
    wake.notify_all();
    return jsonReply(200, {{"armed", true}, {"table", "ip " + trace->table}});
  }

  nodeapi::PlainReply collect(const Json& body) {
    std::string id = body.value("id", "");
    std::shared_ptr<Armed> trace;
    {
      std::lock_guard lock(mutex);
      auto it = armed.find(id);
      if (it == armed.end()) return errorReply(404, "no trace " + id + " on this node");
      trace = it->second;
      armed.erase(it);
    }
    disarm(*trace);
    // The texts of the rules the packets crossed, chain by chain: listing
    // only those chains keeps a collect fast with thousands of Services. A
    // rule replaced since (a proxy sync) is reported as such.
    std::set<std::tuple<std::string, std::string, std::string>> chains;
    for (const auto& e : trace->events)
      if (e.ruleHandle && e.table.rfind(kTablePrefix, 0) != 0)
        chains.insert({familyName(e.family), e.table, e.chain});
    if (!chains.empty())
      if (auto nft = net::Nftables::open()) {
        nft->showHandles();
        for (const auto& [family, table, chain] : chains)
          if (nftIdentifier(table) && nftIdentifier(chain))
            if (auto listed = nft->query("list chain " + family + " " + table + " " + chain + "\n"))
              trace->rules.merge(parseRuleTexts(*listed));
      }
    Json events = Json::array();
    for (const auto& e : trace->events)
      if (e.table.rfind(kTablePrefix, 0) != 0) events.push_back(eventJson(e, trace->rules));
    Json conntrack = Json::array();
    if (auto entries = net::findConntrackEntries(trace->protocol, trace->sourcePort))
      for (const auto& entry : *entries) {
        auto tuple = [](const net::ConntrackTuple& t) {
          return Json{{"src", t.source.toString()},
                      {"dst", t.destination.toString()},
                      {"sport", t.sourcePort},
                      {"dport", t.destinationPort}};
        };
        conntrack.push_back({{"original", tuple(entry.original)},
                             {"reply", tuple(entry.reply)},
                             {"status", entry.status}});
      }
    return jsonReply(200,
                     {{"events", events}, {"conntrack", conntrack}, {"lostEvents", trace->lost}});
  }

  nodeapi::PlainReply run(const Json& body) {
    std::string ns = body.value("namespace", ""), name = body.value("pod", "");
    auto pod = pods.find(ns, name);
    if (!pod) return errorReply(404, "pod " + ns + "/" + name + " is not on this node");
    if (pod->netnsPath.empty())
      return errorReply(409, "pod " + ns + "/" + name + " has no network yet");
    std::string host = body.value("host", "");
    int port = body.value("port", 0);
    std::string protocol = body.value("protocol", "tcp");
    int sourcePort = body.value("sourcePort", 0);
    int timeoutMs = std::clamp(body.value("timeoutMs", 3000), 100, 30000);
    if (host.empty() || port < 1 || port > 65535 || sourcePort < 1 || sourcePort > 65535 ||
        (protocol != "tcp" && protocol != "udp"))
      return errorReply(400, "host, port (1-65535), protocol (tcp|udp) and sourcePort required");
    auto netns = net::NetnsHandle::open(pod->netnsPath);
    if (!netns) return errorReply(500, netns.error().message);
    std::string resolvConf = pod->resolvConfPath;
    bool http = body.value("http", false);
    std::string path = body.value("path", "/");
    auto result = net::runInNetns(*netns, [&]() -> core::Result<Json> {
      std::string address;
      std::ifstream in(resolvConf);
      std::stringstream text;
      text << in.rdbuf();
      Json dnsStep = resolveLikeAPod(host, text.str(), address);
      Json out = {{"dns", dnsStep}, {"podIp", pod->podIp}};
      if (address.empty()) return out;
      Probe probe;
      probe.address = address;
      probe.port = uint16_t(port);
      probe.protocol = protocol;
      probe.http = http;
      probe.host = host;
      probe.path = path;
      probe.sourcePort = uint16_t(sourcePort);
      probe.timeout = std::chrono::milliseconds(timeoutMs);
      out["connection"] = connectAndRequest(probe);
      return out;
    });
    if (!result) return errorReply(500, result.error().message);
    return jsonReply(200, *result);
  }

  // Disarms traces whose deadline passed without a collect (the CLI died).
  void reap() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      wake.wait_for(lock, std::chrono::seconds(1));
      std::vector<std::shared_ptr<Armed>> expired;
      for (auto it = armed.begin(); it != armed.end();) {
        if (Clock::now() >= it->second->deadline) {
          expired.push_back(it->second);
          it = armed.erase(it);
        } else {
          ++it;
        }
      }
      lock.unlock();
      for (auto& trace : expired) disarm(*trace);
      lock.lock();
    }
    for (auto& [_, trace] : armed) disarm(*trace);
    armed.clear();
  }
};

NodeTracer::NodeTracer(const nodeapi::PodDirectory& pods) : impl_(std::make_shared<Impl>(pods)) {
  impl_->reaper = std::thread([impl = impl_.get()] { impl->reap(); });
}

NodeTracer::~NodeTracer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->reaper.joinable()) impl_->reaper.join();
}

nodeapi::PlainReply NodeTracer::handle(const nodeapi::PlainRequest& request) {
  if (request.method != "POST") return errorReply(405, "POST only");
  Json body = Json::parse(request.body, nullptr, false);
  if (!body.is_object()) return errorReply(400, "the body must be a JSON object");
  try {
    if (request.path == "/trace/arm") return impl_->arm(body);
    if (request.path == "/trace/run") return impl_->run(body);
    if (request.path == "/trace/collect") return impl_->collect(body);
  } catch (const Json::exception& error) {
    return errorReply(400, std::string("bad field: ") + error.what());
  }
  return errorReply(404, "no such trace action " + request.path);
}

void NodeTracer::removeLeftovers() {
  auto nft = net::Nftables::open();
  if (!nft) return;
  auto tables = nft->query("list tables ip");
  if (!tables) return;
  std::istringstream lines(*tables);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find(kTablePrefix);
    if (at == std::string::npos) continue;
    std::string table = line.substr(at);
    while (!table.empty() && (table.back() == ' ' || table.back() == '\r')) table.pop_back();
    (void)deleteTable(table);
  }
}

}  // namespace podnet::trace
