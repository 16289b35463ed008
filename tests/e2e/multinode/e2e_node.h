// Helpers for end-to-end tests with several real `permcache serve` processes: a Node wraps one
// server and an HTTP client (check, write, GET as JSON), and Seed writes the small model the
// multi-node scenarios share.
//
// Thread safety: a Node is used by one test thread.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/permcache_server.h"

namespace permcache::testing {

namespace json = boost::json;

inline std::string PutPolicy(int k) {
  return R"({"op":"put_policy","tenant":"t","policy":"p","effect":"allow","permissions":["perm:)" +
         std::to_string(k) + R"("]})";
}

class Node {
 public:
  Node(std::unique_ptr<PermcacheServer> server) : server_(std::move(server)) {
    client_ = server_->NewClient();
  }
  // {"allowed":..,"revision":..} or a test failure (returns an empty object).
  json::object Check(const std::string& user, const std::string& permission,
                     uint64_t at_least = 0) {
    std::string target = "/v1/check?tenant=t&user=" + user + "&permission=" + permission;
    if (at_least > 0) target += "&at_least_revision=" + std::to_string(at_least);
    auto r = client_->Get(target);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    if (r->status != 200) return {};
    return json::parse(r->body).as_object();
  }
  bool Allowed(const std::string& user, const std::string& permission, uint64_t at_least = 0) {
    json::object o = Check(user, permission, at_least);
    return o.contains("allowed") && o.at("allowed").as_bool();
  }
  uint64_t Write(const std::string& ops_csv) {
    auto r = client_->Post("/v1/write", R"({"ops":[)" + ops_csv + "]}");
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    if (!r.ok() || r->status != 200) return 0;
    return json::parse(r->body).at("revision").to_number<uint64_t>();
  }
  json::object Get(const std::string& target, int* status = nullptr) {
    auto r = client_->Get(target);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return {};
    if (status) *status = r->status;
    return json::parse(r->body).as_object();
  }
  PermcacheServer& server() { return *server_; }

 private:
  std::unique_ptr<PermcacheServer> server_;
  std::unique_ptr<client::HttpClient> client_;
};

// Tenant t, role r holding policy p (allow perm:0), users u0..u{users-1} members with role r.
// Returns the seed write's revision.
inline uint64_t Seed(Node& node, int users) {
  std::string ops = R"({"op":"put_tenant","tenant":"t"},{"op":"put_role","tenant":"t","role":"r"},)" +
                    PutPolicy(0) + R"(,{"op":"put_role_policy","tenant":"t","role":"r","policy":"p"})";
  for (int u = 0; u < users; ++u) {
    const std::string user = "u" + std::to_string(u);
    ops += R"(,{"op":"put_membership","tenant":"t","user":")" + user + R"("})";
    ops += R"(,{"op":"put_user_role","tenant":"t","user":")" + user + R"(","role":"r"})";
  }
  const uint64_t revision = node.Write(ops);
  EXPECT_GT(revision, 0u);
  return revision;
}

// Issue 3's randomized run over HTTP: `writer` moves policy p from perm:k-1 to perm:k, `rounds`
// times; after each write every reader is asked, pinned to that write's revision, three random
// users' old and new permission. Returns how many answers were stale (the caller expects 0);
// `checks` receives how many were asked.
inline int CountStaleAnswers(Node& writer, const std::vector<Node*>& readers, int users,
                             int rounds, unsigned seed, int* checks) {
  std::mt19937 rng(seed);
  int stale = 0;
  *checks = 0;
  for (int k = 1; k <= rounds; ++k) {
    const uint64_t rev = writer.Write(PutPolicy(k));
    for (Node* n : readers) {
      for (int i = 0; i < 3; ++i) {
        const std::string user = "u" + std::to_string(rng() % static_cast<unsigned>(users));
        stale += n->Allowed(user, "perm:" + std::to_string(k - 1), rev) ? 1 : 0;
        stale += n->Allowed(user, "perm:" + std::to_string(k), rev) ? 0 : 1;
        *checks += 2;
      }
    }
  }
  return stale;
}

}  // namespace permcache::testing
