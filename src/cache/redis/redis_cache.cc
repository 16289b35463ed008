#include "cache/redis/redis_cache.h"

#include "permcache/model.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>

#include "cache/redis/codec.h"
#include "common/clock.h"
#include "cache/redis/connection.h"
#include "cache/redis/scripts.h"

namespace permcache::redis {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kScanCount = 500;  // SCAN COUNT hint and UNLINK batch
constexpr size_t kBatchKeys = 500;  // keys per MGET / pipeline / invalidate script call
constexpr int64_t kErrorLogIntervalMs = 10'000;

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

// Maps a reply to a status: error replies become kUnavailable naming the command.
StatusOr<ReplyPtr> Expect(StatusOr<ReplyPtr> reply, std::string_view op) {
  if (!reply.ok()) return reply;
  if (IsError(reply->get())) return ReplyErrorStatus(reply->get(), op);
  return reply;
}

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

std::string DefaultNodeId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::random_device rd;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08x", rd());
  return std::string(host[0] != '\0' ? host : "node") + ":" + std::to_string(getpid()) + ":" +
         suffix;
}

// A user id, or a record key (store.h) naming a resource or element id: how checkers pass the
// record forms of an admin invalidation.
Status ValidateUserOrRecordKey(std::string_view key) {
  for (std::string_view prefix : {kResourceKeyPrefix, kElementKeyPrefix}) {
    if (key.starts_with(prefix)) return ValidateId("record id", key.substr(prefix.size()));
  }
  return ValidateId("user", key);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pool: idle connections, the up/down state and the "reconnect" thread.
//
// Why a state at all: when Redis dies, every caller would otherwise pay a connect attempt (or a
// full command timeout when the host is black-holed). Instead the first failure marks the pool
// down, callers fail fast with kUnavailable, and one thread probes with backoff.
class RedisCache::Pool {
 public:
  explicit Pool(const RedisConfig& config) : config_(config) {}
  ~Pool() { Stop(); }

  // The first connection, made synchronously by Open().
  Status ConnectFirst() {
    StatusOr<std::unique_ptr<Connection>> conn =
        Connection::Open(config_, SteadyClock::now() + config_.connect_timeout);
    if (!conn.ok()) {
      if (conn.status().code() != StatusCode::kUnavailable || config_.require_connection_at_open) {
        return conn.status();
      }
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = conn.status().message();
      spdlog::warn("redis {} is down at startup ({}); reconnecting in the background",
                   DescribeRedisConfig(config_), last_error_);
      return Status::Ok();
    }
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(*conn));
    up_.store(true, std::memory_order_release);
    return Status::Ok();
  }

  void StartReconnector() {
    reconnector_ = std::thread([this] { ReconnectLoop(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (reconnector_.joinable()) reconnector_.join();
  }

  // A connection for one operation: an idle one, else (while up) a new one made within
  // `deadline`. Fails fast while down. *reused tells whether it came from the idle list.
  StatusOr<std::unique_ptr<Connection>> Acquire(SteadyClock::time_point deadline, bool* reused) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        *reused = true;
        return conn;
      }
      if (!up_.load(std::memory_order_acquire)) {
        return UnavailableError("redis is down (" + last_error_ +
                                "); reconnecting in the background");
      }
    }
    *reused = false;
    // The connect shares the caller's budget so a check never waits longer than one
    // command_timeout in total.
    auto connect_deadline = std::min(deadline, SteadyClock::now() + config_.connect_timeout);
    StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(config_, connect_deadline);
    if (!conn.ok() && conn.status().code() == StatusCode::kUnavailable) MarkDown(conn.status());
    return conn;
  }

  void Release(std::unique_ptr<Connection> conn) {
    if (conn->broken()) return;
    // A fresh connection carries the caller's leftover budget as timeout; reset it.
    if (!conn->SetTimeout(config_.command_timeout).ok()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < config_.pool_size && up_.load(std::memory_order_relaxed)) {
      idle_.push_back(std::move(conn));
    }  // else the surplus connection closes when `conn` goes out of scope
  }

  // Drops the idle connections: after one turned out dead the others probably are too.
  void DropIdle() {
    std::vector<std::unique_ptr<Connection>> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    dropped.swap(idle_);
  }

  void MarkDown(const Status& why) {
    std::vector<std::unique_ptr<Connection>> dropped;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!up_.load(std::memory_order_relaxed)) return;
      up_.store(false, std::memory_order_release);
      last_error_ = why.message();
      dropped.swap(idle_);
    }
    cv_.notify_all();
    spdlog::warn("redis {} is down: {}; failing fast and reconnecting in the background",
                 DescribeRedisConfig(config_), why.message());
    if (config_.on_connection_state) config_.on_connection_state(false);
  }

  bool up() const { return up_.load(std::memory_order_acquire); }

 private:
  void ReconnectLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !up_.load(std::memory_order_relaxed); });
      if (stop_) return;
      milliseconds backoff = config_.reconnect_backoff_initial;
      while (!stop_ && !up_.load(std::memory_order_relaxed)) {
        // Wait first: the failure that marked us down just happened.
        cv_.wait_for(lock, backoff, [this] { return stop_; });
        if (stop_) return;
        backoff = std::min(backoff * 2, config_.reconnect_backoff_max);
        lock.unlock();
        StatusOr<std::unique_ptr<Connection>> conn =
            Connection::Open(config_, SteadyClock::now() + config_.connect_timeout);
        lock.lock();
        if (!conn.ok()) {
          if (conn.status().message() != last_error_) {
            spdlog::debug("redis reconnect failed: {}", conn.status().message());
            last_error_ = conn.status().message();
          }
          continue;
        }
        idle_.push_back(std::move(*conn));
        up_.store(true, std::memory_order_release);
        last_error_.clear();
        lock.unlock();
        spdlog::info("redis {} is up again", DescribeRedisConfig(config_));
        if (config_.on_connection_state) config_.on_connection_state(true);
        lock.lock();
      }
    }
  }

  const RedisConfig& config_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_ PERMCACHE_GUARDED_BY(mu_);
  std::string last_error_ PERMCACHE_GUARDED_BY(mu_);
  bool stop_ PERMCACHE_GUARDED_BY(mu_) = false;
  // Written under mu_; read without it on the fast path. Release/acquire so a caller that sees
  // "up" also sees the idle connection the reconnect thread pushed before setting it.
  std::atomic<bool> up_{false};
  std::thread reconnector_;
};

