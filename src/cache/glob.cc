#include "cache/glob.h"

#include <cstddef>

namespace permcache::internal {

bool GlobMatch(std::string_view pattern, std::string_view text) noexcept {
  size_t p = 0, s = 0;
  // Position after the last '*' seen and the text position it is currently assumed to cover
  // up to; only the last star needs backtracking (earlier stars can absorb any extension).
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_s = s;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[s])) {
      ++p;
      ++s;
    } else if (star_p != std::string_view::npos) {
      p = star_p;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace permcache::internal
