// RevisionTracker against an in-memory changelog (a unit-test fake; the checker tests cover the
// same paths against real SQLite files).
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "invalidation/revision_tracker.h"
#include "support/wait_until.h"

namespace permcache {
namespace {

class ChangelogStore final : public Store {
 public:
  void Commit(ChangeSet c) {
    std::lock_guard<std::mutex> l(mu_);
    changes_[c.revision] = std::move(c);
    if (changes_.rbegin()->first > revision_) revision_ = changes_.rbegin()->first;
  }
  // A revision that committed without changelog rows.
  void BumpEmpty() {
    std::lock_guard<std::mutex> l(mu_);
    ++revision_;
  }
  bool down = false;
  uint64_t pruned_through = 0;  // what PrunedThrough() reports

  StatusOr<ChangeSet> Apply(std::span<const WriteOp>) override { return InternalError("unused"); }
  StatusOr<UserGrants> LoadGrants(std::string_view, std::string_view) override {
    return InternalError("unused");
  }
  StatusOr<ResourceRecord> LoadResource(std::string_view, std::string_view) override {
    return InternalError("unused");
  }
  StatusOr<UiElementRecord> LoadUiElement(std::string_view, std::string_view) override {
    return InternalError("unused");
  }
  StatusOr<std::vector<std::string>> ListUiElements(std::string_view) override {
    return InternalError("unused");
  }
  StatusOr<std::vector<ResourceRow>> ScanResources(std::string_view, std::string_view,
                                                   std::string_view, size_t) override {
    return InternalError("unused");
  }
  StatusOr<std::string> TokenSigningKey() override { return InternalError("unused"); }
  StatusOr<Model> Export(std::string_view) override { return InternalError("unused"); }
  StatusOr<uint64_t> CurrentRevision() override {
    if (down) return UnavailableError("down");
    std::lock_guard<std::mutex> l(mu_);
    return revision_;
  }
  StatusOr<std::vector<ChangeSet>> ChangesSince(uint64_t after, size_t limit) override {
    if (down) return UnavailableError("down");
    std::lock_guard<std::mutex> l(mu_);
    std::vector<ChangeSet> out;
    for (auto it = changes_.upper_bound(after); it != changes_.end() && out.size() < limit; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  StatusOr<uint64_t> PrunedThrough() override { return pruned_through; }
  Status Ping() override { return Status::Ok(); }
  std::string Describe() const override { return "fake"; }

 private:
  std::mutex mu_;
  std::map<uint64_t, ChangeSet> changes_;
  uint64_t revision_ = 0;
};

ChangeSet Change(uint64_t rev, std::string user) {
  ChangeSet c;
  c.revision = rev;
  c.users.push_back({"t", std::move(user)});
  return c;
}

struct Recorder {
  std::mutex mu;
  std::vector<uint64_t> applied;
  int everything = 0;  // ChangeSet::everything flushes seen
  RevisionTracker::ApplyFn fn() {
    return [this](const ChangeSet& c, RevisionTracker::Origin) {
      std::lock_guard<std::mutex> l(mu);
      if (c.everything) {
        ++everything;
      } else {
        applied.push_back(c.revision);
      }
    };
  }
};

TEST(RevisionTrackerTest, CursorOlderThanTheRetainedChangelogFlushesEverything) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 2, rec.fn());
  // Revisions 3..5 were pruned; 6 is still in the changelog.
  store.Commit(Change(6, "f"));
  store.pruned_through = 5;
  ASSERT_TRUE(tracker.CatchUp().ok());
  EXPECT_EQ(rec.everything, 1);
  EXPECT_EQ(tracker.applied(), 6u);
  // Within retention it pages as usual.
  store.Commit(Change(7, "g"));
  ASSERT_TRUE(tracker.CatchUp().ok());
  EXPECT_EQ(rec.everything, 1);
  EXPECT_EQ(rec.applied, (std::vector<uint64_t>{7}));
}

TEST(RevisionTrackerTest, StoreBehindTheCursorFlushesAndMovesBack) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 10, rec.fn());  // e.g. a backup restored to revision 0
  ASSERT_TRUE(tracker.CatchUp().ok());
  EXPECT_EQ(rec.everything, 1);
  EXPECT_EQ(tracker.applied(), 0u);
  // New writes reusing revision numbers are applied, not skipped as "already seen".
  store.Commit(Change(1, "a"));
  ASSERT_TRUE(tracker.OnChange(Change(1, "a")).ok());
  EXPECT_EQ(rec.applied, (std::vector<uint64_t>{1}));
}

