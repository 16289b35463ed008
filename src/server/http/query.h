// Request-target parsing: path/query split, percent-decoding and query parameters, without
// allocation for the common case (values without escapes are views into the target).
//
// Thread safety: pure functions; a QueryParams object is used by one thread.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "permcache/status.h"

namespace permcache::http {

struct Target {
  std::string_view path;   // before '?'
  std::string_view query;  // after '?', empty when there is none
};
Target SplitTarget(std::string_view target);

// Appends the percent-decoding of `in` to `out`. With `plus_is_space` (query strings, as in
// application/x-www-form-urlencoded) '+' decodes to ' '. Returns false on a malformed escape
// ("%", "%4", "%zz").
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// The decoded parameters of one query string ("a=1&b=x%20y"). Parameters without '=' have an
// empty value; empty segments ("a=1&&b=2") are skipped.
class QueryParams {
 public:
  static constexpr size_t kMaxParams = 16;

  // kInvalidArgument (naming the parameter) for a malformed escape, a duplicate key, or more
  // than kMaxParams parameters. Views returned later stay valid while `query` and this object
  // live and Parse is not called again.
  Status Parse(std::string_view query);

  // The decoded value of `key`, nullopt when absent.
  std::optional<std::string_view> Get(std::string_view key) const;

  size_t size() const { return size_; }
  std::string_view key(size_t i) const { return params_[i].key; }
  std::string_view value(size_t i) const { return params_[i].value; }

 private:
  struct Param {
    std::string_view key, value;
  };
  std::array<Param, kMaxParams> params_{};
  size_t size_ = 0;
  // Decoded copies for keys/values that contained escapes (2 per parameter).
  std::array<std::string, 2 * kMaxParams> storage_;
};

}  // namespace permcache::http
