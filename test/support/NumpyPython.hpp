#pragma once
// The Python interpreter for the NumPy reference (test/func_ref.py): the first of /usr/bin/python3
// (Debian's, with python3-numpy from scripts/setup.sh) and `python3` on PATH (which may be a pyenv
// shim without numpy) that can import numpy. A test that needs it fails when there is none.
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace mpsim::test {

inline std::string findNumpyPython() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = std::string(py) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

/// The interpreter, or a test failure naming what is missing.
inline std::string numpyPython() {
  const std::string py = findNumpyPython();
  if (py.empty())
    FAIL("no python3 with numpy found (tried /usr/bin/python3 and python3 on PATH): the NumPy reference "
         "cannot run; install python3-numpy (scripts/setup.sh)");
  return py;
}

} // namespace mpsim::test
