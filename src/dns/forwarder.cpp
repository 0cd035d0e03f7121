#include "dns/forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace podnet::dns {

namespace {

// A failure of this host (a port taken, no sockets): said as is.
core::Error hostError(std::string message) {
  return core::Error{500, "InternalError", std::move(message)};
}

constexpr size_t kMaxPending = 10000;  // upstream queries in flight (of 65536 IDs)

bool sameAddress(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

bool waitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, int(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// One query over TCP (RFC 7766 framing); the response or nullopt.
std::optional<std::string> tcpExchange(const Upstream& upstream, const std::string& query,
                                       Clock::time_point deadline) {
  int fd = ::socket(upstream.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&upstream.address), upstream.length) != 0) {
    if (errno != EINPROGRESS || !waitFor(fd, POLLOUT, deadline)) return std::nullopt;
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
      return std::nullopt;
  }
  std::string frame(2, '\0');
  put16(reinterpret_cast<uint8_t*>(frame.data()), uint16_t(query.size()));
  frame += query;
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFor(fd, POLLOUT, deadline)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  std::string in;
  uint8_t buf[4096];
  while (true) {
    if (in.size() >= 2) {
      size_t want = get16(reinterpret_cast<const uint8_t*>(in.data()));
      if (in.size() >= 2 + want) return in.substr(2, want);
    }
    if (!waitFor(fd, POLLIN, deadline)) return std::nullopt;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0)
      in.append(reinterpret_cast<char*>(buf), size_t(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
      return std::nullopt;
  }
}

}  // namespace

std::optional<Upstream> Upstream::parse(std::string_view text) {
  std::string host(text);
  uint16_t port = 53;
  std::string portText;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos) return std::nullopt;
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return std::nullopt;
      portText = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    portText = host.substr(host.find(':') + 1);
    host.resize(host.find(':'));
  }
  if (!portText.empty()) {
    if (portText.size() > 5 || !std::all_of(portText.begin(), portText.end(), ::isdigit))
      return std::nullopt;
    int value = std::stoi(portText);
    if (value < 1 || value > 65535) return std::nullopt;
    port = uint16_t(value);
  }
  Upstream upstream;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&upstream.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&upstream.address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    upstream.length = sizeof(sockaddr_in);
    upstream.text = host + ":" + std::to_string(port);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    upstream.length = sizeof(sockaddr_in6);
    upstream.text = "[" + host + "]:" + std::to_string(port);
  } else {
    return std::nullopt;
  }
  return upstream;
}

std::vector<Upstream> upstreamsFromResolvConf(std::string_view text) {
  std::vector<Upstream> upstreams;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    constexpr std::string_view kKeyword = "nameserver";
    if (line.substr(0, kKeyword.size()) != kKeyword) continue;
    line.remove_prefix(kKeyword.size());
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || first == 0) continue;
    line.remove_prefix(first);
    line = line.substr(0, line.find_first_of(" \t\r#;"));
    // An address with a zone index (fe80::1%eth0) is not supported.
    if (line.find('%') != std::string_view::npos) continue;
    std::string host(line);
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    if (auto upstream = Upstream::parse(host)) upstreams.push_back(*upstream);
  }
  return upstreams;
}

std::optional<uint32_t> cacheTtl(const uint8_t* msg, size_t size) {
  auto records = walkRecords(msg, size);
  if (!records) return std::nullopt;
  uint8_t code = msg[3] & 0xF;
  size_t answers = get16(msg + 6), authority = get16(msg + 8);
  if (code == rcode::NOERROR && answers > 0) {
    uint32_t ttl = 3600;
    for (size_t i = 0; i < answers; ++i) ttl = std::min(ttl, get32(msg + (*records)[i].ttlOffset));
    return ttl == 0 ? std::nullopt : std::optional<uint32_t>(ttl);
  }
  if (code != rcode::NXDOMAIN && code != rcode::NOERROR) return std::nullopt;
  for (size_t i = answers; i < answers + authority; ++i) {
    const auto& rr = (*records)[i];
    if (rr.type != type::SOA || rr.rdataLen < 22) continue;
    uint32_t minimum = get32(msg + rr.end - 4);
    uint32_t ttl = std::min({get32(msg + rr.ttlOffset), minimum, uint32_t(1800)});
    return ttl == 0 ? std::nullopt : std::optional<uint32_t>(ttl);
  }
  return std::nullopt;
}

