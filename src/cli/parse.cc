#include "cli/parse.h"

#include <cctype>
#include <limits>
#include <string>
#include <utility>

namespace permcache::cli {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads the leading digits of `text` into `value`; false when there are none or on overflow.
bool ConsumeNumber(std::string_view& text, uint64_t& value) {
  size_t i = 0;
  value = 0;
  while (i < text.size() && IsDigit(text[i])) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  text.remove_prefix(i);
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const std::string original(text);
  auto bad = [&original](const std::string& why) {
    return InvalidArgumentError("bad duration '" + original + "': " + why +
                                " (use e.g. 250ms, 900s, 15m, 1h)");
  };
  if (text.empty()) return bad("empty");
  uint64_t total_ms = 0;
  bool had_group = false;  // a bare number (seconds) is only accepted on its own
  constexpr uint64_t kMaxMs = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  while (!text.empty()) {
    uint64_t n = 0;
    if (!ConsumeNumber(text, n)) return bad("expected a number");
    size_t unit_len = 0;
    while (unit_len < text.size() && !IsDigit(text[unit_len])) ++unit_len;
    const std::string_view unit = text.substr(0, unit_len);
    text.remove_prefix(unit_len);
    uint64_t factor = 0;
    if (unit == "ms") {
      factor = 1;
    } else if (unit == "s" || (unit.empty() && text.empty() && total_ms == 0 && !had_group)) {
      factor = 1000;
    } else if (unit == "m") {
      factor = 60'000;
    } else if (unit == "h") {
      factor = 3'600'000;
    } else if (unit.empty()) {
      return bad("missing unit");
    } else {
      return bad("unknown unit '" + std::string(unit) + "'");
    }
    if (n > (kMaxMs - total_ms) / factor) return bad("too large");
    total_ms += n * factor;
    had_group = true;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  const std::string original(text);
  auto bad = [&original](const std::string& why) {
    return InvalidArgumentError("bad size '" + original + "': " + why +
                                " (use e.g. 1048576, 256MiB, 1GiB)");
  };
  uint64_t n = 0;
  if (!ConsumeNumber(text, n)) return bad("expected a number");
  const std::string unit = Lower(text);
  uint64_t factor = 0;
  if (unit.empty() || unit == "b") {
    factor = 1;
  } else if (unit == "k" || unit == "kib") {
    factor = 1ull << 10;
  } else if (unit == "m" || unit == "mib") {
    factor = 1ull << 20;
  } else if (unit == "g" || unit == "gib") {
    factor = 1ull << 30;
  } else if (unit == "t" || unit == "tib") {
    factor = 1ull << 40;
  } else if (unit == "kb") {
    factor = 1'000;
  } else if (unit == "mb") {
    factor = 1'000'000;
  } else if (unit == "gb") {
    factor = 1'000'000'000;
  } else if (unit == "tb") {
    factor = 1'000'000'000'000;
  } else {
    return bad("unknown unit '" + std::string(text) + "'");
  }
  if (n > std::numeric_limits<uint64_t>::max() / factor) return bad("too large");
  return n * factor;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  const std::pair<int64_t, const char*> units[] = {
      {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace permcache::cli
