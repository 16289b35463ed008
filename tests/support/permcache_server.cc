#include "support/permcache_server.h"

#include <cstdlib>
#include <fstream>
#include <regex>
#include <thread>

namespace permcache::testing {

StatusOr<std::string> PermcacheBinary() {
  const char* bin = std::getenv("PERMCACHE_BIN");
  if (bin == nullptr || *bin == '\0') {
    return NotFoundError("PERMCACHE_BIN is not set (run the test through ctest)");
  }
  return std::string(bin);
}

Status WaitHealthy(const std::string& url, std::chrono::milliseconds timeout) {
  PERMCACHE_ASSIGN_OR_RETURN(client::Url parsed, client::ParseUrl(url));
  client::ClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(500);
  options.request_timeout = std::chrono::seconds(2);
  client::HttpClient http(std::move(parsed), options);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no attempt";
  for (;;) {
    auto res = http.Get("/healthz");
    if (res.ok() && res->status == 200) return Status::Ok();
    last = res.ok() ? "HTTP " + std::to_string(res->status) : res.status().message();
    if (std::chrono::steady_clock::now() >= deadline) {
      return UnavailableError(url + "/healthz not healthy in time: " + last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

StatusOr<std::unique_ptr<PermcacheServer>> PermcacheServer::Start(PermcacheServerOptions options) {
  PERMCACHE_ASSIGN_OR_RETURN(std::string bin, PermcacheBinary());
  std::unique_ptr<PermcacheServer> server(new PermcacheServer());
  server->store_url_ =
      options.store_url.empty() ? "sqlite:" + server->dir_.File("permcache.db") : options.store_url;
  ProcessOptions p;
  p.argv = {bin,        "serve",        "--store",   server->store_url_,
            "--listen", options.listen, "--threads", std::to_string(options.threads)};
  if (!options.admin_token.empty()) {
    p.argv.insert(p.argv.end(), {"--admin-token", options.admin_token});
  }
  if (options.demo) p.argv.push_back("--demo");
  if (!options.redis_url.empty()) p.argv.insert(p.argv.end(), {"--redis", options.redis_url});
  p.argv.insert(p.argv.end(), options.extra_args.begin(), options.extra_args.end());
  p.unset_env = {"PERMCACHE_ADMIN_TOKEN", "PERMCACHE_URL"};
  p.stdout_path = server->dir_.File("server.stdout");
  p.stderr_path = server->dir_.File("server.stderr");
  PERMCACHE_ASSIGN_OR_RETURN(server->process_, Process::Start(std::move(p)));

  const auto started = std::chrono::steady_clock::now();
  static const std::regex kListening(R"(listening on (\[[^\]]+\]|[^\s:]+):(\d+))");
  auto line = server->process_->WaitForLine(kListening, options.start_timeout);
  if (!line) {
    const std::string logs = server->Logs();
    server->Stop(std::chrono::seconds(2));
    return UnavailableError("permcache serve did not print 'listening on HOST:PORT': " + logs);
  }
  server->host_ = (*line)[1];
  if (!server->host_.empty() && server->host_.front() == '[') {
    server->host_ = server->host_.substr(1, server->host_.size() - 2);
  }
  server->port_ = static_cast<uint16_t>(std::stoi((*line)[2]));
  const auto left = options.start_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - started);
  if (Status s = WaitHealthy(server->url(), std::max(left, std::chrono::milliseconds(100)));
      !s.ok()) {
    const std::string logs = server->Logs();
    server->Stop(std::chrono::seconds(2));
    return UnavailableError(s.message() + "; " + logs);
  }
  return server;
}

PermcacheServer::~PermcacheServer() {
  if (process_ && process_->Running()) process_->Stop();
}

std::string PermcacheServer::url() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

std::unique_ptr<client::HttpClient> PermcacheServer::NewClient(const std::string& token) const {
  client::ClientOptions options;
  options.bearer_token = token;
  client::Url u;
  u.host = host_;
  u.port = port_;
  return std::make_unique<client::HttpClient>(std::move(u), options);
}

int PermcacheServer::Stop(std::chrono::milliseconds grace) { return process_->Stop(grace); }

std::string PermcacheServer::Logs() const {
  return "[stdout]\n" + process_->ReadStdout() + "[stderr]\n" + process_->ReadStderr();
}

CliResult RunPermcache(const std::vector<std::string>& args,
                       const std::vector<std::pair<std::string, std::string>>& env,
                       const std::string& stdin_text, std::chrono::milliseconds timeout) {
  CliResult result;
  auto bin = PermcacheBinary();
  if (!bin.ok()) {
    result.err = bin.status().message();
    return result;
  }
  TempDir dir;
  ProcessOptions p;
  p.argv.push_back(*bin);
  p.argv.insert(p.argv.end(), args.begin(), args.end());
  p.env = env;
  for (const char* name : {"PERMCACHE_URL", "PERMCACHE_ADMIN_TOKEN"}) {
    bool kept = false;
    for (const auto& kv : env) kept = kept || kv.first == name;
    if (!kept) p.unset_env.push_back(name);
  }
  p.stdout_path = dir.File("stdout");
  p.stderr_path = dir.File("stderr");
  if (!stdin_text.empty()) {
    p.stdin_path = dir.File("stdin");
    std::ofstream(p.stdin_path, std::ios::binary) << stdin_text;
  }
  auto process = Process::Start(std::move(p));
  if (!process.ok()) {
    result.err = process.status().message();
    return result;
  }
  auto code = (*process)->Wait(timeout);
  result.exit_code = code ? *code : (*process)->Stop(std::chrono::milliseconds(100));
  result.out = (*process)->ReadStdout();
  result.err = (*process)->ReadStderr();
  return result;
}

}  // namespace permcache::testing
