// What ingress_bench starts, and how each is configured: the backend every
// proxy forwards to (nginx serving two static files), and the three proxies
// under test (podnet ingress, nginx, HAProxy). All listen on 127.0.0.1 only,
// run in the foreground as children of the bench, keep pid files and logs in
// the run's temp dir, and have request logging off.
//
// The proxies are configured alike, as an Ingress controller runs them:
//  - one worker process / thread each;
//  - HTTP/1.1 keep-alive to the backend, idle connections pooled;
//  - keep-alive to the client without a request limit (nginx closes a client
//    connection after 1000 requests by default; each TLS run would then
//    measure handshakes, which neither HAProxy nor podnet does);
//  - the request headers ingress-nginx sets, which podnet sets too: a fresh
//    X-Request-ID, X-Real-IP, X-Forwarded-For/-Host/-Port/-Proto/-Scheme,
//    X-Scheme;
//  - responses streamed to the client as they arrive (nginx: proxy_buffering
//    off, ingress-nginx's default);
//  - TLS with the same P-256 certificate for bench.local, TLS 1.2 and 1.3
//    (nginx 1.22 offers only up to 1.2 unless told, ingress-nginx's
//    default is both), so every client session is TLS 1.3 with AES-256-GCM.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ingressbench {

inline std::string replaceAll(std::string text, const std::string& key, const std::string& value) {
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
    text.replace(at, key.size(), value);
  return text;
}

inline std::string fill(std::string text,
                        const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) text = replaceAll(std::move(text), key, value);
  return text;
}

inline constexpr const char* kHost = "bench.local";
inline constexpr size_t kSmallBytes = 100;
inline constexpr size_t kBigBytes = 64 * 1024;

// The shared backend: nginx with one worker serving /small and /big from
// files, over HTTP and (for the direct reference row of the TLS cells)
// HTTPS; stub_status on its own port, so the bench can count the
// connections each proxy opens to it.
inline constexpr const char* kBackendConfig = R"(# ingress_bench: the shared backend
daemon off;
master_process on;
worker_processes 1;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events {
    worker_connections 2048;
}
http {
    access_log off;
    client_body_temp_path @DIR@/tmp/body;
    proxy_temp_path @DIR@/tmp/proxy;
    fastcgi_temp_path @DIR@/tmp/fastcgi;
    uwsgi_temp_path @DIR@/tmp/uwsgi;
    scgi_temp_path @DIR@/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        listen 127.0.0.1:@HTTPS_PORT@ ssl;
        ssl_certificate @DIR@/../bench.crt;
        ssl_certificate_key @DIR@/../bench.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root @DIR@/www;
        # The route cells' paths (/t<N>/small) are the same files.
        rewrite ^/t[0-9]+(/.*)$ $1 last;
        location = /small { default_type text/plain; }
        location = /big { }
    }
    server {
        listen 127.0.0.1:@STATUS_PORT@;
        location = /status { stub_status; }
    }
}
)";

// nginx as the reverse proxy; @CHURN@ is where the churn test puts a
// location that changes at every reload.
inline constexpr const char* kNginxProxyConfig = R"(# ingress_bench: nginx as the proxy under test
daemon off;
master_process on;
worker_processes 1;
worker_shutdown_timeout 10s;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events {
    worker_connections 2048;
}
http {
    access_log off;
    client_body_temp_path @DIR@/tmp/body;
    proxy_temp_path @DIR@/tmp/proxy;
    fastcgi_temp_path @DIR@/tmp/fastcgi;
    uwsgi_temp_path @DIR@/tmp/uwsgi;
    scgi_temp_path @DIR@/tmp/scgi;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    upstream backend {
        server 127.0.0.1:@BACKEND_PORT@;
        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 600s;
    }
    server {
        listen 127.0.0.1:@HTTP_PORT@;
        listen 127.0.0.1:@HTTPS_PORT@ ssl;
        server_name bench.local;
        ssl_certificate @DIR@/../bench.crt;
        ssl_certificate_key @DIR@/../bench.key;
        ssl_protocols TLSv1.2 TLSv1.3;
@CHURN@
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Request-ID $request_id;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Scheme $scheme;
            proxy_set_header X-Scheme $scheme;
            proxy_buffering off;
        }
    }
@ROUTES@
}
)";

// The routes cells' server: one prefix location per route, each sending on
// only requests with its tenant header (what an HTTPRoute rule with a path
// and a header match does), with the same request headers as location /.
inline std::string nginxRoutesServer(int port, int routes) {
  if (port == 0) return "";
  std::string out = "    server {\n        listen 127.0.0.1:" + std::to_string(port) +
                    ";\n        server_name bench.local;\n";
  for (int i = 0; i < routes; ++i) {
    std::string n = std::to_string(i);
    out += "        location /t" + n + "/ {\n            if ($http_x_tenant != \"t" + n +
           "\") { return 404; }\n"
           "            proxy_pass http://backend;\n"
           "            proxy_http_version 1.1;\n"
           "            proxy_set_header Connection \"\";\n"
           "            proxy_set_header Host $host;\n"
           "            proxy_set_header X-Request-ID $request_id;\n"
           "            proxy_set_header X-Real-IP $remote_addr;\n"
           "            proxy_set_header X-Forwarded-For $remote_addr;\n"
           "            proxy_set_header X-Forwarded-Host $host;\n"
           "            proxy_set_header X-Forwarded-Port $server_port;\n"
           "            proxy_set_header X-Forwarded-Proto $scheme;\n"
           "            proxy_set_header X-Forwarded-Scheme $scheme;\n"
           "            proxy_set_header X-Scheme $scheme;\n"
           "            proxy_buffering off;\n        }\n";
  }
  return out + "    }\n";
}

// HAProxy in master-worker mode (-W): SIGUSR2 to the master reloads; the
// stats socket with expose-fd hands the listeners to the new worker
// (HAProxy's documented seamless reload). @CHURN@ is a rule that changes at
// every reload.
inline constexpr const char* kHaproxyConfig = R"(# ingress_bench: HAProxy as the proxy under test
global
    nbthread 1
    maxconn 4096
    pidfile @DIR@/haproxy.pid
    stats socket @DIR@/haproxy.sock mode 600 level admin expose-fd listeners
    hard-stop-after 10s
defaults
    mode http
    timeout connect 5s
    timeout client 600s
    timeout server 60s
    timeout http-keep-alive 600s
frontend bench
    bind 127.0.0.1:@HTTP_PORT@
    bind 127.0.0.1:@HTTPS_PORT@ ssl crt @DIR@/../bench.pem
    http-request set-header X-Request-ID %[uuid]
    http-request set-header X-Real-IP %[src]
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
    http-request set-header X-Forwarded-Scheme %[req.hdr(x-forwarded-proto)]
    http-request set-header X-Scheme %[req.hdr(x-forwarded-proto)]
@CHURN@
    default_backend backend
backend backend
    http-reuse always
    server nginx 127.0.0.1:@BACKEND_PORT@
)";

inline std::string nginxChurnLocation(int generation) {
  if (generation <= 0) return "";
  return "        location = /churn-" + std::to_string(generation) + " { return 204; }\n";
}

inline std::string haproxyChurnRule(int generation) {
  if (generation <= 0) return "";
  return "    http-request return status 204 if { path /churn-" + std::to_string(generation) +
         " }\n";
}

}  // namespace ingressbench
