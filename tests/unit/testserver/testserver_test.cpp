// The test server: the pure HTTP/UDP layer, then the real server over loopback.
#include "testserver/testserver.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "testserver/http.h"
#include "testserver/server.h"

namespace podnet::testserver {
namespace {

const Identity kSelf{"pod-a", "10.244.1.5"};
const PeerInfo kPeer{"10.244.2.7:40000", 8080};

Request parseOk(std::string_view text) {
  ParseResult r = parseHttpRequest(text);
  EXPECT_EQ(r.state, ParseState::complete) << r.error;
  return r.request;
}

HttpReply get(std::string_view target, std::string_view extraHeaders = "") {
  return answerHttp(parseOk("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" +
                            std::string(extraHeaders) + "\r\n"),
                    kSelf, kPeer);
}

TEST(Sniff, KnownMethodThenSpace) {
  EXPECT_EQ(sniffHttp("GET /"), Sniff::http);
  EXPECT_EQ(sniffHttp("POST "), Sniff::http);
  EXPECT_EQ(sniffHttp("GE"), Sniff::needMore);
  EXPECT_EQ(sniffHttp("GET"), Sniff::needMore);
  EXPECT_EQ(sniffHttp(""), Sniff::needMore);
  EXPECT_EQ(sniffHttp("hello\n"), Sniff::other);
  EXPECT_EQ(sniffHttp("GETX"), Sniff::other);
  EXPECT_EQ(sniffHttp("get /"), Sniff::other);
}

TEST(Parse, RequestLineHeadersAndQuery) {
  ParseResult r =
      parseHttpRequest("GET /echo?msg=a%20b HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\nNEXT");
  ASSERT_EQ(r.state, ParseState::complete);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/echo");
  EXPECT_EQ(r.request.query, "msg=a%20b");
  EXPECT_EQ(r.request.header("x-a"), "v");
  EXPECT_TRUE(r.request.keepAlive);
  EXPECT_EQ(r.consumed,
            std::string_view("GET /echo?msg=a%20b HTTP/1.1\r\nHost: x\r\nX-A:  v \r\n\r\n").size());
}

TEST(Parse, IncompleteBodyAndBareLf) {
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nHost: x\r\n").state, ParseState::incomplete);
  EXPECT_EQ(parseHttpRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").state,
            ParseState::incomplete);
  ParseResult r = parseHttpRequest("POST /echo HTTP/1.1\nContent-Length: 5\n\nhello");
  ASSERT_EQ(r.state, ParseState::complete);
  EXPECT_EQ(r.request.body, "hello");
  EXPECT_EQ(answerHttp(r.request, kSelf, kPeer).body, "hello");
}

TEST(Parse, Persistence) {
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keepAlive);
  EXPECT_FALSE(parseOk("GET / HTTP/1.0\r\n\r\n").keepAlive);
  EXPECT_TRUE(parseOk("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive);
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nConnection: te, Close\r\n\r\n").keepAlive);
}

TEST(Parse, AbsoluteFormTarget) {
  Request r = parseOk("GET http://svc.default:80/hostname?x=1 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.path, "/hostname");
  EXPECT_EQ(r.query, "x=1");
  EXPECT_EQ(parseOk("GET http://svc HTTP/1.1\r\n\r\n").path, "/");
}

TEST(Parse, Malformed) {
  for (std::string_view bad : {
           "GET\r\n\r\n",
           "GET / \r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
           "GET / HTTP/2.0x\r\n\r\n",
           "GET / FOO/1.1\r\n\r\n",
           "G(T / HTTP/1.1\r\n\r\n",
           "GET noslash HTTP/1.1\r\n\r\n",
           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
           "GET / HTTP/1.1\r\n: empty\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
       }) {
    ParseResult r = parseHttpRequest(bad);
    EXPECT_EQ(r.state, ParseState::malformed) << bad;
    HttpReply reply = malformedReply(r);
    EXPECT_GE(reply.status, 400) << bad;
    EXPECT_TRUE(reply.close);
  }
  EXPECT_EQ(parseHttpRequest("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").errorStatus,
            501);
  EXPECT_EQ(
      parseHttpRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").errorStatus,
      400);
  {
    std::string chunked =
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: "
        "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET";
    EXPECT_EQ(parseHttpRequest(chunked.substr(0, chunked.size() - 10)).state,
              ParseState::incomplete);
    auto whole = parseHttpRequest(chunked);
    ASSERT_EQ(whole.state, ParseState::complete);
    EXPECT_EQ(whole.request.body, "abcde");
    EXPECT_EQ(whole.consumed, chunked.size() - 3);
  }
  EXPECT_EQ(parseHttpRequest("GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n").errorStatus,
            413);
  std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeadBytes, 'a');
  EXPECT_EQ(parseHttpRequest(huge).errorStatus, 431);
}

TEST(Answer, Endpoints) {
  EXPECT_EQ(get("/").body, "pod-a\n");
  EXPECT_EQ(get("/hostname").body, "pod-a");
  EXPECT_EQ(get("/clientip").body, "10.244.2.7:40000");
  EXPECT_EQ(get("/healthz").body, "ok");
  EXPECT_EQ(get("/echo?msg=hello+big%20world%21").body, "hello big world!");
  EXPECT_EQ(get("/echo?a=1&msg=x&msg=y").body, "x");
  EXPECT_EQ(get("/echo?msg=%zz").status, 400);
  // Any other path: a reflection of the request.
  HttpReply reflected = get("/nope/x?a=1");
  EXPECT_EQ(reflected.status, 200);
  auto seen = nlohmann::json::parse(reflected.body);
  EXPECT_EQ(seen["path"], "/nope/x");
  EXPECT_EQ(seen["query"], "a=1");
  EXPECT_EQ(seen["method"], "GET");
  EXPECT_EQ(seen["name"], "pod-a");
  EXPECT_EQ(get("/hostname/").contentType, "application/json");
  EXPECT_EQ(get("/status/503").status, 503);
  EXPECT_EQ(get("/status/99").contentType, "application/json");  // not a status: reflected
  EXPECT_EQ(get("/delay/250").delayMs, 250);
  EXPECT_EQ(get("/delay/999999").delayMs, 60000);
  HttpReply info = get("/info");
  EXPECT_EQ(info.contentType, "application/json");
  auto json = nlohmann::json::parse(info.body);
  EXPECT_EQ(json["name"], "pod-a");
  EXPECT_EQ(json["ip"], "10.244.1.5");
  EXPECT_EQ(json["client"], "10.244.2.7:40000");
  EXPECT_EQ(json["port"], 8080);
  EXPECT_TRUE(get("/", "Connection: close\r\n").close);
}

TEST(Answer, Serialize) {
  HttpReply r = get("/hostname");
  EXPECT_EQ(serializeReply(r),
            "HTTP/1.1 200 OK\r\nServer: podnet-testserver\r\nContent-Type: text/plain; "
            "charset=utf-8\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\npod-a");
  EXPECT_EQ(serializeReply(r, "Date: Sun, 06 Dec 2026 22:00:00 GMT\r\n")
                .rfind("HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 22:00:00 GMT\r\nServer: ", 0),
            0u);
  HttpReply head = answerHttp(parseOk("HEAD /hostname HTTP/1.1\r\n\r\n"), kSelf, kPeer);
  std::string wire = serializeReply(head);
  EXPECT_NE(wire.find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
}

TEST(Udp, Commands) {
  EXPECT_EQ(answerUdp("hostname", kSelf, kPeer), "pod-a");
  EXPECT_EQ(answerUdp("hostname\n", kSelf, kPeer), "pod-a\n");
  EXPECT_EQ(answerUdp("clientip", kSelf, kPeer), "10.244.2.7:40000");
  EXPECT_EQ(answerUdp("echo hi there\n", kSelf, kPeer), "hi there\n");
  EXPECT_EQ(answerUdp("anything", kSelf, kPeer), "anything");
  EXPECT_EQ(answerUdp("", kSelf, kPeer), "");
}

TEST(Args, DefaultsAndFlags) {
  ParsedArgs a = parseArgs({}, "from-env", "10.0.0.9", "host");
  EXPECT_EQ(a.options.self.name, "from-env");
  EXPECT_EQ(a.options.self.ip, "10.0.0.9");
  EXPECT_EQ(a.options.tcpPorts, std::vector<uint16_t>{8080});
  EXPECT_EQ(a.options.udpPorts, std::vector<uint16_t>{8081});
  ParsedArgs b = parseArgs({"--tcp", "80", "--tcp=81", "--name", "n", "--ip=1.2.3.4"}, nullptr,
                           nullptr, "host");
  EXPECT_TRUE(b.error.empty());
  EXPECT_EQ(b.options.tcpPorts, (std::vector<uint16_t>{80, 81}));
  EXPECT_TRUE(b.options.udpPorts.empty());
  EXPECT_EQ(b.options.self.name, "n");
  EXPECT_EQ(b.options.self.ip, "1.2.3.4");
  EXPECT_EQ(parseArgs({}, nullptr, nullptr, "host").options.self.name, "host");
  EXPECT_FALSE(parseArgs({"--tcp", "70000"}, nullptr, nullptr, "h").error.empty());
  EXPECT_FALSE(parseArgs({"--tcp"}, nullptr, nullptr, "h").error.empty());
  EXPECT_FALSE(parseArgs({"--bogus"}, nullptr, nullptr, "h").error.empty());
  EXPECT_FALSE(parseArgs({"--bind", "nope"}, nullptr, nullptr, "h").error.empty());
  EXPECT_EQ(runMain({"--bogus"}), 2);
}

// ---- the real server over loopback ----

int connectTcp(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

uint16_t localPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

void sendText(int fd, std::string_view text) {
  ASSERT_EQ(send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Reads until `want` bytes arrived, EOF, or the timeout.
std::string recvBytes(int fd, size_t want) {
  std::string out;
  char buf[4096];
  while (out.size() < want) {
    ssize_t n = recv(fd, buf, std::min(sizeof buf, want - out.size()), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string recvAll(int fd) { return recvBytes(fd, SIZE_MAX); }

// One HTTP response (Content-Length framed).
std::string recvResponse(int fd) {
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string c = recvBytes(fd, 1);
    if (c.empty()) return head;
    head += c;
  }
  size_t at = head.find("Content-Length: ");
  size_t length = at == std::string::npos ? 0 : std::stoul(head.substr(at + 16));
  return head + recvBytes(fd, length);
}

std::string body(const std::string& response) {
  size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

class LiveServer : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.tcpPorts = {0};
    o.udpPorts = {0};
    o.self = kSelf;
    o.bindAddress = "127.0.0.1";
    server = std::make_unique<Server>(o);
    ASSERT_EQ(server->start(), "");
    tcp = server->tcpPorts().at(0);
    udp = server->udpPorts().at(0);
    ASSERT_NE(tcp, 0);
    ASSERT_NE(udp, 0);
  }
  std::unique_ptr<Server> server;
  uint16_t tcp = 0, udp = 0;
};

TEST_F(LiveServer, HttpClientIpKeepAliveAndClose) {
  int fd = connectTcp(tcp);
  ASSERT_GE(fd, 0);
  sendText(fd, "GET /clientip HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string first = recvResponse(fd);
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << first;
  EXPECT_EQ(body(first), "127.0.0.1:" + std::to_string(localPort(fd)));
  // Same connection, pipelined: two requests, the second closes.
  sendText(fd,
           "GET /hostname HTTP/1.1\r\n\r\nGET /echo?msg=bye HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(body(recvResponse(fd)), "pod-a");
  std::string last = recvResponse(fd);
  EXPECT_NE(last.find("Connection: close"), std::string::npos);
  EXPECT_EQ(body(last), "bye");
  EXPECT_EQ(recvAll(fd), "");  // closed by the server
  close(fd);
}

TEST_F(LiveServer, HttpMalformedGets400AndServerLives) {
  int fd = connectTcp(tcp);
  ASSERT_GE(fd, 0);
  sendText(fd, "GET / HTTP/1.1\r\nbad header\r\n\r\n");
  std::string reply = recvAll(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << reply;
  close(fd);
  fd = connectTcp(tcp);
  sendText(fd, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(body(recvAll(fd)), "ok");
  close(fd);
}

TEST_F(LiveServer, TcpLineEcho) {
  int fd = connectTcp(tcp);
  ASSERT_GE(fd, 0);
  sendText(fd, "hello\n");
  EXPECT_EQ(recvBytes(fd, 6), "hello\n");
  sendText(fd, "GET is not first here\nsecond line\npartial");
  EXPECT_EQ(recvBytes(fd, 34), "GET is not first here\nsecond line\n");
  shutdown(fd, SHUT_WR);
  EXPECT_EQ(recvAll(fd), "partial");
  close(fd);
}

TEST_F(LiveServer, UdpCommands) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(udp);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto ask = [&](std::string_view q) {
    send(fd, q.data(), q.size(), 0);
    char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::string("<timeout>") : std::string(buf, static_cast<size_t>(n));
  };
  EXPECT_EQ(ask("hostname"), "pod-a");
  EXPECT_EQ(ask("clientip"), "127.0.0.1:" + std::to_string(localPort(fd)));
  EXPECT_EQ(ask("echo abc"), "abc");
  EXPECT_EQ(ask("whatever\n"), "whatever\n");
  close(fd);
}

TEST_F(LiveServer, StopWithOpenConnectionsIsPrompt) {
  int idle = connectTcp(tcp);
  int half = connectTcp(tcp);
  sendText(half, "GET / HTTP/1.1\r\n");  // an unfinished request
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_LT(connectTcp(tcp), 0);
  close(idle);
  close(half);
}

TEST(Server, PortInUseIsAnError) {
  int blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(blocker, 1), 0);
  uint16_t port = localPort(blocker);
  Options o;
  o.tcpPorts = {port};
  o.bindAddress = "127.0.0.1";
  Server s(o);
  std::string error = s.start();
  EXPECT_NE(error.find("cannot bind TCP port " + std::to_string(port)), std::string::npos) << error;
  EXPECT_EQ(runMain({"--bind", "127.0.0.1", "--tcp", std::to_string(port)}), 1);
  close(blocker);
}

// A port that was free a moment ago (bind 0, then release).
uint16_t freePort(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  uint16_t port = localPort(fd);
  close(fd);
  return port;
}

TEST(RunMain, ServesUntilSigtermThenExitsZero) {
  uint16_t tcp = freePort(SOCK_STREAM), udp = freePort(SOCK_DGRAM);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    _exit(runMain({"--bind", "127.0.0.1", "--tcp", std::to_string(tcp), "--udp",
                   std::to_string(udp), "--name", "child"}));
  }
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; ++i) {
    fd = connectTcp(tcp);
    if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(fd, 0);
  sendText(fd, "GET /hostname HTTP/1.1\r\n\r\n");
  EXPECT_EQ(body(recvResponse(fd)), "child");
  ASSERT_EQ(kill(child, SIGTERM), 0);
  int status = -1;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(child, &status, WNOHANG) == child) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  close(fd);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace podnet::testserver
