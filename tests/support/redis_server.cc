#include "support/redis_server.h"

#include "support/child.h"
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
  pid_ = SpawnChild(args, dir_ + "/redis.log");
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

bool RedisServer::Reap(bool block) { return ReapChild(&pid_, block); }

Status RedisServer::Stop() {
  if (pid_ > 0) kill(pid_, SIGCONT);  // a paused server cannot handle SIGTERM
  return SignalAndWait(&pid_, SIGTERM, std::chrono::seconds(5));
}

Status RedisServer::Kill9() { return SignalAndWait(&pid_, SIGKILL, {}); }

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
  // SpawnChild dup2()s the write end onto stdout, which clears O_CLOEXEC on the copy.
  pid_t pid = SpawnChild(argv, "", pipefd[1]);
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

std::string RedisServer::Log() const { return FileTail(dir_ + "/redis.log"); }

}  // namespace permcache::testing