// ---------------------------------------------------------------------------------------------

RedisCache::RedisCache(RedisConfig config)
    : config_(std::move(config)),
      keys_(config_.key_prefix, config_.cache_version),
      // A tombstone must outlive every entry written before it (the longest TTL with jitter),
      // plus a minute for fills that read the store just before the invalidation.
      tombstone_ttl_ms_(
          static_cast<int64_t>(
              std::ceil(static_cast<double>(std::max(config_.ttl, config_.negative_ttl).count()) *
                        (1.0 + config_.ttl_jitter))) +
          60'000),
      pool_(std::make_unique<Pool>(config_)) {}

StatusOr<std::unique_ptr<RedisCache>> RedisCache::Open(RedisConfig config) {
  if (config.ttl.count() <= 0 || config.negative_ttl.count() <= 0) {
    return InvalidArgumentError("redis: ttl and negative_ttl must be positive");
  }
  if (!(config.ttl_jitter >= 0.0 && config.ttl_jitter <= 0.5)) {
    return InvalidArgumentError("redis: ttl_jitter must be within [0, 0.5]");
  }
  if (config.command_timeout.count() <= 0 || config.connect_timeout.count() <= 0) {
    return InvalidArgumentError("redis: timeouts must be positive");
  }
  if (config.reconnect_backoff_initial.count() <= 0 ||
      config.reconnect_backoff_max < config.reconnect_backoff_initial) {
    return InvalidArgumentError("redis: reconnect backoff must be positive, max >= initial");
  }
  if (config.bus_ping_interval.count() <= 0) {
    return InvalidArgumentError("redis: bus_ping_interval must be positive");
  }
  if (config.pool_size == 0) config.pool_size = 1;
  if (config.node_id.empty()) config.node_id = DefaultNodeId();

  std::unique_ptr<RedisCache> cache(new RedisCache(std::move(config)));
  cache->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cache->wake_fd_ < 0)
    return InternalError("redis: eventfd failed: " + std::string(strerror(errno)));
  PERMCACHE_RETURN_IF_ERROR(cache->pool_->ConnectFirst());
  cache->pool_->StartReconnector();
  spdlog::info("redis L2 cache at {} (keys \"{}perms:{{user}}:{{tenant}}\", channel \"{}\")",
               DescribeRedisConfig(cache->config_), cache->keys_.base(), cache->keys_.Channel());
  return cache;
}

RedisCache::~RedisCache() {
  StopBus();
  pool_->Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void RedisCache::StopBus() {
  bus_stop_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    // Best effort: if the write fails the bus thread still sees bus_stop_ at its next poll tick.
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  }
  std::lock_guard<std::mutex> lock(bus_mu_);
  if (bus_thread_.joinable()) bus_thread_.join();
}

