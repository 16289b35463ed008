// The seam between the HTTP transport (http_server.cc, Boost.Beast) and the API (api.cc): plain
// request/response values, so that routes and codecs compile and test without Beast.
//
// Thread safety: Request/Response are values owned by one connection. A Handler is called
// concurrently from every IO thread and must be thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace permcache::http {

enum class Method : unsigned char { kGet, kPost, kOther };

// One parsed HTTP request. Every view points into the connection's buffers and is valid only
// during Handler::Handle.
struct Request {
  Method method = Method::kOther;
  std::string_view method_name;    // as sent ("GET", "DELETE", ...)
  std::string_view target;         // origin-form: "/v1/check?tenant=t1&..."
  std::string_view authorization;  // the Authorization header, empty when absent
  // The If-None-Match header (field lines sent more than once joined by ", "), empty when
  // absent.
  std::string_view if_none_match;
  std::string_view body;
  // The peer's IP address as the transport sees it ("127.0.0.1", "::1"; an IPv4-mapped IPv6
  // peer is given as IPv4). Never taken from X-Forwarded-For or similar headers: behind a
  // proxy every request comes from the proxy. Empty when unknown.
  std::string_view remote_address;
};

// One response. The connection reuses it across requests (Reset keeps the body's capacity), so
// a handler that appends to `body` allocates nothing on the steady state. A 304 is sent without
// Content-Type and Content-Length (RFC 9110 §8.6: a 304 must not claim a length of 0).
struct Response {
  int status = 200;
  // A string literal (static storage): the transport copies nothing.
  std::string_view content_type = "application/json";
  std::string body;
  // For 405: the methods the path supports ("GET, POST"). A string literal.
  std::string_view allow;
  // The Cache-Control header ("no-store" for answers carrying secrets); empty = none. A string
  // literal.
  std::string_view cache_control;
  // The ETag header (quotes included: "\"pc-0123456789abcdef\""); empty = none. Owned, so
  // that Reset keeps its capacity.
  std::string etag;
  // The Retry-After header in seconds (429 answers); negative = none.
  int64_t retry_after_seconds = -1;
  // Close the connection after this response.
  bool close = false;

  void Reset() {
    status = 200;
    content_type = "application/json";
    body.clear();
    allow = {};
    cache_control = {};
    etag.clear();
    retry_after_seconds = -1;
    close = false;
  }
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Answers `request` into `response` (which arrives Reset). Must not throw.
  virtual void Handle(const Request& request, Response* response) = 0;
  // The transport answered a request it could not parse or that broke a limit with `status`
  // (400, 408, 413, 414, 431) before any route saw it. For metrics. Must not throw.
  virtual void OnProtocolError(int status) = 0;
};

}  // namespace permcache::http
