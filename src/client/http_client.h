// HttpClient: a small synchronous HTTP/1.1 client for the permcache API (used by the CLI and the
// tests). One persistent keep-alive connection per client, connect and request timeouts, and the
// answer as a plain (status code, body) pair. All Boost.Beast usage lives in http_client.cc.
//
// Thread safety: an HttpClient is NOT thread-safe; use one per thread. ParseUrl and UrlEncode
// are pure and thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "permcache/status.h"

namespace permcache::client {

// A parsed "http://host:port[/base]" URL.
struct Url {
  std::string host;       // "127.0.0.1", "localhost", "::1" (brackets removed)
  uint16_t port = 80;     // default 80 when the URL names none
  std::string base_path;  // prefix for every request target, "" or "/prefix" (no trailing '/')
};

// Parses "http://HOST[:PORT][/PATH]"; a missing scheme means http. kInvalidArgument for https,
// other schemes, an empty host, or a bad port.
StatusOr<Url> ParseUrl(std::string_view url);

// Percent-encodes `s` for use as a query-string value or path segment (RFC 3986 unreserved
// characters are kept as is).
std::string UrlEncode(std::string_view s);

struct HttpResponse {
  int status = 0;             // HTTP status code, e.g. 200
  std::string body;           // the body as received
  std::string content_type;   // the Content-Type header, "" when absent
  std::string etag;           // the ETag header (quotes included), "" when absent
  std::string cache_control;  // the Cache-Control header, "" when absent
};

struct ClientOptions {
  // Time allowed to resolve and connect. Default 2 s.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(2);
  // Time allowed for sending one request and reading its whole answer. Default 10 s.
  std::chrono::milliseconds request_timeout = std::chrono::seconds(10);
  // Sent as "Authorization: Bearer <token>" when not empty. Default none.
  std::string bearer_token;
  // Sent as User-Agent. Default "permcache-client".
  std::string user_agent = "permcache-client";
};

class HttpClient {
 public:
  // Does not connect; the first request does. REQUIRES: `url` parsed by ParseUrl.
  HttpClient(Url url, ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the answer. `target` is the path and query ("/v1/check?..."),
  // prefixed with the URL's base path. `body` is sent with `content_type` when not empty.
  // Reuses the open connection when the server kept it alive; when a reused connection turns
  // out to be closed by the server before it answered, reconnects once and resends.
  // Returns the response for any HTTP status (4xx and 5xx included). kUnavailable when the
  // server cannot be reached, refuses the connection, times out, or drops it mid-answer.
  StatusOr<HttpResponse> Request(
      std::string_view method, std::string_view target, std::string_view body = {},
      std::string_view content_type = "application/json",
      const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

  StatusOr<HttpResponse> Get(std::string_view target) { return Request("GET", target); }
  StatusOr<HttpResponse> Post(std::string_view target, std::string_view json_body) {
    return Request("POST", target, json_body);
  }

  // Closes the connection (the next request reconnects).
  void Close();

  // "http://host:port" of the server this client talks to.
  std::string Describe() const;

  // Number of TCP connections opened so far (tests check keep-alive with it).
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  struct Impl;
  Url url_;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
  uint64_t connections_opened_ = 0;
};

}  // namespace permcache::client
