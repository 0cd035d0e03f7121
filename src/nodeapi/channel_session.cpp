// exec and attach over WebSocket, channel.k8s.io framing (v5, v4): binary
// messages whose first byte is the channel (0 stdin, 1 stdout, 2 stderr,
// 3 status, 4 resize; v5's [255, 0] closes stdin). A session ends with all
// output sent, then the status on channel 3, then a close with code 1000:
// kubectl reads the exit code from that status.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstring>
#include <deque>
#include <functional>

#include "nodeapi/sessions.h"
#include "runtime/container_shim.h"
#include "streaming/channel.h"
#include "streaming/spdy.h"

namespace podnet::nodeapi::detail {

namespace websocket = beast::websocket;
using Descriptor = asio::posix::stream_descriptor;

namespace {

constexpr size_t kReadChunk = 32 * 1024;
// After the program has ended, output still in the pipes is sent; a
// background process holding them open does not keep the session for long.
constexpr auto kDrainAfterExit = std::chrono::seconds(1);
constexpr auto kMinimumSession = std::chrono::milliseconds(200);

// The channel protocol the client offered that we speak, best first.
std::string chooseProtocol(std::string_view offered) {
  for (const char* protocol : {"v5.channel.k8s.io", "v4.channel.k8s.io"}) {
    size_t start = 0;
    while (start <= offered.size()) {
      size_t comma = offered.find(',', start);
      if (comma == std::string_view::npos) comma = offered.size();
      std::string_view item = offered.substr(start, comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == protocol) return protocol;
      start = comma + 1;
    }
  }
  return {};
}

// What the two sessions share: the client's transport, the queue of output
// to it, and the end. Two transports: WebSocket (channel.k8s.io v5/v4:
// one binary message per write, the channel in its first byte; the end is
// the status on channel 3, then a close with 1000) and SPDY/3.1 (kubectl's
// fallback and older kubectl: one stream per channel, opened by the client
// with a streamtype header; the end is FIN on the output streams, the status
// on the error stream, then GOAWAY).
class ChannelSession : public std::enable_shared_from_this<ChannelSession> {
 public:
  ChannelSession(TlsStream stream, SessionContext context, bool websocket)
      : context_(std::move(context)), websocket_(websocket), timer_(stream.get_executor()) {
    if (websocket_)
      ws_.emplace(std::move(stream));
    else
      raw_.emplace(std::move(stream));
  }
  virtual ~ChannelSession() = default;

  // Which streams the request asked for (exec's and attach's query).
  void setStreams(const StreamOptions& streams) { streams_ = streams; }

  void accept(Request request, beast::flat_buffer buffer) {
    request_ = std::move(request);
    if (!websocket_) return acceptSpdy(std::move(buffer));
    beast::string_view offered = request_[http::field::sec_websocket_protocol];
    protocol_ = chooseProtocol(std::string_view(offered.data(), offered.size()));
    if (protocol_.empty())
      return refuse(400,
                    "no supported stream protocol offered (want v5.channel.k8s.io or "
                    "v4.channel.k8s.io)");
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(30);
    timeout.idle_timeout = context_.idleTimeout;
    timeout.keep_alive_pings = true;
    ws_->set_option(timeout);
    ws_->binary(true);
    ws_->auto_fragment(false);  // a message is one frame, not 4 KiB pieces
    ws_->read_message_max(16 * 1024 * 1024);
    std::string protocol = protocol_;
    ws_->set_option(
        websocket::stream_base::decorator([protocol](websocket::response_type& response) {
          response.set(http::field::sec_websocket_protocol, protocol);
        }));
    // kubectl waits for the 101 before it sends: no bytes past the request.
    ws_->async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->startedAt_ = std::chrono::steady_clock::now();
      self->start();
    });
  }

 protected:
  virtual void start() = 0;
  // stdin bytes, resize and close-stdin from the client.
  virtual void onStdin(std::string data, std::function<void()> done) = 0;
  virtual void onResize(uint16_t width, uint16_t height) = 0;
  virtual void onCloseStdin() = 0;
  // The client is gone before the end.
  virtual void onAbort() = 0;

  asio::any_io_executor executor() { return timer_.get_executor(); }
  bool v5() const { return protocol_ == "v5.channel.k8s.io"; }

