#include "store/postgres/pg_listener.h"

#include "store/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace permcache::postgres {
namespace {

using Clock = std::chrono::steady_clock;

std::string LastError(PGconn* conn) {
  std::string s = PQerrorMessage(conn);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// LISTEN on a channel of our own, NOTIFY it, and expect the notification back within `timeout`:
// through a transaction-pooling PgBouncer (or anything else that does not keep our session)
// LISTEN silently does nothing, and the node would trust a bus that never speaks.
std::string SelfProbe(PGconn* conn, std::chrono::milliseconds timeout) {
  const std::string channel = "permcache_probe_" + std::to_string(PQbackendPID(conn));
  PGresult* res = PQexec(conn, ("LISTEN " + channel + "; NOTIFY " + channel).c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  if (!ok) return "self-probe failed: " + LastError(conn);
  const auto deadline = Clock::now() + timeout;
  bool received = false;
  while (!received && Clock::now() < deadline) {
    if (PQconsumeInput(conn) != 1) return "connection lost during the self-probe: " + LastError(conn);
    while (PGnotify* note = PQnotifies(conn)) {
      received = received || channel == note->relname;
      PQfreemem(note);
    }
    if (received) break;
    pollfd p{PQsocket(conn), POLLIN, 0};
    (void)poll(&p, 1, 50);
  }
  res = PQexec(conn, ("UNLISTEN " + channel).c_str());
  PQclear(res);
  if (!received) {
    return "self-probe: our own NOTIFY did not arrive within " + std::to_string(timeout.count()) +
           " ms (is this a transaction-pooling proxy? the listener needs a direct session)";
  }
  return "";
}

}  // namespace

PgListener::PgListener(std::string conninfo, std::string redacted,
                       ChangeFeed::Callbacks callbacks, PgListenerOptions options)
    : conninfo_(std::move(conninfo)),
      redacted_(std::move(redacted)),
      callbacks_(std::move(callbacks)),
      options_(options) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  stopping_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

ChangeFeed::Stats PgListener::GetStats() const {
  Stats s;
  s.up = up_.load(std::memory_order_relaxed);
  s.notifications = notifications_.load(std::memory_order_relaxed);
  s.reconnects = reconnects_.load(std::memory_order_relaxed);
  s.heartbeat_failures = heartbeat_failures_.load(std::memory_order_relaxed);
  s.epoch_changes = epoch_changes_.load(std::memory_order_relaxed);
  return s;
}

bool PgListener::SleepOrStop(std::chrono::milliseconds d) {
  pollfd p{wake_fd_, POLLIN, 0};
  (void)poll(&p, 1, static_cast<int>(d.count()));
  return stopping_.load(std::memory_order_acquire);
}

void PgListener::Run() {
  std::mt19937 rng(std::random_device{}());
  auto backoff = options_.backoff_min;
  bool first = true;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!first) reconnects_.fetch_add(1, std::memory_order_relaxed);
    first = false;
    const auto started = Clock::now();
    std::string why = Session();
    if (up_.exchange(false, std::memory_order_relaxed)) {
      // Announcements may be lost from here on: the node must stop trusting its cache before
      // anything else happens. (Before the first up the reader already treats the feed as down.)
      callbacks_.on_state(false);
    }
    if (stopping_.load(std::memory_order_acquire)) break;
    spdlog::warn("postgres listener {}: {}; reconnecting", redacted_, why);
    // A session that lived a while resets the backoff.
    if (Clock::now() - started > std::chrono::seconds(10)) backoff = options_.backoff_min;
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    auto wait = std::chrono::milliseconds(
        static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
    if (SleepOrStop(wait)) break;
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

std::string PgListener::Session() {
  const char* keys[] = {"dbname",          "application_name",    "connect_timeout",
                        "keepalives_idle", "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", nullptr};
  const std::string user_timeout = std::to_string(options_.heartbeat_timeout.count());
  const char* vals[] = {conninfo_.c_str(), "permcache-listener", "5", "5", "2", "2",
                        user_timeout.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  struct Closer {
    PGconn* c;
    ~Closer() { PQfinish(c); }
  } closer{conn};
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return "cannot connect: " + (conn ? LastError(conn) : std::string("out of memory"));
  }
  SilenceNotices(conn);
  // LISTEN and read the epoch (autocommit: the listener never holds a transaction open, so it
  // never blocks the notification queue's cleanup).
  {
    PGresult* res = PQexec(conn, "LISTEN permcache");
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) return "LISTEN failed: " + LastError(conn);
  }
  if (std::string why = SelfProbe(conn, options_.heartbeat_timeout); !why.empty()) return why;
  {
    PGresult* res = PQexec(conn, "SELECT permcache.store_epoch()");
    const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    std::string epoch = ok ? PQgetvalue(res, 0, 0) : "";
    PQclear(res);
    if (!ok) return "reading the store epoch failed: " + LastError(conn);
    if (!epoch_.empty() && epoch != epoch_) {
      spdlog::warn("postgres {}: store epoch changed ({} -> {}): dropping every cached answer",
                   redacted_, epoch_, epoch);
      epoch_changes_.fetch_add(1, std::memory_order_relaxed);
      callbacks_.on_epoch_change();
    }
    epoch_ = epoch;
  }
  up_.store(true, std::memory_order_relaxed);
  callbacks_.on_state(true);
  spdlog::info("postgres listener {}: listening", redacted_);

  const int sock = PQsocket(conn);
  auto next_heartbeat = Clock::now() + options_.heartbeat_interval;
  bool heartbeat_in_flight = false;
  Clock::time_point heartbeat_deadline{};  // meaningful while a heartbeat is in flight
  while (!stopping_.load(std::memory_order_acquire)) {
    const auto now = Clock::now();
    if (!heartbeat_in_flight && now >= next_heartbeat) {
      if (PQsendQuery(conn, "SELECT pg_listening_channels()") != 1) {
        heartbeat_failures_.fetch_add(1, std::memory_order_relaxed);
        return "heartbeat send failed: " + LastError(conn);
      }
      heartbeat_in_flight = true;
      heartbeat_deadline = now + options_.heartbeat_timeout;
    }
    const auto until = heartbeat_in_flight ? heartbeat_deadline : next_heartbeat;
    const auto wait = std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(wait, 1000)) + 1);
    if (n < 0 && errno != EINTR) return "poll failed";
    if (stopping_.load(std::memory_order_acquire)) return "";
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (PQconsumeInput(conn) != 1) {
        heartbeat_failures_.fetch_add(1, std::memory_order_relaxed);
        return "connection lost: " + LastError(conn);
      }
      // A heartbeat's answer, when complete.
      while (heartbeat_in_flight && PQisBusy(conn) == 0) {
        PGresult* res = PQgetResult(conn);
        if (res == nullptr) {
          heartbeat_in_flight = false;
          next_heartbeat = Clock::now() + options_.heartbeat_interval;
          break;
        }
        const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        PQclear(res);
        if (!ok) {
          heartbeat_failures_.fetch_add(1, std::memory_order_relaxed);
          return "heartbeat failed (not listening any more?): " + LastError(conn);
        }
      }
      uint64_t newest = 0;
      while (PGnotify* note = PQnotifies(conn)) {
        notifications_.fetch_add(1, std::memory_order_relaxed);
        char* end = nullptr;
        unsigned long long rev = std::strtoull(note->extra, &end, 10);
        if (end != note->extra) newest = std::max<uint64_t>(newest, rev);
        PQfreemem(note);
      }
      if (newest > 0) callbacks_.on_revision(newest);
    }
    if (heartbeat_in_flight && Clock::now() >= heartbeat_deadline) {
      heartbeat_failures_.fetch_add(1, std::memory_order_relaxed);
      return "no heartbeat answer within " + std::to_string(options_.heartbeat_timeout.count()) +
             " ms (dead or half-open connection)";
    }
  }
  return "";
}

}  // namespace permcache::postgres