template <typename Fn>
auto RedisCache::Run(Fn&& fn, bool count_errors) const
    -> decltype(fn(std::declval<Connection&>())) {
  const auto deadline = SteadyClock::now() + config_.command_timeout;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    StatusOr<std::unique_ptr<Connection>> conn = pool_->Acquire(deadline, &reused);
    if (!conn.ok()) {
      if (count_errors) errors_.fetch_add(1, std::memory_order_relaxed);
      return conn.status();
    }
    auto result = fn(**conn);
    Status status = StatusOf(result);
    if (status.ok()) {
      pool_->Release(std::move(*conn));
      return result;
    }
    const bool broken = (*conn)->broken();
    pool_->Release(std::move(*conn));
    if (broken && reused && attempt == 0 && SteadyClock::now() < deadline) {
      // An idle connection died while parked (server restart, idle timeout): the others are
      // suspect too. One retry on a fresh connection is safe because every operation here is
      // idempotent.
      pool_->DropIdle();
      continue;
    }
    if (count_errors) errors_.fetch_add(1, std::memory_order_relaxed);
    if (broken) {
      pool_->MarkDown(status);
    } else {
      LogCommandError(status);
    }
    return result;
  }
}

void RedisCache::LogCommandError(const Status& status) const {
  int64_t now = NowMs();
  int64_t last = last_error_log_ms_.load(std::memory_order_relaxed);
  if (now - last < kErrorLogIntervalMs && last != 0) return;
  if (last_error_log_ms_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
    spdlog::warn("redis command failed (further errors suppressed for {} s): {}",
                 kErrorLogIntervalMs / 1000, status.message());
  }
}

int64_t RedisCache::JitteredTtlMs(milliseconds base) const {
  // One generator per thread: no lock on the fill path; quality needs are modest.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(1.0 - config_.ttl_jitter, 1.0 + config_.ttl_jitter);
  auto ms = static_cast<int64_t>(std::llround(static_cast<double>(base.count()) * factor(rng)));
  return std::max<int64_t>(ms, 1);
}

void RedisCache::NoteRevision(uint64_t revision) {
  uint64_t cur = max_revision_seen_.load(std::memory_order_relaxed);
  while (revision > cur &&
         !max_revision_seen_.compare_exchange_weak(cur, revision, std::memory_order_relaxed)) {
  }
}

// --- Get / Put -------------------------------------------------------------------------------

StatusOr<std::optional<UserGrants>> RedisCache::Get(std::string_view tenant,
                                                    std::string_view user) {
  const std::string key = keys_.Entry(tenant, user);
  StatusOr<ReplyPtr> reply = Run([&](Connection& c) {
    return Expect(c.Command({"GET", key}), "GET");
  });
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type == REDIS_REPLY_STRING) {
    StatusOr<UserGrants> grants = DecodeEntry(ReplyText(r));
    if (grants.ok()) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return std::optional<UserGrants>(std::move(*grants));
    }
    // Written by an incompatible version or by hand: a miss, so the caller refills it (the put
    // script overwrites values whose revision it cannot read).
    LogCommandError(InvalidArgumentError("key " + key + ": " + grants.status().message()));
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::optional<UserGrants>();
}

Status RedisCache::Put(std::string_view tenant, std::string_view user, const UserGrants& grants) {
  return TryPut(tenant, user, grants).status();
}

StatusOr<RedisCache::PutOutcome> RedisCache::TryPut(std::string_view tenant, std::string_view user,
                                                    const UserGrants& grants) {
  PutItem item{std::string(tenant), std::string(user), grants};
  PERMCACHE_ASSIGN_OR_RETURN(std::vector<PutOutcome> outcomes, MultiPut({&item, 1}));
  return outcomes.front();
}

