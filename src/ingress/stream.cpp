#include "ingress/stream.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace podnet::ingress {

namespace {
constexpr size_t kReadChunk = 16384;
}

void noteEvents(Stream& stream, uint32_t events, bool& readable, bool& writable) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    readable = true;
    if (stream.writeNeedsReadable()) writable = true;
  }
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
    writable = true;
    if (stream.readNeedsWritable()) readable = true;
  }
  if (events & (EPOLLRDHUP | EPOLLHUP)) stream.noteHangup();
}

Stream::~Stream() {
  if (fd_ >= 0) ::close(fd_);
}

IoState Stream::read(Buffer& in, size_t max) {
  size_t total = 0;
  drained_ = false;
  while (total < max) {
    size_t want = std::min(kReadChunk, max - total);
    char* at = in.prepare(want);
    size_t room = std::min(in.room(), max - total);
    ssize_t n = ::recv(fd_, at, room, 0);
    if (n > 0) {
      in.commit(size_t(n));
      total += size_t(n);
      // A short read drained the socket: new bytes bring a new edge, so
      // the recv that would say EAGAIN is saved (not after a FIN).
      if (size_t(n) < room && !hungUp_) {
        drained_ = true;
        return IoState::progress;
      }
      continue;
    }
    if (n == 0) return total > 0 ? IoState::progress : IoState::eof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return total > 0 ? IoState::progress : IoState::wouldBlock;
    return total > 0 ? IoState::progress : IoState::error;
  }
  return IoState::progress;
}

IoState Stream::write(Buffer& out) {
  bool wrote = false;
  while (!out.empty()) {
    ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out.consume(size_t(n));
      wrote = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return wrote ? IoState::progress : IoState::wouldBlock;
    return IoState::error;
  }
  return IoState::progress;
}

void Stream::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

namespace {

// Sees every read of the socket BIO under a TLS stream.
long observeSocketRead(BIO* bio, int operation, const char*, size_t length, int, long, int result,
                       size_t* processed) {
  if (operation == (BIO_CB_READ | BIO_CB_RETURN)) {
    auto* stream = reinterpret_cast<TlsStream*>(BIO_get_callback_arg(bio));
    if (stream) stream->noteSocketRead(length, result > 0 && processed ? *processed : 0);
  }
  return result;
}

}  // namespace

TlsStream::TlsStream(int fd, SSL* ssl, bool server) : Stream(fd), ssl_(ssl) {
  SSL_set_fd(ssl_, fd);
  if (BIO* socket = SSL_get_rbio(ssl_)) {
    BIO_set_callback_arg(socket, reinterpret_cast<char*>(this));
    BIO_set_callback_ex(socket, observeSocketRead);
  }
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                         SSL_MODE_RELEASE_BUFFERS);
  if (server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

IoState TlsStream::failure(int result, bool* wantsOther) {
  int error = SSL_get_error(ssl_, result);
  ERR_clear_error();
  switch (error) {
    case SSL_ERROR_WANT_READ:
      if (wantsOther) *wantsOther = wantsOther == &writeWantsRead_;
      return IoState::wouldBlock;
    case SSL_ERROR_WANT_WRITE:
      if (wantsOther) *wantsOther = wantsOther == &readWantsWrite_;
      return IoState::wouldBlock;
    case SSL_ERROR_ZERO_RETURN:
      return IoState::eof;
    default:
      return IoState::error;
  }
}

IoState TlsStream::handshake() {
  if (handshakeDone_) return IoState::progress;
  int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    handshakeDone_ = true;
    return IoState::progress;
  }
  return failure(result, nullptr);
}

IoState TlsStream::read(Buffer& in, size_t max) {
  size_t total = 0;
  drained_ = false;
  readWantsWrite_ = false;
  shortRead_ = false;
  while (total < max) {
    char* at = in.prepare(std::min(kReadChunk, max - total));
    int room = int(std::min(in.room(), max - total));
    int n = SSL_read(ssl_, at, room);
    if (n > 0) {
      in.commit(size_t(n));
      total += size_t(n);
      // The socket gave less than asked and OpenSSL holds nothing more:
      // empty until the next edge (saves the read that would say EAGAIN).
      if (shortRead_ && !hungUp_ && SSL_has_pending(ssl_) == 0) {
        drained_ = true;
        return IoState::progress;
      }
      continue;
    }
    IoState state = failure(n, &readWantsWrite_);
    return total > 0 ? IoState::progress : state;
  }
  return IoState::progress;
}

IoState TlsStream::write(Buffer& out) {
  bool wrote = false;
  writeWantsRead_ = false;
  while (!out.empty()) {
    int n = SSL_write(ssl_, out.data(), int(std::min<size_t>(out.size(), 1 << 30)));
    if (n > 0) {
      out.consume(size_t(n));
      wrote = true;
      continue;
    }
    IoState state = failure(n, &writeWantsRead_);
    if (state == IoState::wouldBlock && wrote) return IoState::progress;
    return state == IoState::eof ? IoState::error : state;
  }
  return IoState::progress;
}

std::string_view TlsStream::protocol() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return {reinterpret_cast<const char*>(data), length};
}

std::string_view TlsStream::serverName() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

void TlsStream::shutdownWrite() {
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace podnet::ingress
