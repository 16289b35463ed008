#include "support/postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/child.h"
#include "support/free_port.h"

namespace permcache::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
// Bump when the template's initdb options change, so an old template is not reused.
constexpr const char* kTemplateName = "permcache-pg15-template-v1";

std::string TempBase() {
  const char* base = std::getenv("TMPDIR");
  return base != nullptr && *base != '\0' ? base : "/tmp";
}

// The OS user PostgreSQL runs as: `postgres` when we are root, else ourselves.
StatusOr<ChildUser> ServerUser() {
  ChildUser who;
  if (geteuid() != 0) return who;
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return UnavailableError("running as root and there is no 'postgres' OS user (install postgresql)");
  }
  who.switch_user = true;
  who.uid = pw->pw_uid;
  who.gid = pw->pw_gid;
  return who;
}

Status ChownTo(const ChildUser& who, const std::string& path) {
  if (!who.switch_user) return Status::Ok();
  if (chown(path.c_str(), who.uid, who.gid) != 0) {
    return InternalError("chown " + path + ": " + strerror(errno));
  }
  return Status::Ok();
}

// Runs a program to completion; OK when it exits 0.
Status RunToCompletion(const ChildUser& who, const std::vector<std::string>& args,
                       const std::string& log_path) {
  pid_t pid = SpawnChild(args, log_path, -1, who);
  if (pid < 0) return InternalError("fork failed: " + std::string(strerror(errno)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return UnavailableError(args[0] + " failed (status " + std::to_string(status) + "): " +
                            FileTail(log_path));
  }
  return Status::Ok();
}

// The initdb'd template data directory, made once per machine (shared by test processes).
StatusOr<std::string> TemplateDataDir(const ChildUser& who) {
  const std::string final_dir = TempBase() + "/" + kTemplateName;
  const std::string data = final_dir + "/data";
  if (std::filesystem::exists(data + "/PG_VERSION")) return data;
  // Serialize first-time creation between test processes running in parallel.
  const std::string lock_path = TempBase() + "/" + kTemplateName + ".lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd < 0) return InternalError("open " + lock_path + ": " + strerror(errno));
  flock(lock_fd, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock_fd};
  if (std::filesystem::exists(data + "/PG_VERSION")) return data;

  std::string tmpl = TempBase() + "/" + kTemplateName + ".tmp-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return InternalError("mkdtemp failed");
  chmod(tmpl.c_str(), 0755);
  PERMCACHE_RETURN_IF_ERROR(ChownTo(who, tmpl));
  const std::string pwfile = tmpl + "/pwfile";
  {
    std::ofstream out(pwfile);
    out << PostgresServer::kPassword << "\n";
  }
  PERMCACHE_RETURN_IF_ERROR(ChownTo(who, pwfile));
  Status s = RunToCompletion(
      who,
      {std::string(kBinDir) + "/initdb", "-D", tmpl + "/data", "-U", "postgres", "--no-locale",
       "-E", "UTF8", "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile,
       "--no-sync", "--no-instructions"},
      tmpl + "/initdb.log");
  std::error_code ec;
  if (!s.ok()) {
    std::filesystem::remove_all(tmpl, ec);
    return s;
  }
  std::filesystem::remove(pwfile, ec);
  std::filesystem::remove_all(final_dir, ec);
  if (rename(tmpl.c_str(), final_dir.c_str()) != 0) {
    return InternalError("rename " + tmpl + ": " + strerror(errno));
  }
  return data;
}

}  // namespace

StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(PostgresServerOptions options) {
  if (!std::filesystem::exists(std::string(kBinDir) + "/postgres")) {
    return UnavailableError(std::string("PostgreSQL 15 is not installed (no ") + kBinDir +
                            "/postgres); scripts/install-deps.sh installs it");
  }
  PERMCACHE_ASSIGN_OR_RETURN(ChildUser who, ServerUser());
  PERMCACHE_ASSIGN_OR_RETURN(std::string template_data, TemplateDataDir(who));
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  std::string tmpl = TempBase() + "/permcache-pg-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return InternalError("mkdtemp failed: " + std::string(strerror(errno)));
  }
  server->dir_ = tmpl;
  chmod(tmpl.c_str(), 0755);
  PERMCACHE_RETURN_IF_ERROR(ChownTo(who, tmpl));
  PERMCACHE_RETURN_IF_ERROR(RunToCompletion(
      who, {"/bin/cp", "-a", template_data, server->dir_ + "/data"}, server->dir_ + "/cp.log"));
  Status last = InternalError("no attempt");
  for (int attempt = 0; attempt < 5; ++attempt) {
    // Another process may take the port before the postmaster binds it: retry with another.
    server->port_ = FreeLoopbackPort();
    if (server->port_ == 0) return InternalError("no free loopback port");
    last = server->Launch();
    if (last.ok()) return server;
    (void)server->Kill9();
  }
  return last;
}

