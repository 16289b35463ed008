#include "server/reconcile.h"

#include <ostream>

#include "permcache/store.h"

namespace permcache {

int RunReconcile(const std::string& store_url, bool fix, std::ostream& out, std::ostream& err) {
  // No retention or maintenance matters for a one-shot run.
  StoreOptions options;
  options.changelog_retention = std::chrono::milliseconds(0);
  StatusOr<std::unique_ptr<Store>> store = OpenStore(store_url, options);
  if (!store.ok()) {
    err << "error: cannot open store '" << RedactStoreUrl(store_url)
        << "': " << store.status().message() << '\n';
    return store.status().code() == StatusCode::kInvalidArgument ? 2 : 3;
  }
  StatusOr<ReconcileReport> report = (*store)->Reconcile(fix);
  if (!report.ok()) {
    err << "error: " << report.status().message() << '\n';
    return report.status().code() == StatusCode::kInvalidArgument ? 2 : 3;
  }
  const uint64_t differences = report->missing + report->extra;
  out << "user_effective_policies: " << report->missing << " missing, " << report->extra
      << " extra row(s)" << (differences > 0 && report->fixed ? ", fixed" : "") << '\n';
  for (const std::string& line : report->sample) out << "  " << line << '\n';
  if (report->sample.size() < differences) {
    out << "  ... and " << differences - report->sample.size() << " more\n";
  }
  return differences == 0 || report->fixed ? 0 : 1;
}

}  // namespace permcache
