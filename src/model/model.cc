// Names of enums and the Model -> ops conversion, both from the op table (op_table.h).
#include <algorithm>
#include <string_view>

#include "model/op_table.h"
#include "permcache/model.h"

namespace permcache {
namespace {

template <class E>
std::string_view NameOf(model::FieldType type, E value) {
  const auto names = model::EnumNames(type);
  const auto i = static_cast<size_t>(value);
  return i < names.size() ? names[i] : "unknown";
}

template <class E>
std::optional<E> ParseName(model::FieldType type, std::string_view s) {
  const auto names = model::EnumNames(type);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view EffectName(Effect e) { return NameOf(model::FieldType::kEffect, e); }
std::optional<Effect> ParseEffect(std::string_view s) {
  return ParseName<Effect>(model::FieldType::kEffect, s);
}
std::string_view MembershipStatusName(MembershipStatus s) {
  return NameOf(model::FieldType::kMembershipStatus, s);
}
std::optional<MembershipStatus> ParseMembershipStatus(std::string_view s) {
  return ParseName<MembershipStatus>(model::FieldType::kMembershipStatus, s);
}
std::string_view ResourceStateName(ResourceState s) {
  return NameOf(model::FieldType::kResourceState, s);
}
std::optional<ResourceState> ParseResourceState(std::string_view s) {
  return ParseName<ResourceState>(model::FieldType::kResourceState, s);
}

std::string_view OpKindName(OpKind k) {
  const auto i = static_cast<size_t>(k);
  return i < kOpKindCount ? model::SpecOf(k).name : "unknown";
}

std::optional<OpKind> ParseOpKind(std::string_view s) {
  for (const model::OpSpec& spec : model::AllOpSpecs()) {
    if (spec.name == s) return spec.kind;
  }
  return std::nullopt;
}

std::vector<WriteOp> ModelToOps(const Model& model) {
  std::vector<WriteOp> ops;
  model::AppendEntityOps(model, &ops);
  // Roles first without inherits, then their inherits: an inherited role may come later in the
  // list than the role inheriting it.
  const auto is_role = [](const WriteOp& op) { return op.kind == OpKind::kPutRole; };
  const auto last_role = std::find_if(ops.rbegin(), ops.rend(), is_role);
  if (last_role == ops.rend()) return ops;
  std::vector<WriteOp> inherit_ops;
  for (WriteOp& op : ops) {
    if (is_role(op) && !op.inherits.empty()) {
      inherit_ops.push_back(op);
      op.inherits.clear();
    }
  }
  ops.insert(last_role.base(), std::make_move_iterator(inherit_ops.begin()),
             std::make_move_iterator(inherit_ops.end()));
  return ops;
}

}  // namespace permcache
