// The only translation unit that parses JSON (Boost.JSON, compiled library; see CMakeLists.txt).
// Everything is parsed into a monotonic resource that starts on the stack, and every Boost.JSON
// throw (allocation failures) is caught here: nothing crosses our API as an exception.
#include "server/http/json_codec.h"

#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>
#include <utility>
#include <vector>

#include "model/op_table.h"
#include "server/http/json_writer.h"

namespace permcache::http {
namespace json = boost::json;
namespace {

std::string Quoted(std::string_view key) {
  std::string s;
  s.reserve(key.size() + 2);
  s.push_back('"');
  s.append(key);
  s.push_back('"');
  return s;
}

// basic_parser handler that fails on the first repeated key of an object. Needed because
// Boost.JSON (1.81) builds objects keeping the last of equal keys, silently: a body with
// "user" twice would check a user the caller did not see, "effect" twice store either.
class DuplicateKeyFinder {
 public:
  static constexpr size_t max_object_size = static_cast<size_t>(-1);
  static constexpr size_t max_array_size = static_cast<size_t>(-1);
  static constexpr size_t max_key_size = static_cast<size_t>(-1);
  static constexpr size_t max_string_size = static_cast<size_t>(-1);

  // The first repeated key, once the parser failed because of it.
  const std::optional<std::string>& duplicate() const { return duplicate_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    // One key set per nesting level, reused by later objects at that level (keeps buckets).
    if (depth_ == keys_.size()) keys_.emplace_back();
    keys_[depth_++].clear();
    return true;
  }
  bool on_object_end(size_t, json::error_code&) {
    --depth_;
    return true;
  }
  bool on_string_part(json::string_view, size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!keys_[depth_ - 1].insert(key_).second) {
      duplicate_ = std::move(key_);
      ec = json::error::syntax;  // any error: stops the parser; duplicate_ says why
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> keys_;
  size_t depth_ = 0;
  std::string key_;
  std::optional<std::string> duplicate_;
};

// A second pass over a body already parsed successfully with `options`: returns the first
// repeated key of any object, if there is one.
std::optional<std::string> FindDuplicateKey(std::string_view body,
                                            const json::parse_options& options) {
  json::basic_parser<DuplicateKeyFinder> parser(options);
  json::error_code ec;
  parser.write_some(/*more=*/false, body.data(), body.size(), ec);
  return parser.handler().duplicate();
}

// Parses `body` as one JSON text and hands the value to `fn` (which returns StatusOr<T>).
template <typename T, typename Fn>
StatusOr<T> ParseBody(std::string_view body, size_t max_depth, Fn&& fn) {
  try {
    alignas(std::max_align_t) unsigned char stack_buffer[4096];
    json::monotonic_resource resource(stack_buffer, sizeof stack_buffer);
    json::parse_options options;
    options.max_depth = max_depth;
    json::stream_parser parser(json::storage_ptr(), options);
    parser.reset(&resource);
    json::error_code ec;
    const size_t consumed = parser.write(body.data(), body.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      if (ec == json::error::too_deep) {
        return InvalidArgumentError("JSON nesting deeper than " + std::to_string(max_depth) +
                                    " levels");
      }
      if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return InvalidArgumentError("request body must be a JSON object (got an empty body)");
      }
      return InvalidArgumentError("malformed JSON near byte " + std::to_string(consumed) + ": " +
                                  ec.message());
    }
    const json::value value = parser.release();
    if (!value.is_object()) return InvalidArgumentError("request body must be a JSON object");
    // Strict parsing, like duplicate query parameters: never pick one of two values silently.
    if (auto duplicate = FindDuplicateKey(body, options)) {
      return InvalidArgumentError("duplicate field " + Quoted(*duplicate));
    }
    return fn(value.get_object());
  } catch (const std::bad_alloc&) {
    return InternalError("out of memory while parsing the request body");
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("cannot parse the request body: ") + e.what());
  }
}

// Typed, strict access to the fields of one JSON object. Messages start with `context`
// ("op 3 (put_role)", "checks[2]") when it is not empty. A JSON null counts as absent.
class Fields {
 public:
  Fields(const json::object& obj, std::string_view context) : obj_(obj), context_(context) {}