std::string cacheKey(std::string_view lowerName, uint16_t qtype, uint16_t qclass) {
  std::string key(lowerName);
  key.push_back(char(qtype >> 8));
  key.push_back(char(qtype));
  key.push_back(char(qclass >> 8));
  key.push_back(char(qclass));
  return key;
}

std::optional<std::string> normalizeResponse(const uint8_t* msg, size_t size) {
  auto records = walkRecords(msg, size);
  if (!records || get16(msg + 4) != 1) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(msg), size);
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  put16(bytes, 0);
  size_t additional = get16(msg + 10);
  if (additional > 0 && !records->empty() && records->back().type == type::OPT) {
    out.resize(records->back().nameOffset);
    put16(reinterpret_cast<uint8_t*>(out.data()) + 10, uint16_t(additional - 1));
  }
  return out;
}

ResponseCache::ResponseCache(size_t maxEntries)
    : maxPerShard_(std::max<size_t>(1, maxEntries / kShards)) {}

ResponseCache::Shard& ResponseCache::shardFor(std::string_view key) const {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

bool ResponseCache::lookup(std::string_view key, Clock::time_point now, std::string& out) const {
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  auto found = shard.entries.find(std::string(key));
  if (found == shard.entries.end() || now >= found->second.expires) return false;
  const Entry& entry = found->second;
  out = entry.bytes;
  auto age = uint32_t(std::chrono::duration_cast<std::chrono::seconds>(now - entry.stored).count());
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  for (uint16_t offset : entry.ttlOffsets) {
    uint32_t ttl = get32(bytes + offset);
    put32(bytes + offset, ttl > age ? ttl - age : 0);
  }
  return true;
}

void ResponseCache::insert(const std::string& key, std::string normalized, Clock::time_point now) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(normalized.data());
  auto ttl = cacheTtl(bytes, normalized.size());
  if (!ttl) return;
  auto records = walkRecords(bytes, normalized.size());
  if (!records) return;
  Entry entry;
  for (const auto& rr : *records)
    if (rr.type != type::OPT && rr.ttlOffset < 0xFFFF)
      entry.ttlOffsets.push_back(uint16_t(rr.ttlOffset));
  entry.bytes = std::move(normalized);
  entry.stored = now;
  entry.expires = now + std::chrono::seconds(*ttl);
  Shard& shard = shardFor(key);
  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= maxPerShard_) {
    std::erase_if(shard.entries, [&](const auto& item) { return now >= item.second.expires; });
    if (shard.entries.size() >= maxPerShard_) shard.entries.erase(shard.entries.begin());
  }
  shard.entries[key] = std::move(entry);
}

size_t ResponseCache::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.entries.size();
  }
  return total;
}

Forwarder::Forwarder(std::vector<Upstream> upstreams, ForwarderOptions options)
    : upstreams_(std::move(upstreams)), options_(options) {}

Forwarder::~Forwarder() { stop(); }