  // Reads what the client sends next (called once at start and after each
  // piece of stdin is delivered: a slow program slows the client).
  void readClient() {
    if (!websocket_) return resumeSpdy();
    ws_->async_read(in_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        if (!self->finishing_) self->onAbort();
        return;
      }
      std::string message = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      self->handleMessage(std::move(message));
    });
  }

  // Queues output to the client; `sent` runs once it is written (the reader
  // of the stream it came from goes on then: no unbounded queue).
  void send(streaming::Channel channel, std::string_view payload,
            std::function<void()> sent = nullptr) {
    if (websocket_) {
      queue_.push_back({streaming::encodeChannelMessage(channel, payload), std::move(sent)});
    } else {
      uint32_t stream = channel == streaming::Channel::stderrData ? stderrStream_ : stdoutStream_;
      std::string frames;
      if (stream != 0) codec_.data(frames, stream, payload);
      queue_.push_back({std::move(frames), std::move(sent)});
    }
    if (!writing_) writeNext();
  }

  // Sends the status and ends the session once everything queued is out.
  void finish(std::string status) {
    if (finishing_) return;
    finishing_ = true;
    if (websocket_) {
      queue_.push_back(
          {streaming::encodeChannelMessage(streaming::Channel::status, status), nullptr});
    } else {
      std::string frames;
      for (uint32_t stream : {stdoutStream_, stderrStream_})
        if (stream != 0) codec_.data(frames, stream, "", true);
      if (errorStream_ != 0) {
        // v4 carries the Status as JSON, Success included (as kubelet).
        codec_.data(frames, errorStream_, status);
        codec_.data(frames, errorStream_, "", true);
      }
      codec_.goAway(frames, lastStreamId_);
      queue_.push_back({std::move(frames), nullptr});
    }
    closeAfterQueue_ = true;
    if (!writing_) writeNext();
  }

  SessionContext context_;
  bool websocket_;
  std::optional<websocket::stream<TlsStream>> ws_;
  std::optional<TlsStream> raw_;
  asio::steady_timer timer_;
  Request request_;
  std::string protocol_;
  StreamOptions streams_;

 private:
  struct Outgoing {
    std::string message;
    std::function<void()> sent;
  };

  TlsStream& tls() { return websocket_ ? ws_->next_layer() : *raw_; }

  void refuse(int code, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    refuseUpgrade(tls(), shared_from_this(), code, message, headers);
  }

  // ---- WebSocket -------------------------------------------------------------

  void handleMessage(std::string message) {
    auto decoded = streaming::decodeChannelMessage(message, v5());
    if (!decoded) {
      // A malformed message ends the session with a protocol error.
      ws_->async_close(websocket::close_reason(websocket::close_code::protocol_error,
                                               decoded.error().message.substr(0, 100)),
                       [self = shared_from_this()](beast::error_code) { self->onAbort(); });
      return;
    }
    if (decoded->close) {
      if (decoded->channel == static_cast<uint8_t>(streaming::Channel::stdinData)) onCloseStdin();
      return readClient();
    }
    switch (decoded->channel) {
      case static_cast<uint8_t>(streaming::Channel::stdinData):
        return onStdin(std::string(decoded->payload),
                       [self = shared_from_this()] { self->readClient(); });
      case static_cast<uint8_t>(streaming::Channel::resize):
        if (auto size = streaming::decodeResize(decoded->payload))
          onResize(size->width, size->height);
        if (!sawResize_) {
          sawResize_ = true;
          // A close that was waiting for this size can go now.
          if (closeAfterQueue_ && queue_.empty()) timer_.cancel();
        }
        return readClient();
      default:
        return readClient();  // channels a client does not send: ignored
    }
  }

  // ---- SPDY ------------------------------------------------------------------

  void acceptSpdy(beast::flat_buffer buffer) {
    bool offered = false;
    for (const auto& field : request_)
      if (beast::iequals(field.name_string(), "X-Stream-Protocol-Version") &&
          field.value() == "v4.channel.k8s.io")
        offered = true;
    // kubelet speaks v4 down to v1 over SPDY; every kubectl since 1.5 offers v4.
    if (!offered)
      return refuse(403, "no supported stream protocol offered (want v4.channel.k8s.io)",
                    {{"X-Accepted-Stream-Protocol-Versions", "v4.channel.k8s.io"}});
    protocol_ = "v4.channel.k8s.io";
    spdyInput_ = beast::buffers_to_string(buffer.data());
    auto reply = std::make_shared<std::string>(
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n");
    auto self = shared_from_this();
    asio::async_write(*raw_, asio::buffer(*reply), [self, reply](beast::error_code ec, size_t) {
      if (ec) return;
      self->startedAt_ = std::chrono::steady_clock::now();
      // kubelet gives the client 30 s to open its streams.
      self->timer_.expires_after(std::chrono::seconds(30));
      self->timer_.async_wait([self](beast::error_code ec) {
        if (!ec && !self->started_) self->endSpdy();
      });
      self->spdyPaused_ = false;
      self->processSpdy();
      self->readSpdy();
    });
  }

  void readSpdy() {
    if (spdyReading_ || spdyEnded_) return;
    spdyReading_ = true;
    // Quiet for the idle timeout both ways: the session ends (as WebSocket's).
    beast::get_lowest_layer(*raw_).expires_after(context_.idleTimeout);
    raw_->async_read_some(asio::buffer(spdyChunk_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->spdyReading_ = false;
                            if (ec) {
                              if (!self->finishing_) self->onAbort();
                              return self->endSpdy();
                            }
                            self->spdyInput_.append(self->spdyChunk_, n);
                            self->processSpdy();
                            if (!self->spdyPaused_) self->readSpdy();
                          });
  }

  void resumeSpdy() {
    if (!spdyPaused_) return;
    spdyPaused_ = false;
    // Stdin taken at once (a terminal's program not started yet buffers it)
    // resumes from inside processSpdy: its loop goes on. Parsing again from
    // here would see the same frame, whose bytes are not consumed yet, and
    // recurse until the agent's stack overflows.
    if (processingSpdy_) return;
    processSpdy();
    if (!spdyPaused_) readSpdy();
  }

  // Handles complete frames until one is stdin for the program (then waits
  // for it to be delivered) or the input runs out.
  void processSpdy() {
    processingSpdy_ = true;
    size_t offset = 0;
    while (!spdyEnded_ && !spdyPaused_) {
      streaming::spdy::Frame frame;
      auto parsed = codec_.parse(std::string_view(spdyInput_).substr(offset), frame);
      if (parsed.outcome == streaming::spdy::Codec::Outcome::needMore) break;
      if (parsed.outcome == streaming::spdy::Codec::Outcome::error) {
        std::string out;
        codec_.goAway(out, lastStreamId_, streaming::spdy::kProtocolError);
        queue_.push_back({std::move(out), [self = shared_from_this()] { self->endSpdy(); }});
        if (!writing_) writeNext();
        if (!finishing_) onAbort();
        spdyInput_.clear();
        processingSpdy_ = false;
        return;
      }
      offset += parsed.consumed;
      handleSpdyFrame(frame);
    }
    spdyInput_.erase(0, offset);
    processingSpdy_ = false;
  }

  void handleSpdyFrame(streaming::spdy::Frame& frame) {
    using streaming::spdy::FrameType;
    switch (frame.type) {
      case FrameType::synStream: {
        lastStreamId_ = std::max(lastStreamId_, frame.streamId);
        std::string out;
        codec_.synReply(out, frame.streamId, {});
        queue_.push_back({std::move(out), nullptr});
        if (!writing_) writeNext();
        std::string_view type = streaming::spdy::headerValue(frame.headers, "streamtype");
        if (type == "error") errorStream_ = frame.streamId;
        if (type == "stdin") stdinStream_ = frame.streamId;
        if (type == "stdout") stdoutStream_ = frame.streamId;
        if (type == "stderr") stderrStream_ = frame.streamId;
        if (type == "resize") resizeStream_ = frame.streamId;
        if (frame.fin() && frame.streamId == stdinStream_) stdinEnded_ = true;
        // Runs once every stream the request asked for is open.
        bool ready = errorStream_ != 0 && (!streams_.in || stdinStream_ != 0) &&
                     (!streams_.out || stdoutStream_ != 0) &&
                     (!streams_.err || streams_.tty || stderrStream_ != 0) &&
                     (!streams_.tty || resizeStream_ != 0);
        if (ready && !started_) {
          started_ = true;
          timer_.cancel();
          start();
          if (earlySize_) onResize(earlySize_->width, earlySize_->height);
          if (stdinEnded_) onCloseStdin();
        }
        return;
      }
      case FrameType::data: {
        if (frame.streamId == stdinStream_ && stdinStream_ != 0) {
          bool fin = frame.fin();
          if (!frame.data.empty() && started_) {
            spdyPaused_ = true;
            onStdin(std::move(frame.data), [self = shared_from_this(), fin] {
              if (fin) self->onCloseStdin();
              self->resumeSpdy();
            });
            return;
          }
          if (fin) {
            stdinEnded_ = true;
            if (started_) onCloseStdin();
          }
        } else if (frame.streamId == resizeStream_ && resizeStream_ != 0) {
          // JSON objects, one per write; a size may straddle two frames.
          resizeInput_ += frame.data;
          size_t end;
          while ((end = resizeInput_.find('}')) != std::string::npos) {
            if (auto size = streaming::decodeResize(resizeInput_.substr(0, end + 1))) {
              // The first size may come before the last stream is open.
              if (started_)
                onResize(size->width, size->height);
              else
                earlySize_ = *size;
              sawResize_ = true;
            }
            resizeInput_.erase(0, end + 1);
          }
          if (resizeInput_.size() > 4096) resizeInput_.clear();
        }
        return;
      }
      case FrameType::ping: {
        std::string out;
        codec_.ping(out, frame.pingId);
        queue_.push_back({std::move(out), nullptr});
        if (!writing_) writeNext();
        return;
      }
      case FrameType::goAway:
        if (!finishing_) onAbort();
        return endSpdy();
      default:
        return;  // RST_STREAM of a stream, SETTINGS, WINDOW_UPDATE: nothing to do
    }
  }

  void endSpdy() {
    if (spdyEnded_) return;
    spdyEnded_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(*raw_).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(*raw_).close();
  }

  // ---- writing -------------------------------------------------------------

  void writeNext() {
    if (queue_.empty()) {
      writing_ = false;
      if (closeAfterQueue_) {
        closeAfterQueue_ = false;
        // With a terminal, kubectl writes its size just after the upgrade; a
        // session over at once (a program that had ended) waits for that
        // write (up to 200 ms), or kubectl logs "websocket: close sent".
        auto linger = startedAt_ + kMinimumSession - std::chrono::steady_clock::now();
        if (streams_.tty && !sawResize_ && linger > std::chrono::steady_clock::duration::zero()) {
          closeAfterQueue_ = true;
          writing_ = true;
          timer_.expires_after(linger);
          timer_.async_wait([self = shared_from_this()](beast::error_code) {
            self->writing_ = false;
            self->startedAt_ = {};
            self->writeNext();
          });
          return;
        }
        if (websocket_)
          ws_->async_close(websocket::close_code::normal,
                           [self = shared_from_this()](beast::error_code) {});
        else
          endSpdy();
      }
      return;
    }
    writing_ = true;
    auto done = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->queue_.clear();
        self->writing_ = false;
        if (!self->finishing_) self->onAbort();
        return;
      }
      std::function<void()> sent = std::move(self->queue_.front().sent);
      self->queue_.pop_front();
      if (sent) sent();
      self->writeNext();
    };
    if (websocket_)
      ws_->async_write(asio::buffer(queue_.front().message), done);
    else
      asio::async_write(*raw_, asio::buffer(queue_.front().message), done);
  }

  beast::flat_buffer in_;
  std::deque<Outgoing> queue_;
  bool writing_ = false;
  bool closeAfterQueue_ = false;
  std::chrono::steady_clock::time_point startedAt_{};
  bool sawResize_ = false;
  // SPDY
  streaming::spdy::Codec codec_;
  std::string spdyInput_;
  char spdyChunk_[kReadChunk];
  bool spdyReading_ = false, spdyPaused_ = true, spdyEnded_ = false, processingSpdy_ = false;
  bool started_ = false, stdinEnded_ = false;
  uint32_t lastStreamId_ = 0;
  uint32_t errorStream_ = 0, stdinStream_ = 0, stdoutStream_ = 0, stderrStream_ = 0,
           resizeStream_ = 0;
  std::string resizeInput_;
  std::optional<streaming::TerminalSize> earlySize_;

 protected:
  bool finishing_ = false;
};

