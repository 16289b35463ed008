// In-process tests of the transport: a real HttpServer on 127.0.0.1 (port picked by the kernel)
// with a scripted Handler, driven over plain sockets.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace permcache::http {
namespace {

class EchoHandler : public Handler {
 public:
  void Handle(const Request& r, Response* res) override {
    ++requests;
    if (r.target == "/peer") {  // the transport's view of the client, and the extra headers
      res->body = std::string(r.remote_address);
      res->cache_control = "no-store";
      res->retry_after_seconds = 7;
      return;
    }
    if (r.target == "/conditional") {  // If-None-Match in, ETag out; a 304 when it matches
      res->etag = "\"pc-1\"";
      res->cache_control = "private, no-cache";
      if (r.if_none_match == res->etag) {
        res->status = 304;
        res->body = "never sent";  // the transport drops it: it would break the framing
        return;
      }
      res->body = "inm=" + std::string(r.if_none_match);
      return;
    }
    res->body = std::string(r.method_name) + " " + std::string(r.target) + " auth=" +
                std::string(r.authorization) + " body=" + std::string(r.body);
    res->content_type = "text/plain";
  }
  void OnProtocolError(int status) override { last_protocol_error = status; }
  std::atomic<int> requests{0};
  std::atomic<int> last_protocol_error{0};
};

struct Reply {
  int status = 0;
  std::string head, body;
  bool closed_after = false;
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Reads one response (Content-Length framed). status 0 when the connection closed first.
  Reply Read() {
    Reply r;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    r.head = buf_.substr(0, head_end + 4);
    buf_.erase(0, head_end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t len = 0;
    const size_t cl = r.head.find("Content-Length: ");
    if (cl != std::string::npos) len = std::stoul(r.head.substr(cl + 16));
    while (buf_.size() < len) {
      if (!Fill()) return r;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // True when the server closed the connection (EOF) before `timeout`.
  bool ClosedByPeer() {
    char c;
    const ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0;
  }

 private:
  bool Fill() {
    char tmp[65536];
    const ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    server_ = std::make_unique<HttpServer>(o, &handler_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_NE(server_->port(), 0);
  }
  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send("GET /a?x=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /a?x=1 auth=Bearer t body=");
  EXPECT_NE(r.head.find("Content-Type: text/plain\r\n"), std::string::npos);
  // Two pipelined requests in one segment, one with a body.
  c.Send("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\n"
         "Host: h\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.body, "POST /b auth= body=hello");
  r = c.Read();
  EXPECT_EQ(r.body, "GET /c auth= body=");
  EXPECT_EQ(handler_.requests.load(), 3);
}

TEST_F(HttpServerTest, PeerAddressAndExtraHeaders) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  // X-Forwarded-For is ignored: the client is the socket's peer.
  c.Send("GET /peer HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "127.0.0.1");
  EXPECT_NE(r.head.find("\r\nCache-Control: no-store\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("\r\nRetry-After: 7\r\n"), std::string::npos) << r.head;
  // Responses that set neither carry neither.
  c.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.head.find("Cache-Control"), std::string::npos) << r.head;
  EXPECT_EQ(r.head.find("Retry-After"), std::string::npos) << r.head;
}

TEST_F(HttpServerTest, ETagIfNoneMatchAndNotModified) {
  StartServer();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  // A list header sent as several field lines reaches the handler joined.
  c.Send("GET /conditional HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"a\"\r\n"
         "if-none-match: W/\"b\"\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "inm=\"a\", W/\"b\"");
  EXPECT_NE(r.head.find("\r\nETag: \"pc-1\"\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("\r\nCache-Control: private, no-cache\r\n"), std::string::npos)
      << r.head;
  // A 304 carries the tag but neither Content-Type nor Content-Length, and the keep-alive
  // connection stays framed: the next answer is read intact.
  c.Send("GET /conditional HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"pc-1\"\r\n\r\n"
         "GET /conditional HTTP/1.1\r\nHost: h\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.status, 304);
  EXPECT_NE(r.head.find("HTTP/1.1 304 Not Modified\r\n"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("\r\nETag: \"pc-1\"\r\n"), std::string::npos) << r.head;
  EXPECT_EQ(r.head.find("Content-Length"), std::string::npos) << r.head;
  EXPECT_EQ(r.head.find("Content-Type"), std::string::npos) << r.head;
  r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "inm=");
  // Other answers carry no ETag.
  c.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.head.find("ETag"), std::string::npos) << r.head;
}

TEST_F(HttpServerTest, ConnectionCloseAndHttp10) {
  StartServer();
  Client c(server_->port());
  c.Send("GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer());

  Client d(server_->port());
  d.Send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  r = d.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Connection: keep-alive"), std::string::npos);
  d.Send("GET /z HTTP/1.0\r\n\r\n");
  r = d.Read();
  EXPECT_EQ(r.body, "GET /z auth= body=");
  EXPECT_TRUE(d.ClosedByPeer());
}

TEST_F(HttpServerTest, BodyTooLargeIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 1000;
  StartServer(o);
  Client c(server_->port());
  c.Send("POST /w HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  Reply r = c.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find(R"("code":"invalid_argument")"), std::string::npos) << r.body;
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  EXPECT_EQ(handler_.last_protocol_error.load(), 413);
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(HttpServerTest, LongUrlIs414LongHeadersAre431) {
  HttpServerOptions o;
  o.max_url_bytes = 1000;
  o.max_header_bytes = 4000;
  StartServer(o);
  {
    Client c(server_->port());  // URL over the URL limit, head under the header limit
    c.Send("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(c.Read().status, 414);
  }
  {
    Client c(server_->port());  // URL over both limits
    c.Send("GET /" + std::string(6000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(c.Read().status, 414);
  }
  {
    Client c(server_->port());
    c.Send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(6000, 'b') + "\r\n\r\n");
    Reply r = c.Read();
    EXPECT_EQ(r.status, 431);
    EXPECT_NE(r.body.find("header fields larger than 4000 bytes"), std::string::npos);
  }
}

TEST_F(HttpServerTest, BrokenHttpIs400AndClose) {
  StartServer();
  Client c(server_->port());
  c.Send("THIS IS NOT HTTP\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed HTTP request"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer());
}

TEST_F(HttpServerTest, ExpectContinue) {
  StartServer();
  Client c(server_->port());
  c.Send("POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  Reply r = c.Read();
  EXPECT_EQ(r.status, 100);
  c.Send("abc");
  r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /e auth= body=abc");
}

TEST_F(HttpServerTest, IdleConnectionsAreClosed) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  StartServer(o);
  Client c(server_->port());
  c.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(c.Read().status, 200);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByPeer());  // blocks until the server closes (recv timeout 5 s)
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitGet503AndClose) {
  HttpServerOptions o;
  o.max_connections = 2;
  StartServer(o);
  Client a(server_->port()), b(server_->port());
  a.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  b.Send("GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(a.Read().status, 200);
  EXPECT_EQ(b.Read().status, 200);
  Client c(server_->port());
  c.Send("GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
  Reply refused = c.Read();
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("too many open connections"), std::string::npos);
  EXPECT_TRUE(c.ClosedByPeer());
  a.Send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n");  // the admitted ones keep working
  EXPECT_EQ(a.Read().status, 200);
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsAndJoins) {
  StartServer();
  Client idle(server_->port());
  idle.Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(idle.Read().status, 200);
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  server_->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(idle.ClosedByPeer());
  Client late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST(HttpServerStartTest, BadHostAndPortInUse) {
  EchoHandler h;
  HttpServerOptions o;
  o.host = "not-an-ip";
  HttpServer bad(o, &h);
  EXPECT_EQ(bad.Start().code(), StatusCode::kInvalidArgument);

  HttpServerOptions a;
  HttpServer first(a, &h);
  ASSERT_TRUE(first.Start().ok());
  HttpServerOptions b;
  b.port = first.port();
  HttpServer second(b, &h);
  EXPECT_EQ(second.Start().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace permcache::http