StatusOr<std::vector<std::optional<UserGrants>>> RedisCache::MultiGet(
    std::span<const std::pair<std::string, std::string>> tenant_users) {
  std::vector<std::optional<UserGrants>> out;
  out.reserve(tenant_users.size());
  for (size_t begin = 0; begin < tenant_users.size(); begin += kBatchKeys) {
    size_t end = std::min(tenant_users.size(), begin + kBatchKeys);
    std::vector<std::string> keys;
    keys.reserve(end - begin);
    for (size_t i = begin; i < end; ++i)
      keys.push_back(keys_.Entry(tenant_users[i].first, tenant_users[i].second));
    std::vector<std::string_view> argv{"MGET"};
    argv.insert(argv.end(), keys.begin(), keys.end());
    StatusOr<ReplyPtr> reply =
        Run([&](Connection& c) { return Expect(c.CommandArgv(argv), "MGET"); });
    if (!reply.ok()) return reply.status();
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != keys.size()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      return UnavailableError("redis MGET: unexpected reply shape");
    }
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply* e = r->element[i];
      if (e->type == REDIS_REPLY_STRING) {
        StatusOr<UserGrants> grants = DecodeEntry(ReplyText(e));
        if (grants.ok()) {
          hits_.fetch_add(1, std::memory_order_relaxed);
          out.emplace_back(std::move(*grants));
          continue;
        }
        LogCommandError(InvalidArgumentError("key " + keys[i] + ": " + grants.status().message()));
      }
      misses_.fetch_add(1, std::memory_order_relaxed);
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

StatusOr<std::vector<RedisCache::PutOutcome>> RedisCache::MultiPut(std::span<const PutItem> items) {
  std::vector<PutOutcome> out;
  out.reserve(items.size());
  for (size_t begin = 0; begin < items.size(); begin += kBatchKeys) {
    const size_t end = std::min(items.size(), begin + kBatchKeys);
    // keys/args of each script call, kept alive while the pipeline is built.
    std::vector<std::array<std::string, 4>> keys(end - begin);
    std::vector<std::array<std::string, 3>> args(end - begin);
    // Redis expires keys in real time: intervals are weighed against the real wall clock.
    const int64_t now = WallClockMs();
    for (size_t i = begin; i < end; ++i) {
      const PutItem& it = items[i];
      NoteRevision(it.grants.revision);
      keys[i - begin] = {keys_.Entry(it.tenant, it.user), keys_.UserTombstone(it.tenant, it.user),
                         keys_.TenantTombstone(it.tenant), keys_.GlobalTombstone()};
      const bool active = it.grants.membership == MembershipState::kActive;
      int64_t ttl = JitteredTtlMs(active ? config_.ttl : config_.negative_ttl);
      // Time is a writer (DESIGN §8): the entry never outlives its next transition.
      const int64_t next = NextTransitionAfter(it.grants, now);
      if (next != Interval::kNoExpiry) ttl = std::clamp<int64_t>(next - now, 1, ttl);
      args[i - begin] = {std::to_string(it.grants.revision), EncodeEntry(it.grants, now),
                         std::to_string(ttl)};
    }
    auto pipeline = [&](Connection& c) -> StatusOr<std::vector<int64_t>> {
      if (keys.size() == 1) {  // the common single Put: no pipeline bookkeeping
        PERMCACHE_ASSIGN_OR_RETURN(
            ReplyPtr reply, Expect(RunScript(c, PutScript(), keys[0], args[0]), "put script"));
        if (reply->type != REDIS_REPLY_INTEGER)
          return UnavailableError("redis put script: non-integer reply");
        return std::vector<int64_t>{reply->integer};
      }
      for (size_t i = 0; i < keys.size(); ++i)
        PERMCACHE_RETURN_IF_ERROR(AppendScript(c, PutScript(), keys[i], args[i]));
      std::vector<int64_t> results(keys.size());
      std::vector<size_t> noscript;
      Status first_error;
      for (size_t i = 0; i < keys.size(); ++i) {  // read every reply to keep the stream in sync
        PERMCACHE_ASSIGN_OR_RETURN(ReplyPtr reply, c.GetReply());
        if (IsNoScript(reply.get())) {
          noscript.push_back(i);
        } else if (IsError(reply.get()) || reply->type != REDIS_REPLY_INTEGER) {
          if (first_error.ok()) first_error = ReplyErrorStatus(reply.get(), "put script");
        } else {
          results[i] = reply->integer;
        }
      }
      PERMCACHE_RETURN_IF_ERROR(first_error);
      for (size_t i : noscript) {  // RunScript's EVAL reloads the script for the rest
        PERMCACHE_ASSIGN_OR_RETURN(
            ReplyPtr reply, Expect(RunScript(c, PutScript(), keys[i], args[i]), "put script"));
        if (reply->type != REDIS_REPLY_INTEGER)
          return UnavailableError("redis put script: non-integer reply");
        results[i] = reply->integer;
      }
      return results;
    };
    StatusOr<std::vector<int64_t>> results = Run(pipeline);
    if (!results.ok()) return results.status();
    for (int64_t r : *results) {
      if (r == 1) {
        puts_.fetch_add(1, std::memory_order_relaxed);
        out.push_back(PutOutcome::kStored);
      } else {
        puts_refused_stale_.fetch_add(1, std::memory_order_relaxed);
        out.push_back(r == 0 ? PutOutcome::kRefusedInvalidated : PutOutcome::kRefusedNewer);
      }
    }
  }
  return out;
}

// --- Records ---------------------------------------------------------------------------------

StatusOr<std::optional<std::string>> RedisCache::GetValue(const std::string& key,
                                                         std::string_view op) {
  StatusOr<ReplyPtr> reply = Run([&](Connection& c) { return Expect(c.Command({"GET", key}), op); });
  if (!reply.ok()) return reply.status();
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_STRING) return std::optional<std::string>();
  return std::optional<std::string>(std::string(ReplyText(r)));
}

