// The op table: every write op kind, its JSON name, its fields (name, type, required or not) and
// the model section its put fills, in one place. JSON parsing and writing (server/http), field
// validation, ModelToOps and model import all walk this table, so a new op kind or field is
// added here (plus the store and tests), not in eight places.
//
// Thread safety: immutable tables and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "permcache/model.h"

namespace permcache::model {

// Every field any op carries. Each maps to one WriteOp member (FieldRef below).
enum class Field : uint8_t {
  kTenant, kBusinessUnit, kUser, kStatus, kRole, kInherits, kPolicy, kEffect, kPriority,
  kPermissions, kScope, kResource, kType, kOwner, kState, kPassword, kElement,
  kRequiredRoles, kRequiredPermissions, kActive, kStartsAt, kExpiresAt, kGroup, kGroupStatus,
};

enum class FieldType : uint8_t {
  kId,              // std::string, ValidateId (optional ones may be empty = none)
  kIdList,          // std::vector<std::string> of ids
  kPatternList,     // std::vector<std::string> of permission patterns ('*' allowed)
  kPermissionList,  // std::vector<std::string> of concrete permissions
  kSegment,         // std::string, one permission segment (a resource type)
  kInt32,
  kBool,
  kEffect,            // Effect by name
  kMembershipStatus,  // MembershipStatus by name
  kGroupStatus,       // MembershipStatus by name, kActive or kSuspended only (put_group)
  kResourceState,     // ResourceState by name
  kSecret,            // std::optional<std::string>, write-only: parsed, never written out
  kInstant,           // std::optional<int64_t> ms since the Unix epoch; RFC 3339 in JSON
};

struct FieldSpec {
  Field field;
  std::string_view name;  // JSON key
  FieldType type;
  std::string_view noun;  // lists: what one item is ("roles", "patterns"), for messages
  size_t max_items;       // lists: the most items allowed
};
const FieldSpec& SpecOf(Field field);

struct OpField {
  Field field;
  bool required;       // must be present in JSON (ids: and non-empty)
  bool non_empty = false;  // lists: at least one item
};

struct OpSpec {
  OpKind kind;
  std::string_view name;            // "put_role"
  std::span<const OpField> fields;  // in the order they are written
  std::string_view section;         // model section this put fills ("roles"), "" for deletes
};
const OpSpec& SpecOf(OpKind kind);
std::span<const OpSpec> AllOpSpecs();
// The model sections in dependency order (what ModelToOps emits first comes first), each with
// its put op.
std::span<const OpSpec* const> ModelSections();

// A typed pointer to the WriteOp member behind a field.
using FieldRef = std::variant<std::string*, std::vector<std::string>*, int32_t*, bool*, Effect*,
                              MembershipStatus*, ResourceState*, std::optional<std::string>*,
                              std::optional<int64_t>*>;
FieldRef RefOf(WriteOp& op, Field field);

// Names of the values of an enum field type, indexed by the enum's value.
std::span<const std::string_view> EnumNames(FieldType type);
// "\"active\", \"suspended\" or \"pending\"", "\"public\", \"unlisted\", ... or \"restricted\"".
std::string EnumChoices(FieldType type);

// The put op that recreates one model entity, and the entity a put op describes.
// REQUIRES for AddToModel: op.kind is a put with a model section.
void AppendEntityOps(const Model& model, std::vector<WriteOp>* ops);
void AddToModel(WriteOp&& op, Model* model);

}  // namespace permcache::model
