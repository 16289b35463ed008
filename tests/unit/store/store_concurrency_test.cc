// Concurrency: two Store instances on one file (as two processes would), concurrent writers on
// both, and parallel LoadGrants while writing. Meant to run under ASan/TSan too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unit/store/store_test_util.h"

namespace permcache::store_test {
namespace {

using ::testing::ElementsAre;

TEST_P(StoreTest, TwoInstancesOnOneFileSeeEachOthersWrites) {
  std::unique_ptr<Store> other = OpenUrl(url());
  ASSERT_NE(other, nullptr);
  MustApply(HospitalOps());
  EXPECT_EQ(*other->CurrentRevision(), 1u);
  StatusOr<UserGrants> g = other->LoadGrants("t1", "bob");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->grants.size(), 1u);

  ChangeSet cs = MustApply(*other, {PutRolePolicy("t1", "nurse", "extra")});
  EXPECT_EQ(cs.revision, 2u);
  EXPECT_EQ(Revision(), 2u);
  EXPECT_EQ(Grants("t1", "bob").grants.size(), 2u);
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(1, 10);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].users, cs.users);
}

TEST_P(StoreTest, ConcurrentWritersOnTwoInstancesGetAStrictSequence) {
  std::unique_ptr<Store> other = OpenUrl(url());
  ASSERT_NE(other, nullptr);
  MustApply({PutTenant("t1"), PutRole("t1", "r"), PutPolicy("t1", "p", {"a:b"})});
  constexpr int kThreadsPerStore = 2;
  constexpr int kWritesPerThread = 40;
  std::mutex mu;
  std::vector<uint64_t> all_revisions;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < 2; ++s) {
    Store* store = s == 0 ? store_.get() : other.get();
    for (int t = 0; t < kThreadsPerStore; ++t) {
      threads.emplace_back([&, store, s, t] {
        std::vector<uint64_t> mine;
        std::string user = "u" + std::to_string(s) + "_" + std::to_string(t);
        for (int i = 0; i < kWritesPerThread; ++i) {
          std::vector<WriteOp> ops = {i % 2 == 0 ? PutUserRole("t1", user, "r")
                                                 : DeleteUserRole("t1", user, "r")};
          StatusOr<ChangeSet> cs = store->Apply(ops);
          if (!cs.ok()) {
            ADD_FAILURE() << cs.status().ToString();
            failures.fetch_add(1, std::memory_order_relaxed);
            continue;
          }
          EXPECT_EQ(cs->users, (UserKeys{{"t1", user}}));
          // Each writer's own revisions strictly increase.
          if (!mine.empty()) {
            EXPECT_GT(cs->revision, mine.back());
          }
          mine.push_back(cs->revision);
        }
        std::lock_guard<std::mutex> lock(mu);
        all_revisions.insert(all_revisions.end(), mine.begin(), mine.end());
      });
    }
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  // Together they form exactly 2..N+1: no duplicates, no gaps.
  std::sort(all_revisions.begin(), all_revisions.end());
  const size_t n = 2 * kThreadsPerStore * kWritesPerThread;
  ASSERT_EQ(all_revisions.size(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(all_revisions[i], i + 2);
  EXPECT_EQ(*other->CurrentRevision(), n + 1);
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(1, 10 * n);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ((*changes)[i].revision, i + 2);
    EXPECT_EQ((*changes)[i].users.size(), 1u);
  }
}

// The production shape: separate processes (2-3 servers) writing one file. Children open their
// own store after fork() and never touch the parent's connections.
TEST_P(StoreTest, WritersInSeveralProcessesGetAStrictSequence) {
  MustApply({PutTenant("t1"), PutRole("t1", "r")});
  store_.reset();  // no connection of the parent is open across fork()
  constexpr int kChildren = 3;
  constexpr int kWrites = 40;
  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int code = 0;
      {
        StatusOr<std::unique_ptr<Store>> store = OpenStore(url());
        if (!store.ok()) code = 2;
        uint64_t last = 0;
        for (int i = 0; code == 0 && i < kWrites; ++i) {
          std::string user = "p" + std::to_string(c);
          std::vector<WriteOp> ops = {i % 2 == 0 ? PutUserRole("t1", user, "r")
                                                 : DeleteUserRole("t1", user, "r")};
          StatusOr<ChangeSet> cs = (*store)->Apply(ops);
          if (!cs.ok() || cs->revision <= last) code = 3;
          if (cs.ok()) last = cs->revision;
        }
      }
      _exit(code);  // skip gtest's atexit handlers in the child
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  store_ = OpenUrl(url());
  const uint64_t n = kChildren * kWrites;
  EXPECT_EQ(Revision(), n + 1);
  StatusOr<std::vector<ChangeSet>> changes = store_->ChangesSince(1, 2 * n);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), n);
  std::map<std::string, int> per_user;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ((*changes)[i].revision, i + 2);
    ASSERT_EQ((*changes)[i].users.size(), 1u);
    ++per_user[(*changes)[i].users[0].second];
  }
  for (int c = 0; c < kChildren; ++c) EXPECT_EQ(per_user["p" + std::to_string(c)], kWrites);
}

