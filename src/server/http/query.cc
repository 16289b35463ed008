#include "server/http/query.h"

namespace permcache::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool NeedsDecoding(std::string_view s) {
  return s.find_first_of("%+") != std::string_view::npos;
}

}  // namespace

Target SplitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

Status QueryParams::Parse(std::string_view query) {
  size_ = 0;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;
    if (size_ == kMaxParams) {
      return InvalidArgumentError("too many query parameters (at most " +
                                  std::to_string(kMaxParams) + ")");
    }
    const size_t eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (NeedsDecoding(key)) {
      std::string& s = storage_[2 * size_];
      s.clear();
      if (!PercentDecode(key, /*plus_is_space=*/true, &s)) {
        return InvalidArgumentError("malformed percent-escape in query parameter name");
      }
      key = s;
    }
    if (NeedsDecoding(value)) {
      std::string& s = storage_[2 * size_ + 1];
      s.clear();
      if (!PercentDecode(value, /*plus_is_space=*/true, &s)) {
        return InvalidArgumentError("malformed percent-escape in query parameter '" +
                                    std::string(key) + "'");
      }
      value = s;
    }
    for (size_t i = 0; i < size_; ++i) {
      if (params_[i].key == key) {
        return InvalidArgumentError("duplicate query parameter '" + std::string(key) + "'");
      }
    }
    params_[size_++] = {key, value};
  }
  return Status::Ok();
}

std::optional<std::string_view> QueryParams::Get(std::string_view key) const {
  for (size_t i = 0; i < size_; ++i) {
    if (params_[i].key == key) return params_[i].value;
  }
  return std::nullopt;
}

}  // namespace permcache::http
