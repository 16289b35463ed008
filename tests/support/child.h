// Small pieces shared by the launchers of real servers (redis_server, postgres_server): spawning
// a child that dies with the test process, reaping it, signalling it and waiting, and reading
// the tail of its log.
//
// Thread safety: functions only; a pid is owned by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "permcache/status.h"

namespace permcache::testing {

// Credentials the child switches to before exec (root-only: setgid + setgroups + setuid).
struct ChildUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Forks and execs argv (argv[0] a path, or found on PATH) with stdin from /dev/null and stdout +
// stderr appended to `log_path` (or, when `out_fd` >= 0, stdout to out_fd and stderr to the
// log). The child gets PR_SET_PDEATHSIG(SIGKILL), set after any credential change (which would
// clear it). Returns the pid, or -1 when fork fails.
pid_t SpawnChild(const std::vector<std::string>& argv, const std::string& log_path,
                 int out_fd = -1, const ChildUser& user = {});

// Reaps *pid (blocking or not); true once the child is gone (*pid is then -1).
bool ReapChild(pid_t* pid, bool block);

// Sends `sig` and waits up to `wait` for the child to exit, then SIGKILLs and reaps it.
Status SignalAndWait(pid_t* pid, int sig, std::chrono::milliseconds wait);

// The last `max_bytes` of a file ("" when missing).
std::string FileTail(const std::string& path, size_t max_bytes = 4000);

}  // namespace permcache::testing
