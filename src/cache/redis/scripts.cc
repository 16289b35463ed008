#include "cache/redis/scripts.h"

#include <openssl/evp.h>

namespace permcache::redis {
namespace {

// GET of a missing key is `false` in Lua; `false or ''` turns it into a string tonumber()
// maps to nil. Revisions compare as Lua numbers (doubles): exact below 2^53.
constexpr std::string_view kPutSource = R"lua(
local rev = tonumber(ARGV[1])
for i = 2, 4 do
  local t = tonumber(redis.call('GET', KEYS[i]) or '')
  if t and t > rev then return 0 end
end
local cur = redis.call('GET', KEYS[1])
if cur then
  local cur_rev = tonumber(string.match(cur, '"revision":(%d+)'))
  if cur_rev and cur_rev > rev then return -1 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
)lua";

constexpr std::string_view kInvalidateSource = R"lua(
local rev = tonumber(ARGV[1])
local deleted = 0
for i = 1, #KEYS, 2 do
  if rev > 0 then
    local t = tonumber(redis.call('GET', KEYS[i + 1]) or '')
    if not t or t < rev then redis.call('SET', KEYS[i + 1], ARGV[1], 'PX', ARGV[2]) end
  end
  deleted = deleted + redis.call('DEL', KEYS[i])
end
return deleted
)lua";

constexpr std::string_view kTombstoneSource = R"lua(
local rev = tonumber(ARGV[1])
local t = tonumber(redis.call('GET', KEYS[1]) or '')
if not t or t < rev then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua";

// A counter without an expiry (written by hand) would lock the key forever: it gets the window.
constexpr std::string_view kBeginAttemptSource = R"lua(
local n = tonumber(redis.call('GET', KEYS[1]) or '') or 0
if n >= tonumber(ARGV[1]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    left = tonumber(ARGV[2])
  end
  return math.max(left, 1)
end
if redis.call('INCR', KEYS[1]) == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
)lua";

constexpr std::string_view kAttemptSucceededSource = R"lua(
local n = tonumber(redis.call('GET', KEYS[1]) or '') or 0
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
)lua";

std::string Sha1Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha1(), nullptr);
  std::string hex(len * 2, '0');
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

const LuaScript& PutScript() {
  static const LuaScript script{kPutSource, Sha1Hex(kPutSource)};
  return script;
}

const LuaScript& InvalidateScript() {
  static const LuaScript script{kInvalidateSource, Sha1Hex(kInvalidateSource)};
  return script;
}

const LuaScript& TombstoneScript() {
  static const LuaScript script{kTombstoneSource, Sha1Hex(kTombstoneSource)};
  return script;
}

const LuaScript& BeginAttemptScript() {
  static const LuaScript script{kBeginAttemptSource, Sha1Hex(kBeginAttemptSource)};
  return script;
}

const LuaScript& AttemptSucceededScript() {
  static const LuaScript script{kAttemptSucceededSource, Sha1Hex(kAttemptSucceededSource)};
  return script;
}

}  // namespace permcache::redis
