// RFC 3339 instants (model.h): what parses, to which ms, what does not, and the UTC form back.
#include <gtest/gtest.h>

#include "permcache/model.h"

namespace permcache {
namespace {

TEST(InstantTest, ParsesUtcOffsetsAndFractions) {
  EXPECT_EQ(ParseInstant("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseInstant("2026-12-01T12:00:00Z"), 1'796'126'400'000);
  EXPECT_EQ(ParseInstant("2026-12-01T13:00:00+01:00"), 1'796'126'400'000);
  EXPECT_EQ(ParseInstant("2026-12-01T07:30:00-04:30"), 1'796'126'400'000);
  EXPECT_EQ(ParseInstant("2026-12-01t12:00:00z"), 1'796'126'400'000);
  EXPECT_EQ(ParseInstant("2026-12-01 12:00:00Z"), 1'796'126'400'000);
  EXPECT_EQ(ParseInstant("2026-12-01T12:00:00.25Z"), 1'796'126'400'250);
  EXPECT_EQ(ParseInstant("2026-12-01T12:00:00.123456789Z"), 1'796'126'400'123);
  EXPECT_EQ(ParseInstant("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(ParseInstant("2024-02-29T00:00:00Z"), 1'709'164'800'000);  // a leap day
  EXPECT_EQ(ParseInstant("2016-12-31T23:59:60Z"), 1'483'228'799'999);  // a leap second
}

TEST(InstantTest, RefusesWhatIsNotRfc3339) {
  for (const char* bad : {"", "2026-12-01", "2026-12-01T12:00:00", "2026-12-01T12:00Z",
                          "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z",
                          "2026-12-01T12:60:00Z", "2026-12-01T12:00:61Z", "0000-01-01T00:00:00Z",
                          "2026-12-01T12:00:00.Z", "2026-12-01T12:00:00+0100",
                          "2026-12-01T12:00:00+24:00", "2026-12-01T12:00:00Zjunk",
                          " 2026-12-01T12:00:00Z", "2026-1-01T12:00:00Z", "tomorrow",
                          "2026-12-01T12:00:00.1234567890Z"}) {
    EXPECT_FALSE(ParseInstant(bad).has_value()) << bad;
  }
}

TEST(InstantTest, FormatsUtcAndRoundTrips) {
  EXPECT_EQ(FormatInstant(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatInstant(1'796'126'400'000), "2026-12-01T12:00:00Z");
  EXPECT_EQ(FormatInstant(1'796'126'400'250), "2026-12-01T12:00:00.250Z");
  EXPECT_EQ(FormatInstant(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{-86'400'001}, int64_t{1'709'164'800'000},
                     int64_t{253'402'300'799'999}}) {
    EXPECT_EQ(ParseInstant(FormatInstant(ms)), ms) << ms;
  }
}

}  // namespace
}  // namespace permcache
