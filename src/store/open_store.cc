// OpenStore: picks the Store implementation from the URL scheme.
#include <memory>
#include <string>
#include <string_view>

#include "permcache/store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace permcache {
std::string RedactStoreUrl(std::string_view url) {
  std::string out(url);
  // "scheme://user:password@host" -> "scheme://user:***@host" ("user@host" stays as it is).
  size_t scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    size_t authority = scheme_end + 3;
    size_t at = out.find('@', authority);
    size_t slash = out.find('/', authority);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      } else if (out.compare(0, scheme_end, "redis") == 0 || out.compare(0, scheme_end, "rediss") == 0) {
        out.replace(authority, at - authority, "***");  // redis://PASSWORD@host
      }
    }
  }
  // "...?password=x&sslpassword=y" (libpq query parameters) -> "password=***".
  for (const char* key : {"password=", "sslpassword="}) {
    size_t pos = 0;
    while ((pos = out.find(key, pos)) != std::string::npos) {
      const bool at_param = pos > 0 && (out[pos - 1] == '?' || out[pos - 1] == '&');
      pos += std::string_view(key).size();
      if (!at_param) continue;
      size_t end = out.find('&', pos);
      out.replace(pos, (end == std::string::npos ? out.size() : end) - pos, "***");
    }
  }
  return out;
}


StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string_view path = url.substr(kSqlite.size());
    // Accept the URL-ish spelling too: sqlite:///abs/file.db and sqlite://rel/file.db.
    if (path.starts_with("//")) path.remove_prefix(2);
    PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::SqliteStore> store,
                               sqlite::SqliteStore::Open(path, options));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<postgres::PostgresStore> store,
                               postgres::PostgresStore::Open(std::string(url), options));
    return std::unique_ptr<Store>(std::move(store));
  }
  return InvalidArgumentError("unknown store URL '" + RedactStoreUrl(url) +
                              "': expected sqlite:PATH or postgres://...");
}

}  // namespace permcache
