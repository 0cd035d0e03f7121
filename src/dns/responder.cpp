#include "dns/responder.h"

#include <cstring>

namespace podnet::dns {

namespace {

size_t writeAnswer(const Query& query, const uint8_t* packet, const AnswerView& answer,
                   bool overTcp, uint8_t* out, size_t cap) {
  size_t limit = overTcp ? kMaxMessage : query.udpLimit();
  if (limit > cap) limit = cap;
  size_t questionLen = query.questionEnd - kHeaderSize;
  size_t optLen = query.hasEdns ? 11 : 0;
  size_t full = kHeaderSize + questionLen + answer.size + optLen;
  bool truncated = full > limit;
  uint16_t flags = flag::QR | flag::AA | (query.flags & flag::RD) | flag::RA | answer.rcode;
  if (truncated) flags |= flag::TC;
  put16(out, query.id);
  put16(out + 2, flags);
  put16(out + 4, 1);
  put16(out + 6, truncated ? 0 : answer.counts[0]);
  put16(out + 8, truncated ? 0 : answer.counts[1]);
  put16(out + 10, uint16_t((truncated ? 0 : answer.counts[2]) + (query.hasEdns ? 1 : 0)));
  std::memcpy(out + kHeaderSize, packet + kHeaderSize, questionLen);
  size_t at = query.questionEnd;
  if (!truncated) {
    std::memcpy(out + at, answer.body, answer.size);
    at += answer.size;
  }
  if (query.hasEdns) at = appendOpt(out, at, cap);
  return at;
}

}  // namespace

Outcome answerQuery(const Authority& authority, const Zone* zone, bool canForward,
                    const uint8_t* packet, size_t size, bool overTcp, Query& query, uint8_t* out,
                    size_t cap) {
  return answerParsed(authority, zone, canForward, parseQuery(packet, size, query), packet, size,
                      overTcp, query, out, cap);
}

Outcome answerParsed(const Authority& authority, const Zone* zone, bool canForward,
                     ParseStatus status, const uint8_t* packet, size_t size, bool overTcp,
                     Query& query, uint8_t* out, size_t cap) {
  Outcome outcome;
  auto error = [&](uint16_t code, bool echoQuestion) {
    outcome.kind = Outcome::reply;
    outcome.length =
        writeErrorResponse(packet, size, echoQuestion ? &query : nullptr, code, out, cap);
    if (outcome.length == 0) outcome.kind = Outcome::drop;
    return outcome;
  };
  switch (status) {
    case ParseStatus::drop:
      return outcome;
    case ParseStatus::formErr:
      return error(rcode::FORMERR, false);
    case ParseStatus::notImp:
      return error(rcode::NOTIMP, false);
    case ParseStatus::badVers:
      return error(rcode::BADVERS, true);
    case ParseStatus::ok:
      break;
  }
  if (query.qclass != kClassIn && query.qclass != kClassAny) return error(rcode::REFUSED, true);
  if (query.qtype == type::AXFR || query.qtype == type::IXFR) return error(rcode::REFUSED, true);
  // A name of the zone is answered whatever its owner (a PTR name of an
  // endpoint outside the configured ranges is still ours).
  const Zone::Name* name = zone ? zone->find(query) : nullptr;
  if (name == nullptr) {
    int owner = authority.classify(query);
    if (owner < 0) {
      if (!canForward) return error(rcode::REFUSED, true);
      // Our own forwarded query came back: the upstream is us.
      if (query.hasLoopMarker && query.loopMarker == processLoopMarker())
        return error(rcode::SERVFAIL, true);
      outcome.kind = Outcome::forward;
      return outcome;
    }
    if (zone == nullptr) return error(rcode::SERVFAIL, true);
    if (owner == 0) name = zone->findPodAlias(query);
    if (name == nullptr) {
      outcome.kind = Outcome::reply;
      outcome.length = writeAnswer(query, packet, zone->nxdomain(owner), overTcp, out, cap);
      return outcome;
    }
  }
  outcome.kind = Outcome::reply;
  outcome.length = writeAnswer(query, packet, zone->answer(name, query.qtype), overTcp, out, cap);
  return outcome;
}

size_t finishForwarded(const Query& query, const uint8_t* packet, std::string_view normalized,
                       bool overTcp, uint8_t* out, size_t cap) {
  if (normalized.size() < query.questionEnd || query.questionEnd + 11 > cap) return 0;
  // The upstream answer must be for this question (name compared without
  // case: an upstream may answer in another case; the client's is restored).
  const auto* answer = reinterpret_cast<const uint8_t*>(normalized.data());
  if (get16(answer + 4) != 1) return 0;
  for (size_t i = 0; i < query.nameLen; ++i) {
    uint8_t c = answer[kHeaderSize + i];
    if (c >= 'A' && c <= 'Z') c = uint8_t(c + 32);
    if (c != query.lowerName[i]) return 0;
  }
  if (std::memcmp(answer + kHeaderSize + query.nameLen, packet + kHeaderSize + query.nameLen, 4) !=
      0)
    return 0;
  size_t limit = overTcp ? kMaxMessage : query.udpLimit();
  if (limit > cap) limit = cap;
  size_t optLen = query.hasEdns ? 11 : 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(normalized.data());
  uint16_t upstreamFlags = get16(bytes + 2);
  uint16_t flags = uint16_t((upstreamFlags & ~(flag::RD | flag::TC | flag::AA)) |
                            (query.flags & flag::RD) | flag::RA | flag::QR);
  bool truncated = normalized.size() + optLen > limit || (upstreamFlags & flag::TC);
  size_t at;
  if (!truncated) {
    std::memcpy(out, bytes, normalized.size());
    at = normalized.size();
  } else {
    std::memcpy(out, bytes, query.questionEnd);
    std::memset(out + 6, 0, 6);
    flags |= flag::TC;
    at = query.questionEnd;
  }
  put16(out, query.id);
  put16(out + 2, flags);
  std::memcpy(out + kHeaderSize, packet + kHeaderSize, query.questionEnd - kHeaderSize);
  if (query.hasEdns) {
    at = appendOpt(out, at, cap);
    put16(out + 10, uint16_t(get16(out + 10) + 1));
  }
  return at;
}

size_t writeServfail(const Query& query, const uint8_t* packet, uint8_t* out, size_t cap) {
  return writeErrorResponse(packet, query.questionEnd, &query, rcode::SERVFAIL, out, cap);
}

void SnapshotSlot::publish(std::shared_ptr<const Zone> zone) {
  std::atomic_store(&zone_, std::move(zone));
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace podnet::dns
