#include "controllers/workqueue.h"

#include <algorithm>

namespace podnet::controllers {

WorkQueue::WorkQueue(std::chrono::milliseconds baseDelay, std::chrono::milliseconds maxDelay)
    : baseDelay_(baseDelay), maxDelay_(maxDelay) {}

void WorkQueue::addLocked(const std::string& key) {
  if (shutDown_ || dirty_.count(key)) return;
  dirty_.insert(key);
  adds_.inc();
  // A key being processed is queued again by done(), never run twice at once.
  if (processing_.count(key)) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) return add(key);
  std::lock_guard lock(mutex_);
  if (shutDown_) return;
  delayed_.emplace(Clock::now() + delay, key);
  cv_.notify_all();
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mutex_);
    int n = failures_[key]++;
    retries_.inc();
    delay = baseDelay_ * (int64_t(1) << std::min(n, 20));
    if (delay > maxDelay_) delay = maxDelay_;
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promoteDueLocked(Clock::time_point now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::string key = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    addLocked(key);
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (shutDown_) return std::nullopt;
    promoteDueLocked(Clock::now());
    if (!queue_.empty()) break;
    if (delayed_.empty())
      cv_.wait(lock);
    else
      cv_.wait_until(lock, delayed_.begin()->first);
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  processing_.erase(key);
  if (dirty_.count(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mutex_);
  shutDown_ = true;
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mutex_);
  return shutDown_;
}

size_t WorkQueue::length() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace podnet::controllers