Status RedisCache::PutRecord(std::string_view tenant, const std::string& record_key,
                             uint64_t revision, std::string value, milliseconds ttl) {
  NoteRevision(revision);
  const std::string keys[4] = {keys_.Record(tenant, record_key),
                               keys_.UserTombstone(tenant, record_key),
                               keys_.TenantTombstone(tenant), keys_.GlobalTombstone()};
  const std::string args[3] = {std::to_string(revision), std::move(value),
                               std::to_string(JitteredTtlMs(ttl))};
  return Run([&](Connection& c) -> Status {
    return Expect(RunScript(c, PutScript(), keys, args), "record put script").status();
  });
}

template <typename Record>
StatusOr<std::optional<Record>> RedisCache::GetRecord(const std::string& key,
                                                     StatusOr<Record> (*decode)(std::string_view)) {
  PERMCACHE_ASSIGN_OR_RETURN(std::optional<std::string> value, GetValue(key, "GET"));
  if (!value) return std::optional<Record>();
  StatusOr<Record> record = decode(*value);
  if (!record.ok()) {
    // Written by an incompatible version or by hand: a miss (the put script overwrites it).
    LogCommandError(InvalidArgumentError("key " + key + ": " + record.status().message()));
    return std::optional<Record>();
  }
  return std::optional<Record>(std::move(*record));
}

StatusOr<std::optional<ResourceRecord>> RedisCache::GetResource(std::string_view tenant,
                                                                std::string_view resource) {
  return GetRecord(keys_.Record(tenant, ResourceKey(resource)), &DecodeResourceRecord);
}

Status RedisCache::PutResource(std::string_view tenant, std::string_view resource,
                               const ResourceRecord& record, milliseconds ttl) {
  return PutRecord(tenant, ResourceKey(resource), record.revision, EncodeResourceRecord(record),
                   ttl);
}

StatusOr<std::optional<UiElementRecord>> RedisCache::GetElement(std::string_view tenant,
                                                                std::string_view element) {
  return GetRecord(keys_.Record(tenant, ElementKey(element)), &DecodeElementRecord);
}

Status RedisCache::PutElement(std::string_view tenant, std::string_view element,
                              const UiElementRecord& record, milliseconds ttl) {
  return PutRecord(tenant, ElementKey(element), record.revision, EncodeElementRecord(record), ttl);
}

// --- Unlock attempts ---------------------------------------------------------------------------

StatusOr<int64_t> RedisCache::BeginAttempt(std::string_view key, uint32_t max_failures,
                                           int64_t window_ms) {
  const std::string keys[1] = {keys_.Attempts(key)};
  const std::string args[2] = {std::to_string(max_failures), std::to_string(window_ms)};
  // Not idempotent: Run's one retry (a dead idle connection) may count an attempt twice, which
  // errs towards refusing.
  StatusOr<ReplyPtr> reply = Run([&](Connection& c) {
    return Expect(RunScript(c, BeginAttemptScript(), keys, args), "attempt script");
  });
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return UnavailableError("redis attempt script: non-integer reply");
  }
  return static_cast<int64_t>((*reply)->integer);
}

Status RedisCache::AttemptSucceeded(std::string_view key) {
  const std::string keys[1] = {keys_.Attempts(key)};
  return Run([&](Connection& c) -> Status {
    return Expect(RunScript(c, AttemptSucceededScript(), keys, {}), "attempt script").status();
  });
}

// --- Invalidation ----------------------------------------------------------------------------

Status RedisCache::RaiseTombstone(Connection& conn, const std::string& key,
                                  uint64_t revision) const {
  if (revision == 0) return Status::Ok();
  std::string k[1] = {key};
  std::string a[2] = {std::to_string(revision), std::to_string(tombstone_ttl_ms_)};
  return Expect(RunScript(conn, TombstoneScript(), k, a), "tombstone script").status();
}

