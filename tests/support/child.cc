#include "support/child.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace permcache::testing {

pid_t SpawnChild(const std::vector<std::string>& args, const std::string& log_path, int out_fd,
                 const ChildUser& user) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;  // parent (or -1)
  // Child: only async-signal-safe calls until exec.
  if (user.switch_user) {
    if (setgid(user.gid) != 0 || setgroups(0, nullptr) != 0 || setuid(user.uid) != 0) _exit(126);
  }
  // After the credential change: changing credentials clears the parent-death signal.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  int log = log_path.empty() ? -1 : open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0 || (out_fd < 0 && log < 0)) _exit(127);
  dup2(devnull, STDIN_FILENO);
  dup2(out_fd >= 0 ? out_fd : log, STDOUT_FILENO);
  if (log >= 0) dup2(log, STDERR_FILENO);
  execvp(argv[0], argv.data());
  _exit(127);
}

bool ReapChild(pid_t* pid, bool block) {
  if (*pid <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(*pid, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == *pid || (r < 0 && errno == ECHILD)) {
    *pid = -1;
    return true;
  }
  return false;
}

Status SignalAndWait(pid_t* pid, int sig, std::chrono::milliseconds wait) {
  if (*pid <= 0) return Status::Ok();
  if (kill(*pid, sig) != 0 && errno != ESRCH) {
    return InternalError("kill " + std::to_string(*pid) + ": " + strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (sig != SIGKILL && std::chrono::steady_clock::now() < deadline) {
    if (ReapChild(pid, false)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (*pid > 0 && kill(*pid, SIGKILL) != 0 && errno != ESRCH) {
    return InternalError("kill -9 " + std::to_string(*pid) + ": " + strerror(errno));
  }
  ReapChild(pid, true);
  return Status::Ok();
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

}  // namespace permcache::testing
