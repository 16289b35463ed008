// The `permcache` command line (CLI11): `serve` builds a ServerConfig and hands it to the serve
// function; every other subcommand is an admin client of a running server (commands.h).
// docs/cli.md is the user-facing reference.
//
// Thread safety: RunCli is reentrant; it only touches the streams it is given.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "server/server.h"

namespace permcache::cli {

struct CliIo {
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

// Runs the server described by the config and returns its exit code (RunServer in the binary;
// tests pass a function that records the config).
using ServeFunction = std::function<int(const ServerConfig&)>;

// Runs `permcache reconcile --store URL [--fix]` and returns its exit code (RunReconcile in the
// binary: it opens the store directly, so it is injected like serve).
using ReconcileFunction =
    std::function<int(const std::string& store_url, bool fix, std::ostream& out, std::ostream& err)>;

// Parses `args` (args[0] is the program name), runs the chosen subcommand and returns the
// process exit code (see exit_codes.h). Usage errors print a message to io.err and return 2;
// --help prints to io.out and returns 0.
int RunCli(const std::vector<std::string>& args, const CliIo& io, const ServeFunction& serve,
           const ReconcileFunction& reconcile = {});

}  // namespace permcache::cli