  Status Error(std::string_view msg) const {
    if (context_.empty()) return InvalidArgumentError(std::string(msg));
    std::string m(context_);
    m += ": ";
    m += msg;
    return InvalidArgumentError(std::move(m));
  }

  // Every key must be in `allowed`.
  Status Only(std::span<const std::string_view> allowed) const {
    for (const auto& kv : obj_) {
      bool ok = false;
      for (std::string_view a : allowed) ok = ok || kv.key() == a;
      if (!ok) return Error("unknown field " + Quoted(kv.key()));
    }
    return Status::Ok();
  }

  const json::value* Find(std::string_view key) const {
    const json::value* v = obj_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  Status String(std::string_view key, bool required, std::string* out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return required ? Error("missing field " + Quoted(key)) : Status::Ok();
    if (!v->is_string()) return Error("field " + Quoted(key) + " must be a string");
    const json::string& s = v->get_string();
    out->assign(s.data(), s.size());
    return Status::Ok();
  }

  Status StringArray(std::string_view key, bool required, std::vector<std::string>* out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return required ? Error("missing field " + Quoted(key)) : Status::Ok();
    if (!v->is_array()) return Error("field " + Quoted(key) + " must be an array of strings");
    const json::array& a = v->get_array();
    out->clear();
    out->reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) {
        return Error("field " + Quoted(key) + "[" + std::to_string(i) + "] must be a string");
      }
      const json::string& s = a[i].get_string();
      out->emplace_back(s.data(), s.size());
    }
    return Status::Ok();
  }

  Status Int32(std::string_view key, int32_t* out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (v->is_int64() && v->get_int64() >= kMin && v->get_int64() <= kMax) {
      *out = static_cast<int32_t>(v->get_int64());
      return Status::Ok();
    }
    if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(kMax)) {
      *out = static_cast<int32_t>(v->get_uint64());
      return Status::Ok();
    }
    return Error("field " + Quoted(key) + " must be an integer in int32 range");
  }

  Status Uint64(std::string_view key, uint64_t* out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (v->is_uint64()) {
      *out = v->get_uint64();
      return Status::Ok();
    }
    if (v->is_int64() && v->get_int64() >= 0) {
      *out = static_cast<uint64_t>(v->get_int64());
      return Status::Ok();
    }
    return Error("field " + Quoted(key) + " must be a non-negative integer");
  }

  Status Bool(std::string_view key, bool* out) const {
    const json::value* v = Find(key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_bool()) return Error("field " + Quoted(key) + " must be true or false");
    *out = v->get_bool();
    return Status::Ok();
  }

 private:
  const json::object& obj_;
  std::string_view context_;
};

// ---- checks ----

constexpr std::array<std::string_view, 9> kCheckFields = {
    "tenant",  "user",     "permission", "scope", "at_least_revision",
    "explain", "resource", "token",      "element"};

Status ReadCheck(const json::object& obj, std::string_view context, CheckInput* in) {
  Fields f(obj, context);
  PERMCACHE_RETURN_IF_ERROR(f.Only(kCheckFields));
  PERMCACHE_RETURN_IF_ERROR(f.String("tenant", true, &in->tenant));
  // Optional: anonymous resource checks have no user; the Checker refuses an empty user where
  // one is needed.
  PERMCACHE_RETURN_IF_ERROR(f.String("user", false, &in->user));
  PERMCACHE_RETURN_IF_ERROR(f.String("element", false, &in->element));
  // An element check has no permission (it is ui:<element>); every other check needs one.
  PERMCACHE_RETURN_IF_ERROR(f.String("permission", !f.Has("element"), &in->permission));
  PERMCACHE_RETURN_IF_ERROR(f.String("scope", false, &in->scope));
  PERMCACHE_RETURN_IF_ERROR(f.String("resource", false, &in->resource));
  PERMCACHE_RETURN_IF_ERROR(f.String("token", false, &in->token));
  PERMCACHE_RETURN_IF_ERROR(f.Uint64("at_least_revision", &in->at_least_revision));
  return f.Bool("explain", &in->explain);
}

// ---- write ops (and model entries, which are put ops without "op") ----