core::Status Forwarder::start() {
  if (upstreams_.empty()) return core::Ok{};
  bool v6 = std::any_of(upstreams_.begin(), upstreams_.end(),
                        [](const Upstream& u) { return u.address.ss_family == AF_INET6; });
  bool v4 = std::any_of(upstreams_.begin(), upstreams_.end(),
                        [](const Upstream& u) { return u.address.ss_family == AF_INET; });
  if (v4 && v6) return core::badRequest("upstreams must all be IPv4 or all IPv6");
  socket_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (socket_ < 0 || wakeFd_ < 0)
    return hostError(std::string("forwarder socket: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
  return core::Ok{};
}

void Forwarder::stop() {
  if (stopping_.exchange(true)) return;
  if (wakeFd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  {
    std::unique_lock lock(tcpMutex_);
    tcpDone_.wait(lock, [this] { return activeTcp_ == 0; });
  }
  if (socket_ >= 0) ::close(socket_);
  if (wakeFd_ >= 0) ::close(wakeFd_);
  socket_ = wakeFd_ = -1;
}

bool Forwarder::cached(const Query& query, std::string& out) const {
  return cache_.lookup(cacheKey(query.name(), query.qtype, query.qclass), Clock::now(), out);
}

void Forwarder::resolve(const Query& query, Callback callback) {
  auto request = std::make_unique<Request>();
  request->key = cacheKey(query.name(), query.qtype, query.qclass);
  std::string& wire = request->wireQuery;
  wire.assign(kHeaderSize, '\0');
  auto* header = reinterpret_cast<uint8_t*>(wire.data());
  put16(header + 2, flag::RD);
  put16(header + 4, 1);
  put16(header + 10, 1);
  wire.append(query.name());
  uint8_t tail[4 + 11 + 12];
  put16(tail, query.qtype);
  put16(tail + 2, query.qclass);
  appendOpt(tail, 4, sizeof tail);
  put16(tail + 4 + 9, 12);  // OPT rdata: our loop marker option
  put16(tail + 15, kLoopOptionCode);
  put16(tail + 17, 8);
  uint64_t marker = processLoopMarker();
  put32(tail + 19, uint32_t(marker >> 32));
  put32(tail + 23, uint32_t(marker));
  wire.append(reinterpret_cast<char*>(tail), sizeof tail);
  request->callbacks.push_back(std::move(callback));
  if (stopping_.load() || upstreams_.empty()) {
    request->finish(nullptr);
    return;
  }
  {
    std::lock_guard lock(queueMutex_);
    queue_.push_back(std::move(request));
  }
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakeFd_, &one, sizeof one);
}

void Forwarder::send(std::unique_ptr<Request> request) {
  static thread_local std::mt19937 random(std::random_device{}());
  uint16_t id;
  do {
    id = uint16_t(random());
  } while (pending_.count(id));
  put16(reinterpret_cast<uint8_t*>(request->wireQuery.data()), id);
  const Upstream& upstream = upstreams_[request->upstream % upstreams_.size()];
  ::sendto(socket_, request->wireQuery.data(), request->wireQuery.size(), 0,
           reinterpret_cast<const sockaddr*>(&upstream.address), upstream.length);
  // A failed send simply times out and moves on to the next upstream.
  request->deadline = Clock::now() + options_.attemptTimeout;
  pending_[id] = std::move(request);
}

void Forwarder::run() {
  std::vector<uint8_t> buffer(65536);
  while (!stopping_.load()) {
    auto now = Clock::now();
    int timeout = 200;
    for (const auto& [id, request] : pending_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(request->deadline - now);
      timeout = std::max(0, std::min(timeout, int(left.count()) + 1));
    }
    pollfd fds[2] = {{wakeFd_, POLLIN, 0}, {socket_, POLLIN, 0}};
    ::poll(fds, 2, timeout);
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] auto n = ::read(wakeFd_, &count, sizeof count);
      std::vector<std::unique_ptr<Request>> fresh;
      {
        std::lock_guard lock(queueMutex_);
        fresh.swap(queue_);
      }
      for (auto& request : fresh) {
        if (auto same = inflight_.find(request->key); same != inflight_.end()) {
          for (auto& callback : request->callbacks)
            same->second->callbacks.push_back(std::move(callback));
          continue;
        }
        // Bounded: a flood toward a dead upstream must not grow without end.
        if (pending_.size() >= kMaxPending) {
          request->finish(nullptr);
          continue;
        }
        inflight_[request->key] = request.get();
        send(std::move(request));
      }
    }
    while (true) {
      sockaddr_storage from{};
      socklen_t fromLen = sizeof from;
      ssize_t n = ::recvfrom(socket_, buffer.data(), buffer.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 0) break;
      onDatagram(buffer.data(), size_t(n), from);
    }
    now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second->deadline > now) {
        ++it;
        continue;
      }
      auto request = std::move(it->second);
      it = pending_.erase(it);
      if (++request->attempt < options_.attempts) {
        ++request->upstream;
        send(std::move(request));  // pending_ may rehash: restart the scan next round
        break;
      }
      inflight_.erase(request->key);
      request->finish(nullptr);
    }
  }
  inflight_.clear();
  for (auto& [id, request] : pending_) request->finish(nullptr);
  pending_.clear();
  std::lock_guard lock(queueMutex_);
  for (auto& request : queue_) request->finish(nullptr);
  queue_.clear();
}

