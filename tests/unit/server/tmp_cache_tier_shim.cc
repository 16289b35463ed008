// TEMPORARY (until the lead defines CacheTierName in the Checker library): weak fallback so the
// server tests link. A strong definition elsewhere wins.
#include "permcache/decision.h"
namespace permcache {
__attribute__((weak)) std::string_view CacheTierName(CacheTier t) {
  switch (t) {
    case CacheTier::kL1: return "l1";
    case CacheTier::kL2: return "l2";
    case CacheTier::kStore: return "store";
  }
  return "store";
}
}  // namespace permcache
