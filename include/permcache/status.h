// Status and StatusOr<T>: how every permcache API reports expected failures.
//
// Thread safety: values; safe to copy and move between threads.
// Codes map 1:1 to the HTTP API error codes (DESIGN §4) and CLI exit codes.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace permcache {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // HTTP 400, CLI exit 2
  kNotFound,         // HTTP 404
  kUnauthorized,     // HTTP 401
  kPermissionDenied, // HTTP 403 (a wrong resource password)
  kConflict,         // HTTP 409
  kResourceExhausted,  // HTTP 429 (too many failed unlock attempts)
  kUnavailable,      // HTTP 503 (dependency down, revision not reached)
  kInternal,         // HTTP 500
};

// "invalid_argument", "not_found", ... as used in the JSON error body.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message" or "ok".
  std::string ToString() const;

  // Ignores the status explicitly (for best-effort calls).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status UnauthorizedError(std::string m) { return {StatusCode::kUnauthorized, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status ConflictError(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// `s` with `prefix` before its message, same code ("op 3: " + "role 'x' does not exist").
inline Status WithPrefix(const Status& s, std::string_view prefix) {
  return Status(s.code(), std::string(prefix) + s.message());
}

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const T& value) : rep_(value) {}                     // NOLINT(implicit)
  StatusOr(T&& value) : rep_(std::move(value)) {}               // NOLINT(implicit)
  StatusOr(Status status) : rep_(std::move(status)) {           // NOLINT(implicit)
    assert(!std::get<Status>(rep_).ok() && "StatusOr built from an OK Status");
    if (std::get<Status>(rep_).ok()) rep_ = Status(StatusCode::kInternal, "StatusOr from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(rep_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(rep_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(rep_); }
  const T& value() const& { return std::get<T>(rep_); }
  T&& value() && { return std::get<T>(std::move(rep_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> rep_;
};

}  // namespace permcache

// Returns early from the enclosing function when `expr` is a non-OK Status.
#define PERMCACHE_RETURN_IF_ERROR(expr)          \
  do {                                           \
    ::permcache::Status _pc_status = (expr);     \
    if (!_pc_status.ok()) return _pc_status;     \
  } while (0)

#define PERMCACHE_CONCAT_INNER_(a, b) a##b
#define PERMCACHE_CONCAT_(a, b) PERMCACHE_CONCAT_INNER_(a, b)
// Declares `lhs` from a StatusOr expression or returns its error.
#define PERMCACHE_ASSIGN_OR_RETURN(lhs, expr) \
  PERMCACHE_ASSIGN_OR_RETURN_IMPL_(PERMCACHE_CONCAT_(_pc_or_, __LINE__), lhs, expr)
#define PERMCACHE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                     \
  if (!tmp.ok()) return tmp.status();                    \
  lhs = std::move(tmp).value()