PostgresServer::~PostgresServer() {
  (void)Kill9();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PostgresServer::Url(const std::string& db) const {
  return std::string("postgres://postgres:") + kPassword + "@127.0.0.1:" + std::to_string(port_) +
         "/" + db;
}

std::string PostgresServer::ConnInfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres password=" + kPassword +
         " dbname=" + db + " connect_timeout=5";
}

Status PostgresServer::Launch() {
  StatusOr<ChildUser> who = ServerUser();
  if (!who.ok()) return who.status();
  std::vector<std::string> args = {std::string(kBinDir) + "/postgres",
                                   "-D",
                                   dir_ + "/data",
                                   "-k",
                                   dir_,
                                   "-p",
                                   std::to_string(port_),
                                   "-c",
                                   "listen_addresses=127.0.0.1",
                                   "-c",
                                   "max_connections=200",
                                   "-c",
                                   "shared_buffers=32MB",
                                   "-c",
                                   "log_min_messages=warning"};
  if (!options_.durable) {
    args.insert(args.end(), {"-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
                             "full_page_writes=off"});
  }
  for (const std::string& setting : options_.settings) args.insert(args.end(), {"-c", setting});
  pid_ = SpawnChild(args, dir_ + "/postgres.log", -1, *who);
  if (pid_ < 0) {
    pid_ = -1;
    return InternalError("fork failed: " + std::string(strerror(errno)));
  }
  return WaitReady();
}

Status PostgresServer::WaitReady() {
  const auto deadline = SteadyClock::now() + options_.start_timeout;
  const std::string conninfo = ConnInfo("postgres");
  auto step = std::chrono::milliseconds(5);
  while (SteadyClock::now() < deadline) {
    if (Reap(false)) {
      return UnavailableError("postgres exited during startup on port " + std::to_string(port_) +
                              "; log:\n" + Log());
    }
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    // Readiness of an external process has no event to wait on: probe with a growing pause.
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(50));
  }
  return UnavailableError("postgres did not accept connections on port " + std::to_string(port_) +
                          " within the start timeout; log:\n" + Log());
}

bool PostgresServer::Reap(bool block) { return ReapChild(&pid_, block); }

Status PostgresServer::Signal(int sig, std::chrono::milliseconds wait) {
  return SignalAndWait(&pid_, sig, wait);
}

Status PostgresServer::Stop() { return Signal(SIGINT, std::chrono::seconds(20)); }

Status PostgresServer::Kill9() { return SignalAndWait(&pid_, SIGKILL, {}); }

Status PostgresServer::RestartImmediate() {
  PERMCACHE_RETURN_IF_ERROR(Signal(SIGQUIT, std::chrono::seconds(20)));
  return Launch();
}

Status PostgresServer::Restart() {
  if (pid_ > 0) return InternalError("Restart() requires a stopped server");
  return Launch();
}

Status PostgresServer::CreateDatabase(const std::string& name) const {
  return Exec("postgres", "CREATE DATABASE \"" + name + "\"").status();
}

StatusOr<std::string> PostgresServer::NewDatabase() const {
  static std::atomic<int> counter{0};
  std::string name = "t_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  PERMCACHE_RETURN_IF_ERROR(CreateDatabase(name));
  return name;
}

StatusOr<std::string> PostgresServer::Exec(const std::string& db, const std::string& sql) const {
  PGconn* conn = PQconnectdb(ConnInfo(db).c_str());
  struct Closer {
    PGconn* c;
    ~Closer() { PQfinish(c); }
  } closer{conn};
  if (PQstatus(conn) != CONNECTION_OK) {
    return InternalError("connect to " + db + ": " + PQerrorMessage(conn));
  }
  PGresult* res = PQexec(conn, sql.c_str());
  struct Clearer {
    PGresult* r;
    ~Clearer() { PQclear(r); }
  } clearer{res};
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return InternalError(std::string(PQresultErrorMessage(res)));
  }
  std::string out;
  for (int r = 0; r < PQntuples(res); ++r) {
    if (r > 0) out += '\n';
    for (int c = 0; c < PQnfields(res); ++c) {
      if (c > 0) out += '|';
      out += PQgetvalue(res, r, c);
    }
  }
  return out;
}

std::string PostgresServer::Log() const { return FileTail(dir_ + "/postgres.log"); }

PostgresServer* SharedPostgres() {
  static std::unique_ptr<PostgresServer> server = [] {
    StatusOr<std::unique_ptr<PostgresServer>> s = PostgresServer::Start();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL for the tests: %s\n",
                   s.status().ToString().c_str());
      return std::unique_ptr<PostgresServer>();
    }
    return std::move(s).value();
  }();
  return server.get();
}

}  // namespace permcache::testing
