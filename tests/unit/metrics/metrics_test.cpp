// The shared metrics library: what it renders is valid exposition text (the
// strict reader in tests/support agrees), counters and histograms count what
// happened, label values are escaped, and /metrics is served over HTTP.
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "metrics/exposition_server.h"
#include "prometheus_text.h"

namespace podnet::metrics {
namespace {

using podnet::testing::parsePromText;

TEST(Metrics, FamiliesRenderAsValidTextAndCount) {
  Registry registry;
  auto& requests = registry.counter("demo_requests_total", "Requests.", {"code", "method"});
  auto& inFlight = registry.gauge("demo_in_flight", "In flight.");
  auto& latency = registry.histogram("demo_duration_seconds", "Latency.", {0.1, 1}, {"method"});
  requests.with({"200", "GET"}).inc();
  requests.with({"200", "GET"}).inc(2);
  requests.with({"500", "POST"}).inc();
  inFlight.with({}).set(3.5);
  latency.with({"GET"}).observe(0.05);
  latency.with({"GET"}).observe(0.5);
  latency.with({"GET"}).observe(7);
  std::string text = registry.render();
  auto parsed = parsePromText(text);
  ASSERT_EQ(parsed.error, "") << text;
  EXPECT_EQ(parsed.families["demo_requests_total"].type, "counter");
  EXPECT_EQ(parsed.value("demo_requests_total", {{"code", "200"}, {"method", "GET"}}), 3);
  EXPECT_EQ(parsed.value("demo_requests_total", {{"code", "500"}}), 1);
  EXPECT_EQ(parsed.value("demo_in_flight"), 3.5);
  EXPECT_EQ(parsed.value("demo_duration_seconds_bucket", {{"le", "0.1"}}), 1);
  EXPECT_EQ(parsed.value("demo_duration_seconds_bucket", {{"le", "1"}}), 2);
  EXPECT_EQ(parsed.value("demo_duration_seconds_bucket", {{"le", "+Inf"}}), 3);
  EXPECT_EQ(parsed.value("demo_duration_seconds_count"), 3);
  EXPECT_DOUBLE_EQ(*parsed.value("demo_duration_seconds_sum"), 7.55);
  EXPECT_NE(text.find("# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, LabelValuesAreEscapedAndBadNamesNeverWritten) {
  Registry registry;
  registry.counter("demo_total", "Help with a \\ and\na newline.", {"path"})
      .with({"/a\"b\\c\nd"})
      .inc();
  registry.counter("0bad name", "never written").with({}).inc();
  registry.collect([](Writer& out) {
    out.family("demo_collected", "Computed at scrape time.", Type::gauge);
    out.sample("demo_collected", {{"bad-label", "x"}, {"ok", "y"}}, 1.0);
  });
  std::string text = registry.render();
  auto parsed = parsePromText(text);
  ASSERT_EQ(parsed.error, "") << text;
  EXPECT_EQ(parsed.value("demo_total", {{"path", "/a\"b\\c\nd"}}), 1);
  EXPECT_EQ(text.find("0bad"), std::string::npos) << text;
  EXPECT_EQ(parsed.value("demo_collected", {{"ok", "y"}}), 1);
  EXPECT_EQ(text.find("bad-label"), std::string::npos);
  EXPECT_NE(text.find("Help with a \\\\ and\\na newline."), std::string::npos) << text;
}

TEST(Metrics, PerThreadCellsSumAtScrapeTime) {
  static const std::vector<double> bounds = {0.001, 0.01};
  struct PerThread {
    LocalCounter queries;
    LocalHistogram latency{&bounds};
  };
  std::vector<std::unique_ptr<PerThread>> threads;
  for (int i = 0; i < 4; ++i) threads.push_back(std::make_unique<PerThread>());
  std::vector<std::thread> workers;
  for (auto& t : threads)
    workers.emplace_back([&cells = *t] {
      for (int i = 0; i < 100000; ++i) {
        cells.queries.inc();
        cells.latency.observe(i % 2 ? 0.0005 : 0.005);
      }
    });
  for (auto& w : workers) w.join();
  Registry registry;
  registry.collect([&](Writer& out) {
    uint64_t total = 0;
    Histogram::Snapshot latency;
    for (const auto& t : threads) {
      total += t->queries.value();
      t->latency.addTo(latency);
    }
    out.family("demo_queries_total", "Queries.", Type::counter);
    out.sample("demo_queries_total", {}, total);
    out.family("demo_latency_seconds", "Latency.", Type::histogram);
    out.histogram("demo_latency_seconds", {}, bounds, latency);
  });
  auto parsed = parsePromText(registry.render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.value("demo_queries_total"), 400000);
  EXPECT_EQ(parsed.value("demo_latency_seconds_bucket", {{"le", "0.001"}}), 200000);
  EXPECT_EQ(parsed.value("demo_latency_seconds_count"), 400000);
}

TEST(Metrics, TheStrictReaderRefusesWhatAScrapeWould) {
  EXPECT_NE(parsePromText("x 1\n").error, "");  // no TYPE
  EXPECT_NE(parsePromText("# TYPE x counter\nx{a=\"1\",a=\"2\"} 1\n").error, "");
  EXPECT_NE(parsePromText("# TYPE x counter\nx 1\nx 2\n").error, "");
  EXPECT_NE(parsePromText("# TYPE x counter\nx one\n").error, "");
  EXPECT_NE(parsePromText("# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"2\"} 1\n"
                          "x_bucket{le=\"+Inf\"} 2\nx_count 2\nx_sum 1\n")
                .error,
            "");
  EXPECT_NE(parsePromText("# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_count 2\nx_sum 1\n").error,
            "");
  EXPECT_EQ(parsePromText("# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_bucket{le=\"+Inf\"} 2\n"
                          "x_sum 1\nx_count 2\n")
                .error,
            "");
}

std::string get(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    char buffer[4096];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) answer.append(buffer, size_t(n));
  }
  ::close(fd);
  return answer;
}

TEST(ExpositionServer, ServesMetricsAndHealthAndRefusesTheRest) {
  Registry registry;
  registry.counter("demo_total", "Demo.").with({}).inc(5);
  bool ready = false;
  ExpositionServer server(registry, [&] { return ready; });
  ASSERT_TRUE(server.start("127.0.0.1:0").ok());
  std::string metrics = get(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("\r\n\r\n# HELP demo_total Demo.\n"), std::string::npos) << metrics;
  EXPECT_EQ(get(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 503");
  ready = true;
  EXPECT_EQ(get(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 200");
  EXPECT_EQ(get(server.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 404");
  EXPECT_EQ(get(server.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").substr(0, 12),
            "HTTP/1.1 405");
  EXPECT_EQ(get(server.port(),
                "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")
                .substr(0, 12),
            "HTTP/1.1 400");
  server.stop();
}

}  // namespace
}  // namespace podnet::metrics
