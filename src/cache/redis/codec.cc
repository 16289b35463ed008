#include "cache/redis/codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <set>
#include <utility>

namespace permcache::redis {
namespace json = boost::json;
namespace {

// The bounds of `v` that are set, as "<prefix>starts_at_ms" / "<prefix>expires_at_ms".
void PutInterval(const Interval& v, json::object& o, std::string_view prefix = "") {
  if (v.starts_at_ms != Interval::kNoStart) {
    o[std::string(prefix) + "starts_at_ms"] = v.starts_at_ms;
  }
  if (v.expires_at_ms != Interval::kNoExpiry) {
    o[std::string(prefix) + "expires_at_ms"] = v.expires_at_ms;
  }
}

json::array StringArray(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

// Field readers: each returns false (and sets *error) instead of throwing on a type mismatch.
bool GetString(const json::object& o, std::string_view key, std::string* out, std::string* error,
               bool required = true) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    if (required) *error = "missing \"" + std::string(key) + "\"";
    return !required;
  }
  const json::string* s = v->if_string();
  if (s == nullptr) {
    *error = "\"" + std::string(key) + "\" must be a string";
    return false;
  }
  out->assign(s->data(), s->size());
  return true;
}

bool GetStringArray(const json::value& v, std::string_view what, std::vector<std::string>* out,
                    std::string* error) {
  const json::array* a = v.if_array();
  if (a == nullptr) {
    *error = std::string(what) + " must be an array of strings";
    return false;
  }
  out->clear();
  out->reserve(a->size());
  for (const json::value& e : *a) {
    const json::string* s = e.if_string();
    if (s == nullptr) {
      *error = std::string(what) + " must be an array of strings";
      return false;
    }
    out->emplace_back(s->data(), s->size());
  }
  return true;
}

template <typename Int>
bool GetInt(const json::object& o, std::string_view key, Int* out, std::string* error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    *error = "missing \"" + std::string(key) + "\"";
    return false;
  }
  json::error_code ec;
  Int n = v->to_number<Int>(ec);
  if (ec || !(v->is_int64() || v->is_uint64())) {
    *error = "\"" + std::string(key) + "\" must be an integer in range";
    return false;
  }
  *out = n;
  return true;
}

// The optional "<prefix>starts_at_ms" / "<prefix>expires_at_ms" of `o`.
bool GetInterval(const json::object& o, std::string_view prefix, Interval* out,
                 std::string* error) {
  const std::string starts = std::string(prefix) + "starts_at_ms";
  const std::string expires = std::string(prefix) + "expires_at_ms";
  if (o.contains(starts) && !GetInt(o, starts, &out->starts_at_ms, error)) return false;
  if (o.contains(expires) && !GetInt(o, expires, &out->expires_at_ms, error)) return false;
  return true;
}

// Parses without exceptions escaping: Boost.JSON reports syntax errors through error_code but
// may still throw (e.g. bad_alloc); nothing may cross our API as an exception (DESIGN §5).
bool ParseObject(std::string_view text, json::value* out, std::string* error) {
  try {
    json::error_code ec;
    *out = json::parse(text, ec);
    if (ec) {
      *error = "invalid JSON: " + ec.message();
      return false;
    }
  } catch (const std::exception& e) {
    *error = std::string("invalid JSON: ") + e.what();
    return false;
  }
  if (!out->is_object()) {
    *error = "not a JSON object";
    return false;
  }
  return true;
}

}  // namespace

