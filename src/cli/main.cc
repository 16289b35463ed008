// The `permcache` binary: `serve` runs the HTTP service (RunServer); every other subcommand is an
// admin client of a running server. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "server/reconcile.h"
#include "server/server.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const permcache::cli::CliIo io{&std::cin, &std::cout, &std::cerr};
  return permcache::cli::RunCli(
      args, io,
      [](const permcache::ServerConfig& config) {
        std::cout.flush();
        return permcache::RunServer(config);
      },
      permcache::RunReconcile);
}
