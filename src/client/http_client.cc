// The only file of permcache_client that uses Boost.Beast/Asio. Requests are driven with the
// asynchronous Beast operations on a private io_context so that beast::tcp_stream's expiry gives
// us connect and request timeouts; the public API stays synchronous.
#include "client/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

namespace permcache::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

// Bodies larger than this are refused rather than buffered (a full model export of a big
// deployment stays well below).
constexpr uint64_t kMaxResponseBodyBytes = 256ull << 20;

// Errors that mean "the server closed the idle keep-alive connection before reading our
// request"; the request is then resent once on a fresh connection.
bool IsStaleConnectionError(const ErrorCode& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

StatusOr<Url> ParseUrl(std::string_view url) {
  const std::string original(url);
  std::string_view rest = url;
  if (const size_t p = rest.find("://"); p != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, p);
    if (scheme != "http") {
      return InvalidArgumentError("unsupported URL scheme '" + std::string(scheme) + "' in '" +
                                  original + "' (only http:// is supported)");
    }
    rest.remove_prefix(p + 3);
  }
  // Reject what would corrupt the request line or a header (spaces, control characters).
  for (const char c : rest) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return InvalidArgumentError("bad URL '" + original +
                                  "': spaces and control characters must be percent-encoded");
    }
  }
  Url out;
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.base_path = std::string(path);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("bad IPv6 host in URL '" + original + "'");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("bad URL '" + original + "'");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgumentError("missing host in URL '" + original + "'");
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return InvalidArgumentError("bad port '" + std::string(port) + "' in URL '" + original + "'");
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the queued asynchronous operation to completion.
  void Run() {
    ioc.restart();
    ioc.run();
  }
  void Close() {
    if (stream) {
      ErrorCode ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
      stream.reset();
    }
    buffer.clear();
  }
};

HttpClient::HttpClient(Url url, ClientOptions options)
    : url_(std::move(url)), options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() { impl_->Close(); }

std::string HttpClient::Describe() const {
  const bool v6 = url_.host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + url_.host + "]" : url_.host) + ":" + std::to_string(url_.port) +
         url_.base_path;
}

StatusOr<HttpResponse> HttpClient::Request(
    std::string_view method, std::string_view target, std::string_view body,
    std::string_view content_type,
    const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return InvalidArgumentError("unknown HTTP method '" + std::string(method) + "'");
  }
  http::request<http::string_body> req{verb, url_.base_path + std::string(target), 11};
  const bool v6 = url_.host.find(':') != std::string::npos;
  req.set(http::field::host,
          (v6 ? "[" + url_.host + "]" : url_.host) + ":" + std::to_string(url_.port));
  req.set(http::field::user_agent, options_.user_agent);
  req.set(http::field::accept, "application/json");
  if (!options_.bearer_token.empty()) {
    // A CR/LF in the token would inject header lines: refuse it (CLI exit 2).
    for (const char c : options_.bearer_token) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return InvalidArgumentError("the admin token contains control characters");
      }
    }
    req.set(http::field::authorization, "Bearer " + options_.bearer_token);
  }
  for (const auto& [name, value] : extra_headers) req.set(name, value);
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
    req.set(http::field::content_type, content_type);
    req.body() = std::string(body);
  }
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->stream.has_value();
    if (!reused) {
      ErrorCode ec;
      tcp::resolver resolver(impl_->ioc);
      const auto endpoints = resolver.resolve(url_.host, std::to_string(url_.port), ec);
      if (ec) {
        return UnavailableError("cannot resolve " + Describe() + ": " + ec.message());
      }
      impl_->stream.emplace(impl_->ioc);
      impl_->stream->expires_after(options_.connect_timeout);
      impl_->stream->async_connect(endpoints,
                                   [&ec](const ErrorCode& e, const tcp::endpoint&) { ec = e; });
      impl_->Run();
      if (ec) {
        impl_->Close();
        const std::string why =
            ec == beast::error::timeout
                ? "timed out after " + std::to_string(options_.connect_timeout.count()) + " ms"
                : ec.message();
        return UnavailableError("cannot connect to " + Describe() + ": " + why);
      }
      ErrorCode ignored;
      impl_->stream->socket().set_option(tcp::no_delay(true), ignored);
      ++connections_opened_;
    }

    ErrorCode ec;
    impl_->stream->expires_after(options_.request_timeout);
    http::async_write(*impl_->stream, req, [&ec](const ErrorCode& e, size_t) { ec = e; });
    impl_->Run();
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBodyBytes);
    if (!ec) {
      http::async_read(*impl_->stream, impl_->buffer, parser,
                       [&ec](const ErrorCode& e, size_t) { ec = e; });
      impl_->Run();
    }
    if (ec) {
      impl_->Close();
      if (reused && attempt == 0 && !parser.got_some() && IsStaleConnectionError(ec)) continue;
      if (ec == beast::error::timeout) {
        return UnavailableError("no answer from " + Describe() + " within " +
                                std::to_string(options_.request_timeout.count()) + " ms");
      }
      return UnavailableError("request to " + Describe() + " failed: " + ec.message());
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    if (auto it = res.find(http::field::content_type); it != res.end()) {
      out.content_type = std::string(it->value());
    }
    if (auto it = res.find(http::field::etag); it != res.end()) {
      out.etag = std::string(it->value());
    }
    if (auto it = res.find(http::field::cache_control); it != res.end()) {
      out.cache_control = std::string(it->value());
    }
    const bool keep_alive = res.keep_alive();
    out.body = std::move(res.body());
    if (!keep_alive) impl_->Close();
    return out;
  }
  return UnavailableError("request to " + Describe() + " failed: connection closed");
}

}  // namespace permcache::client