// Reads one field of an op into its WriteOp member, by the field's type in the op table.
Status ReadOpField(const Fields& f, const model::OpField& of, WriteOp* op) {
  const model::FieldSpec& spec = model::SpecOf(of.field);
  const model::FieldRef ref = model::RefOf(*op, of.field);
  switch (spec.type) {
    case model::FieldType::kId:
    case model::FieldType::kSegment:
      return f.String(spec.name, of.required, std::get<std::string*>(ref));
    case model::FieldType::kIdList:
    case model::FieldType::kPatternList:
    case model::FieldType::kPermissionList:
      return f.StringArray(spec.name, of.required, std::get<std::vector<std::string>*>(ref));
    case model::FieldType::kInt32: return f.Int32(spec.name, std::get<int32_t*>(ref));
    case model::FieldType::kBool: return f.Bool(spec.name, std::get<bool*>(ref));
    case model::FieldType::kSecret: {
      if (!f.Has(spec.name)) return Status::Ok();
      std::string secret;
      PERMCACHE_RETURN_IF_ERROR(f.String(spec.name, false, &secret));
      *std::get<std::optional<std::string>*>(ref) = std::move(secret);
      return Status::Ok();
    }
    case model::FieldType::kInstant: {
      if (!f.Has(spec.name)) return Status::Ok();
      std::string text;
      PERMCACHE_RETURN_IF_ERROR(f.String(spec.name, false, &text));
      const std::optional<int64_t> ms = ParseInstant(text);
      if (!ms) {
        return f.Error("field " + Quoted(spec.name) + " must be an RFC 3339 instant such as "
                       "\"2026-12-01T12:00:00Z\" (got \"" + text.substr(0, 40) + "\")");
      }
      *std::get<std::optional<int64_t>*>(ref) = *ms;
      return Status::Ok();
    }
    case model::FieldType::kEffect:
    case model::FieldType::kMembershipStatus:
    case model::FieldType::kGroupStatus:
    case model::FieldType::kResourceState: {
      std::string name;
      PERMCACHE_RETURN_IF_ERROR(f.String(spec.name, of.required, &name));
      if (!f.Has(spec.name)) return Status::Ok();  // optional: the WriteOp default stays
      const auto names = model::EnumNames(spec.type);
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] != name) continue;
        if (spec.type == model::FieldType::kEffect) {
          *std::get<Effect*>(ref) = static_cast<Effect>(i);
        } else if (spec.type == model::FieldType::kMembershipStatus ||
                   spec.type == model::FieldType::kGroupStatus) {
          *std::get<MembershipStatus*>(ref) = static_cast<MembershipStatus>(i);
        } else {
          *std::get<ResourceState*>(ref) = static_cast<ResourceState>(i);
        }
        return Status::Ok();
      }
      return f.Error("field " + Quoted(spec.name) + " must be " + model::EnumChoices(spec.type));
    }
  }
  return f.Error("field " + Quoted(spec.name) + " has an unknown type");
}

// Reads the fields of an op of `kind` from `obj`, as the op table lists them. With
// `has_op_key` the object also carries "op" (write requests); model entries do not, and may not
// carry write-only fields (passwords are not part of the model).
Status ReadOpFields(const json::object& obj, OpKind kind, bool has_op_key,
                    std::string_view context, WriteOp* op) {
  Fields f(obj, context);
  const model::OpSpec& spec = model::SpecOf(kind);
  for (const auto& kv : obj) {
    if (has_op_key && kv.key() == "op") continue;
    const model::OpField* known = nullptr;
    for (const model::OpField& of : spec.fields) {
      if (model::SpecOf(of.field).name == kv.key()) known = &of;
    }
    if (known == nullptr) return f.Error("unknown field " + Quoted(kv.key()));
    if (!has_op_key && model::SpecOf(known->field).type == model::FieldType::kSecret) {
      return f.Error("field " + Quoted(kv.key()) +
                     " is write-only and not part of the model: set it with a " +
                     std::string(spec.name) + " write");
    }
  }
  op->kind = kind;
  for (const model::OpField& of : spec.fields) PERMCACHE_RETURN_IF_ERROR(ReadOpField(f, of, op));
  return Status::Ok();
}

