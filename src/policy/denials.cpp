#include "policy/denials.h"

#include <ctime>

#include "api/object.h"

namespace podnet::policy {

namespace {

std::string formatTime(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string endpointText(const std::string& pod, const core::IpAddress& ip, uint16_t port) {
  std::string out = pod.empty() ? ip.toString() : pod + " (" + ip.toString() + ")";
  if (port) out += ":" + std::to_string(port);
  return out;
}

std::string flowKey(const Denial& d) {
  return std::string(directionName(d.direction)) + "|" + d.sourceIp.toString() + "|" +
         d.destinationIp.toString() + "|" + std::to_string(d.destinationPort) + "|" +
         std::to_string(d.protocol);
}

}  // namespace

std::string Denial::protocolText() const {
  if (protocol == 6 || protocol == 17 || protocol == 132)
    return protocolName(static_cast<Protocol>(protocol));
  if (protocol == 1) return "ICMP";
  return std::to_string(protocol);
}

Json Denial::toJson() const {
  Json j = {{"time", formatTime(time)},
            {"node", node},
            {"direction", directionName(direction)},
            {"source", {{"ip", sourceIp.toString()}, {"port", sourcePort}}},
            {"destination", {{"ip", destinationIp.toString()}, {"port", destinationPort}}},
            {"protocol", protocolText()},
            {"policies", policies},
            {"count", count}};
  if (!source.empty()) j["source"]["pod"] = source;
  if (!destination.empty()) j["destination"]["pod"] = destination;
  return j;
}

std::optional<Denial> Denial::fromJson(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  Denial d;
  auto str = [&](const Json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  long long seconds = api::parseRfc3339(str(j, "time"));
  if (seconds < 0) return std::nullopt;
  d.time = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  d.node = str(j, "node");
  d.direction = str(j, "direction") == "egress" ? Direction::egress : Direction::ingress;
  for (auto [key, pod, ip, port] :
       {std::tuple{"source", &d.source, &d.sourceIp, &d.sourcePort},
        std::tuple{"destination", &d.destination, &d.destinationIp, &d.destinationPort}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return std::nullopt;
    *pod = str(*it, "pod");
    auto parsed = core::IpAddress::parse(str(*it, "ip"));
    if (!parsed) return std::nullopt;
    *ip = *parsed;
    auto p = it->find("port");
    if (p != it->end() && p->is_number_unsigned() && p->get<uint64_t>() <= 65535)
      *port = static_cast<uint16_t>(p->get<uint64_t>());
  }
  std::string proto = str(j, "protocol");
  if (auto parsed = parseProtocol(proto))
    d.protocol = static_cast<uint8_t>(*parsed);
  else if (proto == "ICMP")
    d.protocol = 1;
  else
    d.protocol = static_cast<uint8_t>(std::atoi(proto.c_str()));
  if (auto it = j.find("policies"); it != j.end() && it->is_array())
    for (const auto& p : *it)
      if (p.is_string()) d.policies.push_back(p.get<std::string>());
  if (auto it = j.find("count"); it != j.end() && it->is_number_unsigned())
    d.count = static_cast<uint32_t>(std::min<uint64_t>(it->get<uint64_t>(), UINT32_MAX));
  return d;
}

std::string Denial::describe() const {
  std::string out = formatTime(time) + " " + node + " " + directionName(direction) + " " +
                    endpointText(source, sourceIp, sourcePort) + " -> " +
                    endpointText(destination, destinationIp, 0) + " " +
                    std::to_string(destinationPort) + "/" + protocolText() + " denied";
  if (!policies.empty()) {
    out += ": " + std::string(direction == Direction::ingress ? destination : source) +
           " is isolated for " + directionName(direction) + " by ";
    for (size_t i = 0; i < policies.size(); ++i) out += (i ? ", " : "") + policies[i];
  }
  if (count > 1) out += " (x" + std::to_string(count) + ")";
  return out;
}

std::optional<Denial> explainDenial(const ClusterState& state, const net::LoggedPacket& packet,
                                    const std::string& node) {
  Denial d;
  std::string prefix = packet.prefix;
  if (prefix == std::string(kLogPrefix) + "ingress")
    d.direction = Direction::ingress;
  else if (prefix == std::string(kLogPrefix) + "egress")
    d.direction = Direction::egress;
  else
    return std::nullopt;  // another rule's log
  d.time = packet.time;
  d.node = node;
  d.sourceIp = packet.source;
  d.destinationIp = packet.destination;
  d.sourcePort = packet.sourcePort;
  d.destinationPort = packet.destinationPort;
  d.protocol = packet.protocol;
  Endpoint from = endpointForIp(state, packet.source);
  Endpoint to = endpointForIp(state, packet.destination);
  if (from.pod) d.source = from.pod->key();
  if (to.pod) d.destination = to.pod->key();
  const Pod* judged = d.direction == Direction::ingress ? to.pod : from.pod;
  if (judged && (packet.protocol == 6 || packet.protocol == 17 || packet.protocol == 132)) {
    Verdict v =
        evaluate(state, from, to, static_cast<Protocol>(packet.protocol), packet.destinationPort);
    d.policies = d.direction == Direction::ingress ? v.ingress.isolatingPolicies
                                                   : v.egress.isolatingPolicies;
  } else if (judged) {
    for (const Policy* p : state.policiesIn(judged->ns))
      if (p->hasType(d.direction) && policySelects(*p, *judged)) d.policies.push_back(p->key());
  }
  return d;
}

DenialLog::DenialLog() : DenialLog(Options{}) {}
DenialLog::DenialLog(Options options) : options_(options) {}

bool DenialLog::add(const Denial& denial) {
  std::lock_guard lock(mutex_);
  std::string key = flowKey(denial);
  auto recent = recent_.find(key);
  if (recent != recent_.end() && denial.time - recent->second.first < options_.fold &&
      recent->second.second >= base_) {
    records_[recent->second.second - base_].count += denial.count;
    return false;
  }
  auto second = std::chrono::time_point_cast<std::chrono::seconds>(denial.time);
  if (second != second_) {
    second_ = second;
    inSecond_ = 0;
  }
  if (++inSecond_ > options_.perSecond) {
    ++dropped_;
    return false;
  }
  records_.push_back(denial);
  recent_[key] = {denial.time, base_ + records_.size() - 1};
  while (records_.size() > options_.capacity) {
    records_.pop_front();
    ++base_;
  }
  // Forget folds that can no longer match.
  if (recent_.size() > 2 * options_.capacity)
    for (auto it = recent_.begin(); it != recent_.end();)
      it = it->second.second < base_ || denial.time - it->second.first >= options_.fold
               ? recent_.erase(it)
               : std::next(it);
  return true;
}

std::vector<Denial> DenialLog::snapshot() const {
  std::lock_guard lock(mutex_);
  return {records_.begin(), records_.end()};
}

uint64_t DenialLog::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

bool EventThrottle::allow(const std::string& key, std::chrono::steady_clock::time_point now) {
  auto it = last_.find(key);
  if (it != last_.end() && now - it->second < window_) return false;
  last_[key] = now;
  if (last_.size() > 4096)
    for (auto i = last_.begin(); i != last_.end();)
      i = now - i->second >= window_ ? last_.erase(i) : std::next(i);
  return true;
}

}  // namespace podnet::policy
