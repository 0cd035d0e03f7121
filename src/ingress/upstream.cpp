#include "ingress/upstream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/socket_address.h"

namespace podnet::ingress {

UpstreamConnection::UpstreamConnection(UpstreamPool& pool, const Endpoint& endpoint_, bool tls_)
    : endpoint(endpoint_), tls(tls_), pool_(pool) {}

UpstreamConnection::~UpstreamConnection() {
  if (stream) pool_.loop().remove(stream->fd());
}

void UpstreamConnection::onIo(uint32_t events) {
  noteEvents(*stream, events, readable, writable);
  if (user) {
    user->onUpstreamIo(*this, events);
    return;
  }
  // Idle. Room in the send buffer (an ACK's EPOLLOUT edge) says nothing;
  // an input event may be one collected before the last response was read.
  // Only a FIN, an error or bytes nobody asked for end an idle connection.
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  if (!(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    char byte;
    ssize_t n = ::recv(stream->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      readable = false;
      return;
    }
  }
  pool_.drop(this);
}

void UpstreamConnection::onDeadline() {
  if (!user) pool_.drop(this);  // idle too long
}

IoState UpstreamConnection::finishConnect() {
  if (connected) return IoState::progress;
  if (!writable) return IoState::wouldBlock;
  if (connectError_ == 0) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(stream->fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error == EINPROGRESS || error == EALREADY) {
      writable = false;
      return IoState::wouldBlock;
    }
    if (error != 0) {
      connectError_ = error;
      return IoState::error;
    }
    connectError_ = -1;  // TCP is up
  }
  if (connectError_ > 0) return IoState::error;
  IoState handshake = stream->handshake();
  if (handshake == IoState::progress) connected = true;
  if (handshake == IoState::wouldBlock) readable = writable = false;
  return handshake;
}

UpstreamPool::~UpstreamPool() {
  for (auto& [key, list] : idle_)
    for (UpstreamConnection* c : list) delete c;
  if (clientTls_) SSL_CTX_free(clientTls_);
}

size_t UpstreamPool::KeyHash::operator()(const Key& k) const {
  // FNV-1a over the address bytes, the port and the protocol.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t byte) { h = (h ^ byte) * 1099511628211ull; };
  for (size_t i = 0; i < (k.endpoint.ip.v6 ? 16u : 4u); ++i) mix(k.endpoint.ip.bytes[i]);
  mix(uint8_t(k.endpoint.port >> 8));
  mix(uint8_t(k.endpoint.port));
  mix(uint8_t(k.tls));
  return size_t(h);
}

UpstreamConnection* UpstreamPool::acquire(const Endpoint& endpoint, bool tls, UpstreamUser* user,
                                          void* tag, std::string& why, bool http2) {
  auto it = http2 ? idle_.end() : idle_.find(Key{endpoint, tls});
  if (it != idle_.end() && !it->second.empty()) {
    UpstreamConnection* c = it->second.back();
    it->second.pop_back();
    c->user = user;
    c->tag = tag;
    c->reused = true;
    c->deadline = 0;
    return c;
  }
  sockaddr_storage address{};
  socklen_t length = core::socketAddress(endpoint.ip, endpoint.port, address);
  bool v6 = endpoint.ip.v6;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    why = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto* c = new UpstreamConnection(*this, endpoint, tls);
  if (tls) {
    if (!clientTls_) {
      clientTls_ = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_verify(clientTls_, SSL_VERIFY_NONE, nullptr);
    }
    SSL* ssl = SSL_new(clientTls_);
    if (http2 && ssl) SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x02h2"), 3);
    c->stream = std::make_unique<TlsStream>(fd, ssl, false);
  } else {
    c->stream = std::make_unique<Stream>(fd);
  }
  c->user = user;
  c->tag = tag;
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), length);
  if (rc != 0 && errno != EINPROGRESS) {
    c->connectError_ = errno;
    c->writable = true;  // finishConnect reports the error at once
  }
  if (!loop_.add(fd, c)) {
    why = std::string("epoll: ") + std::strerror(errno);
    delete c;
    return nullptr;
  }
  return c;
}

void UpstreamPool::release(UpstreamConnection* c, bool reusable) {
  c->user = nullptr;
  c->tag = nullptr;
  if (reusable && c->connected && c->in.empty() && c->out.empty()) {
    auto& list = idle_[Key{c->endpoint, c->tls}];
    if (list.size() < idlePerEndpoint_) {
      c->in.shrink();
      c->out.shrink();
      c->deadline = loop_.now() + idleTimeoutMs_;
      list.push_back(c);
      return;
    }
  }
  loop_.retire(c);
}

void UpstreamPool::drop(UpstreamConnection* c) {
  auto it = idle_.find(Key{c->endpoint, c->tls});
  if (it != idle_.end()) {
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), c), list.end());
  }
  loop_.retire(c);
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace podnet::ingress