// Writes the fields of `op` as the op table lists them: optional ids only when set, write-only
// fields never.
void AppendOpFields(WriteOp& op, JsonWriter& w) {
  for (const model::OpField& of : model::SpecOf(op.kind).fields) {
    const model::FieldSpec& spec = model::SpecOf(of.field);
    const model::FieldRef ref = model::RefOf(op, of.field);
    switch (spec.type) {
      case model::FieldType::kId:
      case model::FieldType::kSegment: {
        const std::string& v = *std::get<std::string*>(ref);
        if (!of.required && v.empty()) break;
        w.Key(spec.name);
        w.String(v);
        break;
      }
      case model::FieldType::kIdList:
      case model::FieldType::kPatternList:
      case model::FieldType::kPermissionList:
        w.Key(spec.name);
        w.StringArray(*std::get<std::vector<std::string>*>(ref));
        break;
      case model::FieldType::kInt32:
        w.Key(spec.name);
        w.Int(*std::get<int32_t*>(ref));
        break;
      case model::FieldType::kBool:
        w.Key(spec.name);
        w.Bool(*std::get<bool*>(ref));
        break;
      case model::FieldType::kSecret: break;
      case model::FieldType::kInstant: {
        const std::optional<int64_t>& ms = *std::get<std::optional<int64_t>*>(ref);
        if (!ms) break;
        w.Key(spec.name);
        w.String(FormatInstant(*ms));
        break;
      }
      case model::FieldType::kEffect:
        w.Key(spec.name);
        w.String(EffectName(*std::get<Effect*>(ref)));
        break;
      case model::FieldType::kMembershipStatus:
      case model::FieldType::kGroupStatus:
        w.Key(spec.name);
        w.String(MembershipStatusName(*std::get<MembershipStatus*>(ref)));
        break;
      case model::FieldType::kResourceState:
        w.Key(spec.name);
        w.String(ResourceStateName(*std::get<ResourceState*>(ref)));
        break;
    }
  }
}

}  // namespace

StatusOr<CheckInput> ParseCheckJson(std::string_view body, size_t max_depth) {
  return ParseBody<CheckInput>(body, max_depth,
                               [](const json::object& obj) -> StatusOr<CheckInput> {
                                 CheckInput in;
                                 PERMCACHE_RETURN_IF_ERROR(ReadCheck(obj, "", &in));
                                 return in;
                               });
}

StatusOr<std::vector<CheckInput>> ParseBatchJson(std::string_view body, size_t max_depth,
                                                 size_t max_checks) {
  using Result = std::vector<CheckInput>;
  return ParseBody<Result>(body, max_depth, [&](const json::object& obj) -> StatusOr<Result> {
    Fields f(obj, "");
    static constexpr std::string_view kAllowed[] = {"checks"};
    PERMCACHE_RETURN_IF_ERROR(f.Only(kAllowed));
    const json::value* checks = f.Find("checks");
    if (checks == nullptr) return f.Error("missing field \"checks\"");
    if (!checks->is_array()) return f.Error("field \"checks\" must be an array");
    const json::array& a = checks->get_array();
    if (a.size() > max_checks) {
      return f.Error("a batch has at most " + std::to_string(max_checks) + " checks (got " +
                     std::to_string(a.size()) + ")");
    }
    Result out(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string context = "checks[" + std::to_string(i) + "]";
      if (!a[i].is_object()) return InvalidArgumentError(context + ": must be an object");
      PERMCACHE_RETURN_IF_ERROR(ReadCheck(a[i].get_object(), context, &out[i]));
    }
    return out;
  });
}

