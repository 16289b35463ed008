// JsonWriter: appends JSON text to a caller-owned std::string. Used for every response body, so
// that the hot path (GET /v1/check) never touches Boost.JSON and allocates nothing once the
// string has capacity.
//
// Thread safety: a writer is used by one thread; the functions here are pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace permcache::http {

// Appends `s` as a quoted JSON string. Control characters are escaped; bytes that are not valid
// UTF-8 become U+FFFD so the output is always valid JSON even when echoing client input.
void AppendJsonString(std::string* out, std::string_view s);
void AppendUint(std::string* out, uint64_t v);
void AppendInt(std::string* out, int64_t v);
// Shortest round-trip representation; NaN/Inf (never produced here) become 0.
void AppendDouble(std::string* out, double v);

// A tiny streaming writer that tracks commas. Not a validator: callers nest correctly.
//   JsonWriter w(&body);
//   w.BeginObject(); w.Key("allowed"); w.Bool(true); w.EndObject();
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Sep(); out_->push_back('{'); first_ = true; }
  void EndObject() { out_->push_back('}'); first_ = false; }
  void BeginArray() { Sep(); out_->push_back('['); first_ = true; }
  void EndArray() { out_->push_back(']'); first_ = false; }
  void Key(std::string_view k) {
    Sep();
    AppendJsonString(out_, k);
    out_->push_back(':');
    first_ = true;  // the value follows without a comma
  }
  void String(std::string_view s) { Sep(); AppendJsonString(out_, s); }
  void Uint(uint64_t v) { Sep(); AppendUint(out_, v); }
  void Int(int64_t v) { Sep(); AppendInt(out_, v); }
  void Double(double v) { Sep(); AppendDouble(out_, v); }
  void Bool(bool b) { Sep(); out_->append(b ? "true" : "false"); }
  void Null() { Sep(); out_->append("null"); }
  void StringArray(std::span<const std::string> items) {
    BeginArray();
    for (const auto& s : items) String(s);
    EndArray();
  }

 private:
  void Sep() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  std::string* out_;
  bool first_ = true;
};

}  // namespace permcache::http
