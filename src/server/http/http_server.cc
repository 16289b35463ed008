// The only translation unit that includes Boost.Beast/Asio (compile time: see README.md).
//
// Design (why):
// - One io_context per IO thread, each run by exactly one thread: a connection's handlers
//   always run on the same thread, so sessions need no strand and no lock; the per-worker
//   session set is touched only from its worker thread.
// - One acceptor (on worker 0) spreads accepted sockets round-robin: no SO_REUSEPORT needed.
// - Responses are serialized by hand into a reused string and written with one gather write:
//   Beast's response<> would allocate a node per header field per request.
// - Timeouts use one lazily re-armed timer per connection and a plain deadline variable,
//   instead of beast::tcp_stream, which re-arms (cancel + wait) a timer on every read/write.
#include "server/http/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <csignal>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "server/http/json_writer.h"
#include "server/http/status_http.h"

namespace permcache::http {
namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

class Session;

// One IO thread with its io_context and the sessions living on it.
struct Worker {
  // Destroyed after `ioc` (declared first): pending handlers destroyed with the io_context may
  // own the last reference to a session, whose destructor erases itself from here.
  std::unordered_set<Session*> sessions;  // touched only on this worker's thread
  bool stopping = false;                  // touched only on this worker's thread
  // Concurrency hint 1: exactly one thread runs this context (lets Asio skip some locking).
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::thread thread;
};

struct Shared {
  HttpServerOptions options;
  Handler* handler;
  // Open connections: incremented on accept, decremented when the connection's session (or the
  // socket, if no session was made) is gone. Relaxed: a soft limit; nothing is published.
  mutable std::atomic<size_t> connections{0};
};

constexpr size_t kReadChunk = 8192;
// When a connection is closed after an error, unread request bytes would turn the close into a
// TCP reset that can destroy our error response in flight; read (and drop) up to this many for
// at most kLingerTime first.
constexpr size_t kLingerMaxBytes = 4u << 20;
constexpr auto kLingerTime = std::chrono::seconds(2);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Shared* shared, Worker* worker)
      : socket_(std::move(socket)),
        timer_(worker->ioc),
        shared_(shared),
        worker_(worker),
        buffer_(shared->options.max_header_bytes + shared->options.max_body_bytes + 2 * kReadChunk) {
    worker_->sessions.insert(this);
  }
  ~Session() {
    worker_->sessions.erase(this);
    shared_->connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    // Once per connection: the brute-force limit of POST /v1/resources/unlock keys on it.
    // X-Forwarded-For is deliberately not read (a client could forge it).
    boost::system::error_code ec;
    const tcp::endpoint peer = socket_.remote_endpoint(ec);
    if (!ec) {
      net::ip::address address = peer.address();
      if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
      }
      remote_address_ = address.to_string();
    }
    NewRequest();
    DoRead();
  }

  // Shutdown: close the connection now if it is waiting for a new request; otherwise the
  // request in progress finishes and its response closes the connection.
  void OnStop() {
    if (waiting_idle_) Close();
  }

 private:
  const HttpServerOptions& opts() const { return shared_->options; }

  void NewRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().max_header_bytes));
    parser_->body_limit(opts().max_body_bytes);
    // Not eager while in the head: each put() then stops at the end of the head, so head_bytes_
    // counts head bytes only; DoRead turns eager on for the body.
    parser_->eager(false);
    head_bytes_ = 0;
    continue_sent_ = false;
    request_deadline_set_ = false;
  }

  // ---- deadline: one timer, re-armed lazily ----
  void SetDeadline(Clock::time_point t) {
    deadline_ = t;
    if (!timer_armed_ || t < timer_expiry_) ArmTimer();
  }
  void ArmTimer() {
    timer_armed_ = true;
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_);  // cancels a pending wait (its handler sees aborted)
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->OnTimer(ec);
    });
  }
  void OnTimer(boost::system::error_code ec) {
    if (ec == net::error::operation_aborted || closed_) return;  // re-armed or closing
    timer_armed_ = false;
    if (Clock::now() >= deadline_) {
      if (!waiting_idle_ && !lingering_) shared_->handler->OnProtocolError(408);
      Close();
      return;
    }
    ArmTimer();
  }

  // ---- reading ----
  void DoRead() {
    boost::system::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const bool in_head = !parser_->is_header_done();
      const size_t n = parser_->put(buffer_.data(), ec);
      if (ec && ec != bhttp::error::need_more) {
        // Before consuming: FailHeadTooLarge may read an unparsed request line from the buffer.
        return OnParseError(ec);
      }
      buffer_.consume(n);
      if (in_head) {
        // Beast checks header_limit only against the unconsumed part of a head (it consumes the
        // request line and complete fields early), so the limit on the whole head is ours.
        head_bytes_ += n;
        if (!parser_->is_header_done()) {
          // Everything buffered belongs to the head: a complete head would have been parsed.
          if (head_bytes_ + buffer_.size() > opts().max_header_bytes) return FailHeadTooLarge();
        } else {
          if (!CheckHead()) return;
          parser_->eager(true);
        }
      }
      if (ec) {  // need_more
        ec = {};
        break;
      }
      if (n == 0) break;
    }
    if (parser_->is_done()) return OnRequest();
    if (parser_->is_header_done() && !continue_sent_) {
      const auto& req = parser_->get();
      const auto expect = req.find(bhttp::field::expect);
      if (expect != req.end() && EqualsIgnoreCase(expect->value(), "100-continue")) {
        continue_sent_ = true;
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                         [self = shared_from_this()](boost::system::error_code wec, size_t) {
                           if (wec) return self->Close();
                           self->DoRead();
                         });
        return;
      }
    }
    waiting_idle_ = !parser_->got_some() && buffer_.size() == 0;
    if (waiting_idle_) {
      if (worker_->stopping) return Close();
      SetDeadline(Clock::now() + opts().idle_timeout);
    } else if (!request_deadline_set_) {
      request_deadline_set_ = true;
      SetDeadline(std::min(deadline_, Clock::now() + opts().request_timeout));
    }
    // The buffer holds a whole head plus body; it can only fill up with an element Beast
    // buffers whole and does not limit (a chunk-size line with extensions, a trailer).
    // prepare() would throw std::length_error and the client would get no answer.
    if (buffer_.size() + kReadChunk > buffer_.max_size()) {
      if (!parser_->is_header_done()) return FailHeadTooLarge();
      return Fail(413, "request body (with its chunk framing) larger than " +
                           std::to_string(opts().max_body_bytes) + " bytes");
    }
    socket_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = shared_from_this()](boost::system::error_code rec, size_t n) {
          self->OnRead(rec, n);
        });
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    buffer_.commit(n);
    if (ec) return Close();  // EOF, reset, timeout close or shutdown: nothing to answer
    waiting_idle_ = false;   // DoRead sets the request deadline if the request is incomplete
    DoRead();
  }

  static bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
      return (x | 0x20) == (y | 0x20);
    });
  }

  // Checks a just-completed head; on failure answers and returns false.
  bool CheckHead() {
    if (head_bytes_ > opts().max_header_bytes) {
      FailHeadTooLarge();
      return false;
    }
    // Beast treats a request whose last transfer coding is not "chunked" as having no body, so
    // the body would be parsed as the next request (smuggling). RFC 9112 6.3: answer 400, close.
    const auto& req = parser_->get();
    if (req.find(bhttp::field::transfer_encoding) != req.end() && !parser_->chunked()) {
      Fail(400, "unsupported Transfer-Encoding: only \"chunked\" (as the last coding) is accepted");
      return false;
    }
    return true;
  }

  // The head exceeds max_header_bytes: 414 if the request target alone is too long, else 431.
  void FailHeadTooLarge() {
    std::string_view target;
    if (head_bytes_ > 0) {
      // Beast consumes nothing of a head before the whole request line is there.
      target = parser_->get().target();
    } else {
      // The request line is still at the start of the buffer, possibly incomplete.
      const auto data = buffer_.data();
      std::string_view head(static_cast<const char*>(data.data()), data.size());
      const size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      const size_t first_space = line.find(' ');
      const size_t last_space = line.rfind(' ');
      target = first_space == std::string_view::npos ? line : line.substr(first_space + 1);
      if (eol != std::string_view::npos && last_space > first_space &&
          last_space != std::string_view::npos) {
        target = line.substr(first_space + 1, last_space - first_space - 1);
      }
    }
    if (target.size() > opts().max_url_bytes) {
      return Fail(414,
                  "request target longer than " + std::to_string(opts().max_url_bytes) + " bytes");
    }
    Fail(431, "request header fields larger than " + std::to_string(opts().max_header_bytes) +
                  " bytes");
  }

  void OnParseError(boost::system::error_code ec) {
    if (ec == bhttp::error::header_limit) return FailHeadTooLarge();
    if (ec == bhttp::error::body_limit) {
      return Fail(413,
                  "request body larger than " + std::to_string(opts().max_body_bytes) + " bytes");
    }
    Fail(400, "malformed HTTP request: " + ec.message());
  }

  // Answers a request the server will not read to its end and closes the connection: what
  // follows in the stream cannot be framed reliably.
  void Fail(int status, const std::string& message) {
    shared_->handler->OnProtocolError(status);
    response_.Reset();
    SetError(&response_, status, StatusCode::kInvalidArgument, message);
    response_.close = true;
    linger_after_write_ = true;
    WriteResponse(/*http10_keep_alive=*/false);
  }

  // The value of a list header (RFC 9110 §5.3: several field lines mean their values joined by
  // commas); a view into the message for the common single line, empty when absent.
  std::string_view JoinedField(const bhttp::request<bhttp::string_body>& msg, bhttp::field name) {
    auto [it, end] = msg.equal_range(name);
    if (it == end) return {};
    if (std::next(it) == end) return it->value();
    joined_field_.clear();
    for (; it != end; ++it) {
      if (!joined_field_.empty()) joined_field_.append(", ");
      joined_field_.append(it->value());
    }
    return joined_field_;
  }

  void OnRequest() {
    auto& msg = parser_->get();
    Request req;
    switch (msg.method()) {
      case bhttp::verb::get: req.method = Method::kGet; break;
      case bhttp::verb::post: req.method = Method::kPost; break;
      default: req.method = Method::kOther; break;
    }
    req.method_name = msg.method_string();
    req.target = msg.target();
    const auto auth = msg.find(bhttp::field::authorization);
    if (auth != msg.end()) req.authorization = auth->value();
    req.if_none_match = JoinedField(msg, bhttp::field::if_none_match);
    req.body = msg.body();
    req.remote_address = remote_address_;
    const bool keep_alive = msg.keep_alive();
    response_.Reset();
    if (req.target.size() > opts().max_url_bytes) {
      shared_->handler->OnProtocolError(414);
      SetError(&response_, 414, StatusCode::kInvalidArgument,
               "request target longer than " + std::to_string(opts().max_url_bytes) + " bytes");
      // As documented: a client that sends such targets is not worth keeping a connection for.
      response_.close = true;
    } else {
      try {
        shared_->handler->Handle(req, &response_);
      } catch (...) {  // Handlers must not throw; never let it kill an IO thread.
        SetError(&response_, 500, StatusCode::kInternal, "internal error");
      }
    }
    response_.close = response_.close || !keep_alive || worker_->stopping;
    WriteResponse(/*http10_keep_alive=*/keep_alive && msg.version() < 11);
  }

  // ---- writing ----
  void WriteResponse(bool http10_keep_alive) {
    waiting_idle_ = false;
    head_.clear();
    head_.append("HTTP/1.1 ");
    AppendInt(&head_, response_.status);
    head_.push_back(' ');
    head_.append(ReasonPhrase(response_.status));
    // A 304 has no content, so no Content-Type, and no Content-Length: one may only repeat
    // the length a 200 would have had (RFC 9110 §8.6, §15.4.5). Bytes after its head would
    // be read as the next response: never send any.
    if (response_.status == 304) {
      response_.body.clear();
    } else {
      head_.append("\r\nContent-Type: ");
      head_.append(response_.content_type);
      head_.append("\r\nContent-Length: ");
      AppendUint(&head_, response_.body.size());
    }
    if (!response_.allow.empty()) {
      head_.append("\r\nAllow: ");
      head_.append(response_.allow);
    }
    if (!response_.cache_control.empty()) {
      head_.append("\r\nCache-Control: ");
      head_.append(response_.cache_control);
    }
    if (!response_.etag.empty()) {
      head_.append("\r\nETag: ");
      head_.append(response_.etag);
    }
    if (response_.retry_after_seconds >= 0) {
      head_.append("\r\nRetry-After: ");
      AppendInt(&head_, response_.retry_after_seconds);
    }
    if (response_.close) {
      head_.append("\r\nConnection: close");
    } else if (http10_keep_alive) {
      head_.append("\r\nConnection: keep-alive");
    }
    head_.append("\r\n\r\n");
    // A slow reader gets the idle timeout to take the response.
    SetDeadline(std::max(deadline_, Clock::now() + opts().idle_timeout));
    const std::array<net::const_buffer, 2> buffers = {
        net::buffer(head_), net::buffer(response_.body)};
    net::async_write(socket_, buffers,
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       self->OnWrite(ec);
                     });
  }

  void OnWrite(boost::system::error_code ec) {
    if (ec) return Close();
    if (response_.close) {
      if (linger_after_write_) return LingeringClose();
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return Close();
    }
    NewRequest();
    DoRead();
  }

  void LingeringClose() {
    lingering_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    SetDeadline(Clock::now() + kLingerTime);
    DrainSome();
  }
  void DrainSome() {
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kLingerMaxBytes) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    waiting_idle_ = false;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  const Shared* const shared_;
  Worker* const worker_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Response response_;
  std::string head_;
  std::string remote_address_;  // the peer's IP address; empty if it could not be read
  std::string joined_field_;    // a list header sent as several field lines, joined
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point timer_expiry_{};
  bool timer_armed_ = false;
  bool waiting_idle_ = false;
  bool request_deadline_set_ = false;
  bool continue_sent_ = false;
  bool linger_after_write_ = false;
  bool lingering_ = false;
  bool closed_ = false;
  size_t drained_ = 0;
  size_t head_bytes_ = 0;  // bytes of the current request's head consumed by the parser
};

}  // namespace