StatusOr<std::vector<WriteOp>> ParseWriteJson(std::string_view body, size_t max_depth) {
  using Result = std::vector<WriteOp>;
  return ParseBody<Result>(body, max_depth, [](const json::object& obj) -> StatusOr<Result> {
    Fields f(obj, "");
    static constexpr std::string_view kAllowed[] = {"ops"};
    PERMCACHE_RETURN_IF_ERROR(f.Only(kAllowed));
    const json::value* ops = f.Find("ops");
    if (ops == nullptr) return f.Error("missing field \"ops\"");
    if (!ops->is_array()) return f.Error("field \"ops\" must be an array");
    const json::array& a = ops->get_array();
    if (a.size() > kMaxOpsPerWrite) {
      return f.Error("a write has at most " + std::to_string(kMaxOpsPerWrite) + " ops (got " +
                     std::to_string(a.size()) + ")");
    }
    Result out(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      std::string context = "op " + std::to_string(i);
      if (!a[i].is_object()) return InvalidArgumentError(context + ": must be an object");
      const json::object& o = a[i].get_object();
      const json::value* name = o.if_contains("op");
      if (name == nullptr || name->is_null()) {
        return InvalidArgumentError(context + ": missing field \"op\"");
      }
      if (!name->is_string()) {
        return InvalidArgumentError(context + ": field \"op\" must be a string");
      }
      const std::string_view kind_name(name->get_string().data(), name->get_string().size());
      const auto kind = ParseOpKind(kind_name);
      if (!kind) return InvalidArgumentError(context + ": unknown op " + Quoted(kind_name));
      context += " (";
      context += kind_name;
      context += ")";
      PERMCACHE_RETURN_IF_ERROR(ReadOpFields(o, *kind, /*has_op_key=*/true, context, &out[i]));
    }
    return out;
  });
}

StatusOr<Model> ParseModelJson(std::string_view body, size_t max_depth) {
  return ParseBody<Model>(body, max_depth, [](const json::object& obj) -> StatusOr<Model> {
    Fields f(obj, "");
    const auto sections = model::ModelSections();
    std::vector<std::string_view> names;
    for (const model::OpSpec* section : sections) names.push_back(section->section);
    PERMCACHE_RETURN_IF_ERROR(f.Only(names));
    Model result;
    for (const model::OpSpec* section : sections) {
      const json::value* v = f.Find(section->section);
      if (v == nullptr) continue;
      if (!v->is_array()) return f.Error("field " + Quoted(section->section) + " must be an array");
      const json::array& a = v->get_array();
      for (size_t i = 0; i < a.size(); ++i) {
        const std::string context = std::string(section->section) + "[" + std::to_string(i) + "]";
        if (!a[i].is_object()) return InvalidArgumentError(context + ": must be an object");
        WriteOp op;
        PERMCACHE_RETURN_IF_ERROR(
            ReadOpFields(a[i].get_object(), section->kind, /*has_op_key=*/false, context, &op));
        model::AddToModel(std::move(op), &result);
      }
    }
    return result;
  });
}

StatusOr<InvalidateRequest> ParseInvalidateJson(std::string_view body, size_t max_depth) {
  return ParseBody<InvalidateRequest>(
      body, max_depth, [](const json::object& obj) -> StatusOr<InvalidateRequest> {
        Fields f(obj, "");
        static constexpr std::string_view kAllowed[] = {"tenant", "user",     "pattern",
                                                        "all",    "resource", "element"};
        PERMCACHE_RETURN_IF_ERROR(f.Only(kAllowed));
        InvalidateRequest req;
        const std::pair<std::string_view, std::string*> strings[] = {
            {"tenant", &req.tenant},     {"user", &req.user},
            {"pattern", &req.pattern},   {"resource", &req.resource},
            {"element", &req.element},
        };
        for (const auto& [key, out] : strings) {
          PERMCACHE_RETURN_IF_ERROR(f.String(key, false, out));
          // An empty string would silently turn {"tenant":"t","user":""} into the tenant form.
          if (f.Has(key) && out->empty()) {
            return f.Error("field " + Quoted(key) + " must not be empty");
          }
        }
        PERMCACHE_RETURN_IF_ERROR(f.Bool("all", &req.all));
        if (f.Has("all") && !req.all) return f.Error("field \"all\" must be true when present");
        // Which combinations form a request is the Checker's rule (ValidateInvalidate): one
        // place to keep it.
        return req;
      });
}

StatusOr<UnlockInput> ParseUnlockJson(std::string_view body, size_t max_depth) {
  return ParseBody<UnlockInput>(body, max_depth,
                                [](const json::object& obj) -> StatusOr<UnlockInput> {
                                  Fields f(obj, "");
                                  static constexpr std::string_view kAllowed[] = {
                                      "tenant", "resource", "password"};
                                  PERMCACHE_RETURN_IF_ERROR(f.Only(kAllowed));
                                  UnlockInput in;
                                  // Messages name fields only, never values: the password
                                  // must not reach a log through an error.
                                  PERMCACHE_RETURN_IF_ERROR(f.String("tenant", true, &in.tenant));
                                  PERMCACHE_RETURN_IF_ERROR(
                                      f.String("resource", true, &in.resource));
                                  PERMCACHE_RETURN_IF_ERROR(
                                      f.String("password", true, &in.password));
                                  return in;
                                });
}

