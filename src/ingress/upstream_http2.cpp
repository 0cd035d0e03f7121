#include "ingress/upstream_http2.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>

namespace podnet::ingress {

struct UpstreamHttp2Callbacks {
  static UpstreamHttp2& self(void* user) { return *static_cast<UpstreamHttp2*>(user); }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    UpstreamHttp2& u = self(user);
    if (frame->hd.stream_id == u.stream_) u.headers_.clear();
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t,
                      void* user) {
    UpstreamHttp2& u = self(user);
    if (frame->hd.stream_id != u.stream_) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), nameLength);
    std::string_view v(reinterpret_cast<const char*>(value), valueLength);
    if (n == ":status") {
      int status = 0;
      for (char c : v) status = status * 10 + (c - '0');
      u.status_ = status;
    } else if (n.empty() || n.front() != ':') {
      u.headers_.push_back({std::string(n), std::string(v)});
    }
    return 0;
  }

  static int onFrame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    UpstreamHttp2& u = self(user);
    if (frame->hd.stream_id != u.stream_ || frame->hd.type != NGHTTP2_HEADERS) return 0;
    bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (!u.headDelivered_) {
      if (u.status_ >= 100 && u.status_ < 200) return 0;  // interim
      u.headDelivered_ = true;
      u.sink_.onHttp2Head(u.status_, std::move(u.headers_), endStream);
    } else {
      u.sink_.onHttp2Trailers(std::move(u.headers_));
    }
    u.headers_.clear();
    return 0;
  }

  static int onData(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t length,
                    void* user) {
    UpstreamHttp2& u = self(user);
    if (id == u.stream_) u.sink_.onHttp2Data({reinterpret_cast<const char*>(data), length});
    return 0;
  }

  static int onClose(nghttp2_session*, int32_t id, uint32_t error, void* user) {
    UpstreamHttp2& u = self(user);
    if (id == u.stream_) u.sink_.onHttp2End(error);
    return 0;
  }

  static ssize_t read(nghttp2_session*, int32_t, uint8_t* buffer, size_t length, uint32_t* flags,
                      nghttp2_data_source* source, void*) {
    UpstreamHttp2& u = *static_cast<UpstreamHttp2*>(source->ptr);
    size_t n = std::min(length, u.body_.size());
    if (n > 0) {
      std::memcpy(buffer, u.body_.data(), n);
      u.body_.consume(n);
    }
    if (u.body_.empty() && u.bodyEnded_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return ssize_t(n);
    }
    if (n == 0) {
      u.deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return ssize_t(n);
  }
};

UpstreamHttp2::~UpstreamHttp2() {
  if (session_) nghttp2_session_del(session_);
}

bool UpstreamHttp2::start(const std::vector<http::Header>& headers, bool hasBody) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
                                                          UpstreamHttp2Callbacks::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, UpstreamHttp2Callbacks::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, UpstreamHttp2Callbacks::onFrame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            UpstreamHttp2Callbacks::onData);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks,
                                                         UpstreamHttp2Callbacks::onClose);
  int made = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (made != 0) return false;
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& h : headers)
    nva.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
                   h.value.size(), NGHTTP2_NV_FLAG_NONE});
  hasBody_ = hasBody;
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = UpstreamHttp2Callbacks::read;
  stream_ = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                   hasBody ? &provider : nullptr, nullptr);
  return stream_ > 0;
}

void UpstreamHttp2::body(std::string_view payload) {
  if (!hasBody_ || payload.empty()) return;
  body_.append(payload);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_, stream_);
  }
}

void UpstreamHttp2::endBody() {
  bodyEnded_ = true;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(session_, stream_);
  }
}

bool UpstreamHttp2::pump(Buffer& in, Buffer& out) {
  if (!session_) return false;
  if (!in.empty()) {
    ssize_t used =
        nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(in.data()), in.size());
    if (used < 0) return false;
    in.consume(size_t(used));
  }
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return false;
    if (n == 0) break;
    out.append({reinterpret_cast<const char*>(data), size_t(n)});
  }
  return true;
}

}  // namespace podnet::ingress
