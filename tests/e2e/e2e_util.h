// Helpers shared by the end-to-end tests: a fixture base that runs one real `permcache serve`
// per test suite (each ctest test is its own process, so in practice one per test), JSON
// helpers, and the seed scenarios as write ops.
//
// Tests that share a suite's server use their own tenant names (TenantFor()) so that they do not
// see each other's writes.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "client/http_client.h"
#include "support/permcache_server.h"

namespace permcache::e2e {

namespace json = boost::json;

// Parses `text`; a parse failure is a test failure (returns null).
json::value ParseJson(const std::string& text);

// GTest assertion helper: `res` is an HTTP `status` whose error body names `code`.
::testing::AssertionResult IsError(const StatusOr<client::HttpResponse>& res, int status,
                                   const std::string& code);

// "acme", "jane": ops JSON snippets.
std::string Op(const std::string& op, const json::object& fields);

// Seed 002 (hospital UI permissions) in `tenant`: roles nurse, senior_nurse (inherits nurse),
// doctor; policies patients (ui:menu_patients), pharmacy (ui:menu_pharmacy, linked to doctor
// only); jane is a nurse, sam a senior_nurse, greg a doctor.
std::string HospitalOps(const std::string& tenant);

// Seed 000: two tenants `acme` and `globex` with the same role names (viewer: assets:read,
// admin: assets:*); alice is an active viewer in both.
std::string TwoTenantsOps(const std::string& acme, const std::string& globex);

class ServerTest : public ::testing::Test {
 protected:
  // The admin token every suite's server runs with.
  static constexpr const char* kToken = "e2e-admin-token";

  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static testing::PermcacheServer& server() { return *server_; }

  // A unique tenant id for the running test ("t-<test name>-<suffix>").
  std::string TenantFor(const std::string& suffix = "") const;

  // Requests with the admin token (admin_) or without one (anon_).
  StatusOr<client::HttpResponse> Get(const std::string& target) { return admin_->Get(target); }
  StatusOr<client::HttpResponse> Post(const std::string& target, const std::string& body) {
    return admin_->Post(target, body);
  }

  // POST /v1/write {"ops":[ops_csv]}; returns the revision (0 and a test failure on error).
  uint64_t Write(const std::string& ops_csv);
  // POST /v1/check; returns the answer object (empty and a test failure on error).
  json::object Check(const std::string& tenant, const std::string& user,
                     const std::string& permission, const json::object& extra = {});
  bool Allowed(const std::string& tenant, const std::string& user, const std::string& permission,
               const std::string& scope = "");
  // The server still answers /healthz (after bad input).
  void ExpectStillServing();

  static std::unique_ptr<testing::PermcacheServer> server_;
  std::unique_ptr<client::HttpClient> admin_, anon_;
};

}  // namespace permcache::e2e
