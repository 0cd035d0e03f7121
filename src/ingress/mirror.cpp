#include "ingress/mirror.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/socket_address.h"

namespace podnet::ingress {

namespace {

class MirrorRequest : public IoHandler {
 public:
  MirrorRequest(EventLoop& loop, int fd, std::string request)
      : loop_(loop), fd_(fd), out_(std::move(request)) {}
  ~MirrorRequest() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void onIo(uint32_t events) override {
    if (done_) return;
    if (!connected_) {
      int error = 0;
      socklen_t length = sizeof error;
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error != 0) return finish();
      if (!(events & EPOLLOUT)) return;
      connected_ = true;
    }
    while (sent_ < out_.size()) {
      ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += size_t(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      return finish();
    }
    // The answer is read and dropped until the backend closes or it has
    // come (a Content-Length or chunked body is not parsed: the deadline
    // ends a kept-alive connection).
    char buffer[16384];
    while (true) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      return finish();
    }
  }
  void onDeadline() override { finish(); }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    loop_.remove(fd_);
    loop_.retire(this);
  }
  EventLoop& loop_;
  int fd_;
  std::string out_;
  size_t sent_ = 0;
  bool connected_ = false, done_ = false;
};

}  // namespace

void sendMirror(EventLoop& loop, const Endpoint& endpoint, std::string request,
                uint64_t timeoutMs) {
  sockaddr_storage address{};
  socklen_t length = core::socketAddress(endpoint.ip, endpoint.port, address);
  int fd =
      ::socket(endpoint.ip.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return;
  }
  auto* mirror = new MirrorRequest(loop, fd, std::move(request));
  if (!loop.add(fd, mirror)) {
    delete mirror;
    return;
  }
  mirror->deadline = loop.now() + timeoutMs;
}

}  // namespace podnet::ingress