// ---- exec ------------------------------------------------------------------

class ExecSession : public ChannelSession {
 public:
  ExecSession(TlsStream stream, ExecTarget target, SessionContext context, bool websocket)
      : ChannelSession(std::move(stream), std::move(context), websocket),
        target_(std::move(target)),
        sizeWait_(executor()) {
    setStreams(target_.streams);
  }

  ~ExecSession() override {
    if (pid_ > 0 && !exited_) {
      // The client went away: the command goes with it.
      ::kill(-pid_, SIGHUP);
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

 protected:
  void start() override {
    if (!target_.streams.tty || size_) return launch(true);
    // With a terminal, kubectl sends its size right after the upgrade; the
    // program starts once the terminal has it (or after 300 ms), so
    // `stty size` or a full-screen program never sees 0x0.
    readClient();
    auto self = std::static_pointer_cast<ExecSession>(shared_from_this());
    sizeWait_.expires_after(std::chrono::milliseconds(300));
    sizeWait_.async_wait([self](beast::error_code) { self->launch(false); });
  }

  void launch(bool thenReadClient) {
    if (launched_ || aborted_) return;
    launched_ = true;
    auto spawned = spawn();
    if (!spawned) {
      exited_ = true;
      return finish(streaming::failureStatusJson(
          "error executing command in container: failed to exec in container: " +
          spawned.error().message));
    }
    if (size_) onResize(size_->first, size_->second);
    if (!pendingStdin_.empty()) {
      auto buffer = std::make_shared<std::string>(std::move(pendingStdin_));
      asio::async_write(*terminal_, asio::buffer(*buffer), [buffer](beast::error_code, size_t) {});
    }
    if (stdinClosed_) {
      stdinClosed_ = false;
      onCloseStdin();
    }
    auto self = std::static_pointer_cast<ExecSession>(shared_from_this());
    if (terminal_) {
      ++openOutputs_;
      readOutput(*terminal_, streaming::Channel::stdoutData);
    }
    if (stdout_) {
      ++openOutputs_;
      readOutput(*stdout_, streaming::Channel::stdoutData);
    }
    if (stderr_) {
      ++openOutputs_;
      readOutput(*stderr_, streaming::Channel::stderrData);
    }
    if (pidfd_)
      pidfd_->async_wait(Descriptor::wait_read, [self](beast::error_code ec) {
        if (!ec) self->reap();
      });
    if (thenReadClient) readClient();
  }

  void onStdin(std::string data, std::function<void()> done) override {
    if (!launched_ && target_.streams.tty) {
      // Typed before the program started: it gets it first.
      if (pendingStdin_.size() < (1 << 20)) pendingStdin_ += data;
      return done();
    }
    Descriptor* input = terminal_ ? &*terminal_ : stdin_ ? &*stdin_ : nullptr;
    if (!input || !input->is_open() || stdinClosed_) return done();
    auto buffer = std::make_shared<std::string>(std::move(data));
    asio::async_write(*input, asio::buffer(*buffer),
                      [buffer, done = std::move(done)](beast::error_code, size_t) { done(); });
  }

  void onResize(uint16_t width, uint16_t height) override {
    size_ = {width, height};
    if (!terminal_) {
      if (!launched_) sizeWait_.cancel();  // the waiting program may start now
      return;
    }
    winsize size{};
    size.ws_col = width;
    size.ws_row = height;
    ::ioctl(terminal_->native_handle(), TIOCSWINSZ, &size);
  }

  void onCloseStdin() override {
    stdinClosed_ = true;
    if (!launched_) return;  // done once the program runs
    if (stdin_) {
      beast::error_code ignored;
      stdin_->close(ignored);
    } else if (terminal_) {
      // A terminal has no half-close: end-of-file is the EOF character.
      static const char eof = '\x04';
      beast::error_code ignored;
      asio::write(*terminal_, asio::buffer(&eof, 1), ignored);
    }
  }

  void onAbort() override {
    aborted_ = true;
    sizeWait_.cancel();
    closeAll();
  }

 private:
  core::Status spawn() {
    runtime::ProcessSpec& process = target_.process;
    const StreamOptions& streams = target_.streams;
    int childIn = -1, childOut = -1, childErr = -1;
    auto closeLater = [this](int fd) {
      if (fd >= 0) childEnds_.push_back(fd);
    };
    int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    closeLater(devNull);
    if (streams.tty) {
      int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
      char name[128];
      if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0 ||
          ::ptsname_r(master, name, sizeof name) != 0) {
        if (master >= 0) ::close(master);
        closeChildEnds();
        return core::internal("cannot allocate a terminal");
      }
      int replica = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
      closeLater(replica);
      terminal_.emplace(executor(), master);
      childIn = childOut = childErr = replica;
      process.controllingTerminal = true;
      process.newSession = true;
      if (!streams.in) childIn = devNull;
    } else {
      int pipes[3][2];
      for (int i = 0; i < 3; ++i)
        if (::pipe2(pipes[i], O_CLOEXEC) != 0) {
          closeChildEnds();
          return core::internal("pipe failed");
        }
      if (streams.in) {
        childIn = pipes[0][0];
        stdin_.emplace(executor(), pipes[0][1]);
      } else {
        ::close(pipes[0][1]);
        childIn = devNull;
      }
      closeLater(pipes[0][0]);
      if (streams.out) {
        childOut = pipes[1][1];
        stdout_.emplace(executor(), pipes[1][0]);
      } else {
        ::close(pipes[1][0]);
        childOut = devNull;
      }
      closeLater(pipes[1][1]);
      if (streams.err) {
        childErr = pipes[2][1];
        stderr_.emplace(executor(), pipes[2][0]);
      } else {
        ::close(pipes[2][0]);
        childErr = devNull;
      }
      closeLater(pipes[2][1]);
    }
    process.stdinFd = childIn;
    process.stdoutFd = childOut;
    process.stderrFd = childErr;
    if (!process.controllingTerminal) process.newSession = true;
    auto started = runtime::spawnInPod(process);
    closeChildEnds();
    if (!started) return started.takeError();
    pid_ = *started;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd >= 0) pidfd_.emplace(executor(), pidfd);
    return core::Ok{};
  }