// ---- output ----

void AppendDecisionJson(const Decision& d, std::string* out) {
  out->append(d.allowed ? R"({"allowed":true,"revision":)" : R"({"allowed":false,"revision":)");
  AppendUint(out, d.revision);
  if (d.reason) {
    const Reason& r = *d.reason;
    JsonWriter w(out);
    out->append(",\"reason\":");
    w.BeginObject();
    w.Key("kind");
    w.String(r.kind);
    if (r.kind == "policy") {
      w.Key("policy");
      w.String(r.policy);
      w.Key("effect");
      w.String(EffectName(r.effect));
      w.Key("priority");
      w.Int(r.priority);
      w.Key("matched_pattern");
      w.String(r.matched_pattern);
      w.Key("role_path");
      w.String(r.role_path);
      w.Key("business_unit");
      w.String(r.business_unit);
    } else if (r.kind == "resource_grant" && !r.matched_pattern.empty()) {
      // A resource grant names its pattern (decision.h).
      w.Key("matched_pattern");
      w.String(r.matched_pattern);
    }
    if (!r.requirement.empty()) {
      w.Key("requirement");
      w.String(r.requirement);
    }
    if (r.expires_at_ms) {
      w.Key("expires_at");
      w.String(FormatInstant(*r.expires_at_ms));
    }
    w.Key("tier");
    w.String(CacheTierName(r.tier));
    w.Key("entry_age_ms");
    w.Int(r.entry_age_ms);
    w.Key("set_revision");
    w.Uint(r.set_revision);
    w.EndObject();
  }
  out->push_back('}');
}

