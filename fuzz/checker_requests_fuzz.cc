// Fuzz target: requests as the HTTP layer hands them to a real Checker (SQLite file with the
// demo model), for the request shapes of DESIGN §7: check and batch bodies with resource /
// token / element, the unlock body, the sidebar call and resource listing. The first input byte
// picks the request. Contract under test: any input yields a decision or a Status, never a
// crash, a hang, an exception, a sanitizer report or an internal error; an anonymous visitor
// is never allowed on the demo's private resource; a token that was not issued never grants.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "permcache/checker.h"
#include "server/demo_model.h"
#include "server/http/json_codec.h"

namespace {

using namespace permcache;
using namespace permcache::http;
using permcache::fuzz::Expect;
using permcache::fuzz::kDepth;

// Errors a request may get; kInternal (or anything else) is a bug.
void ExpectClientError(const Status& s) {
  Expect(s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
         s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kResourceExhausted);
}

// The demo model in a temporary SQLite file, removed at exit (not before: the store opens
// reader connections on demand).
class DemoNode {
 public:
  DemoNode()
      : db_((std::filesystem::temp_directory_path() /
             ("permcache-fuzz-" + std::to_string(getpid()) + ".db"))
                .string()) {
    RemoveFiles();
    Options o;
    o.store_url = "sqlite:" + db_;
    o.resources.password_memory_kib = 64;  // a cheap KDF: every unlock input verifies one hash
    o.resources.password_passes = 1;
    o.resources.unlock_max_failures = 1'000'000'000;  // the limit is not under test here
    auto c = Checker::Open(o);
    Expect(c.ok());
    checker_ = std::move(*c);
    Expect(checker_->Write(DemoOps()).ok());
  }
  ~DemoNode() {
    checker_.reset();
    RemoveFiles();
  }
  Checker& checker() { return *checker_; }

 private:
  void RemoveFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_ + suffix);
  }
  const std::string db_;
  std::unique_ptr<Checker> checker_;
};

Checker& DemoChecker() {
  static DemoNode node;
  return node.checker();
}

// Splits `in` at '\n' into at most `n` fields (missing ones are empty).
std::vector<std::string_view> Fields(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const size_t nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  out.push_back(in);
  out.resize(n);
  return out;
}

void CheckOne(Checker& checker, CheckInput in) {
  // A revision beyond the head waits for it (consistency_timeout): not what is fuzzed here.
  in.at_least_revision = std::min(in.at_least_revision, checker.AppliedRevision());
  StatusOr<Decision> d = checker.Check(in.View());
  if (!d.ok()) {
    Expect(d.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  if (in.tenant == "cinemata" && in.resource == "diary" && in.user.empty()) {
    Expect(!d->allowed);  // private: a visitor never gets in, whatever the token says
  }
  if (in.tenant == "cinemata" && in.resource == "premiere" && in.user.empty() &&
      !in.token.empty()) {
    Expect(!d->allowed);  // no input here carries a token the server signed
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Checker& checker = DemoChecker();
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: {
      StatusOr<CheckInput> check = ParseCheckJson(in, kDepth);
      if (check.ok()) CheckOne(checker, *check);
      break;
    }
    case 1: {
      StatusOr<std::vector<CheckInput>> checks = ParseBatchJson(in, kDepth, 100);
      if (!checks.ok()) break;
      for (const CheckInput& c : *checks) CheckOne(checker, c);
      break;
    }
    case 2: {
      StatusOr<UnlockInput> unlock = ParseUnlockJson(in, kDepth);
      if (!unlock.ok()) break;
      int64_t retry = 0;
      StatusOr<UnlockResult> r = checker.Unlock(
          {unlock->tenant, unlock->resource, unlock->password, "fuzz"}, &retry);
      if (!r.ok()) {
        ExpectClientError(r.status());
        break;
      }
      // Only the demo's password opens the demo's restricted resource, and its token works.
      Expect(unlock->password == kDemoRestrictedPassword);
      StatusOr<Decision> d = checker.Check({.tenant = unlock->tenant,
                                            .permission = "media:view",
                                            .resource = unlock->resource,
                                            .token = r->token});
      Expect(d.ok() && d->allowed);
      break;
    }
    case 3: {  // tenant \n user \n comma-separated elements
      const std::vector<std::string_view> f = Fields(in, 3);
      std::vector<std::string> elements;
      for (size_t start = 0; !f[2].empty() && start <= f[2].size();) {
        const size_t comma = std::min(f[2].find(',', start), f[2].size());
        elements.emplace_back(f[2].substr(start, comma - start));
        start = comma + 1;
      }
      StatusOr<UiAnswer> ui = checker.UiElements(f[0], f[1], elements);
      if (!ui.ok()) {
        ExpectClientError(ui.status());
      } else if (!elements.empty()) {
        Expect(ui->elements.size() == elements.size());
      }
      break;
    }
    case 4: {  // tenant \n user \n permission \n type \n cursor \n limit
      const std::vector<std::string_view> f = Fields(in, 6);
      size_t limit = 0;
      for (char c : f[5].substr(0, 6)) limit = limit * 10 + static_cast<size_t>(c & 15);
      StatusOr<ResourceList> list = checker.ListResources(
          {.tenant = f[0], .user = f[1], .permission = f[2], .type = f[3], .limit = limit,
           .cursor = f[4]});
      if (!list.ok()) {
        ExpectClientError(list.status());
      } else {
        Expect(list->resources.size() <= limit);
      }
      break;
    }
  }
  return 0;
}