std::string EncodeEntry(const UserGrants& grants, int64_t now_ms) {
  std::set<std::string> allowed, denied;  // sorted + unique: stable output for other readers
  json::array grant_array;
  grant_array.reserve(grants.grants.size());
  const bool active = EffectiveMembershipAt(grants, now_ms).state == MembershipState::kActive;
  for (const Grant& g : grants.grants) {
    if (active && g.policy_scope.empty() && g.assignment_scope.empty() &&
        g.valid.Contains(now_ms)) {
      auto& target = g.effect == Effect::kAllow ? allowed : denied;
      target.insert(g.permissions.begin(), g.permissions.end());
    }
    json::object o;
    o["policy"] = g.policy;
    o["effect"] = g.effect == Effect::kAllow ? "allow" : "deny";
    o["priority"] = g.priority;
    o["permissions"] = StringArray(g.permissions);
    o["policy_scope"] = g.policy_scope;
    o["assignment_scope"] = g.assignment_scope;
    o["role_path"] = g.role_path;
    PutInterval(g.valid, o);
    grant_array.emplace_back(std::move(o));
  }
  json::object root;
  root["permissions"] = StringArray({allowed.begin(), allowed.end()});
  root["denied"] = StringArray({denied.begin(), denied.end()});
  root["membership"] = MembershipStateName(grants.membership);
  PutInterval(grants.membership_valid, root, "membership_");
  if (!grants.groups.empty()) {
    json::array groups;
    for (const GroupRow& g : grants.groups) {
      json::object o;
      o["group"] = g.group;
      o["active"] = g.active;
      PutInterval(g.valid, o);
      groups.emplace_back(std::move(o));
    }
    root["groups"] = std::move(groups);
  }
  root["grants"] = std::move(grant_array);
  root["roles"] = StringArray(grants.roles);
  if (!grants.bounded_roles.empty()) {
    json::array bounded;
    for (const auto& [role, valid] : grants.bounded_roles) {
      json::object o;
      o["role"] = role;
      PutInterval(valid, o);
      bounded.emplace_back(std::move(o));
    }
    root["bounded_roles"] = std::move(bounded);
  }
  json::array resource_grants;
  for (const ResourceGrantRow& r : grants.resource_grants) {
    json::object o;
    o["resource"] = r.resource;
    o["permissions"] = StringArray(r.permissions);
    PutInterval(r.valid, o);
    resource_grants.emplace_back(std::move(o));
  }
  root["resource_grants"] = std::move(resource_grants);
  root["revision"] = grants.revision;  // last: the Lua put script pattern-matches it
  return json::serialize(root);
}

StatusOr<UserGrants> DecodeEntry(std::string_view text) {
  json::value root;
  std::string error;
  if (!ParseObject(text, &root, &error)) return InvalidArgumentError("redis entry: " + error);
  const json::object& o = root.get_object();
  UserGrants out;
  std::string membership;
  if (!GetString(o, "membership", &membership, &error) ||
      !GetInt(o, "revision", &out.revision, &error)) {
    return InvalidArgumentError("redis entry: " + error);
  }
  if (membership == "active") {
    out.membership = MembershipState::kActive;
  } else if (membership == "suspended") {
    out.membership = MembershipState::kSuspended;
  } else if (membership == "pending") {
    out.membership = MembershipState::kPending;
  } else if (membership == "none") {
    out.membership = MembershipState::kNone;
  } else {
    return InvalidArgumentError("redis entry: unknown membership \"" + membership + "\"");
  }
  if (!GetInterval(o, "membership_", &out.membership_valid, &error)) {
    return InvalidArgumentError("redis entry: " + error);
  }
  if (const json::value* groups = o.if_contains("groups")) {
    if (!groups->is_array()) return InvalidArgumentError("redis entry: \"groups\" must be an array");
    for (const json::value& gv : groups->get_array()) {
      const json::object* go = gv.if_object();
      GroupRow g;
      const json::value* active = go != nullptr ? go->if_contains("active") : nullptr;
      if (go == nullptr || active == nullptr || !active->is_bool() ||
          !GetString(*go, "group", &g.group, &error) || !GetInterval(*go, "", &g.valid, &error)) {
        return InvalidArgumentError("redis entry: group: " +
                                    (error.empty() ? std::string("must be an object with "
                                                                 "\"group\" and \"active\"")
                                                   : error));
      }
      g.active = active->get_bool();
      out.groups.push_back(std::move(g));
    }
  }
  const json::value* grants = o.if_contains("grants");
  if (grants == nullptr || !grants->is_array()) {
    return InvalidArgumentError("redis entry: \"grants\" must be an array");
  }
  for (const json::value& gv : grants->get_array()) {
    const json::object* go = gv.if_object();
    if (go == nullptr) return InvalidArgumentError("redis entry: grant must be an object");
    Grant g;
    std::string effect;
    const json::value* perms = go->if_contains("permissions");
    if (!GetString(*go, "policy", &g.policy, &error) ||
        !GetString(*go, "effect", &effect, &error) ||
        !GetInt(*go, "priority", &g.priority, &error) ||
        !GetString(*go, "policy_scope", &g.policy_scope, &error, false) ||
        !GetString(*go, "assignment_scope", &g.assignment_scope, &error, false) ||
        !GetString(*go, "role_path", &g.role_path, &error, false) ||
        !GetInterval(*go, "", &g.valid, &error) ||
        !GetStringArray(perms != nullptr ? *perms : json::value(), "\"permissions\"",
                        &g.permissions, &error)) {
      return InvalidArgumentError("redis entry: grant: " + error);
    }
    if (effect == "allow") {
      g.effect = Effect::kAllow;
    } else if (effect == "deny") {
      g.effect = Effect::kDeny;
    } else {
      return InvalidArgumentError("redis entry: unknown effect \"" + effect + "\"");
    }
    out.grants.push_back(std::move(g));
  }
  // Required: an entry from a node that predates them would lose held roles and resource
  // grants, so it is refused (the reader falls back to the store) rather than half-read.
  const json::value* roles = o.if_contains("roles");
  if (roles == nullptr || !GetStringArray(*roles, "\"roles\"", &out.roles, &error)) {
    return InvalidArgumentError("redis entry: " + (roles == nullptr ? "missing \"roles\"" : error));
  }
  if (const json::value* bounded = o.if_contains("bounded_roles")) {
    if (!bounded->is_array()) {
      return InvalidArgumentError("redis entry: \"bounded_roles\" must be an array");
    }
    for (const json::value& bv : bounded->get_array()) {
      const json::object* bo = bv.if_object();
      std::pair<std::string, Interval> role;
      if (bo == nullptr || !GetString(*bo, "role", &role.first, &error) ||
          !GetInterval(*bo, "", &role.second, &error)) {
        return InvalidArgumentError("redis entry: bounded role: " +
                                    (bo == nullptr ? std::string("must be an object") : error));
      }
      out.bounded_roles.push_back(std::move(role));
    }
  }
  const json::value* rgs = o.if_contains("resource_grants");
  if (rgs == nullptr || !rgs->is_array()) {
    return InvalidArgumentError("redis entry: \"resource_grants\" must be an array");
  }
  for (const json::value& rv : rgs->get_array()) {
    const json::object* ro = rv.if_object();
    if (ro == nullptr) return InvalidArgumentError("redis entry: resource grant must be an object");
    ResourceGrantRow r;
    const json::value* perms = ro->if_contains("permissions");
    if (!GetString(*ro, "resource", &r.resource, &error) ||
        !GetInterval(*ro, "", &r.valid, &error) ||
        !GetStringArray(perms != nullptr ? *perms : json::value(), "\"permissions\"",
                        &r.permissions, &error)) {
      return InvalidArgumentError("redis entry: resource grant: " + error);
    }
    out.resource_grants.push_back(std::move(r));
  }
  return out;
}

