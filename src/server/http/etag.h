// Conditional reads (RFC 9110 §8.8.3, §13.1.2): content entity tags and If-None-Match.
//
// A tag is derived from the content of an answer, never from the store revision: the revision
// moves on every write anywhere (and differs between nodes that applied different writes), the
// content only when this answer changes. HashBytes is deterministic (fixed seeds), so every node
// running the same version gives the same content the same tag.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace permcache::http {

// If-None-Match values longer than this are not parsed (a non-match): a poller sends one tag.
inline constexpr size_t kMaxIfNoneMatchBytes = 8 * 1024;

// Replaces `*out` with the strong tag of `content`: "\"pc-<16 lowercase hex digits>\"" (quotes
// included, as the ETag header carries them), the 64-bit HashBytes of `content`.
void SetContentTag(std::string_view content, std::string* out);

// Whether an If-None-Match field value matches `tag` (a strong tag with its quotes): "*", or a
// comma-separated list of entity tags of which one equals `tag` under weak comparison (a "W/"
// prefix is ignored). An empty, malformed or over-long value never matches: RFC 9110 has a
// recipient ignore an invalid condition, so it costs the client a full answer, never an error.
bool IfNoneMatchMatches(std::string_view field_value, std::string_view tag);

}  // namespace permcache::http