TEST(RevisionTrackerTest, RebaseFlushesAndRestartsAtTheHead) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 50, rec.fn());
  store.Commit(Change(3, "c"));
  ASSERT_TRUE(tracker.Rebase().ok());
  EXPECT_EQ(rec.everything, 1);
  EXPECT_EQ(tracker.applied(), 3u);
}

TEST(RevisionTrackerTest, ContiguousChangesAdvance) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  store.Commit(Change(1, "a"));
  ASSERT_TRUE(tracker.OnChange(Change(1, "a")).ok());
  EXPECT_EQ(tracker.applied(), 1u);
  EXPECT_EQ(rec.applied, (std::vector<uint64_t>{1}));
}

TEST(RevisionTrackerTest, GapIsCaughtUpFromChangelog) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  store.Commit(Change(1, "a"));
  store.Commit(Change(2, "b"));  // made by another node; its message was missed
  store.Commit(Change(3, "c"));
  ASSERT_TRUE(tracker.OnChange(Change(3, "c")).ok());
  EXPECT_EQ(tracker.applied(), 3u);
  // 3 applied on receipt, then 1, 2 (and 3 again, harmlessly) from the changelog.
  std::vector<uint64_t> got = rec.applied;
  EXPECT_NE(std::find(got.begin(), got.end(), 1u), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), 2u), got.end());
  EXPECT_EQ(tracker.catch_ups(), 1u);
}

TEST(RevisionTrackerTest, DoesNotAdvancePastAGapWhenStoreIsDown) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  store.Commit(Change(1, "a"));
  store.Commit(Change(2, "b"));
  store.down = true;
  EXPECT_FALSE(tracker.OnChange(Change(2, "b")).ok());
  EXPECT_EQ(tracker.applied(), 0u);  // revision 1 was never applied: must not claim 2
  EXPECT_EQ(tracker.newest_seen(), 2u);
  store.down = false;
  ASSERT_TRUE(tracker.CatchUp().ok());
  EXPECT_EQ(tracker.applied(), 2u);
}

TEST(RevisionTrackerTest, RevisionsWithoutRowsStillCount) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  store.Commit(Change(1, "a"));
  store.BumpEmpty();  // revision 2 changed nothing
  ASSERT_TRUE(tracker.CatchUp().ok());
  EXPECT_EQ(tracker.applied(), 2u);
}

TEST(RevisionTrackerTest, WaitForTimesOutWhenStoreIsBehind) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  Status s = tracker.WaitFor(5, std::chrono::milliseconds(20));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  store.Commit(Change(5, "x"));
  EXPECT_TRUE(tracker.WaitFor(5, std::chrono::milliseconds(20)).ok());
  EXPECT_GE(tracker.applied(), 5u);
}

TEST(RevisionTrackerTest, WaitForSeesACommitThatLandsWhileWaiting) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    store.Commit(Change(1, "late"));
  });
  EXPECT_TRUE(tracker.WaitFor(1, std::chrono::seconds(5)).ok());
  writer.join();
}

TEST(RevisionTrackerTest, PollingAppliesOtherWriters) {
  ChangelogStore store;
  Recorder rec;
  RevisionTracker tracker(&store, 0, rec.fn());
  tracker.StartPolling(std::chrono::milliseconds(1));
  store.Commit(Change(1, "a"));
  EXPECT_TRUE(testing::WaitUntil([&] { return tracker.applied() >= 1; }));
  EXPECT_EQ(tracker.applied(), 1u);
}

}  // namespace
}  // namespace permcache
