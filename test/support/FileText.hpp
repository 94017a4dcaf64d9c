#pragma once
// Whole files as strings: readFile ("" when the file cannot be read), readBytes (a file that must
// exist: a missing file fails the test), writeFile.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace mpsim::test {

inline std::string readFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void writeFile(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

inline std::string readBytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

} // namespace mpsim::test