Status RedisCache::InvalidateUserKeys(
    Connection& conn, std::span<const std::pair<std::string, std::string>> tenant_users,
    uint64_t revision, uint64_t* deleted) const {
  const std::string a[2] = {std::to_string(revision), std::to_string(tombstone_ttl_ms_)};
  for (size_t begin = 0; begin < tenant_users.size(); begin += kBatchKeys / 2) {
    size_t end = std::min(tenant_users.size(), begin + kBatchKeys / 2);
    std::vector<std::string> k;
    k.reserve(2 * (end - begin));
    for (size_t i = begin; i < end; ++i) {
      k.push_back(keys_.Entry(tenant_users[i].first, tenant_users[i].second));
      k.push_back(keys_.UserTombstone(tenant_users[i].first, tenant_users[i].second));
    }
    PERMCACHE_ASSIGN_OR_RETURN(
        ReplyPtr reply, Expect(RunScript(conn, InvalidateScript(), k, a), "invalidate script"));
    if (reply->type == REDIS_REPLY_INTEGER) *deleted += static_cast<uint64_t>(reply->integer);
  }
  return Status::Ok();
}

Status RedisCache::ScanDelete(Connection& conn, const std::string& pattern,
                              uint64_t* deleted) const {
  // SCAN walks the keyspace in small steps so Redis keeps serving others; KEYS would block it.
  const std::string count = std::to_string(kScanCount);
  std::string cursor = "0";
  do {
    PERMCACHE_ASSIGN_OR_RETURN(
        ReplyPtr reply,
        Expect(conn.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", count}), "SCAN"));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
      return UnavailableError("redis SCAN: unexpected reply shape");
    }
    cursor = std::string(ReplyText(reply->element[0]));
    const redisReply* batch = reply->element[1];
    if (batch->elements == 0) continue;
    std::vector<std::string_view> argv{"UNLINK"};
    for (size_t i = 0; i < batch->elements; ++i) argv.push_back(ReplyText(batch->element[i]));
    PERMCACHE_ASSIGN_OR_RETURN(ReplyPtr unlinked, Expect(conn.CommandArgv(argv), "UNLINK"));
    if (unlinked->type == REDIS_REPLY_INTEGER) *deleted += static_cast<uint64_t>(unlinked->integer);
  } while (cursor != "0");
  return Status::Ok();
}

Status RedisCache::Publish(Connection& conn, const std::string& message) const {
  return Expect(conn.Command({"PUBLISH", keys_.Channel(), message}), "PUBLISH").status();
}

Status RedisCache::InvalidateChange(Connection& c, const ChangeSet& change) const {
  uint64_t deleted = 0;
  PERMCACHE_RETURN_IF_ERROR(InvalidateUserKeys(c, change.users, change.revision, &deleted));
  for (const std::string& tenant : change.tenants) {
    // Tombstone first: a fill racing with the scan is then refused instead of surviving it.
    PERMCACHE_RETURN_IF_ERROR(RaiseTombstone(c, keys_.TenantTombstone(tenant), change.revision));
    PERMCACHE_RETURN_IF_ERROR(ScanDelete(c, keys_.TenantEntriesPattern(tenant), &deleted));
  }
  return Status::Ok();
}

Status RedisCache::InvalidateAndPublish(const ChangeSet& change) {
  NoteRevision(change.revision);
  const std::string message = EncodeChangeMessage(change, config_.node_id);
  return Run([&](Connection& c) -> Status {
    PERMCACHE_RETURN_IF_ERROR(InvalidateChange(c, change));
    return Publish(c, message);
  });
}

Status RedisCache::Invalidate(const ChangeSet& change) {
  NoteRevision(change.revision);
  return Run([&](Connection& c) -> Status { return InvalidateChange(c, change); });
}

StatusOr<uint64_t> RedisCache::AdminInvalidate(const AdminInvalidation& what) {
  const bool by_pattern = !what.pattern.empty();
  const bool by_id = !what.tenant.empty() || !what.user.empty();
  if (static_cast<int>(what.all) + static_cast<int>(by_pattern) + static_cast<int>(by_id) != 1) {
    return InvalidArgumentError(
        "cache invalidation needs exactly one of: all, pattern, tenant and/or user");
  }
  if (by_pattern && !what.pattern.starts_with("perms:")) {
    // Anything else could hit tombstones or other applications' keys in a shared Redis.
    return InvalidArgumentError("cache invalidation pattern must start with \"perms:\", got \"" +
                                what.pattern + "\"");
  }
  if (!what.tenant.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateId("tenant", what.tenant));
  if (!what.user.empty()) PERMCACHE_RETURN_IF_ERROR(ValidateUserOrRecordKey(what.user));
  const uint64_t revision = max_revision_seen_.load(std::memory_order_relaxed);
  const std::string message = EncodeAdminMessage(what, config_.node_id);
  return Run([&](Connection& c) -> StatusOr<uint64_t> {
    uint64_t deleted = 0;
    if (what.all) {
      PERMCACHE_RETURN_IF_ERROR(RaiseTombstone(c, keys_.GlobalTombstone(), revision));
      PERMCACHE_RETURN_IF_ERROR(ScanDelete(c, keys_.AllEntriesPattern(), &deleted));
    } else if (by_pattern) {
      PERMCACHE_RETURN_IF_ERROR(ScanDelete(c, keys_.AdminPattern(what.pattern), &deleted));
    } else if (!what.tenant.empty() && !what.user.empty()) {
      std::pair<std::string, std::string> one(what.tenant, what.user);
      PERMCACHE_RETURN_IF_ERROR(InvalidateUserKeys(c, {&one, 1}, revision, &deleted));
    } else if (!what.tenant.empty()) {
      PERMCACHE_RETURN_IF_ERROR(RaiseTombstone(c, keys_.TenantTombstone(what.tenant), revision));
      PERMCACHE_RETURN_IF_ERROR(ScanDelete(c, keys_.TenantEntriesPattern(what.tenant), &deleted));
    } else {
      // One user in every tenant: find the keys, then tombstone + delete each like a change.
      std::vector<std::pair<std::string, std::string>> found;
      std::string cursor = "0";
      const std::string pattern = keys_.UserEntriesPattern(what.user),
                        count = std::to_string(kScanCount);
      do {
        PERMCACHE_ASSIGN_OR_RETURN(
            ReplyPtr reply,
            Expect(c.Command({"SCAN", cursor, "MATCH", pattern, "COUNT", count}), "SCAN"));
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
          return UnavailableError("redis SCAN: unexpected reply shape");
        }
        cursor = std::string(ReplyText(reply->element[0]));
        for (size_t i = 0; i < reply->element[1]->elements; ++i) {
          std::string tenant, user;
          if (keys_.ParseEntry(ReplyText(reply->element[1]->element[i]), &tenant, &user)) {
            found.emplace_back(std::move(tenant), std::move(user));
          }
        }
      } while (cursor != "0");
      PERMCACHE_RETURN_IF_ERROR(InvalidateUserKeys(c, found, revision, &deleted));
    }
    PERMCACHE_RETURN_IF_ERROR(Publish(c, message));
    return deleted;
  });
}