namespace {

bool GetBool(const json::object& o, std::string_view key, bool* out, std::string* error) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_bool()) {
    *error = "\"" + std::string(key) + "\" must be a bool";
    return false;
  }
  *out = v->get_bool();
  return true;
}

bool GetStringList(const json::object& o, std::string_view key, std::vector<std::string>* out,
                   std::string* error) {
  const json::value* v = o.if_contains(key);
  return GetStringArray(v != nullptr ? *v : json::value(), "\"" + std::string(key) + "\"", out,
                        error);
}

}  // namespace

std::string EncodeResourceRecord(const ResourceRecord& record) {
  json::object root;
  root["exists"] = record.exists;
  root["type"] = record.type;
  root["owner"] = record.owner;
  root["state"] = ResourceStateName(record.state);
  root["version"] = record.version;
  root["revision"] = record.revision;  // last: the Lua put script pattern-matches it
  return json::serialize(root);
}

StatusOr<ResourceRecord> DecodeResourceRecord(std::string_view text) {
  json::value root;
  std::string error, state;
  if (!ParseObject(text, &root, &error)) return InvalidArgumentError("redis record: " + error);
  const json::object& o = root.get_object();
  ResourceRecord out;
  if (!GetBool(o, "exists", &out.exists, &error) || !GetString(o, "type", &out.type, &error) ||
      !GetString(o, "owner", &out.owner, &error) || !GetString(o, "state", &state, &error) ||
      !GetInt(o, "version", &out.version, &error) ||
      !GetInt(o, "revision", &out.revision, &error)) {
    return InvalidArgumentError("redis record: " + error);
  }
  std::optional<ResourceState> parsed = ParseResourceState(state);
  if (!parsed) return InvalidArgumentError("redis record: unknown state \"" + state + "\"");
  out.state = *parsed;
  return out;
}

