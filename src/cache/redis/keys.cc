#include "cache/redis/keys.h"

namespace permcache::redis {

std::string EscapeGlob(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

KeySchema::KeySchema(std::string_view prefix, std::string_view version) {
  // A trailing ':' on the prefix is dropped so "app" and "app:" give the same keys.
  while (!prefix.empty() && prefix.back() == ':') prefix.remove_suffix(1);
  if (!prefix.empty()) base_.append(prefix).push_back(':');
  if (!version.empty()) base_.append(version).push_back(':');
  escaped_base_ = EscapeGlob(base_);
  channel_ = prefix.empty() ? std::string("permcache:invalidate")
                            : std::string(prefix) + ":permcache:invalidate";
}

std::string KeySchema::Entry(std::string_view tenant, std::string_view user) const {
  std::string k;
  k.reserve(base_.size() + 7 + user.size() + tenant.size());
  k.append(base_).append("perms:").append(user).append(":").append(tenant);
  return k;
}

std::string KeySchema::UserTombstone(std::string_view tenant, std::string_view user) const {
  std::string k;
  k.append(base_).append("perms-inv:").append(user).append(":").append(tenant);
  return k;
}

std::string KeySchema::TenantTombstone(std::string_view tenant) const {
  return base_ + "perms-inv-tenant:" + std::string(tenant);
}

std::string KeySchema::GlobalTombstone() const { return base_ + "perms-inv-all"; }

std::string KeySchema::Attempts(std::string_view attempt_key) const {
  return base_ + "unlock-attempts:" + std::string(attempt_key);
}

std::string KeySchema::AllEntriesPattern() const { return escaped_base_ + "perms:*"; }

std::string KeySchema::TenantEntriesPattern(std::string_view tenant) const {
  return escaped_base_ + "perms:*:" + EscapeGlob(tenant);
}

std::string KeySchema::UserEntriesPattern(std::string_view user) const {
  return escaped_base_ + "perms:" + EscapeGlob(user) + ":*";
}

std::string KeySchema::AdminPattern(std::string_view pattern) const {
  return escaped_base_ + std::string(pattern);
}

bool KeySchema::ParseEntry(std::string_view key, std::string* tenant, std::string* user) const {
  if (!key.starts_with(base_)) return false;
  key.remove_prefix(base_.size());
  if (!key.starts_with("perms:")) return false;
  key.remove_prefix(6);
  // Ids never contain ':' (DESIGN §2), so the single remaining ':' separates user and tenant.
  size_t colon = key.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == key.size()) return false;
  *user = std::string(key.substr(0, colon));
  *tenant = std::string(key.substr(colon + 1));
  return tenant->find(':') == std::string::npos;
}

}  // namespace permcache::redis
