// Process: runs a program as a child (fork/exec) with stdout and stderr captured to files, waits
// for a line it prints, and stops it (SIGTERM, then SIGKILL after a grace period). The
// destructor kills and reaps a still-running child, and the child gets PR_SET_PDEATHSIG so it
// dies with the test process even on a crash: tests never leak children.
//
// Thread safety: a Process is not thread-safe; use it from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "permcache/status.h"

namespace permcache::testing {

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the program path (no PATH search)
  // Added to (or replacing in) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Removed from the environment (e.g. PERMCACHE_ADMIN_TOKEN).
  std::vector<std::string> unset_env;
  std::string stdout_path;  // REQUIRED: file the child's stdout goes to (truncated)
  std::string stderr_path;  // REQUIRED: file the child's stderr goes to (truncated)
  std::string stdin_path;   // "" = /dev/null
};

class Process {
 public:
  // Forks and execs. kInternal when fork fails or the program cannot be executed (exec
  // failures are reported through a CLOEXEC pipe, so a bad path fails here, not later).
  static StatusOr<std::unique_ptr<Process>> Start(ProcessOptions options);

  // Kills (SIGKILL) and reaps the child if it is still running.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Polls the captured stdout (or stderr) until a complete line matches `re` (regex_search)
  // or the deadline passes; returns the match and its submatches ([0] = whole match), or
  // nullopt on timeout or when the child exited without printing it.
  std::optional<std::vector<std::string>> WaitForLine(const std::regex& re,
                                                      std::chrono::milliseconds timeout,
                                                      bool from_stderr = false);

  // The exit code once the child exited within `timeout` (128+signal when killed by a signal);
  // nullopt when it is still running.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code as Wait() does.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // True while the child has not been reaped.
  bool Running();

  std::string ReadStdout() const;
  std::string ReadStderr() const;

 private:
  explicit Process(ProcessOptions options, pid_t pid) : options_(std::move(options)), pid_(pid) {}
  // Non-blocking reap; records the exit code.
  bool TryReap();

  ProcessOptions options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// The whole content of a file ("" when it does not exist).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace permcache::testing