std::string EncodeElementRecord(const UiElementRecord& record) {
  json::object root;
  root["exists"] = record.exists;
  root["active"] = record.active;
  root["required_roles"] = StringArray(record.required_roles);
  root["required_permissions"] = StringArray(record.required_permissions);
  root["revision"] = record.revision;  // last: the Lua put script pattern-matches it
  return json::serialize(root);
}

StatusOr<UiElementRecord> DecodeElementRecord(std::string_view text) {
  json::value root;
  std::string error;
  if (!ParseObject(text, &root, &error)) return InvalidArgumentError("redis record: " + error);
  const json::object& o = root.get_object();
  UiElementRecord out;
  if (!GetBool(o, "exists", &out.exists, &error) || !GetBool(o, "active", &out.active, &error) ||
      !GetStringList(o, "required_roles", &out.required_roles, &error) ||
      !GetStringList(o, "required_permissions", &out.required_permissions, &error) ||
      !GetInt(o, "revision", &out.revision, &error)) {
    return InvalidArgumentError("redis record: " + error);
  }
  return out;
}

std::string EncodeChangeMessage(const ChangeSet& change, std::string_view origin) {
  json::object root;
  root["revision"] = change.revision;
  if (change.committed_at_ms > 0) root["committed_at_ms"] = change.committed_at_ms;
  json::array users;
  users.reserve(change.users.size());
  for (const auto& [tenant, user] : change.users) users.emplace_back(json::array{tenant, user});
  root["users"] = std::move(users);
  root["tenants"] = StringArray(change.tenants);
  root["origin"] = origin;
  return json::serialize(root);
}

std::string EncodeAdminMessage(const RemoteCache::AdminInvalidation& admin,
                               std::string_view origin) {
  json::object a;
  a["tenant"] = admin.tenant;
  a["user"] = admin.user;
  a["pattern"] = admin.pattern;
  a["all"] = admin.all;
  json::object root;
  root["admin"] = std::move(a);
  root["origin"] = origin;
  return json::serialize(root);
}

StatusOr<BusMessage> DecodeBusMessage(std::string_view text) {
  json::value root;
  std::string error;
  if (!ParseObject(text, &root, &error)) return InvalidArgumentError("bus message: " + error);
  const json::object& o = root.get_object();
  BusMessage msg;
  if (!GetString(o, "origin", &msg.origin, &error, /*required=*/false)) {
    return InvalidArgumentError("bus message: " + error);
  }
  if (const json::value* admin = o.if_contains("admin")) {
    const json::object* ao = admin->if_object();
    if (ao == nullptr) return InvalidArgumentError("bus message: \"admin\" must be an object");
    msg.is_admin = true;
    if (!GetString(*ao, "tenant", &msg.admin.tenant, &error, false) ||
        !GetString(*ao, "user", &msg.admin.user, &error, false) ||
        !GetString(*ao, "pattern", &msg.admin.pattern, &error, false)) {
      return InvalidArgumentError("bus message: admin: " + error);
    }
    if (const json::value* all = ao->if_contains("all")) {
      if (!all->is_bool())
        return InvalidArgumentError("bus message: admin: \"all\" must be a bool");
      msg.admin.all = all->get_bool();
    }
    return msg;
  }
  if (!GetInt(o, "revision", &msg.change.revision, &error)) {
    return InvalidArgumentError("bus message: " + error);
  }
  if (const json::value* at = o.if_contains("committed_at_ms"); at && at->is_int64()) {
    msg.change.committed_at_ms = at->get_int64();
  }
  if (const json::value* users = o.if_contains("users")) {
    const json::array* ua = users->if_array();
    if (ua == nullptr) return InvalidArgumentError("bus message: \"users\" must be an array");
    for (const json::value& pair : *ua) {
      std::vector<std::string> tu;
      if (!GetStringArray(pair, "each user", &tu, &error) || tu.size() != 2) {
        return InvalidArgumentError("bus message: each user must be [tenant, user]");
      }
      msg.change.users.emplace_back(std::move(tu[0]), std::move(tu[1]));
    }
  }
  if (const json::value* tenants = o.if_contains("tenants")) {
    if (!GetStringArray(*tenants, "\"tenants\"", &msg.change.tenants, &error)) {
      return InvalidArgumentError("bus message: " + error);
    }
  }
  return msg;
}

}  // namespace permcache::redis