  void closeChildEnds() {
    for (int fd : childEnds_) ::close(fd);
    childEnds_.clear();
  }

  void readOutput(Descriptor& descriptor, streaming::Channel channel) {
    auto self = std::static_pointer_cast<ExecSession>(shared_from_this());
    auto buffer = std::make_shared<std::string>(kReadChunk, '\0');
    descriptor.async_read_some(asio::buffer(*buffer), [self, buffer, &descriptor, channel](
                                                          beast::error_code ec, size_t n) {
      if (ec) {
        // EOF, or EIO from a terminal whose program is gone.
        --self->openOutputs_;
        return self->maybeFinish();
      }
      self->send(channel, std::string_view(*buffer).substr(0, n), [self, &descriptor, channel] {
        if (descriptor.is_open()) self->readOutput(descriptor, channel);
      });
    });
  }

  void reap() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) {
      // Not yet (spurious wake-up): wait again.
      auto self = std::static_pointer_cast<ExecSession>(shared_from_this());
      pidfd_->async_wait(Descriptor::wait_read, [self](beast::error_code ec) {
        if (!ec) self->reap();
      });
      return;
    }
    exited_ = true;
    exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    auto self = std::static_pointer_cast<ExecSession>(shared_from_this());
    timer_.expires_after(kDrainAfterExit);
    timer_.async_wait([self](beast::error_code ec) {
      if (!ec) self->end();
    });
    maybeFinish();
  }

  void maybeFinish() {
    if (exited_ && openOutputs_ <= 0) end();
    if (!pidfd_ && openOutputs_ <= 0 && !exited_) {
      // No pidfd (old kernel): wait for the process once its output is done.
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) {
        exited_ = true;
        exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      end();
    }
  }

  void end() {
    if (finishing_) return;
    timer_.cancel();
    closeAll();
    finish(streaming::exitStatusJson(exitCode_, target_.process.argv));
  }

  void closeAll() {
    beast::error_code ignored;
    for (auto* descriptor : {&stdin_, &stdout_, &stderr_, &terminal_, &pidfd_})
      if (*descriptor && (*descriptor)->is_open()) (*descriptor)->close(ignored);
  }

  ExecTarget target_;
  std::vector<int> childEnds_;
  std::optional<Descriptor> stdin_, stdout_, stderr_, terminal_, pidfd_;
  pid_t pid_ = 0;
  bool exited_ = false;
  int exitCode_ = 0;
  int openOutputs_ = 0;
  bool stdinClosed_ = false;
  // A terminal's program waits for the client's size (see start()).
  asio::steady_timer sizeWait_;
  bool launched_ = false, aborted_ = false;
  std::optional<std::pair<uint16_t, uint16_t>> size_;
  std::string pendingStdin_;
};

