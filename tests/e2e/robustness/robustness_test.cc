// Regression tests for robustness findings of a review of the HTTP service (each failed before
// its fix): batch waits, request smuggling via Transfer-Encoding, oversized chunk lines, 431 vs
// 414, closing after 414, duplicate JSON keys.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "client/http_client.h"
#include "support/permcache_server.h"
#include "support/raw_http.h"

namespace permcache::e2e {
namespace {

using testing::PermcacheServer;
using testing::PermcacheServerOptions;
using testing::RawStatusCode;
using testing::SendRaw;

std::unique_ptr<PermcacheServer> StartServer(std::vector<std::string> extra = {}) {
  PermcacheServerOptions o;
  o.demo = true;
  o.extra_args = std::move(extra);
  auto s = PermcacheServer::Start(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Finding 1: every check of a batch waits the full consistency timeout in turn, so one
// unauthenticated 1000-check batch with an unreachable at_least_revision pins an IO thread for
// 1000 x timeout (and blocks graceful shutdown for as long).
TEST(RobustnessTest, BatchWithUnreachableRevisionFailsWithinOneConsistencyTimeout) {
  auto server = StartServer({"--consistency-timeout", "200ms"});
  ASSERT_NE(server, nullptr);
  std::string body = "{\"checks\":[";
  for (int i = 0; i < 30; ++i) {
    if (i > 0) body += ",";
    body += R"({"tenant":"hospital","user":"jane","permission":"ui:menu_patients",)"
            R"("at_least_revision":18446744073709551615})";
  }
  body += "]}";
  auto client = server->NewClient();
  const auto start = std::chrono::steady_clock::now();
  auto res = client->Post("/v1/check/batch", body);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 503) << res->body;
  // One consistency timeout (200 ms) plus slack; today it takes 30 x 200 ms = 6 s.
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500))
      << "batch took " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
      << " ms";
}

// Finding 2: a chunk-size line (chunk extensions) or trailer section longer than the read buffer
// throws std::length_error out of the IO handler ("basic_flat_buffer too long"); the client gets
// no answer at all instead of a 4xx.
TEST(RobustnessTest, OversizedChunkExtensionGetsA4xxAnswer) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string req =
      "POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" +
      std::string(2u << 20, 'a');
  auto raw = SendRaw(server->port(), req, std::chrono::seconds(4));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  const int status = RawStatusCode(*raw);
  EXPECT_TRUE(status >= 400 && status < 500) << "got: " << raw->substr(0, 200);
}

// Finding 3: a long header value with a short target is answered 414 "URI Too Long" instead of
// 431: the classification assumes the parser consumed nothing, but Beast consumes the request
// line and complete fields on the first partial put().
TEST(RobustnessTest, LongHeaderValueIs431Not414) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string req =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  auto raw = SendRaw(server->port(), req, std::chrono::seconds(4));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(RawStatusCode(*raw), 431) << raw->substr(0, 200);
}

// Finding 4: a request with a Transfer-Encoding other than "chunked" is treated as having no
// body, and its body is parsed as the next pipelined request (request smuggling/desync). RFC 9112
// 6.3: answer 400 and close.
TEST(RobustnessTest, NonChunkedTransferEncodingIsRejectedNotSmuggled) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string req =
      "POST /v1/check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto raw = SendRaw(server->port(), req, std::chrono::seconds(4));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(RawStatusCode(*raw), 400) << *raw;
  EXPECT_EQ(raw->find("HTTP/1.1 200"), std::string::npos)
      << "the body was executed as a second request: " << *raw;
  EXPECT_NE(raw->find("Connection: close"), std::string::npos) << *raw;
}

// Finding 5: docs/api.md says a 414 closes the connection; for targets between max_url_bytes
// (8 KiB) and max_header_bytes (16 KiB) the 414 is sent without "Connection: close" and the
// connection stays open.
TEST(RobustnessTest, UrlTooLongClosesTheConnection) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string req =
      "GET /v1/check?" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  auto raw = SendRaw(server->port(), req, std::chrono::seconds(3));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(RawStatusCode(*raw), 414) << *raw;
  EXPECT_NE(raw->find("Connection: close"), std::string::npos) << *raw;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2))
      << "connection left open after 414";
}

// Finding 6: duplicate JSON keys are accepted silently (the last wins), although bodies are
// "parsed strictly" and duplicate query parameters are rejected for the same reason.
TEST(RobustnessTest, DuplicateJsonKeysAreRejected) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = server->NewClient();
  auto res = client->Post(
      "/v1/check",
      R"({"tenant":"hospital","user":"jane","permission":"ui:menu_patients","user":"nobody"})");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 400) << res->body;
}

}  // namespace
}  // namespace permcache::e2e
