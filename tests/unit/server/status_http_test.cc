#include "server/http/status_http.h"

#include <gtest/gtest.h>

namespace permcache::http {
namespace {

TEST(StatusHttpTest, Mapping) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnauthorized), 401);
  EXPECT_EQ(HttpStatusFor(StatusCode::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
}

TEST(StatusHttpTest, ErrorBody) {
  Response r;
  r.body = "stale";
  SetStatusError(&r, UnavailableError("store \"x\" down"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"error":{"code":"unavailable","message":"store \"x\" down"}})");
  SetError(&r, 413, StatusCode::kInvalidArgument, "too big");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, R"({"error":{"code":"invalid_argument","message":"too big"}})");
}

TEST(StatusHttpTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(299), "Unknown");
}

}  // namespace
}  // namespace permcache::http
