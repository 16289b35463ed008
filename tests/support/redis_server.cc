#include "support/redis_server.h"

#include "support/free_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace permcache::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

// True when something on 127.0.0.1:port answers a PING within `timeout` (+PONG or an error such
// as NOAUTH: either way the server is accepting commands).
bool Pings(uint16_t port, std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, static_cast<suseconds_t>(timeout.count() * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char ping[] = "PING\r\n";
    char buf[64];
    if (write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1)) {
      ssize_t n = read(fd, buf, sizeof(buf));
      ok = n > 0 && (buf[0] == '+' || buf[0] == '-');
    }
  }
  close(fd);
  return ok;
}

// Forks and execs argv with stdout/stderr to `log_path` (appended) or to `out_fd`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log_path, int out_fd) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;  // parent (or -1)
  // Child: only async-signal-safe calls until exec.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  int fd = out_fd;
  if (fd < 0) fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  int devnull = open("/dev/null", O_RDONLY);
  if (fd < 0 || devnull < 0) _exit(127);
  dup2(devnull, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  if (out_fd < 0) dup2(fd, STDERR_FILENO);
  execvp(argv[0], argv.data());
  _exit(127);
}

}  // namespace

StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  std::unique_ptr<RedisServer> server(new RedisServer(std::move(options)));
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/permcache-redis-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return InternalError("mkdtemp failed: " + std::string(strerror(errno)));
  server->dir_ = tmpl;
  if (server->options_.unix_socket) server->unix_socket_path_ = server->dir_ + "/redis.sock";
  Status last = InternalError("no attempt");
  for (int attempt = 0; attempt < 5; ++attempt) {
    // Another process may grab the port before redis-server binds it; Start() then retries.
    server->port_ = FreeLoopbackPort();
    if (server->port_ == 0) return InternalError("no free loopback port");
    last = server->Launch();
    if (last.ok()) return server;
    (void)server->Kill9();
  }
  return last;
}

RedisServer::~RedisServer() {
  (void)Kill9();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string RedisServer::Url() const {
  std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/0";
}

Status RedisServer::Launch() {
  std::vector<std::string> args = {
      options_.server_binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
      "--appendonly",         "no",     "--daemonize",         "no",     "--dir",     dir_};
  if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
  if (!unix_socket_path_.empty()) {
    args.insert(args.end(), {"--unixsocket", unix_socket_path_, "--unixsocketperm", "700"});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  pid_ = Spawn(args, dir_ + "/redis.log", -1);
  if (pid_ < 0) {
    pid_ = -1;
    return InternalError("fork failed: " + std::string(strerror(errno)));
  }
  return WaitReady();
}

Status RedisServer::WaitReady() {
  const auto deadline = SteadyClock::now() + options_.start_timeout;
  auto step = std::chrono::milliseconds(2);
  while (SteadyClock::now() < deadline) {
    if (Reap(false)) {
      return UnavailableError("redis-server exited during startup on port " +
                              std::to_string(port_) + "; log:\n" + Log());
    }
    if (Pings(port_, std::chrono::milliseconds(200))) return Status::Ok();
    // Readiness of an external process has no event to wait on; a short, growing pause between
    // probes keeps this from spinning.
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(50));
  }
  return UnavailableError("redis-server did not answer PING on port " + std::to_string(port_) +
                          " within the start timeout; log:\n" + Log());
}

bool RedisServer::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    return true;
  }
  return false;
}

Status RedisServer::Stop() {
  if (pid_ <= 0) return Status::Ok();
  kill(pid_, SIGCONT);  // a paused server cannot handle SIGTERM
  kill(pid_, SIGTERM);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (SteadyClock::now() < deadline) {
    if (Reap(false)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Kill9();
}

Status RedisServer::Kill9() {
  if (pid_ <= 0) return Status::Ok();
  if (kill(pid_, SIGKILL) != 0 && errno != ESRCH) {
    return InternalError("kill -9 " + std::to_string(pid_) + ": " + strerror(errno));
  }
  Reap(true);
  return Status::Ok();
}

Status RedisServer::Pause() {
  if (pid_ <= 0 || kill(pid_, SIGSTOP) != 0) return InternalError("SIGSTOP failed: not running");
  return Status::Ok();
}

Status RedisServer::Resume() {
  if (pid_ <= 0 || kill(pid_, SIGCONT) != 0) return InternalError("SIGCONT failed: not running");
  return Status::Ok();
}

Status RedisServer::Restart() {
  if (pid_ > 0) return InternalError("Restart() requires a stopped server");
  return Launch();
}

StatusOr<std::string> RedisServer::Cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {options_.cli_binary, "-h", "127.0.0.1", "-p",
                                   std::to_string(port_)};
  if (!options_.password.empty())
    argv.insert(argv.end(), {"-a", options_.password, "--no-auth-warning"});
  argv.insert(argv.end(), args.begin(), args.end());
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return InternalError("pipe failed");
  // Spawn dup2()s the write end onto stdout, which clears O_CLOEXEC on the copy.
  pid_t pid = Spawn(argv, "", pipefd[1]);
  close(pipefd[1]);
  if (pid < 0) {
    close(pipefd[0]);
    return InternalError("fork failed");
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return InternalError("redis-cli failed (status " + std::to_string(status) + "): " + out);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string RedisServer::Log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  return log.size() > 4000 ? log.substr(log.size() - 4000) : log;
}

}  // namespace permcache::testing
