// HttpClient against a fake loopback server: URL parsing, keep-alive, reconnects, timeouts,
// refused connections, headers. No permcache server needed.
#include "client/http_client.h"

#include <gtest/gtest.h>

#include "support/fake_http_server.h"
#include "support/free_port.h"

namespace permcache::client {
namespace {

using testing::FakeHttpServer;

TEST(ParseUrlTest, Forms) {
  auto u = ParseUrl("http://127.0.0.1:18080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 18080);
  EXPECT_EQ(u->base_path, "");
  u = ParseUrl("localhost:9");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 9);
  u = ParseUrl("http://example.com/prefix/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->base_path, "/prefix");
  u = ParseUrl("http://[::1]:7000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  for (const char* bad : {"https://x:1", "ftp://x", "http://:80", "http://x:0", "http://x:65536",
                          "http://x:12ab", "http://[::1", "", "http://h:1/a b",
                          "http://h:1/a\r\nX-Evil: 1"}) {
    EXPECT_EQ(ParseUrl(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// Regression (review): a CR/LF in --token used to add header lines to the request.
TEST(HttpClientTest, RefusesATokenWithControlCharacters) {
  ClientOptions options;
  options.bearer_token = "s3cret\r\nX-Evil: 1";
  HttpClient client(*ParseUrl("http://127.0.0.1:1"), options);
  auto r = client.Get("/healthz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(UrlEncodeTest, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(UrlEncode("a-Z_0.~"), "a-Z_0.~");
  EXPECT_EQ(UrlEncode("ui:menu pharmacy/&="), "ui%3Amenu%20pharmacy%2F%26%3D");
  EXPECT_EQ(UrlEncode("\xff"), "%FF");
}

HttpClient ClientFor(const FakeHttpServer& fake, ClientOptions options = {}) {
  return HttpClient(*ParseUrl(fake.url()), options);
}

TEST(HttpClientTest, ReturnsStatusAndBodyAndReusesTheConnection) {
  FakeHttpServer fake;
  ASSERT_NE(fake.port(), 0);
  fake.SetResponse(200, R"({"ok":true})");
  ClientOptions options;
  options.bearer_token = "sekret";
  HttpClient http = ClientFor(fake, options);
  for (int i = 0; i < 3; ++i) {
    auto res = http.Post("/v1/write", R"({"ops":[]})");
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, R"({"ok":true})");
    EXPECT_EQ(res->content_type, "application/json");
  }
  EXPECT_EQ(http.connections_opened(), 1u);
  EXPECT_EQ(fake.connections(), 1u);
  const std::string req = fake.last_request();
  EXPECT_EQ(req.rfind("POST /v1/write HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Authorization: Bearer sekret\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find(R"({"ops":[]})"), std::string::npos) << req;
}

TEST(HttpClientTest, ErrorStatusesAreValuesNotErrors) {
  FakeHttpServer fake;
  fake.SetResponse(503, R"({"error":{"code":"unavailable","message":"x"}})");
  HttpClient http = ClientFor(fake);
  auto res = http.Get("/readyz");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 503);
}

TEST(HttpClientTest, ReconnectsWhenTheServerClosedTheIdleConnection) {
  FakeHttpServer fake;
  fake.SetMode(FakeHttpServer::Mode::kCloseAfterOne);
  HttpClient http = ClientFor(fake);
  for (int i = 0; i < 3; ++i) {
    auto res = http.Get("/healthz");
    ASSERT_TRUE(res.ok()) << i << ": " << res.status().ToString();
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(http.connections_opened(), 3u);
}

TEST(HttpClientTest, HonoursConnectionClose) {
  FakeHttpServer fake;
  fake.SetMode(FakeHttpServer::Mode::kRespondAndClose);
  HttpClient http = ClientFor(fake);
  for (int i = 0; i < 2; ++i) {
    auto res = http.Get("/healthz");
    ASSERT_TRUE(res.ok()) << res.status().ToString();
  }
  EXPECT_EQ(http.connections_opened(), 2u);
}

TEST(HttpClientTest, TimeoutIsUnavailable) {
  FakeHttpServer fake;
  fake.SetMode(FakeHttpServer::Mode::kHang);
  ClientOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  HttpClient http = ClientFor(fake, options);
  const auto start = std::chrono::steady_clock::now();
  auto res = http.Get("/healthz");
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable) << res.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // Usable again afterwards.
  fake.SetMode(FakeHttpServer::Mode::kRespond);
  auto again = http.Get("/healthz");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST(HttpClientTest, RefusedIsUnavailable) {
  const uint16_t port = testing::FreeLoopbackPort();
  HttpClient http(*ParseUrl("http://127.0.0.1:" + std::to_string(port)), {});
  auto res = http.Get("/healthz");
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(res.status().message().find("cannot connect"), std::string::npos)
      << res.status().message();
}

TEST(HttpClientTest, BasePathPrefixesTargets) {
  FakeHttpServer fake;
  HttpClient http(*ParseUrl(fake.url() + "/permcache"), {});
  ASSERT_TRUE(http.Get("/healthz").ok());
  EXPECT_EQ(fake.last_request().rfind("GET /permcache/healthz HTTP/1.1", 0), 0u)
      << fake.last_request();
}

}  // namespace
}  // namespace permcache::client
