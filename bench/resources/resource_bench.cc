// Resource checks on L1 hits (the user's set + the resource record) against a plain Check hit,
// the sidebar call for 20 elements against 20 single element checks, unlock latency with the
// production Argon2id cost, hits on time-bound sets and on members of a group, and the write
// that changes a group of N members against one that changes a role held by N users (issue 8).
// All in one process, one run: the ratios are the figures.
//
//   permcache_resource_bench [--users N] [--resources N] [--seconds S] [--profile V]
// --profile V runs hit variant V (0 = plain, 1 = resource, ... in the order of `variants`) for
// S seconds and nothing else, for `perf record`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "permcache/checker.h"

namespace {

using permcache::Checker;
using permcache::CheckRequest;
using permcache::OpKind;
using permcache::WriteOp;

WriteOp Op(OpKind kind) {
  WriteOp op;
  op.kind = kind;
  op.tenant = "m";
  return op;
}

double NsPerOp(double seconds, const std::function<void(size_t)>& body) {
  size_t n = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1024; ++i) body(n++);
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
         static_cast<double>(n);
}

void Must(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "resource_bench: %s failed\n", what);
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t users = 10'000, resources = 1'000;
  double seconds = 2.0;
  int profile = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--users") users = std::stoul(argv[i + 1]);
    else if (flag == "--resources") resources = std::stoul(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::stod(argv[i + 1]);
    else if (flag == "--profile") profile = std::stoi(argv[i + 1]);
  }
  const std::string db = (std::filesystem::temp_directory_path() /
                          ("permcache-resource-bench-" + std::to_string(getpid()) + ".db"))
                             .string();
  permcache::Options options;
  options.store_url = "sqlite:" + db;
  auto opened = Checker::Open(options);
  Must(opened.ok(), "open");
  Checker& c = **opened;

  std::vector<WriteOp> ops = {Op(OpKind::kPutTenant)};
  WriteOp role = Op(OpKind::kPutRole);
  role.role = "viewer";
  ops.push_back(role);
  WriteOp policy = Op(OpKind::kPutPolicy);
  policy.policy = "view";
  policy.permissions = {"media:view", "docs:read"};
  ops.push_back(policy);
  WriteOp link = Op(OpKind::kPutRolePolicy);
  link.role = "viewer";
  link.policy = "view";
  ops.push_back(link);
  for (size_t u = 0; u < users; ++u) {
    WriteOp m = Op(OpKind::kPutMembership);
    m.user = "u" + std::to_string(u);
    ops.push_back(m);
    WriteOp ur = Op(OpKind::kPutUserRole);
    ur.user = m.user;
    ur.role = "viewer";
    ops.push_back(ur);
  }
  // Issue 8: the same users again, but their role assignment expires in a day, so every set has
  // a next transition and the hit path tests it.
  const int64_t in_a_day =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() +
      86'400'000;
  for (size_t u = 0; u < users; ++u) {
    WriteOp m = Op(OpKind::kPutMembership);
    m.user = "timed" + std::to_string(u);
    ops.push_back(m);
    WriteOp ur = Op(OpKind::kPutUserRole);
    ur.user = m.user;
    ur.role = "viewer";
    ur.expires_at_ms = in_a_day;  // one expiry: one shared set, like the plain users'
    ops.push_back(ur);
    WriteOp md = m, urd = ur;
    md.user = urd.user = "distinct" + std::to_string(u);
    urd.expires_at_ms = in_a_day + static_cast<int64_t>(u);  // distinct: one set per user
    ops.push_back(md);
    ops.push_back(urd);
  }
  // Issue 8, groups: role "fan" held by N users directly (f*), and group "school" of N members
  // (g*, no membership of their own) holding role "viewer".
  WriteOp fan_role = Op(OpKind::kPutRole), fan_policy = Op(OpKind::kPutPolicy);
  fan_role.role = "fan";
  fan_policy.policy = "fanp";
  fan_policy.permissions = {"fan:use"};
  WriteOp fan_link = Op(OpKind::kPutRolePolicy), school = Op(OpKind::kPutGroup);
  fan_link.role = "fan";
  fan_link.policy = "fanp";
  school.group = "school";
  WriteOp school_role = Op(OpKind::kPutGroupRole);
  school_role.group = "school";
  school_role.role = "viewer";
  ops.insert(ops.end(), {fan_role, fan_policy, fan_link, school, school_role});
  for (size_t u = 0; u < users; ++u) {
    WriteOp m = Op(OpKind::kPutMembership);
    m.user = "f" + std::to_string(u);
    WriteOp ur = Op(OpKind::kPutUserRole);
    ur.user = m.user;
    ur.role = "fan";
    WriteOp gm = Op(OpKind::kPutGroupMember);
    gm.group = "school";
    gm.user = "g" + std::to_string(u);
    ops.insert(ops.end(), {m, ur, gm});
  }
  // The anchor of the distinct-expiry row: as many distinct sets without any interval (each
  // user's own policy), so both sides pay for set diversity alike.
  for (size_t u = 0; u < users; ++u) {
    WriteOp own = Op(OpKind::kPutPolicy);
    own.policy = "own" + std::to_string(u);
    own.permissions = {"docs:read", "own:" + std::to_string(u)};
    WriteOp m = Op(OpKind::kPutMembership);
    m.user = "o" + std::to_string(u);
    WriteOp up = Op(OpKind::kPutUserPolicy);
    up.user = m.user;
    up.policy = own.policy;
    ops.insert(ops.end(), {own, m, up});
  }
  for (size_t r = 0; r < resources; ++r) {
    WriteOp res = Op(OpKind::kPutResource);
    res.resource = "v" + std::to_string(r);
    res.type = "media";
    res.owner = "u" + std::to_string(r % users);
    res.state = r % 2 == 0 ? permcache::ResourceState::kPublic : permcache::ResourceState::kPrivate;
    ops.push_back(res);
  }
  std::vector<std::string> elements;
  for (int e = 0; e < 20; ++e) {
    WriteOp el = Op(OpKind::kPutUiElement);
    el.element = "menu_" + std::to_string(e);
    el.required_roles = {"viewer"};
    elements.push_back(el.element);
    ops.push_back(el);
  }
  for (size_t at = 0; at < ops.size(); at += 5000) {
    const size_t n = std::min<size_t>(5000, ops.size() - at);
    Must(c.Write(std::span<const WriteOp>(ops.data() + at, n)).ok(), "write");
  }

  std::vector<std::string> user_ids(users), timed_ids(users), distinct_ids(users);
  std::vector<std::string> fan_ids(users), member_ids(users), own_ids(users);
  for (size_t u = 0; u < users; ++u) own_ids[u] = "o" + std::to_string(u);
  for (size_t u = 0; u < users; ++u) fan_ids[u] = "f" + std::to_string(u);
  for (size_t u = 0; u < users; ++u) member_ids[u] = "g" + std::to_string(u);
  std::vector<std::string> resource_ids(resources);
  for (size_t u = 0; u < users; ++u) user_ids[u] = "u" + std::to_string(u);
  for (size_t u = 0; u < users; ++u) timed_ids[u] = "timed" + std::to_string(u);
  for (size_t u = 0; u < users; ++u) distinct_ids[u] = "distinct" + std::to_string(u);
  for (size_t r = 0; r < resources; ++r) resource_ids[r] = "v" + std::to_string(r);
  // Warm: every user's set and every record in L1.
  for (size_t u = 0; u < users; ++u) {
    Must(c.Check({.tenant = "m", .user = user_ids[u], .permission = "docs:read"}).ok(), "warm");
    Must(c.Check({.tenant = "m", .user = timed_ids[u], .permission = "docs:read"})->allowed,
         "warm timed");
    Must(c.Check({.tenant = "m", .user = distinct_ids[u], .permission = "docs:read"})->allowed,
         "warm distinct");
    Must(c.Check({.tenant = "m", .user = member_ids[u], .permission = "docs:read"})->allowed,
         "warm member");
    Must(c.Check({.tenant = "m", .user = own_ids[u], .permission = "docs:read"})->allowed,
         "warm own");
  }
  for (size_t r = 0; r < resources; ++r) {
    Must(c.Check({.tenant = "m", .user = user_ids[0], .permission = "media:view",
                  .resource = resource_ids[r]})
             .ok(),
         "warm");
  }
  volatile bool sink = false;
  // The variants run in turns, kRounds times each, and each reports its median round: a slow
  // phase of the machine (frequency, a neighbour) then hits every variant alike instead of
  // whichever happened to run during it.
  std::vector<std::function<void(size_t)>> variants = {
      [&](size_t i) {  // plain
        sink = c.Check({.tenant = "m", .user = user_ids[(i * 7919) % users],
                        .permission = "docs:read"})
                   ->allowed;
      },
      [&](size_t i) {  // resource
        sink = c.Check({.tenant = "m", .user = user_ids[(i * 7919) % users],
                        .permission = "media:view",
                        .resource = resource_ids[(i * 104729) % resources]})
                   ->allowed;
      },
      [&](size_t i) {  // anonymous
        sink = c.Check({.tenant = "m", .permission = "media:view",
                        .resource = resource_ids[(i * 104729) % resources]})
                   ->allowed;
      },
      [&](size_t i) {  // element
        sink = c.Check({.tenant = "m", .user = user_ids[(i * 7919) % users],
                        .element = elements[i % elements.size()]})
                   ->allowed;
      },
      [&](size_t i) {  // sidebar
        sink = c.UiElements("m", user_ids[(i * 7919) % users], elements)->elements[0].second;
      },
      [&](size_t i) {  // timed: plain Check on sets with a next transition
        sink = c.Check({.tenant = "m", .user = timed_ids[(i * 7919) % users],
                        .permission = "docs:read"})
                   ->allowed;
      },
      [&](size_t i) {  // distinct: the same, every user with their own expiry (own set)
        sink = c.Check({.tenant = "m", .user = distinct_ids[(i * 7919) % users],
                        .permission = "docs:read"})
                   ->allowed;
      },
      [&](size_t i) {  // own: distinct sets without intervals (the distinct row's anchor)
        sink = c.Check({.tenant = "m", .user = own_ids[(i * 7919) % users],
                        .permission = "docs:read"})
                   ->allowed;
      },
      [&](size_t i) {  // member: active through the group, the role from the group
        sink = c.Check({.tenant = "m", .user = member_ids[(i * 7919) % users],
                        .permission = "docs:read"})
                   ->allowed;
      },
  };
  if (profile >= 0 && static_cast<size_t>(profile) < variants.size()) {
    std::printf("variant %d: %.0f ns\n", profile, NsPerOp(seconds, variants[profile]));
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    return 0;
  }
  constexpr int kRounds = 9;
  std::vector<std::vector<double>> rounds(variants.size());
  for (int round = 0; round < kRounds; ++round) {
    for (size_t v = 0; v < variants.size(); ++v) {
      rounds[v].push_back(NsPerOp(seconds / kRounds, variants[v]));
    }
  }
  std::vector<double> median;
  for (auto& r : rounds) {
    std::sort(r.begin(), r.end());
    median.push_back(r[r.size() / 2]);
  }
  const double plain = median[0], resource = median[1], anonymous = median[2],
               element = median[3], sidebar = median[4], timed = median[5],
               distinct = median[6], own = median[7], member = median[8];

  // A group change reaching N members against a role change reaching N holders: each write is
  // timed end to end (store apply with the fan-out query, changelog, L1 invalidation of the N
  // cached sets), with every affected set cached again before it, in turns.
  const auto warm_all = [&](const std::vector<std::string>& ids, const char* permission) {
    for (const std::string& id : ids) {
      Must(c.Check({.tenant = "m", .user = id, .permission = permission}).ok(), "rewarm");
    }
  };
  const auto timed_write = [&](const WriteOp& op) {
    const auto start = std::chrono::steady_clock::now();
    Must(c.Write({&op, 1}).ok(), "fan-out write");
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  WriteOp suspend = school, unlink = Op(OpKind::kDeleteRolePolicy);
  suspend.status = permcache::MembershipStatus::kSuspended;
  unlink.role = "fan";
  unlink.policy = "fanp";
  std::vector<double> group_ms, role_ms;
  for (int round = 0; round < 5; ++round) {
    for (const WriteOp* op : {&suspend, &school}) {
      warm_all(member_ids, "docs:read");
      group_ms.push_back(timed_write(*op));
    }
    for (const WriteOp* op : {&unlink, &fan_link}) {
      warm_all(fan_ids, "fan:use");
      role_ms.push_back(timed_write(*op));
    }
  }
  std::sort(group_ms.begin(), group_ms.end());
  std::sort(role_ms.begin(), role_ms.end());
  const double group_write = group_ms[group_ms.size() / 2], role_write = role_ms[role_ms.size() / 2];
  // Unlock at the production cost (19 MiB, t=2, p=1).
  WriteOp restricted = Op(OpKind::kPutResource);
  restricted.resource = "locked";
  restricted.type = "media";
  restricted.state = permcache::ResourceState::kRestricted;
  restricted.password = "correct horse battery staple";
  const auto hash_start = std::chrono::steady_clock::now();
  Must(c.Write({&restricted, 1}).ok(), "restricted write");
  const double write_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - hash_start)
          .count();
  std::vector<double> unlock_ms;
  for (int i = 0; i < 20; ++i) {
    int64_t retry = 0;
    const auto start = std::chrono::steady_clock::now();
    Must(c.Unlock({"m", "locked", "correct horse battery staple", "bench"}, &retry).ok(), "unlock");
    unlock_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(unlock_ms.begin(), unlock_ms.end());
  (void)sink;

  std::printf("| measurement (%zu users, %zu resources, L1 hits; median of %d interleaved rounds) "
              "| value | anchor | ratio |\n",
              users, resources, kRounds);
  std::printf("|---|---|---|---|\n");
  std::printf("| plain Check hit | %.0f ns | - | 1.00x |\n", plain);
  std::printf("| resource check hit (set + record) | %.0f ns | plain Check | %.2fx |\n", resource,
              resource / plain);
  std::printf("| anonymous resource check (record only) | %.0f ns | plain Check | %.2fx |\n",
              anonymous, anonymous / plain);
  std::printf("| element check hit | %.0f ns | plain Check | %.2fx |\n", element, element / plain);
  std::printf("| sidebar, 20 elements, one call | %.0f ns | 20 element checks %.0f ns | %.2fx |\n",
              sidebar, 20 * element, sidebar / (20 * element));
  std::printf("| plain Check hit, every user's role expires at the same instant (issue 8: the "
              "hit path tests the set's next transition) | %.0f ns | plain Check | %.2fx |\n",
              timed, timed / plain);
  std::printf("| the same, each user's role expires at another instant (one set per user) "
              "| %.0f ns | one set per user, no intervals %.0f ns | %.2fx |\n",
              distinct, own, distinct / own);
  std::printf("| context: one set per user, no intervals | %.0f ns | plain Check | %.2fx |\n",
              own, own / plain);
  std::printf("| Check hit, member through a group (no own membership) | %.0f ns | plain Check "
              "| %.2fx |\n",
              member, member / plain);
  std::printf("| group change reaching %zu members (put_group suspend/reactivate; median of %zu) "
              "| %.1f ms | role change reaching %zu holders %.1f ms | %.2fx |\n",
              users, group_ms.size(), group_write, users, role_write, group_write / role_write);
  std::printf("| unlock p50 / max (Argon2id m=19 MiB t=2 p=1) | %.1f / %.1f ms | - | - |\n",
              unlock_ms[unlock_ms.size() / 2], unlock_ms.back());
  std::printf("| put_resource with a password (hash + write) | %.1f ms | - | - |\n", write_ms);
  std::filesystem::remove(db);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  return 0;
}
