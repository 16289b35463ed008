#include "store/policy_row.h"

#include <limits>
#include <optional>

namespace permcache::store {

std::string JoinPermissions(const std::vector<std::string>& permissions) {
  std::string out;
  for (size_t i = 0; i < permissions.size(); ++i) {
    if (i > 0) out += '\n';
    out += permissions[i];
  }
  return out;
}

std::vector<std::string> SplitPermissions(std::string_view joined) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t end = joined.find('\n', start);
    out.emplace_back(joined.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

StatusOr<PolicyRow> DecodePolicyRow(std::string policy, std::string_view effect, int64_t priority,
                                    std::string_view joined_permissions, std::string scope) {
  PolicyRow row;
  row.policy = std::move(policy);
  std::optional<Effect> e = ParseEffect(effect);
  if (!e) return InternalError("policy '" + row.policy + "' has an unknown effect (damaged store)");
  row.effect = *e;
  if (priority < std::numeric_limits<int32_t>::min() ||
      priority > std::numeric_limits<int32_t>::max()) {
    return InternalError("policy '" + row.policy +
                         "' has an out-of-range priority (damaged store)");
  }
  row.priority = static_cast<int32_t>(priority);
  row.permissions = SplitPermissions(joined_permissions);
  row.scope = std::move(scope);
  return row;
}

}  // namespace permcache::store
