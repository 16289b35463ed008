// Field-level validation of ids, patterns and write ops (DESIGN §2). References between
// entities (does the role exist?) are the store's job: only it sees the whole model.
#include <array>
#include <cstdint>
#include <string>

#include "permcache/model.h"

namespace permcache {
namespace {

// Character classes as lookup tables: validation runs on every check (the hot path).
enum : uint8_t { kIdChar = 1, kSegmentChar = 2 };
constexpr std::array<uint8_t, 256> MakeCharClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
    const bool digit = c >= '0' && c <= '9', punct = c == '.' || c == '_' || c == '-';
    if (lower || upper || digit || punct || c == '@') t[c] |= kIdChar;
    if (lower || digit || punct) t[c] |= kSegmentChar;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kCharClasses = MakeCharClasses();

bool IsIdChar(char c) { return kCharClasses[static_cast<uint8_t>(c)] & kIdChar; }
bool IsSegmentChar(char c) { return kCharClasses[static_cast<uint8_t>(c)] & kSegmentChar; }

// Shows a user-supplied value in a message without flooding it.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "'";
  out.append(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  out += "'";
  return out;
}

Status CheckSegments(std::string_view what, std::string_view text, bool allow_wildcard) {
  if (text.empty()) return InvalidArgumentError(std::string(what) + " must not be empty");
  if (text.size() > kMaxPatternLength) {
    return InvalidArgumentError(std::string(what) + " " + Quote(text) + " is longer than " +
                                std::to_string(kMaxPatternLength) + " chars");
  }
  size_t start = 0;
  while (true) {
    size_t end = start;
    while (end < text.size() && text[end] != ':') ++end;  // short: a loop beats memchr
    if (end == text.size()) end = std::string_view::npos;
    std::string_view seg = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (seg.empty()) {
      return InvalidArgumentError(std::string(what) + " " + Quote(text) + " has an empty segment");
    }
    if (seg == "*") {
      if (!allow_wildcard) {
        return InvalidArgumentError(std::string(what) + " " + Quote(text) +
                                    " must be concrete: '*' is only allowed in policy patterns");
      }
    } else {
      for (char c : seg) {
        if (!IsSegmentChar(c)) {
          return InvalidArgumentError(std::string(what) + " " + Quote(text) +
                                      ": segments are [a-z0-9_.-]+ or '*'");
        }
      }
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

Status CheckOptionalId(std::string_view field, std::string_view id) {
  return id.empty() ? Status::Ok() : ValidateId(field, id);
}

}  // namespace

Status ValidateId(std::string_view field, std::string_view id) {
  if (id.empty()) return InvalidArgumentError(std::string(field) + " is required");
  if (id.size() > kMaxIdLength) {
    return InvalidArgumentError(std::string(field) + " " + Quote(id) + " is longer than " +
                                std::to_string(kMaxIdLength) + " chars");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return InvalidArgumentError(std::string(field) + " " + Quote(id) +
                                  " has a character outside [A-Za-z0-9._@-]");
    }
  }
  return Status::Ok();
}

Status ValidatePattern(std::string_view pattern) {
  return CheckSegments("permission pattern", pattern, /*allow_wildcard=*/true);
}

Status ValidatePermission(std::string_view permission) {
  return CheckSegments("permission", permission, /*allow_wildcard=*/false);
}

Status ValidateOp(const WriteOp& op) {
  PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", op.tenant));
  switch (op.kind) {
    case OpKind::kPutTenant:
    case OpKind::kDeleteTenant:
      return Status::Ok();
    case OpKind::kPutBusinessUnit:
    case OpKind::kDeleteBusinessUnit:
      return ValidateId("business_unit", op.business_unit);
    case OpKind::kPutMembership:
    case OpKind::kDeleteMembership:
      return ValidateId("user", op.user);
    case OpKind::kPutRole: {
      PERMCACHE_RETURN_IF_ERROR(ValidateId("role", op.role));
      if (op.inherits.size() > kMaxInherits) {
        return InvalidArgumentError("inherits has more than " + std::to_string(kMaxInherits) +
                                    " roles");
      }
      for (const auto& parent : op.inherits) {
        PERMCACHE_RETURN_IF_ERROR(ValidateId("inherits", parent));
        if (parent == op.role) {
          return InvalidArgumentError("role inheritance cycle: role " + Quote(op.role) +
                                      " inherits itself");
        }
      }
      return Status::Ok();
    }
    case OpKind::kDeleteRole:
      return ValidateId("role", op.role);
    case OpKind::kPutPolicy: {
      PERMCACHE_RETURN_IF_ERROR(ValidateId("policy", op.policy));
      if (op.permissions.empty()) return InvalidArgumentError("permissions must not be empty");
      if (op.permissions.size() > kMaxPatternsPerPolicy) {
        return InvalidArgumentError("permissions has more than " +
                                    std::to_string(kMaxPatternsPerPolicy) + " patterns");
      }
      for (const auto& p : op.permissions) PERMCACHE_RETURN_IF_ERROR(ValidatePattern(p));
      return CheckOptionalId("scope", op.scope);
    }
    case OpKind::kDeletePolicy:
      return ValidateId("policy", op.policy);
    case OpKind::kPutRolePolicy:
    case OpKind::kDeleteRolePolicy:
      PERMCACHE_RETURN_IF_ERROR(ValidateId("role", op.role));
      return ValidateId("policy", op.policy);
    case OpKind::kPutUserRole:
    case OpKind::kDeleteUserRole:
      PERMCACHE_RETURN_IF_ERROR(ValidateId("user", op.user));
      PERMCACHE_RETURN_IF_ERROR(ValidateId("role", op.role));
      return CheckOptionalId("business_unit", op.business_unit);
    case OpKind::kPutUserPolicy:
    case OpKind::kDeleteUserPolicy:
      PERMCACHE_RETURN_IF_ERROR(ValidateId("user", op.user));
      return ValidateId("policy", op.policy);
  }
  return InvalidArgumentError("unknown op kind");
}

Status ValidateOps(std::span<const WriteOp> ops) {
  if (ops.empty()) return InvalidArgumentError("ops must not be empty");
  if (ops.size() > kMaxOpsPerWrite) {
    return InvalidArgumentError("a write has at most " + std::to_string(kMaxOpsPerWrite) + " ops");
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    Status s = ValidateOp(ops[i]);
    if (!s.ok()) {
      return InvalidArgumentError("op " + std::to_string(i) + " (" +
                                  std::string(OpKindName(ops[i].kind)) + "): " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace permcache
