#include "server/http/etag.h"

#include "common/hash.h"

namespace permcache::http {
namespace {

constexpr std::string_view kTagPrefix = "\"pc-";

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// etagc = %x21 / %x23-7E / obs-text: visible characters except the double quote.
bool IsEtagChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

void SkipOws(std::string_view* s) {
  while (!s->empty() && IsOws(s->front())) s->remove_prefix(1);
}

}  // namespace

void SetContentTag(std::string_view content, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t hash = HashBytes(content);
  out->assign(kTagPrefix);
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kHex[(hash >> shift) & 0xf]);
  out->push_back('"');
}

bool IfNoneMatchMatches(std::string_view value, std::string_view tag) {
  if (value.size() > kMaxIfNoneMatchBytes) return false;
  SkipOws(&value);
  while (!value.empty() && IsOws(value.back())) value.remove_suffix(1);
  if (value == "*") return true;
  // #entity-tag: elements separated by commas and optional whitespace; empty elements are
  // allowed (RFC 9110 §5.6.1). The whole value must parse before any element counts.
  bool matched = false;
  while (!value.empty()) {
    if (value.front() == ',') {
      value.remove_prefix(1);
      SkipOws(&value);
      continue;
    }
    if (value.starts_with("W/")) value.remove_prefix(2);  // weak comparison ignores it
    if (value.empty() || value.front() != '"') return false;
    size_t end = 1;
    while (end < value.size() && IsEtagChar(value[end])) ++end;
    if (end == value.size() || value[end] != '"') return false;
    matched = matched || value.substr(0, end + 1) == tag;
    value.remove_prefix(end + 1);
    SkipOws(&value);
    if (!value.empty() && value.front() != ',') return false;
  }
  return matched;
}

}  // namespace permcache::http