// ---- attach ----------------------------------------------------------------

class AttachSession : public ChannelSession {
 public:
  AttachSession(TlsStream stream, AttachTarget target, SessionContext context, bool websocket)
      : ChannelSession(std::move(stream), std::move(context), websocket),
        target_(std::move(target)),
        shim_(executor()) {
    setStreams(target_.streams);
  }

 protected:
  void start() override {
    auto self = std::static_pointer_cast<AttachSession>(shared_from_this());
    shim_.async_connect(
        asio::local::stream_protocol::endpoint(target_.socket), [self](beast::error_code ec) {
          if (ec)
            return self->finish(
                streaming::failureStatusJson("cannot attach to the container: " + ec.message()));
          self->readShim();
          self->readClient();
        });
  }

  void onStdin(std::string data, std::function<void()> done) override {
    if (!target_.streams.in) return done();
    sendShim(runtime::AttachStream::stdinData, data, std::move(done));
  }

  void onResize(uint16_t width, uint16_t height) override {
    if (!target_.streams.tty) return;
    sendShim(runtime::AttachStream::resize, std::to_string(width) + " " + std::to_string(height),
             nullptr);
  }

  void onCloseStdin() override {
    if (target_.streams.in) sendShim(runtime::AttachStream::closeStdin, "", nullptr);
  }