void Forwarder::onDatagram(const uint8_t* data, size_t size, const sockaddr_storage& from) {
  if (size < kHeaderSize || !(get16(data + 2) & flag::QR)) return;
  auto found = pending_.find(get16(data));
  if (found == pending_.end()) return;
  Request& request = *found->second;
  const Upstream& upstream = upstreams_[request.upstream % upstreams_.size()];
  if (!sameAddress(from, upstream.address)) return;
  // The answer must be for our question (an off-path spoof guess must match
  // the ID, the source and the question).
  const std::string& question = request.wireQuery;
  size_t questionLen = question.size() - kHeaderSize - 11 - 12;  // minus OPT with our option
  if (size < kHeaderSize + questionLen || get16(data + 4) != 1) return;
  auto name = readName(data, size, kHeaderSize);
  if (!name || name->size() + 4 != questionLen ||
      std::memcmp(name->data(), question.data() + kHeaderSize, name->size()) != 0 ||
      std::memcmp(data + kHeaderSize + name->size(), question.data() + kHeaderSize + name->size(),
                  4) != 0)
    return;
  auto owned = std::move(found->second);
  pending_.erase(found);
  inflight_.erase(owned->key);
  if (get16(data + 2) & flag::TC) {
    retryOverTcp(std::move(owned));
    return;
  }
  complete(*owned, data, size);
}

void Forwarder::complete(Request& request, const uint8_t* data, size_t size) {
  auto normalized = normalizeResponse(data, size);
  if (!normalized) {
    request.finish(nullptr);
    return;
  }
  cache_.insert(request.key, *normalized, Clock::now());
  request.finish(&*normalized);
}

void Forwarder::retryOverTcp(std::unique_ptr<Request> request) {
  {
    std::lock_guard lock(tcpMutex_);
    if (activeTcp_ >= 256) {
      request->finish(nullptr);
      return;
    }
    ++activeTcp_;
  }
  // Truncated answers are rare: one short-lived thread each, counted so
  // stop() waits for them.
  Request* raw = request.release();
  std::thread([this, raw] {
    std::unique_ptr<Request> owned(raw);
    struct Done {
      Forwarder* self;
      ~Done() {
        std::lock_guard lock(self->tcpMutex_);
        --self->activeTcp_;
        self->tcpDone_.notify_all();
      }
    } done{this};
    const Upstream& upstream = upstreams_[owned->upstream % upstreams_.size()];
    auto answer =
        tcpExchange(upstream, owned->wireQuery, Clock::now() + 2 * options_.attemptTimeout);
    if (!answer || answer->size() < kHeaderSize ||
        get16(reinterpret_cast<const uint8_t*>(answer->data())) !=
            get16(reinterpret_cast<const uint8_t*>(owned->wireQuery.data()))) {
      owned->finish(nullptr);
      return;
    }
    complete(*owned, reinterpret_cast<const uint8_t*>(answer->data()), answer->size());
  }).detach();
}

}  // namespace podnet::dns