// Over max_connections: a best-effort 503 (one non-blocking write, never waits) and close.
void RefuseOverLimit(tcp::socket& socket) {
  static constexpr std::string_view kBody =
      R"({"error":{"code":"unavailable","message":"too many open connections"}})";
  static const std::string kResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n" + std::string(kBody);
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kResponse), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
  // Rate-limited: a flood of refused connections must not flood the log too.
  static std::atomic<int64_t> last_log_s{0};
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  if (now_s - last_log_s.exchange(now_s, std::memory_order_relaxed) >= 10) {
    spdlog::warn("refusing connections: max_connections reached");
  }
}

struct HttpServer::Impl {
  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::optional<net::signal_set> signals;
  size_t next_worker = 0;  // only on worker 0's thread
  uint16_t port = 0;
  std::atomic<bool> stop_requested{false};  // seq_cst: rare; makes Stop() idempotent
  std::mutex join_mu;                       // serializes Wait()
  bool started = false;

  void DoAccept() {
    Worker& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    acceptor->async_accept(w.ioc, [this, &w](boost::system::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Out of descriptors and the like: back off instead of spinning on the error.
        spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
        accept_retry->expires_after(std::chrono::milliseconds(100));
        accept_retry->async_wait([this](boost::system::error_code tec) {
          if (!tec && acceptor->is_open()) DoAccept();
        });
        return;
      }
      boost::system::error_code ignored;
      if (shared.connections.fetch_add(1, std::memory_order_relaxed) >=
          shared.options.max_connections) {
        RefuseOverLimit(socket);
        shared.connections.fetch_sub(1, std::memory_order_relaxed);
        DoAccept();
        return;
      }
      socket.set_option(tcp::no_delay(true), ignored);
      net::post(w.ioc, [this, &w, s = std::move(socket)]() mutable {
        if (w.stopping) {  // closes the socket
          shared.connections.fetch_sub(1, std::memory_order_relaxed);
          return;
        }
        std::make_shared<Session>(std::move(s), &shared, &w)->Start();
      });
      DoAccept();
    });
  }
};

