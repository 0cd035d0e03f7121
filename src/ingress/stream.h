// Byte buffers and the two kinds of non-blocking stream the proxy speaks:
// plain TCP and TLS (OpenSSL over the same socket). Both read until the
// socket is drained, as edge-triggered epoll needs.
#pragma once

#include <cstdint>
#include <string_view>

#include "ingress/buffer.h"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace podnet::ingress {

enum class IoState {
  progress,    // some bytes moved (maybe more can)
  wouldBlock,  // nothing now; epoll says when
  eof,         // the peer closed its side cleanly
  error,
};

// A connected socket, plain or TLS. The stream owns the descriptor.
class Stream {
 public:
  explicit Stream(int fd) : fd_(fd) {}
  virtual ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int fd() const { return fd_; }
  // Appends what can be read now to `in`, at most `max` bytes.
  virtual IoState read(Buffer& in, size_t max);
  // Writes what it can of `out`, consuming it.
  virtual IoState write(Buffer& out);
  // TLS: finishes the handshake (progress when done). Plain: progress.
  virtual IoState handshake() { return IoState::progress; }
  // After the handshake: the ALPN protocol ("h2", "http/1.1") or "".
  virtual std::string_view protocol() const { return {}; }
  virtual std::string_view serverName() const { return {}; }
  virtual bool secure() const { return false; }
  // Half-closes the sending side (plain TCP; TLS sends close_notify).
  virtual void shutdownWrite();
  // epoll reported the peer's FIN (EPOLLRDHUP): read() then reads on to
  // the end instead of stopping at a short read, as no new edge will come.
  void noteHangup() { hungUp_ = true; }
  // The last read() ended on a short read: the socket is empty, and new
  // bytes bring a new edge (callers skip the recv that would say EAGAIN).
  bool drained() const { return drained_; }
  // TLS: a read that must wait for the socket to be writable (or a write
  // for it to be readable), so the other direction's event resumes it.
  virtual bool readNeedsWritable() const { return false; }
  virtual bool writeNeedsReadable() const { return false; }

 protected:
  int fd_;
  bool hungUp_ = false;
  bool drained_ = false;
};

// What an epoll event means for a stream's readiness flags: input events
// make it readable, output events writable, and a TLS operation waiting for
// the other direction is resumed by that direction's event.
void noteEvents(Stream& stream, uint32_t events, bool& readable, bool& writable);

// A TLS server- or client-side stream over a connected socket.
class TlsStream : public Stream {
 public:
  // Takes ownership of `ssl` (already created from a context); `server`
  // selects accept or connect state.
  TlsStream(int fd, SSL* ssl, bool server);
  ~TlsStream() override;
  IoState read(Buffer& in, size_t max) override;
  IoState write(Buffer& out) override;
  IoState handshake() override;
  std::string_view protocol() const override;
  std::string_view serverName() const override;
  bool secure() const override { return true; }
  void shutdownWrite() override;
  bool readNeedsWritable() const override { return readWantsWrite_ || !handshakeDone_; }
  bool writeNeedsReadable() const override { return writeWantsRead_ || !handshakeDone_; }
  // The socket BIO's reads, observed: a short one means the socket is empty.
  void noteSocketRead(size_t asked, size_t got) { shortRead_ = got < asked; }

 private:
  IoState failure(int result, bool* wantsOther);
  SSL* ssl_;
  bool handshakeDone_ = false;
  bool readWantsWrite_ = false, writeWantsRead_ = false, shortRead_ = false;
};

}  // namespace podnet::ingress
