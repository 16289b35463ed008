#include "support/fake_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace permcache::testing {
namespace {

constexpr int kPollMs = 20;  // how quickly the serving thread notices stop_

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

// Length of the complete request at the start of `buf` (headers + Content-Length body), or 0.
size_t CompleteRequestLength(const std::string& buf) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t body = 0;
  std::string headers = buf.substr(0, end);
  for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const size_t p = headers.find("content-length:"); p != std::string::npos) {
    body = static_cast<size_t>(std::strtoull(headers.c_str() + p + 15, nullptr, 10));
  }
  return buf.size() >= end + 4 + body ? end + 4 + body : 0;
}

}  // namespace

FakeHttpServer::FakeHttpServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void FakeHttpServer::SetMode(Mode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  mode_ = mode;
}

void FakeHttpServer::SetResponse(int status, std::string body, std::string content_type) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = status;
  body_ = std::move(body);
  content_type_ = std::move(content_type);
}

std::string FakeHttpServer::last_request() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_;
}

void FakeHttpServer::Serve() {
  while (!stop_.load(std::memory_order_relaxed)) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.fetch_add(1, std::memory_order_relaxed);
    ServeConnection(fd);
    close(fd);
  }
}

void FakeHttpServer::ServeConnection(int fd) {
  std::string buf;
  int answered = 0;
  char chunk[4096];
  while (!stop_.load(std::memory_order_relaxed)) {
    if (const size_t len = CompleteRequestLength(buf); len > 0) {
      Mode mode;
      std::string response;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_request_ = buf.substr(0, len);
        mode = mode_;
        const bool close_it = mode == Mode::kRespondAndClose;
        response = "HTTP/1.1 " + std::to_string(status_) + " " + Reason(status_) +
                   "\r\nContent-Type: " + content_type_ +
                   "\r\nContent-Length: " + std::to_string(body_.size()) +
                   (close_it ? "\r\nConnection: close" : "") + "\r\n\r\n" + body_;
      }
      buf.erase(0, len);
      requests_.fetch_add(1, std::memory_order_relaxed);
      if (mode == Mode::kHang) {
        // Keep the connection open without answering until the client gives up.
        while (!stop_.load(std::memory_order_relaxed)) {
          pollfd pfd{fd, POLLIN, 0};
          if (poll(&pfd, 1, kPollMs) > 0 && recv(fd, chunk, sizeof(chunk), 0) <= 0) return;
        }
        return;
      }
      if (mode == Mode::kCloseAfterOne && answered > 0) return;  // close without answering
      (void)send(fd, response.data(), response.size(), MSG_NOSIGNAL);
      ++answered;
      if (mode == Mode::kRespondAndClose) return;
      continue;
    }
    pollfd pfd{fd, POLLIN, 0};
    const int r = poll(&pfd, 1, kPollMs);
    if (r < 0 && errno != EINTR) return;
    if (r <= 0) continue;
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace permcache::testing
