// TempDir: a fresh directory under $TMPDIR removed (recursively) on destruction.
#pragma once

#include <string>

namespace permcache::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace permcache::testing
