// FakeHttpServer: a tiny loopback HTTP responder for client and CLI tests that need answers the
// real server never gives (500s, non-JSON bodies, no answer at all, closed keep-alive
// connections). Serves connections one at a time on its own thread, joined on destruction.
//
// Thread safety: the setters and accessors may be called from the test thread while serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace permcache::testing {

class FakeHttpServer {
 public:
  enum class Mode {
    kRespond,          // answer every request with the canned response, keep the connection
    kRespondAndClose,  // answer with "Connection: close" and close
    kCloseAfterOne,    // answer the first request on a connection keep-alive, then close
                       // the idle connection silently (a server's idle timeout)
    kHang,             // read the request, never answer
  };

  // Binds 127.0.0.1:0 and starts serving. port() is 0 when binding failed.
  FakeHttpServer();
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void SetMode(Mode mode);
  void SetResponse(int status, std::string body, std::string content_type = "application/json");

  // Requests fully read so far, connections accepted so far, and the last request's raw text.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  uint64_t connections() const { return connections_.load(std::memory_order_relaxed); }
  std::string last_request() const;

 private:
  void Serve();
  // Serves one connection until it closes or the server stops.
  void ServeConnection(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  // Set by the destructor; read by the serving thread between polls. Relaxed is enough: it is
  // only a flag, and join() orders everything else.
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> connections_{0};
  mutable std::mutex mu_;
  Mode mode_ = Mode::kRespond;                     // guarded by mu_
  int status_ = 200;                               // guarded by mu_
  std::string body_ = "{}";                        // guarded by mu_
  std::string content_type_ = "application/json";  // guarded by mu_
  std::string last_request_;                       // guarded by mu_
  std::thread thread_;
};

}  // namespace permcache::testing
