// Fuzz target: every parser that reads bytes from the network (request-target split, query
// parameters, percent-decoding, the JSON bodies of check / batch / write / model / invalidate,
// the If-None-Match header), plus the model validators they feed. The first input byte picks the parser so one corpus
// covers them all. Contract under test: any input yields a value or a Status, never a crash,
// a hang, an uncaught exception or a sanitizer report; accepted write ops pass ValidateOps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "permcache/model.h"
#include "server/http/etag.h"
#include "server/http/json_codec.h"
#include "server/http/query.h"

namespace {

using namespace permcache;
using namespace permcache::http;
using permcache::fuzz::Expect;
using permcache::fuzz::kDepth;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: {
      Target t = SplitTarget(in);
      QueryParams q;
      if (q.Parse(t.query).ok()) {
        for (size_t i = 0; i < q.size(); ++i) Expect(q.Get(q.key(i)).has_value());
      }
      break;
    }
    case 1: {
      std::string out;
      (void)PercentDecode(in, data[0] & 8, &out);
      break;
    }
    case 2:
      (void)ParseCheckJson(in, kDepth);
      break;
    case 3:
      (void)ParseBatchJson(in, kDepth, 1000);
      break;
    case 4: {
      auto ops = ParseWriteJson(in, kDepth);
      if (ops.ok()) (void)ValidateOps(*ops);
      break;
    }
    case 5: {
      auto model = ParseModelJson(in, kDepth);
      if (model.ok()) {
        // What parses must serialize and parse back to the same model.
        std::string text;
        AppendModelJson(*model, &text);
        auto again = ParseModelJson(text, kDepth);
        Expect(again.ok() && *again == *model);
      }
      break;
    }
    case 6:
      (void)ParseInvalidateJson(in, kDepth);
      break;
    case 7:
      (void)ValidatePattern(in);
      (void)ValidatePermission(in);
      (void)ValidateId("id", in);
      // Byte strings as header values too (the selector byte has no free value left).
      (void)IfNoneMatchMatches(in, "\"pc-0000000000000000\"");
      break;
  }
  return 0;
}