void AppendModelJson(const Model& m, std::string* out) {
  std::vector<WriteOp> ops;
  model::AppendEntityOps(m, &ops);
  JsonWriter w(out);
  w.BeginObject();
  size_t next = 0;  // ops come in section order
  for (const model::OpSpec* section : model::ModelSections()) {
    w.Key(section->section);
    w.BeginArray();
    for (; next < ops.size() && ops[next].kind == section->kind; ++next) {
      w.BeginObject();
      AppendOpFields(ops[next], w);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

void AppendPermissionsJson(const EffectivePermissions& p, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("permissions");
  w.StringArray(p.permissions);
  w.Key("denied");
  w.StringArray(p.denied);
  w.Key("scoped");
  w.BeginObject();
  for (const auto& s : p.scoped) {
    w.Key(s.business_unit);
    w.BeginObject();
    w.Key("permissions");
    w.StringArray(s.permissions);
    w.Key("denied");
    w.StringArray(s.denied);
    w.EndObject();
  }
  w.EndObject();
  w.Key("revision");
  w.Uint(p.revision);
  w.EndObject();
}

void AppendMembershipJson(const MembershipInfo& info, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("active");
  w.Bool(info.active);
  w.Key("status");
  w.String(info.status);
  if (info.expires_at_ms) {
    w.Key("expires_at");
    w.String(FormatInstant(*info.expires_at_ms));
  }
  if (!info.via.empty()) {
    w.Key("via");
    w.String(info.via);
  }
  w.Key("revision");
  w.Uint(info.revision);
  w.EndObject();
}

void AppendUnlockJson(const UnlockResult& result, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("token");
  w.String(result.token);
  w.Key("expires_at");
  w.String(FormatInstant(result.expires_at_ms));
  w.EndObject();
}

void AppendUiJson(const UiAnswer& answer, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("elements");
  w.BeginObject();
  for (const auto& [element, allowed] : answer.elements) {
    w.Key(element);
    w.Bool(allowed);
  }
  w.EndObject();
  w.Key("revision");
  w.Uint(answer.revision);
  w.EndObject();
}

void AppendResourceListJson(const ResourceList& list, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("resources");
  w.BeginArray();
  for (const ResourceRow& row : list.resources) {
    w.BeginObject();
    w.Key("resource");
    w.String(row.resource);
    w.Key("type");
    w.String(row.type);
    if (!row.owner.empty()) {
      w.Key("owner");
      w.String(row.owner);
    }
    w.Key("state");
    w.String(ResourceStateName(row.state));
    w.EndObject();
  }
  w.EndArray();
  if (!list.next_cursor.empty()) {
    w.Key("next_cursor");
    w.String(list.next_cursor);
  }
  w.Key("revision");
  w.Uint(list.revision);
  w.EndObject();
}

void AppendCacheStatsJson(const CacheStats& s, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  const std::pair<std::string_view, uint64_t> counters[] = {
      {"entries", s.entries},
      {"hits", s.hits},
      {"misses", s.misses},
  };
  for (const auto& [k, v] : counters) {
    w.Key(k);
    w.Uint(v);
  }
  w.Key("hit_rate");
  w.Double(s.hit_rate());
  const std::pair<std::string_view, uint64_t> rest[] = {
      {"evictions", s.evictions},
      {"invalidations", s.invalidations},
      {"memory_bytes", s.memory_bytes},
      {"distinct_sets", s.distinct_sets},
      {"expirations", s.expirations},
      {"stale_installs_refused", s.stale_installs_refused},
      {"fills", s.fills},
      {"single_flight_waits", s.single_flight_waits},
      {"set_bytes", s.set_bytes},
      {"applied_revision", s.applied_revision},
      {"catch_ups", s.catch_ups},
      {"store_errors", s.store_errors},
  };
  for (const auto& [k, v] : rest) {
    w.Key(k);
    w.Uint(v);
  }
  w.Key("l1_enabled");
  w.Bool(s.l1_enabled);
  w.Key("records");
  w.BeginObject();
  const std::pair<std::string_view, uint64_t> records[] = {
      {"resource_records", s.resource_records},
      {"resource_record_hits", s.resource_record_hits},
      {"resource_record_misses", s.resource_record_misses},
      {"element_records", s.element_records},
      {"element_record_hits", s.element_record_hits},
      {"element_record_misses", s.element_record_misses},
      {"invalidations", s.record_invalidations},
      {"stale_installs_refused", s.record_stale_installs_refused},
      {"l2_hits", s.record_l2_hits},
      {"l2_misses", s.record_l2_misses},
  };
  for (const auto& [k, v] : records) {
    w.Key(k);
    w.Uint(v);
  }
  w.EndObject();
  w.Key("store_feed");
  if (!s.store_feed_enabled) {
    w.String("disabled");
  } else {
    w.BeginObject();
    w.Key("status");
    w.String(s.store_feed_up ? "up" : "down");
    const std::pair<std::string_view, uint64_t> feed[] = {
        {"notifications", s.store_feed_notifications},
        {"reconnects", s.store_feed_reconnects},
        {"heartbeat_failures", s.store_feed_heartbeat_failures},
        {"epoch_changes", s.store_feed_epoch_changes},
        {"connections_open", s.store.connections_open},
        {"connections_in_use", s.store.connections_in_use},
    };
    for (const auto& [k, v] : feed) {
      w.Key(k);
      w.Uint(v);
    }
    w.EndObject();
  }
  w.Key("l2");
  if (!s.l2_enabled) {
    w.String("disabled");
  } else {
    w.BeginObject();
    w.Key("status");
    w.String(s.l2_up ? "up" : "down");
    w.Key("bus");
    w.String(s.bus_up ? "up" : "down");
    const std::pair<std::string_view, uint64_t> l2[] = {
        {"keys", s.l2_keys},
        {"hits", s.l2_hits},
        {"misses", s.l2_misses},
        {"errors", s.l2_errors},
        {"puts_refused_stale", s.l2_puts_refused_stale},
        {"bus_messages_received", s.bus_messages_received},
        {"bus_messages_applied", s.bus_messages_applied},
        // Newest revision this node heard of minus the one it has applied.
        {"bus_lag", s.newest_seen_revision - s.applied_revision},
    };
    for (const auto& [k, v] : l2) {
      w.Key(k);
      w.Uint(v);
    }
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace permcache::http
