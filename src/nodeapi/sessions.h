// Inside the node API (not for other components: it brings Boost.Beast):
// the streaming sessions the HTTP front end (node_api.cpp) hands a
// connection to once a request is routed and allowed.
#pragma once

#include <atomic>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "nodeapi/pods.h"
#include "runtime/container_log.h"

namespace podnet::nodeapi::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

// Everything a session needs from the server: its place in the session cap
// (released when the session is destroyed) and the idle timeout.
struct SessionContext {
  std::shared_ptr<void> ticket;
  std::chrono::seconds idleTimeout{4 * 3600};
};

// The request's streams, as kubelet's query names them (input, output,
// error, tty) or as the API's (stdin, stdout, stderr).
struct StreamOptions {
  bool in = false, out = false, err = false, tty = false;
};

struct ExecTarget {
  runtime::ProcessSpec process;  // argv: the command
  StreamOptions streams;
};

struct AttachTarget {
  std::string socket;  // the shim's
  StreamOptions streams;
};

// A Kubernetes Status as JSON, for errors in the format kubectl shows.
std::string statusJson(int code, const std::string& reason, const std::string& message);

// Answers an upgrade it will not make with a Status (400 BadRequest, 403
// Forbidden) and closes; `owner` is kept alive until the write is done.
void refuseUpgrade(TlsStream& stream, std::shared_ptr<void> owner, int code,
                   const std::string& message,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

// exec and attach over WebSocket (channel.k8s.io): the 101 is sent here.
void startExecSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                      ExecTarget target, SessionContext context);
void startAttachSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                        AttachTarget target, SessionContext context);

// Port-forward over SPDY/3.1, in WebSocket messages or on the raw
// connection (`request` says which).
void startPortForwardSession(TlsStream stream, beast::flat_buffer buffer, Request request,
                             std::string netnsPath, std::string podName, SessionContext context);

// The logs of one instance as a chunked text/plain response; with `follow`
// until `exitPath` says the container has ended.
void startLogSession(TlsStream stream, std::string logPath, runtime::LogOptions options,
                     bool follow, std::string exitPath, SessionContext context);

}  // namespace podnet::nodeapi::detail
