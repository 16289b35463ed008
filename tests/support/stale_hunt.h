// The randomized stale-answer hunt of the multi-node suites (G12): a writer moves policy p from
// perm:k-1 to perm:k, round after round; reader threads on other nodes keep checking a random
// user's revoked perm:k-1, either pinned to the acknowledged write's revision
// (at_least_revision) or once their node has applied it. Any allow is a stale answer.
//
// Thread safety: runs its own reader threads; the Checkers must be thread-safe (they are).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "permcache/checker.h"

namespace permcache::testing {

struct StaleHuntResult {
  uint64_t checks = 0, stale = 0, errors = 0;
};

// `write(k)` makes perm:k the only permission of tenant t's role and returns its revision.
// Runs at least `rounds` writes, more while fewer than `min_checks` checks were made (bounded
// by `give_up`). `threads_per_reader` threads per reader node.
inline StaleHuntResult RunStaleHunt(const std::function<uint64_t(int)>& write,
                                    const std::vector<Checker*>& readers, int users, int rounds,
                                    int threads_per_reader = 1, uint64_t min_checks = 0,
                                    std::chrono::seconds give_up = std::chrono::minutes(10)) {
  std::atomic<int> acknowledged{0};
  std::atomic<uint64_t> acknowledged_rev{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0}, stale{0}, errors{0};
  auto reader = [&](Checker* node, int seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    while (!done.load(std::memory_order_acquire)) {
      // The revision first, then k: a reader that sees k also sees a revision >= write k's.
      const uint64_t rev = acknowledged_rev.load(std::memory_order_acquire);
      const int k = acknowledged.load(std::memory_order_acquire);
      if (k == 0) continue;
      const std::string user = "u" + std::to_string(rng() % static_cast<unsigned>(users));
      // CheckRequest holds string_views: the strings must outlive it.
      const std::string revoked = "perm:" + std::to_string(k - 1);
      CheckRequest r{.tenant = "t", .user = user, .permission = revoked};
      if (rng() % 2 == 0) {
        r.at_least_revision = rev;
      } else if (node->AppliedRevision() < rev) {
        continue;  // not yet told about write k: any answer is within the bus delay
      }
      auto d = node->Check(r);
      checks.fetch_add(1, std::memory_order_relaxed);
      if (!d.ok()) {
        errors.fetch_add(1, std::memory_order_relaxed);
      } else if (d->allowed) {
        stale.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < readers.size(); ++i) {
    for (int j = 0; j < threads_per_reader; ++j) {
      threads.emplace_back(reader, readers[i], static_cast<int>(i) * 10 + j);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + give_up;
  for (int k = 1; k <= rounds || (checks.load() < min_checks &&
                                  std::chrono::steady_clock::now() < deadline);
       ++k) {
    const uint64_t rev = write(k);
    // rev first, then k (see the reader).
    acknowledged_rev.store(rev, std::memory_order_release);
    acknowledged.store(k, std::memory_order_release);
  }
  done.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  return {checks.load(), stale.load(), errors.load()};
}

}  // namespace permcache::testing
