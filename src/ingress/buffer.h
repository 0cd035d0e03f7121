// The byte buffer connections read into and write from.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace podnet::ingress {

// A growable byte buffer read from the front and written at the back.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view view() const { return {data_ + begin_, end_ - begin_}; }
  const char* data() const { return data_ + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ >= end_) begin_ = end_ = 0;
  }
  void clear() { begin_ = end_ = 0; }
  // Room for at least `n` more bytes at the back.
  char* prepare(size_t n);
  size_t room() const { return capacity_ - end_; }
  void commit(size_t n) { end_ += n; }
  void append(std::string_view bytes) {
    std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
    end_ += bytes.size();
  }
  // Frees the memory of an empty buffer (an idle connection keeps none).
  void shrink();

 private:
  char* data_ = nullptr;
  size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

}  // namespace podnet::ingress
