// Regression tests for two races found in review (both served a revoked permission; both
// tests failed before the fixes in checker.cc):
//
// 1. MaintenanceReenablesL1AfterBusLost: CheckerImpl::MaintenanceLoop checks "bus up && L1
//    unusable", runs CatchUp (slow: store reads), then unconditionally stores l1_usable_=true.
//    If the bus is lost again during CatchUp, OnBusState(false) has already flushed L1 and set
//    l1_usable_=false; the maintenance store then turns L1 back on with no bus. L1 then serves
//    other nodes' revocations stale; and since l1_usable_ is already true when the bus returns,
//    the maintenance thread never catches up, so the staleness outlives the outage.
//
// 2. AdminInvalidateRefillsL1FromStaleL2: CheckerImpl::Invalidate clears L1 first and L2 second
//    (the opposite of the write path). A check between the two refills L1 from the L2 entry the
//    admin is clearing; it is served from L1 after Invalidate returned.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "permcache/checker.h"
#include "permcache/forwarding_store.h"
#include "permcache/remote_cache.h"
#include "permcache/store.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"
#include "unit/checker/checker_fixture.h"

namespace permcache::testing {
namespace {

using namespace std::chrono_literals;

// A Store whose CurrentRevision() can be made to block once (to hold the maintenance thread
// inside tracker_.CatchUp()).
class GatedStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  void Arm() {
    std::lock_guard l(mu_);
    armed_ = true;
    reached_ = false;
    released_ = false;
  }
  bool WaitReached(std::chrono::milliseconds t) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, t, [&] { return reached_; });
  }
  void Release() {
    {
      std::lock_guard l(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  StatusOr<uint64_t> CurrentRevision() override {
    {
      std::unique_lock l(mu_);
      if (armed_) {
        armed_ = false;
        reached_ = true;
        cv_.notify_all();
        cv_.wait(l, [&] { return released_; });
      }
    }
    return ForwardingStore::CurrentRevision();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false, reached_ = false, released_ = false;
};

// An in-memory RemoteCache. `store_entries` false: every Get misses (a perfectly coherent L2).
class FakeRemote final : public RemoteCache {
 public:
  explicit FakeRemote(bool store_entries) : store_entries_(store_entries) {}
  StatusOr<std::optional<UserGrants>> Get(std::string_view t, std::string_view u) override {
    std::lock_guard l(mu_);
    auto it = l2_.find({std::string(t), std::string(u)});
    if (it == l2_.end()) return std::optional<UserGrants>();
    return std::optional<UserGrants>(it->second);
  }
  Status Put(std::string_view t, std::string_view u, const UserGrants& g) override {
    if (!store_entries_) return Status::Ok();
    std::lock_guard l(mu_);
    l2_[{std::string(t), std::string(u)}] = g;
    return Status::Ok();
  }
  Status InvalidateAndPublish(const ChangeSet& c) override { return Invalidate(c); }
  Status Invalidate(const ChangeSet& c) override {
    std::lock_guard l(mu_);
    for (const auto& k : c.users) l2_.erase(k);
    for (const auto& t : c.tenants) {
      for (auto it = l2_.begin(); it != l2_.end();) {
        it = it->first.first == t ? l2_.erase(it) : std::next(it);
      }
    }
    return Status::Ok();
  }
  StatusOr<uint64_t> AdminInvalidate(const AdminInvalidation& what) override {
    if (admin_hook) admin_hook();  // e.g. a request arriving while Redis SCANs
    std::lock_guard l(mu_);
    uint64_t n = 0;
    for (auto it = l2_.begin(); it != l2_.end();) {
      const bool match = what.all || (it->first.first == what.tenant && what.user.empty()) ||
                         (it->first.second == what.user &&
                          (what.tenant.empty() || it->first.first == what.tenant));
      if (match) {
        it = l2_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  void StartBus(std::function<void(const ChangeSet&)> on_change,
                std::function<void(const AdminInvalidation&)> on_admin,
                std::function<void(bool)> on_bus_state) override {
    on_change_ = std::move(on_change);
    on_admin_ = std::move(on_admin);
    on_bus_state_ = std::move(on_bus_state);
  }
  void StopBus() override {}  // no thread: callbacks run on the test's thread
  RemoteCacheStats Stats() const override { return {}; }
  std::string Health() const override { return "up"; }

  void BusState(bool up) { on_bus_state_(up); }
  void Seed(std::string t, std::string u, UserGrants g) {
    std::lock_guard l(mu_);
    l2_[{std::move(t), std::move(u)}] = std::move(g);
  }
  std::function<void()> admin_hook;

 private:
  const bool store_entries_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, UserGrants> l2_;
  std::function<void(const ChangeSet&)> on_change_;
  std::function<void(const AdminInvalidation&)> on_admin_;
  std::function<void(bool)> on_bus_state_;
};


std::vector<WriteOp> SetupOps() {
  return {PutTenant("t"), PutRole("t", "r"), PutPolicy("t", "p", {"doc:read"}),
          PutRolePolicy("t", "r", "p"), PutMember("t", "u"),
          PutUserRole("t", "u", "r")};
}

TEST(BusRaceTest, MaintenanceReenablesL1AfterBusLost) {
  TempDir dir;
  const std::string db = dir.File("a.db");
  auto inner = OpenStore("sqlite:" + db);
  ASSERT_TRUE(inner.ok()) << inner.status().ToString();
  auto gated_owned = std::make_unique<GatedStore>(std::move(inner).value());
  GatedStore* gated = gated_owned.get();
  auto remote_owned = std::make_unique<FakeRemote>(/*store_entries=*/false);
  FakeRemote* remote = remote_owned.get();

  Options o;
  o.changelog_poll_interval = 0ms;  // isolate the bus path (polling only bounds the damage)
  auto opened = Checker::Open(o, std::move(gated_owned), std::move(remote_owned));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Checker> a = std::move(opened).value();
  ASSERT_TRUE(a->Write(SetupOps()).ok());

  remote->BusState(true);
  ASSERT_TRUE(WaitUntil([&] { return a->Stats().l1_enabled; }));

  // Bus flaps: lost, back (maintenance starts catching up), lost again during the catch-up.
  remote->BusState(false);
  ASSERT_FALSE(a->Stats().l1_enabled);
  gated->Arm();
  remote->BusState(true);
  ASSERT_TRUE(gated->WaitReached(3s)) << "maintenance thread never ran CatchUp";
  remote->BusState(false);  // flushes L1, l1_usable_ = false
  gated->Release();         // maintenance: CatchUp ok -> l1_usable_ = true
  std::this_thread::sleep_for(300ms);

  EXPECT_FALSE(a->Stats().l1_enabled) << "L1 re-enabled while the bus is down";

  // Consequence: A caches u's grant, another node revokes it, A's bus is down (no message).
  ASSERT_TRUE(Allowed(*a, "t", "u", "doc:read"));
  {
    auto b = OpenChecker(db, o);
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(b->Write(std::vector<WriteOp>{DeleteUserRole("t", "u", "r")}).ok());
  }
  EXPECT_FALSE(Allowed(*a, "t", "u", "doc:read"))
      << "bus down: must answer from L2/store, but L1 served a revoked permission";

  // The bus returns: the node should catch up before trusting L1 again. It never does.
  remote->BusState(true);
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(Allowed(*a, "t", "u", "doc:read"))
      << "bus is back, yet the revoked permission is still served from L1 (until the TTL)";
}

TEST(BusRaceTest, AdminInvalidateRefillsL1FromStaleL2) {
  TempDir dir;
  const std::string db = dir.File("b.db");
  auto store = OpenStore("sqlite:" + db);
  ASSERT_TRUE(store.ok());
  auto remote_owned = std::make_unique<FakeRemote>(/*store_entries=*/true);
  FakeRemote* remote = remote_owned.get();
  Options o;
  o.changelog_poll_interval = 0ms;
  auto opened = Checker::Open(o, std::move(store).value(), std::move(remote_owned));
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Checker> a = std::move(opened).value();
  remote->BusState(true);
  ASSERT_TRUE(WaitUntil([&] { return a->Stats().l1_enabled; }));

  // The store: u is a member with no role (denied).
  auto rev = a->Write(std::vector<WriteOp>{PutTenant("t"), PutMember("t", "u")});
  ASSERT_TRUE(rev.ok());
  // L2 holds a stale entry granting doc:read (the ARCHITECTURE "known limit" case that the
  // admin clears with `permcache cache clear --all`).
  UserGrants stale;
  stale.membership = MembershipState::kActive;
  stale.revision = *rev;
  stale.grants.push_back(Grant{"p", Effect::kAllow, 0, {"doc:read"}, "", "", "r"});
  remote->Seed("t", "u", stale);

  // A request arrives while the admin clear is running in Redis (after L1 was cleared).
  remote->admin_hook = [&] { (void)Allowed(*a, "t", "u", "doc:read"); };
  InvalidateRequest all;
  all.all = true;
  ASSERT_TRUE(a->Invalidate(all).ok());
  remote->admin_hook = nullptr;

  EXPECT_FALSE(Allowed(*a, "t", "u", "doc:read"))
      << "after Invalidate(all) returned, the stale L2 grant is still served from L1";
}

}  // namespace
}  // namespace permcache::testing