// --- Stats / health --------------------------------------------------------------------------

RemoteCacheStats RedisCache::Stats() const {
  if (pool_->up()) {
    StatusOr<ReplyPtr> reply =
        Run([](Connection& c) { return Expect(c.Command({"DBSIZE"}), "DBSIZE"); },
            /*count_errors=*/false);
    if (reply.ok() && (*reply)->type == REDIS_REPLY_INTEGER) {
      keys_count_.store(static_cast<uint64_t>((*reply)->integer), std::memory_order_relaxed);
    }
  }
  RemoteCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.puts = puts_.load(std::memory_order_relaxed);
  s.puts_refused_stale = puts_refused_stale_.load(std::memory_order_relaxed);
  s.keys = keys_count_.load(std::memory_order_relaxed);
  s.bus_messages_received = bus_messages_.load(std::memory_order_relaxed);
  s.connected = pool_->up();
  s.bus_connected = bus_up_.load(std::memory_order_acquire);
  return s;
}

std::string RedisCache::Health() const { return pool_->up() ? "up" : "down"; }

// --- Bus ---------------------------------------------------------------------------------------

void RedisCache::StartBus(std::function<void(const ChangeSet&)> on_change,
                          std::function<void(const AdminInvalidation&)> on_admin,
                          std::function<void(bool up)> on_bus_state) {
  std::lock_guard<std::mutex> lock(bus_mu_);
  if (bus_thread_.joinable()) {
    spdlog::warn("redis bus already started; ignoring the second StartBus");
    return;
  }
  on_change_ = std::move(on_change);
  on_admin_ = std::move(on_admin);
  on_bus_state_ = std::move(on_bus_state);
  bus_thread_ = std::thread([this] { BusLoop(); });
}

bool RedisCache::WaitForStop(milliseconds timeout) {
  if (bus_stop_.load(std::memory_order_acquire)) return true;
  pollfd pfd{wake_fd_, POLLIN, 0};
  int n = poll(&pfd, 1, static_cast<int>(timeout.count()));
  (void)n;  // woken, timed out or EINTR: the flag decides
  return bus_stop_.load(std::memory_order_acquire);
}

