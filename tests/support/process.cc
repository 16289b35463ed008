#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace permcache::testing {
namespace {

// Poll interval while waiting for output or exit: short enough not to slow tests, long enough
// not to burn a core on a 2-core machine.
constexpr auto kPollInterval = std::chrono::milliseconds(5);

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

StatusOr<std::unique_ptr<Process>> Process::Start(ProcessOptions options) {
  if (options.argv.empty()) return InvalidArgumentError("Process::Start: empty argv");
  if (options.stdout_path.empty() || options.stderr_path.empty()) {
    return InvalidArgumentError("Process::Start: stdout_path and stderr_path are required");
  }
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& u : options.unset_env) drop = drop || u == name;
    for (const auto& kv : options.env) drop = drop || kv.first == name;
    if (!drop) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int out_fd =
      open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd =
      open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string in_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path;
  const int in_fd = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int exec_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {out_fd, err_fd, in_fd, exec_pipe[0], exec_pipe[1]}) {
      if (fd >= 0) close(fd);
    }
  };
  if (out_fd < 0 || err_fd < 0 || in_fd < 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    close_all();
    return InternalError("Process::Start: cannot open output files or pipe: " + why);
  }

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    close_all();
    return InternalError("fork failed: " + why);
  }
  if (pid == 0) {
    // Child. Die with the parent (a crashed test must not leave servers behind).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Own process group: a Ctrl-C in the terminal reaches the test, which then stops us.
    setpgid(0, 0);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    execve(argv[0], argv.data(), envp.data());
    const int e = errno;
    ssize_t ignored = write(exec_pipe[1], &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  close(exec_pipe[1]);
  exec_pipe[1] = -1;
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(exec_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close_all();
  if (n > 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return InternalError("cannot execute '" + options.argv[0] + "': " + std::strerror(child_errno));
  }
  return std::unique_ptr<Process>(new Process(std::move(options), pid));
}

Process::~Process() {
  if (Running()) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool Process::TryReap() {
  if (exit_code_) return true;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = ExitCodeFromWaitStatus(status);
    return true;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere; should not happen
    exit_code_ = -1;
    return true;
  }
  return false;
}

bool Process::Running() { return !TryReap(); }

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!TryReap()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
  return exit_code_;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (!Running()) return *exit_code_;
  kill(pid_, SIGTERM);
  if (auto code = Wait(grace)) return *code;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = ExitCodeFromWaitStatus(status);
  return *exit_code_;
}

std::optional<std::vector<std::string>> Process::WaitForLine(const std::regex& re,
                                                             std::chrono::milliseconds timeout,
                                                             bool from_stderr) {
  const std::string& path = from_stderr ? options_.stderr_path : options_.stdout_path;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Check exit before reading so that output written just before exiting is still seen.
    const bool exited = !Running();
    const std::string text = ReadFileOrEmpty(path);
    size_t start = 0;
    for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
      const std::string line = text.substr(start, nl - start);
      start = nl + 1;
      std::smatch m;
      if (std::regex_search(line, m, re)) {
        std::vector<std::string> groups;
        for (const auto& g : m) groups.push_back(g.str());
        return groups;
      }
    }
    if (exited || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string Process::ReadStdout() const { return ReadFileOrEmpty(options_.stdout_path); }
std::string Process::ReadStderr() const { return ReadFileOrEmpty(options_.stderr_path); }

}  // namespace permcache::testing
