// Parsers for CLI flag values: durations ("250ms", "900s", "15m", "1h", "1h30m") and byte sizes
// ("256MiB", "1GiB", "1048576").
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "permcache/status.h"

namespace permcache::cli {

// One or more <number><unit> groups, unit in ms|s|m|h; a bare integer means seconds.
// kInvalidArgument for an empty string, a missing number, an unknown unit or an overflow.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);

// <number>[unit]: no unit or B = bytes; KiB MiB GiB TiB (and K M G T) = powers of 1024;
// KB MB GB TB = powers of 1000. Units are case-insensitive. kInvalidArgument on bad input or
// overflow.
StatusOr<uint64_t> ParseByteSize(std::string_view text);

// The inverse of ParseDuration for help texts: "4h", "5m", "1h30m", "250ms"; "0s" for zero.
// REQUIRES: d >= 0.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace permcache::cli
