// PgListener: the PostgreSQL change feed (ChangeFeed in include/permcache/store.h). One
// dedicated, unpooled connection per node that LISTENs on channel `permcache`; the commit step
// of every writer sends NOTIFY permcache '<revision>' (docs/postgres.md).
//
// - Heartbeat: every heartbeat_interval the listener runs `SELECT pg_listening_channels()` on
//   its own connection and expects an answer within heartbeat_timeout; a dead or half-open
//   connection (a restarted server, a terminated backend, a silent network) is detected within
//   interval + timeout even when no notification would ever arrive.
// - On any failure: on_state(false) first (the node stops trusting its cache), then reconnect
//   with capped, jittered backoff; LISTEN; on_state(true) only after LISTEN took effect.
// - Store epoch: read at every connect; a change (restore, PITR, promoted replica) calls
//   on_epoch_change before on_state(true).
//
// Thread safety: one thread of its own, started by the constructor, joined by the destructor;
// callbacks run on it. GetStats is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "permcache/store.h"

namespace permcache::postgres {

struct PgListenerOptions {
  // Default 1 s / 2 s: a lost listener is noticed within ~3 s.
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(1);
  std::chrono::milliseconds heartbeat_timeout = std::chrono::seconds(2);
  // Reconnect backoff: doubles from min to max, with ±25 % jitter. Default 50 ms .. 2 s.
  std::chrono::milliseconds backoff_min = std::chrono::milliseconds(50);
  std::chrono::milliseconds backoff_max = std::chrono::seconds(2);
};

class PgListener final : public ChangeFeed {
 public:
  // `conninfo` must reach the primary directly (LISTEN does not work through a transaction-
  // pooling PgBouncer nor on a hot standby). `redacted` names it in logs.
  PgListener(std::string conninfo, std::string redacted, ChangeFeed::Callbacks callbacks,
             PgListenerOptions options = {});
  ~PgListener() override;
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  Stats GetStats() const override;

 private:
  void Run();
  // One connection's life: connect, LISTEN, serve notifications and heartbeats until an error
  // or stop. Returns a description of why it ended ("" when stopping).
  std::string Session();
  // Sleeps up to `d`, returning early (true) when stopping.
  bool SleepOrStop(std::chrono::milliseconds d);

  const std::string conninfo_;
  const std::string redacted_;
  const ChangeFeed::Callbacks callbacks_;
  const PgListenerOptions options_;
  std::string epoch_;  // the store epoch seen at the first connect ("" before); Run thread only

  // Written by the listener thread, read by GetStats (relaxed: statistics).
  std::atomic<bool> up_{false};
  std::atomic<uint64_t> notifications_{0}, reconnects_{0}, heartbeat_failures_{0},
      epoch_changes_{0};

  int wake_fd_ = -1;  // eventfd: the destructor wakes the thread out of poll()
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace permcache::postgres
