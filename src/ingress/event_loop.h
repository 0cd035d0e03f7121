// One proxy thread's event loop: edge-triggered epoll over the descriptors
// of the connections it owns, coarse deadlines (checked four times a
// second: proxy timeouts are seconds), and tasks other threads post.
// Nothing here is shared between threads except post() and stop().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace podnet::ingress {

class EventLoop;

// What owns a descriptor in the loop (a client or an upstream connection).
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events`: EPOLLIN / EPOLLOUT / EPOLLRDHUP / EPOLLHUP / EPOLLERR bits.
  virtual void onIo(uint32_t events) = 0;
  // Called once the deadline (loop milliseconds, 0 = none) has passed.
  virtual void onDeadline() {}

  uint64_t deadline = 0;

 private:
  friend class EventLoop;
  size_t slot_ = SIZE_MAX;  // index in the loop's registry
  bool retired_ = false;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for input and output, edge-triggered, for `handler`
  // (which the loop does not own). False if epoll refused it.
  bool add(int fd, IoHandler* handler);
  // Stops watching `fd` (closing it does too; call before handing the
  // descriptor to another handler).
  void remove(int fd);
  // Ends `handler`'s life at the end of this iteration (events already
  // collected for it are dropped). The loop deletes it.
  void retire(IoHandler* handler);
  // Makes `handler` take part in deadline checks (add() does this).
  void track(IoHandler* handler);

  // Milliseconds on the monotonic clock, read once per iteration.
  uint64_t now() const { return now_; }

  // Runs `task` on the loop's thread (thread-safe).
  void post(std::function<void()> task);
  // Runs until stop() (thread-safe).
  void run();
  void stop();

 private:
  void untrack(IoHandler* handler);
  void checkDeadlines();
  void runPosted();
  void refreshClock();

  int epoll_ = -1;
  int wake_ = -1;  // eventfd
  uint64_t now_ = 0;
  uint64_t nextDeadlineCheck_ = 0;
  std::vector<IoHandler*> tracked_;
  std::vector<IoHandler*> retired_;
  std::mutex postedMutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;  // under postedMutex_
};

}  // namespace podnet::ingress
