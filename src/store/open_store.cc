// OpenStore: picks the Store implementation from the URL scheme.
#include <memory>
#include <string>
#include <string_view>

#include "permcache/store.h"
#include "store/sqlite/sqlite_store.h"

namespace permcache {
namespace {

// The URL without "user:password@" so error messages never echo a credential.
std::string Redact(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t authority = scheme_end + 3;
  size_t at = url.find('@', authority);
  size_t slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  return std::string(url.substr(0, authority)) + "***@" + std::string(url.substr(at + 1));
}

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string_view path = url.substr(kSqlite.size());
    // Accept the URL-ish spelling too: sqlite:///abs/file.db and sqlite://rel/file.db.
    if (path.starts_with("//")) path.remove_prefix(2);
    PERMCACHE_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::SqliteStore> store,
                               sqlite::SqliteStore::Open(path));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    return InvalidArgumentError("postgres store is not built in yet");
  }
  return InvalidArgumentError("unknown store URL '" + Redact(url) +
                              "': expected sqlite:PATH or postgres://...");
}

}  // namespace permcache
