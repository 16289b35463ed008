// HttpServer: the HTTP/1.1 transport (Boost.Beast parser over Boost.Asio), kept behind this
// Beast-free header. One acceptor hands connections round-robin to N IO threads, each running
// its own io_context, so a connection lives on one thread for its whole life (no strands, no
// locks on the request path). Keep-alive, pipelining, per-connection buffer reuse, limits
// (body, header, URL), idle and request timeouts, graceful shutdown.
//
//   HttpServer server(options, &api);
//   server.StopOnSignals();                 // SIGINT/SIGTERM -> Stop()
//   if (Status s = server.Start(); !s.ok()) ...
//   server.Wait();                          // returns after Stop() once in-flight work is done
//
// Thread safety: Start/StopOnSignals/Wait from one owner thread; Stop() and port() from any
// thread. The Handler is called concurrently from every IO thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "permcache/status.h"
#include "server/http/handler.h"

namespace permcache::http {

struct HttpServerOptions {
  // Numeric IPv4/IPv6 address to bind. Default "127.0.0.1".
  std::string host = "127.0.0.1";
  // 0 = pick a free port (see port()). Default 0.
  uint16_t port = 0;
  // IO threads (>= 1). Default 1.
  int threads = 1;
  // Larger bodies are answered 413 and the connection closed. Default 1 MiB.
  size_t max_body_bytes = 1u << 20;
  // Larger request heads (request line + headers) get 431. Default 16 KiB.
  size_t max_header_bytes = 16u << 10;
  // Longer request targets get 414. Default 8 KiB.
  size_t max_url_bytes = 8u << 10;
  // A connection with no request in progress and no traffic is closed after this. Default 60 s.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // A request must arrive completely within this of its first byte. Default 10 s.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
  // Open connections beyond this are answered 503 and closed at once (each may buffer up to
  // max_body_bytes). Default 10,000.
  size_t max_connections = 10000;
};

class HttpServer {
 public:
  // REQUIRES: handler outlives the server.
  HttpServer(HttpServerOptions options, Handler* handler);
  // Stops and joins the IO threads.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the IO threads. kInvalidArgument for a host that is not a numeric
  // address, kUnavailable when the address cannot be bound (in use, not local). Call once.
  Status Start();
  // The bound port (the picked one when options.port was 0). REQUIRES: Start() succeeded.
  uint16_t port() const;

  // From now on SIGINT and SIGTERM call Stop(). Call before Start() to leave no window in which
  // a signal kills the process.
  void StopOnSignals();
  // Stops accepting, closes idle connections, lets in-flight requests finish (their responses
  // say "Connection: close"). Idempotent, thread-safe, does not block.
  void Stop();
  // Blocks until Stop() was called and every IO thread has finished and been joined.
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace permcache::http