HttpServer::HttpServer(HttpServerOptions options, Handler* handler) : impl_(new Impl) {
  impl_->shared.options = std::move(options);
  impl_->shared.handler = handler;
  const int n = std::max(1, impl_->shared.options.threads);
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>();
    w->guard.emplace(w->ioc.get_executor());
    impl_->workers.push_back(std::move(w));
  }
  impl_->acceptor.emplace(impl_->workers[0]->ioc);
  impl_->accept_retry.emplace(impl_->workers[0]->ioc);
}

HttpServer::~HttpServer() {
  Stop();
  // Never started: the io_contexts were not run; nothing to join.
  Wait();
}

Status HttpServer::Start() {
  Impl& im = *impl_;
  const HttpServerOptions& o = im.shared.options;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(o.host, ec);
  if (ec) return InvalidArgumentError("listen host '" + o.host + "' is not a numeric IP address");
  const tcp::endpoint endpoint(address, o.port);
  const std::string where = (address.is_v6() ? "[" + o.host + "]" : o.host) + ":" +
                            std::to_string(o.port);
  im.acceptor->open(endpoint.protocol(), ec);
  if (!ec) im.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(endpoint, ec);
  if (!ec) im.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    im.acceptor->close(ignored);
    return UnavailableError("cannot listen on " + where + ": " + ec.message());
  }
  im.port = im.acceptor->local_endpoint(ec).port();
  im.DoAccept();
  im.started = true;
  for (auto& w : im.workers) {
    Worker* wp = w.get();
    wp->thread = std::thread([wp] {
      for (;;) {
        try {
          wp->ioc.run();
          return;
        } catch (const std::exception& e) {  // handlers do not throw; log and keep serving
          spdlog::error("IO thread: unexpected exception: {}", e.what());
        }
      }
    });
  }
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::StopOnSignals() {
  Impl& im = *impl_;
  im.signals.emplace(im.workers[0]->ioc, SIGINT, SIGTERM);
  im.signals->async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}, shutting down", signo);
    Stop();
  });
}

void HttpServer::Stop() {
  Impl& im = *impl_;
  if (im.stop_requested.exchange(true)) return;
  net::post(im.workers[0]->ioc, [&im] {
    boost::system::error_code ignored;
    im.acceptor->close(ignored);
    im.accept_retry->cancel();
    if (im.signals) im.signals->cancel(ignored);
  });
  for (auto& w : im.workers) {
    Worker* wp = w.get();
    net::post(wp->ioc, [wp] {
      wp->stopping = true;
      // Copy: closing may not erase synchronously, but be safe against it.
      std::vector<Session*> sessions(wp->sessions.begin(), wp->sessions.end());
      for (Session* s : sessions) s->OnStop();
      wp->guard.reset();  // run() returns once the in-flight work is done
    });
  }
}

void HttpServer::Wait() {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> lock(im.join_mu);
  if (!im.started) return;
  for (auto& w : im.workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace permcache::http
