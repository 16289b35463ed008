#include "store/changelog_rows.h"

namespace permcache::store {

Status ChangelogGrouper::Add(uint64_t revision, std::string tenant,
                             std::optional<std::string> user) {
  while (next_ < out_->size() && (*out_)[next_].revision < revision) ++next_;
  if (next_ == out_->size() || (*out_)[next_].revision != revision) {
    return InternalError("changelog row for an unknown revision " + std::to_string(revision) +
                         " (damaged store)");
  }
  ChangeSet& cs = (*out_)[next_];
  if (user) {
    cs.users.emplace_back(std::move(tenant), std::move(*user));
  } else {
    cs.tenants.push_back(std::move(tenant));
  }
  return Status::Ok();
}

}  // namespace permcache::store
