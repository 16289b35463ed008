// Fuzz target: what permcache reads from Redis and from its configuration: the L2 entry value,
// the resource and UI element record values, the bus message, Redis URLs and the store URL
// redaction (libpq's conninfo parser is left to libpq's own fuzzing). Other programs share those keys and channels, and a URL may come from an
// environment file, so none of them is trusted. The first input byte picks the decoder.
// Contract: any input yields a value or a Status, never a crash, a hang or a sanitizer report;
// whatever decodes encodes back to itself; a Redis URL's description does not depend on its
// password.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/redis/codec.h"
#include "cache/redis/redis_config.h"
#include "fuzz_support.h"
#include "permcache/store.h"

namespace {

using namespace permcache;
using permcache::fuzz::Expect;

bool SameGrants(const UserGrants& a, const UserGrants& b) {
  return a.membership == b.membership && a.membership_valid == b.membership_valid &&
         a.groups == b.groups && a.grants == b.grants && a.roles == b.roles &&
         a.bounded_roles == b.bounded_roles && a.resource_grants == b.resource_grants &&
         a.revision == b.revision;
}

void Entry(std::string_view in) {
  StatusOr<UserGrants> g = redis::DecodeEntry(in);
  if (!g.ok()) return;
  StatusOr<UserGrants> again = redis::DecodeEntry(redis::EncodeEntry(*g, 1'796'000'000'000));
  Expect(again.ok() && SameGrants(*g, *again));
}

void Records(std::string_view in) {
  if (StatusOr<ResourceRecord> r = redis::DecodeResourceRecord(in); r.ok()) {
    StatusOr<ResourceRecord> again = redis::DecodeResourceRecord(redis::EncodeResourceRecord(*r));
    Expect(again.ok() && again->exists == r->exists && again->type == r->type &&
           again->owner == r->owner && again->state == r->state &&
           again->version == r->version && again->revision == r->revision);
  }
  if (StatusOr<UiElementRecord> e = redis::DecodeElementRecord(in); e.ok()) {
    StatusOr<UiElementRecord> again = redis::DecodeElementRecord(redis::EncodeElementRecord(*e));
    Expect(again.ok() && again->exists == e->exists && again->active == e->active &&
           again->required_roles == e->required_roles &&
           again->required_permissions == e->required_permissions &&
           again->revision == e->revision);
  }
}

void Bus(std::string_view in) {
  StatusOr<redis::BusMessage> m = redis::DecodeBusMessage(in);
  if (!m.ok()) return;
  const std::string text = m->is_admin ? redis::EncodeAdminMessage(m->admin, m->origin)
                                       : redis::EncodeChangeMessage(m->change, m->origin);
  StatusOr<redis::BusMessage> again = redis::DecodeBusMessage(text);
  Expect(again.ok() && again->is_admin == m->is_admin && again->origin == m->origin);
  if (m->is_admin) {
    Expect(again->admin.tenant == m->admin.tenant && again->admin.user == m->admin.user &&
           again->admin.pattern == m->admin.pattern && again->admin.all == m->admin.all);
  } else {
    Expect(again->change.revision == m->change.revision &&
           again->change.users == m->change.users && again->change.tenants == m->change.tenants);
  }
}

void Urls(std::string_view in) {
  if (in.empty()) return;  // empty = read the environment: not input
  if (StatusOr<redis::RedisConfig> c = redis::RedisConfigFromUrlOrEnv(in); c.ok()) {
    // The description must not depend on the password's value (it may still contain the
    // password's text by coincidence: a password "@host:" after "user:***").
    redis::RedisConfig other = *c;
    other.password = c->password.empty() ? "" : "x";
    Expect(redis::DescribeRedisConfig(*c) == redis::DescribeRedisConfig(other));
  }
  (void)RedactStoreUrl(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: Entry(in); break;
    case 1: Records(in); break;
    case 2: Bus(in); break;
    case 3: Urls(in); break;
  }
  return 0;
}
