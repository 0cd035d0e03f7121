#include "ingress/buffer.h"

namespace podnet::ingress {

char* Buffer::prepare(size_t n) {
  if (capacity_ - end_ >= n) return data_ + end_;
  size_t used = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(data_, data_ + begin_, used);
    begin_ = 0;
    end_ = used;
    if (capacity_ - end_ >= n) return data_ + end_;
  }
  size_t capacity = capacity_ == 0 ? 4096 : capacity_ * 2;
  while (capacity - used < n) capacity *= 2;
  auto* grown = static_cast<char*>(std::realloc(data_, capacity));
  if (grown == nullptr) std::abort();  // out of memory: nothing sensible to do
  data_ = grown;
  capacity_ = capacity;
  return data_ + end_;
}

void Buffer::shrink() {
  if (!empty()) return;
  std::free(data_);
  data_ = nullptr;
  capacity_ = begin_ = end_ = 0;
}

}  // namespace podnet::ingress
