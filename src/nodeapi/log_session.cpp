// GET /containerLogs: the log as chunked text/plain, flushed as it is read;
// with follow, polled until the container has ended (kubelet rechecks every
// second; 100 ms here, so `kubectl logs -f` shows a line almost as it is
// written) and everything it wrote has been sent.
#include <sys/stat.h>

#include <boost/asio/steady_timer.hpp>
#include <cstdio>

#include "nodeapi/sessions.h"

namespace podnet::nodeapi::detail {

namespace {

constexpr auto kFollowPoll = std::chrono::milliseconds(100);
constexpr size_t kMaxChunk = 256 * 1024;

bool fileExists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

class LogSession : public std::enable_shared_from_this<LogSession> {
 public:
  LogSession(TlsStream stream, std::string logPath, runtime::LogOptions options, bool follow,
             std::string exitPath, SessionContext context)
      : stream_(std::move(stream)),
        reader_(std::move(logPath), std::move(options)),
        follow_(follow),
        exitPath_(std::move(exitPath)),
        context_(std::move(context)),
        timer_(stream_.get_executor()) {}

  void run() {
    std::string head =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain\r\n"
        "Cache-Control: no-cache, private\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n";
    write(std::move(head));
    // A read stays pending so a client that goes away ends a quiet follow.
    watchClient();
  }

 private:
  void watchClient() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                self->gone_ = true;
                                self->timer_.cancel();
                                return;
                              }
                              self->watchClient();
                            });
  }

  void write(std::string data) {
    out_ = std::move(data);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || self->gone_) return;
                        beast::get_lowest_layer(self->stream_).expires_never();
                        if (self->finished_) return self->close();
                        self->step();
                      });
  }

  void step() {
    // Whether the container had ended before this read: then what the read
    // finds is all there will ever be.
    bool ended = !follow_ || fileExists(exitPath_);
    std::string text;
    bool more = reader_.next(text);
    if (!text.empty()) {
      // Big reads (a whole log) go out in pieces, so memory stays bounded
      // by the chunk, not by the log.
      pending_ += text;
    }
    if (!pending_.empty()) {
      size_t size = std::min(pending_.size(), kMaxChunk);
      char length[32];
      std::snprintf(length, sizeof length, "%zx\r\n", size);
      std::string chunk = length;
      chunk.append(pending_, 0, size);
      chunk += "\r\n";
      pending_.erase(0, size);
      if (pending_.empty() && (!more || ended)) {
        chunk += "0\r\n\r\n";
        finished_ = true;
      }
      return write(std::move(chunk));
    }
    if (!more || ended) {
      finished_ = true;
      return write("0\r\n\r\n");
    }
    timer_.expires_after(kFollowPoll);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->gone_) return;
      self->step();
    });
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::get_lowest_layer(self->stream_).close();
    });
  }

  TlsStream stream_;
  runtime::LogReader reader_;
  bool follow_;
  std::string exitPath_;
  SessionContext context_;
  asio::steady_timer timer_;
  std::string out_, pending_;
  char discard_[512];
  bool gone_ = false, finished_ = false;
};

}  // namespace

void startLogSession(TlsStream stream, std::string logPath, runtime::LogOptions options,
                     bool follow, std::string exitPath, SessionContext context) {
  std::make_shared<LogSession>(std::move(stream), std::move(logPath), std::move(options), follow,
                               std::move(exitPath), std::move(context))
      ->run();
}

}  // namespace podnet::nodeapi::detail
