// RFC 3339 instants (model.h). Parsed by hand because nothing in our dependencies does it
// strictly: GCC 12 has no std::chrono::parse, and Boost.DateTime's ISO readers accept other
// formats and no offsets.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "permcache/model.h"

namespace permcache {
namespace {

using std::chrono::days;
using std::chrono::sys_days;

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<int64_t> ParseInstant(std::string_view s) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, &pos, 4, &year) || !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &month) ||
      !Expect(s, &pos, '-') || !Digits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!Digits(s, &pos, 2, &hour) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &minute) ||
      !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &second)) {
    return std::nullopt;
  }
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (size_t d = digits; d < 3; ++d) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!Digits(s, &pos, 2, &oh) || !Expect(s, &pos, ':') || !Digits(s, &pos, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;  // RFC 3339 requires the offset
  }
  if (pos != s.size()) return std::nullopt;
  if (year < 1 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;  // 2026-02-30
  if (second == 60) {  // a leap second: the last representable ms of that minute
    second = 59;
    millis = 999;
  }
  const int64_t day_number = sys_days(ymd).time_since_epoch().count();
  const int64_t seconds = day_number * 86'400 + hour * 3600 + minute * 60 + second -
                          static_cast<int64_t>(offset_minutes) * 60;
  return seconds * 1000 + millis;
}

std::string FormatInstant(int64_t ms) {
  int64_t millis = ms % 1000;
  int64_t secs = ms / 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  int64_t day_number = secs / 86'400;
  int64_t in_day = secs % 86'400;
  if (in_day < 0) {
    in_day += 86'400;
    day_number -= 1;
  }
  const std::chrono::year_month_day ymd{sys_days(days(day_number))};
  char buf[48];
  const int n = std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60),
      static_cast<int>(in_day % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (millis != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(millis));
    out += buf;
  }
  out += 'Z';
  return out;
}

}  // namespace permcache