TEST_P(StoreTest, ParallelLoadGrantsWhileWritingSeeConsistentSnapshots) {
  MustApply(HospitalOps());
  std::unique_ptr<Store> other = OpenUrl(url());
  ASSERT_NE(other, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> loads{0};
  // The writer swaps nurse's policy between "read" and "extra" in one batch: any snapshot shows
  // alice exactly one of them, never both or neither.
  std::thread writer([&] {
    for (int i = 0; i < 60; ++i) {
      std::vector<WriteOp> ops =
          i % 2 == 0 ? std::vector<WriteOp>{DeleteRolePolicy("t1", "nurse", "read"),
                                            PutRolePolicy("t1", "nurse", "extra")}
                     : std::vector<WriteOp>{DeleteRolePolicy("t1", "nurse", "extra"),
                                            PutRolePolicy("t1", "nurse", "read")};
      StatusOr<ChangeSet> cs = (i % 3 == 0 ? other : store_)->Apply(ops);
      EXPECT_TRUE(cs.ok()) << cs.status().ToString();
    }
    stop.store(true, std::memory_order_release);
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 8; ++r) {
    readers.emplace_back([&, r] {
      Store* store = r % 2 == 0 ? store_.get() : other.get();
      uint64_t last_revision = 0;
      // Loop until the writer is done, and at least a few times.
      for (int i = 0; i < 5 || !stop.load(std::memory_order_acquire); ++i) {
        StatusOr<UserGrants> g = store->LoadGrants("t1", r % 4 == 0 ? "bob" : "alice");
        if (!g.ok()) {
          ADD_FAILURE() << g.status().ToString();
          return;
        }
        EXPECT_EQ(g->membership, MembershipState::kActive);
        ASSERT_EQ(g->grants.size(), 1u) << "revision " << g->revision;
        // Odd revisions after the import (1) hold "extra", even ones "read".
        EXPECT_EQ(g->grants[0].policy, g->revision % 2 == 0 ? "extra" : "read")
            << "revision " << g->revision;
        EXPECT_GE(g->revision, last_revision);
        last_revision = g->revision;
        loads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  writer.join();
  for (auto& th : readers) th.join();
  EXPECT_GE(loads.load(), 40);
  EXPECT_EQ(Revision(), 61u);
}

TEST_P(StoreTest, ParallelReadsOfEveryKind) {
  MustApply(HospitalOps());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        switch ((t + i) % 5) {
          case 0:
            EXPECT_TRUE(store_->LoadGrants("t1", "dave").ok());
            break;
          case 1:
            EXPECT_TRUE(store_->Export("").ok());
            break;
          case 2:
            EXPECT_TRUE(store_->CurrentRevision().ok());
            break;
          case 3:
            EXPECT_TRUE(store_->ChangesSince(0, 10).ok());
            break;
          default:
            EXPECT_TRUE(store_->Ping().ok());
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}

}  // namespace
}  // namespace permcache::store_test
