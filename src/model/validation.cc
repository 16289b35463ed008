// Field-level validation of ids, patterns and write ops (DESIGN §2). References between
// entities (does the role exist?) are the store's job: only it sees the whole model.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "model/op_table.h"
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

Status ValidateSegment(std::string_view field, std::string_view segment) {
  if (segment.empty()) return InvalidArgumentError(std::string(field) + " is required");
  if (segment.size() > kMaxIdLength) {
    return InvalidArgumentError(std::string(field) + " " + Quote(segment) + " is longer than " +
                                std::to_string(kMaxIdLength) + " chars");
  }
  for (char c : segment) {
    if (!IsSegmentChar(c)) {
      return InvalidArgumentError(std::string(field) + " " + Quote(segment) +
                                  " must be one permission segment [a-z0-9_.-]+");
    }
  }
  return Status::Ok();
}

namespace {

// The field-level checks of one field of `op`, driven by its type in the op table.
Status ValidateField(const model::OpField& of, WriteOp& op) {
  const model::FieldSpec& spec = model::SpecOf(of.field);
  const model::FieldRef ref = model::RefOf(op, of.field);
  switch (spec.type) {
    case model::FieldType::kId: {
      const std::string& id = *std::get<std::string*>(ref);
      return of.required ? ValidateId(spec.name, id) : CheckOptionalId(spec.name, id);
    }
    case model::FieldType::kSegment:
      return ValidateSegment(spec.name, *std::get<std::string*>(ref));
    case model::FieldType::kIdList:
    case model::FieldType::kPatternList:
    case model::FieldType::kPermissionList: {
      const auto& items = *std::get<std::vector<std::string>*>(ref);
      if (of.non_empty && items.empty()) {
        return InvalidArgumentError(std::string(spec.name) + " must not be empty");
      }
      if (items.size() > spec.max_items) {
        return InvalidArgumentError(std::string(spec.name) + " has more than " +
                                    std::to_string(spec.max_items) + " " +
                                    std::string(spec.noun));
      }
      for (const std::string& item : items) {
        if (spec.type == model::FieldType::kIdList) {
          PERMCACHE_RETURN_IF_ERROR(ValidateId(spec.name, item));
        } else if (spec.type == model::FieldType::kPatternList) {
          PERMCACHE_RETURN_IF_ERROR(ValidatePattern(item));
        } else {
          PERMCACHE_RETURN_IF_ERROR(ValidatePermission(item));
        }
      }
      return Status::Ok();
    }
    case model::FieldType::kSecret: {
      const auto& secret = *std::get<std::optional<std::string>*>(ref);
      if (secret && secret->size() > kMaxPasswordBytes) {
        return InvalidArgumentError(std::string(spec.name) + " is longer than " +
                                    std::to_string(kMaxPasswordBytes) + " bytes");
      }
      return Status::Ok();
    }
    default:  // enums, ints and bools are checked by their parsers
      return Status::Ok();
  }
}

// Rules that span fields of one op.
Status ValidateCrossField(const WriteOp& op) {
  if (op.kind == OpKind::kPutRole) {
    for (const auto& parent : op.inherits) {
      if (parent == op.role) {
        return InvalidArgumentError("role inheritance cycle: role " + Quote(op.role) +
                                    " inherits itself");
      }
    }
  }
  // Validity intervals (DESIGN §8): only where the op table lists them (a bound silently
  // ignored would keep a grant alive), within RFC 3339's years, and not empty.
  bool timed = false;
  for (const model::OpField& of : model::SpecOf(op.kind).fields) {
    timed = timed || of.field == model::Field::kExpiresAt;
  }
  if (!timed && (op.starts_at_ms || op.expires_at_ms)) {
    return InvalidArgumentError("starts_at / expires_at do not apply to " +
                                std::string(OpKindName(op.kind)));
  }
  constexpr int64_t kFirstMs = -62'135'596'800'000;  // 0001-01-01T00:00:00Z
  constexpr int64_t kLastMs = 253'402'300'799'999;   // 9999-12-31T23:59:59.999Z
  for (const auto& [name, at] : {std::pair{"starts_at", op.starts_at_ms},
                                 std::pair{"expires_at", op.expires_at_ms}}) {
    if (at && (*at < kFirstMs || *at > kLastMs)) {
      return InvalidArgumentError(std::string(name) + " is outside the years 0001-9999");
    }
  }
  if (op.starts_at_ms && op.expires_at_ms && *op.expires_at_ms <= *op.starts_at_ms) {
    return InvalidArgumentError("expires_at (" + FormatInstant(*op.expires_at_ms) +
                                ") must be after starts_at (" + FormatInstant(*op.starts_at_ms) +
                                ")");
  }
  if (op.kind == OpKind::kPutGroup && op.status == MembershipStatus::kPending) {
    return InvalidArgumentError("status of a group must be " +
                                model::EnumChoices(model::FieldType::kGroupStatus));
  }
  if (op.kind == OpKind::kPutResource && op.state != ResourceState::kRestricted) {
    // "" (clear) is fine on any state; a password to keep on a public resource is a mistake.
    if ((op.password && !op.password->empty()) || (op.password_hash && !op.password_hash->empty())) {
      return InvalidArgumentError("password is only allowed on restricted resources (state is \"" +
                                  std::string(ResourceStateName(op.state)) + "\")");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateOp(const WriteOp& op) {
  const auto kind = static_cast<size_t>(op.kind);
  if (kind >= kOpKindCount) return InvalidArgumentError("unknown op kind");
  // RefOf hands out mutable pointers; validation only reads through them.
  WriteOp& fields = const_cast<WriteOp&>(op);
  for (const model::OpField& of : model::SpecOf(op.kind).fields) {
    PERMCACHE_RETURN_IF_ERROR(ValidateField(of, fields));
  }
  return ValidateCrossField(op);
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