  void onAbort() override {
    beast::error_code ignored;
    shim_.close(ignored);
  }

 private:
  void sendShim(runtime::AttachStream stream, std::string_view payload,
                std::function<void()> done) {
    auto frame = std::make_shared<std::string>();
    runtime::appendAttachFrame(*frame, stream, payload);
    toShim_.push_back({frame, std::move(done)});
    if (toShim_.size() == 1) writeShim();
  }

  void writeShim() {
    if (toShim_.empty()) return;
    auto self = std::static_pointer_cast<AttachSession>(shared_from_this());
    asio::async_write(shim_, asio::buffer(*toShim_.front().first),
                      [self](beast::error_code, size_t) {
                        auto done = std::move(self->toShim_.front().second);
                        self->toShim_.pop_front();
                        if (done) done();
                        self->writeShim();
                      });
  }

  void readShim() {
    auto self = std::static_pointer_cast<AttachSession>(shared_from_this());
    shim_.async_read_some(asio::buffer(chunk_), [self](beast::error_code ec, size_t n) {
      if (ec) {
        // The shim closes every attach connection when the program ends.
        return self->finish(streaming::exitStatusJson(0, {}));
      }
      self->fromShim_.append(self->chunk_, n);
      self->forward();
    });
  }

  // Sends the complete frames read from the shim; reads on once they are out.
  void forward() {
    size_t offset = 0;
    size_t sent = 0;
    auto self = std::static_pointer_cast<AttachSession>(shared_from_this());
    auto pending = std::make_shared<size_t>(0);
    while (true) {
      runtime::AttachStream stream;
      std::string_view payload;
      long size = runtime::parseAttachFrame(std::string_view(fromShim_).substr(offset), stream,
                                            payload, 16 * 1024 * 1024);
      if (size <= 0) break;
      offset += static_cast<size_t>(size);
      bool wanted = (stream == runtime::AttachStream::stdoutData && target_.streams.out) ||
                    (stream == runtime::AttachStream::stderrData && target_.streams.err);
      if (!wanted) continue;
      ++*pending;
      ++sent;
      send(stream == runtime::AttachStream::stdoutData ? streaming::Channel::stdoutData
                                                       : streaming::Channel::stderrData,
           payload, [self, pending] {
             if (--*pending == 0) self->readShim();
           });
    }
    fromShim_.erase(0, offset);
    if (sent == 0) readShim();
  }

  AttachTarget target_;
  asio::local::stream_protocol::socket shim_;
  char chunk_[kReadChunk];
  std::string fromShim_;
  std::deque<std::pair<std::shared_ptr<std::string>, std::function<void()>>> toShim_;
};

}  // namespace

void startExecSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                      ExecTarget target, SessionContext context) {
  bool websocket = websocket::is_upgrade(request);
  std::make_shared<ExecSession>(std::move(stream), std::move(target), std::move(context), websocket)
      ->accept(std::move(request), std::move(buffer));
}

void startAttachSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                        AttachTarget target, SessionContext context) {
  bool websocket = websocket::is_upgrade(request);
  std::make_shared<AttachSession>(std::move(stream), std::move(target), std::move(context),
                                  websocket)
      ->accept(std::move(request), std::move(buffer));
}

}  // namespace podnet::nodeapi::detail
