#pragma once
// The one temporary-directory helper of the tests: a fresh directory under the system temp dir
// (mkdtemp, so parallel test processes never share one), removed with everything in it when the
// test ends, also when it fails.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <stdlib.h>

namespace mpsim::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "mpsim_test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "_XXXXXX")).string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& f) const { return (path / f).string(); }
  /// Writes `text` to `name` (parent directories created) and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::filesystem::path p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

} // namespace mpsim::test