void RedisCache::BusLoop() {
  std::optional<bool> reported;
  auto report = [&](bool up) {
    bus_up_.store(up, std::memory_order_release);
    if (reported == up) return;
    reported = up;
    if (on_bus_state_) {
      try {
        on_bus_state_(up);
      } catch (const std::exception& e) {
        spdlog::error("redis bus: on_bus_state threw: {}", e.what());
      }
    }
  };
  milliseconds backoff = config_.reconnect_backoff_initial;
  while (!bus_stop_.load(std::memory_order_acquire)) {
    bool subscribed = false;
    Status s = RunSubscription(report, &subscribed);
    if (bus_stop_.load(std::memory_order_acquire)) break;
    if (subscribed || !reported.has_value()) {
      spdlog::warn("redis bus on channel \"{}\" lost: {}; resubscribing with backoff",
                   keys_.Channel(), s.message());
    }
    report(false);
    if (subscribed) backoff = config_.reconnect_backoff_initial;
    if (WaitForStop(backoff)) break;
    backoff = std::min(backoff * 2, config_.reconnect_backoff_max);
  }
  bus_up_.store(false, std::memory_order_release);
}

Status RedisCache::RunSubscription(const std::function<void(bool)>& report, bool* subscribed) {
  PERMCACHE_ASSIGN_OR_RETURN(
      std::unique_ptr<Connection> conn,
      Connection::Open(config_, SteadyClock::now() + config_.connect_timeout));
  PERMCACHE_RETURN_IF_ERROR(conn->SetTimeout(config_.command_timeout));
  PERMCACHE_ASSIGN_OR_RETURN(ReplyPtr ack,
                             Expect(conn->Command({"SUBSCRIBE", keys_.Channel()}), "SUBSCRIBE"));
  if (ack->type != REDIS_REPLY_ARRAY) return UnavailableError("redis SUBSCRIBE: unexpected reply");
  *subscribed = true;
  spdlog::info("redis bus subscribed to \"{}\"", keys_.Channel());
  report(true);

  redisContext* ctx = conn->context();
  bool ping_outstanding = false;
  while (!bus_stop_.load(std::memory_order_acquire)) {
    // Replies already buffered first: poll() only reports bytes not yet read.
    void* raw = nullptr;
    if (redisGetReplyFromReader(ctx, &raw) != REDIS_OK) return conn->IoError("bus read");
    if (raw != nullptr) {
      ReplyPtr reply(static_cast<redisReply*>(raw));
      ping_outstanding = false;  // any traffic proves the server alive
      HandleBusReply(reply.get());
      continue;
    }
    pollfd fds[2] = {{ctx->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(config_.bus_ping_interval.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError("redis bus: poll failed: " + std::string(strerror(errno)));
    }
    if (fds[1].revents != 0) return Status::Ok();  // stop requested
    if (n == 0) {
      // Idle for a whole interval. A frozen or black-holed server never closes the socket, so
      // ask it: no answer by the next tick means the bus is gone.
      if (ping_outstanding) {
        return UnavailableError("redis bus: no answer to PING within " +
                                std::to_string(config_.bus_ping_interval.count()) + " ms");
      }
      if (redisAppendCommand(ctx, "PING") != REDIS_OK) return conn->IoError("bus PING");
      int done = 0;
      do {
        if (redisBufferWrite(ctx, &done) != REDIS_OK) return conn->IoError("bus PING");
      } while (done == 0);
      ping_outstanding = true;
      continue;
    }
    if (redisBufferRead(ctx) != REDIS_OK) return conn->IoError("bus read");
  }
  return Status::Ok();
}

void RedisCache::HandleBusReply(const ::redisReply* reply) {
  // Pushes are ["message", channel, payload]; ["pong", ""] answers our PING.
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
      ReplyText(reply->element[0]) != "message") {
    return;
  }
  bus_messages_.fetch_add(1, std::memory_order_relaxed);
  std::string_view payload = ReplyText(reply->element[2]);
  StatusOr<BusMessage> msg = DecodeBusMessage(payload);
  if (!msg.ok()) {
    spdlog::warn("redis bus: skipping malformed message ({}): {:.200}", msg.status().message(),
                 payload);
    return;
  }
  try {
    if (msg->is_admin) {
      if (on_admin_) on_admin_(msg->admin);
    } else {
      NoteRevision(msg->change.revision);
      if (on_change_) on_change_(msg->change);
    }
  } catch (const std::exception& e) {
    spdlog::error("redis bus: callback threw: {}", e.what());
  }
}

}  // namespace permcache::redis
