#include "ingress/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace podnet::ingress {

namespace {

constexpr uint64_t kDeadlineCheckMs = 250;
constexpr int kMaxEvents = 256;

}  // namespace

EventLoop::EventLoop() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up descriptor
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  refreshClock();
}

EventLoop::~EventLoop() {
  for (IoHandler* h : retired_) delete h;
  if (wake_ >= 0) ::close(wake_);
  if (epoll_ >= 0) ::close(epoll_);
}

void EventLoop::refreshClock() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  now_ = static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

bool EventLoop::add(int fd, IoHandler* handler) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  track(handler);
  return true;
}

void EventLoop::remove(int fd) { ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::track(IoHandler* handler) {
  if (handler->slot_ != SIZE_MAX) return;
  handler->slot_ = tracked_.size();
  tracked_.push_back(handler);
}

void EventLoop::untrack(IoHandler* handler) {
  if (handler->slot_ == SIZE_MAX) return;
  IoHandler* last = tracked_.back();
  tracked_[handler->slot_] = last;
  last->slot_ = handler->slot_;
  tracked_.pop_back();
  handler->slot_ = SIZE_MAX;
}

void EventLoop::retire(IoHandler* handler) {
  if (handler->retired_) return;
  handler->retired_ = true;
  untrack(handler);
  retired_.push_back(handler);
}

void EventLoop::post(std::function<void()> task) {
  {
    std::lock_guard lock(postedMutex_);
    posted_.push_back(std::move(task));
  }
  uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);
}

void EventLoop::stop() {
  {
    std::lock_guard lock(postedMutex_);
    stopping_ = true;
  }
  uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);
}

void EventLoop::runPosted() {
  uint64_t count;
  while (::read(wake_, &count, sizeof count) > 0) {
  }
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(postedMutex_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void EventLoop::checkDeadlines() {
  nextDeadlineCheck_ = now_ + kDeadlineCheckMs;
  // Callbacks may retire handlers (which reorders tracked_), so collect first.
  std::vector<IoHandler*> due;
  for (IoHandler* h : tracked_)
    if (h->deadline != 0 && h->deadline <= now_) due.push_back(h);
  for (IoHandler* h : due)
    if (!h->retired_ && h->deadline != 0 && h->deadline <= now_) {
      h->deadline = 0;
      h->onDeadline();
    }
}

void EventLoop::run() {
  epoll_event events[kMaxEvents];
  while (true) {
    {
      std::lock_guard lock(postedMutex_);
      if (stopping_) break;
    }
    int timeout = static_cast<int>(kDeadlineCheckMs);
    int n = ::epoll_wait(epoll_, events, kMaxEvents, timeout);
    refreshClock();
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        runPosted();
        continue;
      }
      if (!handler->retired_) handler->onIo(events[i].events);
    }
    if (now_ >= nextDeadlineCheck_) checkDeadlines();
    for (IoHandler* h : retired_) delete h;
    retired_.clear();
  }
  // Whatever was posted last still runs (it may release resources).
  runPosted();
  for (IoHandler* h : retired_) delete h;
  retired_.clear();
}

}  // namespace podnet::ingress
